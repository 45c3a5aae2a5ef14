"""Unit tests of the review rules: coverage proofs, kind inference, fixes, edge cases."""

from __future__ import annotations

import importlib.util
import json
import pathlib
import sys
from types import ModuleType
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policylang.grammar.json_to_ir import parse_iam_json, policy_from_value
from policylang.ir import PolicyKind
from policylang.patterns import match_action, match_resource
from policylang.review import RULES, Severity, infer_kind, review_policy
from policylang.review.rules import action_covers, is_any_resource, resource_covers


def _load_corpus() -> ModuleType:
    path = pathlib.Path(__file__).with_name("corpus.py")
    spec = importlib.util.spec_from_file_location("review_corpus_rules", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["review_corpus_rules"] = module
    spec.loader.exec_module(module)
    return module


corpus = _load_corpus()


def policy(*statements: dict[str, Any]) -> Any:
    text = json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, indent=2)
    return parse_iam_json(text, source_name="p.json")


def codes(*statements: dict[str, Any], **kw: Any) -> list[str]:
    return [f.code for f in review_policy(policy(*statements), **kw)]


# ------------------------------------------------------------------ catalogue


def test_catalogue_codes_are_unique_and_documented() -> None:
    doc = (pathlib.Path(__file__).parents[2] / "docs" / "review.md").read_text()
    names = [rule.name for rule in RULES.values()]
    assert len(set(names)) == len(names)
    for code, rule in RULES.items():
        assert code.startswith("PL")
        assert code[2:].isdigit()
        assert f"`{code}`" in doc, code
        assert rule.why
        assert rule.summary


# ------------------------------------------------------------------ coverage proofs

SEGMENTS = st.text(alphabet="abcAB/-:", min_size=0, max_size=4)


def _instances(pattern: str, fills: list[str]) -> str:
    out = []
    k = 0
    for ch in pattern:
        if ch == "*":
            out.append(fills[k % len(fills)])
            k += 1
        elif ch == "?":
            out.append((fills[k % len(fills)] + "x")[0])
            k += 1
        else:
            out.append(ch)
    return "".join(out)


ACTIONS = st.sampled_from(
    ["*", "s3:*", "s3:Get*", "s3:GetObject", "s3:getobject", "s3:Get*Tagging", "s3:?etObject",
     "s3:GetObjectTagging", "ec2:*", "s3:Put*", "s3:G*"]
)
RESOURCES = st.sampled_from(
    ["*", "arn:aws:s3:::b/*", "arn:aws:s3:::b/a/*", "arn:aws:s3:::b/a/x", "arn:aws:s3:::*",
     "arn:aws:s3:::b*", "arn:aws:iam::*:role/*", "arn:aws:iam::111122223333:role/x",
     "arn:aws:s3:::b/a?c", "arn:aws:s3:::b/*/z", "arn:aws:s3:::b/${aws:username}/*"]
)


@settings(max_examples=300)
@given(ACTIONS, ACTIONS, st.lists(SEGMENTS, min_size=1, max_size=3))
def test_action_cover_is_sound(a: str, b: str, fills: list[str]) -> None:
    if action_covers(a, b):
        concrete = _instances(b, fills) if b != "*" else "zz:Anything"
        if match_action(b, concrete):
            assert match_action(a, concrete)


@settings(max_examples=300)
@given(RESOURCES, RESOURCES, st.lists(SEGMENTS, min_size=1, max_size=3))
def test_resource_cover_is_sound(a: str, b: str, fills: list[str]) -> None:
    if resource_covers(a, b):
        concrete = _instances(b, fills) if b != "*" else "arn:aws:sqs:us-east-1:1:q"
        if match_resource(b, concrete):
            assert match_resource(a, concrete)


def test_cover_examples() -> None:
    assert action_covers("s3:Get*", "s3:GetObject")
    assert action_covers("S3:get*", "s3:GetObject*")
    assert not action_covers("s3:GetObject", "s3:Get*")
    assert resource_covers("arn:aws:s3:::b/*", "arn:aws:s3:::b/logs/*")
    assert not resource_covers("arn:aws:s3:::b/logs/*", "arn:aws:s3:::b/*")
    assert not resource_covers("arn:aws:s3:::b/${aws:username}", "arn:aws:s3:::b/alice")


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("*", True),
        ("arn:aws:s3:::*", True),
        ("arn:aws:s3:::*/*", True),
        ("arn:aws:s3:::bucket/*", False),
        ("arn:aws:iam::*:user/*", True),
        ("arn:aws:dynamodb:eu-west-1:1:table/*", True),
        ("arn:aws:dynamodb:eu-west-1:1:table/orders", False),
    ],
)
def test_is_any_resource(pattern: str, expected: bool) -> None:
    assert is_any_resource(pattern) is expected


# ------------------------------------------------------------------ kinds


def test_infer_kind() -> None:
    assert infer_kind(policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})) is (
        PolicyKind.IDENTITY
    )
    trust = {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
             "Action": ["sts:AssumeRole", "sts:TagSession"]}
    assert infer_kind(policy(trust)) is PolicyKind.TRUST
    bucket = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
              "Resource": "arn:aws:s3:::b/*"}
    assert infer_kind(policy(bucket)) is PolicyKind.RESOURCE


def test_scp_and_boundary_allow_everything_is_not_full_admin() -> None:
    allow_all = {"Effect": "Allow", "Action": "*", "Resource": "*"}
    assert codes(allow_all, kind=PolicyKind.SCP) == []
    assert codes(allow_all, kind=PolicyKind.BOUNDARY) == []
    assert codes(allow_all) == ["PL101"]


def test_resource_star_in_resource_policy_is_the_resource_itself() -> None:
    key_policy = {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/app"},
                  "Action": "kms:Decrypt", "Resource": "*"}
    assert codes(key_policy, own_accounts=["111122223333"]) == []


def test_default_key_policy_delegation_is_not_service_wide() -> None:
    root = {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
            "Action": "kms:*", "Resource": "*"}
    assert codes(root, own_accounts=["111122223333"]) == []
    assert "PL102" in codes(root, own_accounts=["999999999999"])


# ------------------------------------------------------------------ specific rules


def test_mfa_allow_with_bool_true_is_fine() -> None:
    # `Bool ... true` in an Allow: an absent key makes it false, so the Allow does not apply:
    # the safe direction (default deny), nothing to report.
    stmt = {"Effect": "Allow", "Action": "ec2:StopInstances",
            "Resource": "arn:aws:ec2:eu-west-1:1:instance/i-1",
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}
    assert codes(stmt) == []


def test_mfa_deny_with_bool_if_exists_is_fine() -> None:
    stmt = {"Effect": "Deny", "Action": "*", "Resource": "*",
            "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}}
    assert codes(stmt) == []


def test_mfa_fix_moves_only_the_mfa_key() -> None:
    stmt = {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*",
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false",
                                   "aws:SecureTransport": "true"}}}
    [finding] = review_policy(policy(stmt))
    assert finding.code == "PL401"
    assert finding.fix is not None
    assert finding.fix.json is not None
    fixed = json.loads(finding.fix.json)
    assert fixed["Condition"] == {"Bool": {"aws:SecureTransport": "true"},
                                  "BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}


def test_self_scoped_credentials_are_fine_but_other_users_are_not() -> None:
    own = {"Effect": "Allow", "Action": "iam:CreateAccessKey",
           "Resource": "arn:aws:iam::*:user/${aws:username}"}
    assert codes(own) == []
    other = dict(own, Resource="arn:aws:iam::111122223333:user/bob")
    [finding] = review_policy(policy(other))
    assert (finding.code, finding.severity) == ("PL204", Severity.WARNING)


def test_scoped_passrole_with_launch_is_only_a_note() -> None:
    found = review_policy(policy(
        {"Effect": "Allow", "Action": "lambda:CreateFunction",
         "Resource": "arn:aws:lambda:eu-west-1:1:function:f"},
        {"Effect": "Allow", "Action": "iam:PassRole",
         "Resource": "arn:aws:iam::111122223333:role/exec"},
    ))
    assert [(f.code, f.severity) for f in found] == [("PL202", Severity.INFO)]


def test_cross_account_uses_own_account_ids() -> None:
    trust = {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
             "Action": "sts:AssumeRole"}
    assert codes(trust) == ["PL303"]
    assert codes(trust, own_accounts=["111122223333"]) == []


def test_redundancy_is_not_claimed_under_different_conditions() -> None:
    a = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*",
         "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}
    b = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/x",
         "Condition": {"IpAddress": {"aws:SourceIp": "192.168.0.0/16"}}}
    assert codes(a, b) == []


def test_conditional_deny_does_not_shadow() -> None:
    allow = {"Effect": "Allow", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::b/*"}
    deny = {"Effect": "Deny", "Action": "s3:*", "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    assert codes(allow, deny) == []


def test_not_action_deny_does_not_shadow() -> None:
    allow = {"Effect": "Allow", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::b/*"}
    deny = {"Effect": "Deny", "NotAction": "iam:*", "Resource": "*"}
    assert codes(allow, deny) == []


def test_statement_location_and_sid_are_reported() -> None:
    [finding] = review_policy(policy({"Sid": "Admin", "Effect": "Allow", "Action": "*",
                                      "Resource": "*"}))
    assert (finding.line, finding.column, finding.sid) == (4, 5, "Admin")
    assert finding.location() == "p.json:4:5"


# ------------------------------------------------------------------ fixes

RISKY_POLICIES = [p for p in corpus.policy_files(corpus.RISKY)
                  if not p.name.endswith(".account.json")]
# These permissions stay risky even when scoped; their fix narrows but cannot remove them.
INHERENT = {"PL203", "PL204", "PL205", "PL206"}


@pytest.mark.parametrize("path", RISKY_POLICIES, ids=lambda p: p.name.removesuffix(".json"))
def test_fixes_remove_or_reduce_their_finding(path: pathlib.Path) -> None:
    expect = corpus.read_expect(path)
    original = corpus.load_policy_file(str(path), expect.kind)
    for finding in corpus.review_file(path, expect):
        fix = finding.fix
        assert fix is not None, finding.code
        if fix.edit == "delete-statement":
            assert finding.code in {"PL501", "PL502"}
            continue
        assert fix.json is not None
        value = json.loads(fix.json)
        statement = policy_from_value({"Version": "2012-10-17", "Statement": [value]})
        if fix.dsl is not None:
            from policylang.grammar.dsl_to_ir import parse_dsl

            assert parse_dsl(fix.dsl).statements == statement.statements
        statements = list(original.statements)
        assert finding.statement_index is not None
        statements[finding.statement_index] = statement.statements[0]
        fixed = attrs.evolve(original, statements=tuple(statements))
        again = [
            f for f in review_policy(fixed, kind=expect.kind, own_accounts=expect.account_ids)
            if f.code == finding.code and f.statement_index == finding.statement_index
            # PL6xx: one finding per unknown name; the fix renames that name only.
            and (not finding.code.startswith("PL6") or f.message == finding.message)
        ]
        for left in again:
            if finding.code in INHERENT:
                assert left.severity.rank <= finding.severity.rank
            else:
                assert left.severity.rank < finding.severity.rank, (finding.code, fix.json)
