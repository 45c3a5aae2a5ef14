"""A compiled PolicySet and its uncached decision: the reference procedure over indexed groups.

`CompiledPolicySet.decide(request)` returns the same `EvaluationResult` as
`policylang.evaluator.evaluate(policies, request)`: the same decision, matched statements (in
the reference's order), missing context keys, per-set details and deciding set. The procedure
is evaluation.md §3 exactly as evaluator.py reads it; what differs is the work done:

* `decision(request)` is the same procedure asking yes/no questions: every Deny that can apply
  first, stopping at the first that does, then whether each set holds an applicable Allow,
  stopping at the first; steps 2 and 3 of §3 are one function (`_gate`) for both paths;
* a plan (the candidates for one action) has two sides, the caller's groups and the
  resource's groups, each built once per action and shared by every set with the same groups;
* only the sets that apply to the caller are evaluated (the reference evaluates every set and
  then ignores the inapplicable ones; without defects the answer cannot differ);
* within a set only the statements whose Action can match are visited (the action index);
  statements that apply whatever the request (no Principal, every resource, no Condition)
  are pre-counted in the plan;
* the request context is built with only the derived keys the candidates read, instead of all of
  them (`derive_key` agrees with `request.derive_context` key by key), and only when some
  candidate reads the context;
* what is derived from the caller (context keys, Principal matches) is memoised per Caller.

A set containing a statement the reference would reject at evaluation time (`defect`) is
decided by the reference evaluator, so that the error is raised exactly where it raises it.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import TypeVar

from policylang.compiler.conditions import CompiledCondition
from policylang.compiler.facts import (
    PrincipalFacts,
    derive_key,
    has_case_twins,
    is_derivable,
    principal_facts,
    principal_values,
)
from policylang.compiler.lower import CompiledStatement, StatementGroup
from policylang.compiler.plan import (
    ACCOUNT_BIT,
    DIRECT_BIT,
    NO_HITS,
    PARENT_BIT,
    PLAN_LIMIT,
    Candidates,
    Hits,
    Plan,
    PrincipalGroups,
    PrincipalSide,
    ResourceGroups,
    ResourceSide,
    Statements,
    derived_keys,
    side_info,
)
from policylang.decision import Decision, EvaluationResult
from policylang.evaluator import RCP_SERVICES, evaluate, is_aws_managed_write, tag_variants
from policylang.policy_set import PolicySet
from policylang.request import ContextValue, PrincipalType, Request

__all__ = [
    "CompiledPolicySet",
    "derive_key",
    "is_derivable",
    "principal_facts",
    "principal_values",
]

_USER = PrincipalType.USER
_ROLE = PrincipalType.ROLE
_ASSUMED_ROLE = PrincipalType.ASSUMED_ROLE
_FEDERATED = PrincipalType.FEDERATED
_ROOT = PrincipalType.ROOT
_SERVICE = PrincipalType.SERVICE
_ANONYMOUS = PrincipalType.ANONYMOUS

_ALLOWED = Decision.ALLOWED
_EXPLICIT = Decision.EXPLICIT_DENY
_IMPLICIT = Decision.IMPLICIT_DENY

_SET_NAMES = ("scp", "rcp", "boundary", "session", "resource", "identity")

_serials = itertools.count(1)


def _run(
    candidates: Candidates,
    arn: str,
    ctx: Mapping[str, ContextValue],
    missing: set[str],
    bits: dict[int, int],
    trap: bool,
    variants: Sequence[Mapping[str, ContextValue]],
) -> Hits:
    """evaluator.evaluate_set over the candidates the action index yields, for a group with
    Principals (a resource policy, an RCP level): the statements whose Principal takes the
    caller (`principal_bits`, `_principal_class`) run through `_run_plain`, and the classes of
    the applicable Allows are OR-ed together.

    `variants`: other readings of the context when two tags differ only in case
    (evaluator.tag_variants); a Condition holds if it holds for the context or any variant.
    """
    fixed, dynamic = candidates
    if not dynamic:
        return fixed
    class_of: dict[int, int] = {}
    taking: list[CompiledStatement] = []
    for st in dynamic:
        cls = _principal_class(st, bits, trap)
        if cls:
            class_of[id(st)] = cls
            taking.append(st)
    allows, denies = _run_plain(tuple(taking), fixed, arn, ctx, missing, variants)
    classes = fixed[2]
    for st in allows[len(fixed[0]) :]:
        classes |= class_of[id(st)]
    return allows, denies, classes


def _condition_holds(
    cond: CompiledCondition,
    ctx: Mapping[str, ContextValue],
    missing: set[str],
    variants: Sequence[Mapping[str, ContextValue]],
) -> bool:
    """Whether a statement's condition holds (for the context or a tag-case variant of it),
    recording the keys it reads that the request lacks, as the reference does."""
    key = cond.single_key
    if key is not None:
        if key not in ctx:
            missing.add(key)
    elif not ctx.keys() >= cond.keyset:  # one C-level test for the usual case
        for k in cond.keys:
            if k not in ctx:
                missing.add(k)
    if cond.variable_keys:
        for k in cond.variable_keys:
            if not isinstance(ctx.get(k), str):
                missing.add(k)
    return cond.matches(ctx) or bool(variants and any(cond.matches(v) for v in variants))


def _run_plain(
    dynamic: Statements,
    fixed: Hits,
    arn: str,
    ctx: Mapping[str, ContextValue],
    missing: set[str],
    variants: Sequence[Mapping[str, ContextValue]],
) -> tuple[list[CompiledStatement], list[CompiledStatement]]:
    """`_run` for groups without Principals (identity, boundary, session, SCP levels).

    Returns the applicable Allows and Denies: the fixed hits followed by the statements of
    `dynamic` (in order) that apply. The fixed lists are copied, never mutated.
    """
    allows = list(fixed[0])
    denies = list(fixed[1])
    for st in dynamic:
        static = st.static_only
        if static is not None:
            if static(arn) == st.not_resource:
                continue
        elif not st.all_resources and not st.resource_matches(arn, ctx, missing):
            continue
        cond = st.condition
        if cond is not None and not _condition_holds(cond, ctx, missing, variants):
            continue
        if st.deny:
            denies.append(st)
        else:
            allows.append(st)
    return allows, denies


def _any_applies(statements: Statements, arn: str, ctx: Mapping[str, ContextValue]) -> bool:
    """Does one of `statements` apply to the resource and context? (No Principal to check.)"""
    for st in statements:  # noqa: SIM110 - a plain loop is faster than any(genexpr)
        if st.applies(arn, ctx):
            return True
    return False


def _holds(fixed: list[CompiledStatement], dynamic: Statements, arn: str,
           ctx: Mapping[str, ContextValue]) -> bool:
    """Does a group hold an applicable statement of one effect? `fixed`: its statements that
    apply whatever the request; `dynamic`: those to check (one side of its split)."""
    return bool(fixed) or bool(dynamic and _any_applies(dynamic, arn, ctx))


def _principal_classes(
    statements: Statements,
    bits: dict[int, int],
    trap: bool,
    arn: str,
    ctx: Mapping[str, ContextValue],
    first: bool,
) -> int:
    """The principal-class bits of the statements (of a group with Principals) that apply,
    as `_run` computes them; with `first`, stop at the first that applies."""
    classes = 0
    for st in statements:
        cls = _principal_class(st, bits, trap)
        if cls and st.applies(arn, ctx):
            classes |= cls
            if first:
                return classes
    return classes


def _principal_class(st: CompiledStatement, bits: dict[int, int], trap: bool) -> int:
    """How a statement's Principal/NotPrincipal takes the caller (`principal_bits`), as a
    class bit, 0 when it does not apply to the caller (`_run`'s rule)."""
    listed = bits[id(st)]
    if st.principal.negated:  # type: ignore[union-attr]
        if listed and not (trap and st.deny):
            return 0
        return DIRECT_BIT  # NotPrincipal + Allow (legacy): §5.2
    return listed


_matched_of = operator.attrgetter("matched")
_SHAPE_LIMIT = 256
Projection = tuple[tuple[str, ...], "Callable[[Mapping[str, ContextValue]], object] | None"]
_DECISIONS = {"E": _EXPLICIT, "I": _IMPLICIT, "A": _ALLOWED}
_RESULT_LIMIT = 256


def _result(
    plan: Plan,
    decision: str,
    statements: list[CompiledStatement],
    missing_keys: tuple[str, ...],
    details: tuple[str | None, ...],
    deciding: str | None,
) -> EvaluationResult:
    """The EvaluationResult, interned per plan: equal outcomes share one immutable object.

    Matched statements are sorted into the reference's order first (stable, like its sort).
    """
    if len(statements) > 1:
        statements.sort(key=plan.rank().__getitem__)
    key = (decision, deciding, missing_keys, details, tuple(map(id, statements)))
    results = plan.results
    found = results.get(key)
    if found is not None:
        return found
    result = EvaluationResult(
        _DECISIONS[decision],
        tuple(map(_matched_of, statements)),
        missing_keys,
        dict(zip(_SET_NAMES, details, strict=True)),
        deciding,
    )
    if len(results) >= _RESULT_LIMIT:
        results.clear()
    results[key] = result
    return result


_DENY_S = "explicitDeny"
_ALLOW_S = "allowed"
_NONE_S = "implicitDeny"


class CompiledPolicySet:
    """A PolicySet ready to decide requests. Build with `compile_policies` (or a `Compiler`).

    Immutable after construction except for internal memo tables (per-action plans, index
    lookups, principal matches), whose updates are safe under concurrent use.
    """

    __slots__ = (
        "_order",
        "_pkey",
        "_plans",
        "_ptable",
        "_rkey",
        "_rtable",
        "_shapes",
        "boundary",
        "defect",
        "guarded",
        "has_boundary_policy",
        "has_identity_policies",
        "has_rcp",
        "has_scp",
        "has_session_policies",
        "identity",
        "policies",
        "principal_reads",
        "rcp",
        "rcp_services",
        "reads",
        "reads_principal_tags",
        "reads_resource_tags",
        "resource",
        "resource_reads",
        "scp",
        "serial",
        "session",
    )

    def __init__(
        self,
        policies: PolicySet,
        *,
        identity: StatementGroup,
        boundary: StatementGroup | None,
        session: StatementGroup,
        resource: StatementGroup | None,
        scp: Sequence[StatementGroup],
        rcp: Sequence[StatementGroup],
        rcp_services: frozenset[str] = RCP_SERVICES,
    ) -> None:
        self.policies = policies
        self.identity = identity
        self.boundary = boundary
        self.session = session
        self.resource = resource
        self.scp = tuple(scp)
        self.rcp = tuple(rcp)
        self.rcp_services = rcp_services
        self.serial = next(_serials)
        # the two sides of every plan come from tables shared with the sets that have the same
        # groups on that side (the other resources of this caller, the other callers of this
        # resource), so each is built once per action; so are the sides' summaries below
        pside = side_info(
            (identity, boundary, session, self.scp), (identity, session, *self.scp, boundary)
        )
        self._pkey: PrincipalGroups = pside.key  # type: ignore[assignment]
        self._ptable: dict[str, PrincipalSide] = pside.table
        rside = side_info((resource, self.rcp, rcp_services), (*self.rcp, resource))
        self._rkey: ResourceGroups = rside.key  # type: ignore[assignment]
        self._rtable: dict[str, ResourceSide] = rside.table
        self.defect = pside.defect or rside.defect
        if rside.reads <= pside.reads:
            self.reads: frozenset[str] = pside.reads
            self.principal_reads, self.resource_reads = pside.derived
        else:
            self.reads = pside.reads | rside.reads
            self.principal_reads, self.resource_reads = derived_keys(self.reads)
        # SCPs or RCPs present: only then does the service-linked-role test matter
        self.guarded = bool(self.scp or self.rcp)
        # truth values decide() reads on every call, computed once (PolicySet is frozen)
        self.has_scp = bool(self.scp)
        self.has_rcp = bool(self.rcp)
        self.has_session_policies = bool(policies.session)
        self.has_identity_policies = bool(policies.identity)
        self.has_boundary_policy = policies.boundary is not None
        self.reads_principal_tags = any(
            k.startswith("aws:principaltag/") for k in self.principal_reads
        )
        self.reads_resource_tags = any(
            k.startswith("aws:resourcetag/") for k in self.resource_reads
        )
        # The reference orders matched statements by the position of their policy object in
        # all_policies() (the last position when one object is listed twice), then index.
        self._order: dict[int, int] | None = None  # built by order() on first use
        # created on first use: a compiled set is small, and many are built at once
        self._plans: dict[str, Plan] | None = None
        self._shapes: dict[tuple[str, ...], Projection] | None = None

    def order(self) -> dict[int, int]:
        """Position of each policy object in all_policies() (the last one if listed twice)."""
        order = self._order
        if order is None:
            order = {id(named): i for i, named in enumerate(self.policies.all_policies())}
            self._order = order
        return order

    @property
    def derived_reads(self) -> tuple[str, ...]:
        """The derivable context keys the set reads (`request.derive_context` can add them)."""
        return tuple(sorted((*self.principal_reads, *self.resource_reads)))

    @property
    def statement_count(self) -> int:
        groups = [self.identity, self.session, *self.scp, *self.rcp]
        groups += [g for g in (self.boundary, self.resource) if g is not None]
        return sum(len(g) for g in groups)

    def principal_side(self, action: str) -> PrincipalSide:
        """The caller's side of the plan for an action as spelled (shared, built once)."""
        found = self._ptable.get(action)
        if found is None:
            side = PrincipalSide(self._pkey, action, action.lower())
            found = _remember(self._ptable, action, side)
        return found

    def resource_side(self, action: str) -> ResourceSide:
        """The resource's side of the plan for an action as spelled (shared, built once)."""
        found = self._rtable.get(action)
        if found is None:
            side_r = ResourceSide(self._rkey, action, action.lower())
            found = _remember(self._rtable, action, side_r)
        return found

    def plan(self, action: str) -> Plan:
        """Both sides' candidates for an action as spelled, for `decide` (memoised, bounded).

        Keyed by the spelling so that decide() need not lower-case the action: a service
        sees few spellings of each action, and every spelling gets the same candidates.
        """
        plans = self._plans
        if plans is None:
            plans = self._plans = {}
        found = plans.get(action)
        if found is not None:
            return found
        plan = Plan(self, self.principal_side(action), self.resource_side(action))
        if len(plans) >= PLAN_LIMIT:
            plans.clear()
        plans[action] = plan
        return plan

    def projection(self, shape: tuple[str, ...]) -> Projection:
        """For a request context with keys `shape` (as spelled), the keys this set reads and
        a getter of their values (memoised: a service sees few context shapes)."""
        shapes = self._shapes
        if shapes is None:
            shapes = self._shapes = {}
        found = shapes.get(shape)
        if found is not None:
            return found
        read = tuple(k for k in shape if k.lower() in self.reads)
        getter: Callable[[Mapping[str, ContextValue]], object] | None = None
        if read:
            getter = operator.itemgetter(*read)
        projection = (read, getter)
        if len(shapes) >= _SHAPE_LIMIT:
            shapes.clear()
        shapes[shape] = projection
        return projection

    def context(
        self,
        request: Request,
        facts: PrincipalFacts | None = None,
        p: PrincipalSide | None = None,
        r: ResourceSide | None = None,
    ) -> dict[str, ContextValue]:
        """The request context (lower-cased keys) with the derived keys this set reads, or
        only those the candidates of the sides `p` and `r` read, when given."""
        ctx = {k.lower(): v for k, v in request.context.items()}
        if p is None or r is None:
            principal_reads, resource_reads = self.principal_reads, self.resource_reads
        elif r.principal_reads or r.resource_reads:
            principal_reads = (*p.principal_reads, *r.principal_reads)
            resource_reads = (*p.resource_reads, *r.resource_reads)
        else:
            principal_reads, resource_reads = p.principal_reads, p.resource_reads
        if principal_reads:
            if facts is None:
                facts = principal_facts(request.principal)
            principal = facts.selected(principal_reads)
            if ctx.keys().isdisjoint(principal):
                # the usual case: one C-level update gives the same keys in the same order
                ctx.update(principal)
            else:
                for key, value in principal.items():
                    if key not in ctx:
                        ctx[key] = value
        for key in resource_reads:
            if key not in ctx:
                derived = derive_key(request, key)
                if derived is not None:
                    ctx[key] = derived
        return ctx

    def decision(self, request: Request) -> Decision:
        """Only the decision of `decide(request)`: the same value, without the explanation.

        The fast path for batch work and for services that need a yes or no: every Deny that
        can apply is checked first and the first one that does ends the evaluation; then each
        set is asked only whether some Allow applies, stopping at the first. No matched-statement
        lists, missing-key sets or result objects are built.
        """
        if self.defect:
            return evaluate(self.policies, request, rcp_services=self.rcp_services).decision
        caller = request.principal
        ctype = caller.type
        action = request.action
        p = self._ptable.get(action)
        if p is None:
            p = self.principal_side(action)
        r = self._rtable.get(action)
        if r is None:
            r = self.resource_side(action)
        signed = ctype is _USER or ctype is _ASSUMED_ROLE or ctype is _ROLE
        federated_session = ctype is _FEDERATED and caller.is_federated_user_session
        if p.gci and (signed or ctype is _ROOT or federated_session):
            return _ALLOWED
        facts: PrincipalFacts | None = None
        ctx: Mapping[str, ContextValue] = _EMPTY_CTX
        needs_ctx = p.needs_ctx or r.needs_ctx
        if needs_ctx:
            if p.principal_reads or r.principal_reads:
                facts = principal_facts(caller)
            ctx = self.context(request, facts, p, r)
            if (self.reads_principal_tags or self.reads_resource_tags) and (
                (facts or principal_facts(caller)).twins or has_case_twins(request.resource.tags)
            ):
                # tags differing only in case (rare): the explaining path handles the variants
                return self.decide(request).decision
        slr = False
        if self.guarded and (ctype is _ASSUMED_ROLE or ctype is _ROLE):
            if facts is None:
                facts = principal_facts(caller)
            slr = facts.slr_name or _slr_path(request, ctx if needs_ctx else None)
        scp_applies, rcp_applies, session_applies, has_identity, has_boundary, has_session = (
            self._applies(ctype, signed, federated_session, slr)
        )
        rcp_applies = rcp_applies and r.rcp_service
        arn = request.resource.arn

        # 1. an applicable Deny anywhere wins
        if scp_applies:
            side = p.scp
            if side.fixed[1] or (side.denies and _any_applies(side.denies, arn, ctx)):
                return _EXPLICIT
        if has_identity and _holds(p.identity[0][1], p.identity_split[0], arn, ctx):
            return _EXPLICIT
        if has_boundary and _holds(p.boundary[0][1], p.boundary_split[0], arn, ctx):
            return _EXPLICIT
        if has_session and _holds(p.session[0][1], p.session_split[0], arn, ctx):
            return _EXPLICIT
        resource_bits: dict[int, int] | None = None
        trap = self.has_boundary_policy and signed
        resource = r.resource
        if resource[0][1]:
            return _EXPLICIT
        if r.resource_split[0]:
            if facts is None:
                facts = principal_facts(caller)
            resource_bits = self.resource.principal_bits(caller, facts.key)  # type: ignore[union-attr]
            if _principal_classes(r.resource_split[0], resource_bits, trap, arn, ctx, True):
                return _EXPLICIT
        if rcp_applies:
            if r.rcp_fixed_deny:
                return _EXPLICIT
            if r.rcp_denies:
                if facts is None:
                    facts = principal_facts(caller)
                for level, st in r.rcp_denies:
                    bits = self.rcp[level].principal_bits(caller, facts.key)
                    if _principal_class(st, bits, False) and st.applies(arn, ctx):
                        return _EXPLICIT

        # 2. and 3.: which sets hold an applicable Allow
        rcp_ok = True
        if rcp_applies:
            # only the levels without an unconditional Allow need looking at
            for level, allows in r.rcp_open:
                if facts is None:
                    facts = principal_facts(caller)
                bits = self.rcp[level].principal_bits(caller, facts.key)
                if not _principal_classes(allows, bits, False, arn, ctx, True):
                    rcp_ok = False
                    break
        scp_ok = True
        if scp_applies:
            side = p.scp
            mask = side.fixed[2]
            if mask != side.full:
                level_bits = side.bits
                for st in side.allows:
                    more = level_bits[id(st)]
                    if more & ~mask and st.applies(arn, ctx):
                        mask |= more
                        if mask == side.full:
                            break
                scp_ok = mask == side.full
        classes = resource[0][2]
        if r.resource_split[1]:
            if resource_bits is None:
                if facts is None:
                    facts = principal_facts(caller)
                resource_bits = self.resource.principal_bits(caller, facts.key)  # type: ignore[union-attr]
            classes |= _principal_classes(
                r.resource_split[1], resource_bits, trap, arn, ctx, False
            )
        identity_allows = has_identity and _holds(p.identity[0][0], p.identity_split[1], arn, ctx)
        boundary_ok = not has_boundary or _holds(p.boundary[0][0], p.boundary_split[1], arn, ctx)
        session_ok = True
        if session_applies:
            if not self.has_session_policies:
                session_ok = not federated_session
            else:
                session_ok = _holds(p.session[0][0], p.session_split[1], arn, ctx)
        deciding = self._gate(
            p,
            request,
            rcp_ok,
            scp_ok,
            bool(classes) or bool(resource[0][0]),
            classes,
            identity_allows,
            boundary_ok,
            session_ok,
        )
        return _ALLOWED if deciding is None else _IMPLICIT

    def decide(self, request: Request) -> EvaluationResult:
        """The reference decision for `request`, computed over the compiled groups."""
        if self.defect:
            return evaluate(self.policies, request, rcp_services=self.rcp_services)
        caller = request.principal
        ctype = caller.type
        action = request.action
        plans = self._plans
        plan = plans.get(action) if plans is not None else None
        if plan is None:
            plan = self.plan(action)
        p = plan.p
        r = plan.r
        # enum members are compared by identity: hashing one runs Python code
        signed = ctype is _USER or ctype is _ASSUMED_ROLE or ctype is _ROLE
        federated_session = ctype is _FEDERATED and caller.is_federated_user_session
        if p.gci and (signed or ctype is _ROOT or federated_session):
            # needs no permission and cannot be denied (§6.1)
            return EvaluationResult(_ALLOWED, details=dict.fromkeys(_SET_NAMES))
        # the caller's facts are looked up only when something below reads them
        facts: PrincipalFacts | None = None
        ctx: Mapping[str, ContextValue] = _EMPTY_CTX
        needs_ctx = p.needs_ctx or r.needs_ctx
        if needs_ctx:
            if p.principal_reads or r.principal_reads:
                facts = principal_facts(caller)
            ctx = self.context(request, facts, p, r)
        slr = False
        if self.guarded and (ctype is _ASSUMED_ROLE or ctype is _ROLE):
            if facts is None:
                facts = principal_facts(caller)
            slr = facts.slr_name or _slr_path(request, ctx if needs_ctx else None)
        variants: Sequence[Mapping[str, ContextValue]] = ()
        if needs_ctx and (self.reads_principal_tags or self.reads_resource_tags) and (
            (facts or principal_facts(caller)).twins or has_case_twins(request.resource.tags)
        ):
            # two tags differing only in case: conditions may hold under either reading
            variants = tag_variants(request, ctx)
        scp_applies, rcp_applies, session_applies, has_identity, has_boundary, has_session = (
            self._applies(ctype, signed, federated_session, slr)
        )
        rcp_applies = rcp_applies and r.rcp_service

        arn = request.resource.arn
        missing: set[str] = set()
        # SCP / RCP levels: any Deny denies, every level needs an Allow (plain loops: no
        # generator frames on the hot path)
        scp: Hits = NO_HITS
        scp_denies = False
        scp_allow_all = True
        if scp_applies:
            side = p.scp
            scp = side.fixed
            if side.dynamic:
                allows_, denies_ = _run_plain(side.dynamic, scp, arn, ctx, missing, variants)
                mask = scp[2]
                if len(allows_) != len(scp[0]):
                    level_bits = side.bits
                    for st in allows_[len(scp[0]) :]:
                        mask |= level_bits[id(st)]
                scp = (allows_, denies_, mask)
            scp_denies = bool(scp[1])
            scp_allow_all = scp[2] == side.full
        rcp: list[Hits] = []
        rcp_denies = False
        rcp_allow_all = True
        if rcp_applies:
            for c, group in zip(r.rcp, self.rcp, strict=True):
                if c[1]:
                    if facts is None:
                        facts = principal_facts(caller)
                    bits = group.principal_bits(caller, facts.key)
                    h = _run(c, arn, ctx, missing, bits, False, variants)
                else:
                    h = c[0]
                rcp.append(h)
                if h[1]:
                    rcp_denies = True
                if not h[0]:
                    rcp_allow_all = False
        resource = r.resource[0]
        if r.resource[1]:
            resource_group = self.resource
            assert resource_group is not None
            if facts is None:
                facts = principal_facts(caller)
            resource = _run(
                r.resource, arn, ctx, missing,
                resource_group.principal_bits(caller, facts.key),
                self.has_boundary_policy and signed,
                variants,
            )
        identity = boundary = session = NO_HITS
        if has_identity:
            c = p.identity
            identity = (*_run_plain(c[1], c[0], arn, ctx, missing, variants), 0) if c[1] else c[0]
        if has_boundary:
            c = p.boundary
            boundary = (*_run_plain(c[1], c[0], arn, ctx, missing, variants), 0) if c[1] else c[0]
        if has_session:
            c = p.session
            session = (*_run_plain(c[1], c[0], arn, ctx, missing, variants), 0) if c[1] else c[0]

        # per-set details (evaluator._Evaluation.details), in _SET_NAMES order
        # each set's own outcome: Deny, else Allow, else none (inlined: no call per set)
        d_session = (
            (_DENY_S if session[1] else _ALLOW_S if session[0] else _NONE_S)
            if has_session
            else None
        )
        session_ok = True
        if session_applies:
            if not self.has_session_policies:
                session_ok = not federated_session  # == caller.is_federated_user_session
                if not session_ok:
                    d_session = _NONE_S  # federated-user session without a session policy
            else:
                session_ok = not session[1] and bool(session[0])
        details = (
            (_DENY_S if scp_denies else _ALLOW_S if scp_allow_all else _NONE_S)
            if scp_applies
            else None,
            (_DENY_S if rcp_denies else _ALLOW_S if rcp_allow_all else _NONE_S)
            if rcp_applies
            else None,
            (_DENY_S if boundary[1] else _ALLOW_S if boundary[0] else _NONE_S)
            if has_boundary
            else None,
            d_session,
            (_DENY_S if resource[1] else _ALLOW_S if resource[0] else _NONE_S)
            if self.resource is not None
            else None,
            (_DENY_S if identity[1] else _ALLOW_S if identity[0] else _NONE_S)
            if has_identity
            else None,
        )
        missing_keys = tuple(sorted(missing)) if missing else ()

        # 1. an applicable Deny anywhere wins; the deciding set is the first in §3's order
        deciding: str | None = None
        if scp_denies:
            deciding = "scp"
        elif rcp_denies:
            deciding = "rcp"
        elif resource[1]:
            deciding = "resource"
        elif identity[1]:
            deciding = "identity"
        elif boundary[1]:
            deciding = "boundary"
        elif session[1]:
            deciding = "session"
        if deciding is not None:
            denies = scp[1] + resource[1] + identity[1] + boundary[1] + session[1]
            for h in rcp:
                denies += h[1]
            return _result(plan, "E", denies, missing_keys, details, deciding)

        # 2. guardrails, 3. grant paths
        deciding = self._gate(
            p,
            request,
            not rcp_applies or rcp_allow_all,
            not scp_applies or scp_allow_all,
            bool(resource[0]),
            resource[2],
            bool(identity[0]),  # empty unless the identity set applies
            not has_boundary or bool(boundary[0]),
            session_ok,
        )
        if deciding is not None:
            return _result(plan, "I", [], missing_keys, details, deciding)
        allows = scp[0] + resource[0] + identity[0] + boundary[0] + session[0]
        for h in rcp:
            allows += h[0]
        return _result(plan, "A", allows, missing_keys, details, None)

    def _applies(
        self, ctype: PrincipalType, signed: bool, federated_session: bool, slr: bool
    ) -> tuple[bool, bool, bool, bool, bool, bool]:
        """Which policy sets take part for this kind of caller (§3): SCPs, RCPs (for services
        they govern), session policies, identity policies, the boundary, the session set."""
        identity_applies = signed or federated_session
        session_applies = ctype is _ASSUMED_ROLE or ctype is _ROLE or federated_session
        return (
            self.has_scp and (identity_applies or ctype is _ROOT) and not slr,
            self.has_rcp and not slr,
            session_applies,
            identity_applies and self.has_identity_policies,
            identity_applies and self.boundary is not None,
            session_applies and self.has_session_policies,
        )

    def _gate(
        self,
        p: PrincipalSide,
        request: Request,
        rcp_ok: bool,
        scp_ok: bool,
        resource_allows: bool,
        classes: int,
        identity_allows: bool,
        boundary_ok: bool,
        session_ok: bool,
    ) -> str | None:
        """Steps 2 and 3 of §3 once no Deny applies: the set that denies implicitly, or None
        when the request is allowed. Shared by `decide` and `decision`.

        `classes`: the principal-class bits of the resource policy's applicable Allows.
        """
        caller = request.principal
        ctype = caller.type
        # 2. guardrails: every level needs an applicable Allow
        if not rcp_ok:
            return "rcp"
        if not scp_ok:
            return "scp"
        if p.managed_write and is_aws_managed_write(request.action, request.resource.arn):
            return "aws-managed"  # no policy can allow changes to AWS-managed resources
        if (
            ctype is _ANONYMOUS
            or ctype is _SERVICE
            or (ctype is _FEDERATED and caller.is_identity_provider)
        ):
            return None if resource_allows else "resource"
        # 3. grant paths (§4)
        same = caller.account is not None and caller.account == request.resource.account
        role_trust = p.role_trust
        trust_style = role_trust or (self.policies.resource is not None and p.kms)
        if ctype is _ROOT:
            return None if (same and not trust_style) or resource_allows else "resource"
        id_ok = identity_allows and boundary_ok and session_ok
        if not identity_allows:
            first_failing = "identity"
        elif not boundary_ok:
            first_failing = "boundary"
        else:
            first_failing = "session"
        if not same:
            if not id_ok:
                return first_failing
            return None if resource_allows else "resource"
        direct = bool(classes & DIRECT_BIT)
        parent = bool(classes & PARENT_BIT)
        account = bool(classes & ACCOUNT_BIT)
        parent_ok = parent and boundary_ok and session_ok
        if role_trust:
            allowed = (direct and boundary_ok) or parent_ok or (account and id_ok)
        elif trust_style:
            allowed = direct or parent_ok or (account and id_ok)
        else:
            allowed = direct or parent_ok or id_ok
        if allowed:
            return None
        # name the gate that cut the strongest grant the policy made
        if trust_style and not (direct or parent or account):
            return "resource"
        if (direct or parent) and not boundary_ok:
            return "boundary"
        if parent and not session_ok:
            return "session"
        return first_failing


_EMPTY_CTX: Mapping[str, ContextValue] = MappingProxyType({})
_V = TypeVar("_V")


def _remember(table: dict[str, _V], key: str, value: _V) -> _V:
    """Store `value` in a bounded per-action table (cleared when full) and return it."""
    if len(table) >= PLAN_LIMIT:
        table.clear()
    table[key] = value
    return value


def _slr_path(request: Request, ctx: Mapping[str, ContextValue] | None) -> bool:
    """The aws:PrincipalArn half of evaluator._is_service_linked_role (the name half is
    memoised per caller in `PrincipalFacts.slr_name` and tested first: it is cheaper)."""
    principal_arn = ctx.get("aws:principalarn") if ctx is not None else _principal_arn(request)
    return isinstance(principal_arn, str) and ":role/aws-service-role/" in principal_arn


def _principal_arn(request: Request) -> ContextValue | None:
    """`derive_context(request).get("aws:principalarn")` without building the context."""
    found: ContextValue | None = None
    for key, value in request.context.items():
        if key.lower() == "aws:principalarn":
            found = value  # the last spelling wins, as in the dict derive_context builds
    return found if found is not None else derive_key(request, "aws:principalarn")


