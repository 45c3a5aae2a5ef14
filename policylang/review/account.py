"""Review every policy of an account file: identity (inline and managed), trust, resource.

The file is loaded with `load_environment` (so a bad file fails with the account loader's own
error) and one walk over the loaded model lists the documents to review, with their kind,
label and holders. Where each finding points depends on the file's form:

* DSL: the model's documents carry spans into the DSL file, so findings point at the
  statement's line and column as written.
* JSON (authorization details): the model's documents have no positions, so the file is parsed
  again with the located JSON parser and each document is reviewed from its located node.
  Documents stored as (URL-encoded) strings are located at the string.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable, Iterator
from pathlib import Path

import attrs

from policylang import _json
from policylang._json import JsonArray, JsonNode, JsonObject, JsonString
from policylang.account import Account, Environment, InlinePolicy, load_environment
from policylang.account.dsl_loader import is_dsl_text
from policylang.grammar.json_to_ir import parse_iam_json, policy_from_node
from policylang.ir import Policy, PolicyKind
from policylang.review.findings import Finding
from policylang.review.rules import granted_launch_actions, review_policy
from policylang.source import Source, Span

__all__ = ["review_account_file"]

_DocKey = tuple[str, ...]
"""Names one document of the model: (account id, "user"|"group"|"role", lower-cased name,
"inline", policy name) | (account id, "role", name, "trust") | (account id, "managed", ARN)
| (account id, "resource", ARN)."""


@attrs.frozen
class _Doc:
    """One document to review, as the model holds it."""

    key: _DocKey
    policy: Policy
    kind: PolicyKind
    label: str
    principals: tuple[str, ...]
    account_id: str


@attrs.frozen
class _Located:
    """Where a document sits in a JSON account file: its node and JSON path."""

    node: JsonNode
    path: str


def review_account_file(path: str | Path, *, env: Environment | None = None) -> list[Finding]:
    """Findings for every policy in an account file (account DSL, or GAAD dump, pages or
    bundle). `env`: the file already loaded with `load_environment([path])` (saves loading it
    twice)."""
    name = str(path)
    env = env if env is not None else load_environment([path])
    source = _json.decode_source(Path(path).read_bytes(), name)
    docs = list(_documents(env))
    located: dict[_DocKey, _Located] = {}
    if not is_dsl_text(source.text):
        located = _locate_json(_json.parse_located(source.text, source=source), env)
        # Report in file order (the order of the located walk); anything the file does not
        # hold (none expected) comes last, reviewed from the model without positions.
        order = {key: i for i, key in enumerate(located)}
        docs.sort(key=lambda d: order.get(d.key, len(order)))
    else:
        docs.sort(key=_written_at)  # DSL: in file order too
    own = frozenset(env.accounts)
    launch = _launch_by_principal(env)
    findings: list[Finding] = []
    for doc in docs:
        at = located.get(doc.key)
        policy, string_span = (doc.policy, None) if at is None else _policy(at, source)
        elsewhere: set[str] = set()
        if doc.kind is PolicyKind.IDENTITY:
            for who in doc.principals:
                elsewhere |= launch.get((doc.account_id, who), set())
        found = review_policy(policy, kind=doc.kind, file=name, label=doc.label,
                              principals=doc.principals, own_accounts=own,
                              launch_elsewhere=sorted(elsewhere))
        if string_span is not None:  # a string document: point at the string
            span = string_span
            found = [attrs.evolve(f, line=span.line, column=span.column,
                                  end_line=span.end_line, end_column=span.end_column)
                     for f in found]
        findings.extend(found)
    return findings


def _written_at(doc: _Doc) -> tuple[int, int]:
    """(line, column) of a DSL document's first statement: the policy's own span may cover
    its whole block or file, the statements' spans are where they are written."""
    statements = doc.policy.statements
    span = statements[0].span if statements else doc.policy.span
    return (span.line, span.column) if span is not None else (0, 0)


def _policy(at: _Located, source: Source) -> tuple[Policy, Span | None]:
    if isinstance(at.node, JsonString):
        text = at.node.value.strip()
        if not text.startswith("{"):
            text = urllib.parse.unquote(text)
        return parse_iam_json(text, source_name=source.name), at.node.span
    return policy_from_node(at.node, source=source, path=at.path), None


def _documents(env: Environment) -> Iterator[_Doc]:
    """Every document of the model worth reviewing, with its kind, label and holders.

    Managed policies are reviewed once each (default version), labelled by ARN and held by
    every principal that attaches them; an AWS-managed policy nobody attaches is skipped (a
    dump lists the ones it was asked for, not what the account uses); a policy used only as
    a permissions boundary is reviewed as one."""
    holders, boundaries = _users_of_managed(env)
    for account_id, account in env.accounts.items():
        for kind, table in (("user", account.users), ("group", account.groups),
                            ("role", account.roles)):
            for entity in table.values():
                who = f"{kind}/{entity.name}"
                principals = _with_members(env, account_id, (who,))
                for inline in entity.inline_policies:
                    yield _Doc((account_id, kind, entity.name.lower(), "inline", inline.name),
                               inline.document, PolicyKind.IDENTITY,
                               f"{who} inline policy {inline.name}", principals, account_id)
                trust = getattr(entity, "trust_policy", None)
                if isinstance(trust, Policy):
                    yield _Doc((account_id, kind, entity.name.lower(), "trust"), trust,
                               PolicyKind.TRUST, f"{who} trust policy", (who,), account_id)
        for arn, managed in account.policies.items():
            users = _with_members(env, account_id, sorted(holders.get((account_id, arn), ())))
            if managed.is_aws_managed and not users:
                continue
            boundary = (account_id, arn) in boundaries
            pkind = PolicyKind.BOUNDARY if boundary and not users else PolicyKind.IDENTITY
            yield _Doc((account_id, "managed", arn), managed.document, pkind,
                       f"managed policy {arn}", users, account_id)
        for arn, resource in account.resource_policies.items():
            if resource.document is not None:
                yield _Doc((account_id, "resource", arn), resource.document,
                           PolicyKind.RESOURCE, f"resource policy of {arn}", (arn,), account_id)


def _users_of_managed(
    env: Environment,
) -> tuple[dict[tuple[str, str], list[str]], set[tuple[str, str]]]:
    """(account id, policy ARN) → who has it attached; and which are used as boundaries.
    Keyed by account: an AWS managed policy has the same ARN in every account."""
    holders: dict[tuple[str, str], list[str]] = {}
    boundaries: set[tuple[str, str]] = set()
    for account_id, account in env.accounts.items():
        for kind, table in (("user", account.users), ("group", account.groups),
                            ("role", account.roles)):
            for entity in table.values():
                for arn in entity.attached_policies:
                    holders.setdefault((account_id, arn), []).append(f"{kind}/{entity.name}")
                boundary = getattr(entity, "boundary", None)
                if boundary:
                    boundaries.add((account_id, boundary))
    return holders, boundaries


def _launch_by_principal(env: Environment) -> dict[tuple[str, str], set[str]]:
    """(account id, `user/x`|`group/x`|`role/x`) → compute-launching actions granted by any of
    the principal's identity policies (a group: those of its members, who also hold it)."""

    # PERF: a managed policy is shared by many principals; scan each document once.
    memo: dict[int, tuple[Policy, list[str]]] = {}

    def launch_of(document: Policy) -> list[str]:
        hit = memo.get(id(document))
        if hit is None or hit[0] is not document:
            hit = (document, granted_launch_actions(document))
            memo[id(document)] = hit
        return hit[1]

    def granted(account: Account, inline: Iterable[InlinePolicy], attached: Iterable[str],
                ) -> set[str]:
        out: set[str] = set()
        for item in inline:
            out.update(launch_of(item.document))
        for arn in attached:
            managed = account.policies.get(arn)
            if managed is not None:
                out.update(launch_of(managed.document))
        return out

    result: dict[tuple[str, str], set[str]] = {}
    for account_id, account in env.accounts.items():
        for role in account.roles.values():
            result[(account_id, f"role/{role.name}")] = granted(
                account, role.inline_policies, role.attached_policies)
        for user in account.users.values():
            actions = granted(account, user.inline_policies, user.attached_policies)
            for group in account.groups_of(user.name):
                actions |= granted(account, group.inline_policies, group.attached_policies)
            result[(account_id, f"user/{user.name}")] = actions
            for group in account.groups_of(user.name):
                result.setdefault((account_id, f"group/{group.name}"), set()).update(actions)
    return result


def _with_members(env: Environment, account_id: str, holders: Iterable[str]) -> tuple[str, ...]:
    """Holders plus, for each group, its members as `user/x (via group/g)`."""
    out = list(holders)
    account = env.accounts.get(account_id)
    if account is None:
        return tuple(out)
    for holder in list(out):
        kind, _, name = holder.partition("/")
        group = account.groups.get(name.lower()) if kind == "group" else None
        if group is not None:
            out.extend(f"user/{member} (via {holder})" for member in group.members)
    return tuple(out)



# --------------------------------------------------------------------------------------------
# Locating documents in a JSON account file


def _pages(root: JsonNode) -> Iterator[tuple[str, JsonObject]]:
    if isinstance(root, JsonObject) and root.get("Accounts") is not None:
        accounts = root.get("Accounts")
        assert accounts is not None
        items = accounts.value.items if isinstance(accounts.value, JsonArray) else ()
        for i, dump in enumerate(items):
            yield from _dump_pages(dump, f"Accounts[{i}]")
    else:
        yield from _dump_pages(root, "")


def _dump_pages(dump: JsonNode, prefix: str) -> Iterator[tuple[str, JsonObject]]:
    if isinstance(dump, JsonArray):
        for i, page in enumerate(dump.items):
            if isinstance(page, JsonObject):
                yield f"{prefix}[{i}]", page
    elif isinstance(dump, JsonObject):
        yield prefix, dump


def _list(obj: JsonObject, key: str) -> list[JsonObject]:
    pair = obj.get(key)
    if pair is None or not isinstance(pair.value, JsonArray):
        return []
    return [item for item in pair.value.items if isinstance(item, JsonObject)]


def _text(obj: JsonObject, key: str) -> str:
    pair = obj.get(key)
    return pair.value.value if pair is not None and isinstance(pair.value, JsonString) else "?"


def _node(obj: JsonObject, key: str) -> JsonNode | None:
    pair = obj.get(key)
    return None if pair is None else pair.value


def _page_account(page: JsonObject) -> str:
    """The page's account id: `AccountId`, else the account field of the first entity ARN."""
    given = _text(page, "AccountId")
    if given != "?":
        return given
    for key in ("UserDetailList", "GroupDetailList", "RoleDetailList"):
        for entity in _list(page, key):
            fields = _text(entity, "Arn").split(":")
            if len(fields) > 4 and fields[4]:
                return fields[4]
    return ""


def _locate_json(root: JsonNode, env: Environment) -> dict[_DocKey, _Located]:
    """The located node of every document of a JSON account file, in file order, keyed as
    `_documents` keys the model's documents."""
    single = next(iter(env.accounts)) if len(env.accounts) == 1 else ""
    out: dict[_DocKey, _Located] = {}
    for prefix, page in _pages(root):
        at = f"{prefix}." if prefix else ""
        account_id = _page_account(page) or single
        for key, kind, name_key, list_key in (
            ("UserDetailList", "user", "UserName", "UserPolicyList"),
            ("GroupDetailList", "group", "GroupName", "GroupPolicyList"),
            ("RoleDetailList", "role", "RoleName", "RolePolicyList"),
        ):
            for i, entity in enumerate(_list(page, key)):
                name = _text(entity, name_key).lower()
                for j, inline in enumerate(_list(entity, list_key)):
                    doc = _node(inline, "PolicyDocument")
                    if doc is not None:
                        out[(account_id, kind, name, "inline", _text(inline, "PolicyName"))] = (
                            _Located(doc, f"{at}{key}[{i}].{list_key}[{j}].PolicyDocument"))
                trust = _node(entity, "AssumeRolePolicyDocument") if kind == "role" else None
                if trust is not None:
                    out[(account_id, kind, name, "trust")] = _Located(
                        trust, f"{at}{key}[{i}].AssumeRolePolicyDocument")
        for i, managed in enumerate(_list(page, "Policies")):
            arn = _text(managed, "Arn")
            for j, version in enumerate(_list(managed, "PolicyVersionList")):
                default = _node(version, "IsDefaultVersion")
                if default is None or getattr(default, "value", False) is not True:
                    continue
                doc = _node(version, "Document")
                if doc is not None:
                    out[(account_id, "managed", arn)] = _Located(
                        doc, f"{at}Policies[{i}].PolicyVersionList[{j}].Document")
        for i, resource in enumerate(_list(page, "ResourcePolicies")):
            doc = _node(resource, "Policy")
            if doc is not None and not isinstance(doc, _json.JsonNull):
                out[(account_id, "resource", _text(resource, "ResourceArn"))] = _Located(
                    doc, f"{at}ResourcePolicies[{i}].Policy")
    return out
