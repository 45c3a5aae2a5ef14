"""Loading and exporting `get-account-authorization-details` output and the organization file."""

from __future__ import annotations

import copy
import json
import pathlib
import urllib.parse
from typing import Any

import pytest

from policylang.account import (
    export_authorization_details,
    export_organization,
    load_authorization_details,
    load_environment,
    load_organization,
)
from policylang.errors import AccountError, PolicyLangError

SAMPLE = pathlib.Path(__file__).parent / "data" / "sample.json"
ACCT = "111122223333"


def sample() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SAMPLE.read_text(encoding="utf-8"))
    return data


def prod_dump() -> dict[str, Any]:
    dump: dict[str, Any] = sample()["Accounts"][1]
    return dump


def trust(principal: dict[str, Any]) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}],
    }


def minimal() -> dict[str, Any]:
    """A raw-API-style dump: URL-encoded documents, no ids, one user, one group, one role."""
    read = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
    }
    encoded = urllib.parse.quote(json.dumps(read))
    return {
        "UserDetailList": [
            {
                "UserName": "alice",
                "Path": "/",
                "Arn": f"arn:aws:iam::{ACCT}:user/alice",
                "GroupList": ["devs"],
                "AttachedManagedPolicies": [],
                "UserPolicyList": [{"PolicyName": "r", "PolicyDocument": encoded}],
            }
        ],
        "GroupDetailList": [
            {
                "GroupName": "devs",
                "Path": "/",
                "Arn": f"arn:aws:iam::{ACCT}:group/devs",
                "GroupPolicyList": [],
                "AttachedManagedPolicies": [],
            }
        ],
        "RoleDetailList": [
            {
                "RoleName": "Web",
                "Path": "/",
                "Arn": f"arn:aws:iam::{ACCT}:role/Web",
                "AssumeRolePolicyDocument": urllib.parse.quote(
                    json.dumps(trust({"Service": "ec2.amazonaws.com"}))
                ),
                "InstanceProfileList": [
                    {
                        "InstanceProfileName": "Web",
                        "Path": "/",
                        "Arn": f"arn:aws:iam::{ACCT}:instance-profile/Web",
                        "Roles": [{"RoleName": "Web"}],
                    }
                ],
                "RolePolicyList": [],
                "AttachedManagedPolicies": [],
            }
        ],
        "Policies": [],
        "IsTruncated": False,
    }


def test_sample_environment_round_trips() -> None:
    env = load_environment([SAMPLE])

    for account in env.accounts.values():
        again = load_authorization_details(export_authorization_details(account))
        assert again == account
        encoded = load_authorization_details(export_authorization_details(account, url_encode=True))
        assert encoded == account
    assert env.organization is not None
    assert load_organization(export_organization(env.organization)) == env.organization


def test_sample_has_enough_principals() -> None:
    env = load_environment([SAMPLE])

    principals = sum(len(a.users) + len(a.roles) for a in env.accounts.values())
    assert principals >= 30


def test_url_encoded_documents_and_missing_ids_load() -> None:
    account = load_authorization_details(minimal())

    alice = account.user("alice")
    assert alice.inline_policies[0].document.statements[0].action.values.items == ("s3:GetObject",)
    assert alice.id.startswith("AIDA")
    assert account.group("devs").members == ("alice",)
    assert account.instance_profile("Web").role == "Web"


def test_pages_are_merged() -> None:
    dump = prod_dump()
    first = {
        **dump,
        "UserDetailList": dump["UserDetailList"][:5],
        "IsTruncated": True,
        "Marker": "abc",
    }
    second = {"UserDetailList": dump["UserDetailList"][5:], "IsTruncated": False}
    for key in ("GroupDetailList", "RoleDetailList", "Policies", "ResourcePolicies"):
        second[key] = []

    merged = load_authorization_details([first, second])

    assert merged == load_authorization_details(dump)


def test_truncated_last_page_is_refused() -> None:
    dump = {**minimal(), "IsTruncated": True, "Marker": "m"}

    with pytest.raises(AccountError) as excinfo:
        load_authorization_details([dump])

    assert "truncated" in excinfo.value.message


def test_dangling_attachment_is_no_such_entity() -> None:
    dump = minimal()
    dump["UserDetailList"][0]["AttachedManagedPolicies"] = [
        {"PolicyName": "Gone", "PolicyArn": f"arn:aws:iam::{ACCT}:policy/Gone"}
    ]

    with pytest.raises(AccountError) as excinfo:
        load_authorization_details(dump)

    assert excinfo.value.aws_error == "NoSuchEntity"
    assert excinfo.value.path == "UserDetailList[0].AttachedManagedPolicies[0].PolicyArn"


def test_unknown_group_is_no_such_entity() -> None:
    dump = minimal()
    dump["UserDetailList"][0]["GroupList"] = ["nope"]

    with pytest.raises(AccountError) as excinfo:
        load_authorization_details(dump)

    assert excinfo.value.code == "account.unknown-group"


def test_profile_under_two_roles_is_limit_exceeded() -> None:
    dump = minimal()
    other = copy.deepcopy(dump["RoleDetailList"][0])
    other["RoleName"] = "Other"
    other["Arn"] = f"arn:aws:iam::{ACCT}:role/Other"
    other["InstanceProfileList"][0]["Roles"] = [{"RoleName": "Other"}]
    dump["RoleDetailList"].append(other)

    with pytest.raises(AccountError) as excinfo:
        load_authorization_details(dump)

    assert excinfo.value.aws_error == "LimitExceeded"


def test_duplicate_user_names_differing_in_case() -> None:
    dump = minimal()
    twin = copy.deepcopy(dump["UserDetailList"][0])
    twin["UserName"] = "ALICE"
    twin["Arn"] = f"arn:aws:iam::{ACCT}:user/ALICE"
    dump["UserDetailList"].append(twin)

    with pytest.raises(AccountError) as excinfo:
        load_authorization_details(dump)

    assert excinfo.value.aws_error == "EntityAlreadyExists"


def test_trust_policy_over_quota_is_limit_exceeded() -> None:
    dump = minimal()
    principals = [f"arn:aws:iam::{ACCT}:user/u{i:04d}" for i in range(400)]
    dump["RoleDetailList"][0]["AssumeRolePolicyDocument"] = trust({"AWS": principals})

    with pytest.raises(AccountError) as excinfo:
        load_authorization_details(dump)

    assert excinfo.value.aws_error == "LimitExceeded"


def test_malformed_document_names_the_field() -> None:
    dump = minimal()
    dump["GroupDetailList"][0]["GroupPolicyList"] = [
        {
            "PolicyName": "bad",
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Maybe", "Action": "s3:*", "Resource": "*"}],
            },
        }
    ]

    with pytest.raises(PolicyLangError) as excinfo:
        load_authorization_details(dump)

    assert isinstance(excinfo.value, AccountError)
    assert excinfo.value.aws_error == "MalformedPolicyDocument"
    assert "GroupDetailList[0].GroupPolicyList[0]" in (excinfo.value.path or "")


def test_arn_that_disagrees_with_path_is_refused() -> None:
    dump = minimal()
    dump["UserDetailList"][0]["Path"] = "/eng/"

    with pytest.raises(AccountError) as excinfo:
        load_authorization_details(dump)

    assert excinfo.value.path == "UserDetailList[0].Arn"


def test_unknown_top_level_field_is_refused() -> None:
    with pytest.raises(AccountError) as excinfo:
        load_authorization_details({**minimal(), "Usres": []})

    assert excinfo.value.code == "account.invalid-field"


def test_organization_unknown_policy_reference() -> None:
    org = sample()["Organization"]
    org["Root"]["Policies"] = ["NoSuchPolicy"]

    with pytest.raises(AccountError) as excinfo:
        load_organization(org)

    assert excinfo.value.code == "account.unknown-policy"


def test_organization_levels_follow_the_tree() -> None:
    env = load_environment([SAMPLE])
    assert env.organization is not None

    prod = env.organization.levels("222222222222", "SERVICE_CONTROL_POLICY")
    mgmt = env.organization.levels("111111111111", "SERVICE_CONTROL_POLICY")

    assert [[p.name for p in level] for level in prod] == [
        ["FullAWSAccess"],
        ["FullAWSAccess", "Guardrails"],
        ["FullAWSAccess", "DenyIamUsers"],
        ["FullAWSAccess"],
    ]
    assert mgmt == []


def test_export_counts_attachments() -> None:
    env = load_environment([SAMPLE])
    exported = export_authorization_details(env.accounts["222222222222"])

    counts = {p["PolicyName"]: p["AttachmentCount"] for p in exported["Policies"]}
    assert counts["AdministratorAccess"] == 4
    assert counts["S3ReadReports"] == 3
