"""Properties of the reference evaluator that hold for every policy set and request.

The strategies here are deliberately *focused*: a small universe of actions, ARNs, principals
and condition keys, so that statements match the request often and every decision path
(explicit deny, guardrails, same/cross account, trust, sessions) is exercised. The general IR
strategies of tests/strategies.py produce random text that almost never matches.

Example counts come from the Hypothesis profile of tests/conftest.py (`dev` 100, `ci` 300).
"""

from __future__ import annotations

import random
from typing import Any

import attrs
from hypothesis import given
from hypothesis import strategies as st

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

CALLERS = [
    Caller(PrincipalType.USER, f"arn:aws:iam::{A}:user/alice", A, "AIDAALICE", {"team": "blue"}),
    Caller(PrincipalType.ASSUMED_ROLE, f"arn:aws:sts::{A}:assumed-role/App/s1", A, "AROAAPP:s1"),
    Caller(PrincipalType.FEDERATED, f"arn:aws:sts::{A}:federated-user/bob", A, f"{A}:bob"),
    Caller(PrincipalType.ROOT, f"arn:aws:iam::{A}:root", A, A),
    Caller(PrincipalType.USER, f"arn:aws:iam::{B}:user/carol", B, "AIDACAROL"),
    Caller(PrincipalType.ANONYMOUS),
    Caller(PrincipalType.SERVICE, "ec2.amazonaws.com", None, "ec2.amazonaws.com"),
    Caller(PrincipalType.FEDERATED, "accounts.google.com", None, "accounts.google.com"),
]
SIGNED_IAM_CALLERS = CALLERS[:3] + CALLERS[4:5]

TARGETS = [
    ("s3:GetObject", Resource("arn:aws:s3:::bucket/alice", A)),
    ("s3:PutObject", Resource("arn:aws:s3:::bucket/x", B)),
    ("ec2:StartInstances", Resource(f"arn:aws:ec2:us-east-1:{A}:instance/i-1", A)),
    ("sts:AssumeRole", Resource(f"arn:aws:iam::{A}:role/Target", A)),
    ("sts:AssumeRoleWithWebIdentity", Resource(f"arn:aws:iam::{A}:role/Target", A)),
    ("kms:Decrypt", Resource(f"arn:aws:kms:us-east-1:{A}:key/k1", A)),
    ("s3:ListAllMyBuckets", Resource("*", A)),
]

ACTION_PATTERNS = ["*", "s3:*", "s3:Get*", "ec2:*", "sts:AssumeRole*", "kms:Decrypt", "iam:*"]
RESOURCE_PATTERNS = [
    "*",
    "arn:aws:s3:::bucket/*",
    "arn:aws:s3:::bucket/${aws:username}",
    "arn:aws:s3:::other/*",
    "arn:aws:ec2:*:*:instance/*",
    "arn:aws:iam::*:role/*",
    "arn:aws:kms:*",
]
PRINCIPALS: list[Any] = [
    "*",
    {"AWS": "*"},
    {"AWS": A},
    {"AWS": f"arn:aws:iam::{B}:root"},
    {"AWS": f"arn:aws:iam::{A}:user/alice"},
    {"AWS": f"arn:aws:iam::{A}:role/App"},
    {"AWS": f"arn:aws:sts::{A}:assumed-role/App/s1"},
    {"AWS": f"arn:aws:sts::{A}:federated-user/bob"},
    {"Service": "ec2.amazonaws.com"},
    {"Federated": "accounts.google.com"},
]
CONDITIONS: list[dict[str, dict[str, str]] | None] = [
    None,
    None,
    {"StringEquals": {"aws:PrincipalTag/team": "blue"}},
    {"StringNotEquals": {"aws:SourceVpce": "vpce-1"}},
    {"BoolIfExists": {"aws:MultiFactorAuthPresent": "true"}},
    {"ForAllValues:StringEquals": {"aws:TagKeys": "env"}},
    {"Null": {"aws:SourceVpce": "true"}},
]
CONTEXTS: list[dict[str, str | tuple[str, ...]]] = [
    {},
    {"aws:SourceVpce": "vpce-1"},
    {"aws:MultiFactorAuthPresent": "false", "aws:TagKeys": ("env", "cost")},
    {"aws:MultiFactorAuthPresent": "true", "aws:TagKeys": ("env",)},
]


def _values(v: str) -> Values:
    return Values((v,), is_list=False)


def _principal(raw: Any, negated: bool) -> PrincipalSpec:
    if raw == "*":
        return PrincipalSpec(is_wildcard=True, negated=negated)
    entries = tuple(PrincipalEntry(k, _values(v)) for k, v in raw.items())
    return PrincipalSpec(entries, negated=negated)


def _condition(raw: dict[str, dict[str, str]] | None) -> tuple[ConditionClause, ...] | None:
    if raw is None:
        return None
    return tuple(
        ConditionClause(op, tuple(ConditionEntry(k, (ConditionValue(v),)) for k, v in b.items()))
        for op, b in raw.items()
    )


_sid_counter = st.integers(min_value=0, max_value=10**9).map(lambda n: f"S{n}")


@st.composite
def statements(draw: st.DrawFn, *, kind: PolicyKind) -> Statement:
    effect = draw(st.sampled_from([Effect.ALLOW, Effect.DENY]))
    principal = None
    if kind in (PolicyKind.RESOURCE, PolicyKind.RCP):
        negated = effect is Effect.DENY and kind is PolicyKind.RESOURCE and draw(st.booleans())
        raw = "*" if kind is PolicyKind.RCP else draw(st.sampled_from(PRINCIPALS))
        principal = _principal(raw, negated)
    resource_pattern = draw(st.sampled_from(RESOURCE_PATTERNS))
    return Statement(
        effect=effect,
        action=ActionSpec(_values(draw(st.sampled_from(ACTION_PATTERNS))), draw(st.booleans())),
        resource=ResourceSpec(_values(resource_pattern), negated=draw(st.booleans())),
        principal=principal,
        condition=_condition(draw(st.sampled_from(CONDITIONS))),
        sid=draw(_sid_counter),
    )


def named_policies(kind: PolicyKind, label: str) -> st.SearchStrategy[NamedPolicy]:
    return st.lists(statements(kind=kind), min_size=0, max_size=2).map(
        lambda stmts: NamedPolicy(label, Policy(tuple(stmts)), kind)
    )


@st.composite
def policy_sets(draw: st.DrawFn) -> PolicySet:
    identity = draw(
        st.lists(named_policies(PolicyKind.IDENTITY, "identity"), max_size=2).map(
            lambda ps: tuple(attrs.evolve(p, label=f"identity[{i}]") for i, p in enumerate(ps))
        )
    )
    resource = draw(st.none() | named_policies(PolicyKind.RESOURCE, "resource"))
    boundary = draw(st.none() | named_policies(PolicyKind.BOUNDARY, "boundary"))
    session = draw(st.lists(named_policies(PolicyKind.SESSION, "session[0]"), max_size=1))
    scp = draw(st.lists(st.lists(named_policies(PolicyKind.SCP, "scp"), max_size=1), max_size=2))
    rcp = draw(st.lists(st.lists(named_policies(PolicyKind.RCP, "rcp"), max_size=1), max_size=2))
    return PolicySet(
        identity=identity,
        resource=resource,
        boundary=boundary,
        session=tuple(session),
        scp=tuple(tuple(level) for level in scp),
        rcp=tuple(tuple(level) for level in rcp),
    )


@st.composite
def requests(draw: st.DrawFn, callers: list[Caller] = CALLERS) -> Request:
    action, target = draw(st.sampled_from(TARGETS))
    return Request(draw(st.sampled_from(callers)), action, target, draw(st.sampled_from(CONTEXTS)))


def _with_statement(named: NamedPolicy, statement: Statement, position: int) -> NamedPolicy:
    stmts = list(named.policy.statements)
    stmts.insert(position % (len(stmts) + 1), statement)
    return attrs.evolve(named, policy=attrs.evolve(named.policy, statements=tuple(stmts)))


def _all_allow_locations(policies: PolicySet) -> list[tuple[str, int, int, int]]:
    """(set, level/policy index, policy index within level, statement index) of every Allow."""
    out: list[tuple[str, int, int, int]] = []
    groups: list[tuple[str, int, tuple[NamedPolicy, ...]]] = [("identity", 0, policies.identity)]
    if policies.resource is not None:
        groups.append(("resource", 0, (policies.resource,)))
    if policies.boundary is not None:
        groups.append(("boundary", 0, (policies.boundary,)))
    groups.append(("session", 0, policies.session))
    groups.extend(("scp", i, level) for i, level in enumerate(policies.scp))
    groups.extend(("rcp", i, level) for i, level in enumerate(policies.rcp))
    for name, level, group in groups:
        for p, named in enumerate(group):
            for s, statement in enumerate(named.policy.statements):
                if statement.effect is Effect.ALLOW:
                    out.append((name, level, p, s))
    return out


def _without(policies: PolicySet, where: tuple[str, int, int, int]) -> PolicySet:
    name, level, p, s = where

    def drop(named: NamedPolicy) -> NamedPolicy:
        stmts = named.policy.statements[:s] + named.policy.statements[s + 1 :]
        return attrs.evolve(named, policy=attrs.evolve(named.policy, statements=stmts))

    def drop_in(group: tuple[NamedPolicy, ...]) -> tuple[NamedPolicy, ...]:
        return tuple(drop(n) if i == p else n for i, n in enumerate(group))

    if name == "resource":
        assert policies.resource is not None
        return attrs.evolve(policies, resource=drop(policies.resource))
    if name == "boundary":
        assert policies.boundary is not None
        return attrs.evolve(policies, boundary=drop(policies.boundary))
    if name in ("identity", "session"):
        return attrs.evolve(policies, **{name: drop_in(getattr(policies, name))})
    levels = list(getattr(policies, name))
    levels[level] = drop_in(levels[level])
    return attrs.evolve(policies, **{name: tuple(levels)})


def _shuffled(policies: PolicySet, rnd: random.Random) -> PolicySet:
    def shuffle(named: NamedPolicy) -> NamedPolicy:
        stmts = list(named.policy.statements)
        rnd.shuffle(stmts)
        return attrs.evolve(named, policy=attrs.evolve(named.policy, statements=tuple(stmts)))

    def shuffle_group(group: tuple[NamedPolicy, ...]) -> tuple[NamedPolicy, ...]:
        out = [shuffle(n) for n in group]
        rnd.shuffle(out)
        return tuple(out)

    return PolicySet(
        identity=shuffle_group(policies.identity),
        resource=None if policies.resource is None else shuffle(policies.resource),
        boundary=None if policies.boundary is None else shuffle(policies.boundary),
        session=shuffle_group(policies.session),
        scp=tuple(shuffle_group(level) for level in policies.scp),
        rcp=tuple(shuffle_group(level) for level in policies.rcp),
    )


def _statement_keys(result: EvaluationResult) -> list[tuple[str | None, Effect]]:
    return sorted(((m.sid, m.effect) for m in result.matched_statements), key=repr)


DENY_ALL = Statement(
    Effect.DENY, ActionSpec(_values("*")), ResourceSpec(_values("*")), sid="DenyAll"
)
DENY_ALL_ANYONE = attrs.evolve(DENY_ALL, principal=PrincipalSpec(is_wildcard=True))


# ---------------------------------------------------------------------------------------------
# Properties


@given(policy_sets(), requests(SIGNED_IAM_CALLERS), st.integers(0, 5))
def test_applicable_identity_deny_always_wins(
    policies: PolicySet, request: Request, position: int
) -> None:
    if request.action == "sts:GetCallerIdentity":
        return
    named = NamedPolicy("identity[9]", Policy((DENY_ALL,)), PolicyKind.IDENTITY)
    if policies.identity:
        named = _with_statement(policies.identity[0], DENY_ALL, position)
        policies = attrs.evolve(policies, identity=(named, *policies.identity[1:]))
    else:
        policies = attrs.evolve(policies, identity=(named,))
    result = evaluate(policies, request)
    assert result.decision is Decision.EXPLICIT_DENY
    assert all(m.effect is Effect.DENY for m in result.matched_statements)
    assert ("DenyAll", Effect.DENY) in [(m.sid, m.effect) for m in result.matched_statements]


@given(policy_sets(), requests(), st.integers(0, 5))
def test_applicable_resource_policy_deny_always_wins(
    policies: PolicySet, request: Request, position: int
) -> None:
    if policies.resource is None:
        rbp = NamedPolicy("resource", Policy((DENY_ALL_ANYONE,)), PolicyKind.RESOURCE)
    else:
        rbp = _with_statement(policies.resource, DENY_ALL_ANYONE, position)
    result = evaluate(attrs.evolve(policies, resource=rbp), request)
    if request.action == "sts:GetCallerIdentity":
        return
    assert result.decision is Decision.EXPLICIT_DENY


@given(policy_sets(), requests(), st.data())
def test_removing_an_allow_never_turns_a_denial_into_allowed(
    policies: PolicySet, request: Request, data: st.DataObject
) -> None:
    before = evaluate(policies, request)
    locations = _all_allow_locations(policies)
    if before.allowed or not locations:
        return
    where = data.draw(st.sampled_from(locations))
    after = evaluate(_without(policies, where), request)
    assert not after.allowed


@given(policy_sets(), requests(), st.data())
def test_removing_an_allow_never_turns_an_explicit_deny_into_anything_else(
    policies: PolicySet, request: Request, data: st.DataObject
) -> None:
    before = evaluate(policies, request)
    locations = _all_allow_locations(policies)
    if before.decision is not Decision.EXPLICIT_DENY or not locations:
        return
    after = evaluate(_without(policies, data.draw(st.sampled_from(locations))), request)
    assert after.decision is Decision.EXPLICIT_DENY


@given(policy_sets(), requests(), named_policies(PolicyKind.BOUNDARY, "boundary"))
def test_a_boundary_can_only_remove_permissions(
    policies: PolicySet, request: Request, extra: NamedPolicy
) -> None:
    without = evaluate(attrs.evolve(policies, boundary=None), request)
    with_boundary = evaluate(attrs.evolve(policies, boundary=extra), request)
    if with_boundary.allowed:
        assert without.allowed


@given(
    policy_sets(),
    requests(),
    st.lists(named_policies(PolicyKind.SCP, "scp[9][0]"), max_size=2),
)
def test_an_scp_level_can_only_remove_permissions(
    policies: PolicySet, request: Request, level: list[NamedPolicy]
) -> None:
    before = evaluate(policies, request)
    after = evaluate(attrs.evolve(policies, scp=(*policies.scp, tuple(level))), request)
    if after.allowed:
        assert before.allowed
    if before.decision is Decision.EXPLICIT_DENY:
        assert after.decision is Decision.EXPLICIT_DENY


@given(policy_sets(), requests(), st.randoms(use_true_random=False))
def test_statement_and_policy_order_never_matters(
    policies: PolicySet, request: Request, rnd: random.Random
) -> None:
    before = evaluate(policies, request)
    after = evaluate(_shuffled(policies, rnd), request)
    assert after.decision is before.decision
    assert after.deciding_set == before.deciding_set
    assert after.missing_context_keys == before.missing_context_keys
    assert dict(after.details) == dict(before.details)
    assert _statement_keys(after) == _statement_keys(before)


@given(policy_sets(), requests())
def test_result_is_well_formed(policies: PolicySet, request: Request) -> None:
    result = evaluate(policies, request)
    assert list(result.missing_context_keys) == sorted(set(result.missing_context_keys))
    assert set(result.details) == {"scp", "rcp", "boundary", "session", "resource", "identity"}
    if result.allowed:
        assert result.deciding_set is None
        assert all(m.effect is Effect.ALLOW for m in result.matched_statements)
    else:
        assert result.deciding_set is not None
    if result.decision is Decision.EXPLICIT_DENY:
        assert result.matched_statements
        assert result.details[result.deciding_set or ""] == "explicitDeny"
