"""DSL round trips on generated IR (shared/design/dsl.md §9).

* IR → DSL → IR is the identity (the IR records every shape the DSL must keep, so no
  normalisation is needed beyond what the IR itself ignores: spans and comments' positions).
* Formatting is canonical: format(parse(format(x))) == format(x).
* JSON → IR → DSL → IR → JSON gives back the same JSON text.
* Comments attached to statements and the document survive a format/parse cycle.
* JSON → DSL → JSON keeps the IR (no normalisation needed) and every decision of `evaluate` on
  requests built from the policy itself, in the identity and resource-policy roles; DSL → JSON →
  DSL gives back the canonical text. `benchmarks/dsl_roundtrip_long.py` runs the same check on
  10,000 generated policies and on the tests/golden/roundtrip corpus.
"""

from __future__ import annotations

import random
import re
from collections import Counter

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from policylang.decision import EvaluationResult
from policylang.errors import PolicyValidationError
from policylang.evaluator import evaluate
from policylang.grammar.dsl_to_ir import parse_dsl
from policylang.grammar.ir_to_dsl import format_dsl, format_value
from policylang.grammar.ir_to_json import format_iam_json
from policylang.grammar.json_to_ir import parse_iam_json
from policylang.ir import Policy, PolicyKind
from policylang.policy_set import NamedPolicy, PolicySet
from policylang.request import Caller, ContextValue, PrincipalType, Request, Resource
from tests.strategies import identity_policies, policies, texts


# Generating policies is the slow part (~0.1 s each on a busy machine), so counts stay modest.
@settings(max_examples=100)
@given(policies())
def test_ir_to_dsl_to_ir_is_identity(policy: Policy) -> None:
    text = format_dsl(policy)

    parsed = parse_dsl(text, source_name="generated.policy")

    assert parsed == policy
    assert format_dsl(parsed) == text


@settings(max_examples=50)
@given(policies())
def test_json_to_dsl_to_json_is_identity(policy: Policy) -> None:
    json_text = format_iam_json(policy)
    from_json = parse_iam_json(json_text, source_name="generated.json")

    through_dsl = parse_dsl(format_dsl(from_json), source_name="generated.policy")

    assert through_dsl == from_json
    assert format_iam_json(through_dsl) == json_text


_COMMENT = texts(max_size=20).map(lambda t: ("# " + t.replace("\n", " ").replace("\r", " ")))


@settings(max_examples=50)
@given(policies(max_statements=3), st.data())
def test_comments_survive_formatting(policy: Policy, data: st.DataObject) -> None:
    comment_lists = st.lists(_COMMENT, max_size=2).map(
        lambda cs: tuple(c.rstrip() for c in cs)
    )
    statements = tuple(
        attrs.evolve(
            s,
            comments=data.draw(comment_lists),
            trailing_comment=data.draw(st.none() | _COMMENT.map(str.rstrip)),
        )
        for s in policy.statements
    )
    policy = attrs.evolve(
        policy,
        statements=statements,
        comments=data.draw(comment_lists),
        trailing_comments=data.draw(comment_lists),
    )
    text = format_dsl(policy)

    parsed = parse_dsl(text)

    assert parsed == policy
    assert [s.comments for s in parsed.statements] == [s.comments for s in statements]
    assert [s.trailing_comment for s in parsed.statements] == [
        s.trailing_comment for s in statements
    ]
    assert parsed.comments == policy.comments
    assert parsed.trailing_comments == policy.trailing_comments
    assert format_dsl(parsed) == text


@settings(max_examples=300)
@given(texts(max_size=30))
def test_any_string_value_round_trips(value: str) -> None:
    text = f"allow s3:GetObject on {format_value(value)}\n"

    parsed = parse_dsl(text)

    assert parsed.statements[0].resource is not None
    assert parsed.statements[0].resource.values.items == (value,)


# ---------------------------------------------------------------------------------------------
# JSON → DSL → JSON at the decision level (the DSL issue's acceptance).
#
# Normalisations: none beyond IR equality itself. IR equality (attrs `eq`) ignores spans,
# `Policy.source` and comments; the generated policies carry no comments, and comments are the
# only thing docs/dsl.md says a trip through JSON drops. Everything else (string-or-list shape,
# number and boolean texts, operator spelling, key order, Version/Id/Sid presence) must survive.

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_FILL = ("", "x", "abc", "a/b", "Prod-1", "home/alice")
_DEFAULT_CALLER = Caller(
    PrincipalType.USER,
    arn="arn:aws:iam::111122223333:user/alice",
    account="111122223333",
    id="AIDAEXAMPLEUSERID001",
    tags={"team": "blue"},
)
_USER_VALUE = "alice"


def _instance(pattern: str, rnd: random.Random, context: dict[str, ContextValue]) -> str:
    """A concrete string the pattern is likely to match: wildcards filled in, variables resolved.

    A `${key}` variable becomes a fixed value that is also put into the context under `key`,
    so that the resource entry resolves and matches (2012-10-17) or is taken literally (2008).
    """

    def variable(match: re.Match[str]) -> str:
        body = match.group(1)
        if body in ("*", "?", "$"):
            return body
        key = body.split(",", 1)[0].strip()
        if rnd.random() < 0.8:
            context[key] = _USER_VALUE
        return _USER_VALUE

    text = _VARIABLE.sub(variable, pattern) if rnd.random() < 0.9 else pattern
    out = []
    for char in text:
        if char == "*":
            out.append(rnd.choice(_FILL))
        elif char == "?":
            out.append(rnd.choice("aZ9-"))
        else:
            out.append(char)
    return "".join(out)


def _callers(policy: Policy) -> list[Caller]:
    """Callers the policy's Principal/NotPrincipal entries name (plus a default user)."""
    out = [_DEFAULT_CALLER]
    for statement in policy.statements:
        if statement.principal is None:
            continue
        for entry in statement.principal.entries:
            for value in entry.values.items:
                caller = _caller_for(entry.kind, value)
                if caller is not None:
                    out.append(caller)
    return out


def _caller_for(kind: str, value: str) -> Caller | None:
    if kind == "Service":
        return Caller(PrincipalType.SERVICE, arn=value)
    if kind == "Federated":
        return Caller(PrincipalType.FEDERATED, arn=value)
    if kind != "AWS" or value == "*":
        return None
    if value.isdigit():
        return Caller(PrincipalType.ROOT, arn=f"arn:aws:iam::{value}:root", account=value)
    if value.startswith("AROA"):
        return Caller(
            PrincipalType.ASSUMED_ROLE,
            arn="arn:aws:sts::111122223333:assumed-role/app/s1",
            account="111122223333",
            id=f"{value}:s1",
        )
    fields = value.split(":", 5)
    if len(fields) != 6:
        return None
    account, name = fields[4], fields[5]
    if name == "root":
        return Caller(PrincipalType.ROOT, arn=value, account=account)
    if name.startswith("user/"):
        return Caller(PrincipalType.USER, arn=value, account=account, id="AIDAEXAMPLE2")
    if name.startswith("role/"):
        role = name.rsplit("/", 1)[-1]
        session = f"arn:{fields[1]}:sts::{account}:assumed-role/{role}/s1"
        return Caller(PrincipalType.ASSUMED_ROLE, arn=session, account=account)
    if name.startswith("assumed-role/"):
        return Caller(PrincipalType.ASSUMED_ROLE, arn=value, account=account)
    return None


def requests_for(policy: Policy, rnd: random.Random, count: int) -> list[Request]:
    """`count` requests built from the policy's own actions, resources, principals and keys.

    Each request aims at one statement: an action and a resource instance from its lists (or
    from outside them for NotAction/NotResource, and now and then from anywhere), a caller its
    Principal names, and a context holding its condition keys with one or more of their
    values (each key absent now and then, to reach IfExists, Null and missing-key reporting).
    """
    actions = [a for s in policy.statements for a in s.action.values.items] or ["s3:GetObject"]
    arns = [
        r
        for s in policy.statements
        if s.resource is not None
        for r in s.resource.values.items
    ] or ["arn:aws:s3:::bucket/key"]
    callers = _callers(policy)
    out = []
    for _ in range(count):
        statement = rnd.choice(policy.statements)
        context: dict[str, ContextValue] = {}
        spec = statement.action
        if rnd.random() < 0.15:
            action_pattern = rnd.choice(actions)
        elif spec.negated:
            action_pattern = rnd.choice(["svc:Other", "s3:PutBucketPolicy", "iam:PassRole"])
        else:
            action_pattern = rnd.choice(spec.values.items)
        action = _instance(action_pattern, rnd, context)
        if ":" not in action:
            action = "s3:" + (action or "GetObject")
        resource_spec = statement.resource
        if rnd.random() < 0.15 or resource_spec is None or not resource_spec.values.items:
            arn_pattern = rnd.choice(arns)
        elif resource_spec.negated:
            arn_pattern = rnd.choice(["arn:aws:sqs:us-east-1:111122223333:other", "*"])
        else:
            arn_pattern = rnd.choice(resource_spec.values.items)
        arn = _instance(arn_pattern, rnd, context) or "*"
        entries = [e for clause in statement.condition or () for e in clause.entries]
        if rnd.random() < 0.2:
            entries += [
                e for s in policy.statements for c in s.condition or () for e in c.entries
            ]
        for entry in entries:
            roll = rnd.random()
            if roll < 0.15 or not entry.values:
                continue
            texts_ = [v.text for v in entry.values]
            if roll < 0.75:
                context[entry.key] = rnd.choice(texts_)
            else:
                context[entry.key] = tuple(rnd.sample(texts_, rnd.randint(1, len(texts_))))
        fields = arn.split(":", 5)
        account = fields[4] if len(fields) == 6 and fields[4].isdigit() else None
        resource = Resource(arn, account=account, tags={"Name": "web", "env": "prod"})
        out.append(Request(rnd.choice(callers), action, resource, context))
    return out


Outcome = tuple[str, ...] | EvaluationResult


def _decide(policies: PolicySet, request: Request) -> Outcome:
    """The evaluation result, or the validation error's code and message (which must agree).

    The error's location is left out: P, built in memory, has no spans, while Q was parsed.
    """
    try:
        return evaluate(policies, request)
    except PolicyValidationError as err:
        return ("error", err.code, err.message)


def _roles(policy: Policy) -> list[tuple[str, PolicySet]]:
    """The roles to evaluate a policy in: identity, and resource policy when it has principals."""
    roles = [
        (
            "identity",
            PolicySet(identity=(NamedPolicy("identity[0]", policy, PolicyKind.IDENTITY),)),
        )
    ]
    if any(s.principal is not None for s in policy.statements):
        roles.append(
            ("resource", PolicySet(resource=NamedPolicy("resource", policy, PolicyKind.RESOURCE)))
        )
    return roles


@attrs.define
class RoundTripStats:
    """What a round-trip check looked at (for the long run's report)."""

    policies: int = 0
    evaluations: int = 0
    decisions: Counter[str] = attrs.field(factory=Counter)
    with_matches: int = 0  # evaluations whose result names at least one matched statement


def check_json_dsl_json(
    policy: Policy, requests: list[Request], stats: RoundTripStats | None = None
) -> None:
    """JSON → DSL → JSON gives an equal IR and equal decisions; DSL → JSON → DSL is canonical.

    `policy` is P. Raises AssertionError naming what differs.
    """
    json_text = format_iam_json(policy)
    dsl_text = format_dsl(parse_iam_json(json_text, source_name="p.json"))
    back = parse_iam_json(
        format_iam_json(parse_dsl(dsl_text, source_name="p.policy")), source_name="q.json"
    )
    assert back == policy, f"IR differs after JSON → DSL → JSON:\n{dsl_text}"
    assert format_iam_json(back) == json_text

    # DSL → JSON → DSL gives back the canonical text.
    again = format_dsl(parse_iam_json(format_iam_json(parse_dsl(dsl_text))))
    assert again == dsl_text, f"DSL → JSON → DSL changed the text:\n{dsl_text}\n---\n{again}"

    roles_p = _roles(policy)
    roles_q = _roles(back)
    assert [name for name, _ in roles_p] == [name for name, _ in roles_q]
    for (role, set_p), (_, set_q) in zip(roles_p, roles_q, strict=True):
        for request in requests:
            expected = _decide(set_p, request)
            actual = _decide(set_q, request)
            if isinstance(expected, EvaluationResult) and isinstance(actual, EvaluationResult):
                assert actual.decision == expected.decision, (role, request)
                assert actual.matched_statements == expected.matched_statements, (role, request)
            assert actual == expected, (role, request, expected, actual)
            if stats is not None:
                stats.evaluations += 1
                label = expected.decision.value if isinstance(expected, EvaluationResult) else (
                    expected[1]
                )
                stats.decisions[f"{role}:{label}"] += 1
                if isinstance(expected, EvaluationResult) and expected.matched_statements:
                    stats.with_matches += 1
    if stats is not None:
        stats.policies += 1


REQUESTS_PER_POLICY = 6


def roundtrip_property(policy: Policy, rnd: random.Random) -> None:
    """The property body shared by the test below and benchmarks/dsl_roundtrip_long.py."""
    check_json_dsl_json(policy, requests_for(policy, rnd, REQUESTS_PER_POLICY))


@settings(max_examples=100, deadline=None)
@given(policies(), st.randoms(use_true_random=False))
def test_json_dsl_json_keeps_ir_and_decisions(policy: Policy, rnd: random.Random) -> None:
    roundtrip_property(policy, rnd)


@settings(max_examples=50, deadline=None)
@given(identity_policies(), st.randoms(use_true_random=False))
def test_json_dsl_json_keeps_decisions_of_valid_identity_policies(
    policy: Policy, rnd: random.Random
) -> None:
    # Valid identity policies always have a Resource, so every request reaches a decision.
    stats = RoundTripStats()
    check_json_dsl_json(policy, requests_for(policy, rnd, REQUESTS_PER_POLICY), stats)
    assert stats.evaluations == REQUESTS_PER_POLICY
    assert not any(key.startswith("identity:policy.") for key in stats.decisions)
