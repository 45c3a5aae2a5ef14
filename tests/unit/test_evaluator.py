"""The reference evaluator (evaluation.md §2-§6): decision paths, explanations, details."""

from __future__ import annotations

from typing import Any

import pytest

from policylang.decision import Decision, EvaluationResult
from policylang.evaluator import evaluate
from policylang.ir import (
    ActionSpec,
    ConditionClause,
    ConditionEntry,
    ConditionValue,
    Effect,
    Policy,
    PolicyKind,
    PrincipalEntry,
    PrincipalSpec,
    ResourceSpec,
    Statement,
    Values,
)
from policylang.policy_set import NamedPolicy, PolicySet
from policylang.request import Caller, PrincipalType, Request, Resource

A = "111122223333"
B = "444455556666"

ALLOWED = Decision.ALLOWED
EXPLICIT = Decision.EXPLICIT_DENY
IMPLICIT = Decision.IMPLICIT_DENY

# ---------------------------------------------------------------------------------------------
# Small IR builders (independent of the parsers)


def _values(v: str | list[str]) -> Values:
    return Values(tuple([v] if isinstance(v, str) else v), is_list=not isinstance(v, str))


def stmt(
    effect: str = "Allow",
    action: str | list[str] = "*",
    resource: str | list[str] | None = "*",
    *,
    not_action: bool = False,
    not_resource: bool = False,
    principal: Any = None,
    not_principal: Any = None,
    condition: dict[str, dict[str, str | list[str]]] | None = None,
    sid: str | None = None,
) -> Statement:
    spec = None
    raw = principal if principal is not None else not_principal
    if raw is not None:
        negated = not_principal is not None
        if raw == "*":
            spec = PrincipalSpec(is_wildcard=True, negated=negated)
        else:
            entries = tuple(PrincipalEntry(k, _values(v)) for k, v in raw.items())
            spec = PrincipalSpec(entries, negated=negated)
    clauses = None
    if condition is not None:
        clauses = tuple(
            ConditionClause(
                op,
                tuple(
                    ConditionEntry(
                        key,
                        tuple(ConditionValue(x) for x in ([v] if isinstance(v, str) else v)),
                    )
                    for key, v in body.items()
                ),
            )
            for op, body in condition.items()
        )
    return Statement(
        effect=Effect(effect),
        action=ActionSpec(_values(action), negated=not_action),
        resource=None if resource is None else ResourceSpec(_values(resource), not_resource),
        principal=spec,
        condition=clauses,
        sid=sid,
    )


def pol(
    label: str, kind: PolicyKind, *statements: Statement, version: str | None = "2012-10-17"
) -> NamedPolicy:
    return NamedPolicy(label, Policy(tuple(statements), version=version), kind)


def identity(*statements: Statement, version: str | None = "2012-10-17") -> NamedPolicy:
    return pol("identity[0]", PolicyKind.IDENTITY, *statements, version=version)


def resource_policy(*statements: Statement) -> NamedPolicy:
    return pol("resource", PolicyKind.RESOURCE, *statements)


def trust_policy(*statements: Statement) -> NamedPolicy:
    return pol("resource", PolicyKind.TRUST, *statements)


def boundary(*statements: Statement) -> NamedPolicy:
    return pol("boundary", PolicyKind.BOUNDARY, *statements)


def session(*statements: Statement) -> NamedPolicy:
    return pol("session[0]", PolicyKind.SESSION, *statements)


def scp(label: str, *statements: Statement) -> NamedPolicy:
    return pol(label, PolicyKind.SCP, *statements)


def rcp(label: str, *statements: Statement) -> NamedPolicy:
    return pol(label, PolicyKind.RCP, *statements)


FULL_ACCESS = stmt("Allow", "*", "*")
RCP_FULL_ACCESS = stmt("Allow", "*", "*", principal="*")

USER = Caller(PrincipalType.USER, f"arn:aws:iam::{A}:user/alice", A, "AIDAALICE")
SESSION = Caller(
    PrincipalType.ASSUMED_ROLE, f"arn:aws:sts::{A}:assumed-role/App/s1", A, "AROAAPP:s1", {}, "s1"
)
FED_SESSION = Caller(
    PrincipalType.FEDERATED, f"arn:aws:sts::{A}:federated-user/bob", A, f"{A}:bob", {}, "bob"
)
ROOT = Caller(PrincipalType.ROOT, f"arn:aws:iam::{A}:root", A, A)
ANON = Caller(PrincipalType.ANONYMOUS)
EC2 = Caller(PrincipalType.SERVICE, "ec2.amazonaws.com", None, "ec2.amazonaws.com")
IDP = Caller(PrincipalType.FEDERATED, "accounts.google.com", None, "accounts.google.com")

OBJ = Resource("arn:aws:s3:::bucket/key", A)
OBJ_B = Resource("arn:aws:s3:::bucket/key", B)
ROLE_TARGET = Resource(f"arn:aws:iam::{A}:role/Target", A)
ROLE_TARGET_B = Resource(f"arn:aws:iam::{B}:role/Target", B)
KEY = Resource(f"arn:aws:kms:us-east-1:{A}:key/1234", A)


def decide(
    caller: Caller,
    action: str,
    target: Resource,
    context: dict[str, str | tuple[str, ...]] | None = None,
    **sets: Any,
) -> EvaluationResult:
    policies = PolicySet(
        identity=tuple(sets.get("identity", ())),
        resource=sets.get("resource"),
        boundary=sets.get("boundary"),
        session=tuple(sets.get("session", ())),
        scp=tuple(tuple(level) for level in sets.get("scp", ())),
        rcp=tuple(tuple(level) for level in sets.get("rcp", ())),
    )
    return evaluate(policies, Request(caller, action, target, context or {}))


# ---------------------------------------------------------------------------------------------
# Identity policies and explicit deny


def test_identity_allow_grants_in_same_account() -> None:
    result = decide(USER, "s3:GetObject", OBJ, identity=[identity(stmt("Allow", "s3:Get*"))])
    assert result.decision is ALLOWED
    assert [m.policy for m in result.matched_statements] == ["identity[0]"]
    assert result.details["identity"] == "allowed"
    assert result.details["resource"] is None
    assert result.deciding_set is None


def test_no_policy_is_an_implicit_deny() -> None:
    result = decide(USER, "s3:GetObject", OBJ)
    assert result.decision is IMPLICIT
    assert result.deciding_set == "identity"
    assert result.matched_statements == ()


def test_explicit_deny_beats_any_allow_and_only_denies_are_reported() -> None:
    result = decide(
        USER,
        "s3:GetObject",
        OBJ,
        identity=[identity(stmt("Allow", "s3:*"), stmt("Deny", "s3:GetObject", sid="NoGet"))],
    )
    assert result.decision is EXPLICIT
    assert [(m.index, m.sid, m.effect) for m in result.matched_statements] == [
        (1, "NoGet", Effect.DENY)
    ]
    assert result.deciding_set == "identity"
    assert result.details["identity"] == "explicitDeny"


def test_deny_with_false_condition_does_not_apply() -> None:
    deny = stmt("Deny", "*", condition={"Bool": {"aws:MultiFactorAuthPresent": "false"}})
    result = decide(USER, "s3:GetObject", OBJ, identity=[identity(FULL_ACCESS, deny)])
    assert result.decision is ALLOWED
    assert result.missing_context_keys == ("aws:multifactorauthpresent",)


def test_not_action_deny_applies_to_everything_else() -> None:
    policies = [identity(FULL_ACCESS, stmt("Deny", "iam:*", not_action=True))]
    assert decide(USER, "iam:ListUsers", OBJ, identity=policies).decision is ALLOWED
    assert decide(USER, "s3:GetObject", OBJ, identity=policies).decision is EXPLICIT


def test_not_resource_excludes_listed_resources() -> None:
    policy = identity(stmt("Allow", "s3:*", "arn:aws:s3:::secret/*", not_resource=True))
    assert decide(USER, "s3:GetObject", OBJ, identity=[policy]).decision is ALLOWED
    secret = Resource("arn:aws:s3:::secret/x", A)
    assert decide(USER, "s3:GetObject", secret, identity=[policy]).decision is IMPLICIT


def test_specific_arn_does_not_grant_a_wildcard_only_action() -> None:
    policy = identity(stmt("Allow", "s3:ListAllMyBuckets", "arn:aws:s3:::*"))
    star = Resource("*", A)
    assert decide(USER, "s3:ListAllMyBuckets", star, identity=[policy]).decision is IMPLICIT


def test_resource_variable_for_a_role_session_matches_nothing() -> None:
    policy = identity(stmt("Allow", "s3:*", "arn:aws:s3:::bucket/${aws:username}/*"))
    user_obj = Resource("arn:aws:s3:::bucket/alice/x", A)
    assert decide(USER, "s3:GetObject", user_obj, identity=[policy]).decision is ALLOWED
    result = decide(SESSION, "s3:GetObject", user_obj, identity=[policy])
    assert result.decision is IMPLICIT
    assert result.missing_context_keys == ("aws:username",)


def test_version_2008_treats_variables_as_literal_text() -> None:
    policy = identity(stmt("Allow", "s3:*", "arn:aws:s3:::bucket/${aws:username}/*"), version=None)
    user_obj = Resource("arn:aws:s3:::bucket/alice/x", A)
    assert decide(USER, "s3:GetObject", user_obj, identity=[policy]).decision is IMPLICIT
    literal = Resource("arn:aws:s3:::bucket/${aws:username}/x", A)
    assert decide(USER, "s3:GetObject", literal, identity=[policy]).decision is ALLOWED


def test_get_caller_identity_is_allowed_even_with_explicit_deny() -> None:
    policies = [identity(stmt("Deny", "*"))]
    star = Resource("*", A)
    result = decide(USER, "sts:GetCallerIdentity", star, identity=policies, scp=[[]])
    assert result.decision is ALLOWED
    assert decide(ANON, "sts:GetCallerIdentity", star).decision is IMPLICIT


def test_missing_context_keys_come_from_matching_statements_only() -> None:
    policies = [
        identity(
            stmt("Allow", "s3:*", condition={"StringEquals": {"aws:SourceVpce": "vpce-1"}}),
            stmt("Allow", "ec2:*", condition={"StringEquals": {"ec2:Region": "x"}}),
        )
    ]
    result = decide(USER, "s3:GetObject", OBJ, identity=policies)
    assert result.decision is IMPLICIT
    assert result.missing_context_keys == ("aws:sourcevpce",)


def test_derived_keys_feed_conditions() -> None:
    policy = identity(
        stmt("Allow", "s3:*", condition={"StringEquals": {"aws:PrincipalTag/team": "blue"}})
    )
    blue = Caller(PrincipalType.USER, USER.arn, A, USER.id, {"Team": "blue"})
    assert decide(blue, "s3:GetObject", OBJ, identity=[policy]).decision is ALLOWED
    assert decide(USER, "s3:GetObject", OBJ, identity=[policy]).decision is IMPLICIT


# ---------------------------------------------------------------------------------------------
# Same-account resource policies (§4.1)

SESSION_BOUNDARY = boundary(stmt("Allow", "ec2:*"))


@pytest.mark.parametrize(
    ("principal", "expected", "deciding"),
    [
        ({"AWS": f"arn:aws:iam::{A}:role/App"}, IMPLICIT, "boundary"),
        ({"AWS": f"arn:aws:sts::{A}:assumed-role/App/s1"}, ALLOWED, None),
        ("*", ALLOWED, None),
        ({"AWS": A}, IMPLICIT, "identity"),
        ({"AWS": f"arn:aws:iam::{A}:root"}, IMPLICIT, "identity"),
    ],
)
def test_spec_examples_for_a_bounded_role_session(
    principal: Any, expected: Decision, deciding: str | None
) -> None:
    result = decide(
        SESSION,
        "s3:GetObject",
        OBJ,
        resource=resource_policy(stmt("Allow", "s3:*", principal=principal)),
        boundary=SESSION_BOUNDARY,
    )
    assert result.decision is expected
    assert result.deciding_set == deciding


def test_role_arn_with_path_matches_its_sessions() -> None:
    rbp = resource_policy(stmt("Allow", "s3:*", principal={"AWS": f"arn:aws:iam::{A}:role/t/App"}))
    assert decide(SESSION, "s3:GetObject", OBJ, resource=rbp).decision is ALLOWED


def test_role_unique_id_matches_its_sessions() -> None:
    rbp = resource_policy(stmt("Allow", "s3:*", principal={"AWS": "AROAAPP"}))
    assert decide(SESSION, "s3:GetObject", OBJ, resource=rbp).decision is ALLOWED
    assert decide(USER, "s3:GetObject", OBJ, resource=rbp).decision is IMPLICIT


def test_user_named_directly_needs_no_identity_policy_and_ignores_boundary() -> None:
    rbp = resource_policy(stmt("Allow", "s3:*", principal={"AWS": USER.arn}))
    result = decide(USER, "s3:GetObject", OBJ, resource=rbp, boundary=SESSION_BOUNDARY)
    assert result.decision is ALLOWED
    assert result.details["boundary"] == "implicitDeny"
    assert result.details["resource"] == "allowed"


def test_account_principal_needs_identity_allow() -> None:
    rbp = resource_policy(stmt("Allow", "s3:*", principal={"AWS": A}))
    assert decide(USER, "s3:GetObject", OBJ, resource=rbp).decision is IMPLICIT
    ok = decide(USER, "s3:GetObject", OBJ, resource=rbp, identity=[identity(FULL_ACCESS)])
    assert ok.decision is ALLOWED


def test_resource_policy_statement_without_principal_is_ignored() -> None:
    rbp = resource_policy(stmt("Allow", "s3:*"), stmt("Deny", "s3:*"))
    result = decide(USER, "s3:GetObject", OBJ, resource=rbp, identity=[identity(FULL_ACCESS)])
    assert result.decision is ALLOWED


def test_resource_policy_deny_applies_to_same_account_caller() -> None:
    rbp = resource_policy(stmt("Deny", "s3:*", principal="*"))
    result = decide(USER, "s3:GetObject", OBJ, resource=rbp, identity=[identity(FULL_ACCESS)])
    assert result.decision is EXPLICIT
    assert result.deciding_set == "resource"


# ---------------------------------------------------------------------------------------------
# Cross account (§4.2)


def test_cross_account_needs_both_sides() -> None:
    rbp = resource_policy(stmt("Allow", "s3:GetObject", principal={"AWS": A}))
    ident = [identity(stmt("Allow", "s3:GetObject"))]
    assert decide(USER, "s3:GetObject", OBJ_B, resource=rbp, identity=ident).decision is ALLOWED
    no_identity = decide(USER, "s3:GetObject", OBJ_B, resource=rbp)
    assert no_identity.decision is IMPLICIT
    assert no_identity.deciding_set == "identity"
    no_rbp = decide(USER, "s3:GetObject", OBJ_B, identity=ident)
    assert no_rbp.decision is IMPLICIT
    assert no_rbp.deciding_set == "resource"


def test_cross_account_exact_arn_does_not_waive_identity_or_boundary() -> None:
    rbp = resource_policy(stmt("Allow", "s3:*", principal={"AWS": USER.arn}))
    assert decide(USER, "s3:GetObject", OBJ_B, resource=rbp).decision is IMPLICIT
    result = decide(
        USER,
        "s3:GetObject",
        OBJ_B,
        resource=rbp,
        identity=[identity(FULL_ACCESS)],
        boundary=SESSION_BOUNDARY,
    )
    assert result.decision is IMPLICIT
    assert result.deciding_set == "boundary"


def test_cross_account_resource_without_account_is_cross_account() -> None:
    no_owner = Resource("arn:aws:s3:::bucket/key")
    assert decide(USER, "s3:GetObject", no_owner, identity=[identity(FULL_ACCESS)]).decision is (
        IMPLICIT
    )


# ---------------------------------------------------------------------------------------------
# Role trust and key policies


def test_same_account_trust_naming_the_user_needs_no_identity_allow() -> None:
    trust = trust_policy(stmt("Allow", "sts:AssumeRole", None, principal={"AWS": USER.arn}))
    assert decide(USER, "sts:AssumeRole", ROLE_TARGET, resource=trust).decision is ALLOWED


def test_same_account_trust_naming_the_user_is_cut_by_its_boundary() -> None:
    trust = trust_policy(stmt("Allow", "sts:AssumeRole", None, principal={"AWS": USER.arn}))
    result = decide(USER, "sts:AssumeRole", ROLE_TARGET, resource=trust, boundary=SESSION_BOUNDARY)
    assert result.decision is IMPLICIT
    assert result.deciding_set == "boundary"


def test_same_account_trust_naming_account_needs_identity_allow() -> None:
    trust = trust_policy(stmt("Allow", "sts:AssumeRole", None, principal={"AWS": A}))
    assert decide(USER, "sts:AssumeRole", ROLE_TARGET, resource=trust).decision is IMPLICIT
    ident = [identity(stmt("Allow", "sts:AssumeRole", ROLE_TARGET.arn))]
    result = decide(USER, "sts:AssumeRole", ROLE_TARGET, resource=trust, identity=ident)
    assert result.decision is ALLOWED


def test_identity_allow_alone_never_assumes_a_role() -> None:
    ident = [identity(stmt("Allow", "sts:AssumeRole"))]
    result = decide(USER, "sts:AssumeRole", ROLE_TARGET, identity=ident)
    assert result.decision is IMPLICIT
    assert result.deciding_set == "resource"


def test_session_policy_does_not_cut_a_direct_trust_grant() -> None:
    trust = trust_policy(stmt("Allow", "sts:AssumeRole", None, principal={"AWS": SESSION.arn}))
    narrow = [session(stmt("Allow", "ec2:*"))]
    result = decide(SESSION, "sts:AssumeRole", ROLE_TARGET, resource=trust, session=narrow)
    assert result.decision is ALLOWED


def test_session_policy_cuts_a_parent_trust_grant() -> None:
    trust = trust_policy(
        stmt("Allow", "sts:AssumeRole", None, principal={"AWS": f"arn:aws:iam::{A}:role/App"})
    )
    narrow = [session(stmt("Allow", "ec2:*"))]
    result = decide(SESSION, "sts:AssumeRole", ROLE_TARGET, resource=trust, session=narrow)
    assert result.decision is IMPLICIT
    assert result.deciding_set == "session"


def test_cross_account_trust_needs_identity_allow() -> None:
    trust = trust_policy(stmt("Allow", "sts:AssumeRole", None, principal={"AWS": USER.arn}))
    assert decide(USER, "sts:AssumeRole", ROLE_TARGET_B, resource=trust).decision is IMPLICIT
    ident = [identity(stmt("Allow", "sts:AssumeRole", ROLE_TARGET_B.arn))]
    result = decide(USER, "sts:AssumeRole", ROLE_TARGET_B, resource=trust, identity=ident)
    assert result.decision is ALLOWED


def test_service_assumes_role_through_trust_policy() -> None:
    trust = trust_policy(
        stmt("Allow", "sts:AssumeRole", None, principal={"Service": "ec2.amazonaws.com"})
    )
    assert decide(EC2, "sts:AssumeRole", ROLE_TARGET, resource=trust).decision is ALLOWED
    other = Caller(PrincipalType.SERVICE, "lambda.amazonaws.com", None, "lambda.amazonaws.com")
    assert decide(other, "sts:AssumeRole", ROLE_TARGET, resource=trust).decision is IMPLICIT


def test_identity_provider_caller_is_decided_by_trust_policy_alone() -> None:
    trust = trust_policy(
        stmt(
            "Allow",
            "sts:AssumeRoleWithWebIdentity",
            None,
            principal={"Federated": "accounts.google.com"},
            condition={"StringEquals": {"accounts.google.com:aud": "app"}},
        )
    )
    ctx: dict[str, str | tuple[str, ...]] = {"accounts.google.com:aud": "app"}
    action = "sts:AssumeRoleWithWebIdentity"
    result = decide(IDP, action, ROLE_TARGET, ctx, resource=trust, scp=[[scp("scp[0][0]")]])
    assert result.decision is ALLOWED
    assert result.details["scp"] is None
    assert decide(IDP, action, ROLE_TARGET, {}, resource=trust).decision is IMPLICIT


def test_federated_principal_never_matches_an_iam_user() -> None:
    trust = trust_policy(stmt("Allow", "sts:*", None, principal={"Federated": USER.arn}))
    assert decide(USER, "sts:AssumeRole", ROLE_TARGET, resource=trust).decision is IMPLICIT


def test_kms_key_policy_must_trust_the_account_for_identity_policies_to_work() -> None:
    ident = [identity(stmt("Allow", "kms:Decrypt"))]
    key_policy = resource_policy(stmt("Allow", "kms:*", principal={"AWS": B}))
    assert decide(USER, "kms:Decrypt", KEY, resource=key_policy, identity=ident).decision is (
        IMPLICIT
    )
    trusting = resource_policy(stmt("Allow", "kms:*", principal={"AWS": f"arn:aws:iam::{A}:root"}))
    assert decide(USER, "kms:Decrypt", KEY, resource=trusting, identity=ident).decision is ALLOWED


def test_root_needs_key_policy_for_kms_but_not_for_other_own_resources() -> None:
    assert decide(ROOT, "s3:GetObject", OBJ).decision is ALLOWED
    no_root = resource_policy(stmt("Allow", "kms:*", principal={"AWS": USER.arn}))
    assert decide(ROOT, "kms:Decrypt", KEY, resource=no_root).decision is IMPLICIT


def test_root_cross_account_needs_resource_policy() -> None:
    assert decide(ROOT, "s3:GetObject", OBJ_B).decision is IMPLICIT
    rbp = resource_policy(stmt("Allow", "s3:*", principal={"AWS": A}))
    assert decide(ROOT, "s3:GetObject", OBJ_B, resource=rbp).decision is ALLOWED


def test_root_is_subject_to_scps() -> None:
    deny_s3 = scp("scp[0][0]", FULL_ACCESS, stmt("Deny", "s3:*"))
    result = decide(ROOT, "s3:GetObject", OBJ, scp=[[deny_s3]])
    assert result.decision is EXPLICIT
    assert result.deciding_set == "scp"


# ---------------------------------------------------------------------------------------------
# Session policies


def test_role_session_without_session_policy_keeps_role_permissions() -> None:
    result = decide(SESSION, "s3:GetObject", OBJ, identity=[identity(FULL_ACCESS)])
    assert result.decision is ALLOWED
    assert result.details["session"] is None


def test_session_policy_limits_identity_permissions() -> None:
    result = decide(
        SESSION,
        "s3:GetObject",
        OBJ,
        identity=[identity(FULL_ACCESS)],
        session=[session(stmt("Allow", "ec2:*"))],
    )
    assert result.decision is IMPLICIT
    assert result.deciding_set == "session"


def test_federated_user_session_needs_a_session_policy() -> None:
    result = decide(FED_SESSION, "s3:GetObject", OBJ, identity=[identity(FULL_ACCESS)])
    assert result.decision is IMPLICIT
    assert result.deciding_set == "session"
    assert result.details["session"] == "implicitDeny"
    with_policy = decide(
        FED_SESSION,
        "s3:GetObject",
        OBJ,
        identity=[identity(FULL_ACCESS)],
        session=[session(stmt("Allow", "s3:*"))],
    )
    assert with_policy.decision is ALLOWED


def test_grant_to_federated_session_arn_needs_no_session_policy() -> None:
    rbp = resource_policy(stmt("Allow", "s3:*", principal={"AWS": FED_SESSION.arn}))
    assert decide(FED_SESSION, "s3:GetObject", OBJ, resource=rbp).decision is ALLOWED


def test_explicit_deny_in_session_policy() -> None:
    result = decide(
        SESSION,
        "s3:GetObject",
        OBJ,
        identity=[identity(FULL_ACCESS)],
        session=[session(FULL_ACCESS, stmt("Deny", "s3:GetObject"))],
    )
    assert result.decision is EXPLICIT
    assert result.deciding_set == "session"


# ---------------------------------------------------------------------------------------------
# Anonymous and service principals


def test_anonymous_needs_a_wildcard_principal() -> None:
    public = resource_policy(stmt("Allow", "s3:GetObject", principal="*"))
    assert decide(ANON, "s3:GetObject", OBJ, resource=public).decision is ALLOWED
    account_only = resource_policy(stmt("Allow", "s3:GetObject", principal={"AWS": A}))
    assert decide(ANON, "s3:GetObject", OBJ, resource=account_only).decision is IMPLICIT


def test_anonymous_callers_ignore_scps_but_not_rcps() -> None:
    public = resource_policy(stmt("Allow", "s3:GetObject", principal={"AWS": "*"}))
    empty_scp = [[scp("scp[0][0]")]]
    assert decide(ANON, "s3:GetObject", OBJ, resource=public, scp=empty_scp).decision is ALLOWED
    deny_rcp = [
        [rcp("rcp[0][0]", RCP_FULL_ACCESS, stmt("Deny", "s3:*", principal="*"))],
    ]
    result = decide(ANON, "s3:GetObject", OBJ, resource=public, rcp=deny_rcp)
    assert result.decision is EXPLICIT
    assert result.deciding_set == "rcp"


def test_service_principal_is_not_subject_to_scps() -> None:
    rbp = resource_policy(stmt("Allow", "s3:PutObject", principal={"Service": "ec2.amazonaws.com"}))
    result = decide(EC2, "s3:PutObject", OBJ, resource=rbp, scp=[[scp("scp[0][0]")]])
    assert result.decision is ALLOWED


# ---------------------------------------------------------------------------------------------
# SCP and RCP levels


def test_every_scp_level_needs_an_allow() -> None:
    ident = [identity(FULL_ACCESS)]
    ok = decide(USER, "s3:GetObject", OBJ, identity=ident, scp=[[scp("r", FULL_ACCESS)]] * 2)
    assert ok.decision is ALLOWED
    assert ok.details["scp"] == "allowed"
    levels = [[scp("scp[0][0]", FULL_ACCESS)], [scp("scp[1][0]", stmt("Allow", "ec2:*"))]]
    result = decide(USER, "s3:GetObject", OBJ, identity=ident, scp=levels)
    assert result.decision is IMPLICIT
    assert result.deciding_set == "scp"
    assert result.details["scp"] == "implicitDeny"


def test_scp_level_without_policies_denies() -> None:
    result = decide(
        USER,
        "s3:GetObject",
        OBJ,
        identity=[identity(FULL_ACCESS)],
        scp=[[scp("a", FULL_ACCESS)], []],
    )
    assert result.decision is IMPLICIT


def test_no_scp_levels_means_no_organizations_guardrail() -> None:
    result = decide(USER, "s3:GetObject", OBJ, identity=[identity(FULL_ACCESS)], scp=[])
    assert result.decision is ALLOWED
    assert result.details["scp"] is None


def test_scp_cannot_grant() -> None:
    result = decide(USER, "s3:GetObject", OBJ, scp=[[scp("scp[0][0]", FULL_ACCESS)]])
    assert result.decision is IMPLICIT
    assert result.deciding_set == "identity"


def test_service_linked_role_is_not_subject_to_scps_or_rcps() -> None:
    slr = Caller(
        PrincipalType.ASSUMED_ROLE,
        f"arn:aws:sts::{A}:assumed-role/AWSServiceRoleForSupport/s",
        A,
        "AROASLR:s",
    )
    deny_all = [[scp("scp[0][0]", stmt("Deny", "*"))]]
    result = decide(slr, "s3:GetObject", OBJ, identity=[identity(FULL_ACCESS)], scp=deny_all)
    assert result.decision is ALLOWED


def test_rcp_applies_only_to_supported_services() -> None:
    no_allow = [[rcp("rcp[0][0]")]]
    ident = [identity(FULL_ACCESS)]
    s3 = decide(USER, "s3:GetObject", OBJ, identity=ident, rcp=no_allow)
    assert s3.decision is IMPLICIT
    assert s3.deciding_set == "rcp"
    ec2 = Resource(f"arn:aws:ec2:us-east-1:{A}:instance/i-1", A)
    assert decide(USER, "ec2:StartInstances", ec2, identity=ident, rcp=no_allow).decision is (
        ALLOWED
    )


def test_rcp_is_checked_before_scp() -> None:
    ident = [identity(FULL_ACCESS)]
    result = decide(USER, "s3:GetObject", OBJ, identity=ident, rcp=[[rcp("r")]], scp=[[scp("s")]])
    assert result.deciding_set == "rcp"


def test_allowed_reports_allowing_statements_from_every_set() -> None:
    result = decide(
        USER,
        "s3:GetObject",
        OBJ,
        identity=[identity(FULL_ACCESS)],
        scp=[[scp("scp[0][0]", FULL_ACCESS)]],
        rcp=[[rcp("rcp[0][0]", RCP_FULL_ACCESS)]],
    )
    assert result.decision is ALLOWED
    assert [m.policy for m in result.matched_statements] == [
        "identity[0]",
        "scp[0][0]",
        "rcp[0][0]",
    ]


# ---------------------------------------------------------------------------------------------
# NotPrincipal (§5.2, §5.3)


def test_not_principal_deny_spares_listed_principal() -> None:
    rbp = resource_policy(
        stmt("Allow", "s3:*", principal="*"),
        stmt("Deny", "s3:*", not_principal={"AWS": USER.arn}),
    )
    assert decide(USER, "s3:GetObject", OBJ, resource=rbp).decision is ALLOWED
    other = Caller(PrincipalType.USER, f"arn:aws:iam::{A}:user/bob", A, "AIDABOB")
    assert decide(other, "s3:GetObject", OBJ, resource=rbp).decision is EXPLICIT


def test_not_principal_deny_always_applies_to_a_caller_with_a_boundary() -> None:
    rbp = resource_policy(
        stmt("Allow", "s3:*", principal="*"),
        stmt("Deny", "s3:*", not_principal={"AWS": USER.arn}),
    )
    result = decide(USER, "s3:GetObject", OBJ, resource=rbp, boundary=boundary(FULL_ACCESS))
    assert result.decision is EXPLICIT
    assert result.deciding_set == "resource"


def test_not_principal_deny_still_needs_action_match_with_boundary() -> None:
    rbp = resource_policy(
        stmt("Allow", "s3:*", principal="*"),
        stmt("Deny", "s3:PutObject", not_principal={"AWS": USER.arn}),
    )
    result = decide(USER, "s3:GetObject", OBJ, resource=rbp, boundary=boundary(FULL_ACCESS))
    assert result.decision is ALLOWED


def test_not_principal_session_is_excluded_by_its_role_arn() -> None:
    rbp = resource_policy(
        stmt("Allow", "s3:*", principal="*"),
        stmt("Deny", "s3:*", not_principal={"AWS": [f"arn:aws:iam::{A}:role/App"]}),
    )
    assert decide(SESSION, "s3:GetObject", OBJ, resource=rbp).decision is ALLOWED


# ---------------------------------------------------------------------------------------------
# AWS-managed resources (§6.9)


@pytest.mark.parametrize(
    ("action", "arn"),
    [
        ("iam:CreatePolicyVersion", "arn:aws:iam::aws:policy/AdministratorAccess"),
        ("iam:PutRolePolicy", f"arn:aws:iam::{A}:role/aws-reserved/sso.amazonaws.com/R"),
        ("kms:DeleteAlias", f"arn:aws:kms:us-east-1:{A}:alias/aws/s3"),
    ],
)
def test_changes_to_aws_managed_resources_are_implicitly_denied(action: str, arn: str) -> None:
    result = decide(USER, action, Resource(arn, A), identity=[identity(FULL_ACCESS)])
    assert result.decision is IMPLICIT
    assert result.deciding_set == "aws-managed"


def test_reading_aws_managed_resources_is_allowed() -> None:
    reserved = Resource(f"arn:aws:iam::{A}:role/aws-reserved/sso.amazonaws.com/R", A)
    result = decide(USER, "iam:GetRole", reserved, identity=[identity(FULL_ACCESS)])
    assert result.decision is ALLOWED


def test_explicit_deny_still_wins_on_aws_managed_resources() -> None:
    managed = Resource("arn:aws:iam::aws:policy/ReadOnlyAccess", A)
    policies = [identity(stmt("Deny", "iam:*"))]
    assert decide(USER, "iam:DeletePolicy", managed, identity=policies).decision is EXPLICIT


def test_tag_keys_differing_only_by_case_match_if_any_candidate_matches() -> None:
    policy = identity(
        stmt("Allow", "ec2:*", condition={"StringEquals": {"aws:ResourceTag/team": "blue"}})
    )
    arn = f"arn:aws:ec2:us-east-1:{A}:instance/i-1"
    for tags in ({"team": "blue", "Team": "red"}, {"Team": "red", "team": "blue"}):
        target = Resource(arn, A, tags)
        assert decide(USER, "ec2:StopInstances", target, identity=[policy]).decision is ALLOWED
    red = Resource(arn, A, {"team": "red", "TEAM": "green"})
    assert decide(USER, "ec2:StopInstances", red, identity=[policy]).decision is IMPLICIT
