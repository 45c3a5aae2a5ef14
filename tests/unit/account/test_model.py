"""The account model: ids, ARNs, mutations validated with AWS's error names."""

from __future__ import annotations

import re
from typing import Any

import pytest

from policylang.account import Account, Organization, OrgPolicy
from policylang.account.ids import IdGenerator, is_unique_id, parse_arn
from policylang.account.model import Environment, Quotas, to_policy
from policylang.decision import Decision
from policylang.errors import AccountError
from policylang.ir import PolicyKind
from policylang.simulate import simulate

ACCT = "111122223333"
EC2_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: str, resource: str = "*") -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


@pytest.fixture
def account() -> Account:
    return Account(ACCT, ids=IdGenerator("test"))


def aws_error(excinfo: pytest.ExceptionInfo[AccountError]) -> str:
    return excinfo.value.aws_error


def test_ids_have_aws_prefixes_and_shape(account: Account) -> None:
    user = account.create_user("alice")
    group = account.create_group("devs")
    role = account.create_role("Web", EC2_TRUST)
    policy = account.create_policy("P", doc(allow("s3:GetObject")))
    profile = account.create_instance_profile("Web")

    for entity, prefix in (
        (user, "AIDA"),
        (group, "AGPA"),
        (role, "AROA"),
        (policy, "ANPA"),
        (profile, "AIPA"),
    ):
        assert entity.id.startswith(prefix)
        assert re.fullmatch(r"A[A-Z]{3}[A-Z2-7]{17}", entity.id)
        assert is_unique_id(entity.id)


def test_seeded_ids_are_deterministic_and_recreation_gives_a_new_id() -> None:
    first = Account(ACCT, ids=IdGenerator("seed")).create_user("bob").id
    second = Account(ACCT, ids=IdGenerator("seed")).create_user("bob").id
    account = Account(ACCT, ids=IdGenerator("seed"))
    old = account.create_user("bob").id
    account.delete_entity("user", "bob")
    new = account.create_user("bob").id

    assert first == second
    assert old != new


def test_arns_follow_path_and_kind(account: Account) -> None:
    user = account.create_user("carol", path="/eng/")
    role = account.create_role("Svc", EC2_TRUST, path="/service-role/")
    policy = account.create_policy("ReadOnly", doc(allow("s3:Get*")), path="/team/")

    assert user.arn == f"arn:aws:iam::{ACCT}:user/eng/carol"
    assert role.arn == f"arn:aws:iam::{ACCT}:role/service-role/Svc"
    assert policy.arn == f"arn:aws:iam::{ACCT}:policy/team/ReadOnly"


def test_aws_managed_policy_arn_uses_the_aws_account(account: Account) -> None:
    policy = account.create_policy("ReadOnlyAccess", doc(allow("s3:Get*")), aws_managed=True)

    assert policy.arn == "arn:aws:iam::aws:policy/ReadOnlyAccess"
    assert policy.is_aws_managed


def test_duplicate_names_are_case_insensitive(account: Account) -> None:
    account.create_user("Alice")
    account.create_role("Web", EC2_TRUST)

    with pytest.raises(AccountError) as user_error:
        account.create_user("alice")
    with pytest.raises(AccountError) as role_error:
        account.create_role("WEB", EC2_TRUST)

    assert aws_error(user_error) == "EntityAlreadyExists"
    assert role_error.value.code == "account.duplicate-name"


def test_second_role_in_an_instance_profile_is_limit_exceeded(account: Account) -> None:
    account.create_role("A", EC2_TRUST)
    account.create_role("B", EC2_TRUST)
    account.create_instance_profile("P")
    account.add_role_to_instance_profile("P", "A")

    with pytest.raises(AccountError) as excinfo:
        account.add_role_to_instance_profile("P", "B")

    assert aws_error(excinfo) == "LimitExceeded"
    assert account.instance_profile("P").role == "A"


def test_a_role_may_sit_in_many_instance_profiles(account: Account) -> None:
    account.create_role("A", EC2_TRUST)
    for name in ("P1", "P2"):
        account.create_instance_profile(name)
        account.add_role_to_instance_profile(name, "A")

    assert [p.name for p in account.profiles_of("A")] == ["P1", "P2"]


def test_ec2_trust_can_create_a_same_named_instance_profile(account: Account) -> None:
    account.create_role("Web", EC2_TRUST, create_instance_profile=True)
    lambda_trust = doc(
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    )
    account.create_role("Fn", lambda_trust, create_instance_profile=True)

    assert account.instance_profile("Web").role == "Web"
    assert "fn" not in account.instance_profiles


def test_attaching_a_missing_policy_is_no_such_entity(account: Account) -> None:
    account.create_user("alice")

    with pytest.raises(AccountError) as excinfo:
        account.attach_policy("user", "alice", f"arn:aws:iam::{ACCT}:policy/Nope")

    assert aws_error(excinfo) == "NoSuchEntity"
    assert account.user("alice").attached_policies == ()


def test_unknown_user_is_no_such_entity(account: Account) -> None:
    account.create_group("devs")

    with pytest.raises(AccountError) as excinfo:
        account.add_user_to_group("devs", "ghost")

    assert aws_error(excinfo) == "NoSuchEntity"
    assert excinfo.value.code == "account.unknown-user"


def test_managed_policy_over_its_size_quota_is_limit_exceeded(account: Account) -> None:
    big = doc(*[allow(f"s3:GetObject{i:04d}", f"arn:aws:s3:::bucket-{i}/*") for i in range(120)])

    with pytest.raises(AccountError) as excinfo:
        account.create_policy("Big", big)

    assert aws_error(excinfo) == "LimitExceeded"
    assert account.policies == {}


def test_inline_policies_of_a_user_share_one_aggregate_quota(account: Account) -> None:
    account.create_user("alice")
    half = doc(*[allow(f"s3:GetObject{i:03d}", f"arn:aws:s3:::b{i}/*") for i in range(16)])
    account.put_inline_policy("user", "alice", "one", half)

    with pytest.raises(AccountError) as excinfo:
        account.put_inline_policy("user", "alice", "two", half)

    assert aws_error(excinfo) == "LimitExceeded"
    assert [p.name for p in account.user("alice").inline_policies] == ["one"]


def test_managed_policy_quota_per_user(account: Account) -> None:
    account = Account(ACCT, quotas=Quotas(managed_policies_per_user=2))
    account.create_user("alice")
    arns = [account.create_policy(f"P{i}", doc(allow("s3:GetObject"))).arn for i in range(3)]
    account.attach_policy("user", "alice", arns[0])
    account.attach_policy("user", "alice", arns[1])

    with pytest.raises(AccountError) as excinfo:
        account.attach_policy("user", "alice", arns[2])

    assert aws_error(excinfo) == "LimitExceeded"


def test_policy_versions_are_capped_at_five(account: Account) -> None:
    arn = account.create_policy("P", doc(allow("s3:GetObject"))).arn
    for _ in range(4):
        account.create_policy_version(arn, doc(allow("s3:PutObject")))

    with pytest.raises(AccountError) as excinfo:
        account.create_policy_version(arn, doc(allow("s3:DeleteObject")))

    assert aws_error(excinfo) == "LimitExceeded"
    assert len(account.policy(arn).versions) == 5


def test_default_version_decides(account: Account) -> None:
    arn = account.create_policy("P", doc(allow("s3:GetObject")))
    account.create_user("alice")
    account.attach_policy("user", "alice", arn.arn)
    account.create_policy_version(arn.arn, doc(allow("s3:PutObject")), set_as_default=True)

    put = account.authorize("alice", "s3:PutObject", "arn:aws:s3:::b/k")
    get = account.authorize("alice", "s3:GetObject", "arn:aws:s3:::b/k")

    assert put.decision is Decision.ALLOWED
    assert get.decision is Decision.IMPLICIT_DENY


def test_identity_policy_with_principal_is_malformed(account: Account) -> None:
    account.create_user("alice")
    bad = doc({"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"})

    with pytest.raises(AccountError) as excinfo:
        account.put_inline_policy("user", "alice", "bad", bad)

    assert aws_error(excinfo) == "MalformedPolicyDocument"


def test_trust_policy_without_principal_is_malformed(account: Account) -> None:
    with pytest.raises(AccountError) as excinfo:
        account.create_role("R", doc({"Effect": "Allow", "Action": "sts:AssumeRole"}))

    assert aws_error(excinfo) == "MalformedPolicyDocument"
    assert account.roles == {}


def test_malformed_arns_are_rejected() -> None:
    with pytest.raises(AccountError) as excinfo:
        parse_arn("arn:aws:iam:")

    assert aws_error(excinfo) == "ValidationError"


def test_invalid_names_and_paths(account: Account) -> None:
    with pytest.raises(AccountError) as name_error:
        account.create_user("has space")
    with pytest.raises(AccountError) as path_error:
        account.create_user("ok", path="no-slashes")

    assert aws_error(name_error) == "ValidationError"
    assert aws_error(path_error) == "ValidationError"


def test_delete_with_attachments_is_delete_conflict(account: Account) -> None:
    arn = account.create_policy("P", doc(allow("s3:GetObject"))).arn
    account.create_user("alice")
    account.attach_policy("user", "alice", arn)

    with pytest.raises(AccountError) as user_error:
        account.delete_entity("user", "alice")
    with pytest.raises(AccountError) as policy_error:
        account.delete_policy(arn)

    assert aws_error(user_error) == "DeleteConflict"
    assert aws_error(policy_error) == "DeleteConflict"


def test_too_many_tags_is_limit_exceeded(account: Account) -> None:
    with pytest.raises(AccountError) as excinfo:
        account.create_user("alice", tags={f"k{i}": "v" for i in range(51)})

    assert aws_error(excinfo) == "LimitExceeded"
    assert account.users == {}


def test_resource_policy_of_another_account_is_refused(account: Account) -> None:
    with pytest.raises(AccountError) as excinfo:
        account.put_resource_policy("arn:aws:sqs:us-east-1:999988887777:q", None)

    assert aws_error(excinfo) == "ValidationError"


def test_authorize_matches_its_simulation_case(account: Account) -> None:
    account.create_user("alice", tags={"team": "blue"})
    account.create_group("readers")
    account.add_user_to_group("readers", "alice")
    account.put_inline_policy(
        "group",
        "readers",
        "Read",
        doc(
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:PrincipalTag/team": "blue"}},
            }
        ),
    )

    result = account.authorize("alice", "s3:GetObject", "arn:aws:s3:::b/k")
    case = account.to_case("alice", "s3:GetObject", "arn:aws:s3:::b/k")

    assert result.decision is Decision.ALLOWED
    assert simulate(case).decision is Decision.ALLOWED
    assert case["request"]["principal"]["tags"] == {"team": "blue"}  # type: ignore[index]


def test_boundary_limits_a_user(account: Account) -> None:
    boundary = account.create_policy("OnlyEc2", doc(allow("ec2:*"))).arn
    admin = account.create_policy("Admin", doc(allow("*"))).arn
    account.create_user("alice", boundary=boundary)
    account.attach_policy("user", "alice", admin)

    s3 = account.authorize("alice", "s3:GetObject", "arn:aws:s3:::b/k")
    ec2 = account.authorize("alice", "ec2:DescribeInstances", "*")

    assert s3.decision is Decision.IMPLICIT_DENY
    assert ec2.decision is Decision.ALLOWED


def test_session_policies_cut_a_role_session(account: Account) -> None:
    account.create_role(
        "R", doc({"Effect": "Allow", "Principal": {"AWS": ACCT}, "Action": "sts:AssumeRole"})
    )
    account.put_inline_policy("role", "R", "All", doc(allow("*")))

    plain = account.authorize("role/R", "s3:GetObject", "arn:aws:s3:::b/k")
    cut = account.authorize(
        "role/R", "s3:GetObject", "arn:aws:s3:::b/k", session_policies=[doc(allow("ec2:*"))]
    )

    assert plain.decision is Decision.ALLOWED
    assert cut.decision is Decision.IMPLICIT_DENY


def test_scp_chain_of_the_principal_account_applies() -> None:
    member = Account("222233334444")
    member.create_user("bob")
    member.put_inline_policy("user", "bob", "All", doc(allow("*")))
    org = Organization(id="o-x", management_account="111122223333", root_id="r-x")
    full = to_policy(doc(allow("*")), kind=PolicyKind.SCP, where="full")
    no_s3 = to_policy(
        doc({"Effect": "Deny", "Action": "s3:*", "Resource": "*"}),
        kind=PolicyKind.SCP,
        where="nos3",
    )
    org.create_policy(OrgPolicy("p-full", "FullAWSAccess", "SERVICE_CONTROL_POLICY", full))
    org.create_policy(OrgPolicy("p-nos3", "NoS3", "SERVICE_CONTROL_POLICY", no_s3))
    org.add_ou("ou-x-1", "Prod", "r-x")
    org.add_account("222233334444", "ou-x-1")
    for node in ("r-x", "ou-x-1", "222233334444"):
        org.attach_policy("p-full", node)
    org.attach_policy("p-nos3", "ou-x-1")
    env = Environment([member], org)

    s3 = env.authorize("bob", "s3:GetObject", "arn:aws:s3:::b/k")
    ec2 = env.authorize("bob", "ec2:DescribeInstances", "*")
    case = env.to_case("bob", "s3:GetObject", "arn:aws:s3:::b/k")

    assert s3.decision is Decision.EXPLICIT_DENY
    assert ec2.decision is Decision.ALLOWED
    assert len(case["policies"]["scp"]) == 3  # type: ignore[index]


def test_sixth_scp_on_a_node_is_refused() -> None:
    org = Organization(id="o-x", management_account="111122223333", root_id="r-x")
    for i in range(6):
        policy = to_policy(doc(allow("*")), kind=PolicyKind.SCP, where="p")
        org.create_policy(OrgPolicy(f"p-{i}", f"P{i}", "SERVICE_CONTROL_POLICY", policy))
    for i in range(5):
        org.attach_policy(f"p-{i}", "r-x")

    with pytest.raises(AccountError) as excinfo:
        org.attach_policy("p-5", "r-x")

    assert excinfo.value.code == "account.limit-exceeded"


def test_instance_profile_principal_is_its_role_session(account: Account) -> None:
    account.create_role("Web", EC2_TRUST, create_instance_profile=True)
    account.put_inline_policy("role", "Web", "Read", doc(allow("s3:GetObject")))
    profile_arn = account.instance_profile("Web").arn

    result = account.authorize(profile_arn, "s3:GetObject", "arn:aws:s3:::b/k")
    case = account.to_case(profile_arn, "s3:GetObject", "arn:aws:s3:::b/k")

    assert result.decision is Decision.ALLOWED
    assert case["request"]["principal"]["arn"] == (  # type: ignore[index]
        f"arn:aws:sts::{ACCT}:assumed-role/Web/i-0123456789abcdef0"
    )


def test_membership_index_follows_changes(account: Account) -> None:
    account.create_user("alice")
    for name in ("g1", "g2"):
        account.create_group(name)
        account.add_user_to_group(name, "alice")
    account.remove_user_from_group("g1", "alice")

    assert [g.name for g in account.groups_of("alice")] == ["g2"]
    assert account.group("g1").members == ()


def test_several_account_files_and_an_organization_file(tmp_path: Any) -> None:
    import json
    import pathlib

    from policylang.account import load_environment

    sample = pathlib.Path(__file__).parent / "data" / "sample.json"
    bundle = json.loads(sample.read_text(encoding="utf-8"))
    files = []
    for i, dump in enumerate(bundle["Accounts"]):
        path = tmp_path / f"account{i}.json"
        path.write_text(json.dumps(dump))
        files.append(path)
    org_file = tmp_path / "org.json"
    org_file.write_text(json.dumps(bundle["Organization"]))

    split = load_environment(files, org_file)
    whole = load_environment([sample])

    assert split.accounts == whole.accounts
    assert split.organization == whole.organization
