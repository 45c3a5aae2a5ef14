"""Account-model DSL → plain declaration objects: `parse_account_dsl`.

An account file (shared/design/dsl.md §4.11) declares accounts with their managed policies,
users, groups, roles, instance profiles and resource policies. This module only turns the text
into immutable declarations, with every policy document as IR; resolving names (members,
attachments, boundaries, instance-profile roles) against each other and deriving ARNs is the
account model's job. Not supported yet: `let`, `include`, the built-in constants (`$account`,
`$self`, `$partition`) and `user NAME` / `role NAME` principals.
"""

from __future__ import annotations

from typing import Any

import attrs
from lark import Token, Tree

from policylang.errors import AccountError, PolicyLangError, PolicySyntaxError
from policylang.grammar import _lark
from policylang.grammar.dsl_to_ir import (
    Builder,
    _build_policy,
    _build_statement,
    _decode,
    _Setting,
    _Val,
)
from policylang.ir import Policy, PrincipalSpec, Statement
from policylang.source import Source, Span

__all__ = [
    "AccountDecl",
    "GroupDecl",
    "InlinePolicyDecl",
    "InstanceProfileDecl",
    "ManagedPolicyDecl",
    "ResourcePolicyDecl",
    "RoleDecl",
    "TagDecl",
    "UserDecl",
    "parse_account_dsl",
]


@attrs.frozen(slots=True)
class TagDecl:
    key: str
    value: str
    span: Span | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(slots=True)
class InlinePolicyDecl:
    """`policy NAME { … }` inside a user, group or role."""

    name: str
    document: Policy
    span: Span | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(slots=True)
class ManagedPolicyDecl:
    """A customer-managed policy (`policy NAME { path … description … tag … statements }`)."""

    name: str
    document: Policy
    path: str = "/"
    description: str | None = None
    tags: tuple[TagDecl, ...] = ()
    span: Span | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(slots=True)
class UserDecl:
    name: str
    path: str = "/"
    tags: tuple[TagDecl, ...] = ()
    boundary: str | None = None  # a managed-policy name or a policy ARN, as written
    attach: tuple[str, ...] = ()  # managed-policy names or ARNs, as written, in order
    policies: tuple[InlinePolicyDecl, ...] = ()
    span: Span | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(slots=True)
class GroupDecl:
    name: str
    path: str = "/"
    members: tuple[str, ...] = ()  # user names, as written, in order
    attach: tuple[str, ...] = ()
    policies: tuple[InlinePolicyDecl, ...] = ()
    span: Span | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(slots=True)
class RoleDecl:
    """A role; `trust` is its trust policy (from `assumable by …` or `trust { … }`)."""

    name: str
    path: str = "/"
    description: str | None = None
    max_session: str | None = None  # seconds, as written
    tags: tuple[TagDecl, ...] = ()
    boundary: str | None = None
    trust: Policy | None = None
    trust_is_short_form: bool = False  # written as `assumable by …`
    attach: tuple[str, ...] = ()
    policies: tuple[InlinePolicyDecl, ...] = ()
    span: Span | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(slots=True)
class InstanceProfileDecl:
    name: str
    path: str = "/"
    role: str | None = None  # a role name, as written
    span: Span | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(slots=True)
class ResourcePolicyDecl:
    """`resource ARN { … }`: the resource-based policy attached to ARN."""

    arn: str
    document: Policy
    span: Span | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(slots=True)
class AccountDecl:
    """One `account ID { … }` block; entity lists keep the written order."""

    account_id: str
    partition: str = "aws"
    alias: str | None = None
    managed_policies: tuple[ManagedPolicyDecl, ...] = ()
    users: tuple[UserDecl, ...] = ()
    groups: tuple[GroupDecl, ...] = ()
    roles: tuple[RoleDecl, ...] = ()
    instance_profiles: tuple[InstanceProfileDecl, ...] = ()
    resources: tuple[ResourcePolicyDecl, ...] = ()
    span: Span | None = attrs.field(default=None, eq=False, repr=False)


# ---------------------------------------------------------------- building


def parse_account_dsl(text: str, *, source_name: str = "<string>") -> tuple[AccountDecl, ...]:
    """Parse an account file into one declaration per `account` block.

    Raises `PolicySyntaxError` for text that does not parse (or that holds policy statements
    outside an account), `AccountError` for duplicate names, and the policy errors of
    `parse_dsl` for the documents inside.
    """
    source = Source(source_name, text)
    parser = _lark.account_parser()
    try:
        with _lark.collecting_comments(text):
            items = _lark.parse_fast(parser, text, source)
        assert isinstance(items, list)
        accounts = []
        for item in items:
            assert isinstance(item, Tree)
            accounts.append(_Builder(source).account(item))
        if not accounts:
            raise PolicySyntaxError(
                "the file declares no account",
                code="syntax.no-account",
                span=source.span(len(text), len(text)),
                hint="start with `account 111122223333 { … }`",
            )
        _unique([(a.account_id, a.span) for a in accounts], "account")
        return tuple(accounts)
    except PolicyLangError as error:
        if error.source is None:
            error.source = source
        raise


def _val(node: object) -> _Val:
    """A value token of the tree, decoded (`$` rules, string escapes)."""
    assert isinstance(node, Token)
    return _decode(node)


def _first_span(node: Any) -> Span | None:
    if isinstance(node, Token):
        return _lark.token_span(node)
    if isinstance(node, Tree):
        for child in node.children:
            span = _first_span(child)
            if span is not None:
                return span
    return getattr(node, "span", None)


def _unique(names: list[tuple[str, Span | None]], kind: str) -> None:
    seen: dict[str, Span | None] = {}
    for name, span in names:
        if name in seen:
            first = seen[name]
            where = f" (first at line {first.line})" if first is not None else ""
            raise AccountError(
                f"{kind} `{name}` is declared twice{where}",
                aws_error="EntityAlreadyExists",
                code="account.duplicate-name",
                span=span,
                hint=f"each {kind} name appears once per account",
            )
        seen[name] = span


@attrs.define
class _Settings:
    """Single-valued settings of one block, each allowed once."""

    values: dict[str, _Val] = attrs.field(factory=dict)

    def set(self, word: str, value: _Val) -> None:
        if word in self.values:
            raise PolicySyntaxError(
                f"`{word}` is set twice",
                code="syntax.duplicate-setting",
                span=value.span,
                hint=f"give `{word}` once",
            )
        self.values[word] = value

    def get(self, word: str, default: str | None = None) -> str | None:
        value = self.values.get(word)
        return value.text if value is not None else default


class _Builder:
    def __init__(self, source: Source) -> None:
        self.source = source

    def account(self, tree: Tree[Any]) -> AccountDecl:
        account_id = _val(tree.children[0])
        settings = _Settings()
        managed: list[ManagedPolicyDecl] = []
        users: list[UserDecl] = []
        groups: list[GroupDecl] = []
        roles: list[RoleDecl] = []
        profiles: list[InstanceProfileDecl] = []
        resources: list[ResourcePolicyDecl] = []
        for child in tree.children[1:]:
            kind = child.data
            if kind in ("partition", "alias"):
                settings.set(str(kind), _val(child.children[0]))
            elif kind == "managed_policy":
                managed.append(self.managed(child))
            elif kind == "user_decl":
                users.append(self.user(child))
            elif kind == "group_decl":
                groups.append(self.group(child))
            elif kind == "role_decl":
                roles.append(self.role(child))
            elif kind == "profile_decl":
                profiles.append(self.profile(child))
            elif kind == "resource_decl":
                arn = _val(child.children[0])
                document = self.document(child.children[1:], arn.span, allow_meta=False)
                resources.append(ResourcePolicyDecl(arn.text, document, span=arn.span))
        for label, entities in (
            ("managed policy", managed),
            ("user", users),
            ("group", groups),
            ("role", roles),
            ("instance profile", profiles),
        ):
            _unique([(e.name, e.span) for e in entities], label)
        _unique([(r.arn, r.span) for r in resources], "resource")
        return AccountDecl(
            account_id.text,
            settings.get("partition", "aws") or "aws",
            settings.get("alias"),
            tuple(managed),
            tuple(users),
            tuple(groups),
            tuple(roles),
            tuple(profiles),
            tuple(resources),
            span=account_id.span,
        )

    # documents -----------------------------------------------------------------------
    def document(
        self, children: list[Any], span: Span | None, *, allow_meta: bool
    ) -> Policy:
        items: list[Statement | _Setting] = []
        for child in children:
            if isinstance(child, Tree):
                if not allow_meta:
                    raise PolicySyntaxError(
                        f"`{child.data}` is allowed only in a managed `policy` block",
                        code="syntax.misplaced-setting",
                        span=_first_span(child),
                        hint="path, description and tags belong to managed policies",
                    )
                continue
            items.append(child)
        if not any(isinstance(i, Statement) for i in items):
            raise PolicySyntaxError(
                "the policy has no statements",
                code="policy.missing-statement",
                span=span,
                hint="add a statement, e.g. `allow s3:GetObject on arn:aws:s3:::bucket/*`",
            )
        return _build_policy(items, [], self.source)

    def meta(self, children: list[Any]) -> tuple[_Settings, list[TagDecl]]:
        settings = _Settings()
        tags: list[TagDecl] = []
        for child in children:
            if isinstance(child, Tree) and child.data == "tag":
                key, value = _val(child.children[0]), _val(child.children[1])
                tags.append(TagDecl(key.text, value.text, span=key.span))
            elif isinstance(child, Tree) and child.data in ("path", "description", "boundary"):
                settings.set(str(child.data), _val(child.children[0]))
            elif isinstance(child, Tree) and child.data == "max_session":
                settings.set("max-session", _val(child.children[1]))
        _unique([(t.key, t.span) for t in tags], "tag")
        return settings, tags

    def managed(self, tree: Tree[Any]) -> ManagedPolicyDecl:
        name = _val(tree.children[0])
        settings, tags = self.meta(tree.children[1:])
        document = self.document(tree.children[1:], name.span, allow_meta=True)
        return ManagedPolicyDecl(
            name.text,
            document,
            settings.get("path", "/") or "/",
            settings.get("description"),
            tuple(tags),
            span=name.span,
        )

    def inline(self, tree: Tree[Any]) -> InlinePolicyDecl:
        name = _val(tree.children[0])
        document = self.document(tree.children[1:], name.span, allow_meta=False)
        return InlinePolicyDecl(name.text, document, span=name.span)

    # entities -------------------------------------------------------------------------
    def _lists(self, children: list[Any]) -> tuple[list[str], list[str], list[InlinePolicyDecl]]:
        attach: list[str] = []
        members: list[str] = []
        policies: list[InlinePolicyDecl] = []
        for child in children:
            if not isinstance(child, Tree):
                continue
            if child.data == "attach":
                attach.extend(_val(t).text for t in child.children)
            elif child.data == "members":
                members.extend(_val(t).text for t in child.children)
            elif child.data == "inline_policy":
                policies.append(self.inline(child))
        _unique([(p.name, p.span) for p in policies], "inline policy")
        return attach, members, policies

    def user(self, tree: Tree[Any]) -> UserDecl:
        name = _val(tree.children[0])
        settings, tags = self.meta(tree.children[1:])
        attach, _, policies = self._lists(tree.children[1:])
        return UserDecl(
            name.text,
            settings.get("path", "/") or "/",
            tuple(tags),
            settings.get("boundary"),
            tuple(attach),
            tuple(policies),
            span=name.span,
        )

    def group(self, tree: Tree[Any]) -> GroupDecl:
        name = _val(tree.children[0])
        settings, _ = self.meta(tree.children[1:])
        attach, members, policies = self._lists(tree.children[1:])
        return GroupDecl(
            name.text,
            settings.get("path", "/") or "/",
            tuple(members),
            tuple(attach),
            tuple(policies),
            span=name.span,
        )

    def role(self, tree: Tree[Any]) -> RoleDecl:
        name = _val(tree.children[0])
        settings, tags = self.meta(tree.children[1:])
        attach, _, policies = self._lists(tree.children[1:])
        trust: Policy | None = None
        short = False
        for child in tree.children[1:]:
            if not isinstance(child, Tree) or child.data not in ("trust", "assumable"):
                continue
            if trust is not None:
                raise PolicySyntaxError(
                    f"role `{name.text}` has two trust policies",
                    code="syntax.duplicate-setting",
                    span=_first_span(child),
                    hint="give either `assumable by …` or one `trust { … }` block",
                )
            if child.data == "trust":
                trust = self.document(child.children, _first_span(child), allow_meta=False)
            else:
                trust = self.assumable(child)
                short = True
        return RoleDecl(
            name.text,
            settings.get("path", "/") or "/",
            settings.get("description"),
            settings.get("max-session"),
            tuple(tags),
            settings.get("boundary"),
            trust,
            short,
            tuple(attach),
            tuple(policies),
            span=name.span,
        )

    def profile(self, tree: Tree[Any]) -> InstanceProfileDecl:
        name = _val(tree.children[1])  # children[0] is the `instance-profile` keyword
        settings = _Settings()
        for child in tree.children[2:]:
            if child.data == "path":
                settings.set("path", _val(child.children[0]))
            elif child.data == "profile_role":
                settings.set("role", _val(child.children[0]))
        return InstanceProfileDecl(
            name.text,
            settings.get("path", "/") or "/",
            settings.get("role"),
            span=name.span,
        )

    def assumable(self, tree: Tree[Any]) -> Policy:
        """`assumable by P [tests]` as the trust document it abbreviates."""
        children = list(tree.children)
        annotations = [c for c in children if isinstance(c, tuple)]
        principal = next(c for c in children if isinstance(c, PrincipalSpec))
        clauses = [c for c in children if not isinstance(c, (tuple, PrincipalSpec))]
        span = _first_span(tree) or Span(0, 0, 1, 1, 1, 1)
        action = Token("WORD", "sts:AssumeRole", 0, span.line, span.column, span.line,
                       span.column, 0)
        effect = Token("ALLOW", "allow", 0, span.line, span.column, span.line, span.column, 0)
        builder = Builder()
        target = builder.target([builder.bare_list([action])])
        by_clause = builder.by_clause([principal])
        statement = _build_statement([*annotations, effect, target, by_clause, *clauses])
        return Policy((statement,), span=span, source=self.source)
