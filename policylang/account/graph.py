"""The trust and access graph of an environment, as Mermaid and Graphviz DOT (SVG with `dot`).

Nodes: users, groups, roles, instance profiles, service principals, identity providers,
external accounts/principals, and resources that carry a resource policy. Edges:

* `member` — user → group;
* `contains` — instance profile → role;
* `assume` — principal → role, checked with the evaluator (dashed when conditional);
* `access` — principal → resource, for each resource-policy Allow statement naming it (label:
  the actions; static, not evaluated).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Mapping

import attrs

from policylang.account.model import Environment
from policylang.account.questions import (
    TrustIndex,
    all_principals,
    assume_edges,
    trust_keys,
)
from policylang.account.resolve import federated_principal, service_principal
from policylang.ir import Effect
from policylang.request import ContextValue


@attrs.frozen
class Node:
    id: str
    label: str
    kind: str
    account: str | None = None
    """The loaded account the node belongs to (drawn as a cluster), if any."""


@attrs.frozen
class Edge:
    source: str
    target: str
    kind: str
    label: str = ""
    conditional: bool = False


@attrs.frozen
class Graph:
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    accounts: tuple[tuple[str, str], ...] = ()
    """(account id, cluster title) of each loaded account, in id order."""


def _key_node(key: str) -> Node:
    kind, _, value = key.partition(":")
    if kind == "svc":
        return Node(key, value, "service")
    if kind == "fed":
        return Node(
            key, value.rsplit("/", 1)[-1] if value.startswith("arn:") else value, "federated"
        )
    if kind == "acct":
        return Node(f"arn:aws:iam::{value}:root", f"account {value}", "external")
    if kind == "*":
        return Node("*", "anyone (*)", "external")
    if kind == "role":
        account, _, name = value.partition(":")
        return Node(key, f"role {name} ({account})", "external")
    if kind == "id":
        return Node(key, value, "external")
    return Node(value, value.rsplit(":", 1)[-1], "external")


def build_graph(env: Environment, *, context: Mapping[str, ContextValue] | None = None) -> Graph:
    """Compute the graph (the `assume` edges are evaluated, the others are structural)."""
    nodes: dict[str, Node] = {}
    edges: list[Edge] = []
    index = TrustIndex(env)
    for account in env.accounts.values():
        acct = account.account_id
        for user in account.users.values():
            nodes[user.arn] = Node(user.arn, f"user {user.name}", "user", acct)
        for group in account.groups.values():
            nodes[group.arn] = Node(group.arn, f"group {group.name}", "group", acct)
            for member in group.members:
                edges.append(Edge(account.users[member.lower()].arn, group.arn, "member"))
        for role in account.roles.values():
            nodes[role.arn] = Node(role.arn, f"role {role.name}", "role", acct)
        for profile in account.instance_profiles.values():
            nodes[profile.arn] = Node(
                profile.arn, f"instance profile {profile.name}", "profile", acct
            )
            if profile.role is not None:
                edges.append(Edge(profile.arn, account.roles[profile.role.lower()].arn, "contains"))
    # Trust edges from in-environment principals, evaluated.
    for principal in all_principals(env):
        for role, answer in assume_edges(env, index, principal, context):
            assert principal.arn is not None
            edges.append(
                Edge(
                    principal.arn,
                    role.arn,
                    "assume",
                    "sts:AssumeRole",
                    answer.status == "conditional",
                )
            )
    # Trust edges from services, identity providers and external principals.
    in_env = {f"acct:{a}" for a in env.accounts}
    for key, pairs in sorted(index.roles.items()):
        kind = key.split(":", 1)[0]
        for _, role in pairs:
            if kind in ("svc", "fed"):
                value = key.split(":", 1)[1]
                who = service_principal(value) if kind == "svc" else federated_principal(value)
                found = [
                    a
                    for r, a in assume_edges(env, _Only(role.arn, index), who, context)
                    if r.arn == role.arn
                ]
                if not found:
                    continue
                node = _key_node(key)
                nodes.setdefault(node.id, node)
                edges.append(
                    Edge(node.id, role.arn, "assume", "trusted", found[0].status == "conditional")
                )
            elif key not in in_env and not _names_local(env, key):
                node = _key_node(key)
                nodes.setdefault(node.id, node)
                edges.append(Edge(node.id, role.arn, "assume", "trusted (external)", True))
    # Access edges from resource policies.
    for account in env.accounts.values():
        for arn, entry in sorted(account.resource_policies.items()):
            if entry.document is None:
                continue
            nodes[arn] = Node(arn, arn.split(":", 5)[-1] or arn, "resource", account.account_id)
            for statement in entry.document.statements:
                if statement.effect is not Effect.ALLOW:
                    continue
                actions = ", ".join(statement.action.values.items)
                if statement.action.negated:
                    actions = "NotAction " + actions
                for key in sorted(trust_keys(statement)):
                    source = _resolve_key(env, key)
                    if source not in nodes:
                        node = _key_node(key)
                        source = node.id
                        nodes.setdefault(node.id, node)
                    edges.append(Edge(source, arn, "access", actions, bool(statement.condition)))
    for node_id, node in list(nodes.items()):
        # A loaded account's own root (named by `aws ACCOUNT` in a policy) sits in its cluster.
        parts = node_id.split(":")
        local_root = len(parts) == 6 and parts[5] == "root" and parts[4] in env.accounts
        if node.account is None and local_root:
            nodes[node_id] = attrs.evolve(node, label="account root", account=parts[4])
    titles = tuple(
        (a.account_id, f"{a.alias} ({a.account_id})" if a.alias else f"account {a.account_id}")
        for _, a in sorted(env.accounts.items())
    )
    return Graph(tuple(nodes.values()), tuple(edges), titles)


class _Only(TrustIndex):
    """A trust index restricted to one role (to test a single service → role edge)."""

    def __init__(self, role_arn: str, full: TrustIndex) -> None:
        self.roles = {k: [(a, r) for a, r in v if r.arn == role_arn] for k, v in full.roles.items()}


def _names_local(env: Environment, key: str) -> bool:
    kind, _, value = key.partition(":")
    if kind == "role":
        account, _, name = value.partition(":")
        return account in env.accounts and name in env.accounts[account].roles
    if kind == "arn":
        # Local when it resolves to a modelled user or role (then the evaluated `assume` edge
        # already shows it); comparing with `value` alone missed user ARNs, which resolve to
        # themselves.
        resolved = _resolve_key(env, key)
        parts = resolved.split(":", 5)
        owner = env.accounts.get(parts[4]) if len(parts) == 6 else None
        if owner is None:
            return False
        arns = {u.arn for u in owner.users.values()} | {r.arn for r in owner.roles.values()}
        return resolved in arns
    return False


def _resolve_key(env: Environment, key: str) -> str:
    """The node id of an in-environment principal named by an index key (else the key)."""
    kind, _, value = key.partition(":")
    if kind == "role":
        account, _, name = value.partition(":")
        acct = env.accounts.get(account)
        if acct is not None and name in acct.roles:
            return acct.roles[name].arn
    if kind == "arn":
        parts = value.split(":", 5)
        acct = env.accounts.get(parts[4]) if len(parts) == 6 else None
        if acct is not None:
            name = parts[5].rsplit("/", 1)[-1].lower()
            if parts[5].startswith("user/") and name in acct.users:
                return acct.users[name].arn
            if parts[5].startswith("assumed-role/"):
                role_name = parts[5].split("/")[1].lower()
                if role_name in acct.roles:
                    return acct.roles[role_name].arn
        return value
    return _key_node(key).id


# --------------------------------------------------------------------------------------------
# Output

_SHAPES_MERMAID = {
    "user": ('["', '"]'),
    "group": ('[["', '"]]'),
    "role": ('(["', '"])'),
    "profile": ('[/"', '"/]'),
    "service": ('{{"', '"}}'),
    "federated": ('{{"', '"}}'),
    "external": ('>"', '"]'),
    "resource": ('[("', '")]'),
}
_SHAPES_DOT = {
    "user": "box",
    "group": "box3d",
    "role": "ellipse",
    "profile": "component",
    "service": "hexagon",
    "federated": "hexagon",
    "external": "octagon",
    "resource": "cylinder",
}


def _ids(graph: Graph) -> dict[str, str]:
    return {node.id: f"n{i}" for i, node in enumerate(graph.nodes)}


def _escape(text: str) -> str:
    return text.replace('"', "#quot;")


def to_mermaid(graph: Graph) -> str:
    """A Mermaid `flowchart LR`."""
    ids = _ids(graph)
    lines = ["flowchart LR"]

    def node_line(node: Node, indent: str) -> str:
        left, right = _SHAPES_MERMAID[node.kind]
        return f"{indent}{ids[node.id]}{left}{_escape(node.label)}{right}"

    for index, (account, title) in enumerate(graph.accounts):
        members = [n for n in graph.nodes if n.account == account]
        if members:
            lines.append(f'    subgraph a{index}["{_escape(title)}"]')
            lines.extend(node_line(n, "        ") for n in members)
            lines.append("    end")
    clustered = {a for a, _ in graph.accounts}
    lines.extend(node_line(n, "    ") for n in graph.nodes if n.account not in clustered)
    for edge in graph.edges:
        arrow = "-.->" if edge.conditional else "-->"
        label = edge.label or edge.kind
        lines.append(f"    {ids[edge.source]} {arrow}|{_escape(label)}| {ids[edge.target]}")
    return "\n".join(lines) + "\n"


def _dot_quote(text: str) -> str:
    return '"' + re.sub(r'(["\\])', r"\\\1", text) + '"'


def to_dot(graph: Graph) -> str:
    """A Graphviz digraph."""
    ids = _ids(graph)
    lines = ["digraph iam {", "    rankdir=LR;", "    node [fontname=Helvetica];"]

    def node_line(node: Node, indent: str) -> str:
        return (
            f"{indent}{ids[node.id]} [label={_dot_quote(node.label)}, "
            f"shape={_SHAPES_DOT[node.kind]}, tooltip={_dot_quote(node.id)}];"
        )

    # One cluster per loaded account, so that same-named roles of two accounts stay apart.
    for index, (account, title) in enumerate(graph.accounts):
        members = [n for n in graph.nodes if n.account == account]
        if members:
            lines.append(f"    subgraph cluster_{index} {{")
            lines.append(f"        label={_dot_quote(title)}; style=rounded; color=gray50;")
            lines.extend(node_line(n, "        ") for n in members)
            lines.append("    }")
    clustered = {a for a, _ in graph.accounts}
    lines.extend(node_line(n, "    ") for n in graph.nodes if n.account not in clustered)
    for edge in graph.edges:
        style = ", style=dashed" if edge.conditional else ""
        lines.append(
            f"    {ids[edge.source]} -> {ids[edge.target]} "
            f"[label={_dot_quote(edge.label or edge.kind)}{style}];"
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_svg(dot_text: str) -> bytes | None:
    """SVG from DOT text with Graphviz's `dot`, or None when `dot` is not installed."""
    exe = shutil.which("dot")
    if exe is None:
        return None
    done = subprocess.run(
        [exe, "-Tsvg"], input=dot_text.encode(), capture_output=True, check=True, timeout=60
    )
    return done.stdout
