"""The text ↔ IR surface: IAM JSON parsing and formatting (the DSL joins here later)."""

from __future__ import annotations

from policylang.grammar.ir_to_json import format_iam_json as format_iam_json
from policylang.grammar.ir_to_json import policy_to_value as policy_to_value
from policylang.grammar.json_to_ir import parse_iam_json as parse_iam_json
from policylang.grammar.json_to_ir import policy_from_node as policy_from_node
from policylang.grammar.json_to_ir import policy_from_value as policy_from_value

__all__ = [
    "format_iam_json",
    "parse_iam_json",
    "policy_from_node",
    "policy_from_value",
    "policy_to_value",
]
