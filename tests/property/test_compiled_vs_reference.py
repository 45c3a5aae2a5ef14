"""Differential test: the compiled engine answers exactly as the reference evaluator.

Generated PolicySets (every set kind, every element form from tests/strategies.py, plus
statements built from the same pools as the requests so that they apply often) are decided
for several generated requests each, by `policylang.evaluator.evaluate` and by the compiled
set, the cached `Engine` (twice: miss then hit) and the unindexed path. Results must be equal
field by field; when the reference raises a PolicyLangError, the compiled side raises the same
error code. The long seeded run is benchmarks/differential.py.
"""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from policylang.compiler import Compiler, Engine, compile_policies
from policylang.decision import Decision, EvaluationResult
from policylang.errors import PolicyLangError
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
from tests.strategies import condition_blocks, policies, principal_specs, statements

# ------------------------------------------------------------------------------ request pools

A1, A2, A3 = "111122223333", "444455556666", "123456789012"

CALLERS = [
    Caller(PrincipalType.USER, f"arn:aws:iam::{A1}:user/alice", A1, "AIDAALICE0000000001",
           {"team": "blue", "Team": "Red"}),
    Caller(PrincipalType.USER, f"arn:aws:iam::{A2}:user/dev/bob", A2, "AIDABOB000000000002"),
    Caller(PrincipalType.ASSUMED_ROLE, f"arn:aws:sts::{A1}:assumed-role/app/session", A1,
           "AROAEXAMPLEID1234567:session", {"team": "blue"}, session_name="session"),
    Caller(PrincipalType.ASSUMED_ROLE, f"arn:aws:sts::{A2}:assumed-role/App/s1", A2,
           "AROAOTHER:s1", session_name="s1"),
    Caller(PrincipalType.ASSUMED_ROLE, f"arn:aws:sts::{A1}:assumed-role/AWSServiceRoleForX/x",
           A1, "AROASLR:x"),
    Caller(PrincipalType.ROLE, f"arn:aws:iam::{A2}:role/path/app", A2, "AROAROLE"),
    Caller(PrincipalType.FEDERATED, f"arn:aws:sts::{A1}:federated-user/carol", A1,
           f"{A1}:carol"),
    Caller(PrincipalType.FEDERATED, f"arn:aws:iam::{A1}:saml-provider/corp", A1,
           f"arn:aws:iam::{A1}:saml-provider/corp"),
    Caller(PrincipalType.FEDERATED, "cognito-identity.amazonaws.com", None,
           "cognito-identity.amazonaws.com"),
    Caller(PrincipalType.SERVICE, "ec2.amazonaws.com", None, "ec2.amazonaws.com"),
    Caller(PrincipalType.ROOT, f"arn:aws:iam::{A1}:root", A1, A1),
    Caller(PrincipalType.ROOT, f"arn:aws:iam::{A3}:root", A3, A3),
    Caller(PrincipalType.ANONYMOUS),
]

ACTIONS = [
    "s3:GetObject", "S3:getobject", "s3:ListBucket", "s3:PutObject", "iam:PassRole",
    "iam:CreateAccessKey", "sts:AssumeRole", "sts:TagSession", "sts:GetCallerIdentity",
    "kms:Decrypt", "ec2:DescribeInstances", "dynamodb:Query", "logs:PutLogEvents",
    "my-svc.x:Do", "lambda:InvokeFunction", "sqs:SendMessage", "iam:CreatePolicyVersion",
    "kms:CreateAlias",
]

RESOURCE_ARNS = [
    "*",
    "arn:aws:s3:::bucket",
    "arn:aws:s3:::bucket/home/alice/x",
    "arn:aws:s3:::bucket/home/AIDAALICE0000000001/x",
    "arn:aws:s3:::bucket/home/blue/x",
    "arn:aws:s3:::bucket/home/*/x",
    "arn:aws:s3:::bucket:q",
    "arn:aws:s3:::b/abc/d",
    "ARN:AWS:S3:::bucket/x",
    f"arn:aws:iam::{A1}:user/alice",
    f"arn:aws:iam::{A2}:role/path/app-x",
    f"arn:aws:iam::{A1}:role/app",
    f"arn:aws:dynamodb:us-east-1:{A1}:table/orders",
    f"arn:aws-cn:lambda:eu-west-3:{A3}:function:f:prod",
    f"arn:aws:ec2:us-east-1:{A2}:instance/i-1",
    f"arn:aws:kms:eu-west-1:{A1}:key/k1",
    "arn:aws:iam::aws:policy/ReadOnlyAccess",
    f"arn:aws:kms:eu-west-1:{A1}:alias/aws/s3",
    f"arn:aws:iam::{A1}:role/aws-reserved/sso.amazonaws.com/x",
]

CONTEXT_KEYS = [
    "aws:SourceIp", "AWS:sourceip", "aws:PrincipalTag/team", "aws:RequestTag/env",
    "aws:TagKeys", "aws:CurrentTime", "aws:EpochTime", "aws:MultiFactorAuthPresent",
    "aws:SecureTransport", "aws:PrincipalArn", "aws:SourceArn", "s3:prefix", "s3:max-keys",
    "sts:ExternalId", "aws:username", "aws:userid", "aws:PrincipalOrgID", "svc:a",
    "aws:ResourceTag/name", "aws:PrincipalType",
]

SCALARS = [
    "", "alice", "blue", "Blue", "*", "a*", "203.0.113.9", "198.51.100.7", "2001:db8::1",
    "true", "False", "10", "-1", "1.50", "2024-02-29T12:00:00Z", "1700000000", "QmluYXJ5",
    "red", "Red", "x", "y", "User", "AssumedRole",
    f"arn:aws:iam::{A1}:role/app-x", f"arn:aws:iam::{A2}:user/alice", "env", "team",
]


@st.composite
def requests(draw: st.DrawFn) -> Request:
    caller = draw(st.sampled_from(CALLERS))
    arn = draw(st.sampled_from(RESOURCE_ARNS))
    account = draw(st.sampled_from([A1, A2, A3, None]))
    tags = draw(st.sampled_from([{}, {"team": "blue"}, {"Name": "x", "name": "y"}]))
    keys = draw(st.lists(st.sampled_from(CONTEXT_KEYS), max_size=5, unique=True))
    context: dict[str, str | tuple[str, ...]] = {}
    for key in keys:
        if draw(st.integers(0, 3)) == 0:
            context[key] = tuple(draw(st.lists(st.sampled_from(SCALARS), max_size=3)))
        else:
            context[key] = draw(st.sampled_from(SCALARS))
    return Request(caller, draw(st.sampled_from(ACTIONS)), Resource(arn, account, tags), context)


# ------------------------------------------------------------------------------ policy pools

ACTION_PATTERNS = [
    "*", "s3:*", "s3:Get*", "s3:?etObject", "S3:GETOBJECT", "iam:*", "sts:AssumeRole",
    "sts:*", "kms:*", "ec2:Describe*", "dynamodb:Query", "*:*", "s3GetObject", "lambda:*",
]

RESOURCE_PATTERNS = [
    "*", "arn:aws:s3:::bucket", "arn:aws:s3:::bucket/*", "arn:aws:s3:::*",
    "arn:aws:s3:::bucket/home/${aws:username}/*", "arn:aws:s3:::bucket/home/${aws:userid}/*",
    "arn:aws:s3:::bucket/home/${aws:PrincipalTag/team, 'none'}/*",
    "arn:aws:s3:::bucket/home/${*}/x", "arn:aws:s3:*", "arn:aws:iam::*:role/*",
    f"arn:aws:iam::{A1}:user/${{aws:username}}", "arn:*:s3:::b/a?c/*",
    "arn:aws:*:*:*:*", f"arn:aws:dynamodb:*:{A1}:table/*", "arn:aws-cn:lambda:*:*:function:*",
    "arn:aws:s3:::bucket:*", "ARN:AWS:S3:::bucket/*", "arn:aws:ec2:*:*:instance/*",
    "arn:aws:iam::aws:policy/*", "arn:aws:kms:*:*:alias/*",
    "arn:aws:s3:::bucket/${aws:ResourceTag/Name}/*",
]

PRINCIPAL_VALUES = [
    "*", A1, A2, f"arn:aws:iam::{A1}:root", f"arn:aws:iam::{A1}:user/alice",
    f"arn:aws:iam::{A1}:role/app", f"arn:aws:iam::{A2}:role/team/App",
    f"arn:aws:sts::{A1}:assumed-role/app/session", "AROAEXAMPLEID1234567", "AIDAALICE0000000001",
]

CONDITION_VALUE_TEXTS = [*SCALARS, "${aws:username}", "${aws:PrincipalTag/team}",
                         "arn:aws:iam::*:role/app-*", "203.0.113.0/24", "${aws:SourceIp, 'x'}"]


@st.composite
def conditions(draw: st.DrawFn) -> tuple[ConditionClause, ...] | None:
    """Conditions over the request pools' keys and values (so that they often decide)."""
    if draw(st.booleans()):
        return draw(condition_blocks())
    operators = [
        "StringEquals", "StringNotEquals", "StringLike", "StringNotLikeIfExists",
        "StringEqualsIgnoreCase", "ForAnyValue:StringEquals", "ForAllValues:StringLike",
        "ForAnyValue:StringNotEquals", "NumericLessThan", "NumericNotEqualsIfExists",
        "DateGreaterThan", "Bool", "BoolIfExists", "IpAddress", "NotIpAddress", "ArnLike",
        "ArnNotEquals", "Null", "BinaryEquals", "ForAllValues:ArnLike",
    ]
    clauses = []
    for name in draw(st.lists(st.sampled_from(operators), min_size=1, max_size=2, unique=True)):
        entries = []
        for key in draw(st.lists(st.sampled_from(CONTEXT_KEYS), min_size=1, max_size=2,
                                 unique=True)):
            values = draw(st.lists(st.sampled_from(CONDITION_VALUE_TEXTS), max_size=2))
            entries.append(ConditionEntry(key, tuple(ConditionValue(v) for v in values), True))
        clauses.append(ConditionClause(name, tuple(entries)))
    return tuple(clauses)


def _values(items: list[str]) -> Values:
    return Values(tuple(items), is_list=len(items) != 1)


@st.composite
def pooled_statements(draw: st.DrawFn, *, with_principal: bool) -> Statement:
    principal = None
    if with_principal:
        if draw(st.integers(0, 6)) == 0:
            principal = draw(principal_specs())
        elif draw(st.integers(0, 3)) == 0:
            principal = PrincipalSpec(is_wildcard=True, negated=draw(st.booleans()))
        else:
            principal = PrincipalSpec(
                (PrincipalEntry("AWS", _values(draw(st.lists(
                    st.sampled_from(PRINCIPAL_VALUES), min_size=1, max_size=3)))),),
                negated=draw(st.integers(0, 5)) == 0,
            )
    resource = None
    if draw(st.integers(0, 5)) or not with_principal:
        resource = ResourceSpec(
            _values(draw(st.lists(st.sampled_from(RESOURCE_PATTERNS), min_size=1, max_size=3))),
            negated=draw(st.integers(0, 4)) == 0,
        )
    return Statement(
        effect=draw(st.sampled_from(Effect)),
        action=ActionSpec(
            _values(draw(st.lists(st.sampled_from(ACTION_PATTERNS), min_size=1, max_size=3))),
            negated=draw(st.integers(0, 4)) == 0,
        ),
        resource=resource,
        principal=principal,
        condition=draw(st.one_of(st.none(), conditions())),
        sid=draw(st.sampled_from([None, "S1", "S2"])),
    )


@st.composite
def pooled_policies(draw: st.DrawFn, *, with_principal: bool = False) -> Policy:
    stmts = draw(st.lists(
        st.one_of(pooled_statements(with_principal=with_principal), statements())
        if draw(st.integers(0, 4)) == 0
        else pooled_statements(with_principal=with_principal),
        min_size=1, max_size=4,
    ))
    version = draw(st.sampled_from(["2012-10-17", "2012-10-17", "2008-10-17", None]))
    return Policy(tuple(stmts), version=version)


@st.composite
def policy_sets(draw: st.DrawFn) -> PolicySet:
    counter = iter(range(1000))

    def named(kind: PolicyKind, label: str, *, with_principal: bool = False) -> NamedPolicy:
        pol = draw(st.one_of(pooled_policies(with_principal=with_principal), policies())
                   if draw(st.integers(0, 9)) == 0
                   else pooled_policies(with_principal=with_principal))
        return NamedPolicy(f"{label}{next(counter)}", pol, kind)

    identity = tuple(named(PolicyKind.IDENTITY, "identity") for _ in range(draw(st.integers(0, 3))))
    if identity and draw(st.integers(0, 5)) == 0:
        identity = (*identity, identity[0])  # the same document listed twice
    resource = None
    if draw(st.booleans()):
        kind = draw(st.sampled_from([PolicyKind.RESOURCE, PolicyKind.TRUST]))
        resource = named(kind, "resource", with_principal=True)
    boundary = named(PolicyKind.BOUNDARY, "boundary") if draw(st.integers(0, 2)) == 0 else None
    session = tuple(named(PolicyKind.SESSION, "session")
                    for _ in range(draw(st.sampled_from([0, 0, 1, 2]))))
    full = NamedPolicy("FullAWSAccess", Policy((Statement(
        Effect.ALLOW, ActionSpec(Values(("*",), False)), ResourceSpec(Values(("*",), False))),)),
        PolicyKind.SCP)
    scp = tuple(
        tuple([full] * draw(st.integers(0, 1))
              + [named(PolicyKind.SCP, "scp") for _ in range(draw(st.integers(0, 2)))])
        for _ in range(draw(st.sampled_from([0, 0, 1, 3])))
    )
    rcp = tuple(
        tuple(named(PolicyKind.RCP, "rcp", with_principal=True)
              for _ in range(draw(st.integers(1, 2))))
        for _ in range(draw(st.sampled_from([0, 0, 1, 2])))
    )
    return PolicySet(identity, resource, boundary, session, scp, rcp)


# ------------------------------------------------------------------------------ comparison

Outcome = EvaluationResult | tuple[str, str]


def outcome(fn: Callable[[], EvaluationResult]) -> Outcome:
    try:
        return fn()
    except PolicyLangError as exc:
        return ("error", exc.code)


def decision_only(fn: Callable[[], Decision]) -> Decision | tuple[str, str]:
    try:
        return fn()
    except PolicyLangError as exc:
        return ("error", exc.code)


def assert_same(policies_: PolicySet, reqs: list[Request]) -> None:
    compiled = compile_policies(policies_)
    fast = compile_policies(policies_)  # its plans are built by the decision-only path
    engine = Engine(policies_, cache_size=16)
    for request in reqs:
        expected = outcome(lambda: evaluate(policies_, request))  # noqa: B023
        want = expected.decision if isinstance(expected, EvaluationResult) else expected
        assert decision_only(lambda: fast.decision(request)) == want, request  # noqa: B023
        assert decision_only(lambda: engine.decision(request)) == want, request  # noqa: B023
        assert outcome(lambda: compiled.decide(request)) == expected, request  # noqa: B023
        assert outcome(lambda: engine.decide(request)) == expected  # noqa: B023
        assert outcome(lambda: engine.decide(request)) == expected  # noqa: B023  (cache hit)


@settings(max_examples=150)
@given(policy_sets(), st.lists(requests(), min_size=1, max_size=6))
def test_compiled_engine_agrees_with_reference(policies_: PolicySet, reqs: list[Request]) -> None:
    assert_same(policies_, reqs)


@settings(max_examples=25)
@given(st.lists(policy_sets(), min_size=2, max_size=4), st.lists(requests(), max_size=4))
def test_shared_compiler_agrees_with_reference(sets: list[PolicySet], reqs: list[Request]) -> None:
    """Sets compiled by one Compiler share documents and groups; answers stay per set."""
    shared = Compiler()
    # share documents between sets, as managed policies are shared between principals
    mixed = [sets[0], *(PolicySet(s.identity + sets[0].identity, s.resource, s.boundary,
                                  s.session, sets[0].scp, s.rcp) for s in sets[1:])]
    engine = Engine(lambda r: mixed[len(r.action) % len(mixed)], compiler=shared)
    for request in reqs:
        ps = mixed[len(request.action) % len(mixed)]
        expected = outcome(lambda: evaluate(ps, request))  # noqa: B023
        want = expected.decision if isinstance(expected, EvaluationResult) else expected
        assert decision_only(lambda: shared.compile(ps).decision(request)) == want  # noqa: B023
        assert outcome(lambda: shared.compile(ps).decide(request)) == expected  # noqa: B023
        assert outcome(lambda: engine.decide(request)) == expected  # noqa: B023
