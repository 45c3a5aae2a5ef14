"""The IAM account as data: users, groups, roles, instance profiles, managed policies,
resource-based policies, and the AWS Organization above the accounts.

Entities are frozen attrs values; an `Account` holds them and changes them only through its
methods, which validate everything first and then apply (nothing is ever half-applied).
Rules and quotas follow policy-grammar.md §9 and evaluation.md §1, §8; refusals raise
`AccountError` with AWS's error name (`NoSuchEntity`, `EntityAlreadyExists`, `LimitExceeded`,
`MalformedPolicyDocument`, `DeleteConflict`, `ValidationError`).

Deciding (`Account.authorize`, `Environment.authorize`) lives in `policylang.account.resolve`;
the methods here are thin entry points to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Literal

import attrs

from policylang import _json
from policylang.account.ids import (
    IdGenerator,
    check_account_id,
    check_inline_policy_name,
    check_name,
    check_path,
    iam_arn,
    parse_arn,
)
from policylang.errors import AccountError, PolicyLangError
from policylang.ir import Policy, PolicyKind
from policylang.validate import Limits
from policylang.validate import policy_size as _text_size

if TYPE_CHECKING:
    from policylang.account.org import Organization
    from policylang.account.resolve import Question
    from policylang.decision import EvaluationResult
    from policylang.request import ContextValue

EntityKind = Literal["user", "group", "role"]
PolicyInput = Policy | Mapping[str, object] | str
"""A policy document: parsed IR, a JSON object, or JSON text."""

DEFAULT_DATE = "2026-01-01T00:00:00Z"
AWS_MANAGED_PREFIX = ":iam::aws:policy/"
ROLE_TRUST_ACTIONS = frozenset(
    {
        "sts:assumerole",
        "sts:assumerolewithsaml",
        "sts:assumerolewithwebidentity",
        "sts:tagsession",
        "sts:setsourceidentity",
    }
)


# --------------------------------------------------------------------------------------------
# Quotas

Quotas = Limits
"""The account's quotas: `policylang.validate.Limits`, the one quota table (policy-grammar.md
§9); kept under this name for compatibility. `Quotas.maximum()` is `Limits.maximum()`."""


# --------------------------------------------------------------------------------------------
# Policy documents


def policy_text(policy: Policy) -> str:
    """The compact JSON text of a policy (no insignificant whitespace)."""
    from policylang.grammar.ir_to_json import policy_to_value

    return _json.dumps(policy_to_value(policy))


def policy_size(policy: Policy, kind: PolicyKind = PolicyKind.IDENTITY) -> int:
    """The size of a document against `kind`'s quota, by validate.py's counting rules (IAM:
    whitespace outside strings does not count; Organizations: every character counts)."""
    return _text_size(policy_text(policy), kind)


def to_policy(document: PolicyInput, *, kind: PolicyKind, where: str) -> Policy:
    """Parse a policy given as IR, a JSON object or JSON text; reject the wrong shape for `kind`.

    Errors become `AccountError(MalformedPolicyDocument)` keeping the original code and span.
    """
    try:
        if isinstance(document, Policy):
            policy = document
        elif isinstance(document, str):
            from policylang.grammar.json_to_ir import parse_iam_json

            policy = parse_iam_json(document, source_name=where, kind=kind)
        else:
            from policylang.grammar.json_to_ir import policy_from_value

            policy = policy_from_value(document, source_name=where, path="", kind=kind)
    except AccountError:
        raise
    except PolicyLangError as error:
        # AWS: an over-size document is `LimitExceeded`, every other refusal is
        # `MalformedPolicyDocument`.
        too_big = error.code == "policy.size-exceeded"
        raise AccountError(
            error.message if too_big else f"malformed policy document: {error.message}",
            aws_error="LimitExceeded" if too_big else "MalformedPolicyDocument",
            code=error.code,
            span=error.span,
            source=error.source,
            path=error.path or where,
            hint=error.hint,
        ) from error
    check_policy_shape(policy, kind=kind, where=where)
    return policy


def check_policy_shape(policy: Policy, *, kind: PolicyKind, where: str) -> None:
    """The element rules that decide where a document may be attached (policy-grammar.md §8)."""
    needs_principal = kind in (PolicyKind.TRUST, PolicyKind.RESOURCE)
    for index, statement in enumerate(policy.statements):
        at = f"{where}.Statement[{index}]"
        if needs_principal and statement.principal is None:
            problem = "has no Principal"
        elif not needs_principal and kind is not PolicyKind.RCP and statement.principal:
            problem = "has a Principal, which only resource-based policies may have"
        elif kind is PolicyKind.TRUST and statement.resource is not None:
            problem = "has a Resource, which a role trust policy may not have"
        elif kind not in (PolicyKind.TRUST, PolicyKind.RESOURCE) and statement.resource is None:
            problem = "has no Resource"
        else:
            continue
        raise AccountError(
            f"malformed policy document: statement {index} {problem}",
            aws_error="MalformedPolicyDocument",
            code="account.malformed-policy-document",
            span=statement.span,
            source=policy.source,
            path=at,
        )


def _check_size(size: int, limit: int, what: str, where: str) -> None:
    if size > limit:
        raise AccountError(
            f"{what} is {size} characters, over the quota of {limit}",
            aws_error="LimitExceeded",
            path=where,
            hint="shorten the document, or split it into managed policies",
        )


# --------------------------------------------------------------------------------------------
# Entities


@attrs.frozen
class InlinePolicy:
    """An inline policy embedded in a user, group or role."""

    name: str
    document: Policy


@attrs.frozen
class Tag:
    key: str
    value: str


def _sorted_inline(items: Iterable[InlinePolicy]) -> tuple[InlinePolicy, ...]:
    return tuple(sorted(items, key=lambda p: p.name))


def _sorted_strs(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(items))


def _sorted_members(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(items, key=str.lower))


@attrs.frozen
class User:
    name: str
    arn: str
    id: str
    path: str = "/"
    create_date: str | None = None
    inline_policies: tuple[InlinePolicy, ...] = attrs.field(default=(), converter=_sorted_inline)
    attached_policies: tuple[str, ...] = attrs.field(default=(), converter=_sorted_strs)
    boundary: str | None = None
    tags: tuple[Tag, ...] = ()


@attrs.frozen
class Group:
    name: str
    arn: str
    id: str
    path: str = "/"
    create_date: str | None = None
    inline_policies: tuple[InlinePolicy, ...] = attrs.field(default=(), converter=_sorted_inline)
    attached_policies: tuple[str, ...] = attrs.field(default=(), converter=_sorted_strs)
    members: tuple[str, ...] = attrs.field(default=(), converter=_sorted_members)


@attrs.frozen
class Role:
    name: str
    arn: str
    id: str
    trust_policy: Policy
    path: str = "/"
    create_date: str | None = None
    description: str | None = None
    max_session_duration: int = 3600
    inline_policies: tuple[InlinePolicy, ...] = attrs.field(default=(), converter=_sorted_inline)
    attached_policies: tuple[str, ...] = attrs.field(default=(), converter=_sorted_strs)
    boundary: str | None = None
    tags: tuple[Tag, ...] = ()
    last_used: tuple[tuple[str, str], ...] = ()
    """`RoleLastUsed` as given (read-only state, kept so exports match the input)."""

    @property
    def is_service_linked(self) -> bool:
        """Service-linked roles escape SCPs and RCPs (evaluation.md §6.7)."""
        return self.path.startswith("/aws-service-role/")


@attrs.frozen
class InstanceProfile:
    """An instance profile: at most one role (by name); a role may sit in many profiles."""

    name: str
    arn: str
    id: str
    path: str = "/"
    create_date: str | None = None
    role: str | None = None
    tags: tuple[Tag, ...] = ()


@attrs.frozen
class PolicyVersion:
    version_id: str
    document: Policy
    create_date: str | None = None


@attrs.frozen
class ManagedPolicy:
    """A customer-managed or AWS-managed (`arn:aws:iam::aws:policy/…`) policy and its versions."""

    name: str
    arn: str
    id: str
    versions: tuple[PolicyVersion, ...]
    default_version_id: str
    path: str = "/"
    description: str | None = None
    is_attachable: bool = True
    create_date: str | None = None
    update_date: str | None = None

    @property
    def is_aws_managed(self) -> bool:
        return AWS_MANAGED_PREFIX in self.arn

    @property
    def document(self) -> Policy:
        """The default version's document (the one IAM evaluates)."""
        for version in self.versions:
            if version.version_id == self.default_version_id:
                return version.document
        raise AssertionError("INVARIANT: the default version exists")  # pragma: no cover


@attrs.frozen
class ResourcePolicy:
    """A resource-based policy (bucket, key, queue, …) attached to `resource_arn`."""

    resource_arn: str
    document: Policy | None
    tags: tuple[Tag, ...] = ()


def _tags(
    items: Iterable[tuple[str, str]] | Mapping[str, str], limit: int, where: str
) -> tuple[Tag, ...]:
    pairs = list(items.items()) if isinstance(items, Mapping) else list(items)
    seen: set[str] = set()
    out: list[Tag] = []
    for key, value in pairs:
        if not isinstance(key, str) or not 1 <= len(key) <= 128 or key.lower().startswith("aws:"):
            raise AccountError(
                f"invalid tag key `{key}`",
                aws_error="InvalidInput",
                path=where,
                hint="tag keys are 1-128 characters and may not start with `aws:`",
            )
        if not isinstance(value, str) or len(value) > 256:
            raise AccountError(
                f"invalid value for tag `{key}`",
                aws_error="InvalidInput",
                path=where,
                hint="tag values are 0-256 characters",
            )
        if key.lower() in seen:
            raise AccountError(
                f"duplicate tag key `{key}`",
                aws_error="InvalidInput",
                path=where,
                hint="tag keys are unique per entity, case-insensitively",
            )
        seen.add(key.lower())
        out.append(Tag(key, value))
    if len(out) > limit:
        raise AccountError(
            f"{len(out)} tags, over the quota of {limit}", aws_error="LimitExceeded", path=where
        )
    return tuple(out)


# --------------------------------------------------------------------------------------------
# The account


def _no_such(kind: str, name: str, where: str | None = None) -> AccountError:
    return AccountError(
        f"the {kind} `{name}` cannot be found",
        aws_error="NoSuchEntity",
        code=f"account.unknown-{kind.replace(' ', '-')}",
        path=where,
    )


def _exists(kind: str, name: str, where: str | None = None) -> AccountError:
    return AccountError(
        f"a {kind} named `{name}` already exists (names are case-insensitive)",
        aws_error="EntityAlreadyExists",
        code="account.duplicate-name",
        path=where,
    )


@attrs.define(eq=False)
class Account:
    """One AWS account's IAM configuration. Dict keys are lower-cased names (users, groups,
    roles, instance profiles) or ARNs (managed policies, resource policies).

    Two accounts are equal when their configuration is equal (quotas and id generator aside).
    """

    account_id: str = attrs.field(converter=check_account_id)
    partition: str = "aws"
    alias: str | None = None
    users: dict[str, User] = attrs.Factory(dict)
    groups: dict[str, Group] = attrs.Factory(dict)
    roles: dict[str, Role] = attrs.Factory(dict)
    instance_profiles: dict[str, InstanceProfile] = attrs.Factory(dict)
    policies: dict[str, ManagedPolicy] = attrs.Factory(dict)
    resource_policies: dict[str, ResourcePolicy] = attrs.Factory(dict)
    quotas: Limits = attrs.Factory(Limits)
    ids: IdGenerator = attrs.Factory(IdGenerator)
    clock: str = DEFAULT_DATE
    _groups_of: dict[str, tuple[str, ...]] | None = attrs.field(default=None, init=False)

    def _key(self) -> tuple[object, ...]:
        return (
            self.account_id,
            self.partition,
            self.alias,
            self.users,
            self.groups,
            self.roles,
            self.instance_profiles,
            self.policies,
            self.resource_policies,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Account):
            return NotImplemented
        return self._key() == other._key()

    __hash__ = None  # type: ignore[assignment]

    # ---------------------------------------------------------------- lookups

    def arn(self, kind: str, name: str, path: str = "/") -> str:
        return iam_arn(self.partition, self.account_id, kind, path, name)

    @property
    def root_arn(self) -> str:
        return f"arn:{self.partition}:iam::{self.account_id}:root"

    def user(self, name: str) -> User:
        found = self.users.get(name.lower())
        if found is None:
            raise _no_such("user", name)
        return found

    def group(self, name: str) -> Group:
        found = self.groups.get(name.lower())
        if found is None:
            raise _no_such("group", name)
        return found

    def role(self, name: str) -> Role:
        found = self.roles.get(name.lower())
        if found is None:
            raise _no_such("role", name)
        return found

    def instance_profile(self, name: str) -> InstanceProfile:
        found = self.instance_profiles.get(name.lower())
        if found is None:
            raise _no_such("instance profile", name)
        return found

    def policy(self, arn: str) -> ManagedPolicy:
        found = self.policies.get(arn)
        if found is None:
            raise _no_such("policy", arn)
        return found

    def entity(self, kind: EntityKind, name: str) -> User | Group | Role:
        if kind == "user":
            return self.user(name)
        if kind == "group":
            return self.group(name)
        return self.role(name)

    def groups_of(self, user_name: str) -> tuple[Group, ...]:
        """The groups a user belongs to, sorted by name (an index built once per change)."""
        if self._groups_of is None:
            index: dict[str, list[str]] = {}
            for key, group in self.groups.items():
                for member in group.members:
                    index.setdefault(member.lower(), []).append(key)
            self._groups_of = {k: tuple(sorted(v)) for k, v in index.items()}
        return tuple(self.groups[k] for k in self._groups_of.get(user_name.lower(), ()))

    def profiles_of(self, role_name: str) -> tuple[InstanceProfile, ...]:
        low = role_name.lower()
        return tuple(
            p
            for _, p in sorted(self.instance_profiles.items())
            if p.role is not None and p.role.lower() == low
        )

    def attachment_counts(self) -> dict[str, int]:
        """Policy ARN → number of users, groups and roles it is attached to (one pass)."""
        counts: dict[str, int] = {}
        entities: list[User | Group | Role] = [
            *self.users.values(),
            *self.groups.values(),
            *self.roles.values(),
        ]
        for entity in entities:
            for arn in entity.attached_policies:
                counts[arn] = counts.get(arn, 0) + 1
        return counts

    def boundary_usage_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        entities: list[User | Role] = [*self.users.values(), *self.roles.values()]
        for entity in entities:
            if entity.boundary is not None:
                counts[entity.boundary] = counts.get(entity.boundary, 0) + 1
        return counts

    def attachment_count(self, policy_arn: str) -> int:
        return self.attachment_counts().get(policy_arn, 0)

    def boundary_usage_count(self, policy_arn: str) -> int:
        return self.boundary_usage_counts().get(policy_arn, 0)

    def _changed(self) -> None:
        self._groups_of = None

    # ---------------------------------------------------------------- helpers

    def _check_new_name(self, table: Mapping[str, object], kind: str, name: str) -> None:
        if name.lower() in table:
            raise _exists(kind, name)

    def _check_attachable(self, policy_arn: str, where: str) -> ManagedPolicy:
        parse_arn(policy_arn, where=where)
        found = self.policies.get(policy_arn)
        if found is None:
            raise AccountError(
                f"policy `{policy_arn}` does not exist or is not attachable",
                aws_error="NoSuchEntity",
                code="account.unknown-policy",
                path=where,
                hint="define the managed policy (for AWS-managed policies, include them in the "
                "dump's Policies list) before attaching it",
            )
        if not found.is_attachable:
            raise AccountError(
                f"policy `{policy_arn}` is not attachable",
                aws_error="InvalidInput",
                path=where,
            )
        return found

    def _inline_limit(self, kind: EntityKind) -> int:
        q = self.quotas
        return {
            "user": q.user_inline_policies_size,
            "group": q.group_inline_policies_size,
            "role": q.role_inline_policies_size,
        }[kind]

    def _managed_limit(self, kind: EntityKind) -> int:
        q = self.quotas
        return {
            "user": q.managed_policies_per_user,
            "group": q.managed_policies_per_group,
            "role": q.managed_policies_per_role,
        }[kind]

    def _store(self, kind: EntityKind, entity: User | Group | Role) -> None:
        if kind == "user":
            assert isinstance(entity, User)
            self.users[entity.name.lower()] = entity
        elif kind == "group":
            assert isinstance(entity, Group)
            key = entity.name.lower()
            old = self.groups.get(key)
            self.groups[key] = entity
            if self._groups_of is not None:
                # PERF: keep the membership index current instead of rebuilding it, so that
                # building a large account member by member stays linear.
                before = {m.lower() for m in old.members} if old is not None else set()
                after = {m.lower() for m in entity.members}
                for user in before - after:
                    self._groups_of[user] = tuple(g for g in self._groups_of[user] if g != key)
                for user in after - before:
                    self._groups_of[user] = tuple(sorted((*self._groups_of.get(user, ()), key)))
        else:
            assert isinstance(entity, Role)
            self.roles[entity.name.lower()] = entity

    def check_inline_total(
        self, kind: EntityKind, name: str, inline: Iterable[InlinePolicy], where: str
    ) -> None:
        total = sum(policy_size(p.document) for p in inline)
        _check_size(
            total, self._inline_limit(kind), f"the inline policies of {kind} `{name}`", where
        )

    def check_boundary(self, arn: str | None, where: str) -> None:
        if arn is not None:
            self._check_attachable(arn, where)

    # ---------------------------------------------------------------- users, groups, roles

    def create_user(
        self,
        name: str,
        *,
        path: str = "/",
        tags: Mapping[str, str] | Iterable[tuple[str, str]] = (),
        boundary: str | None = None,
        id: str | None = None,
    ) -> User:
        """CreateUser. EntityAlreadyExists on a (case-insensitive) duplicate name."""
        check_name("user", name, max_length=64, where="UserName")
        check_path(path, where="Path")
        self._check_new_name(self.users, "user", name)
        if len(self.users) >= self.quotas.users_per_account:
            raise AccountError("too many users", aws_error="LimitExceeded")
        self.check_boundary(boundary, "PermissionsBoundary")
        user = User(
            name=name,
            arn=self.arn("user", name, path),
            id=id or self.ids.new_id("user"),
            path=path,
            create_date=self.clock,
            boundary=boundary,
            tags=_tags(tags, self.quotas.tags_per_entity, "Tags"),
        )
        self._store("user", user)
        return user

    def create_group(self, name: str, *, path: str = "/", id: str | None = None) -> Group:
        check_name("group", name, max_length=128, where="GroupName")
        check_path(path, where="Path")
        self._check_new_name(self.groups, "group", name)
        if len(self.groups) >= self.quotas.groups_per_account:
            raise AccountError("too many groups", aws_error="LimitExceeded")
        group = Group(
            name=name,
            arn=self.arn("group", name, path),
            id=id or self.ids.new_id("group"),
            path=path,
            create_date=self.clock,
        )
        self._store("group", group)
        return group

    def create_role(
        self,
        name: str,
        trust_policy: PolicyInput,
        *,
        path: str = "/",
        description: str | None = None,
        max_session_duration: int = 3600,
        tags: Mapping[str, str] | Iterable[tuple[str, str]] = (),
        boundary: str | None = None,
        id: str | None = None,
        create_instance_profile: bool = False,
    ) -> Role:
        """CreateRole. With `create_instance_profile` and a trust policy naming
        `ec2.amazonaws.com`, also creates an instance profile of the same name holding the role
        (what the IAM console does)."""
        check_name("role", name, max_length=64, where="RoleName")
        check_path(path, where="Path")
        self._check_new_name(self.roles, "role", name)
        if len(self.roles) >= self.quotas.roles_per_account:
            raise AccountError("too many roles", aws_error="LimitExceeded")
        check_session_duration(max_session_duration, "MaxSessionDuration")
        trust = to_policy(trust_policy, kind=PolicyKind.TRUST, where="AssumeRolePolicyDocument")
        _check_size(
            policy_size(trust),
            self.quotas.trust_policy_size,
            "the trust policy",
            "AssumeRolePolicyDocument",
        )
        self.check_boundary(boundary, "PermissionsBoundary")
        role = Role(
            name=name,
            arn=self.arn("role", name, path),
            id=id or self.ids.new_id("role"),
            trust_policy=trust,
            path=path,
            create_date=self.clock,
            description=description,
            max_session_duration=max_session_duration,
            boundary=boundary,
            tags=_tags(tags, self.quotas.tags_per_entity, "Tags"),
        )
        make_profile = (
            create_instance_profile
            and trusts_service(trust, "ec2.amazonaws.com")
            and name.lower() not in self.instance_profiles
        )
        profile_quota = self.quotas.instance_profiles_per_account
        if make_profile and len(self.instance_profiles) >= profile_quota:
            raise AccountError("too many instance profiles", aws_error="LimitExceeded")
        # INVARIANT: everything that can fail was checked above; nothing below raises.
        self._store("role", role)
        if make_profile:
            self.instance_profiles[name.lower()] = InstanceProfile(
                name=name,
                arn=self.arn("instance-profile", name, path),
                id=self.ids.new_id("instance-profile"),
                path=path,
                create_date=self.clock,
                role=name,
            )
        return role

    def delete_entity(self, kind: EntityKind, name: str) -> None:
        """DeleteUser/DeleteGroup/DeleteRole: DeleteConflict while anything is still attached."""
        entity = self.entity(kind, name)
        busy = bool(entity.inline_policies or entity.attached_policies)
        if isinstance(entity, User):
            busy = busy or bool(self.groups_of(name))
        if isinstance(entity, Group):
            busy = busy or bool(entity.members)
        if isinstance(entity, Role):
            busy = busy or bool(self.profiles_of(name))
        if busy:
            raise AccountError(
                f"cannot delete {kind} `{name}`: it still has policies, members or profiles",
                aws_error="DeleteConflict",
                hint="detach policies, delete inline policies and remove memberships first",
            )
        if kind == "user":
            del self.users[name.lower()]
        elif kind == "group":
            del self.groups[name.lower()]
        else:
            del self.roles[name.lower()]
        self._changed()
        self._changed()

    def add_user_to_group(self, group_name: str, user_name: str) -> None:
        group = self.group(group_name)
        user = self.user(user_name)
        if any(m.lower() == user.name.lower() for m in group.members):
            return
        if len(self.groups_of(user.name)) >= self.quotas.groups_per_user:
            raise AccountError(
                f"user `{user.name}` is already in {self.quotas.groups_per_user} groups",
                aws_error="LimitExceeded",
            )
        self._store("group", attrs.evolve(group, members=(*group.members, user.name)))

    def remove_user_from_group(self, group_name: str, user_name: str) -> None:
        group = self.group(group_name)
        self.user(user_name)
        members = tuple(m for m in group.members if m.lower() != user_name.lower())
        if len(members) == len(group.members):
            raise _no_such("group membership", f"{user_name} in {group_name}")
        self._store("group", attrs.evolve(group, members=members))

    # ---------------------------------------------------------------- policies on entities

    def attach_policy(self, kind: EntityKind, name: str, policy_arn: str) -> None:
        """AttachUserPolicy/AttachGroupPolicy/AttachRolePolicy."""
        entity = self.entity(kind, name)
        self._check_attachable(policy_arn, "PolicyArn")
        if policy_arn in entity.attached_policies:
            return
        if len(entity.attached_policies) >= self._managed_limit(kind):
            raise AccountError(
                f"{kind} `{name}` already has {self._managed_limit(kind)} managed policies",
                aws_error="LimitExceeded",
            )
        self._store(
            kind, attrs.evolve(entity, attached_policies=(*entity.attached_policies, policy_arn))
        )

    def detach_policy(self, kind: EntityKind, name: str, policy_arn: str) -> None:
        entity = self.entity(kind, name)
        if policy_arn not in entity.attached_policies:
            raise _no_such("policy attachment", policy_arn)
        kept = tuple(a for a in entity.attached_policies if a != policy_arn)
        self._store(kind, attrs.evolve(entity, attached_policies=kept))

    def put_inline_policy(
        self, kind: EntityKind, name: str, policy_name: str, document: PolicyInput
    ) -> None:
        """PutUserPolicy/PutGroupPolicy/PutRolePolicy (replaces a same-named inline policy)."""
        entity = self.entity(kind, name)
        check_inline_policy_name(policy_name, where="PolicyName")
        policy = to_policy(document, kind=PolicyKind.IDENTITY, where="PolicyDocument")
        inline = [p for p in entity.inline_policies if p.name != policy_name]
        inline.append(InlinePolicy(policy_name, policy))
        self.check_inline_total(kind, name, inline, "PolicyDocument")
        self._store(kind, attrs.evolve(entity, inline_policies=inline))

    def delete_inline_policy(self, kind: EntityKind, name: str, policy_name: str) -> None:
        entity = self.entity(kind, name)
        inline = [p for p in entity.inline_policies if p.name != policy_name]
        if len(inline) == len(entity.inline_policies):
            raise _no_such("inline policy", policy_name)
        self._store(kind, attrs.evolve(entity, inline_policies=inline))

    def put_permissions_boundary(
        self, kind: Literal["user", "role"], name: str, policy_arn: str | None
    ) -> None:
        """PutUserPermissionsBoundary/PutRolePermissionsBoundary; None deletes it."""
        entity = self.entity(kind, name)
        assert isinstance(entity, User | Role)
        self.check_boundary(policy_arn, "PermissionsBoundary")
        self._store(kind, attrs.evolve(entity, boundary=policy_arn))

    def update_assume_role_policy(self, role_name: str, document: PolicyInput) -> None:
        role = self.role(role_name)
        trust = to_policy(document, kind=PolicyKind.TRUST, where="PolicyDocument")
        _check_size(
            policy_size(trust), self.quotas.trust_policy_size, "the trust policy", "PolicyDocument"
        )
        self._store("role", attrs.evolve(role, trust_policy=trust))

    def tag_entity(self, kind: Literal["user", "role"], name: str, tags: Mapping[str, str]) -> None:
        entity = self.entity(kind, name)
        assert isinstance(entity, User | Role)
        merged = {t.key: t.value for t in entity.tags}
        for key, value in tags.items():
            for old in [k for k in merged if k.lower() == key.lower()]:
                del merged[old]
            merged[key] = value
        self._store(
            kind, attrs.evolve(entity, tags=_tags(merged, self.quotas.tags_per_entity, "Tags"))
        )

    # ---------------------------------------------------------------- managed policies

    def create_policy(
        self,
        name: str,
        document: PolicyInput,
        *,
        path: str = "/",
        description: str | None = None,
        id: str | None = None,
        aws_managed: bool = False,
    ) -> ManagedPolicy:
        """CreatePolicy (customer-managed), or register an AWS-managed policy's document."""
        check_name("policy", name, max_length=128, where="PolicyName")
        check_path(path, where="Path")
        account = "aws" if aws_managed else self.account_id
        arn = iam_arn(self.partition, account, "policy", path, name)
        if aws_managed:
            if arn in self.policies:
                raise _exists("policy", name)
        else:
            low = name.lower()
            if any(p.name.lower() == low and not p.is_aws_managed for p in self.policies.values()):
                raise _exists("policy", name)
            customer = sum(not p.is_aws_managed for p in self.policies.values())
            if customer >= self.quotas.managed_policies_per_account:
                raise AccountError("too many customer managed policies", aws_error="LimitExceeded")
        policy = to_policy(document, kind=PolicyKind.IDENTITY, where="PolicyDocument")
        if not aws_managed:
            _check_size(
                policy_size(policy),
                self.quotas.managed_policy_size,
                f"managed policy `{name}`",
                "PolicyDocument",
            )
        managed = ManagedPolicy(
            name=name,
            arn=arn,
            id=id or self.ids.new_id("policy"),
            versions=(PolicyVersion("v1", policy, self.clock),),
            default_version_id="v1",
            path=path,
            description=description,
            create_date=self.clock,
            update_date=self.clock,
        )
        self.policies[arn] = managed
        return managed

    def create_policy_version(
        self, policy_arn: str, document: PolicyInput, *, set_as_default: bool = False
    ) -> PolicyVersion:
        """CreatePolicyVersion: LimitExceeded when the policy already has 5 versions."""
        managed = self.policy(policy_arn)
        if managed.is_aws_managed:
            raise AccountError("AWS-managed policies cannot be changed", aws_error="AccessDenied")
        version_quota = self.quotas.versions_per_managed_policy
        if len(managed.versions) >= version_quota:
            raise AccountError(
                f"policy `{policy_arn}` already has {version_quota} versions",
                aws_error="LimitExceeded",
                hint="delete a non-default version first",
            )
        policy = to_policy(document, kind=PolicyKind.IDENTITY, where="PolicyDocument")
        _check_size(
            policy_size(policy),
            self.quotas.managed_policy_size,
            f"managed policy `{managed.name}`",
            "PolicyDocument",
        )
        number = 1 + max(int(v.version_id[1:]) for v in managed.versions)
        version = PolicyVersion(f"v{number}", policy, self.clock)
        self.policies[policy_arn] = attrs.evolve(
            managed,
            versions=(*managed.versions, version),
            update_date=self.clock,
            default_version_id=version.version_id if set_as_default else managed.default_version_id,
        )
        return version

    def set_default_policy_version(self, policy_arn: str, version_id: str) -> None:
        managed = self.policy(policy_arn)
        if all(v.version_id != version_id for v in managed.versions):
            raise _no_such("policy version", version_id)
        self.policies[policy_arn] = attrs.evolve(managed, default_version_id=version_id)

    def delete_policy(self, policy_arn: str) -> None:
        self.policy(policy_arn)
        if self.attachment_count(policy_arn) or self.boundary_usage_count(policy_arn):
            raise AccountError(
                f"policy `{policy_arn}` is still attached or used as a boundary",
                aws_error="DeleteConflict",
            )
        del self.policies[policy_arn]

    # ---------------------------------------------------------------- instance profiles

    def create_instance_profile(
        self,
        name: str,
        *,
        path: str = "/",
        id: str | None = None,
        tags: Mapping[str, str] | Iterable[tuple[str, str]] = (),
    ) -> InstanceProfile:
        check_name("instance profile", name, max_length=128, where="InstanceProfileName")
        check_path(path, where="Path")
        self._check_new_name(self.instance_profiles, "instance profile", name)
        if len(self.instance_profiles) >= self.quotas.instance_profiles_per_account:
            raise AccountError("too many instance profiles", aws_error="LimitExceeded")
        profile = InstanceProfile(
            name=name,
            arn=self.arn("instance-profile", name, path),
            id=id or self.ids.new_id("instance-profile"),
            path=path,
            create_date=self.clock,
            tags=_tags(tags, self.quotas.tags_per_entity, "Tags"),
        )
        self.instance_profiles[name.lower()] = profile
        return profile

    def add_role_to_instance_profile(self, profile_name: str, role_name: str) -> None:
        """AddRoleToInstanceProfile: LimitExceeded if the profile already holds a role."""
        profile = self.instance_profile(profile_name)
        role = self.role(role_name)
        if profile.role is not None:
            raise AccountError(
                f"instance profile `{profile.name}` already holds role `{profile.role}`; "
                "an instance profile can contain only one role",
                aws_error="LimitExceeded",
                code="account.limit-exceeded",
                hint="remove the current role first, or use another instance profile",
            )
        self.instance_profiles[profile_name.lower()] = attrs.evolve(profile, role=role.name)

    def remove_role_from_instance_profile(self, profile_name: str, role_name: str) -> None:
        profile = self.instance_profile(profile_name)
        if profile.role is None or profile.role.lower() != role_name.lower():
            raise _no_such("role in instance profile", role_name)
        self.instance_profiles[profile_name.lower()] = attrs.evolve(profile, role=None)

    def delete_instance_profile(self, name: str) -> None:
        profile = self.instance_profile(name)
        if profile.role is not None:
            raise AccountError(
                f"instance profile `{name}` still holds a role", aws_error="DeleteConflict"
            )
        del self.instance_profiles[name.lower()]

    # ---------------------------------------------------------------- resource policies

    def put_resource_policy(
        self,
        resource_arn: str,
        document: PolicyInput | None,
        *,
        tags: Mapping[str, str] | Iterable[tuple[str, str]] = (),
    ) -> ResourcePolicy:
        """Attach a resource-based policy (and optional tags) to a resource of this account."""
        parsed = parse_arn(resource_arn, where="ResourceArn")
        if parsed.account and parsed.account != self.account_id:
            raise AccountError(
                f"resource `{resource_arn}` belongs to account {parsed.account}, "
                f"not {self.account_id}",
                aws_error="ValidationError",
                path="ResourceArn",
            )
        if parsed.service == "iam" and parsed.resource.startswith("role/"):
            raise AccountError(
                "a role's resource policy is its trust policy",
                aws_error="ValidationError",
                path="ResourceArn",
                hint="set it with the role's AssumeRolePolicyDocument",
            )
        policy = (
            None
            if document is None
            else to_policy(document, kind=PolicyKind.RESOURCE, where="Policy")
        )
        entry = ResourcePolicy(
            resource_arn, policy, _tags(tags, self.quotas.tags_per_entity, "Tags")
        )
        self.resource_policies[resource_arn] = entry
        return entry

    # ---------------------------------------------------------------- deciding

    def authorize(
        self,
        principal: str,
        action: str,
        resource: str,
        context: Mapping[str, ContextValue] | None = None,
        *,
        session_name: str | None = None,
        session_policies: Iterable[PolicyInput] = (),
    ) -> EvaluationResult:
        """Decide one request made by a principal of this account (see `Environment`)."""
        return Environment([self]).authorize(
            principal,
            action,
            resource,
            context,
            session_name=session_name,
            session_policies=session_policies,
        )

    def to_case(
        self,
        principal: str,
        action: str,
        resource: str,
        context: Mapping[str, ContextValue] | None = None,
        *,
        session_name: str | None = None,
        session_policies: Iterable[PolicyInput] = (),
    ) -> dict[str, object]:
        """The simulation case (simulation-case.md) equivalent to `authorize(...)`."""
        return Environment([self]).to_case(
            principal,
            action,
            resource,
            context,
            session_name=session_name,
            session_policies=session_policies,
        )


def check_session_duration(seconds: object, where: str) -> None:
    if not isinstance(seconds, int) or isinstance(seconds, bool) or not (3600 <= seconds <= 43200):
        raise AccountError(
            f"MaxSessionDuration `{seconds}` is outside 3600..43200 seconds",
            aws_error="ValidationError",
            path=where,
        )


def trusts_service(policy: Policy, service: str) -> bool:
    """True when some Allow statement names `service` as a Service principal."""
    for statement in policy.statements:
        if statement.principal is None or statement.principal.negated:
            continue
        if statement.effect.value != "Allow":
            continue
        for entry in statement.principal.entries:
            if entry.kind == "Service" and service in entry.values.items:
                return True
    return False


# --------------------------------------------------------------------------------------------
# Several accounts


class Environment:
    """Several accounts and, optionally, their organization: the scope of cross-account
    questions. Resource policies of all accounts are indexed by ARN once."""

    def __init__(
        self, accounts: Iterable[Account], organization: Organization | None = None
    ) -> None:
        self.accounts: dict[str, Account] = {}
        for account in accounts:
            if account.account_id in self.accounts:
                raise _exists("account", account.account_id)
            self.accounts[account.account_id] = account
        self.organization = organization
        self._resource_index: dict[str, tuple[str, ResourcePolicy]] | None = None

    def resource_index(self) -> dict[str, tuple[str, ResourcePolicy]]:
        if self._resource_index is None:
            index: dict[str, tuple[str, ResourcePolicy]] = {}
            for account in self.accounts.values():
                for arn, entry in account.resource_policies.items():
                    index[arn] = (account.account_id, entry)
            self._resource_index = index
        return self._resource_index

    def find_resource(self, arn: str) -> tuple[str | None, ResourcePolicy | None]:
        """(owning account, resource-policy entry) for a resource ARN.

        Exact ARN first; then parents obtained by cutting the last `/` segment (an S3 object
        falls back to its bucket's policy)."""
        index = self.resource_index()
        candidate = arn
        while True:
            hit = index.get(candidate)
            if hit is not None:
                return hit
            cut = candidate.rfind("/")
            if cut <= 0:
                break
            candidate = candidate[:cut]
        return None, None

    def authorize(
        self,
        principal: str,
        action: str,
        resource: str,
        context: Mapping[str, ContextValue] | None = None,
        *,
        session_name: str | None = None,
        session_policies: Iterable[PolicyInput] = (),
        resource_account: str | None = None,
    ) -> EvaluationResult:
        """Gather every applicable policy and decide with `policylang.evaluator.evaluate`."""
        return self.question(
            principal,
            action,
            resource,
            context,
            session_name=session_name,
            session_policies=session_policies,
            resource_account=resource_account,
        ).evaluate()

    def to_case(
        self,
        principal: str,
        action: str,
        resource: str,
        context: Mapping[str, ContextValue] | None = None,
        *,
        session_name: str | None = None,
        session_policies: Iterable[PolicyInput] = (),
        resource_account: str | None = None,
        name: str | None = None,
    ) -> dict[str, object]:
        """The simulation case equivalent to `authorize(...)` (replay it with `simulate`)."""
        return self.question(
            principal,
            action,
            resource,
            context,
            session_name=session_name,
            session_policies=session_policies,
            resource_account=resource_account,
        ).to_case(name=name)

    def question(
        self,
        principal: str,
        action: str,
        resource: str,
        context: Mapping[str, ContextValue] | None = None,
        *,
        session_name: str | None = None,
        session_policies: Iterable[PolicyInput] = (),
        resource_account: str | None = None,
    ) -> Question:
        """The PolicySet + Request for one question, with a description of every policy."""
        # Imported here: resolve builds on this module (it is the higher layer).
        from policylang.account.resolve import build_question, find_principal

        return build_question(
            self,
            find_principal(self, principal, session_name=session_name),
            action,
            resource,
            context,
            session_policies=session_policies,
            resource_account=resource_account,
        )
