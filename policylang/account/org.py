"""AWS Organizations: the tree root → OUs → accounts, with SCPs and RCPs attached per node.

`Organization.levels(account, type)` gives the policies of one type per level, root first, as
the evaluator expects them (evaluation.md §3: every level needs an applicable Allow). Quotas:
at most 5 policies of a type per node, OUs nested at most 5 deep (policy-grammar.md §9).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import attrs

from policylang.account.ids import check_account_id
from policylang.account.model import _check_size, _exists, _no_such, policy_size
from policylang.errors import AccountError
from policylang.ir import Policy, PolicyKind
from policylang.validate import Limits

# --------------------------------------------------------------------------------------------
# Organizations

OrgPolicyType = Literal["SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"]
_POLICY_KIND: dict[str, PolicyKind] = {
    "SERVICE_CONTROL_POLICY": PolicyKind.SCP,
    "RESOURCE_CONTROL_POLICY": PolicyKind.RCP,
}


@attrs.frozen
class OrgPolicy:
    """An SCP or RCP. `aws_managed` for FullAWSAccess / RCPFullAWSAccess."""

    id: str
    name: str
    type: OrgPolicyType
    document: Policy
    description: str | None = None
    aws_managed: bool = False


@attrs.frozen
class OrgNode:
    """The root, an OU or an account in the organization tree. `policies` holds policy ids."""

    id: str
    name: str
    kind: Literal["root", "ou", "account"]
    parent: str | None
    policies: tuple[str, ...] = ()


@attrs.define(eq=True)
class Organization:
    """An AWS Organization: a tree root → OUs → accounts with SCPs and RCPs attached per node."""

    id: str
    management_account: str
    root_id: str = "r-root"
    root_name: str = "Root"
    nodes: dict[str, OrgNode] = attrs.Factory(dict)
    policies: dict[str, OrgPolicy] = attrs.Factory(dict)
    quotas: Limits = attrs.field(factory=Limits, eq=False)

    def __attrs_post_init__(self) -> None:
        if self.root_id not in self.nodes:
            self.nodes[self.root_id] = OrgNode(self.root_id, self.root_name, "root", None)

    def _node(self, node_id: str) -> OrgNode:
        found = self.nodes.get(node_id)
        if found is None:
            raise _no_such("organization node", node_id)
        return found

    def add_ou(self, ou_id: str, name: str, parent: str) -> OrgNode:
        parent_node = self._node(parent)
        if parent_node.kind == "account":
            raise AccountError(
                f"`{parent}` is an account; OUs live under the root or an OU",
                aws_error="ConstraintViolationException",
            )
        if ou_id in self.nodes:
            raise _exists("organizational unit", ou_id)
        depth = len(self.path_to(parent))
        if depth > self.quotas.org_ou_depth:
            raise AccountError(
                f"OUs nest at most {self.quotas.org_ou_depth} levels below the root",
                aws_error="ConstraintViolationException",
            )
        node = OrgNode(ou_id, name, "ou", parent)
        self.nodes[ou_id] = node
        return node

    def add_account(self, account_id: str, parent: str, name: str = "") -> OrgNode:
        check_account_id(account_id)
        parent_node = self._node(parent)
        if parent_node.kind == "account":
            raise AccountError(
                f"`{parent}` is an account", aws_error="ConstraintViolationException"
            )
        if account_id in self.nodes:
            raise _exists("account", account_id)
        node = OrgNode(account_id, name or account_id, "account", parent)
        self.nodes[account_id] = node
        return node

    def create_policy(self, policy: OrgPolicy) -> None:
        if policy.id in self.policies:
            raise _exists("organization policy", policy.id)
        if not policy.aws_managed:
            kind = _POLICY_KIND[policy.type]
            limit = self.quotas.size_limit(kind)
            assert limit is not None  # SCPs and RCPs always have a size quota
            _check_size(
                policy_size(policy.document, kind), limit, f"policy `{policy.name}`", "Content"
            )
        self.policies[policy.id] = policy

    def attach_policy(self, policy_id: str, target: str) -> None:
        policy = self.policies.get(policy_id)
        if policy is None:
            raise _no_such("organization policy", policy_id)
        node = self._node(target)
        if policy_id in node.policies:
            raise AccountError(
                f"policy `{policy_id}` is already attached to `{target}`",
                aws_error="DuplicatePolicyAttachmentException",
            )
        same_type = [p for p in node.policies if self.policies[p].type == policy.type]
        per_target = (
            self.quotas.scps_per_target
            if policy.type == "SERVICE_CONTROL_POLICY"
            else self.quotas.rcps_per_target
        )
        if len(same_type) >= per_target:
            raise AccountError(
                f"`{target}` already has {len(same_type)} policies of type {policy.type}",
                aws_error="ConstraintViolationException",
                code="account.limit-exceeded",
            )
        self.nodes[target] = attrs.evolve(node, policies=(*node.policies, policy_id))

    def path_to(self, node_id: str) -> list[OrgNode]:
        """Nodes from the root down to `node_id` (inclusive)."""
        out: list[OrgNode] = []
        current: str | None = node_id
        while current is not None:
            node = self._node(current)
            out.append(node)
            current = node.parent
        out.reverse()
        return out

    def levels(self, account_id: str, policy_type: OrgPolicyType) -> list[list[OrgPolicy]]:
        """Policies of one type per level root → OUs → account; [] for the management account,
        for accounts outside the organization, and when no policy of that type is attached."""
        if account_id == self.management_account or account_id not in self.nodes:
            return []
        levels = [
            [self.policies[p] for p in node.policies if self.policies[p].type == policy_type]
            for node in self.path_to(account_id)
        ]
        if not any(levels):
            return []
        return levels

    def accounts(self) -> Iterator[OrgNode]:
        return (n for n in self.nodes.values() if n.kind == "account")
