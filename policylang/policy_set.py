"""The policies that take part in one decision, grouped by the role they play (evaluation.md §2)."""

from __future__ import annotations

import attrs

from policylang.ir import Policy, PolicyKind


@attrs.frozen(slots=True)
class NamedPolicy:
    """A policy with the label answers use for it (`identity[0]`, `resource`, `scp[1][0]`, …).

    `policy_type` is the simulator's SourcePolicyType when known (user, group, role,
    aws-managed, user-managed, resource).
    """

    label: str
    policy: Policy
    kind: PolicyKind
    policy_type: str | None = None


@attrs.frozen(slots=True)
class PolicySet:
    """Every policy set of evaluation.md §2. `scp`/`rcp` are lists of levels, root first."""

    identity: tuple[NamedPolicy, ...] = ()
    resource: NamedPolicy | None = None
    boundary: NamedPolicy | None = None
    session: tuple[NamedPolicy, ...] = ()
    scp: tuple[tuple[NamedPolicy, ...], ...] = ()
    rcp: tuple[tuple[NamedPolicy, ...], ...] = ()

    def all_policies(self) -> tuple[NamedPolicy, ...]:
        out: list[NamedPolicy] = list(self.identity)
        if self.resource is not None:
            out.append(self.resource)
        if self.boundary is not None:
            out.append(self.boundary)
        out.extend(self.session)
        for level in (*self.scp, *self.rcp):
            out.extend(level)
        return tuple(out)
