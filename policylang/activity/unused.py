"""Unused access: what each principal is granted but did not use over a period of activity.

Computed with the evaluator, never by comparing policy text with event names:

* *granted*: `policylang.account.can` — every (action pattern, resource) an identity policy,
  resource policy or trust policy grants the principal, each decided by the evaluator (SCPs,
  boundaries and explicit denies applied); `allowed` and `conditional` grants count.
* *used*: every distinct successful request of the principal in the activity is decided again
  by the evaluator; when allowed, the Allow statements it matched (`matched_statements`) are
  the statements it used. A grant is used when one of its own statements was used by an
  observed request whose action and resource the grant's patterns match.
* *roles*: the roles the principal can assume in one step (`assume_edges`, evaluator-checked
  trust and identity policies) minus the roles it was seen assuming.

Observed successes that the evaluator denies are reported (`unexplained`): the loaded
policies do not explain the activity (policies changed since, or data missing).

Without an action catalogue, wildcard grants are reported as patterns (`s3:Get*` never
used); exact actions are reported as actions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs

from policylang.account.model import Environment
from policylang.account.questions import (
    TrustIndex,
    all_principals,
    assume_edges,
    can,
)
from policylang.account.resolve import Principal
from policylang.activity.cloudtrail import Mapped, RecordRef, Tally, Unmapped
from policylang.errors import PolicyLangError
from policylang.patterns import compile_action_pattern, match_pattern

__all__ = ["Grant", "PrincipalUsage", "UnusedReport", "unused_access"]


@attrs.frozen
class Grant:
    """One granted (action pattern, resource pattern), where it comes from, and its use."""

    action: str
    resource: str
    status: str
    sources: tuple[str, ...]
    used_by: tuple[str, ...] = ()  # observed actions that used it

    @property
    def used(self) -> bool:
        return bool(self.used_by)

    @property
    def service(self) -> str:
        return "*" if self.action == "*" else self.action.split(":", 1)[0].lower()

    def to_json(self) -> dict[str, object]:
        return {
            "action": self.action,
            "resource": self.resource,
            "status": self.status,
            "sources": list(self.sources),
            "used_by": list(self.used_by),
        }


@attrs.frozen
class PrincipalUsage:
    principal: str
    kind: str
    records: int
    succeeded: int
    denied: int
    used_actions: tuple[str, ...]
    grants: tuple[Grant, ...]
    assumable_roles: tuple[str, ...]
    assumed_roles: tuple[str, ...]
    unexplained: tuple[str, ...]  # "action resource" of successes the evaluator denies
    notes: tuple[str, ...] = ()

    @property
    def unused_grants(self) -> tuple[Grant, ...]:
        return tuple(g for g in self.grants if not g.used)

    @property
    def granted_services(self) -> tuple[str, ...]:
        return tuple(sorted({g.service for g in self.grants}))

    @property
    def used_services(self) -> tuple[str, ...]:
        return tuple(sorted({a.split(":", 1)[0].lower() for a in self.used_actions}))

    @property
    def unused_services(self) -> tuple[str, ...]:
        used = set(self.used_services)
        if any(g.service == "*" and g.used for g in self.grants):
            used.add("*")  # the used `*` grant is not unused; its other services are listed
        return tuple(s for s in self.granted_services if s not in used)

    @property
    def unused_actions(self) -> tuple[str, ...]:
        """Exact actions (no wildcard) granted and never used."""
        used = {a.lower() for a in self.used_actions}
        return tuple(
            sorted(
                {
                    g.action
                    for g in self.unused_grants
                    if "*" not in g.action and "?" not in g.action and g.action.lower() not in used
                }
            )
        )

    @property
    def unused_patterns(self) -> tuple[str, ...]:
        return tuple(
            sorted({g.action for g in self.unused_grants if "*" in g.action or "?" in g.action})
        )

    @property
    def never_assumed(self) -> tuple[str, ...]:
        assumed = set(self.assumed_roles)
        return tuple(r for r in self.assumable_roles if r not in assumed)

    def to_json(self) -> dict[str, object]:
        return {
            "principal": self.principal,
            "kind": self.kind,
            "records": self.records,
            "succeeded": self.succeeded,
            "denied": self.denied,
            "used_actions": list(self.used_actions),
            "granted_services": list(self.granted_services),
            "unused_services": list(self.unused_services),
            "unused_actions": list(self.unused_actions),
            "unused_patterns": list(self.unused_patterns),
            "assumable_roles": list(self.assumable_roles),
            "assumed_roles": list(self.assumed_roles),
            "never_assumed": list(self.never_assumed),
            "unexplained": list(self.unexplained),
            "notes": list(self.notes),
            "grants": [g.to_json() for g in self.grants],
        }


@attrs.frozen
class UnusedReport:
    first_event: str | None
    last_event: str | None
    tally: Tally
    unmapped_examples: tuple[str, ...]
    principals: tuple[PrincipalUsage, ...]
    roles_never_assumed: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "period": {"first_event": self.first_event, "last_event": self.last_event},
            "records": self.tally.to_json(),
            "unmapped_examples": list(self.unmapped_examples),
            "roles_never_assumed": list(self.roles_never_assumed),
            "principals": [p.to_json() for p in self.principals],
        }

    def to_text(self) -> str:
        t = self.tally
        lines = [
            f"activity {self.first_event} .. {self.last_event}: {t.total} records, "
            + ", ".join(f"{v} {k}" for k, v in sorted(t.mapped.items()))
            + " ("
            + ", ".join(f"{v} {k.lower()} events" for k, v in sorted(t.categories.items()))
            + ")"
            + (
                "; unmapped: " + ", ".join(f"{v} {k}" for k, v in sorted(t.unmapped.items()))
                if t.unmapped
                else ""
            )
        ]
        lines.extend(f"  {example}" for example in self.unmapped_examples)
        lines.append(
            "roles never assumed (no AssumeRole, no session activity): "
            + (", ".join(self.roles_never_assumed) or "none")
        )
        for p in self.principals:
            lines.append("")
            lines.append(
                f"{p.principal} ({p.kind}): {p.records} records, {p.succeeded} succeeded, "
                f"{p.denied} denied"
            )
            if p.used_actions:
                lines.append("  used: " + ", ".join(p.used_actions))
            if p.unused_services:
                lines.append("  services granted, never used: " + ", ".join(p.unused_services))
            if p.unused_actions:
                lines.append("  actions granted, never used: " + ", ".join(p.unused_actions))
            if p.unused_patterns:
                lines.append("  action patterns never used: " + ", ".join(p.unused_patterns))
            if p.never_assumed:
                lines.append("  roles it can assume, never assumed: " + ", ".join(p.never_assumed))
            lines.extend(f"  note: {note}" for note in p.notes)
            for item in p.unexplained:
                lines.append(f"  observed but denied by the loaded policies: {item}")
        return "\n".join(lines) + "\n"


def unused_access(
    env: Environment,
    activity: Iterable[tuple[RecordRef, Mapped | Unmapped]],
    *,
    principals: Sequence[str] | None = None,
    include_inactive: bool = True,
    max_examples: int = 10,
) -> UnusedReport:
    """Build the report from mapped activity (`requests_from_cloudtrail(...)`).

    `principals` restricts the report (ARNs or names as `find_principal` accepts); by default
    every user and role of the environment is reported (`include_inactive=False`: only those
    with activity)."""
    tally = Tally()
    examples: list[str] = []
    by_principal: dict[str, list[Mapped]] = {}
    first: str | None = None
    last: str | None = None
    session_roles: set[str] = set()
    assumed_any: set[str] = set()
    for ref, item in activity:
        tally.add(item)
        if isinstance(item, Unmapped):
            if len(examples) < max_examples:
                examples.append(item.render(ref))
            continue
        if item.event_time:
            first = item.event_time if first is None else min(first, item.event_time)
            last = item.event_time if last is None else max(last, item.event_time)
        by_principal.setdefault(item.principal_arn, []).append(item)
        if item.principal.role is not None:
            session_roles.add(item.principal.role.arn)
        if item.assumed_role and item.outcome == "success":
            assumed_any.add(item.assumed_role)

    wanted: list[Principal]
    if principals:
        from policylang.account.resolve import find_principal

        wanted = [find_principal(env, p) for p in principals]
    else:
        wanted = [p for p in all_principals(env) if include_inactive or p.display in by_principal]
    index = TrustIndex(env)
    reports = [_principal_usage(env, index, p, by_principal.get(p.display, [])) for p in wanted]
    every_role = sorted(r.arn for a in env.accounts.values() for r in a.roles.values())
    never = tuple(r for r in every_role if r not in assumed_any and r not in session_roles)
    return UnusedReport(first, last, tally, tuple(examples), tuple(reports), never)


def _principal_usage(
    env: Environment, index: TrustIndex, principal: Principal, activity: list[Mapped]
) -> PrincipalUsage:
    succeeded = [m for m in activity if m.outcome == "success"]
    denied = sum(1 for m in activity if m.outcome == "denied")
    # Distinct requests: the decision depends on action, resource and context; drop the
    # time keys, which no sample policy tests, so a month collapses to a few questions.
    seen: dict[tuple[object, ...], Mapped] = {}
    for m in succeeded:
        ctx = tuple(
            sorted(
                (k, v)
                for k, v in m.context.items()
                if k not in ("aws:CurrentTime", "aws:EpochTime", "aws:TokenIssueTime")
            )
        )
        seen.setdefault((m.action, m.resource, ctx), m)
    used_statements: list[tuple[Mapped, set[tuple[str, int]]]] = []
    used_actions: set[str] = set()
    unexplained: set[str] = set()
    assumed: set[str] = set()
    for m in seen.values():
        question = m.question()
        result = question.evaluate()
        if not result.allowed:
            unexplained.add(f"{m.action} {m.resource} ({result.decision.value})")
            continue
        used_actions.add(m.action)
        if m.assumed_role:
            assumed.add(m.assumed_role)
        keys = {
            (question.descriptions.get(s.policy, s.policy), s.index)
            for s in result.matched_statements
            if s.effect.value == "Allow"
        }
        used_statements.append((m, keys))

    grants: list[Grant] = []
    notes: list[str] = []
    try:
        answers = can(env, principal.display, session_name=principal.caller.session_name).answers
    except PolicyLangError as error:
        # Reported, not hidden: the grant enumeration failed for this principal.
        answers = ()
        notes.append(f"grants could not be enumerated: {error.message}")
    for answer in answers:
        grant_keys = {(s.source, s.index) for s in answer.statements if s.effect == "Allow"}
        action_match = compile_action_pattern(answer.action)
        users = sorted(
            {
                m.action
                for m, keys in used_statements
                if keys & grant_keys
                and action_match(m.action)
                and (
                    answer.resource == "*"
                    or match_pattern(_resolved(answer.resource, m), m.resource)
                )
            }
        )
        grants.append(
            Grant(
                answer.action,
                answer.resource,
                answer.status,
                tuple(sorted({s.source for s in answer.statements if s.effect == "Allow"})),
                tuple(users),
            )
        )
    assumable = tuple(sorted({role.arn for role, _ in assume_edges(env, index, principal)}))
    return PrincipalUsage(
        principal=principal.display,
        kind=principal.kind,
        records=len(activity),
        succeeded=len(succeeded),
        denied=denied,
        used_actions=tuple(sorted(used_actions)),
        grants=tuple(grants),
        assumable_roles=assumable,
        assumed_roles=tuple(sorted(assumed)),
        unexplained=tuple(sorted(unexplained)),
        notes=tuple(notes),
    )


def _resolved(pattern: str, mapped: Mapped) -> str:
    """A resource pattern with the policy variables the observed request defines filled in."""
    if "${" not in pattern:
        return pattern
    from policylang.account.questions import _substitute

    return _substitute(pattern, mapped.principal)
