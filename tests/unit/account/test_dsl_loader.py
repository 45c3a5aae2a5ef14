"""The account DSL ↔ model: loading, errors with DSL positions, export, `load_any`."""

from __future__ import annotations

import pathlib

import pytest

from policylang.account import (
    Environment,
    export_account_dsl,
    load_account_dsl,
    load_any,
    load_dsl_account,
    load_environment,
)
from policylang.account.dsl_loader import is_dsl_text
from policylang.errors import AccountError, PolicyLangError

ROOT = pathlib.Path(__file__).parents[3]
SAMPLE_DIR = ROOT / "examples" / "sample-account"
SAMPLE_DSL = SAMPLE_DIR / "account.pdsl"
SAMPLE_JSON = SAMPLE_DIR / "account.json"

SMALL = """\
account 111122223333 {
  alias acme
  policy arn:aws:iam::aws:policy/ReadOnlyAccess { allow s3:Get* on * }
  policy arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole {
    allow logs:* on *
  }
  policy Boundary { path /b/  allow s3:* on * }
  group devs {
    members alice, Bob
    attach Boundary, arn:aws:iam::aws:policy/ReadOnlyAccess
  }
  user alice { boundary Boundary  tag team = web }
  user bob { path /x/ }
  role Web {
    assumable by service ec2.amazonaws.com
    attach arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole
  }
  instance-profile Web { role web }
  resource arn:aws:s3:::b { allow s3:GetObject on arn:aws:s3:::b/* by aws 444455556666 }
}
"""


def test_small_file_resolves_names_and_derives_arns() -> None:
    account = load_dsl_account(SMALL, source_name="small.pdsl")
    assert account.alias == "acme"
    group = account.group("devs")
    assert group.arn == "arn:aws:iam::111122223333:group/devs"
    assert group.members == ("alice", "bob")  # stored with the declared spelling
    assert group.attached_policies == (
        "arn:aws:iam::111122223333:policy/b/Boundary",
        "arn:aws:iam::aws:policy/ReadOnlyAccess",
    )
    assert account.user("bob").arn == "arn:aws:iam::111122223333:user/x/bob"
    assert account.user("alice").boundary == "arn:aws:iam::111122223333:policy/b/Boundary"
    lambda_arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    assert account.policies[lambda_arn].path == "/service-role/"
    assert account.role("Web").attached_policies == (lambda_arn,)
    assert account.instance_profile("Web").role == "Web"
    assert account.user("alice").id.startswith("AIDA")
    assert account.role("Web").id.startswith("AROA")
    assert "arn:aws:s3:::b" in account.resource_policies
    # Ids come from names: loading twice gives equal models.
    assert load_dsl_account(SMALL) == account


def test_export_then_reload_is_the_identity() -> None:
    env = load_account_dsl(SMALL)
    text = export_account_dsl(env)
    again = load_account_dsl(text)
    assert again.accounts == env.accounts
    assert export_account_dsl(again) == text


def test_sample_dsl_and_json_load_to_the_same_model() -> None:
    from_dsl = load_any(SAMPLE_DSL)
    from_json = load_any(SAMPLE_JSON)
    assert set(from_dsl.accounts) == {"111111111111", "222222222222", "333333333333"}
    assert from_dsl.accounts == from_json.accounts
    assert from_dsl.organization is not None  # from the account.org.json sidecar
    assert from_dsl.organization == from_json.organization
    principals = sum(len(a.users) + len(a.roles) for a in from_dsl.accounts.values())
    assert principals >= 30


def test_sample_dsl_is_canonical_and_round_trips() -> None:
    env = load_any(SAMPLE_DSL)
    text = export_account_dsl(env)
    body = SAMPLE_DSL.read_text().split("\n\naccount ", 1)[1]
    assert text == "account " + body
    again = load_account_dsl(text)
    assert again.accounts == env.accounts


def test_load_environment_detects_dsl_by_content(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "acct.txt"  # the suffix does not matter
    path.write_text("# comment first\n" + SMALL)
    env = load_environment([path])
    assert list(env.accounts) == ["111122223333"]
    assert env.organization is None


def test_is_dsl_text() -> None:
    assert is_dsl_text("# x\naccount 1 {}")
    assert not is_dsl_text('\n  {"UserDetailList": []}')
    assert not is_dsl_text("[]")


def test_load_any_takes_text() -> None:
    env = load_any(SMALL)
    assert isinstance(env, Environment)
    assert "alice" in env.accounts["111122223333"].users


def _error(text: str) -> AccountError:
    with pytest.raises(AccountError) as info:
        load_account_dsl(text, source_name="bad.pdsl")
    return info.value


def _at(error: PolicyLangError) -> tuple[int, int]:
    assert error.span is not None
    return error.span.line, error.span.column


def test_dangling_member_is_no_such_entity_with_position() -> None:
    error = _error("account 111122223333 {\n  user a\n  group g { members a, zed }\n}\n")
    assert error.aws_error == "NoSuchEntity"
    assert "zed" in error.message
    assert _at(error) == (3, 9)
    assert error.render().startswith("bad.pdsl:3:9: error[")


@pytest.mark.parametrize(
    ("item", "needle"),
    [
        ("attach Missing", "Missing"),
        ("attach arn:aws:iam::aws:policy/Nope", "policy arn:aws:iam::aws:policy/Nope"),
        ("boundary Missing", "Missing"),
    ],
)
def test_dangling_policy_reference(item: str, needle: str) -> None:
    error = _error(f"account 111122223333 {{\n  user u {{ {item} }}\n}}\n")
    assert error.aws_error == "NoSuchEntity"
    assert needle in error.message + (error.hint or "")
    assert _at(error) == (2, 8)


def test_dangling_instance_profile_role() -> None:
    error = _error("account 111122223333 {\n  instance-profile P { role Ghost }\n}\n")
    assert error.aws_error == "NoSuchEntity"
    assert _at(error)[0] == 2


def test_case_insensitive_duplicate_is_entity_already_exists() -> None:
    error = _error("account 111122223333 {\n  user alice\n  user Alice\n}\n")
    assert error.aws_error == "EntityAlreadyExists"
    assert _at(error) == (3, 8)


def test_second_role_in_an_instance_profile_is_limit_exceeded() -> None:
    text = (
        "account 111122223333 {\n"
        "  role A { assumable by service ec2.amazonaws.com }\n"
        "  role B { assumable by service ec2.amazonaws.com }\n"
        "  instance-profile P { role A role B }\n"
        "}\n"
    )
    error = _error(text)
    assert error.aws_error == "LimitExceeded"
    assert _at(error)[0] == 4


def test_too_many_attached_policies_is_limit_exceeded() -> None:
    policies = "".join(f"  policy P{i} {{ allow s3:GetObject on * }}\n" for i in range(11))
    names = ", ".join(f"P{i}" for i in range(11))
    error = _error(f"account 111122223333 {{\n{policies}  user u {{ attach {names} }}\n}}\n")
    assert error.aws_error == "LimitExceeded"
    assert _at(error)[0] == 13


def test_inline_size_quota_is_limit_exceeded() -> None:
    actions = ", ".join(f"s3:GetObjectVersion{i:04d}" for i in range(100))
    text = (
        f"account 111122223333 {{\n  user u {{\n    policy Big {{ allow {actions} on * }}\n"
        "  }\n}\n"
    )
    error = _error(text)
    assert error.aws_error == "LimitExceeded"
    assert _at(error)[0] == 3


def test_malformed_resource_arn() -> None:
    error = _error("account 111122223333 {\n  resource not-an-arn { allow s3:* on * by * }\n}\n")
    assert error.aws_error == "ValidationError"
    assert "malformed ARN" in error.message
    assert _at(error) == (2, 12)


def test_resource_of_another_account() -> None:
    text = (
        "account 111122223333 {\n"
        "  resource arn:aws:sqs:us-east-1:999999999999:q { allow sqs:* on * by * }\n}\n"
    )
    assert _error(text).aws_error == "ValidationError"


def test_role_without_trust_and_bad_max_session() -> None:
    assert _error("account 111122223333 {\n  role R\n}\n").code == "account.missing-trust-policy"
    text = (
        "account 111122223333 {\n  role R { max-session 60 "
        "assumable by service ec2.amazonaws.com }\n}\n"
    )
    error = _error(text)
    assert error.aws_error == "ValidationError"
    assert "MaxSessionDuration" in error.message


def test_trust_policy_with_resource_is_malformed() -> None:
    text = (
        "account 111122223333 {\n  role R {\n    trust { allow sts:AssumeRole on * by * }\n"
        "  }\n}\n"
    )
    error = _error(text)
    assert error.aws_error == "MalformedPolicyDocument"
    assert _at(error)[0] == 3  # the statement's own position is kept


def test_customer_policy_declared_by_arn_is_refused() -> None:
    text = (
        "account 111122223333 {\n"
        "  policy arn:aws:iam::111122223333:policy/X { allow s3:* on * }\n}\n"
    )
    assert _error(text).aws_error == "ValidationError"


def test_unknown_account_id() -> None:
    assert _error("account 12 {\n  user u\n}\n").aws_error == "ValidationError"


def test_export_of_multi_line_and_block_trusts_reloads() -> None:
    text = """\
account 111122223333 {
  role Auditor {
    assumable by aws arn:aws:iam::999988887777:root
      when sts:ExternalId == x-1
       and aws:MultiFactorAuthPresent
  }
  role Fed {
    trust {
      allow sts:AssumeRoleWithWebIdentity by federated cognito-identity.amazonaws.com
    }
  }
  role Two {
    trust {
      allow sts:AssumeRole by service ec2.amazonaws.com
      allow sts:TagSession by service ec2.amazonaws.com
    }
  }
}
"""
    env = load_account_dsl(text)
    out = export_account_dsl(env)
    assert "assumable by aws arn:aws:iam::999988887777:root\n" in out
    assert out.count("trust {") == 2
    assert load_account_dsl(out).accounts == env.accounts


def test_organization_sidecar_and_explicit_file_conflict(tmp_path: pathlib.Path) -> None:
    dsl = tmp_path / "acct.pdsl"
    dsl.write_text(SAMPLE_DSL.read_text())
    assert load_any(dsl).organization is None  # no sidecar beside the copy
    org = SAMPLE_DIR / "account.org.json"
    (tmp_path / "acct.org.json").write_text(org.read_text())
    assert load_any(dsl).organization is not None
    with pytest.raises(AccountError, match="two organizations"):
        load_environment([dsl], org)


def test_export_says_what_it_cannot_represent() -> None:
    from policylang.account import Account

    account = Account("111122223333")
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*",
                                                   "Resource": "*"}]}
    policy = account.create_policy("P", doc)
    account.create_policy_version(policy.arn, doc)
    account.put_resource_policy("arn:aws:s3:::b", None, tags={"k": "v"})
    text = export_account_dsl(account)
    assert "#   1 non-default version(s) of arn:aws:iam::111122223333:policy/P" in text
    assert "#   the tags of arn:aws:s3:::b" in text
    reloaded = load_dsl_account(text)
    assert reloaded.policies[policy.arn].default_version_id == "v1"
    assert "arn:aws:s3:::b" not in reloaded.resource_policies
