"""IR → evaluable statements, and statement groups with their action index.

`lower_policy(named)` turns every statement of a policy into a `CompiledStatement`: the
explanation record (`MatchedStatement`) built once, Action patterns kept for the index,
Resource entries compiled (resources.py), the Condition compiled (conditions.py), and the
Principal kept for per-caller matching. `StatementGroup` is what one policy set (the identity
documents, one SCP level, the resource policy, …) becomes: its statements in order, an
`ActionIndex` over them, the context keys they read, and a per-caller memo of how each
Principal matches.

A statement the reference evaluator would reject while evaluating (a missing Resource outside
resource/trust policies, an unknown condition operator) is marked `defect`; a policy set
holding one is decided by the reference evaluator itself, so that its errors surface exactly
as the reference raises them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from policylang.compiler.conditions import CompiledCondition
from policylang.compiler.index import ActionIndex
from policylang.compiler.resources import ArnMatcher, ResourceEntry
from policylang.decision import MatchedStatement
from policylang.errors import PolicyLangError
from policylang.evaluator import match_principal
from policylang.ir import Effect, PolicyKind, PrincipalSpec, Statement
from policylang.policy_set import NamedPolicy
from policylang.request import Caller

ContextValue = str | tuple[str, ...]
Context = Mapping[str, ContextValue]

_PRINCIPAL_MEMO_LIMIT = 8192


class CompiledStatement:
    """One statement ready to evaluate. Attributes are read on the hot path, so plain slots."""

    __slots__ = (
        "actions",
        "all_resources",
        "applies",
        "condition",
        "defect",
        "deny",
        "dynamic_resources",
        "index",
        "matched",
        "named",
        "not_action",
        "not_resource",
        "principal",
        "reads",
        "static_only",
        "static_resource",
        "trust_resource",
    )

    def __init__(self, named: NamedPolicy, index: int, statement: Statement) -> None:
        policy = named.policy
        enabled = policy.variables_enabled
        self.named = named
        self.index = index
        self.deny = statement.effect is Effect.DENY
        self.matched = MatchedStatement(
            policy=named.label,
            index=index,
            sid=statement.sid,
            effect=statement.effect,
            span=statement.span,
            source=policy.source.name if policy.source is not None else None,
        )
        self.actions: tuple[str, ...] = statement.action.values.items
        self.not_action = statement.action.negated
        self.principal: PrincipalSpec | None = statement.principal
        self.defect = False
        reads: set[str] = set()

        # Resource / NotResource
        spec = statement.resource
        self.trust_resource = spec is None  # the policy's own resource (trust policies)
        self.not_resource = bool(spec is not None and spec.negated)
        self.all_resources = False  # `Resource: "*"` (and no NotResource)
        self.static_resource: ArnMatcher | None = None
        self.dynamic_resources: tuple[ResourceEntry, ...] = ()
        if spec is None:
            if named.kind not in (PolicyKind.TRUST, PolicyKind.RESOURCE):
                self.defect = True  # the reference raises policy.missing-resource
        else:
            entries = [ResourceEntry(t, variables_enabled=enabled) for t in spec.values.items]
            statics = [e.static for e in entries if e.static is not None]
            self.dynamic_resources = tuple(e for e in entries if e.static is None)
            for e in self.dynamic_resources:
                reads |= e.reads
            if not spec.negated and "*" in spec.values.items and not self.dynamic_resources:
                self.all_resources = True
            elif len(statics) == 1:
                self.static_resource = statics[0]
            elif statics:
                self.static_resource = _any_of(tuple(statics))

        # the usual shape: only static entries (no variables), checked with one call
        self.static_only: ArnMatcher | None = None
        if self.static_resource is not None and not self.dynamic_resources:
            self.static_only = self.static_resource

        # Condition
        self.condition: CompiledCondition | None = None
        if statement.condition:
            try:
                cond = CompiledCondition(statement.condition, variables_enabled=enabled)
            except PolicyLangError:
                self.defect = True  # unknown operator: the reference raises when it gets here
            else:
                if cond.tests or cond.keys or cond.variable_keys:
                    self.condition = cond
                reads |= cond.reads
        self.reads: frozenset[str] = frozenset(reads)
        self.applies = self._applies_test()

    def _applies_test(self) -> Callable[[str, Context], bool]:
        """`applies(arn, ctx)`: do the Resource and the Condition hold? (Principal aside.)

        One closure per statement, specialised to its shape, for the decision-only path; the
        same predicate as resource_matches + condition.matches (missing keys not recorded).
        """
        cond = self.condition
        matches = cond.matches if cond is not None else None
        static = self.static_only
        if self.all_resources or self.trust_resource:
            if matches is None:
                return _always
            return lambda _arn, ctx: matches(ctx)
        if static is not None:
            if self.not_resource:
                if matches is None:
                    return lambda arn, _ctx: not static(arn)
                return lambda arn, ctx: not static(arn) and matches(ctx)
            if matches is None:
                return lambda arn, _ctx: static(arn)
            return lambda arn, ctx: static(arn) and matches(ctx)

        def general(arn: str, ctx: Context) -> bool:
            if not self.resource_matches(arn, ctx, set()):
                return False
            return matches is None or matches(ctx)

        return general

    def resource_matches(self, arn: str, ctx: Context, missing: set[str]) -> bool:
        """Resource/NotResource against the request's resource ARN (evaluator semantics)."""
        if self.all_resources or self.trust_resource:
            return True
        hit = False
        for entry in self.dynamic_resources:
            result = entry.match(arn, ctx)
            if result is None:
                # an unresolvable variable: the entry matches nothing (conditions.md §5.3)
                missing.update(entry.missing_keys(ctx))
            elif result:
                hit = True
        if not hit and self.static_resource is not None:
            hit = self.static_resource(arn)
        return hit != self.not_resource


def _always(_arn: str, _ctx: Context) -> bool:
    return True


def _any_of(matchers: tuple[ArnMatcher, ...]) -> ArnMatcher:
    def match(arn: str) -> bool:
        for m in matchers:  # noqa: SIM110 - a plain loop is faster than any(genexpr)
            if m(arn):
                return True
        return False

    return match


def lower_policy(named: NamedPolicy) -> tuple[CompiledStatement, ...]:
    """Every statement of a policy, lowered."""
    return tuple(CompiledStatement(named, i, s) for i, s in enumerate(named.policy.statements))


CallerKey = tuple[object, ...]


def caller_key(caller: Caller) -> CallerKey:
    """What principal matching reads of a caller (type, ARN, account, unique id).

    The type enters as the member's name: hashing an Enum member runs Python code.
    """
    return (caller.type._value_, caller.arn, caller.account, caller.id)


class StatementGroup:
    """The statements of one policy set (one or more documents), indexed by action.

    `with_principal`: resource-based policies and RCPs (statements apply only through their
    Principal/NotPrincipal; statements with neither are left out at compile time).
    """

    __slots__ = (
        "_principal_memo",
        "defect",
        "has_not_principal_deny",
        "index",
        "policies",
        "reads",
        "statements",
        "with_principal",
    )

    def __init__(
        self,
        policies: Sequence[NamedPolicy],
        lowered: Sequence[Sequence[CompiledStatement]],
        *,
        with_principal: bool,
    ) -> None:
        self.policies = tuple(policies)
        self.with_principal = with_principal
        statements: list[CompiledStatement] = []
        for stmts in lowered:
            for st in stmts:
                if with_principal and st.principal is None:
                    continue  # ignored in resource policies (evaluation.md §2.1)
                statements.append(st)
        self.statements: tuple[CompiledStatement, ...] = tuple(statements)
        self.defect = any(st.defect for st in statements)
        self.has_not_principal_deny = any(
            st.deny and st.principal is not None and st.principal.negated for st in statements
        )
        reads: set[str] = set()
        for st in statements:
            reads |= st.reads
        self.reads: frozenset[str] = frozenset(reads)
        self.index: ActionIndex[CompiledStatement] = ActionIndex(
            statements, [st.actions for st in statements], [st.not_action for st in statements]
        )
        self._principal_memo: dict[CallerKey, dict[int, int]] = {}

    def principal_bits(self, caller: Caller, key: CallerKey) -> dict[int, int]:
        """For each statement (by id), how its Principal list matches the caller (memoised).

        The class is encoded as a bit (`1 << PrincipalClass`, 0 for no match) so the decision
        can OR them together without hashing enums. For NotPrincipal statements this is how
        the listed principals match; the negation is applied by the caller of this method (it
        depends on the permissions-boundary trap).
        """
        found = self._principal_memo.get(key)
        if found is not None:
            return found
        bits: dict[int, int] = {}
        for st in self.statements:
            if st.principal is not None:
                cls = match_principal(st.principal, caller)
                bits[id(st)] = 0 if cls is None else 1 << int(cls)
        if len(self._principal_memo) >= _PRINCIPAL_MEMO_LIMIT:
            self._principal_memo.clear()
        self._principal_memo[key] = bits
        return bits

    def __len__(self) -> int:
        return len(self.statements)
