"""Save-time rules per kind (policylang.validate) beyond what the bad corpus pins."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policylang.errors import PolicyValidationError
from policylang.grammar import parse_iam_json
from policylang.ir import PolicyKind
from policylang.validate import (
    Limits,
    action_problem,
    iam_size,
    is_valid_date,
    policy_size,
    resource_problem,
    validate_policy,
)


def doc(statement: dict[str, object], version: str | None = "2012-10-17") -> str:
    body: dict[str, object] = {"Statement": [statement]}
    if version:
        body = {"Version": version, **body}
    return json.dumps(body, indent=2)


ALLOW = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}


@pytest.mark.parametrize(
    "text",
    [
        "2024",
        "2024-02",
        "2024-02-29",
        "2024-02-29T12:00Z",
        "2016-12-13t2:00:00.593194+23",
        "2024-01-01T00:00:00.123456789+05:30",
        "0",
        "9223372036854775807",
    ],
)
def test_valid_dates(text: str) -> None:
    assert is_valid_date(text)


@pytest.mark.parametrize(
    "text",
    ["", "sdfdsf", "234-13", "2016-12-13t2:00:00.593194+1", "2024-01-01T00:00:00.1234567890Z",
     "9223372036854775808", "1.5", "2024-00-10", "2024-01-32", "12:00"],
)
def test_invalid_dates(text: str) -> None:
    assert not is_valid_date(text)


@pytest.mark.parametrize(
    "resource",
    [
        "*",
        "arn:aws:s3:::bucket/*",
        "arn:aws:fdsasf",
        "arn:aws:s3:*",
        "arn:aws:invalid-service:::x",
        "arn:aws:iam::123456789012:role/path/*",
        "arn:aws:iam::*:*",
        "arn:aws:s3:us-west-2:123456789012:accesspoint/ap",
        "arn:aws-cn:ec2:*:*:instance/*",
    ],
)
def test_accepted_resources(resource: str) -> None:
    assert resource_problem(resource) is None


@pytest.mark.parametrize(
    ("resource", "message"),
    [
        (
            "a:bsdfdsafsad",
            'Partition "bsdfdsafsad" is not valid for resource "arn:bsdfdsafsad:*:*:*:*".',
        ),
        (
            "arn:aws:iam:us-east-1::x",
            "IAM resource arn:aws:iam:us-east-1::x cannot contain region information.",
        ),
        ("bucket", 'Resource bucket must be in ARN format or "*".'),
    ],
)
def test_resource_messages_match_aws(resource: str, message: str) -> None:
    problem = resource_problem(resource)
    assert problem is not None
    assert problem[1] == message


@pytest.mark.parametrize("action", ["*", "fsx:ListBucket", "iam: asdf safdsf af ", "s3:Get*"])
def test_accepted_actions(action: str) -> None:
    assert action_problem(action) is None


def test_sizes_follow_each_kinds_counting_rule() -> None:
    text = '{ "a" : "x y" ,\n\t"b": [ 1 ] }'
    assert iam_size(text) == len('{"a":"x y","b":[1]}')
    assert policy_size(text, PolicyKind.SCP) == len(text)
    assert policy_size(text, PolicyKind.TRUST) == iam_size(text)


_REFERENCE_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)


def _reference_iam_size(text: str) -> int:
    """The plain definition: drop whitespace outside the string literals the regex finds."""
    outside = _REFERENCE_STRING.sub("", text)
    return len(text) - sum(outside.count(ch) for ch in " \t\n\r")


@settings(max_examples=300)
@given(st.text(alphabet='"\\ \t\n\rab{}:,', max_size=40))
def test_iam_size_matches_the_string_literal_definition(text: str) -> None:
    assert iam_size(text) == _reference_iam_size(text)


@settings(max_examples=300)
@given(st.text(alphabet='" \t\n\rab{}:,', max_size=40))
def test_iam_size_without_backslashes_matches_the_definition(text: str) -> None:
    # The backslash-free fast path, including an unpaired last quote.
    assert iam_size(text) == _reference_iam_size(text)


def test_whitespace_does_not_count_for_iam_but_does_for_scp() -> None:
    statement = dict(ALLOW, Action=[f"s3:GetObjectVersion{i:04d}" for i in range(150)])
    text = json.dumps({"Version": "2012-10-17", "Statement": [statement]}, indent=8)
    assert iam_size(text) < 5120 < len(text)
    parse_iam_json(text, kind=PolicyKind.IDENTITY)
    with pytest.raises(PolicyValidationError) as caught:
        parse_iam_json(text, kind=PolicyKind.SCP)
    assert caught.value.code == "policy.size-exceeded"
    assert "5120" in caught.value.message


def test_limits_are_configurable() -> None:
    text = doc(ALLOW)
    with pytest.raises(PolicyValidationError) as caught:
        parse_iam_json(text, kind=PolicyKind.IDENTITY, limits=Limits(managed_policy_size=50))
    assert caught.value.code == "policy.size-exceeded"
    assert Limits().size_limit(PolicyKind.RESOURCE) is None


def test_maximum_raises_only_the_adjustable_quotas() -> None:
    default, most = Limits(), Limits.maximum()
    assert most.trust_policy_size == 8192 > default.trust_policy_size
    assert most.managed_policies_per_role == 25
    assert most.roles_per_account == 10000
    # Fixed quotas stay at their value.
    assert most.managed_policy_size == default.managed_policy_size == 6144
    assert most.managed_policies_per_group == default.managed_policies_per_group == 10


@pytest.mark.parametrize(
    ("kind", "statement", "version"),
    [
        (PolicyKind.IDENTITY, ALLOW, "2012-10-17"),
        (PolicyKind.SESSION, ALLOW, None),
        (PolicyKind.RESOURCE, dict(ALLOW, Principal={"AWS": "111122223333"}, Sid="S 1"), None),
        (PolicyKind.RESOURCE, dict(ALLOW, Effect="Deny", NotPrincipal={"AWS": "1"}), None),
        (PolicyKind.TRUST, {"Effect": "Allow", "Principal": {"AWS": "1"},
                            "Action": "sts:AssumeRole"}, "2008-10-17"),
        (PolicyKind.SCP, dict(ALLOW, Condition={"StringEquals": {"aws:RequestedRegion": "x"}}),
         "2012-10-17"),
        (PolicyKind.RCP, {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"},
         "2012-10-17"),
        (PolicyKind.RCP, {"Effect": "Deny", "Principal": "*", "Action": "s3:*",
                          "NotResource": "arn:aws:s3:::b/*"}, "2012-10-17"),
    ],
)
def test_valid_policies_of_each_kind(
    kind: PolicyKind, statement: dict[str, object], version: str | None
) -> None:
    policy = parse_iam_json(doc(statement, version), kind=kind)
    validate_policy(policy, kind)


def test_validate_policy_on_ir_without_spans_reports_paths() -> None:
    policy = parse_iam_json(doc(dict(ALLOW, Resource=["*", "arn:aws:s3:::a", "nope"])),
                            located=False)
    with pytest.raises(PolicyValidationError) as caught:
        validate_policy(policy, PolicyKind.IDENTITY)
    assert caught.value.code == "resource.not-arn"
    assert caught.value.path == "Statement[0].Resource[2]"
    assert caught.value.span is None


def test_operators_of_ir_built_elsewhere_are_checked() -> None:
    import attrs

    from policylang.errors import PolicySyntaxError
    from policylang.ir import ConditionClause, ConditionEntry, ConditionValue
    from policylang.validate import check_structure

    policy = parse_iam_json(doc(ALLOW))
    clause = ConditionClause("StringEqual", (ConditionEntry("k", (ConditionValue("v"),)),))
    bad = attrs.evolve(
        policy, statements=(attrs.evolve(policy.statements[0], condition=(clause,)),)
    )
    for check in (lambda: check_structure(bad), lambda: validate_policy(bad, PolicyKind.SCP)):
        with pytest.raises(PolicySyntaxError) as caught:
            check()
        assert caught.value.code == "condition.unknown-operator"
        assert caught.value.hint == 'did you mean "StringEquals"?'
        assert caught.value.path == "Statement[0].Condition"
