"""Load and export `aws iam get-account-authorization-details` output, and the organization file.

Input forms accepted for one account:

* one response object (`UserDetailList`, `GroupDetailList`, `RoleDetailList`, `Policies`,
  `IsTruncated`, `Marker`), or a JSON list of such pages (they are merged; a last page that
  still says `IsTruncated: true` is refused as incomplete);
* policy documents as URL-encoded JSON strings (what the raw API returns), JSON text, or JSON
  objects (what the AWS CLI prints);
* policylang extensions, all optional: `AccountId`, `AccountAlias`, `ResourcePolicies`
  (`[{"ResourceArn", "Policy", "Tags"}]`), `InstanceProfiles` (profiles holding no role, which
  GAAD cannot show), and per role `Description` and `MaxSessionDuration` (from `iam:GetRole`).

Export writes the same shape with JSON-object documents; `load(export(a)) == a`.

The organization file (policylang's own small format, AWS Organizations names)::

    {
      "Organization": {"Id": "o-a1b2c3d4e5", "MasterAccountId": "111111111111"},
      "Policies": [
        {"Id": "p-FullAWSAccess", "Name": "FullAWSAccess", "Type": "SERVICE_CONTROL_POLICY",
         "AwsManaged": true, "Description": "...", "Content": {"Version": "2012-10-17", ...}}
      ],
      "Root": {"Id": "r-a1b2", "Name": "Root", "Policies": ["p-FullAWSAccess"],
               "OrganizationalUnits": [{"Id": "ou-a1b2-11111111", "Name": "Prod",
                                        "Policies": [...], "OrganizationalUnits": [...],
                                        "Accounts": [...]}],
               "Accounts": [{"Id": "111111111111", "Name": "management", "Policies": []}]}
    }

`Type` is `SERVICE_CONTROL_POLICY` or `RESOURCE_CONTROL_POLICY`; `Content` a JSON object or
JSON text (as `organizations:DescribePolicy` returns it); a node's `Policies` names policies by
`Id` or `Name`. An environment file bundles both: `{"Accounts": [dump, ...],
"Organization": {...}}`.

Loading is all-or-nothing: the whole input is checked before an `Account` is returned. Errors
are `AccountError`s with AWS's error names and the JSON path of the offending field.
"""

from __future__ import annotations

import pathlib
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast

from policylang import _json
from policylang.account.ids import (
    check_account_id,
    check_inline_policy_name,
    check_name,
    check_path,
    iam_arn,
    parse_iam_entity_arn,
)
from policylang.account.model import (
    Account,
    Environment,
    Group,
    InlinePolicy,
    InstanceProfile,
    ManagedPolicy,
    PolicyVersion,
    ResourcePolicy,
    Role,
    Tag,
    User,
    _check_size,
    _tags,
    check_policy_shape,
    check_session_duration,
    policy_size,
)
from policylang.account.org import Organization, OrgNode, OrgPolicy, OrgPolicyType
from policylang.errors import AccountError, PolicyLangError
from policylang.ir import Policy, PolicyKind
from policylang.source import Source
from policylang.validate import Limits

_PAGE_KEYS = frozenset(
    {
        "UserDetailList",
        "GroupDetailList",
        "RoleDetailList",
        "Policies",
        "IsTruncated",
        "Marker",
        "AccountId",
        "AccountAlias",
        "ResourcePolicies",
        "InstanceProfiles",
        "ResponseMetadata",
    }
)
_LISTS = (
    "UserDetailList",
    "GroupDetailList",
    "RoleDetailList",
    "Policies",
    "ResourcePolicies",
    "InstanceProfiles",
)


def _bad(message: str, where: str, source: str, hint: str | None = None) -> AccountError:
    return AccountError(
        message,
        aws_error="ValidationError",
        code="account.invalid-field",
        path=where,
        source=Source(source, ""),
        hint=hint,
    )


class _Reader:
    """Typed field access with JSON-path error messages."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._cache: dict[str, Policy] = {}

    def obj(self, value: object, where: str) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise _bad("expected a JSON object", where, self.source)
        return cast(Mapping[str, Any], value)

    def items(self, parent: Mapping[str, Any], key: str, where: str) -> list[Any]:
        value = parent.get(key, [])
        if not isinstance(value, list):
            raise _bad(f"`{key}` must be a list", f"{where}.{key}", self.source)
        return value

    def text(
        self, parent: Mapping[str, Any], key: str, where: str, *, required: bool = True
    ) -> str | None:
        value = parent.get(key)
        if value is None:
            if required:
                raise _bad(f"missing field `{key}`", f"{where}.{key}", self.source)
            return None
        if not isinstance(value, str):
            raise _bad(f"`{key}` must be a string", f"{where}.{key}", self.source)
        return value

    def req(self, parent: Mapping[str, Any], key: str, where: str) -> str:
        value = self.text(parent, key, where)
        assert value is not None
        return value

    def tags(self, parent: Mapping[str, Any], where: str, limit: int) -> tuple[Tag, ...]:
        pairs: list[tuple[str, str]] = []
        for i, item in enumerate(self.items(parent, "Tags", where)):
            at = f"{where}.Tags[{i}]"
            tag = self.obj(item, at)
            pairs.append(
                (self.req(tag, "Key", at), self.text(tag, "Value", at, required=False) or "")
            )
        return _tags(pairs, limit, f"{where}.Tags")

    def policy(self, value: object, where: str, kind: PolicyKind) -> Policy:
        """A policy document: URL-encoded text, JSON text or a JSON object (parsed once each).

        Documents in a dump were accepted by AWS when they were saved, possibly under older
        rules, so only well-formedness and the element rules of `kind` (Principal, Resource)
        are checked here, not every save-time rule; sizes are checked against the quotas."""
        from policylang.grammar.json_to_ir import parse_iam_json, policy_from_value

        if isinstance(value, str):
            key = value
        elif isinstance(value, dict):
            # PERF: dumps is far cheaper than re-parsing identical documents (generated and
            # real dumps repeat the same trust and inline policies many times).
            key = _json.dumps(value)
        else:
            raise _bad("a policy document must be a JSON object or a string", where, self.source)
        cache_key = f"{kind.value}\0{key}"
        cached = self._cache.get(cache_key)
        if cached is not None:
            return cached
        try:
            if isinstance(value, str):
                text = value.strip()
                if not text.startswith("{"):
                    text = urllib.parse.unquote(text)
                # PERF: the C scanner, no spans; a bad document is re-parsed with positions.
                policy = parse_iam_json(text, source_name=f"{self.source}:{where}", located=False)
            else:
                policy = policy_from_value(value, source_name=self.source, path=where)
        except AccountError:
            raise
        except PolicyLangError as error:
            raise AccountError(
                f"malformed policy document: {error.message}",
                aws_error="MalformedPolicyDocument",
                code=error.code,
                span=error.span,
                source=error.source,
                path=error.path or where,
                hint=error.hint,
            ) from error
        check_policy_shape(policy, kind=kind, where=where)
        self._cache[cache_key] = policy
        return policy


def read_json_file(path: str | pathlib.Path) -> object:
    """Read a JSON file with located errors."""
    p = pathlib.Path(path)
    data = p.read_bytes()
    return _json.loads(data, source=Source(str(p), ""))


# --------------------------------------------------------------------------------------------
# Loading one account


def merge_pages(data: object, source: str) -> dict[str, Any]:
    """Merge one GAAD response or a list of pages into one response-shaped dict."""
    reader = _Reader(source)
    pages = data if isinstance(data, list) else [data]
    if not pages:
        raise _bad("no pages in the input", "$", source)
    merged: dict[str, Any] = {key: [] for key in _LISTS}
    for i, page_value in enumerate(pages):
        where = f"[{i}]" if isinstance(data, list) else "$"
        page = reader.obj(page_value, where)
        unknown = sorted(set(page) - _PAGE_KEYS)
        if unknown:
            raise _bad(
                f"unknown field `{unknown[0]}`",
                f"{where}.{unknown[0]}",
                source,
                hint="expected the output of `aws iam get-account-authorization-details`",
            )
        for key in _LISTS:
            merged[key].extend(reader.items(page, key, where))
        for key in ("AccountId", "AccountAlias"):
            if key in page:
                if key in merged and merged[key] != page[key]:
                    raise _bad(f"pages disagree on `{key}`", f"{where}.{key}", source)
                merged[key] = page[key]
        truncated = page.get("IsTruncated", False)
        if not isinstance(truncated, bool):
            raise _bad("`IsTruncated` must be true or false", f"{where}.IsTruncated", source)
        if truncated and i == len(pages) - 1:
            raise _bad(
                "the dump is truncated: the last page says IsTruncated=true",
                f"{where}.Marker",
                source,
                hint="fetch every page (the AWS CLI does so unless --max-items is given) and "
                "pass them all",
            )
    return merged


def _account_of_arn(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 else ""


def load_authorization_details(
    data: object,
    *,
    source_name: str = "<authorization-details>",
    account_id: str | None = None,
    quotas: Limits | None = None,
) -> Account:
    """Build an `Account` from GAAD output (one response or a list of pages).

    `quotas` default to `Limits.maximum()`: a dump shows what AWS accepted, so adjustable
    quotas are checked at their maximum."""
    try:
        merged = merge_pages(data, source_name)
        loader = _AccountLoader(merged, source_name, account_id, quotas or Limits.maximum())
        return loader.load()
    except AccountError as error:
        if error.source is None:
            error.source = Source(source_name, "")
        raise


class _AccountLoader:
    def __init__(
        self, merged: dict[str, Any], source: str, account_id: str | None, quotas: Limits
    ) -> None:
        self.data = merged
        self.source = source
        self.r = _Reader(source)
        self.quotas = quotas
        self.account_id = account_id or self._guess_account()
        check_account_id(self.account_id, where="AccountId")
        self.partition = "aws"

    def _guess_account(self) -> str:
        given = self.data.get("AccountId")
        if isinstance(given, str):
            return given
        for key in ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies"):
            for item in self.data[key]:
                arn = item.get("Arn") if isinstance(item, dict) else None
                if isinstance(arn, str) and _account_of_arn(arn) not in ("", "aws"):
                    return _account_of_arn(arn)
        raise _bad(
            "cannot tell which account this is: no ARN and no AccountId",
            "$.AccountId",
            self.source,
            hint='add "AccountId": "111122223333" to the dump',
        )

    def _entity(
        self, item: Mapping[str, Any], kind: str, name_key: str, where: str, max_len: int
    ) -> tuple[str, str, str, str, str | None]:
        name = check_name(kind, item.get(name_key), max_length=max_len, where=f"{where}.{name_key}")
        path = check_path(item.get("Path", "/"), where=f"{where}.Path")
        arn = self.r.text(item, "Arn", where, required=False)
        expected = iam_arn(self.partition, self.account_id, kind, path, name)
        if arn is None:
            arn = expected
        else:
            parsed, _, _ = parse_iam_entity_arn(arn, kind, where=f"{where}.Arn")
            self.partition = parsed.partition
            expected = iam_arn(self.partition, self.account_id, kind, path, name)
            if arn != expected:
                raise _bad(
                    f"`Arn` `{arn}` does not match account, path and name (expected `{expected}`)",
                    f"{where}.Arn",
                    self.source,
                )
        id_key = {
            "user": "UserId",
            "group": "GroupId",
            "role": "RoleId",
            "instance-profile": "InstanceProfileId",
            "policy": "PolicyId",
        }[kind]
        entity_id = self.r.text(item, id_key, where, required=False) or _fallback_id(kind, arn)
        return name, path, arn, entity_id, self.r.text(item, "CreateDate", where, required=False)

    def _inline(self, item: Mapping[str, Any], key: str, where: str) -> list[InlinePolicy]:
        out: list[InlinePolicy] = []
        seen: set[str] = set()
        for i, entry in enumerate(self.r.items(item, key, where)):
            at = f"{where}.{key}[{i}]"
            obj = self.r.obj(entry, at)
            name = check_inline_policy_name(obj.get("PolicyName"), where=f"{at}.PolicyName")
            if name in seen:
                raise AccountError(
                    f"two inline policies named `{name}`",
                    aws_error="EntityAlreadyExists",
                    code="account.duplicate-name",
                    path=at,
                )
            seen.add(name)
            doc = self.r.policy(
                obj.get("PolicyDocument"), f"{at}.PolicyDocument", PolicyKind.IDENTITY
            )
            out.append(InlinePolicy(name, doc))
        return out

    def _attached(self, item: Mapping[str, Any], where: str, limit: int) -> list[str]:
        out: list[str] = []
        for i, entry in enumerate(self.r.items(item, "AttachedManagedPolicies", where)):
            at = f"{where}.AttachedManagedPolicies[{i}]"
            arn = self.r.req(self.r.obj(entry, at), "PolicyArn", at)
            self._known_policy(arn, f"{at}.PolicyArn")
            if arn not in out:
                out.append(arn)
        if len(out) > limit:
            raise AccountError(
                f"{len(out)} managed policies attached, over the quota of {limit}",
                aws_error="LimitExceeded",
                path=f"{where}.AttachedManagedPolicies",
            )
        return out

    def _known_policy(self, arn: str, where: str) -> None:
        if arn not in self.policies:
            raise AccountError(
                f"policy `{arn}` is attached but not in the dump's Policies list",
                aws_error="NoSuchEntity",
                code="account.unknown-policy",
                path=where,
                source=Source(self.source, ""),
                hint="dump with every filter (the default), so that attached AWS-managed "
                "policies are included",
            )

    def _boundary(self, item: Mapping[str, Any], where: str) -> str | None:
        value = item.get("PermissionsBoundary")
        if value is None:
            return None
        obj = self.r.obj(value, f"{where}.PermissionsBoundary")
        arn = self.r.req(obj, "PermissionsBoundaryArn", f"{where}.PermissionsBoundary")
        self._known_policy(arn, f"{where}.PermissionsBoundary.PermissionsBoundaryArn")
        return arn

    def load(self) -> Account:
        q = self.quotas
        self.policies: dict[str, ManagedPolicy] = {}
        self.customer_names: set[str] = set()
        for i, item in enumerate(self.data["Policies"]):
            self._load_policy(self.r.obj(item, f"Policies[{i}]"), f"Policies[{i}]")

        users: dict[str, User] = {}
        memberships: dict[str, list[str]] = {}
        for i, value in enumerate(self.data["UserDetailList"]):
            where = f"UserDetailList[{i}]"
            item = self.r.obj(value, where)
            name, path, arn, uid, date = self._entity(item, "user", "UserName", where, 64)
            if name.lower() in users:
                raise _dup("user", name, where)
            inline = self._inline(item, "UserPolicyList", where)
            _check_size(
                sum(policy_size(p.document) for p in inline),
                q.user_inline_policies_size,
                f"the inline policies of user `{name}`",
                f"{where}.UserPolicyList",
            )
            groups = self.r.items(item, "GroupList", where)
            for j, group_name in enumerate(groups):
                if not isinstance(group_name, str):
                    raise _bad(
                        "a group name must be a string", f"{where}.GroupList[{j}]", self.source
                    )
                memberships.setdefault(group_name.lower(), []).append(name)
            if len(groups) > q.groups_per_user:
                raise AccountError(
                    f"user `{name}` is in {len(groups)} groups, over the quota "
                    f"of {q.groups_per_user}",
                    aws_error="LimitExceeded",
                    path=f"{where}.GroupList",
                )
            users[name.lower()] = User(
                name=name,
                arn=arn,
                id=uid,
                path=path,
                create_date=date,
                inline_policies=inline,
                attached_policies=self._attached(item, where, q.managed_policies_per_user),
                boundary=self._boundary(item, where),
                tags=self.r.tags(item, where, q.tags_per_entity),
            )
        if len(users) > q.users_per_account:
            raise AccountError(
                f"{len(users)} users, over the quota of {q.users_per_account}",
                aws_error="LimitExceeded",
                path="UserDetailList",
            )

        groups_out: dict[str, Group] = {}
        for i, value in enumerate(self.data["GroupDetailList"]):
            where = f"GroupDetailList[{i}]"
            item = self.r.obj(value, where)
            name, path, arn, gid, date = self._entity(item, "group", "GroupName", where, 128)
            if name.lower() in groups_out:
                raise _dup("group", name, where)
            inline = self._inline(item, "GroupPolicyList", where)
            _check_size(
                sum(policy_size(p.document) for p in inline),
                q.group_inline_policies_size,
                f"the inline policies of group `{name}`",
                f"{where}.GroupPolicyList",
            )
            groups_out[name.lower()] = Group(
                name=name,
                arn=arn,
                id=gid,
                path=path,
                create_date=date,
                inline_policies=inline,
                attached_policies=self._attached(item, where, q.managed_policies_per_group),
                members=memberships.pop(name.lower(), ()),
            )
        if memberships:
            missing = sorted(memberships)[0]
            raise AccountError(
                f"user `{memberships[missing][0]}` is in group `{missing}`, which is not in "
                "GroupDetailList",
                aws_error="NoSuchEntity",
                code="account.unknown-group",
                path="UserDetailList",
                source=Source(self.source, ""),
            )
        if len(groups_out) > q.groups_per_account:
            raise AccountError(
                f"{len(groups_out)} groups, over the quota of {q.groups_per_account}",
                aws_error="LimitExceeded",
                path="GroupDetailList",
            )

        roles: dict[str, Role] = {}
        profiles: dict[str, InstanceProfile] = {}
        for i, value in enumerate(self.data["RoleDetailList"]):
            where = f"RoleDetailList[{i}]"
            item = self.r.obj(value, where)
            role = self._load_role(item, where)
            if role.name.lower() in roles:
                raise _dup("role", role.name, where)
            roles[role.name.lower()] = role
            for j, pvalue in enumerate(self.r.items(item, "InstanceProfileList", where)):
                at = f"{where}.InstanceProfileList[{j}]"
                profile = self._load_profile(self.r.obj(pvalue, at), at, role.name)
                old = profiles.get(profile.name.lower())
                if old is not None and old != profile:
                    raise AccountError(
                        f"instance profile `{profile.name}` holds both role `{old.role}` and "
                        f"role `{role.name}`; an instance profile can contain only one role",
                        aws_error="LimitExceeded",
                        code="account.limit-exceeded",
                        path=at,
                        source=Source(self.source, ""),
                    )
                profiles[profile.name.lower()] = profile
        if len(roles) > q.roles_per_account:
            raise AccountError(
                f"{len(roles)} roles, over the quota of {q.roles_per_account}",
                aws_error="LimitExceeded",
                path="RoleDetailList",
            )
        for i, pvalue in enumerate(self.data["InstanceProfiles"]):
            at = f"InstanceProfiles[{i}]"
            profile = self._load_profile(self.r.obj(pvalue, at), at, None)
            if profile.name.lower() in profiles:
                raise _dup("instance profile", profile.name, at)
            profiles[profile.name.lower()] = profile
        if len(profiles) > q.instance_profiles_per_account:
            raise AccountError(
                f"{len(profiles)} instance profiles, over the quota of "
                f"{q.instance_profiles_per_account}",
                aws_error="LimitExceeded",
                path="RoleDetailList",
            )

        resources: dict[str, ResourcePolicy] = {}
        for i, value in enumerate(self.data["ResourcePolicies"]):
            at = f"ResourcePolicies[{i}]"
            item = self.r.obj(value, at)
            arn = self.r.req(item, "ResourceArn", at)
            if arn in resources:
                raise _dup("resource policy", arn, at)
            doc = item.get("Policy")
            policy = (
                None if doc is None else self.r.policy(doc, f"{at}.Policy", PolicyKind.RESOURCE)
            )
            resources[arn] = ResourcePolicy(arn, policy, self.r.tags(item, at, q.tags_per_entity))

        alias = self.data.get("AccountAlias")
        if alias is not None and not isinstance(alias, str):
            raise _bad("`AccountAlias` must be a string", "AccountAlias", self.source)
        account = Account(
            account_id=self.account_id,
            partition=self.partition,
            alias=alias,
            users=users,
            groups=groups_out,
            roles=roles,
            instance_profiles=profiles,
            policies=self.policies,
            quotas=q,
        )
        # Resource ARNs are checked through the model's own rule (owner account, no roles).
        for arn, entry in resources.items():
            account.put_resource_policy(
                arn, entry.document, tags=[(t.key, t.value) for t in entry.tags]
            )
        return account

    def _load_policy(self, item: Mapping[str, Any], where: str) -> None:
        arn = self.r.req(item, "Arn", where)
        parsed, path, name = parse_iam_entity_arn(arn, "policy", where=f"{where}.Arn")
        aws_managed = parsed.account == "aws"
        if not aws_managed and parsed.account != self.account_id:
            raise _bad(
                f"policy `{arn}` belongs to account {parsed.account}, not {self.account_id}",
                f"{where}.Arn",
                self.source,
            )
        check_name("policy", name, max_length=128, where=f"{where}.PolicyName")
        given_name = self.r.text(item, "PolicyName", where, required=False)
        if given_name is not None and given_name != name:
            raise _bad(
                f"`PolicyName` `{given_name}` does not match the ARN",
                f"{where}.PolicyName",
                self.source,
            )
        if arn in self.policies:
            raise _dup("policy", arn, where)
        if not aws_managed:
            if name.lower() in self.customer_names:
                raise _dup("policy", name, where)
            self.customer_names.add(name.lower())
        versions: list[PolicyVersion] = []
        default_flag: str | None = None
        version_list = self.r.items(item, "PolicyVersionList", where)
        for j, value in enumerate(version_list):
            at = f"{where}.PolicyVersionList[{j}]"
            obj = self.r.obj(value, at)
            vid = self.r.req(obj, "VersionId", at)
            if any(v.version_id == vid for v in versions):
                raise _dup("policy version", vid, at)
            doc = self.r.policy(obj.get("Document"), f"{at}.Document", PolicyKind.IDENTITY)
            if not aws_managed:
                _check_size(
                    policy_size(doc),
                    self.quotas.managed_policy_size,
                    f"managed policy `{name}` version {vid}",
                    f"{at}.Document",
                )
            if obj.get("IsDefaultVersion") is True:
                default_flag = vid
            versions.append(
                PolicyVersion(vid, doc, self.r.text(obj, "CreateDate", at, required=False))
            )
        if len(versions) > self.quotas.versions_per_managed_policy:
            raise AccountError(
                f"policy `{name}` has {len(versions)} versions, over the quota "
                f"of {self.quotas.versions_per_managed_policy}",
                aws_error="LimitExceeded",
                path=f"{where}.PolicyVersionList",
            )
        default = self.r.text(item, "DefaultVersionId", where, required=False) or default_flag
        if default is None or all(v.version_id != default for v in versions):
            raise AccountError(
                f"policy `{arn}` has no document for its default version `{default}`",
                aws_error="NoSuchEntity",
                code="account.unknown-policy-version",
                path=f"{where}.PolicyVersionList",
                source=Source(self.source, ""),
                hint="dumps from get-account-authorization-details include the default version",
            )
        attachable = item.get("IsAttachable", True)
        if not isinstance(attachable, bool):
            raise _bad("`IsAttachable` must be true or false", f"{where}.IsAttachable", self.source)
        pid = self.r.text(item, "PolicyId", where, required=False) or _fallback_id("policy", arn)
        self.policies[arn] = ManagedPolicy(
            name=name,
            arn=arn,
            id=pid,
            versions=tuple(versions),
            default_version_id=default,
            path=self._policy_path(item, path, where),
            description=self.r.text(item, "Description", where, required=False),
            is_attachable=attachable,
            create_date=self.r.text(item, "CreateDate", where, required=False),
            update_date=self.r.text(item, "UpdateDate", where, required=False),
        )

    def _policy_path(self, item: Mapping[str, Any], path: str, where: str) -> str:
        given = check_path(item.get("Path", path), where=f"{where}.Path")
        if given != path:
            raise _bad(
                f"`Path` `{given}` does not match the ARN's path `{path}`",
                f"{where}.Path",
                self.source,
            )
        return given

    def _load_role(self, item: Mapping[str, Any], where: str) -> Role:
        q = self.quotas
        name, path, arn, rid, date = self._entity(item, "role", "RoleName", where, 64)
        if "AssumeRolePolicyDocument" not in item:
            raise _bad(
                "a role needs its `AssumeRolePolicyDocument`",
                f"{where}.AssumeRolePolicyDocument",
                self.source,
            )
        trust = self.r.policy(
            item["AssumeRolePolicyDocument"], f"{where}.AssumeRolePolicyDocument", PolicyKind.TRUST
        )
        _check_size(
            policy_size(trust),
            q.trust_policy_size,
            f"the trust policy of role `{name}`",
            f"{where}.AssumeRolePolicyDocument",
        )
        inline = self._inline(item, "RolePolicyList", where)
        _check_size(
            sum(policy_size(p.document) for p in inline),
            q.role_inline_policies_size,
            f"the inline policies of role `{name}`",
            f"{where}.RolePolicyList",
        )
        duration = item.get("MaxSessionDuration", 3600)
        check_session_duration(duration, f"{where}.MaxSessionDuration")
        last_used_raw = item.get("RoleLastUsed") or {}
        last_used = self.r.obj(last_used_raw, f"{where}.RoleLastUsed")
        pairs = []
        for key, value in last_used.items():
            if not isinstance(value, str):
                raise _bad(
                    "`RoleLastUsed` values must be strings",
                    f"{where}.RoleLastUsed.{key}",
                    self.source,
                )
            pairs.append((key, value))
        return Role(
            name=name,
            arn=arn,
            id=rid,
            trust_policy=trust,
            path=path,
            create_date=date,
            description=self.r.text(item, "Description", where, required=False),
            max_session_duration=duration,
            inline_policies=inline,
            attached_policies=self._attached(item, where, q.managed_policies_per_role),
            boundary=self._boundary(item, where),
            tags=self.r.tags(item, where, q.tags_per_entity),
            last_used=tuple(pairs),
        )

    def _load_profile(
        self, item: Mapping[str, Any], where: str, role_name: str | None
    ) -> InstanceProfile:
        name, path, arn, pid, date = self._entity(
            item, "instance-profile", "InstanceProfileName", where, 128
        )
        inner = self.r.items(item, "Roles", where)
        if len(inner) > 1:
            raise AccountError(
                f"instance profile `{name}` lists {len(inner)} roles; an instance profile can "
                "contain only one role",
                aws_error="LimitExceeded",
                code="account.limit-exceeded",
                path=f"{where}.Roles",
                source=Source(self.source, ""),
            )
        if inner:
            listed = self.r.obj(inner[0], f"{where}.Roles[0]").get("RoleName")
            if role_name is None:
                raise _bad(
                    "a profile in `InstanceProfiles` holds no role; list it under its "
                    "role's InstanceProfileList",
                    f"{where}.Roles",
                    self.source,
                )
            if listed != role_name:
                raise AccountError(
                    f"instance profile `{name}` holds role `{listed}`, but is listed under role "
                    f"`{role_name}`",
                    aws_error="LimitExceeded",
                    code="account.limit-exceeded",
                    path=f"{where}.Roles",
                    source=Source(self.source, ""),
                )
        return InstanceProfile(
            name=name,
            arn=arn,
            id=pid,
            path=path,
            create_date=date,
            role=role_name,
            tags=self.r.tags(item, where, self.quotas.tags_per_entity),
        )


def _dup(kind: str, name: str, where: str) -> AccountError:
    return AccountError(
        f"a {kind} named `{name}` appears twice (names are case-insensitive)",
        aws_error="EntityAlreadyExists",
        code="account.duplicate-name",
        path=where,
    )


def _fallback_id(kind: str, arn: str) -> str:
    """A stable id for dumps that omit ids (hand-written files): derived from the ARN."""
    import hashlib

    from policylang.account.ids import ID_ALPHABET, ID_PREFIXES

    digest = hashlib.sha256(arn.encode()).digest()
    return ID_PREFIXES[kind] + "".join(ID_ALPHABET[b & 31] for b in digest[:17])


# --------------------------------------------------------------------------------------------
# Export


def export_authorization_details(account: Account, *, url_encode: bool = False) -> dict[str, Any]:
    """The account as GAAD output (one page, `IsTruncated: false`), plus the extensions."""
    from policylang.grammar.ir_to_json import policy_to_value

    def doc(policy: Policy) -> object:
        value = policy_to_value(policy)
        return urllib.parse.quote(_json.dumps(value), safe="") if url_encode else value

    def inline(items: Iterable[InlinePolicy]) -> list[dict[str, Any]]:
        return [{"PolicyName": p.name, "PolicyDocument": doc(p.document)} for p in items]

    def attached(arns: Iterable[str]) -> list[dict[str, str]]:
        return [{"PolicyName": a.rsplit("/", 1)[-1], "PolicyArn": a} for a in arns]

    def tags(items: Iterable[Tag]) -> list[dict[str, str]]:
        return [{"Key": t.key, "Value": t.value} for t in items]

    def boundary(arn: str | None) -> dict[str, Any]:
        if arn is None:
            return {}
        return {
            "PermissionsBoundary": {
                "PermissionsBoundaryType": "Policy",
                "PermissionsBoundaryArn": arn,
            }
        }

    def dated(value: str | None) -> dict[str, str]:
        return {} if value is None else {"CreateDate": value}

    def by_path(items: Iterable[Any]) -> list[Any]:
        return sorted(items, key=lambda e: (e.path, e.name.lower()))

    users = []
    for user in by_path(account.users.values()):
        entry: dict[str, Any] = {
            "Path": user.path,
            "UserName": user.name,
            "UserId": user.id,
            "Arn": user.arn,
            **dated(user.create_date),
        }
        if user.inline_policies:
            entry["UserPolicyList"] = inline(user.inline_policies)
        entry["GroupList"] = [g.name for g in account.groups_of(user.name)]
        entry["AttachedManagedPolicies"] = attached(user.attached_policies)
        entry.update(boundary(user.boundary))
        if user.tags:
            entry["Tags"] = tags(user.tags)
        users.append(entry)

    groups = []
    for group in by_path(account.groups.values()):
        groups.append(
            {
                "Path": group.path,
                "GroupName": group.name,
                "GroupId": group.id,
                "Arn": group.arn,
                **dated(group.create_date),
                "GroupPolicyList": inline(group.inline_policies),
                "AttachedManagedPolicies": attached(group.attached_policies),
            }
        )

    def role_core(role: Role) -> dict[str, Any]:
        return {
            "Path": role.path,
            "RoleName": role.name,
            "RoleId": role.id,
            "Arn": role.arn,
            **dated(role.create_date),
            "AssumeRolePolicyDocument": doc(role.trust_policy),
        }

    def profile_entry(profile: InstanceProfile, role: Role | None) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "Path": profile.path,
            "InstanceProfileName": profile.name,
            "InstanceProfileId": profile.id,
            "Arn": profile.arn,
            **dated(profile.create_date),
            "Roles": [role_core(role)] if role is not None else [],
        }
        if profile.tags:
            entry["Tags"] = tags(profile.tags)
        return entry

    roles = []
    for role in by_path(account.roles.values()):
        entry = role_core(role)
        if role.description is not None:
            entry["Description"] = role.description
        if role.max_session_duration != 3600:
            entry["MaxSessionDuration"] = role.max_session_duration
        entry["InstanceProfileList"] = [
            profile_entry(p, role) for p in account.profiles_of(role.name)
        ]
        entry["RolePolicyList"] = inline(role.inline_policies)
        entry["AttachedManagedPolicies"] = attached(role.attached_policies)
        entry.update(boundary(role.boundary))
        entry["Tags"] = tags(role.tags)
        entry["RoleLastUsed"] = dict(role.last_used)
        roles.append(entry)

    policies = []
    attachments = account.attachment_counts()
    boundaries = account.boundary_usage_counts()
    for managed in by_path(account.policies.values()):
        entry = {
            "PolicyName": managed.name,
            "PolicyId": managed.id,
            "Arn": managed.arn,
            "Path": managed.path,
            "DefaultVersionId": managed.default_version_id,
            "AttachmentCount": attachments.get(managed.arn, 0),
            "PermissionsBoundaryUsageCount": boundaries.get(managed.arn, 0),
            "IsAttachable": managed.is_attachable,
        }
        if managed.description is not None:
            entry["Description"] = managed.description
        if managed.create_date is not None:
            entry["CreateDate"] = managed.create_date
        if managed.update_date is not None:
            entry["UpdateDate"] = managed.update_date
        entry["PolicyVersionList"] = [
            {
                "Document": doc(v.document),
                "VersionId": v.version_id,
                "IsDefaultVersion": v.version_id == managed.default_version_id,
                **dated(v.create_date),
            }
            for v in managed.versions
        ]
        policies.append(entry)

    out: dict[str, Any] = {"AccountId": account.account_id}
    if account.alias is not None:
        out["AccountAlias"] = account.alias
    out.update(
        {
            "UserDetailList": users,
            "GroupDetailList": groups,
            "RoleDetailList": roles,
            "Policies": policies,
        }
    )
    lonely = [
        profile_entry(p, None)
        for p in by_path(account.instance_profiles.values())
        if p.role is None
    ]
    if lonely:
        out["InstanceProfiles"] = lonely
    if account.resource_policies:
        out["ResourcePolicies"] = [
            {
                "ResourceArn": arn,
                "Policy": None if e.document is None else doc(e.document),
                **({"Tags": tags(e.tags)} if e.tags else {}),
            }
            for arn, e in sorted(account.resource_policies.items())
        ]
    out["IsTruncated"] = False
    return out


# --------------------------------------------------------------------------------------------
# Organizations

_ORG_TYPES: dict[str, OrgPolicyType] = {
    "SERVICE_CONTROL_POLICY": "SERVICE_CONTROL_POLICY",
    "RESOURCE_CONTROL_POLICY": "RESOURCE_CONTROL_POLICY",
}


def load_organization(
    data: object, *, source_name: str = "<organization>", quotas: Limits | None = None
) -> Organization:
    """Build an `Organization` from policylang's organization JSON (see the module docstring)."""
    r = _Reader(source_name)
    top = r.obj(data, "$")
    unknown = sorted(set(top) - {"Organization", "Policies", "Root"})
    if unknown:
        raise _bad(f"unknown field `{unknown[0]}`", unknown[0], source_name)
    head = r.obj(top.get("Organization", {}), "Organization")
    management = check_account_id(
        r.req(head, "MasterAccountId", "Organization"), where="Organization.MasterAccountId"
    )
    root = r.obj(top.get("Root"), "Root")
    org = Organization(
        id=r.text(head, "Id", "Organization", required=False) or "o-unknown",
        management_account=management,
        root_id=r.text(root, "Id", "Root", required=False) or "r-root",
        root_name=r.text(root, "Name", "Root", required=False) or "Root",
        quotas=quotas or Limits(),
    )
    by_name: dict[str, str] = {}
    for i, value in enumerate(r.items(top, "Policies", "$")):
        at = f"Policies[{i}]"
        item = r.obj(value, at)
        pid = r.req(item, "Id", at)
        name = r.text(item, "Name", at, required=False) or pid
        ptype = _ORG_TYPES.get(r.req(item, "Type", at))
        if ptype is None:
            raise _bad(
                "`Type` must be SERVICE_CONTROL_POLICY or RESOURCE_CONTROL_POLICY",
                f"{at}.Type",
                source_name,
            )
        kind = PolicyKind.SCP if ptype == "SERVICE_CONTROL_POLICY" else PolicyKind.RCP
        document = r.policy(item.get("Content"), f"{at}.Content", kind)
        aws_managed = item.get("AwsManaged", False)
        if not isinstance(aws_managed, bool):
            raise _bad("`AwsManaged` must be true or false", f"{at}.AwsManaged", source_name)
        try:
            org.create_policy(
                OrgPolicy(
                    pid,
                    name,
                    ptype,
                    document,
                    r.text(item, "Description", at, required=False),
                    aws_managed,
                )
            )
        except AccountError as error:
            error.path = error.path and f"{at}.{error.path}"
            raise
        if name in by_name:
            raise _dup("organization policy", name, at)
        by_name[name] = pid

    def attach(node_id: str, item: Mapping[str, Any], where: str) -> None:
        for j, ref in enumerate(r.items(item, "Policies", where)):
            if not isinstance(ref, str):
                raise _bad(
                    "policy references are names or ids", f"{where}.Policies[{j}]", source_name
                )
            pid = ref if ref in org.policies else by_name.get(ref)
            if pid is None:
                raise AccountError(
                    f"unknown organization policy `{ref}`",
                    aws_error="PolicyNotFoundException",
                    code="account.unknown-policy",
                    path=f"{where}.Policies[{j}]",
                )
            org.attach_policy(pid, node_id)

    def walk(node: OrgNode, item: Mapping[str, Any], where: str) -> None:
        attach(node.id, item, where)
        for j, value in enumerate(r.items(item, "OrganizationalUnits", where)):
            at = f"{where}.OrganizationalUnits[{j}]"
            ou = r.obj(value, at)
            child = org.add_ou(
                r.req(ou, "Id", at), r.text(ou, "Name", at, required=False) or "", node.id
            )
            walk(child, ou, at)
        for j, value in enumerate(r.items(item, "Accounts", where)):
            at = f"{where}.Accounts[{j}]"
            acct = r.obj(value, at)
            account_id = check_account_id(r.req(acct, "Id", at), where=f"{at}.Id")
            child = org.add_account(
                account_id, node.id, r.text(acct, "Name", at, required=False) or ""
            )
            attach(child.id, acct, at)

    walk(org.nodes[org.root_id], root, "Root")
    if management not in org.nodes:
        raise _bad(
            f"the management account {management} is not in the tree",
            "Organization.MasterAccountId",
            source_name,
        )
    return org


def export_organization(org: Organization) -> dict[str, Any]:
    """The organization in policylang's organization JSON."""
    from policylang.grammar.ir_to_json import policy_to_value

    def node(node_id: str) -> dict[str, Any]:
        current = org.nodes[node_id]
        out: dict[str, Any] = {
            "Id": current.id,
            "Name": current.name,
            "Policies": list(current.policies),
        }
        if current.kind != "account":
            children = [n for n in org.nodes.values() if n.parent == node_id]
            out["OrganizationalUnits"] = [node(n.id) for n in children if n.kind == "ou"]
            out["Accounts"] = [node(n.id) for n in children if n.kind == "account"]
        return out

    policies = []
    for policy in org.policies.values():
        entry: dict[str, Any] = {"Id": policy.id, "Name": policy.name, "Type": policy.type}
        if policy.aws_managed:
            entry["AwsManaged"] = True
        if policy.description is not None:
            entry["Description"] = policy.description
        entry["Content"] = policy_to_value(policy.document)
        policies.append(entry)
    return {
        "Organization": {"Id": org.id, "MasterAccountId": org.management_account},
        "Policies": policies,
        "Root": node(org.root_id),
    }


# --------------------------------------------------------------------------------------------
# Files and environments


def load_environment_data(data: object, *, source_name: str) -> Environment:
    """An environment from a bundle `{"Accounts": [...], "Organization": {...}}`, a single
    GAAD response, or a list of GAAD pages of one account."""
    if isinstance(data, dict) and "Accounts" in data:
        unknown = sorted(set(data) - {"Accounts", "Organization"})
        if unknown:
            raise _bad(f"unknown field `{unknown[0]}`", unknown[0], source_name)
        dumps = data["Accounts"]
        if not isinstance(dumps, list):
            raise _bad(
                "`Accounts` must be a list of authorization-details dumps", "Accounts", source_name
            )
        accounts = []
        for i, dump in enumerate(dumps):
            try:
                accounts.append(load_authorization_details(dump, source_name=source_name))
            except AccountError as error:
                error.path = f"Accounts[{i}].{error.path}" if error.path else f"Accounts[{i}]"
                raise
        org = None
        if data.get("Organization") is not None:
            org = load_organization(data["Organization"], source_name=source_name)
        return Environment(accounts, org)
    return Environment([load_authorization_details(data, source_name=source_name)])


def load_environment(
    account_files: Iterable[str | pathlib.Path],
    organization_file: str | pathlib.Path | None = None,
    *,
    read: Callable[[str | pathlib.Path], object] = read_json_file,
) -> Environment:
    """Load several account files (each a dump, a list of pages, a bundle, or an account DSL
    file — detected by content, see `dsl_loader.load_any`) and optionally an organization file
    into one `Environment`."""
    from policylang.account.dsl_loader import load_any

    accounts: list[Account] = []
    org: Organization | None = None
    for path in account_files:
        if read is read_json_file:
            env = load_any(pathlib.Path(path))
        else:
            env = load_environment_data(read(path), source_name=str(path))
        accounts.extend(env.accounts.values())
        if env.organization is not None:
            if org is not None:
                raise _bad("two organizations given", "Organization", str(path))
            org = env.organization
    if organization_file is not None:
        if org is not None:
            raise _bad("two organizations given", "Organization", str(organization_file))
        org = load_organization(read(organization_file), source_name=str(organization_file))
    return Environment(accounts, org)
