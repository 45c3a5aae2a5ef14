"""The account DSL (shared/design/dsl.md §4.11, §5.4) ↔ the account model.

`load_account_dsl` turns the declarations of `policylang.grammar.account_decl` into `Account`s:
names are resolved in any order (group members, `attach`, `boundary`, instance-profile roles),
ARNs are derived from partition, account, path and name, and every rule of the model applies
with AWS's error names (`NoSuchEntity`, `EntityAlreadyExists`, `LimitExceeded`,
`MalformedPolicyDocument`, `ValidationError`). Each error carries the DSL line and column of the
declaration it is about. Loading is all-or-nothing: an environment is returned only when every
account loaded.

Conventions beyond the spec (no grammar change needed):

* AWS-managed policies are attached by ARN. Their documents are not bundled with policylang,
  so a file that attaches one also declares its document, written with the ARN as the name:
  `policy arn:aws:iam::aws:policy/ReadOnlyAccess { allow s3:Get* on * }` (GAAD carries the
  same documents in its `Policies` list). Attaching an undeclared one is `NoSuchEntity`.
* Ids are not written in the DSL; they are derived from account, kind and name, so loading the
  same file twice gives the same model, and exporting and reloading is the identity.
* The DSL has no organization syntax yet (§4.11.3, planned). An organization in the format of
  `authz_details.load_organization` is read from a sidecar file `<stem>.org.json` beside the
  DSL file (`account.pdsl` → `account.org.json`) by `load_any`, or passed explicitly.

`load_any` reads either form, deciding by content (a JSON document starts with `{` or `[`),
and is what every `--account FILE` option uses (through `load_environment`).
"""

from __future__ import annotations

import contextlib
import pathlib
from collections.abc import Callable, Iterator

from policylang import _json
from policylang.account.ids import IdGenerator, parse_arn, parse_iam_entity_arn
from policylang.account.model import (
    AWS_MANAGED_PREFIX,
    Account,
    EntityKind,
    Environment,
    InlinePolicy,
    ManagedPolicy,
    Role,
)
from policylang.account.org import Organization
from policylang.errors import AccountError, PolicyLangError, PolicySyntaxError
from policylang.ir import Effect, Policy
from policylang.source import Source, Span
from policylang.validate import Limits

__all__ = [
    "DSL_SUFFIXES",
    "export_account_dsl",
    "is_dsl_text",
    "load_account_dsl",
    "load_any",
    "load_dsl_account",
    "organization_sidecar",
]

DSL_SUFFIXES = (".pdsl", ".policy")
"""File suffixes the examples use for account files (detection itself is by content)."""


# --------------------------------------------------------------------------------------------
# Loading


def is_dsl_text(text: str) -> bool:
    """True unless the text (after blank lines and `#` comments) starts like JSON."""
    for line in text.splitlines():
        stripped = line.strip().lstrip("\ufeff")
        if not stripped or stripped.startswith("#"):
            continue
        return not stripped.startswith(("{", "["))
    return True


def load_account_dsl(
    text: str,
    *,
    source_name: str = "<string>",
    organization: Organization | None = None,
    quotas: Limits | None = None,
) -> Environment:
    """Every `account` block of a DSL file, resolved and checked, as one `Environment`."""
    from policylang.grammar.account_decl import parse_account_dsl

    source = Source(source_name, text)
    try:
        decls = parse_account_dsl(text, source_name=source_name)
    except PolicySyntaxError as error:
        raise _as_profile_limit(error) from error
    accounts = [_AccountBuilder(decl, source, quotas or Limits()).build() for decl in decls]
    return Environment(accounts, organization)


def load_dsl_account(text: str, *, source_name: str = "<string>") -> Account:
    """The one account of a DSL file (`ValidationError` when it declares several)."""
    env = load_account_dsl(text, source_name=source_name)
    if len(env.accounts) != 1:
        raise AccountError(
            f"the file declares {len(env.accounts)} accounts; expected one",
            aws_error="ValidationError",
            source=Source(source_name, text),
            hint="use load_account_dsl for several accounts",
        )
    return next(iter(env.accounts.values()))


def _as_profile_limit(error: PolicySyntaxError) -> PolicyLangError:
    """The parser refuses a second `role` in an instance profile as a duplicate setting; AWS
    calls that `LimitExceeded` (AddRoleToInstanceProfile), so say it AWS's way."""
    if error.code == "syntax.duplicate-setting" and error.message == "`role` is set twice":
        return AccountError(
            "an instance profile can contain only one role",
            aws_error="LimitExceeded",
            code="account.limit-exceeded",
            span=error.span,
            source=error.source,
            hint="give the profile one `role`, or declare another instance profile",
        )
    return error


def organization_sidecar(path: pathlib.Path) -> pathlib.Path:
    """Where the organization of a DSL account file lives: `<stem>.org.json` beside it."""
    return path.with_name(path.stem + ".org.json")


def load_any(
    path_or_text: str | pathlib.Path,
    *,
    source_name: str | None = None,
    organization: Organization | None = None,
) -> Environment:
    """An environment from an account file or text in either form, detected by content.

    * DSL (an `account … { … }` file): `load_account_dsl`; for a path, the sidecar
      `<stem>.org.json` (if present) is loaded as the organization.
    * JSON: authorization details (one response, a list of pages, or a bundle
      `{"Accounts": [...], "Organization": {...}}`), as `load_environment_data`.

    A `pathlib.Path` is always a path; a `str` is a path when it has no newline and names an
    existing file, else it is the text itself.
    """
    from policylang.account.authz_details import load_environment_data, load_organization

    path: pathlib.Path | None = None
    if isinstance(path_or_text, pathlib.Path):
        path = path_or_text
    elif "\n" not in path_or_text and pathlib.Path(path_or_text).is_file():
        path = pathlib.Path(path_or_text)
    if path is not None:
        name = source_name or str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise AccountError(
                f"cannot read `{path}`: {error.strerror or error}",
                aws_error="ValidationError",
                code="account.unreadable-file",
                source=Source(name, ""),
            ) from error
        except UnicodeDecodeError as error:
            raise AccountError(
                f"`{path}` is not UTF-8 text",
                aws_error="ValidationError",
                code="account.unreadable-file",
                source=Source(name, ""),
            ) from error
    else:
        text = str(path_or_text)
        name = source_name or "<string>"
    if not is_dsl_text(text):
        env = load_environment_data(_json.loads(text, source=Source(name, text)), source_name=name)
        if organization is not None:
            if env.organization is not None:
                raise AccountError(
                    "two organizations given",
                    aws_error="ValidationError",
                    source=Source(name, ""),
                    path="Organization",
                )
            env = Environment(env.accounts.values(), organization)
        return env
    if organization is None and path is not None:
        sidecar = organization_sidecar(path)
        if sidecar.is_file():
            organization = load_organization(
                _json.loads(sidecar.read_bytes(), source=Source(str(sidecar), "")),
                source_name=str(sidecar),
            )
    return load_account_dsl(text, source_name=name, organization=organization)


def _entity_id(account: str, kind: str, name: str) -> str:
    """A stable id per (account, kind, name): the DSL has no ids, so derive them."""
    return IdGenerator(f"{account}\0{name.lower()}").new_id(kind)


class _AccountBuilder:
    """Applies the declarations of one account block to a fresh `Account`."""

    def __init__(self, decl: object, source: Source, quotas: Limits) -> None:
        from policylang.grammar.account_decl import AccountDecl

        assert isinstance(decl, AccountDecl)
        self.decl = decl
        self.source = source
        self.quotas = quotas
        self.account: Account | None = None

    @contextlib.contextmanager
    def at(self, span: Span | None, where: str) -> Iterator[None]:
        """Give an `AccountError` raised inside the DSL position of the declaration."""
        try:
            yield
        except AccountError as error:
            if error.span is None or error.source is None or error.source.name != self.source.name:
                error.span = span
                error.source = self.source
            error.path = f"{where}.{error.path}" if error.path else where
            raise

    def build(self) -> Account:
        decl = self.decl
        with self.at(decl.span, f"account {decl.account_id}"):
            parse_arn(f"arn:{decl.partition}:iam::{decl.account_id}:root", where="partition")
            account = Account(
                decl.account_id, partition=decl.partition, alias=decl.alias, quotas=self.quotas
            )
        self.account = account
        for managed in decl.managed_policies:
            self.managed(managed)
        for user in decl.users:
            with self.at(user.span, f"user {user.name}"):
                account.create_user(
                    user.name,
                    path=user.path,
                    tags=[(t.key, t.value) for t in user.tags],
                    boundary=self.policy_ref(user.boundary, "boundary"),
                    id=_entity_id(account.account_id, "user", user.name),
                )
                self.attachments("user", user.name, user.attach, user.policies)
        for group in decl.groups:
            with self.at(group.span, f"group {group.name}"):
                account.create_group(
                    group.name,
                    path=group.path,
                    id=_entity_id(account.account_id, "group", group.name),
                )
                self.attachments("group", group.name, group.attach, group.policies)
                for member in group.members:
                    with self.at(group.span, f"members {member}"):
                        account.add_user_to_group(group.name, member)
        for role in decl.roles:
            with self.at(role.span, f"role {role.name}"):
                if role.trust is None:
                    raise AccountError(
                        f"role `{role.name}` has no trust policy",
                        aws_error="ValidationError",
                        code="account.missing-trust-policy",
                        hint="add `assumable by …` or a `trust { … }` block",
                    )
                account.create_role(
                    role.name,
                    role.trust,
                    path=role.path,
                    description=role.description,
                    max_session_duration=self.seconds(role.max_session),
                    tags=[(t.key, t.value) for t in role.tags],
                    boundary=self.policy_ref(role.boundary, "boundary"),
                    id=_entity_id(account.account_id, "role", role.name),
                )
                self.attachments("role", role.name, role.attach, role.policies)
        for profile in decl.instance_profiles:
            with self.at(profile.span, f"instance-profile {profile.name}"):
                account.create_instance_profile(
                    profile.name,
                    path=profile.path,
                    id=_entity_id(account.account_id, "instance-profile", profile.name),
                )
                if profile.role is not None:
                    account.add_role_to_instance_profile(profile.name, profile.role)
        for resource in decl.resources:
            with self.at(resource.span, f"resource {resource.arn}"):
                account.put_resource_policy(resource.arn, resource.document)
        return account

    def managed(self, decl: object) -> None:
        from policylang.grammar.account_decl import ManagedPolicyDecl

        assert isinstance(decl, ManagedPolicyDecl)
        assert self.account is not None
        account = self.account
        with self.at(decl.span, f"policy {decl.name}"):
            if decl.tags:
                raise AccountError(
                    "tags on managed policies are not part of the account model",
                    aws_error="ValidationError",
                    code="account.unsupported",
                    span=decl.tags[0].span,
                    source=self.source,
                    hint="remove the `tag` lines (they do not affect authorization)",
                )
            if not decl.name.startswith("arn:"):
                account.create_policy(
                    decl.name,
                    decl.document,
                    path=decl.path,
                    description=decl.description,
                    id=_entity_id(account.account_id, "policy", decl.name),
                )
                return
            # `policy arn:…:iam::aws:policy/PATH/NAME { … }`: an AWS-managed policy's document.
            arn, path, name = parse_iam_entity_arn(decl.name, "policy", where="name")
            if arn.account != "aws" or arn.partition != account.partition:
                raise AccountError(
                    f"`{decl.name}` is not an AWS-managed policy ARN of partition "
                    f"{account.partition}",
                    aws_error="ValidationError",
                    hint="declare customer-managed policies by name; only AWS-managed "
                    f"policies (arn:{account.partition}:iam::aws:policy/…) by ARN",
                )
            if decl.path != "/" and decl.path != path:
                raise AccountError(
                    f"`path {decl.path}` disagrees with the ARN's path `{path}`",
                    aws_error="ValidationError",
                    hint="an AWS-managed policy's path is part of its ARN; drop `path`",
                )
            account.create_policy(
                name,
                decl.document,
                path=path,
                description=decl.description,
                id=_entity_id("aws", "policy", decl.name),
                aws_managed=True,
            )

    def policy_ref(self, ref: str | None, where: str) -> str | None:
        """A managed-policy name or ARN as written → the ARN of a declared policy."""
        if ref is None:
            return None
        assert self.account is not None
        if ref.startswith("arn:"):
            parse_arn(ref, where=where)
            if ref not in self.account.policies:
                raise AccountError(
                    f"policy `{ref}` is not declared",
                    aws_error="NoSuchEntity",
                    code="account.unknown-policy",
                    path=where,
                    hint=f"declare its document with `policy {ref} {{ … }}`"
                    if AWS_MANAGED_PREFIX in ref
                    else "declare the policy in this account, by name",
                )
            return ref
        low = ref.lower()
        for policy in self.account.policies.values():
            if not policy.is_aws_managed and policy.name.lower() == low:
                return policy.arn
        raise AccountError(
            f"no managed policy named `{ref}` in account {self.account.account_id}",
            aws_error="NoSuchEntity",
            code="account.unknown-policy",
            path=where,
            hint="declare it with `policy NAME { … }`, or give a policy ARN",
        )

    def attachments(
        self,
        entity_kind: EntityKind,
        name: str,
        attach: tuple[str, ...],
        inline: tuple[object, ...],
    ) -> None:
        from policylang.grammar.account_decl import InlinePolicyDecl

        assert self.account is not None
        for ref in attach:
            arn = self.policy_ref(ref, f"attach {ref}")
            assert arn is not None
            with self.at(None, f"attach {ref}"):
                self.account.attach_policy(entity_kind, name, arn)
        for item in inline:
            assert isinstance(item, InlinePolicyDecl)
            with self.at(item.span, f"policy {item.name}"):
                self.account.put_inline_policy(entity_kind, name, item.name, item.document)

    def seconds(self, text: str | None) -> int:
        if text is None:
            return 3600
        if not text.isdigit():
            raise AccountError(
                f"max-session `{text}` is not a number of seconds",
                aws_error="ValidationError",
                path="max-session",
                hint="give seconds between 3600 and 43200, e.g. `max-session 7200`",
            )
        return int(text)


# --------------------------------------------------------------------------------------------
# Export


def export_account_dsl(env: Environment | Account) -> str:
    """DSL text declaring every account of `env` (canonical order; §4.11.3).

    Not representable, hence not exported: ids and dates (re-derived on load), non-default
    managed-policy versions, `RoleLastUsed`, resource tags, and the organization (write it
    with `export_organization` to the `<stem>.org.json` sidecar)."""
    accounts = [env] if isinstance(env, Account) else list(env.accounts.values())
    blocks = [_account_text(a) for a in sorted(accounts, key=lambda a: a.account_id)]
    return "\n".join(blocks)


def _v(text: str) -> str:
    from policylang.grammar.ir_to_dsl import format_value

    return format_value(text)


def _indent(text: str, prefix: str) -> list[str]:
    return [prefix + line if line else "" for line in text.rstrip("\n").split("\n")]


def _body(policy: Policy, prefix: str) -> list[str]:
    from policylang.grammar.ir_to_dsl import format_dsl

    return _indent(format_dsl(policy), prefix)


def _block(head: str, lines: list[str], prefix: str) -> list[str]:
    while lines and not lines[0]:
        lines = lines[1:]
    if not lines:
        return [prefix + head]
    return [prefix + head + " {", *lines, prefix + "}"]


def _account_text(account: Account) -> str:
    p1, p2 = "  ", "    "
    out = [f"account {account.account_id} {{"]
    settings = []
    if account.partition != "aws":
        settings.append(f"{p1}partition {_v(account.partition)}")
    if account.alias is not None:
        settings.append(f"{p1}alias {_v(account.alias)}")
    sections: list[list[str]] = [settings] if settings else []
    lost = _unexported(account)
    if lost:
        sections.insert(0, [f"{p1}# not representable in the DSL, hence not exported:"] + [
            f"{p1}#   {item}" for item in lost
        ])

    def local_name(arn: str) -> str:
        policy = account.policies.get(arn)
        return policy.name if policy is not None and not policy.is_aws_managed else arn

    def attach_line(arns: tuple[str, ...]) -> list[str]:
        if not arns:
            return []
        names = sorted(local_name(a) for a in arns if not account.policies[a].is_aws_managed)
        names += sorted(a for a in arns if account.policies[a].is_aws_managed)
        return [f"{p2}attach " + ", ".join(_v(n) for n in names)]

    def inline_blocks(items: tuple[InlinePolicy, ...]) -> list[str]:
        out_lines: list[str] = []
        for item in items:
            out_lines += ["", f"{p2}policy {_v(item.name)} {{", *_body(item.document, p2 + "  ")]
            out_lines.append(f"{p2}}}")
        return out_lines

    managed: list[ManagedPolicy] = [
        *sorted(
            (p for p in account.policies.values() if not p.is_aws_managed),
            key=lambda p: (p.path, p.name),
        ),
        *sorted((p for p in account.policies.values() if p.is_aws_managed), key=lambda p: p.arn),
    ]
    for policy in managed:
        head = policy.arn if policy.is_aws_managed else policy.name
        lines = [f"{p1}policy {_v(head)} {{"]
        meta = []
        if policy.path != "/" and not policy.is_aws_managed:
            meta.append(f"{p2}path {_v(policy.path)}")
        if policy.description is not None:
            meta.append(f"{p2}description {_v(policy.description)}")
        if meta:
            lines += [*meta, ""]
        lines += [*_body(policy.document, p2), f"{p1}}}"]
        sections.append(lines)

    for group in sorted(account.groups.values(), key=lambda g: (g.path, g.name)):
        lines = []
        if group.path != "/":
            lines.append(f"{p2}path {_v(group.path)}")
        if group.members:
            members = [account.users[m.lower()].name for m in group.members]
            lines.append(f"{p2}members " + ", ".join(_v(m) for m in members))
        lines += attach_line(group.attached_policies)
        lines += inline_blocks(group.inline_policies)
        sections.append(_block(f"group {_v(group.name)}", lines, p1))

    for user in sorted(account.users.values(), key=lambda u: (u.path, u.name)):
        lines = []
        if user.path != "/":
            lines.append(f"{p2}path {_v(user.path)}")
        lines += [f"{p2}tag {_v(t.key)} = {_v(t.value)}" for t in user.tags]
        if user.boundary is not None:
            lines.append(f"{p2}boundary {_v(local_name(user.boundary))}")
        lines += attach_line(user.attached_policies)
        lines += inline_blocks(user.inline_policies)
        sections.append(_block(f"user {_v(user.name)}", lines, p1))

    for role in sorted(account.roles.values(), key=lambda r: (r.path, r.name)):
        sections.append(_role_lines(account, role, local_name, attach_line, inline_blocks))

    for profile in sorted(account.instance_profiles.values(), key=lambda p: (p.path, p.name)):
        parts = []
        if profile.path != "/":
            parts.append(f"path {_v(profile.path)}")
        if profile.role is not None:
            parts.append(f"role {_v(account.roles[profile.role.lower()].name)}")
        head = f"{p1}instance-profile {_v(profile.name)}"
        sections.append([head + (" { " + "  ".join(parts) + " }" if parts else "")])

    for arn in sorted(account.resource_policies):
        entry = account.resource_policies[arn]
        if entry.document is None:
            continue
        sections.append(
            [f"{p1}resource {_v(arn)} {{", *_body(entry.document, p2), f"{p1}}}"]
        )

    for index, section in enumerate(sections):
        if index:
            out.append("")
        out.extend(section)
    out.append("}")
    return "\n".join(out) + "\n"


def _unexported(account: Account) -> list[str]:
    """What `export_account_dsl` drops, said in the output instead of silently."""
    out = []
    for policy in sorted(account.policies.values(), key=lambda p: p.arn):
        if len(policy.versions) > 1:
            others = len(policy.versions) - 1
            out.append(f"{others} non-default version(s) of {policy.arn}")
    for arn, entry in sorted(account.resource_policies.items()):
        if entry.tags:
            out.append(f"the tags of {arn}")
        if entry.document is None and not entry.tags:
            out.append(f"the empty resource entry {arn}")
    return out


def _role_lines(
    account: Account,
    role: Role,
    local_name: Callable[[str], str],
    attach_line: Callable[[tuple[str, ...]], list[str]],
    inline_blocks: Callable[[tuple[InlinePolicy, ...]], list[str]],
) -> list[str]:
    p1, p2 = "  ", "    "
    lines = []
    if role.path != "/":
        lines.append(f"{p2}path {_v(role.path)}")
    if role.description is not None:
        lines.append(f"{p2}description {_v(role.description)}")
    if role.max_session_duration != 3600:
        lines.append(f"{p2}max-session {role.max_session_duration}")
    lines += [f"{p2}tag {_v(t.key)} = {_v(t.value)}" for t in role.tags]
    if role.boundary is not None:
        lines.append(f"{p2}boundary {_v(local_name(role.boundary))}")
    short = _assumable(role.trust_policy)
    if short is not None:
        lines += _indent(short, p2)
    else:
        lines += [f"{p2}trust {{", *_body(role.trust_policy, p2 + "  "), f"{p2}}}"]
    lines += attach_line(role.attached_policies)
    lines += inline_blocks(role.inline_policies)
    return [f"{p1}role {_v(role.name)} {{", *lines, f"{p1}}}"]


def _assumable(trust: Policy) -> str | None:
    """`assumable by …` text when the trust document has exactly that shape (§4.11.2)."""
    from policylang.grammar.ir_to_dsl import format_dsl

    if (
        len(trust.statements) != 1
        or trust.version != "2012-10-17"
        or trust.id is not None
        or not trust.statement_is_list
        or trust.comments
        or trust.trailing_comments
    ):
        return None
    statement = trust.statements[0]
    if (
        statement.effect is not Effect.ALLOW
        or statement.action.negated
        or statement.action.values.is_list
        or statement.action.values.items != ("sts:AssumeRole",)
        or statement.resource is not None
        or statement.principal is None
        or statement.principal.negated
        or statement.principal.is_wildcard
        or not statement.principal.entries
    ):
        return None
    text = format_dsl(trust)
    lines = text.rstrip("\n").split("\n")
    for index, line in enumerate(lines):
        if line.startswith("@"):
            continue
        head = "allow sts:AssumeRole"
        if line == head or line.startswith(head + " by "):
            # In the multi-line form `by …` follows on the next line; both parse.
            lines[index] = "assumable" + line[len(head) :]
            if line == head and index + 1 < len(lines) and lines[index + 1].startswith("  by "):
                lines[index] += lines.pop(index + 1)[1:]
            return "\n".join(lines)
        return None
    return None
