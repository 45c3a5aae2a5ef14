"""The account model reads the one quota table, `policylang.validate.Limits`."""

from __future__ import annotations

import json

import pytest

from policylang.account import Account, Organization, OrgPolicy, Quotas
from policylang.account.authz_details import load_authorization_details
from policylang.account.model import policy_size, policy_text, to_policy
from policylang.errors import AccountError
from policylang.ir import PolicyKind
from policylang.validate import Limits, iam_size

ACCT = "123456789012"


def _scp(name: str, actions: int) -> OrgPolicy:
    statement = {
        "Effect": "Deny",
        "Action": [f"s3:GetObjectVersion{i:04d}" for i in range(actions)],
        "Resource": "*",
    }
    document = to_policy(
        {"Version": "2012-10-17", "Statement": [statement]}, kind=PolicyKind.SCP, where="scp"
    )
    return OrgPolicy(f"p-{name}", name, "SERVICE_CONTROL_POLICY", document)


def test_quotas_is_the_validate_limits_table() -> None:
    assert Quotas is Limits
    assert Account(ACCT).quotas == Limits()
    assert Organization("o-1", ACCT).quotas == Limits()


def test_model_sizes_use_validates_counting_rules() -> None:
    document = to_policy(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::a b/*"}
            ],
        },
        kind=PolicyKind.IDENTITY,
        where="p",
    )
    text = policy_text(document)
    assert " " in text  # whitespace inside a string counts under both rules
    assert policy_size(document) == iam_size(text) == len(text)
    assert policy_size(document, PolicyKind.SCP) == len(text)


def test_account_reads_renamed_fields() -> None:
    account = Account(ACCT, quotas=Limits(users_per_account=1))
    account.create_user("alice")
    with pytest.raises(AccountError) as caught:
        account.create_user("bob")
    assert caught.value.aws_error == "LimitExceeded"


def test_org_size_quota_is_per_policy_type() -> None:
    big = _scp("big", 150)
    assert policy_size(big.document, PolicyKind.SCP) > 2000
    Organization("o-1", ACCT, quotas=Limits(rcp_size=100)).create_policy(big)
    with pytest.raises(AccountError) as caught:
        Organization("o-1", ACCT, quotas=Limits(scp_size=2000)).create_policy(big)
    assert caught.value.aws_error == "LimitExceeded"
    assert "quota of 2000" in caught.value.message


def test_org_per_target_and_depth_quotas_are_configurable() -> None:
    org = Organization("o-1", ACCT, quotas=Limits(scps_per_target=1, org_ou_depth=1))
    org.create_policy(_scp("a", 1))
    org.create_policy(_scp("b", 1))
    org.attach_policy("p-a", org.root_id)
    with pytest.raises(AccountError) as caught:
        org.attach_policy("p-b", org.root_id)
    assert caught.value.aws_error == "ConstraintViolationException"
    org.add_ou("ou-1", "One", org.root_id)
    with pytest.raises(AccountError) as deep:
        org.add_ou("ou-2", "Two", "ou-1")
    assert "at most 1 levels" in deep.value.message


def test_dump_quotas_default_to_the_maximum() -> None:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": [f"arn:aws:iam::{i:012d}:root" for i in range(120)]},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = {
        "RoleName": "r",
        "RoleId": "AROAEXAMPLE000000001",
        "Arn": f"arn:aws:iam::{ACCT}:role/r",
        "Path": "/",
        "CreateDate": "2026-01-01T00:00:00Z",
        "AssumeRolePolicyDocument": trust,
        "RolePolicyList": [],
        "AttachedManagedPolicies": [],
        "InstanceProfileList": [],
        "Tags": [],
    }
    data = {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [role], "Policies": []}
    assert 2048 < len(json.dumps(trust, separators=(",", ":"))) < 8192
    account = load_authorization_details(data, account_id=ACCT)
    assert account.quotas == Limits.maximum()
    with pytest.raises(AccountError) as caught:
        load_authorization_details(data, account_id=ACCT, quotas=Limits())
    assert caught.value.aws_error == "LimitExceeded"
    assert "trust policy" in caught.value.message
    assert "quota of 2048" in caught.value.message
