"""JSON → IR → JSON → IR is the identity on the IR (policy-grammar round trip)."""

from __future__ import annotations

import json

from hypothesis import given, settings

from policylang.grammar import (
    format_iam_json,
    parse_iam_json,
    policy_from_value,
    policy_to_value,
)
from policylang.ir import Policy, PolicyKind
from policylang.validate import validate_policy
from tests.strategies import identity_policies, policies


@settings(max_examples=500)
@given(policies(max_statements=2))
def test_format_then_parse_is_identity(policy: Policy) -> None:
    pretty = format_iam_json(policy)
    compact = format_iam_json(policy, pretty=False)
    assert parse_iam_json(pretty) == policy
    assert parse_iam_json(compact, located=False) == policy
    assert parse_iam_json(pretty, located="statements") == policy


@settings(max_examples=75)
@given(policies())
def test_value_form_agrees_with_the_text_form(policy: Policy) -> None:
    # Formatting is canonical: a second trip writes the same text.
    pretty = format_iam_json(policy)
    assert format_iam_json(parse_iam_json(pretty, located=False)) == pretty
    value = policy_to_value(policy)
    # Plain values lose only the spelling of numbers (1.50 -> 1.5), identically on both paths.
    assert policy_from_value(value) == parse_iam_json(json.dumps(value))
    assert json.loads(format_iam_json(policy)) == value


@settings(max_examples=75)
@given(identity_policies())
def test_valid_identity_policies_survive_the_trip(policy: Policy) -> None:
    validate_policy(policy, PolicyKind.IDENTITY)
    text = format_iam_json(policy)
    assert parse_iam_json(text, kind=PolicyKind.IDENTITY) == policy
