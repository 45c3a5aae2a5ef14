"""Account files → declarations (`parse_account_dsl`)."""

from __future__ import annotations

import pathlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policylang.errors import AccountError, PolicyLangError, PolicySyntaxError
from policylang.grammar.account_decl import (
    AccountDecl,
    GroupDecl,
    InstanceProfileDecl,
    TagDecl,
    UserDecl,
    parse_account_dsl,
)
from policylang.grammar.dsl_to_ir import parse_dsl
from policylang.grammar.ir_to_dsl import format_dsl

SAMPLE = pathlib.Path(__file__).with_name("acme_account.policy")


@pytest.fixture(scope="module")
def account() -> AccountDecl:
    (decl,) = parse_account_dsl(SAMPLE.read_text(), source_name=SAMPLE.name)
    return decl


def test_account_settings(account: AccountDecl) -> None:
    assert account.account_id == "111122223333"
    assert account.alias == "acme-prod"
    assert account.partition == "aws"


def test_managed_policy(account: AccountDecl) -> None:
    (managed,) = account.managed_policies

    assert managed.name == "DevBoundary"
    assert managed.path == "/boundaries/"
    assert managed.description == "Ceiling for developer-created identities"
    assert managed.tags == (TagDecl("owner", "platform"),)
    assert managed.document == parse_dsl(
        "@sid AllowedServices\nallow s3:*, cloudwatch:*, ec2:Describe* on *\n"
    )


def test_users_and_groups(account: AccountDecl) -> None:
    assert account.users == (
        UserDecl("alice"),
        UserDecl("bob", "/contractors/", (TagDecl("team", "web"),), "DevBoundary"),
    )
    (group,) = account.groups
    assert isinstance(group, GroupDecl)
    assert group.members == ("alice", "bob")
    assert group.attach == ("DevBoundary", "arn:aws:iam::aws:policy/ReadOnlyAccess")
    assert [p.name for p in group.policies] == ["ReadLogs"]


def test_roles_and_trust(account: AccountDecl) -> None:
    web_server, auditor, web = account.roles

    assert web_server.trust_is_short_form
    assert web_server.trust is not None
    assert format_dsl(web_server.trust) == "allow sts:AssumeRole by service ec2.amazonaws.com\n"
    assert auditor.max_session == "3600"
    assert auditor.trust == parse_dsl(
        '@sid ""\nallow sts:AssumeRole\n  by aws arn:aws:iam::999988887777:root\n'
        "  when sts:ExternalId == Unique-ID-1234\n   and aws:MultiFactorAuthPresent\n"
    )
    assert not web.trust_is_short_form
    assert web.trust is not None
    assert web.trust.version == "2008-10-17"


def test_profiles_and_resources(account: AccountDecl) -> None:
    assert account.instance_profiles == (InstanceProfileDecl("WebServer", role="WebServer"),)
    (resource,) = account.resources
    assert resource.arn == "arn:aws:s3:::acme-logs"
    assert resource.document.statements[0].principal is not None


@pytest.mark.parametrize(
    ("text", "error", "code"),
    [
        ("account 1 { user a user a }", AccountError, "account.duplicate-name"),
        ("account 1 { role r { assumable by aws * trust { allow sts:AssumeRole } } }",
         PolicySyntaxError, "syntax.duplicate-setting"),
        ("account 1 { user u { policy p { path /x/ allow s3:* } } }",
         PolicySyntaxError, "syntax.misplaced-setting"),
        ("account 1 { policy p { path /x/ } }", PolicySyntaxError, "policy.missing-statement"),
        ("account 1 { user u { path /a/ path /b/ } }",
         PolicySyntaxError, "syntax.duplicate-setting"),
        ("allow s3:* on *", PolicySyntaxError, "syntax.unexpected-token"),
        ("", PolicySyntaxError, "syntax.no-account"),
        ("account 1 { user u { tag a=b } }", PolicySyntaxError, "syntax.unexpected-token"),
    ],
)
def test_account_errors(text: str, error: type[PolicyLangError], code: str) -> None:
    with pytest.raises(error) as info:
        parse_account_dsl(text, source_name="acct.policy")

    assert info.value.code == code
    assert info.value.render().startswith("acct.policy")


def test_a_policy_file_refuses_an_account() -> None:
    with pytest.raises(PolicySyntaxError) as info:
        parse_dsl("account 1 { user a }")

    assert "account file" in (info.value.hint or "")


@settings(max_examples=150)
@given(st.data())
def test_mutated_account_files_raise_only_policylang_errors(data: st.DataObject) -> None:
    text = SAMPLE.read_text()
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(text)))
        j = data.draw(st.integers(i, min(len(text), i + 8)))
        piece = data.draw(st.sampled_from(["", " ", "{", "}", ",", "user", "=", "policy", "#"]))
        text = text[:i] + piece + text[j:]
    failure: PolicyLangError | None = None
    try:
        accounts = parse_account_dsl(text, source_name="fuzz.policy")
    except PolicyLangError as error:
        failure = error
    if failure is not None:
        assert failure.render().startswith("fuzz.policy")
    else:
        assert accounts
