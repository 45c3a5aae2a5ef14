"""Seeded long differential run: compiled engine versus the reference evaluator.

    python3 benchmarks/differential.py [--pairs 200000] [--seed 0] [--per-set 10]

Generates random PolicySets (identity, resource or trust policy, boundary, session policies,
SCP and RCP levels; wildcards, NotAction/NotResource/NotPrincipal, conditions of every family
with IfExists and set qualifiers, policy variables, malformed statements the reference rejects)
and random requests drawn from the same pools (every caller type, derived and explicit context
keys, multi-valued and empty values), and compares `evaluate(policies, request)` with the
compiled set's `decide`, its decision-only `decision` and a cached `Engine` (errors compare by
error code). Prints the number of pairs, disagreements (with the first few shown) and the
decision mix. Exit status 1 on any disagreement.
"""

from __future__ import annotations

import argparse
import collections
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from policylang.compiler import Compiler, Engine
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
from policylang.operators import all_operator_names
from policylang.policy_set import NamedPolicy, PolicySet
from policylang.request import Request, Resource
from tests.property.test_compiled_vs_reference import (
    ACTION_PATTERNS,
    ACTIONS,
    CALLERS,
    CONDITION_VALUE_TEXTS,
    CONTEXT_KEYS,
    PRINCIPAL_VALUES,
    RESOURCE_ARNS,
    RESOURCE_PATTERNS,
    SCALARS,
)

OPERATORS = sorted(all_operator_names())
EXTRA_ACTIONS = ["s3:List?ucket", "iam:*AccessKey*", "sqs:*", "logs:Put*", "my-svc.x:*"]
EXTRA_PRINCIPALS = {
    "Service": ["ec2.amazonaws.com", "lambda.amazonaws.com"],
    "Federated": ["arn:aws:iam::111122223333:saml-provider/corp",
                  "cognito-identity.amazonaws.com"],
    "CanonicalUser": ["79a59df900b949e55d96a1e6"],
}


class Generator:
    """Random policies and requests from a seeded `random.Random`."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.serial = 0
        self.defects = True  # generate statements the reference rejects, now and then

    def values(self, pool: Sequence[str], low: int = 1, high: int = 3) -> Values:
        items = tuple(self.rng.choice(pool) for _ in range(self.rng.randint(low, high)))
        return Values(items, is_list=len(items) != 1 or self.rng.random() < 0.3)

    def condition(self) -> tuple[ConditionClause, ...] | None:
        rng = self.rng
        roll = rng.random()
        if roll < 0.5:
            return None
        if roll < 0.55:
            return ()
        clauses = []
        for name in rng.sample(OPERATORS, rng.randint(1, 2)):
            entries = []
            for key in rng.sample(CONTEXT_KEYS, rng.randint(0, 2)):
                texts = [rng.choice(CONDITION_VALUE_TEXTS) for _ in range(rng.randint(0, 2))]
                entries.append(ConditionEntry(key, tuple(ConditionValue(t) for t in texts)))
            clauses.append(ConditionClause(name, tuple(entries)))
        if rng.random() < 0.02:
            clauses.append(ConditionClause("NotAnOperator", ()))
        if self.defects and rng.random() < 0.01:  # the reference rejects it when evaluating
            clauses.append(ConditionClause("StringEqualz", (ConditionEntry("k", ()),)))
        return tuple(clauses)

    def principal(self) -> PrincipalSpec:
        rng = self.rng
        negated = rng.random() < 0.15
        if rng.random() < 0.25:
            return PrincipalSpec(is_wildcard=True, negated=negated)
        entries = [PrincipalEntry("AWS", self.values(PRINCIPAL_VALUES))]
        if rng.random() < 0.2:
            kind = rng.choice(list(EXTRA_PRINCIPALS))
            entries.append(PrincipalEntry(kind, self.values(EXTRA_PRINCIPALS[kind])))
        return PrincipalSpec(tuple(entries), negated=negated)

    def statement(self, with_principal: bool, kind: PolicyKind) -> Statement:
        rng = self.rng
        resource: ResourceSpec | None = ResourceSpec(
            self.values(RESOURCE_PATTERNS), negated=rng.random() < 0.2
        )
        trust_like = kind in (PolicyKind.RESOURCE, PolicyKind.TRUST)
        if (trust_like and rng.random() < 0.2) or (self.defects and rng.random() < 0.005):
            resource = None  # trust-policy style; an identity statement without it is invalid
        principal = None
        if with_principal and rng.random() < 0.95:
            principal = self.principal()
        return Statement(
            effect=Effect.DENY if rng.random() < 0.2 else Effect.ALLOW,
            action=ActionSpec(
                self.values(ACTION_PATTERNS + EXTRA_ACTIONS), negated=rng.random() < 0.15
            ),
            resource=resource,
            principal=principal,
            condition=self.condition(),
            sid=rng.choice([None, "A", "B", ""]),
        )

    def policy(self, kind: PolicyKind, label: str, with_principal: bool = False) -> NamedPolicy:
        rng = self.rng
        statements = tuple(
            self.statement(with_principal, kind) for _ in range(rng.randint(1, 4))
        )
        version = rng.choice(["2012-10-17", "2012-10-17", "2012-10-17", "2008-10-17", None])
        self.serial += 1
        return NamedPolicy(f"{label}[{self.serial}]", Policy(statements, version), kind)

    def policy_set(self, shared: list[NamedPolicy]) -> PolicySet:
        rng = self.rng
        identity = [self.policy(PolicyKind.IDENTITY, "identity")
                    for _ in range(rng.randint(0, 3))]
        if shared and rng.random() < 0.5:
            identity.append(rng.choice(shared))  # a "managed" policy shared between sets
        if identity and rng.random() < 0.1:
            identity.append(identity[0])
        resource = None
        if rng.random() < 0.6:
            kind = rng.choice([PolicyKind.RESOURCE, PolicyKind.TRUST])
            resource = self.policy(kind, "resource", with_principal=True)
        boundary = self.policy(PolicyKind.BOUNDARY, "boundary") if rng.random() < 0.3 else None
        session = tuple(self.policy(PolicyKind.SESSION, "session")
                        for _ in range(rng.choice([0, 0, 0, 1, 2])))
        full = shared[0]
        scp = tuple(
            tuple([full] * rng.randint(0, 1)
                  + [self.policy(PolicyKind.SCP, "scp") for _ in range(rng.randint(0, 2))])
            for _ in range(rng.choice([0, 0, 1, 2, 3]))
        )
        rcp = tuple(
            tuple(self.policy(PolicyKind.RCP, "rcp", with_principal=True)
                  for _ in range(rng.randint(1, 2)))
            for _ in range(rng.choice([0, 0, 1, 2]))
        )
        return PolicySet(tuple(identity), resource, boundary, session, scp, rcp)

    def request(self) -> Request:
        rng = self.rng
        context: dict[str, str | tuple[str, ...]] = {}
        for key in rng.sample(CONTEXT_KEYS, rng.randint(0, 5)):
            if rng.random() < 0.25:
                context[key] = tuple(rng.choice(SCALARS) for _ in range(rng.randint(0, 3)))
            else:
                context[key] = rng.choice(SCALARS)
        resource = Resource(
            rng.choice(RESOURCE_ARNS),
            rng.choice(["111122223333", "444455556666", "123456789012", None]),
            rng.choice([{}, {"team": "blue"}, {"Name": "x", "name": "y"}]),
        )
        return Request(rng.choice(CALLERS), rng.choice(ACTIONS), resource, context)


def _outcome(fn: object) -> EvaluationResult | Decision | tuple[str, str]:
    try:
        return fn()  # type: ignore[operator,no-any-return]
    except PolicyLangError as exc:
        return ("error", exc.code)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--per-set", type=int, default=10)
    args = parser.parse_args(argv)

    gen = Generator(args.seed)
    full = NamedPolicy("FullAWSAccess", Policy((Statement(
        Effect.ALLOW, ActionSpec(Values(("*",), False)), ResourceSpec(Values(("*",), False))),)),
        PolicyKind.SCP)
    gen.defects = False
    shared = [full] + [gen.policy(PolicyKind.IDENTITY, "managed") for _ in range(20)]
    gen.defects = True
    compiler = Compiler()
    pairs = 0
    bad = 0
    mix: collections.Counter[str] = collections.Counter()
    start = time.monotonic()
    while pairs < args.pairs:
        policies = gen.policy_set(shared)
        compiled = compiler.compile(policies)
        engine = Engine(compiled, cache_size=64, compiler=compiler)
        for _ in range(args.per_set):
            request = gen.request()
            expected = _outcome(lambda: evaluate(policies, request))  # noqa: B023
            fast = _outcome(lambda: compiled.decision(request))  # noqa: B023
            got = _outcome(lambda: compiled.decide(request))  # noqa: B023
            cached = _outcome(lambda: engine.decide(request))  # noqa: B023
            want = expected if isinstance(expected, tuple) else expected.decision
            pairs += 1
            mix[expected[1] if isinstance(expected, tuple) else expected.decision.value] += 1
            if got != expected or cached != expected or fast != want:
                bad += 1
                if bad <= 5:
                    print(f"DISAGREEMENT #{bad}\n  policies={policies}\n  request={request}\n"
                          f"  reference={expected}\n  compiled={got}\n  engine={cached}\n"
                          f"  decision-only={fast}")
        if pairs % 20_000 < args.per_set:
            print(f"{pairs} pairs, {bad} disagreements, {time.monotonic() - start:.0f} s",
                  flush=True)
    print(f"done: {pairs} policy/request pairs, {bad} disagreements, "
          f"{time.monotonic() - start:.0f} s; decisions {dict(mix)}")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
