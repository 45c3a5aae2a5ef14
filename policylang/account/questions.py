"""Questions about an environment of accounts: who-can, can, assume-paths.

Every answer is checked with `policylang.evaluator.evaluate` over the same `PolicySet` that
`Environment.authorize` builds, so each entry can be replayed as a simulation case
(`Answer.to_case()`).

Context-dependent answers. A question is asked with the context the caller gives (often none).
When the evaluator reports condition keys that the request lacked, the answer is re-evaluated
twice with the statements that test those keys forced: once *optimistically* (their Allow
statements apply, their Deny statements do not) and once *pessimistically* (the reverse).
Allowed even pessimistically → `allowed`; denied even optimistically → `denied`; otherwise
`conditional`, with the conditions that decide it listed. Conditions on keys the request does
carry (principal tags, `aws:PrincipalArn`, …) are decided normally.
"""

from __future__ import annotations

import fnmatch
import re
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from typing import Literal

import attrs

from policylang.account.ids import is_account_id, is_unique_id
from policylang.account.model import ROLE_TRUST_ACTIONS, Account, Environment, Role
from policylang.account.resolve import (
    Principal,
    Question,
    build_question,
    find_principal,
    identity_policies,
    role_principal,
    root_principal,
    user_principal,
)
from policylang.decision import Decision, EvaluationResult
from policylang.ir import (
    ActionSpec,
    ConditionClause,
    Effect,
    Policy,
    Statement,
    Values,
)
from policylang.patterns import compile_action_pattern
from policylang.policy_set import NamedPolicy, PolicySet
from policylang.request import ContextValue

Status = Literal["allowed", "conditional", "denied"]


@attrs.frozen
class StatementRef:
    """A statement an answer relies on: its policy label and origin, index, Sid, conditions."""

    label: str
    source: str
    index: int
    sid: str | None
    effect: str
    conditions: tuple[str, ...] = ()

    def describe(self) -> str:
        name = f"Sid `{self.sid}`" if self.sid else f"statement {self.index}"
        text = f"{self.effect} {name} of {self.source}"
        if self.conditions:
            text += " when " + " and ".join(self.conditions)
        return text


@attrs.frozen
class Answer:
    """One principal's answer to one request."""

    principal: str
    kind: str
    account: str | None
    action: str
    resource: str
    status: Status
    decision: Decision
    statements: tuple[StatementRef, ...] = ()
    missing_keys: tuple[str, ...] = ()
    note: str | None = None
    question: Question | None = attrs.field(default=None, eq=False, repr=False)
    result: EvaluationResult | None = attrs.field(default=None, eq=False, repr=False)

    def to_case(self, name: str | None = None) -> dict[str, object]:
        if self.question is None:
            raise ValueError("this answer was not computed by the evaluator")
        return self.question.to_case(name=name)

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "principal": self.principal,
            "kind": self.kind,
            "account": self.account,
            "action": self.action,
            "resource": self.resource,
            "status": self.status,
            "decision": self.decision.value,
            "statements": [
                {
                    "policy": s.label,
                    "source": s.source,
                    "index": s.index,
                    "sid": s.sid,
                    "effect": s.effect,
                    "conditions": list(s.conditions),
                }
                for s in self.statements
            ],
            "missing_context_keys": list(self.missing_keys),
        }
        if self.note:
            out["note"] = self.note
        return out


# --------------------------------------------------------------------------------------------
# Rendering conditions


def render_condition(clause: ConditionClause) -> list[str]:
    out = []
    for entry in clause.entries:
        values = [v.text for v in entry.values]
        shown = (
            values[0] if len(values) == 1 and not entry.is_list else "[" + ", ".join(values) + "]"
        )
        out.append(f"{clause.operator}({entry.key}, {shown})")
    return out


def statement_conditions(statement: Statement) -> tuple[str, ...]:
    out: list[str] = []
    for clause in statement.condition or ():
        out.extend(render_condition(clause))
    return tuple(out)


def _refs(question: Question, result: EvaluationResult) -> tuple[StatementRef, ...]:
    refs = []
    for matched in result.matched_statements:
        if matched.policy.startswith(("scp", "rcp")) and matched.effect is Effect.ALLOW:
            continue  # FullAWSAccess-style guardrail allows explain nothing (as AWS's simulator)
        named = question.named_policy(matched.policy)
        conditions: tuple[str, ...] = ()
        if named is not None and 0 <= matched.index < len(named.policy.statements):
            conditions = statement_conditions(named.policy.statements[matched.index])
        refs.append(
            StatementRef(
                matched.policy,
                question.descriptions.get(matched.policy, matched.policy),
                matched.index,
                matched.sid,
                matched.effect.value,
                conditions,
            )
        )
    return tuple(refs)


# --------------------------------------------------------------------------------------------
# Deciding with unknown context

_NEVER = ActionSpec(Values(("policylang-never:match",)))


def _keys_of(statement: Statement) -> set[str]:
    return {e.key.lower() for c in statement.condition or () for e in c.entries}


def _force(policy_set: PolicySet, missing: set[str], optimistic: bool) -> PolicySet:
    """The policy set with every statement testing a missing key forced on or off."""

    def fix(named: NamedPolicy) -> NamedPolicy:
        changed = False
        statements = []
        for statement in named.policy.statements:
            if statement.condition and _keys_of(statement) & missing:
                changed = True
                keep = (statement.effect is Effect.ALLOW) == optimistic
                statement = (
                    attrs.evolve(statement, condition=None)
                    if keep
                    else attrs.evolve(statement, action=_NEVER)
                )
            statements.append(statement)
        if not changed:
            return named
        return attrs.evolve(named, policy=attrs.evolve(named.policy, statements=tuple(statements)))

    def fix_opt(named: NamedPolicy | None) -> NamedPolicy | None:
        return None if named is None else fix(named)

    return PolicySet(
        identity=tuple(fix(p) for p in policy_set.identity),
        resource=fix_opt(policy_set.resource),
        boundary=fix_opt(policy_set.boundary),
        session=tuple(fix(p) for p in policy_set.session),
        scp=tuple(tuple(fix(p) for p in level) for level in policy_set.scp),
        rcp=tuple(tuple(fix(p) for p in level) for level in policy_set.rcp),
    )


def decide(question: Question) -> tuple[Status, EvaluationResult, tuple[StatementRef, ...]]:
    """Evaluate a question; classify it allowed / conditional / denied (module docstring)."""
    from policylang.evaluator import evaluate

    result = question.evaluate()
    if not result.missing_context_keys:
        return ("allowed" if result.allowed else "denied"), result, _refs(question, result)
    missing = {k.lower() for k in result.missing_context_keys}
    pessimistic = evaluate(_force(question.policy_set, missing, False), question.request)
    if pessimistic.allowed:
        return "allowed", result, _refs(question, result if result.allowed else pessimistic)
    optimistic = evaluate(_force(question.policy_set, missing, True), question.request)
    if not optimistic.allowed:
        return "denied", result, _refs(question, result)
    return "conditional", result, _refs(question, optimistic)


def answer_for(question: Question, *, note: str | None = None) -> Answer:
    status, result, refs = decide(question)
    p = question.principal
    return Answer(
        principal=p.display,
        kind=p.kind,
        account=p.account,
        action=question.request.action,
        resource=question.request.resource.arn,
        status=status,
        decision=result.decision,
        statements=refs,
        missing_keys=tuple(result.missing_context_keys),
        note=note,
        question=question,
        result=result,
    )


# --------------------------------------------------------------------------------------------
# who-can


@attrs.frozen
class WhoCanResult:
    action: str
    resource: str
    answers: tuple[Answer, ...]

    def by_status(self, status: Status) -> tuple[Answer, ...]:
        return tuple(a for a in self.answers if a.status == status)

    def principals(self, status: Status | None = None) -> list[str]:
        return [a.principal for a in self.answers if status is None or a.status == status]


class _ActionFilter:
    """Cheap pre-check: can a policy's Allow statements match the action at all?"""

    def __init__(self, action: str) -> None:
        self.action = action
        self._cache: dict[int, tuple[Policy, bool]] = {}

    def allows(self, policy: Policy) -> bool:
        hit = self._cache.get(id(policy))
        if hit is not None and hit[0] is policy:
            return hit[1]
        answer = any(
            s.effect is Effect.ALLOW
            and (
                s.action.negated
                or any(compile_action_pattern(p)(self.action) for p in s.action.values.items)
            )
            for s in policy.statements
        )
        self._cache[id(policy)] = (policy, answer)
        return answer


def all_principals(env: Environment, *, include_root: bool = False) -> Iterator[Principal]:
    """Every user, every role (as a session) and optionally each account's root user."""
    for account in env.accounts.values():
        for user in account.users.values():
            yield user_principal(account, user)
        for role in account.roles.values():
            yield role_principal(account, role)
        if include_root:
            yield root_principal(account.account_id, account.partition)


def who_can(
    env: Environment,
    action: str,
    resource: str,
    *,
    context: Mapping[str, ContextValue] | None = None,
    include_root: bool = False,
    include_denied: bool = False,
) -> WhoCanResult:
    """Every principal allowed (or conditionally allowed) to perform `action` on `resource`.

    Users and roles of every loaded account are evaluated; so are the service principals,
    identity providers and anonymous callers that the resource policy (or trust policy) names.
    Principals of accounts outside the environment named there are reported as `conditional`:
    their own account's policies decide the identity side."""
    action_filter = _ActionFilter(action)
    answers: list[Answer] = []
    resource_policy = _resource_policy_for(env, action, resource)
    granted_keys: set[str] = set()
    if resource_policy is not None:
        for statement in resource_policy.statements:
            if statement.effect is Effect.ALLOW:
                granted_keys |= trust_keys(statement)
    for principal in all_principals(env, include_root=include_root):
        # PERF: a principal with no Allow that can match the action, whom the resource policy
        # does not name either, is denied without building its question.
        if (
            principal.kind != "root"
            and not (granted_keys & principal_keys(principal))
            and not any(
                action_filter.allows(doc) for doc, _, _ in identity_policies(env, principal)
            )
        ):
            if include_denied:
                answers.append(
                    answer_for(build_question(env, principal, action, resource, context))
                )
            continue
        answer = answer_for(build_question(env, principal, action, resource, context))
        if include_denied or answer.status != "denied":
            answers.append(answer)
    if resource_policy is not None:
        answers.extend(
            _external_answers(env, resource_policy, action, resource, context, include_denied)
        )
    order = {"allowed": 0, "conditional": 1, "denied": 2}
    answers.sort(key=lambda a: (order[a.status], a.principal))
    return WhoCanResult(action, resource, tuple(answers))


def _resource_policy_for(env: Environment, action: str, resource: str) -> Policy | None:
    if action.lower() in ROLE_TRUST_ACTIONS:
        parts = resource.split(":", 5)
        if len(parts) == 6 and parts[5].startswith("role/"):
            account = env.accounts.get(parts[4])
            role = account.roles.get(parts[5].rsplit("/", 1)[-1].lower()) if account else None
            if role is not None and role.arn == resource:
                return role.trust_policy
    _, entry = env.find_resource(resource)
    return entry.document if entry is not None else None


def _external_answers(
    env: Environment,
    policy: Policy,
    action: str,
    resource: str,
    context: Mapping[str, ContextValue] | None,
    include_denied: bool,
) -> list[Answer]:
    seen: set[str] = set()
    out: list[Answer] = []
    for statement in policy.statements:
        if statement.effect is not Effect.ALLOW or statement.principal is None:
            continue
        if not statement.action.negated and not any(
            compile_action_pattern(p)(action) for p in statement.action.values.items
        ):
            continue
        for entry in statement.principal.entries:
            for value in entry.values.items:
                key = f"{entry.kind}:{value}"
                if key in seen:
                    continue
                seen.add(key)
                answer = _external_answer(env, entry.kind, value, action, resource, context)
                if answer is not None and answer.kind == "external":
                    index = policy.statements.index(statement)
                    ref = StatementRef(
                        "resource",
                        "the resource policy",
                        index,
                        statement.sid,
                        "Allow",
                        statement_conditions(statement),
                    )
                    answer = attrs.evolve(answer, statements=(ref,))
                if answer is not None and (include_denied or answer.status != "denied"):
                    out.append(answer)
        if statement.principal.is_wildcard and "AWS:*" not in seen:
            seen.add("AWS:*")
            answer = _external_answer(env, "AWS", "*", action, resource, context)
            if answer is not None and (include_denied or answer.status != "denied"):
                out.append(answer)
    return out


def _external_answer(
    env: Environment,
    kind: str,
    value: str,
    action: str,
    resource: str,
    context: Mapping[str, ContextValue] | None,
) -> Answer | None:
    if kind == "Service":
        principal = find_principal(env, value) if "." in value else None
        if principal is None or principal.kind != "service":
            return None
        return answer_for(build_question(env, principal, action, resource, context))
    if kind == "Federated":
        from policylang.account.resolve import federated_principal

        return answer_for(
            build_question(env, federated_principal(value), action, resource, context)
        )
    if kind != "AWS":
        return None
    if value == "*":
        if action.lower() in ROLE_TRUST_ACTIONS:
            return None  # anonymous callers cannot assume roles
        principal = find_principal(env, "anonymous")
        return answer_for(
            build_question(env, principal, action, resource, context),
            note="anyone, including anonymous callers",
        )
    account_id = (
        value
        if is_account_id(value)
        else (value.split(":")[4] if value.startswith("arn:") and value.count(":") >= 5 else None)
    )
    if account_id is None or account_id in env.accounts:
        return None  # in-environment principals were evaluated one by one
    return Answer(
        principal=value,
        kind="external",
        account=account_id,
        action=action,
        resource=resource,
        status="conditional",
        decision=Decision.IMPLICIT_DENY,
        note=f"named by the resource policy; account {account_id} is not loaded, so its own "
        "identity policies and SCPs decide the rest",
    )


# --------------------------------------------------------------------------------------------
# can


@attrs.frozen
class CanResult:
    principal: str
    answers: tuple[Answer, ...]


def can(
    env: Environment,
    principal: str,
    *,
    service: str | None = None,
    context: Mapping[str, ContextValue] | None = None,
    session_name: str | None = None,
    include_denied: bool = False,
) -> CanResult:
    """What a principal may do: each action/resource its identity policies grant, and each
    grant that resource and trust policies of the loaded accounts make to it, checked with the
    evaluator (so SCPs, boundaries, explicit denies are applied). Wildcard actions and
    resources are checked as written (e.g. the action `s3:Get*` itself), except a resource
    ARN whose account field is a pattern (`arn:aws:iam::*:role/X`): it names no owner, so it
    is checked once per loaded account it matches, with a note naming the original grant."""
    who = find_principal(env, principal, session_name=session_name)
    wanted = service.lower() if service else None
    pairs: list[tuple[str, str]] = []
    origins: dict[tuple[str, str], str] = {}

    def add(action: str, resource: str) -> None:
        if _wildcard_account(resource):
            # A wildcard account field names no owner: the grant is checked once per loaded
            # account it matches, with that account's resource/trust policies and RCPs.
            # Accounts that are not loaded cannot be decided and are not listed.
            parts = resource.split(":", 5)
            for account_id in sorted(env.accounts):
                if fnmatch.fnmatchcase(account_id, parts[4]):
                    concrete = ":".join((*parts[:4], account_id, parts[5]))
                    add_one(action, concrete)
                    origins.setdefault(
                        (action, concrete),
                        f"from the grant on `{resource}` (account field is a wildcard)",
                    )
            return
        add_one(action, resource)

    def add_one(action: str, resource: str) -> None:
        if wanted is not None:
            prefix = action.split(":", 1)[0].lower()
            if action == "*":
                action = f"{wanted}:*"
            elif prefix != wanted:
                return
        if (action, resource) not in pairs:
            pairs.append((action, resource))

    for doc, _, _ in identity_policies(env, who):
        for statement in doc.statements:
            if statement.effect is not Effect.ALLOW:
                continue
            actions = ["*"] if statement.action.negated else list(statement.action.values.items)
            resources = (
                ["*"]
                if statement.resource is None or statement.resource.negated
                else list(statement.resource.values.items)
            )
            for action in actions:
                for resource in resources:
                    add(action, resource)
    for action, resource in _resource_grants(env, who):
        add(action, resource)
    answers = []
    for action, resource in pairs:
        sample = _sample_action(action)
        notes = [] if sample == action else [f"checked with the sample action `{sample}`"]
        if (action, resource) in origins:
            notes.append(origins[action, resource])
        note = "; ".join(notes) or None
        question = build_question(env, who, sample, _substitute(resource, who), context)
        answer = attrs.evolve(answer_for(question, note=note), action=action, resource=resource)
        if include_denied or answer.status != "denied":
            answers.append(answer)
    return CanResult(who.display, tuple(answers))


def _resource_grants(env: Environment, who: Principal) -> Iterator[tuple[str, str]]:
    keys = principal_keys(who)
    for account in env.accounts.values():
        for role in account.roles.values():
            for action, _ in _granted(role.trust_policy, keys, role.arn):
                yield action, role.arn
        for arn, entry in account.resource_policies.items():
            if entry.document is not None:
                yield from _granted(entry.document, keys, arn)


def _granted(policy: Policy, keys: set[str], arn: str) -> Iterator[tuple[str, str]]:
    """(action, resource) of each Allow statement that may name one of `keys`."""
    for statement in policy.statements:
        if statement.effect is not Effect.ALLOW or statement.principal is None:
            continue
        if not (trust_keys(statement) & keys):
            continue
        actions = ["*"] if statement.action.negated else list(statement.action.values.items)
        resources = (
            [arn]
            if statement.resource is None or statement.resource.negated
            else list(statement.resource.values.items)
        )
        for action in actions:
            for resource in resources:
                yield action, resource


def _wildcard_account(resource: str) -> bool:
    """True for an ARN whose account field is a pattern (`*`, `1111*`, `?`)."""
    parts = resource.split(":", 5)
    return len(parts) == 6 and parts[0] == "arn" and any(c in parts[4] for c in "*?")


def _sample_action(pattern: str) -> str:
    """A concrete action matching an action pattern (`s3:Get*` → `s3:GetAny`), so the
    question is one request that `policylang simulate` can replay."""
    if pattern == "*":
        return "any:Any"
    service, _, name = pattern.partition(":")
    if not any(c in pattern for c in "*?"):
        return pattern
    return f"{service}:{name.replace('*', 'Any').replace('?', 'X') or 'Any'}"


def _substitute(resource: str, who: Principal) -> str:
    """Fill the policy variables a principal defines, so a sample resource can match."""
    if "${" not in resource:
        return resource
    values = {
        "aws:username": who.user.name if who.user else None,
        "aws:userid": who.caller.id,
        "aws:principalaccount": who.account,
    }
    for key, value in values.items():
        if value is not None:
            resource = re.sub(
                r"\$\{" + re.escape(key) + r"\}",
                value.replace("\\", "\\\\"),
                resource,
                flags=re.IGNORECASE,
            )
    return resource


# --------------------------------------------------------------------------------------------
# Trust index and assume-paths


def _normalise_aws(value: str) -> str:
    if value == "*":
        return "*"
    if is_account_id(value):
        return f"acct:{value}"
    if is_unique_id(value):
        return f"id:{value}"
    parts = value.split(":", 5)
    if len(parts) == 6 and parts[2] == "iam":
        if parts[5] == "root":
            return f"acct:{parts[4]}"
        if parts[5].startswith("role/"):
            return f"role:{parts[4]}:{parts[5].rsplit('/', 1)[-1].lower()}"
    return f"arn:{value}"


def trust_keys(statement: Statement) -> set[str]:
    """Index keys of the principals an Allow statement names (NotPrincipal counts as `*`)."""
    spec = statement.principal
    if spec is None:
        return set()
    if spec.negated or spec.is_wildcard:
        return {"*"}
    keys: set[str] = set()
    for entry in spec.entries:
        for value in entry.values.items:
            if entry.kind == "AWS":
                keys.add(_normalise_aws(value))
            elif entry.kind == "Service":
                keys.add(f"svc:{value}")
            elif entry.kind == "Federated":
                keys.add(f"fed:{value}")
    return keys


def principal_keys(principal: Principal) -> set[str]:
    """The index keys under which a trust or resource policy could name `principal`."""
    keys = {"*"}
    caller = principal.caller
    if principal.kind == "service":
        return {"*", f"svc:{principal.arn}"}
    if principal.kind == "federated":
        return {"*", f"fed:{principal.arn}"}
    if principal.kind == "anonymous":
        return keys
    if principal.account:
        keys.add(f"acct:{principal.account}")
    if principal.user is not None:
        keys.add(f"arn:{principal.user.arn}")
        keys.add(f"id:{principal.user.id}")
    if principal.role is not None:
        keys.add(f"role:{principal.account}:{principal.role.name.lower()}")
        keys.add(f"id:{principal.role.id}")
        if caller.arn:
            keys.add(f"arn:{caller.arn}")
    return keys


class TrustIndex:
    """Roles by the principals their trust policies' Allow statements name."""

    def __init__(self, env: Environment) -> None:
        self.roles: dict[str, list[tuple[Account, Role]]] = {}
        for account in env.accounts.values():
            for role in account.roles.values():
                keys: set[str] = set()
                for statement in role.trust_policy.statements:
                    if statement.effect is Effect.ALLOW:
                        keys |= trust_keys(statement)
                for key in keys:
                    self.roles.setdefault(key, []).append((account, role))

    def candidates(self, principal: Principal) -> list[tuple[Account, Role]]:
        seen: set[str] = set()
        out = []
        for key in sorted(principal_keys(principal)):
            for account, role in self.roles.get(key, ()):
                if role.arn not in seen:
                    seen.add(role.arn)
                    out.append((account, role))
        out.sort(key=lambda pair: pair[1].arn)
        return out


def assume_action(principal: Principal) -> str:
    if principal.kind == "federated":
        return (
            "sts:AssumeRoleWithSAML"
            if ":saml-provider/" in (principal.arn or "")
            else "sts:AssumeRoleWithWebIdentity"
        )
    return "sts:AssumeRole"


@attrs.frozen
class Hop:
    source: str
    target: str
    status: Status
    statements: tuple[StatementRef, ...]
    answer: Answer = attrs.field(eq=False, repr=False)

    @property
    def conditions(self) -> tuple[str, ...]:
        return tuple(c for s in self.statements if s.effect == "Allow" for c in s.conditions)


@attrs.frozen
class RoleReach:
    role: str
    hops: tuple[Hop, ...]

    @property
    def status(self) -> Status:
        return "conditional" if any(h.status == "conditional" for h in self.hops) else "allowed"


@attrs.frozen
class AssumePathsResult:
    principal: str
    reachable: tuple[RoleReach, ...]

    def roles(self) -> list[str]:
        return [r.role for r in self.reachable]


def assume_edges(
    env: Environment,
    index: TrustIndex,
    principal: Principal,
    context: Mapping[str, ContextValue] | None = None,
) -> list[tuple[Role, Answer]]:
    """The roles `principal` can assume in one step (allowed or conditional)."""
    if principal.kind in ("root", "anonymous"):
        return []  # AWS: the root user cannot call AssumeRole (evaluation.md §7.2)
    out = []
    action = assume_action(principal)
    for _, role in index.candidates(principal):
        if principal.role is not None and principal.role.arn == role.arn:
            continue
        answer = answer_for(build_question(env, principal, action, role.arn, context))
        if answer.status != "denied":
            out.append((role, answer))
    return out


def assume_paths(
    env: Environment,
    principal: str,
    *,
    context: Mapping[str, ContextValue] | None = None,
    max_depth: int = 10,
    index: TrustIndex | None = None,
) -> AssumePathsResult:
    """Every role reachable from `principal` through trust policies (role chaining included),
    each with one shortest path and the status and conditions of every hop."""
    start = find_principal(env, principal)
    index = index or TrustIndex(env)
    reached: dict[str, RoleReach] = {}
    queue: deque[tuple[Principal, tuple[Hop, ...]]] = deque([(start, ())])
    while queue:
        current, hops = queue.popleft()
        if len(hops) >= max_depth:
            continue
        for role, answer in assume_edges(env, index, current, context):
            if role.arn in reached or (start.role is not None and start.role.arn == role.arn):
                continue
            hop = Hop(current.display, role.arn, answer.status, answer.statements, answer)
            path = (*hops, hop)
            reached[role.arn] = RoleReach(role.arn, path)
            account = env.accounts[role.arn.split(":")[4]]
            queue.append((role_principal(account, role), path))
    return AssumePathsResult(start.display, tuple(reached.values()))


def statuses(answers: Iterable[Answer]) -> dict[str, Status]:
    """principal → status, for tests and summaries."""
    return {a.principal: a.status for a in answers}
