"""Plans: the candidate statements of a compiled set for one action, built once and shared.

A plan has two sides. The caller's side (`PrincipalSide`: identity, boundary, session and SCP
groups) is shared by every set holding the same groups on that side (the caller's other
resources); the resource's side (`ResourceSide`: resource policy and RCP groups) by every set
with the same resource groups (the resource's other callers). Each group's candidates come in
two forms: `Candidates` for the explaining path (the statements that apply whatever the
request, pre-counted, and those left to check per request) and split into Denies and Allows
for the decision-only path. `Plan` joins both sides for one set (its interned results and the
reference's statement order). Every table here is bounded and cleared when full; a set holds
its own side tables, so clearing a memo never breaks a set.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from policylang.compiler.facts import is_derivable
from policylang.compiler.lower import CompiledStatement, StatementGroup
from policylang.decision import EvaluationResult
from policylang.evaluator import (
    AWS_MANAGED_WRITE_ACTIONS,
    GET_CALLER_IDENTITY,
    ROLE_TRUST_ACTIONS,
    PrincipalClass,
)

if TYPE_CHECKING:
    from policylang.compiler.compiled import CompiledPolicySet

DIRECT_BIT = 1 << int(PrincipalClass.DIRECT)
PARENT_BIT = 1 << int(PrincipalClass.PARENT)
ACCOUNT_BIT = 1 << int(PrincipalClass.ACCOUNT)

Statements = tuple[CompiledStatement, ...]
Hits = tuple[list[CompiledStatement], list[CompiledStatement], int]
"""One group's applicable statements for one request: (allows, denies, principal-class bits
of the allows)."""

NO_HITS: Hits = ([], [], 0)  # shared; never mutated


Candidates = tuple[Hits, Statements]
"""A group's candidates for one action: the hits of the statements that apply whatever the
request (no Principal to check, every resource, no Condition), and the statements left to
evaluate per request."""

_NO_CANDIDATES: Candidates = (NO_HITS, ())


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
                bits |= DIRECT_BIT
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
_SCP_SIDES: dict[tuple[tuple[StatementGroup, ...], str], ScpSide] = {}


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


class ScpSide:
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


def _scp_side(groups: tuple[StatementGroup, ...], action: str, lowered: str) -> ScpSide:
    key = (groups, lowered)
    found = _SCP_SIDES.get(key)
    if found is None:
        found = ScpSide(groups, action, lowered)
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


class PrincipalSide:
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
        self.managed_write = lowered in AWS_MANAGED_WRITE_ACTIONS
        self.identity, self.identity_split = _group_candidates(identity, action, lowered)
        self.boundary, self.boundary_split = _group_candidates(boundary, action, lowered)
        self.session, self.session_split = _group_candidates(session, action, lowered)
        self.scp = _scp_side(scp, action, lowered)
        dynamic = [*self.scp.dynamic, *self.identity[1], *self.boundary[1], *self.session[1]]
        # aws:PrincipalArn: the service-linked-role test reads it
        self.needs_ctx, self.principal_reads, self.resource_reads = _context_needs(
            dynamic, {"aws:principalarn"}
        )


class ResourceSide:
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
    return (needs, *derived_keys(frozenset(reads)))


class SideInfo:
    """What a set needs to know of one side's groups, computed once per distinct side: the
    table of its per-action plans, whether a statement is defective, and the context keys the
    groups read (and of those, the derivable ones: principal-derived, resource-derived)."""

    __slots__ = ("defect", "derived", "key", "reads", "table")

    def __init__(self, key: tuple[object, ...], groups: Sequence[StatementGroup | None]) -> None:
        self.key = key  # one tuple shared by every set of this side
        present = [g for g in groups if g is not None]
        self.table: dict[str, Any] = {}
        self.defect = any(g.defect for g in present)
        reads: set[str] = {"aws:principalarn"}  # the service-linked-role test reads it
        for g in present:
            reads |= g.reads
        self.reads = frozenset(reads)
        self.derived = derived_keys(self.reads)


def derived_keys(reads: frozenset[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
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


_SIDE_INFO: dict[tuple[object, ...], SideInfo] = {}


def side_info(key: tuple[object, ...], groups: Sequence[StatementGroup | None]) -> SideInfo:
    """The shared `SideInfo` of the side whose groups form `key` (memoised, bounded).

    A set holds its side's table directly, so clearing this memo never breaks a set."""
    found = _SIDE_INFO.get(key)
    if found is None:
        found = SideInfo(key, groups)
        if len(_SIDE_INFO) >= _SIDE_MEMO_LIMIT:
            _SIDE_INFO.clear()
        _SIDE_INFO[key] = found
    return found


class Plan:
    """Both sides of one set's plan for an action, for the explaining path (`decide`), with
    that set's interned results and statement ranking (memoised per set)."""

    __slots__ = ("_rank", "compiled", "p", "r", "results")

    def __init__(self, compiled: CompiledPolicySet, p: PrincipalSide, r: ResourceSide) -> None:
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


PLAN_LIMIT = 1024
