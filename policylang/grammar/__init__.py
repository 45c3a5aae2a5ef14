"""The text ↔ IR surface: IAM JSON and the policy DSL, parsed into and printed from one IR."""

from __future__ import annotations

from policylang.grammar.account_decl import parse_account_dsl as parse_account_dsl
from policylang.grammar.dsl_to_ir import parse_dsl as parse_dsl
from policylang.grammar.ir_to_dsl import format_dsl as format_dsl
from policylang.grammar.ir_to_json import format_iam_json as format_iam_json
from policylang.grammar.ir_to_json import policy_to_value as policy_to_value
from policylang.grammar.json_to_ir import parse_iam_json as parse_iam_json
from policylang.grammar.json_to_ir import policy_from_node as policy_from_node
from policylang.grammar.json_to_ir import policy_from_value as policy_from_value

__all__ = [
    "format_dsl",
    "format_iam_json",
    "parse_account_dsl",
    "parse_dsl",
    "parse_iam_json",
    "policy_from_node",
    "policy_from_value",
    "policy_to_value",
]
