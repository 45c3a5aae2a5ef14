"""From a principal and a request to the `PolicySet` + `Request` that decide it.

Gathers, per evaluation.md §2: the identity policies (a user's inline and attached managed
policies and those of every group it belongs to; a role's inline and attached policies for its
sessions), the permissions boundary, session policies, the SCP levels of the principal's
account, the RCP levels and the resource-based policy of the resource's account (for the
role-trust actions, the role's trust policy). Labels follow simulation-case.md (`identity[0]`,
`resource`, `scp[1][0]`, …) so that an answer and its replayed case name the same statements.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

import attrs

from policylang.account.ids import is_account_id, parse_arn, session_arn
from policylang.account.model import (
    ROLE_TRUST_ACTIONS,
    Account,
    Environment,
    InlinePolicy,
    ManagedPolicy,
    PolicyInput,
    Role,
    Tag,
    User,
    to_policy,
)
from policylang.account.org import OrgPolicy
from policylang.decision import EvaluationResult
from policylang.errors import AccountError
from policylang.ir import Policy, PolicyKind
from policylang.policy_set import NamedPolicy, PolicySet
from policylang.request import Caller, ContextValue, PrincipalType, Request, Resource

PrincipalKind = Literal["user", "role", "root", "service", "federated", "anonymous"]
DEFAULT_SESSION_NAME = "policylang"
INSTANCE_SESSION_NAME = "i-0123456789abcdef0"
"""Session name used for an instance profile's credentials (EC2 uses the instance id)."""


@attrs.frozen
class Principal:
    """A resolved principal: what kind, its ARN (role ARN with path for roles), its account,
    the caller the request is made as, and the user or role entity when modelled."""

    kind: PrincipalKind
    arn: str | None
    account: str | None
    caller: Caller
    user: User | None = None
    role: Role | None = None

    @property
    def display(self) -> str:
        return self.arn or "anonymous"


@attrs.frozen
class Question:
    """One authorization question, ready to evaluate or to write out as a simulation case.

    `descriptions` maps each policy label to where the policy came from
    ("managed policy arn:… attached to group `devs`")."""

    principal: Principal
    policy_set: PolicySet
    request: Request
    descriptions: Mapping[str, str]

    def evaluate(self) -> EvaluationResult:
        from policylang.evaluator import evaluate

        result: EvaluationResult = evaluate(self.policy_set, self.request)
        return result

    def named_policy(self, label: str) -> NamedPolicy | None:
        for named in self.policy_set.all_policies():
            if named.label == label:
                return named
        return None

    def to_case(self, *, name: str | None = None) -> dict[str, object]:
        """The simulation case (simulation-case.md) asking exactly this question."""
        from policylang.grammar.ir_to_json import policy_to_value

        ps = self.policy_set

        def value(named: NamedPolicy | None) -> object:
            return None if named is None else policy_to_value(named.policy)

        caller = self.request.principal
        case: dict[str, object] = {}
        if name is not None:
            case["name"] = name
        case["policies"] = {
            "identity": [value(p) for p in ps.identity],
            "resource": value(ps.resource),
            "boundary": value(ps.boundary),
            "session": [value(p) for p in ps.session],
            "scp": [[value(p) for p in level] for level in ps.scp],
            "rcp": [[value(p) for p in level] for level in ps.rcp],
        }
        case["request"] = {
            "principal": {
                "arn": caller.arn,
                "account": caller.account,
                "type": caller.type.value,
                "id": caller.id,
                "tags": dict(caller.tags),
                "session_name": caller.session_name,
            },
            "action": self.request.action,
            "resource": {
                "arn": self.request.resource.arn,
                "account": self.request.resource.account,
                "tags": dict(self.request.resource.tags),
            },
            "context": {
                k: (v if isinstance(v, str) else list(v)) for k, v in self.request.context.items()
            },
        }
        return case


# --------------------------------------------------------------------------------------------
# Principals


def _unknown_principal(text: str) -> AccountError:
    return AccountError(
        f"no principal `{text}` in the loaded accounts",
        aws_error="NoSuchEntity",
        code="account.unknown-principal",
        hint="give a user or role ARN, `user/NAME`, `role/NAME`, an account id (its root), "
        "a service principal such as ec2.amazonaws.com, or `anonymous`",
    )


def _tags_map(tags: Iterable[Tag]) -> dict[str, str]:
    return {t.key: t.value for t in tags}


def user_principal(account: Account, user: User) -> Principal:
    caller = Caller(
        PrincipalType.USER,
        arn=user.arn,
        account=account.account_id,
        id=user.id,
        tags=_tags_map(user.tags),
    )
    return Principal("user", user.arn, account.account_id, caller, user=user)


def role_principal(account: Account, role: Role, session_name: str | None = None) -> Principal:
    session = session_name or DEFAULT_SESSION_NAME
    caller = Caller(
        PrincipalType.ASSUMED_ROLE,
        arn=session_arn(account.partition, account.account_id, role.name, session),
        account=account.account_id,
        id=f"{role.id}:{session}",
        tags=_tags_map(role.tags),
        session_name=session,
    )
    return Principal("role", role.arn, account.account_id, caller, role=role)


def root_principal(account_id: str, partition: str = "aws") -> Principal:
    arn = f"arn:{partition}:iam::{account_id}:root"
    return Principal(
        "root",
        arn,
        account_id,
        Caller(PrincipalType.ROOT, arn=arn, account=account_id, id=account_id),
    )


def service_principal(name: str) -> Principal:
    return Principal("service", name, None, Caller(PrincipalType.SERVICE, arn=name, id=name))


def federated_principal(provider: str) -> Principal:
    account = None
    if provider.startswith("arn:"):
        account = provider.split(":")[4] or None
    return Principal(
        "federated",
        provider,
        account,
        Caller(PrincipalType.FEDERATED, arn=provider, account=account, id=provider),
    )


def find_principal(env: Environment, text: str, *, session_name: str | None = None) -> Principal:
    """Resolve a principal written as an ARN, `user/NAME`, `role/NAME`, a bare name, an account
    id (its root user), a service principal name, or `anonymous`."""
    text = text.strip()
    if text in ("anonymous", "*"):
        return Principal("anonymous", None, None, Caller(PrincipalType.ANONYMOUS))
    if is_account_id(text):
        return root_principal(text)
    if not text.startswith("arn:"):
        if text.endswith((".amazonaws.com", ".amazonaws.com.cn")) or text.endswith(".amazon.com"):
            return service_principal(text)
        return _find_by_name(env, text, session_name)
    arn = parse_arn(text, where="principal")
    account = env.accounts.get(arn.account)
    if arn.service == "iam" and arn.resource == "root":
        return root_principal(arn.account, arn.partition)
    if arn.service == "iam" and arn.resource.startswith(("oidc-provider/", "saml-provider/")):
        return federated_principal(text)
    if account is None:
        raise _unknown_principal(text)
    name = arn.resource.rsplit("/", 1)[-1]
    if arn.service == "iam" and arn.resource.startswith("user/"):
        user = account.users.get(name.lower())
        if user is None or user.arn != text:
            raise _unknown_principal(text)
        return user_principal(account, user)
    if arn.service == "iam" and arn.resource.startswith("role/"):
        role = account.roles.get(name.lower())
        if role is None or role.arn != text:
            raise _unknown_principal(text)
        return role_principal(account, role, session_name)
    if arn.service == "iam" and arn.resource.startswith("instance-profile/"):
        # AWS: an instance gets credentials of the profile's role, session name = instance id.
        profile = account.instance_profiles.get(name.lower())
        if profile is None or profile.arn != text or profile.role is None:
            raise _unknown_principal(text)
        return role_principal(
            account, account.roles[profile.role.lower()], session_name or INSTANCE_SESSION_NAME
        )
    if arn.service == "sts" and arn.resource.startswith("assumed-role/"):
        parts = arn.resource.split("/")
        role = account.roles.get(parts[1].lower()) if len(parts) == 3 else None
        if role is None:
            raise _unknown_principal(text)
        return role_principal(account, role, parts[2])
    raise _unknown_principal(text)


def _find_by_name(env: Environment, text: str, session_name: str | None) -> Principal:
    kind, _, name = text.rpartition("/")
    found: list[Principal] = []
    for account in env.accounts.values():
        if kind in ("", "user") and name.lower() in account.users:
            found.append(user_principal(account, account.users[name.lower()]))
        if kind in ("", "role") and name.lower() in account.roles:
            found.append(role_principal(account, account.roles[name.lower()], session_name))
    if not found:
        raise _unknown_principal(text)
    if len(found) > 1:
        raise AccountError(
            f"`{text}` names several principals: " + ", ".join(f"`{p.display}`" for p in found),
            aws_error="ValidationError",
            code="account.ambiguous-principal",
            hint="give the full ARN",
        )
    return found[0]


# --------------------------------------------------------------------------------------------
# Policy gathering


def _managed(account: Account, arn: str, env: Environment) -> ManagedPolicy:
    found = account.policies.get(arn)
    if found is None:
        raise AccountError(
            f"policy `{arn}` is attached but not defined",
            aws_error="NoSuchEntity",
            code="account.unknown-policy",
        )
    return found


def identity_policies(env: Environment, principal: Principal) -> list[tuple[Policy, str, str]]:
    """(document, SourcePolicyType, description) of every identity policy of a principal."""
    out: list[tuple[Policy, str, str]] = []
    account = env.accounts.get(principal.account or "")
    if account is None:
        return out

    def add_entity(
        kind: str, name: str, inline: Iterable[InlinePolicy], attached: Iterable[str]
    ) -> None:
        for item in inline:
            out.append((item.document, kind, f"inline policy `{item.name}` of {kind} `{name}`"))
        for arn in attached:
            managed = _managed(account, arn, env)
            kind_name = "aws-managed" if managed.is_aws_managed else "user-managed"
            out.append(
                (managed.document, kind_name, f"managed policy {arn} attached to {kind} `{name}`")
            )

    if principal.user is not None:
        user = principal.user
        add_entity("user", user.name, user.inline_policies, user.attached_policies)
        for group in account.groups_of(user.name):
            add_entity("group", group.name, group.inline_policies, group.attached_policies)
    elif principal.role is not None:
        role = principal.role
        add_entity("role", role.name, role.inline_policies, role.attached_policies)
    return out


def boundary_policy(env: Environment, principal: Principal) -> tuple[Policy, str] | None:
    entity: User | Role | None = principal.user or principal.role
    if entity is None or entity.boundary is None or principal.account is None:
        return None
    managed = _managed(env.accounts[principal.account], entity.boundary, env)
    return managed.document, f"permissions boundary {entity.boundary}"


def org_levels(
    env: Environment,
    account_id: str | None,
    policy_type: Literal["SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"],
) -> list[list[OrgPolicy]]:
    if env.organization is None or account_id is None:
        return []
    return env.organization.levels(account_id, policy_type)


def resource_owner(
    env: Environment, resource_arn: str, principal: Principal, explicit: str | None
) -> tuple[str | None, Policy | None, str | None, dict[str, str]]:
    """(account, resource policy, its description, resource tags) of a resource ARN.

    The owner is, in order: `explicit`; the account that registered a policy for the ARN (or
    a parent such as the S3 bucket of an object); the ARN's account field when it is a
    12-digit id (never a pattern such as `*`); the only loaded
    account; the principal's account (an unknown bucket is taken to be the caller's own)."""
    owner, entry = env.find_resource(resource_arn)
    if explicit is not None:
        owner = explicit
    if owner is None and resource_arn.startswith("arn:"):
        # Only a concrete 12-digit account field names an owner: `*`, `11112222*`, `aws` (AWS-
        # managed policies) and an empty field (S3) fall through to the rules below.
        parts = resource_arn.split(":", 5)
        if len(parts) == 6 and is_account_id(parts[4]):
            owner = parts[4]
    if owner is None and len(env.accounts) == 1:
        owner = next(iter(env.accounts))
    if owner is None:
        owner = principal.account
    tags: dict[str, str] = {}
    policy = description = None
    if entry is not None:
        tags = _tags_map(entry.tags)
        if entry.document is not None:
            policy = entry.document
            description = f"resource policy of {entry.resource_arn}"
    return owner, policy, description, tags


def iam_entity_at(env: Environment, arn: str) -> User | Role | None:
    """The user or role an IAM ARN names, when it is in the loaded accounts."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "iam":
        return None
    account = env.accounts.get(parts[4])
    if account is None:
        return None
    name = parts[5].rsplit("/", 1)[-1].lower()
    if parts[5].startswith("role/"):
        role = account.roles.get(name)
        return role if role is not None and role.arn == arn else None
    if parts[5].startswith("user/"):
        user = account.users.get(name)
        return user if user is not None and user.arn == arn else None
    return None


def build_question(
    env: Environment,
    principal: Principal,
    action: str,
    resource: str,
    context: Mapping[str, ContextValue] | None = None,
    *,
    session_policies: Iterable[PolicyInput] = (),
    resource_account: str | None = None,
) -> Question:
    """Gather the policy sets and build the request for one question."""
    descriptions: dict[str, str] = {}

    identity: list[NamedPolicy] = []
    for index, (doc, ptype, text) in enumerate(identity_policies(env, principal)):
        label = f"identity[{index}]"
        identity.append(NamedPolicy(label, doc, PolicyKind.IDENTITY, ptype))
        descriptions[label] = text

    boundary: NamedPolicy | None = None
    found_boundary = boundary_policy(env, principal)
    if found_boundary is not None:
        boundary = NamedPolicy("boundary", found_boundary[0], PolicyKind.BOUNDARY, "user-managed")
        descriptions["boundary"] = found_boundary[1]

    session: list[NamedPolicy] = []
    for index, given in enumerate(session_policies):
        label = f"session[{index}]"
        parsed = to_policy(given, kind=PolicyKind.SESSION, where=label)
        session.append(NamedPolicy(label, parsed, PolicyKind.SESSION, None))
        descriptions[label] = f"session policy {index}"

    owner, rbp, rbp_text, resource_tags = resource_owner(env, resource, principal, resource_account)
    target = iam_entity_at(env, resource)
    if target is not None:
        resource_tags = _tags_map(target.tags)
    named_rbp: NamedPolicy | None = None
    if action.lower() in ROLE_TRUST_ACTIONS and isinstance(target, Role):
        named_rbp = NamedPolicy("resource", target.trust_policy, PolicyKind.TRUST, "resource")
        descriptions["resource"] = f"trust policy of role {target.arn}"
    elif rbp is not None:
        named_rbp = NamedPolicy("resource", rbp, PolicyKind.RESOURCE, "resource")
        descriptions["resource"] = rbp_text or "resource policy"

    # AWS: service-linked roles escape SCPs and RCPs; SCPs bind only signed principals.
    service_linked = principal.role is not None and principal.role.is_service_linked
    scp_levels: list[list[OrgPolicy]] = []
    if principal.kind in ("user", "role", "root") and not service_linked:
        scp_levels = org_levels(env, principal.account, "SERVICE_CONTROL_POLICY")
    rcp_levels = [] if service_linked else org_levels(env, owner, "RESOURCE_CONTROL_POLICY")
    scp = _org_named("scp", scp_levels, PolicyKind.SCP, env, principal.account, descriptions)
    rcp = _org_named("rcp", rcp_levels, PolicyKind.RCP, env, owner, descriptions)

    ctx: dict[str, ContextValue] = dict(context or {})
    if principal.role is not None and not any(k.lower() == "aws:principalarn" for k in ctx):
        # The session ARN has no role path; aws:PrincipalArn is the role ARN with its path.
        ctx["aws:PrincipalArn"] = principal.role.arn
    request = Request(
        principal=principal.caller,
        action=action,
        resource=Resource(resource, account=owner, tags=resource_tags),
        context=ctx,
    )
    policy_set = PolicySet(
        identity=tuple(identity),
        resource=named_rbp,
        boundary=boundary,
        session=tuple(session),
        scp=scp,
        rcp=rcp,
    )
    return Question(principal, policy_set, request, descriptions)


def _org_named(
    prefix: str,
    levels: list[list[OrgPolicy]],
    kind: PolicyKind,
    env: Environment,
    account_id: str | None,
    descriptions: dict[str, str],
) -> tuple[tuple[NamedPolicy, ...], ...]:
    out: list[tuple[NamedPolicy, ...]] = []
    org = env.organization
    path = org.path_to(account_id) if org and account_id and account_id in org.nodes else []
    for depth, level in enumerate(levels):
        named: list[NamedPolicy] = []
        where = path[depth].id if depth < len(path) else "?"
        for index, policy in enumerate(level):
            label = f"{prefix}[{depth}][{index}]"
            named.append(NamedPolicy(label, policy.document, kind, None))
            descriptions[label] = (
                f"{prefix.upper()} `{policy.name}` ({policy.id}) attached to {where}"
            )
        out.append(tuple(named))
    return tuple(out)
