"""IAM JSON → IR: forms kept, spans, structural versus per-kind checks, located errors."""

from __future__ import annotations

import pytest

from policylang._json import JsonObject, parse_located
from policylang.errors import PolicyLangError, PolicySyntaxError, PolicyValidationError
from policylang.grammar import parse_iam_json, policy_from_node, policy_from_value
from policylang.ir import Effect, PolicyKind, ValueKind
from policylang.source import Source

TRUST_2008 = """{
  "Version": "2008-10-17",
  "Statement": {
    "Effect": "Allow",
    "Principal": {"Service": ["ec2.amazonaws.com", "ecs-tasks.amazonaws.com"], "AWS": "*"},
    "Action": "sts:AssumeRole"
  }
}"""

IDENTITY = """{
  "Statement": [
    {
      "Sid": "Read",
      "Effect": "Allow",
      "Action": ["s3:GetObject"],
      "Resource": "arn:aws:s3:::b/${aws:username}/*"
    },
    {
      "Effect": "Deny",
      "NotAction": "iam:*",
      "NotResource": [],
      "Condition": {
        "NumericLessThan": {"s3:max-keys": [10, 1.50]},
        "Bool": {"aws:SecureTransport": false},
        "NotAnOperator": {}
      }
    }
  ],
  "Version": "2012-10-17",
  "Id": "x"
}"""


def test_forms_are_kept() -> None:
    policy = parse_iam_json(IDENTITY)
    assert policy.version == "2012-10-17"
    assert policy.id == "x"
    assert policy.statement_is_list
    first, second = policy.statements
    assert first.sid == "Read"
    assert first.effect is Effect.ALLOW
    assert first.action.values.items == ("s3:GetObject",)
    assert first.action.values.is_list
    assert first.resource is not None
    assert not first.resource.values.is_list
    assert second.action.negated
    assert not second.action.values.is_list
    assert second.resource is not None
    assert second.resource.negated
    assert second.resource.values.items == ()
    assert second.condition is not None
    numeric, boolean, unknown = second.condition
    assert [(v.text, v.kind) for v in numeric.entries[0].values] == [
        ("10", ValueKind.NUMBER),
        ("1.50", ValueKind.NUMBER),
    ]
    assert numeric.entries[0].is_list
    assert boolean.entries[0].values[0].text == "false"
    assert boolean.entries[0].values[0].kind is ValueKind.BOOLEAN
    assert not boolean.entries[0].is_list
    assert unknown.operator == "NotAnOperator"
    assert unknown.entries == ()


def test_statement_spans_locate_explanations() -> None:
    policy = parse_iam_json(IDENTITY, source_name="p.json")
    first, second = policy.statements
    assert first.span is not None
    assert (first.span.line, first.span.column) == (3, 5)
    assert (first.span.end_line, first.span.end_column) == (8, 6)
    assert second.span is not None
    assert second.span.line == 9
    assert first.action.span is not None
    assert first.action.span.line == 6
    assert first.resource is not None
    assert first.resource.values.item_spans[0] is not None
    assert policy.source is not None
    assert policy.source.name == "p.json"


def test_fast_path_gives_the_same_ir_without_spans() -> None:
    fast = parse_iam_json(IDENTITY, located=False)
    assert fast == parse_iam_json(IDENTITY)
    assert fast.statements[0].span is None


def test_structural_mode_accepts_what_simulate_needs() -> None:
    policy = parse_iam_json(TRUST_2008)
    assert policy.version == "2008-10-17"
    assert not policy.statement_is_list
    principal = policy.statements[0].principal
    assert principal is not None
    assert not principal.is_wildcard
    assert [e.kind for e in principal.entries] == ["Service", "AWS"]
    assert policy.statements[0].resource is None
    # Also valid as a trust policy; not as an identity policy.
    parse_iam_json(TRUST_2008, kind=PolicyKind.TRUST)
    with pytest.raises(PolicyValidationError) as caught:
        parse_iam_json(TRUST_2008, kind=PolicyKind.IDENTITY)
    assert caught.value.code == "policy.principal-forbidden"


def test_wildcard_principal_forms_differ() -> None:
    bare = parse_iam_json('{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*"}}')
    mapped = parse_iam_json(
        '{"Statement":{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:*"}}'
    )
    assert bare.statements[0].principal is not None
    assert bare.statements[0].principal.is_wildcard
    assert bare != mapped


@pytest.mark.parametrize(
    ("element", "hint"),
    [
        ('"Actions": "s3:x"', 'did you mean "Action"?'),
        ('"effect": "Allow"', 'did you mean "Effect"?'),
        ('"Condition": {"StringEqual": {"a": "b"}}', 'did you mean "StringEquals"?'),
        ('"Condition": {"ForAnyValue::StringLike": {"a": "b"}}', "ForAnyValue:StringLike"),
        ('"Principal": {"Services": "x"}', 'did you mean "Service"?'),
    ],
)
def test_misspellings_get_did_you_mean_hints(element: str, hint: str) -> None:
    text = '{"Statement": [{"Effect": "Allow", "Action": "s3:x", ' + element + "}]}"
    with pytest.raises(PolicySyntaxError) as caught:
        parse_iam_json(text)
    assert caught.value.hint is not None
    assert hint in caught.value.hint


def test_error_paths_name_the_field() -> None:
    text = (
        '{"Statement": [{"Effect": "Allow", "Action": "s3:x"},'
        '{"Effect": "Allow", "Action": "s3:x", "Condition": {"StringEquals": {"k": [{}]}}}]}'
    )
    with pytest.raises(PolicySyntaxError) as caught:
        parse_iam_json(text, source_name="f.json")
    error = caught.value
    assert error.path == "Statement[1].Condition.StringEquals.k[0]"
    assert error.code == "condition.wrong-type"
    assert error.render().startswith("f.json:1:")


def test_effect_must_be_exactly_allow_or_deny() -> None:
    with pytest.raises(PolicyLangError) as caught:
        parse_iam_json('{"Statement": {"Effect": "ALLOW", "Action": "s3:x"}}')
    assert caught.value.code == "policy.effect-case"
    assert caught.value.hint == "Effect must be exactly Allow or Deny (case-sensitive)"


def test_policy_embedded_in_a_bigger_document() -> None:
    text = '{"policies": {"identity": [\n  {"Statement": {"Effect": "Allow", "Action": 5}}]}}'
    source = Source("case.json", text)
    root = parse_located(text, source=source)
    assert isinstance(root, JsonObject)
    policies = root.get("policies")
    assert policies is not None
    assert isinstance(policies.value, JsonObject)
    identity = policies.value.get("identity")
    assert identity is not None
    node = identity.value.items[0]  # type: ignore[union-attr]
    with pytest.raises(PolicySyntaxError) as caught:
        policy_from_node(node, source=source, path="policies.identity[0]")
    error = caught.value
    assert error.path == "policies.identity[0].Statement.Action"
    assert error.span is not None
    assert (error.span.line, error.span.column) == (2, 47)
    good = '{"p": {"Statement": {"Effect": "Deny", "Action": "s3:*", "Resource": "*"}}}'
    source = Source("case.json", good)
    root = parse_located(good, source=source)
    assert isinstance(root, JsonObject)
    pair = root.get("p")
    assert pair is not None
    with pytest.raises(PolicyValidationError) as version_error:
        policy_from_node(pair.value, source=source, path="p", kind=PolicyKind.SCP)
    assert version_error.value.path == "p.Version"
    assert version_error.value.span is not None
    assert version_error.value.span.column == 7
    good = good.replace('{"Statement"', '{"Version": "2012-10-17", "Statement"')
    source = Source("case.json", good)
    root = parse_located(good, source=source)
    assert isinstance(root, JsonObject)
    pair = root.get("p")
    assert pair is not None
    policy = policy_from_node(pair.value, source=source, kind=PolicyKind.SCP)
    assert policy.statements[0].effect is Effect.DENY


def test_embedded_policy_size_is_its_own_text() -> None:
    statement = '{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}'
    padding = " " * 6000
    text = '{{"pad": "{}", "p": {{"Version": "2012-10-17", "Statement": {}}}}}'.format(
        "x" * 7000,
        statement + padding,
    )
    source = Source("case.json", text)
    root = parse_located(text, source=source)
    assert isinstance(root, JsonObject)
    pair = root.get("p")
    assert pair is not None
    # IAM ignores whitespace; the 7,000-character sibling is not part of the policy.
    policy_from_node(pair.value, source=source, kind=PolicyKind.IDENTITY)
    with pytest.raises(PolicyValidationError) as caught:
        policy_from_node(pair.value, source=source, kind=PolicyKind.SCP)
    assert caught.value.code == "policy.size-exceeded"


def test_policy_from_plain_values() -> None:
    value = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": ["*"],
                "Condition": {"NumericEquals": {"n": [1, 2.5]}, "Bool": {"b": True}},
            }
        ],
    }
    policy = policy_from_value(value, kind=PolicyKind.IDENTITY)
    condition = policy.statements[0].condition
    assert condition is not None
    assert [v.text for v in condition[0].entries[0].values] == ["1", "2.5"]
    assert condition[1].entries[0].values[0].text == "true"
    with pytest.raises(PolicySyntaxError) as caught:
        policy_from_value({"Statement": {"Effect": "Allow", "Action": None}}, path="cases[3]")
    assert caught.value.path == "cases[3].Statement.Action"
    assert caught.value.span is None


def test_missing_action_is_an_error_even_without_kind() -> None:
    with pytest.raises(PolicyLangError) as caught:
        parse_iam_json('{"Statement": {"Effect": "Allow", "Resource": "*"}}')
    assert caught.value.code == "policy.missing-action"


def test_unknown_operator_with_empty_body_is_accepted() -> None:
    text = '{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:x",'
    text += ' "Resource": "*", "Condition": {"a": {}, "DateGreaterThan": {"k": []}}}}'
    policy = parse_iam_json(text, kind=PolicyKind.IDENTITY)
    assert policy.statements[0].condition is not None
    assert [c.operator for c in policy.statements[0].condition] == ["a", "DateGreaterThan"]


@pytest.mark.parametrize("text", [IDENTITY, TRUST_2008, "  " + IDENTITY + "\n\n"])
def test_statement_spans_mode_matches_the_located_spans(text: str) -> None:
    full = parse_iam_json(text)
    light = parse_iam_json(text, located="statements")
    assert light == full
    assert [s.span for s in light.statements] == [s.span for s in full.statements]
    assert light.span == full.span
    assert light.statements[0].action.span is None


def test_statement_spans_mode_reports_errors_with_positions() -> None:
    text = '{"Statement": [{"Effect": "Allow", "Action": "s3:x"},\n {"Effect": "Alow"}]}'
    with pytest.raises(PolicySyntaxError) as caught:
        parse_iam_json(text, located="statements")
    assert caught.value.code == "policy.invalid-effect"
    assert caught.value.span is not None
    assert (caught.value.span.line, caught.value.span.column) == (2, 13)


def test_plain_values_reject_non_finite_numbers() -> None:
    value = {"Statement": {"Effect": "Allow", "Action": "s3:x",
                           "Condition": {"NumericEquals": {"k": [1, float("nan")]}}}}
    with pytest.raises(PolicySyntaxError) as caught:
        policy_from_value(value)
    assert caught.value.code == "condition.wrong-type"
    assert caught.value.path == "Statement.Condition.NumericEquals.k[1]"


def test_a_leading_bom_is_ignored() -> None:
    text = '\ufeff{"Statement": {"Effect": "Allow", "Action": "s3:x"}}'
    assert parse_iam_json(text) == parse_iam_json(text.encode("utf-8"))


def test_embedded_policy_character_errors_are_located() -> None:
    text = '{"p": {"Version": "2012-10-17",\n "Statement": {"Effect": "Deny", "Sid": "€"}}}'
    source = Source("case.json", text)
    root = parse_located(text, source=source)
    assert isinstance(root, JsonObject)
    pair = root.get("p")
    assert pair is not None
    with pytest.raises(PolicyValidationError) as caught:
        policy_from_node(pair.value, source=source, path="p", kind=PolicyKind.IDENTITY)
    assert caught.value.code == "policy.invalid-character"
    assert caught.value.span is not None
    assert (caught.value.span.line, caught.value.span.column) == (2, 42)
