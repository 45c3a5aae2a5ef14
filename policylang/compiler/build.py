"""The compile passes, with sharing: `Compiler.compile(policy_set)` and `compile_policies`.

Pass 1 (lower.py) lowers each policy document once per `NamedPolicy` object; pass 2 groups the
lowered statements of one policy set (identity documents, one SCP level, …) and builds its
action index; pass 3 assembles a `CompiledPolicySet`. Each pass is memoised by object identity
in the `Compiler`, so a managed policy attached to a thousand principals is lowered once, an SCP
level shared by every principal of an account is indexed once, and compiling the PolicySet of
another principal only builds what is new. (Identity, not equality: hashing a policy tree on
every lookup would cost more than the lookup saves. Each memo entry keeps its key object alive,
so an id is never reused while its entry exists.)
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

from policylang.compiler.compiled import CompiledPolicySet
from policylang.compiler.lower import CompiledStatement, StatementGroup, lower_policy
from policylang.evaluator import RCP_SERVICES
from policylang.policy_set import NamedPolicy, PolicySet


class Compiler:
    """Compiles PolicySets, sharing lowered policies and statement groups between them.

    `max_sets` bounds the memo of compiled PolicySets (first in, first out); lowered policies
    and groups are kept as long as the compiler lives. Safe to share between threads (a race
    can only compile something twice).
    """

    def __init__(
        self, *, rcp_services: frozenset[str] = RCP_SERVICES, max_sets: int = 200_000
    ) -> None:
        self.rcp_services = rcp_services
        self.max_sets = max_sets
        self._lowered: dict[int, tuple[NamedPolicy, tuple[CompiledStatement, ...]]] = {}
        self._groups: dict[
            tuple[bool, tuple[int, ...]], tuple[tuple[NamedPolicy, ...], StatementGroup]
        ] = {}
        # first in, first out (OrderedDict: see engine._State)
        self._sets: OrderedDict[int, tuple[PolicySet, CompiledPolicySet]] = OrderedDict()
        self._levels: dict[
            tuple[bool, int], tuple[Sequence[Sequence[NamedPolicy]], tuple[StatementGroup, ...]]
        ] = {}
        self._single: dict[tuple[bool, int], tuple[NamedPolicy, StatementGroup]] = {}
        self._group_of_tuple: dict[
            tuple[bool, int], tuple[tuple[NamedPolicy, ...], StatementGroup]
        ] = {}
        self._lock = threading.Lock()

    def lower(self, named: NamedPolicy) -> tuple[CompiledStatement, ...]:
        """Pass 1: the lowered statements of one policy (memoised per object)."""
        found = self._lowered.get(id(named))
        if found is not None:
            return found[1]
        lowered = lower_policy(named)
        self._lowered[id(named)] = (named, lowered)
        return lowered

    def group(self, policies: Sequence[NamedPolicy], *, with_principal: bool) -> StatementGroup:
        """Pass 2: one policy set's statements with their action index (memoised)."""
        # PolicySets built from one principal's records share their tuples: the tuple object
        # itself is the cheap first key (kept alive by the entry, so its id is not reused)
        by_object = self._group_of_tuple.get((with_principal, id(policies)))
        if by_object is not None and by_object[0] is policies:
            return by_object[1]
        key = (with_principal, tuple(id(n) for n in policies))
        found = self._groups.get(key)
        if found is None:
            group = StatementGroup(
                policies, [self.lower(n) for n in policies], with_principal=with_principal
            )
            found = (tuple(policies), group)
            self._groups[key] = found
        if isinstance(policies, tuple):
            if len(self._group_of_tuple) >= self.max_sets:
                self._group_of_tuple.clear()
            self._group_of_tuple[(with_principal, id(policies))] = (policies, found[1])
        return found[1]

    def single(self, named: NamedPolicy, *, with_principal: bool) -> StatementGroup:
        """The group of one document (a boundary, a resource policy), memoised per object."""
        found = self._single.get((with_principal, id(named)))
        if found is not None and found[0] is named:
            return found[1]
        group = self.group((named,), with_principal=with_principal)
        self._single[(with_principal, id(named))] = (named, group)
        return group

    def levels(
        self, levels: Sequence[Sequence[NamedPolicy]], *, with_principal: bool
    ) -> tuple[StatementGroup, ...]:
        """One group per SCP/RCP level (memoised per levels tuple, as `group`)."""
        found = self._levels.get((with_principal, id(levels)))
        if found is not None and found[0] is levels:
            return found[1]
        groups = tuple(self.group(level, with_principal=with_principal) for level in levels)
        if isinstance(levels, tuple):
            if len(self._levels) >= self.max_sets:
                self._levels.clear()
            self._levels[(with_principal, id(levels))] = (levels, groups)
        return groups

    def compile(self, policies: PolicySet) -> CompiledPolicySet:
        """Pass 3: the compiled PolicySet (memoised per PolicySet object)."""
        found = self._sets.get(id(policies))
        if found is not None:
            return found[1]
        compiled = CompiledPolicySet(
            policies,
            identity=self.group(policies.identity, with_principal=False),
            boundary=(
                self.single(policies.boundary, with_principal=False)
                if policies.boundary is not None
                else None
            ),
            session=self.group(policies.session, with_principal=False),
            resource=(
                self.single(policies.resource, with_principal=True)
                if policies.resource is not None
                else None
            ),
            scp=self.levels(policies.scp, with_principal=False),
            rcp=self.levels(policies.rcp, with_principal=True),
            rcp_services=self.rcp_services,
        )
        with self._lock:
            if len(self._sets) >= self.max_sets:
                # first in, first out: drop the oldest entry
                self._sets.popitem(last=False)
            self._sets[id(policies)] = (policies, compiled)
        return compiled

    def stats(self) -> dict[str, int]:
        """How much has been compiled (policies lowered, groups indexed, sets assembled)."""
        return {
            "policies": len(self._lowered),
            "groups": len(self._groups),
            "sets": len(self._sets),
        }


def compile_policies(
    policies: PolicySet,
    *,
    compiler: Compiler | None = None,
    rcp_services: frozenset[str] = RCP_SERVICES,
) -> CompiledPolicySet:
    """Compile one PolicySet. Pass a shared `Compiler` to reuse work across many sets."""
    if compiler is None:
        compiler = Compiler(rcp_services=rcp_services)
    return compiler.compile(policies)
