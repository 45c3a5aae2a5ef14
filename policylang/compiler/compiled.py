"""A compiled PolicySet and its uncached decision: the reference procedure over indexed groups.

`CompiledPolicySet.decide(request)` returns the same `EvaluationResult` as
`policylang.evaluator.evaluate(policies, request)`: the same decision, matched statements (in
the reference's order), missing context keys, per-set details and deciding set. The procedure
is evaluation.md §3 exactly as evaluator.py reads it; what differs is the work done:

* only the sets that apply to the caller are evaluated (the reference evaluates every set and
  then ignores the inapplicable ones; without defects the answer cannot differ);
* within a set only the statements whose Action can match are visited (the action index),
  and the candidates per action are memoised as a `_Plan`: statements that apply whatever
  the request (no Principal, every resource, no Condition) are pre-counted there;
* the request context is built with only the derived keys the set reads, instead of all of
  them (`derive_key` agrees with `request.derive_context` key by key), and only when some
  candidate reads the context;
* what is derived from the caller (context keys, Principal matches) is memoised per Caller.

A set containing a statement the reference would reject at evaluation time (`defect`) is
decided by the reference evaluator, so that the error is raised exactly where it raises it.
"""

from __future__ import annotations

import contextlib
import itertools
import operator
import weakref
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from policylang.compiler.conditions import CompiledCondition
from policylang.compiler.lower import CallerKey, CompiledStatement, StatementGroup, caller_key
from policylang.decision import Decision, EvaluationResult
from policylang.evaluator import (
    _AWS_ALIAS_WRITES,
    _MANAGED_POLICY_WRITES,
    _RESERVED_ROLE_WRITES,
    GET_CALLER_IDENTITY,
    RCP_SERVICES,
    ROLE_TRUST_ACTIONS,
    PrincipalClass,
    evaluate,
    is_aws_managed_write,
    tag_variants,
)
from policylang.policy_set import PolicySet
from policylang.request import Caller, ContextValue, PrincipalType, Request, Resource

_USER = PrincipalType.USER
_ROLE = PrincipalType.ROLE
_ASSUMED_ROLE = PrincipalType.ASSUMED_ROLE
_FEDERATED = PrincipalType.FEDERATED
_ROOT = PrincipalType.ROOT
_SERVICE = PrincipalType.SERVICE
_ANONYMOUS = PrincipalType.ANONYMOUS
_SIGNED_IAM = frozenset({_USER, _ROLE, _ASSUMED_ROLE})

_ALLOWED = Decision.ALLOWED
_EXPLICIT = Decision.EXPLICIT_DENY
_IMPLICIT = Decision.IMPLICIT_DENY

_SET_NAMES = ("scp", "rcp", "boundary", "session", "resource", "identity")

# Keys request.derive_context can add (only when absent from the request's context).
_DERIVED_KEYS = frozenset(
    {
        "aws:principalarn",
        "aws:principalaccount",
        "aws:userid",
        "aws:username",
        "aws:principaltype",
        "aws:resourceaccount",
    }
)
_PRINCIPAL_TYPE_VALUE = {
    _USER: "User",
    _ROLE: "AssumedRole",
    _ASSUMED_ROLE: "AssumedRole",
    _ROOT: "Account",
    _ANONYMOUS: "Anonymous",
}


def is_derivable(key: str) -> bool:
    """Can `derive_context` supply this (lower-cased) key?"""
    return (
        key in _DERIVED_KEYS
        or key.startswith("aws:principaltag/")
        or key.startswith("aws:resourcetag/")
    )


def derive_key(request: Request, key: str) -> ContextValue | None:
    """The value `derive_context(request)` derives for one lower-cased key, or None.

    Mirrors request.derive_context rule by rule (tested key by key against it). For duplicate
    tag keys differing only in case the last one wins, as in derive_context.
    """
    if key == "aws:resourceaccount":
        return request.resource.account or None
    if key.startswith("aws:resourcetag/"):
        tag = key[len("aws:resourcetag/") :]
        found: str | None = None
        for tag_key, tag_value in request.resource.tags.items():
            if tag_key.lower() == tag:
                found = tag_value
        return found
    p = request.principal
    t = p.type
    if t is _ANONYMOUS:
        if key == "aws:principalaccount" or key == "aws:userid":
            return "anonymous"
        if key == "aws:principaltype":
            return "Anonymous"
        return None
    if t is _SERVICE or p.is_identity_provider:
        return None
    if key == "aws:principalarn":
        return (p.role_arn if t is _ASSUMED_ROLE else p.arn) or None
    if key == "aws:principalaccount":
        return p.account or None
    if key == "aws:userid":
        return p.id or None
    if key == "aws:username":
        return p.arn.rsplit("/", 1)[-1] if t is _USER and p.arn else None
    if key == "aws:principaltype":
        return "FederatedUser" if t is _FEDERATED else _PRINCIPAL_TYPE_VALUE[t]
    if key.startswith("aws:principaltag/"):
        tag = key[len("aws:principaltag/") :]
        found = None
        for tag_key, tag_value in p.tags.items():
            if tag_key.lower() == tag:
                found = tag_value
        return found
    return None


class PrincipalFacts:
    """What decisions need from a Caller, computed once per Caller object (`principal_facts`).

    `values`: the principal-derived context keys of derive_context; `twins`: two tag keys
    differ only in case; `key`: what principal matching reads (type, ARN, account, id);
    `tagged_key`: `key` plus the tags (for cache keys of sets that read principal tags);
    `slr_name`: the caller's role name marks a service-linked role (`AWSServiceRoleFor…`),
    the half of the service-linked-role test that depends on the caller alone.
    """

    __slots__ = ("_selected", "key", "slr_name", "tagged_key", "twins", "values")

    def __init__(self, caller: Caller) -> None:
        values: dict[str, ContextValue] = {}
        probe = Request(caller, "", Resource(""))
        for key in ("aws:principalarn", "aws:principalaccount", "aws:userid", "aws:username",
                    "aws:principaltype"):
            value = derive_key(probe, key)
            if value is not None:
                values[key] = value
        for tag_key in caller.tags:
            key = "aws:principaltag/" + tag_key.lower()
            value = derive_key(probe, key)
            if value is not None:
                values[key] = value
        self.values = values
        self.twins = _has_case_twins(caller.tags)
        self.key: CallerKey = caller_key(caller)
        self.tagged_key: tuple[object, ...] = (*self.key, tuple(caller.tags.items()))
        self.slr_name = _role_name_is_service_linked(caller)
        self._selected: dict[tuple[str, ...], dict[str, ContextValue]] = {}

    def selected(self, reads: tuple[str, ...]) -> dict[str, ContextValue]:
        """`values` restricted to `reads`, in the order of `reads` (memoised per tuple)."""
        found = self._selected.get(reads)
        if found is None:
            values = self.values
            found = {k: values[k] for k in reads if k in values}
            if len(self._selected) >= 64:
                self._selected.clear()
            self._selected[reads] = found
        return found


_PRINCIPAL_MEMO: dict[int, tuple[weakref.ref[Caller], PrincipalFacts]] = {}
_PRINCIPAL_MEMO_LIMIT = 65_536


def principal_facts(caller: Caller) -> PrincipalFacts:
    """`PrincipalFacts` of a caller, memoised per Caller object.

    A service keeps one Caller per authenticated principal, so the derivation (tags, the role
    ARN of a session) runs once per principal rather than once per request. The memo holds a
    weak reference and is keyed by id(): an entry whose object died is never returned.
    """
    entry = _PRINCIPAL_MEMO.get(id(caller))
    if entry is not None and entry[0]() is caller:
        return entry[1]
    facts = PrincipalFacts(caller)
    if len(_PRINCIPAL_MEMO) >= _PRINCIPAL_MEMO_LIMIT:
        _PRINCIPAL_MEMO.clear()
    with contextlib.suppress(TypeError):  # a Caller subclass without weakref support
        _PRINCIPAL_MEMO[id(caller)] = (weakref.ref(caller), facts)
    return facts


def principal_values(caller: Caller) -> dict[str, ContextValue]:
    """The principal-derived keys derive_context adds for this caller (memoised)."""
    return principal_facts(caller).values


_serials = itertools.count(1)

_DIRECT_BIT = 1 << int(PrincipalClass.DIRECT)
_PARENT_BIT = 1 << int(PrincipalClass.PARENT)
_ACCOUNT_BIT = 1 << int(PrincipalClass.ACCOUNT)

Statements = tuple[CompiledStatement, ...]
Hits = tuple[list[CompiledStatement], list[CompiledStatement], int]
"""One group's applicable statements for one request: (allows, denies, principal-class bits
of the allows)."""

_NO_HITS: Hits = ([], [], 0)  # shared; never mutated


Candidates = tuple[Hits, Statements]
"""A group's candidates for one action: the hits of the statements that apply whatever the
request (no Principal to check, every resource, no Condition), and the statements left to
evaluate per request."""

_NO_CANDIDATES: Candidates = (_NO_HITS, ())


def _candidates(statements: Statements, with_principal: bool) -> Candidates:
    if not statements:
        return _NO_CANDIDATES
    allows: list[CompiledStatement] = []
    denies: list[CompiledStatement] = []
    bits = 0
    dynamic: list[CompiledStatement] = []
    for st in statements:
        unconditional = (st.all_resources or st.trust_resource) and st.condition is None
        if with_principal:
            spec = st.principal
            # a bare "*" Principal matches every caller as DIRECT (evaluator.match_principal)
            unconditional = unconditional and spec is not None and spec.is_wildcard
            unconditional = unconditional and not spec.negated  # type: ignore[union-attr]
        if not unconditional:
            dynamic.append(st)
        elif st.deny:
            denies.append(st)
        else:
            allows.append(st)
            if with_principal:
                bits |= _DIRECT_BIT
    return (allows, denies, bits), tuple(dynamic)


def _split(dynamic: Statements) -> tuple[Statements, Statements]:
    """A group's per-request statements as (Denies, Allows): the decision-only path checks
    every Deny before any Allow and stops at the first that applies."""
    return tuple(st for st in dynamic if st.deny), tuple(st for st in dynamic if not st.deny)


_NO_SPLIT: tuple[Statements, Statements] = ((), ())

# Memo tables shared by every compiled set: a set's plan for an action is assembled from the
# candidates of its groups, and groups are shared between sets (the Compiler builds each once),
# so the set of another resource for the same principal reuses the identity side's work.
# Keys hold the group objects themselves (identity hashing), so an entry's groups stay alive
# as long as the entry; the tables are bounded and cleared when full.
_SIDE_MEMO_LIMIT = 262_144
Split = tuple[Statements, Statements]
_GROUP_CANDIDATES: dict[tuple[StatementGroup, str], tuple[Candidates, Split]] = {}
_SCP_SIDES: dict[tuple[tuple[StatementGroup, ...], str], _ScpSide] = {}


def _group_candidates(
    group: StatementGroup | None, action: str, lowered: str
) -> tuple[Candidates, tuple[Statements, Statements]]:
    """A group's candidates for an action, and their (Denies, Allows) split (memoised)."""
    if group is None:
        return _NO_CANDIDATES, _NO_SPLIT
    key = (group, lowered)
    found = _GROUP_CANDIDATES.get(key)
    if found is None:
        candidates = _candidates(group.index.lookup(action, lowered), group.with_principal)
        found = (candidates, _split(candidates[1]))
        if len(_GROUP_CANDIDATES) >= _SIDE_MEMO_LIMIT:
            _GROUP_CANDIDATES.clear()
        _GROUP_CANDIDATES[key] = found
    return found


class _ScpSide:
    """The SCP levels merged into one pass for one action (shared by every set of an account).

    `fixed`: every level's unconditional hits together (their third field: the bits of the
    levels holding one of the Allows); `dynamic`: every level's per-request statements in one
    tuple, with the levels each one sits in (`bits`; a policy listed in two levels appears
    twice, as the reference reports it twice); `full`: the mask of all levels.
    """

    __slots__ = ("allows", "bits", "denies", "dynamic", "fixed", "full", "levels")

    def __init__(self, groups: tuple[StatementGroup, ...], action: str, lowered: str) -> None:
        self.levels = tuple(_group_candidates(g, action, lowered)[0] for g in groups)
        allows: list[CompiledStatement] = []
        denies: list[CompiledStatement] = []
        mask = 0
        dynamic: list[CompiledStatement] = []
        self.bits: dict[int, int] = {}
        for level, c in enumerate(self.levels):
            bit = 1 << level
            allows += c[0][0]
            denies += c[0][1]
            if c[0][0]:
                mask |= bit
            for st in c[1]:
                dynamic.append(st)
                self.bits[id(st)] = self.bits.get(id(st), 0) | bit
        self.fixed: Hits = (allows, denies, mask)
        self.dynamic: Statements = tuple(dynamic)
        self.full = (1 << len(groups)) - 1
        self.denies, self.allows = _split(self.dynamic)


def _scp_side(groups: tuple[StatementGroup, ...], action: str, lowered: str) -> _ScpSide:
    key = (groups, lowered)
    found = _SCP_SIDES.get(key)
    if found is None:
        found = _ScpSide(groups, action, lowered)
        if len(_SCP_SIDES) >= _SIDE_MEMO_LIMIT:
            _SCP_SIDES.clear()
        _SCP_SIDES[key] = found
    return found


PrincipalGroups = tuple[
    StatementGroup, StatementGroup | None, StatementGroup, tuple[StatementGroup, ...]
]
"""identity, boundary, session, SCP levels"""
ResourceGroups = tuple[StatementGroup | None, tuple[StatementGroup, ...], frozenset[str]]
"""resource policy, RCP levels, the services RCPs govern"""


class _PrincipalSide:
    """The caller's side of a plan for one action: identity, boundary, session and SCP
    candidates, and facts of the action name (so that a decision neither lower-cases nor splits
    it). Shared by every set with the same groups on this side (`_side_table`)."""

    __slots__ = (
        "boundary",
        "boundary_split",
        "gci",
        "identity",
        "identity_split",
        "kms",
        "managed_write",
        "needs_ctx",
        "principal_reads",
        "resource_reads",
        "role_trust",
        "scp",
        "session",
        "session_split",
    )

    def __init__(
        self,
        groups: PrincipalGroups,
        action: str,
        lowered: str,
    ) -> None:
        identity, boundary, session, scp = groups
        service = lowered.partition(":")[0]
        self.gci = lowered == GET_CALLER_IDENTITY
        self.role_trust = lowered in ROLE_TRUST_ACTIONS
        self.kms = service == "kms"
        # is_aws_managed_write can only be true for these actions: skip the ARN split otherwise
        self.managed_write = lowered in _MANAGED_WRITE_ACTIONS
        self.identity, self.identity_split = _group_candidates(identity, action, lowered)
        self.boundary, self.boundary_split = _group_candidates(boundary, action, lowered)
        self.session, self.session_split = _group_candidates(session, action, lowered)
        self.scp = _scp_side(scp, action, lowered)
        dynamic = [*self.scp.dynamic, *self.identity[1], *self.boundary[1], *self.session[1]]
        # aws:PrincipalArn: the service-linked-role test reads it
        self.needs_ctx, self.principal_reads, self.resource_reads = _context_needs(
            dynamic, {"aws:principalarn"}
        )


class _ResourceSide:
    """The resource's side of a plan for one action: resource-policy and RCP candidates."""

    __slots__ = (
        "needs_ctx",
        "principal_reads",
        "rcp",
        "rcp_denies",
        "rcp_fixed_deny",
        "rcp_open",
        "rcp_service",
        "rcp_split",
        "resource",
        "resource_reads",
        "resource_split",
    )

    def __init__(self, groups: ResourceGroups, action: str, lowered: str) -> None:
        resource, rcp, rcp_services = groups
        self.rcp_service = lowered.partition(":")[0] in rcp_services
        self.resource, self.resource_split = _group_candidates(resource, action, lowered)
        found = [_group_candidates(g, action, lowered) for g in rcp]
        self.rcp: tuple[Candidates, ...] = tuple(c for c, _ in found)
        self.rcp_split: tuple[Split, ...] = tuple(s for _, s in found)
        # the RCP levels for the decision-only path: any unconditional Deny, the per-request
        # Denies with their level, and the levels lacking an unconditional Allow
        self.rcp_fixed_deny = any(c[0][1] for c in self.rcp)
        self.rcp_denies = tuple(
            (level, st) for level, split in enumerate(self.rcp_split) for st in split[0]
        )
        self.rcp_open = tuple(
            (level, split[1])
            for level, (c, split) in enumerate(zip(self.rcp, self.rcp_split, strict=True))
            if not c[0][0]
        )
        dynamic = [*self.resource[1]]
        for c in self.rcp:
            dynamic += c[1]
        self.needs_ctx, self.principal_reads, self.resource_reads = _context_needs(dynamic, set())


def _context_needs(
    dynamic: Sequence[CompiledStatement], reads: set[str]
) -> tuple[bool, tuple[str, ...], tuple[str, ...]]:
    """Whether per-request statements read the context, and which derivable keys they read
    (principal-derived, resource-derived): only those are worth deriving for a request."""
    needs = any(st.condition is not None or st.dynamic_resources for st in dynamic)
    for st in dynamic:
        reads |= st.reads
    derivable = sorted(k for k in reads if is_derivable(k))
    return (
        needs,
        tuple(k for k in derivable if not k.startswith("aws:resource")),
        tuple(k for k in derivable if k.startswith("aws:resource")),
    )


class _SideInfo:
    """What a set needs to know of one side's groups, computed once per distinct side: the
    table of its per-action plans, whether a statement is defective, and the context keys the
    groups read (and of those, the derivable ones: principal-derived, resource-derived)."""

    __slots__ = ("defect", "derived", "reads", "table")

    def __init__(self, groups: Sequence[StatementGroup | None]) -> None:
        present = [g for g in groups if g is not None]
        self.table: dict[str, Any] = {}
        self.defect = any(g.defect for g in present)
        reads: set[str] = {"aws:principalarn"}  # the service-linked-role test reads it
        for g in present:
            reads |= g.reads
        self.reads = frozenset(reads)
        self.derived = _derived(self.reads)


def _derived(reads: frozenset[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The derivable keys among `reads`, sorted: (principal-derived, resource-derived)."""
    found = _DERIVED.get(reads)
    if found is None:
        derivable = sorted(k for k in reads if is_derivable(k))
        found = (
            tuple(k for k in derivable if not k.startswith("aws:resource")),
            tuple(k for k in derivable if k.startswith("aws:resource")),
        )
        if len(_DERIVED) >= _SIDE_MEMO_LIMIT:
            _DERIVED.clear()
        _DERIVED[reads] = found
    return found


_DERIVED: dict[frozenset[str], tuple[tuple[str, ...], tuple[str, ...]]] = {}


_SIDE_INFO: dict[tuple[object, ...], _SideInfo] = {}


def _side_info(key: tuple[object, ...], groups: Sequence[StatementGroup | None]) -> _SideInfo:
    """The shared `_SideInfo` of the side whose groups form `key` (memoised, bounded).

    A set holds its side's table directly, so clearing this memo never breaks a set."""
    found = _SIDE_INFO.get(key)
    if found is None:
        found = _SideInfo(groups)
        if len(_SIDE_INFO) >= _SIDE_MEMO_LIMIT:
            _SIDE_INFO.clear()
        _SIDE_INFO[key] = found
    return found


class _Plan:
    """Both sides of one set's plan for an action, for the explaining path (`decide`), with
    that set's interned results and statement ranking (memoised per set)."""

    __slots__ = ("_rank", "compiled", "p", "r", "results")

    def __init__(self, compiled: CompiledPolicySet, p: _PrincipalSide, r: _ResourceSide) -> None:
        self.compiled = compiled
        self.p = p
        self.r = r
        self.results: dict[tuple[object, ...], EvaluationResult] = {}
        self._rank: dict[CompiledStatement, tuple[int, int]] | None = None

    def rank(self) -> dict[CompiledStatement, tuple[int, int]]:
        """Matched statements are reported in the reference's order: by the position of their
        policy object in all_policies() (its last position if listed twice), then index.
        Built on the first explanation that needs it."""
        rank = self._rank
        if rank is None:
            order = self.compiled.order()
            p = self.p
            everything = [p.identity, p.boundary, p.session, self.r.resource, *self.r.rcp]
            everything += p.scp.levels
            rank = {
                st: (order.get(id(st.named), len(order)), st.index)
                for c in everything
                for part in (c[0][0], c[0][1], c[1])
                for st in part
            }
            self._rank = rank
        return rank


_PLAN_LIMIT = 1024
_MANAGED_WRITE_ACTIONS = _MANAGED_POLICY_WRITES | _RESERVED_ROLE_WRITES | _AWS_ALIAS_WRITES
_SHAPE_LIMIT = 256
Projection = tuple[tuple[str, ...], "Callable[[Mapping[str, ContextValue]], object] | None"]


def _run(
    candidates: Candidates,
    arn: str,
    ctx: Mapping[str, ContextValue],
    missing: set[str],
    bits: dict[int, int] | None = None,
    trap: bool = False,
    variants: Sequence[Mapping[str, ContextValue]] = (),
) -> Hits:
    """evaluator.evaluate_set over the candidates the action index yields.

    `variants`: other readings of the context when two tags differ only in case
    (evaluator.tag_variants); a Condition holds if it holds for the context or any variant.
    """
    fixed, dynamic = candidates
    if not dynamic:
        return fixed
    allows = list(fixed[0])
    denies = list(fixed[1])
    classes = fixed[2]
    for st in dynamic:
        cls = 0
        if bits is not None:
            listed = bits[id(st)]
            if st.principal.negated:  # type: ignore[union-attr]
                if listed and not (trap and st.deny):
                    continue
                cls = _DIRECT_BIT  # NotPrincipal + Allow (legacy): §5.2
            elif not listed:
                continue
            else:
                cls = listed
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
            classes |= cls
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


def _denies(
    candidates: Candidates,
    split: tuple[Statements, Statements],
    arn: str,
    ctx: Mapping[str, ContextValue],
) -> bool:
    """Does a Deny of this group apply?"""
    return bool(candidates[0][1]) or bool(split[0] and _any_applies(split[0], arn, ctx))


def _allows(
    candidates: Candidates,
    split: tuple[Statements, Statements],
    arn: str,
    ctx: Mapping[str, ContextValue],
) -> bool:
    """Does an Allow of this group apply?"""
    return bool(candidates[0][0]) or bool(split[1] and _any_applies(split[1], arn, ctx))


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
        return _DIRECT_BIT  # NotPrincipal + Allow (legacy): §5.2
    return listed


_matched_of = operator.attrgetter("matched")
_DECISIONS = {"E": _EXPLICIT, "I": _IMPLICIT, "A": _ALLOWED}
_RESULT_LIMIT = 256


def _result(
    plan: _Plan,
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
        "derived_reads",
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
        self._pkey: PrincipalGroups = (identity, boundary, session, self.scp)
        pside = _side_info(self._pkey, (identity, session, *self.scp, boundary))
        self._ptable: dict[str, _PrincipalSide] = pside.table
        self._rkey: ResourceGroups = (resource, self.rcp, rcp_services)
        rside = _side_info(self._rkey, (*self.rcp, resource))
        self._rtable: dict[str, _ResourceSide] = rside.table
        self.defect = pside.defect or rside.defect
        if rside.reads <= pside.reads:
            self.reads: frozenset[str] = pside.reads
            self.principal_reads, self.resource_reads = pside.derived
        else:
            self.reads = pside.reads | rside.reads
            self.principal_reads, self.resource_reads = _derived(self.reads)
        self.derived_reads = tuple(sorted((*self.principal_reads, *self.resource_reads)))
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
        self._plans: dict[str, _Plan] = {}
        self._shapes: dict[tuple[str, ...], Projection] = {}

    def order(self) -> dict[int, int]:
        """Position of each policy object in all_policies() (the last one if listed twice)."""
        order = self._order
        if order is None:
            order = {id(named): i for i, named in enumerate(self.policies.all_policies())}
            self._order = order
        return order

    @property
    def statement_count(self) -> int:
        groups = [self.identity, self.session, *self.scp, *self.rcp]
        groups += [g for g in (self.boundary, self.resource) if g is not None]
        return sum(len(g) for g in groups)

    def principal_side(self, action: str) -> _PrincipalSide:
        """The caller's side of the plan for an action as spelled (shared, built once)."""
        table = self._ptable
        found = table.get(action)
        if found is None:
            found = _PrincipalSide(self._pkey, action, action.lower())
            if len(table) >= _PLAN_LIMIT:
                table.clear()
            table[action] = found
        return found

    def resource_side(self, action: str) -> _ResourceSide:
        """The resource's side of the plan for an action as spelled (shared, built once)."""
        table = self._rtable
        found = table.get(action)
        if found is None:
            found = _ResourceSide(self._rkey, action, action.lower())
            if len(table) >= _PLAN_LIMIT:
                table.clear()
            table[action] = found
        return found

    def plan(self, action: str) -> _Plan:
        """Both sides' candidates for an action as spelled, for `decide` (memoised, bounded).

        Keyed by the spelling so that decide() need not lower-case the action: a service
        sees few spellings of each action, and every spelling gets the same candidates.
        """
        found = self._plans.get(action)
        if found is not None:
            return found
        plan = _Plan(self, self.principal_side(action), self.resource_side(action))
        if len(self._plans) >= _PLAN_LIMIT:
            self._plans.clear()
        self._plans[action] = plan
        return plan

    def projection(self, shape: tuple[str, ...]) -> Projection:
        """For a request context with keys `shape` (as spelled), the keys this set reads and
        a getter of their values (memoised: a service sees few context shapes)."""
        found = self._shapes.get(shape)
        if found is not None:
            return found
        read = tuple(k for k in shape if k.lower() in self.reads)
        getter: Callable[[Mapping[str, ContextValue]], object] | None = None
        if read:
            getter = operator.itemgetter(*read)
        projection = (read, getter)
        if len(self._shapes) >= _SHAPE_LIMIT:
            self._shapes.clear()
        self._shapes[shape] = projection
        return projection

    def context(
        self,
        request: Request,
        facts: PrincipalFacts | None = None,
        p: _PrincipalSide | None = None,
        r: _ResourceSide | None = None,
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
                (facts or principal_facts(caller)).twins or _has_case_twins(request.resource.tags)
            ):
                # tags differing only in case (rare): the explaining path handles the variants
                return self.decide(request).decision
        slr = False
        if self.guarded and (ctype is _ASSUMED_ROLE or ctype is _ROLE):
            if facts is None:
                facts = principal_facts(caller)
            slr = facts.slr_name or _slr_path(request, ctx if needs_ctx else None)
        scp_applies = (
            self.has_scp and (signed or federated_session or ctype is _ROOT) and not slr
        )
        rcp_applies = self.has_rcp and not slr and r.rcp_service
        identity_applies = signed or federated_session
        session_applies = ctype is _ASSUMED_ROLE or ctype is _ROLE or federated_session
        has_boundary = identity_applies and self.boundary is not None
        has_session = session_applies and self.has_session_policies
        has_identity = identity_applies and self.has_identity_policies
        arn = request.resource.arn

        # 1. an applicable Deny anywhere wins
        if scp_applies:
            side = p.scp
            if side.fixed[1] or (side.denies and _any_applies(side.denies, arn, ctx)):
                return _EXPLICIT
        if has_identity and _denies(p.identity, p.identity_split, arn, ctx):
            return _EXPLICIT
        if has_boundary and _denies(p.boundary, p.boundary_split, arn, ctx):
            return _EXPLICIT
        if has_session and _denies(p.session, p.session_split, arn, ctx):
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
        identity_allows = has_identity and _allows(p.identity, p.identity_split, arn, ctx)
        boundary_ok = not has_boundary or _allows(p.boundary, p.boundary_split, arn, ctx)
        session_ok = True
        if session_applies:
            if not self.has_session_policies:
                session_ok = not federated_session
            else:
                session_ok = _allows(p.session, p.session_split, arn, ctx)
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
        plan = self._plans.get(action)
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
            (facts or principal_facts(caller)).twins or _has_case_twins(request.resource.tags)
        ):
            # two tags differing only in case: conditions may hold under either reading
            variants = tag_variants(request, ctx)
        scp_applies = (
            self.has_scp and (signed or federated_session or ctype is _ROOT) and not slr
        )
        rcp_applies = self.has_rcp and not slr and r.rcp_service
        identity_applies = signed or federated_session
        session_applies = ctype is _ASSUMED_ROLE or ctype is _ROLE or federated_session
        has_boundary = identity_applies and self.boundary is not None
        has_session = session_applies and self.has_session_policies
        has_identity = identity_applies and self.has_identity_policies

        arn = request.resource.arn
        missing: set[str] = set()
        # SCP / RCP levels: any Deny denies, every level needs an Allow (plain loops: no
        # generator frames on the hot path)
        scp: Hits = _NO_HITS
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
        identity = boundary = session = _NO_HITS
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

    def _gate(
        self,
        p: _PrincipalSide,
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
        direct = bool(classes & _DIRECT_BIT)
        parent = bool(classes & _PARENT_BIT)
        account = bool(classes & _ACCOUNT_BIT)
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


def _has_case_twins(tags: Mapping[str, str]) -> bool:
    """Do two tag keys differ only in case? (Then evaluator.tag_variants applies.)"""
    return len(tags) > 1 and len({k.lower() for k in tags}) != len(tags)


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


def _role_name_is_service_linked(caller: Caller) -> bool:
    """The name half of evaluator._is_service_linked_role (`AWSServiceRoleFor…`)."""
    name = _session_role_name(caller) or (caller.arn or "").rsplit("/", 1)[-1]
    return name.startswith("AWSServiceRoleFor")


def _session_role_name(caller: Caller) -> str | None:
    if caller.type is not _ASSUMED_ROLE or not caller.arn:
        return None
    fields = caller.arn.split(":", 5)
    if len(fields) != 6 or fields[0] != "arn" or not fields[5].startswith("assumed-role/"):
        return None
    pieces = fields[5].split("/")
    return pieces[1] if len(pieces) >= 3 else None
