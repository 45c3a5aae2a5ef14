"""The reference evaluator: AWS's authorization decision for one request (evaluation.md §2-§6).

`evaluate(policies, request)` follows the normative procedure of evaluation.md §3 step by step:

1. `sts:GetCallerIdentity` by an authenticated caller is always allowed;
2. an applicable Deny in any applicable set is an explicit deny (incl. the NotPrincipal +
   permissions-boundary trap of §5.3);
3. RCP then SCP levels: every level needs an applicable Allow;
4. changes to AWS-managed resources are implicitly denied (§6.9);
5. grant paths: anonymous, service principal, identity-provider caller, root, then same-account
   (§4.1: DIRECT / PARENT / ACCOUNT grants, role trust and key policies) or cross-account (§4.2).

It is written for clarity, not speed: every statement of every set is evaluated against the
request, then the decision is read off the per-set results. A compiled engine must agree with it.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Iterable, Sequence

import attrs

from policylang.conditions import Context, evaluate_condition
from policylang.decision import Decision, EvaluationResult, MatchedStatement
from policylang.errors import PolicyValidationError
from policylang.ir import Effect, PolicyKind, PrincipalSpec, Statement
from policylang.patterns import compile_action_pattern, compile_resource_parts
from policylang.policy_set import NamedPolicy, PolicySet
from policylang.request import Caller, PrincipalType, Request, derive_context
from policylang.variables import parse_resource_template

RCP_SERVICES: frozenset[str] = frozenset({"s3", "sts", "sqs", "secretsmanager", "kms"})
"""Services RCPs apply to (evaluation.md §3: the initial list; pass `rcp_services` to extend)."""

ROLE_TRUST_ACTIONS: frozenset[str] = frozenset(
    {
        "sts:assumerole",
        "sts:assumerolewithsaml",
        "sts:assumerolewithwebidentity",
        "sts:tagsession",
        "sts:setsourceidentity",
    }
)
"""Actions authorized against the target role's trust policy (`role_trust`, §4.1)."""

GET_CALLER_IDENTITY = "sts:getcalleridentity"

# AWS-managed resources customers cannot change (§6.9): whatever the policies say, these
# actions on them are implicitly denied (the lists iam-simulate's IAM authorizer uses).
_MANAGED_POLICY_WRITES = frozenset(
    {
        "iam:createpolicy",
        "iam:createpolicyversion",
        "iam:deletepolicy",
        "iam:deletepolicyversion",
        "iam:setdefaultpolicyversion",
        "iam:tagpolicy",
        "iam:untagpolicy",
    }
)
_RESERVED_ROLE_WRITES = frozenset(
    {
        "iam:attachrolepolicy",
        "iam:createrole",
        "iam:createservicelinkedrole",
        "iam:deleterole",
        "iam:deleterolepermissionsboundary",
        "iam:deleterolepolicy",
        "iam:deleteservicelinkedrole",
        "iam:detachrolepolicy",
        "iam:passrole",
        "iam:putrolepermissionsboundary",
        "iam:putrolepolicy",
        "iam:tagrole",
        "iam:untagrole",
        "iam:updateassumerolepolicy",
        "iam:updaterole",
        "iam:updateroledescription",
    }
)
_AWS_ALIAS_WRITES = frozenset({"kms:createalias", "kms:deletealias", "kms:updatealias"})
AWS_MANAGED_WRITE_ACTIONS = _MANAGED_POLICY_WRITES | _RESERVED_ROLE_WRITES | _AWS_ALIAS_WRITES
"""Every (lower-cased) action `is_aws_managed_write` can be true for."""


def is_aws_managed_write(action: str, resource: str) -> bool:
    """Is this a change to an AWS-managed resource (§6.9), which no policy can allow?

    AWS-managed policies `arn:aws:iam::aws:policy/…`, roles under `role/aws-reserved/`, and KMS
    aliases `alias/aws/…`.
    """
    fields = resource.split(":", 5)
    if len(fields) != 6 or fields[0] != "arn":
        return False
    service, account, name = fields[2], fields[4], fields[5]
    action = action.lower()
    if service == "iam" and account == "aws" and name.startswith("policy/"):
        return action in _MANAGED_POLICY_WRITES
    if service == "iam" and name.startswith("role/aws-reserved/"):
        return action in _RESERVED_ROLE_WRITES
    if service == "kms" and name.startswith("alias/aws/"):
        return action in _AWS_ALIAS_WRITES
    return False


class Outcome(enum.Enum):
    """A policy set's own result (§2.1): a Deny applies, else an Allow applies, else none."""

    DENY = "explicitDeny"
    ALLOW = "allowed"
    NONE = "implicitDeny"


class PrincipalClass(enum.IntEnum):
    """How a resource-policy Principal matched the caller (§4.1); larger is stronger."""

    ACCOUNT = 1  # the caller's account: delegates to the account's IAM policies
    PARENT = 2  # the role of a role session
    DIRECT = 3  # the caller itself, or "*"


@attrs.frozen(slots=True)
class Hit:
    """An applicable statement: where it is, and how its Principal matched (resource sets)."""

    named: NamedPolicy
    index: int
    statement: Statement
    principal_class: PrincipalClass | None = None

    def matched(self) -> MatchedStatement:
        policy = self.named.policy
        return MatchedStatement(
            policy=self.named.label,
            index=self.index,
            sid=self.statement.sid,
            effect=self.statement.effect,
            span=self.statement.span,
            source=policy.source.name if policy.source is not None else None,
        )


@attrs.frozen(slots=True)
class SetResult:
    """Every applicable statement of one policy set, and the keys its conditions lacked."""

    allows: tuple[Hit, ...] = ()
    denies: tuple[Hit, ...] = ()
    missing_keys: frozenset[str] = frozenset()

    @property
    def outcome(self) -> Outcome:
        if self.denies:
            return Outcome.DENY
        return Outcome.ALLOW if self.allows else Outcome.NONE

    def has_allow(self, cls: PrincipalClass | None = None) -> bool:
        """Is there an applicable Allow (whose Principal matched with class `cls`, if given)?"""
        return any(cls is None or h.principal_class is cls for h in self.allows)


# ---------------------------------------------------------------------------------------------
# Principal matching (§5)


def _arn_fields(text: str) -> list[str] | None:
    fields = text.split(":", 5)
    return fields if len(fields) == 6 and fields[0] == "arn" else None


def _is_authenticated(caller: Caller) -> bool:
    """A caller with AWS credentials (not anonymous, not a service, not an IdP caller)."""
    return caller.type in (
        PrincipalType.USER,
        PrincipalType.ROLE,
        PrincipalType.ASSUMED_ROLE,
        PrincipalType.ROOT,
    ) or (caller.type is PrincipalType.FEDERATED and caller.is_federated_user_session)


def _caller_partition(caller: Caller) -> str | None:
    fields = _arn_fields(caller.arn) if caller.arn else None
    return fields[1] if fields else None


def _session_role_name(caller: Caller) -> str | None:
    """The role name of an assumed-role session ARN (`assumed-role/ROLE/SESSION`)."""
    if caller.type is not PrincipalType.ASSUMED_ROLE or not caller.arn:
        return None
    fields = _arn_fields(caller.arn)
    if fields is None or not fields[5].startswith("assumed-role/"):
        return None
    pieces = fields[5].split("/")
    return pieces[1] if len(pieces) >= 3 else None


def match_aws_principal(value: str, caller: Caller) -> PrincipalClass | None:
    """How an `AWS` principal value matches the caller (§5.1), or None."""
    if value == "*":
        return PrincipalClass.DIRECT
    if not _is_authenticated(caller):
        return None
    if value.isdigit() and len(value) == 12:
        return PrincipalClass.ACCOUNT if value == caller.account else None
    fields = _arn_fields(value)
    if fields is not None:
        partition, service, _, account, resource = fields[1:]
        caller_partition = _caller_partition(caller)
        if caller_partition is not None and partition != caller_partition:
            return None
        if service == "iam" and resource == "root":
            return PrincipalClass.ACCOUNT if account == caller.account else None
        if caller.arn is not None and value == caller.arn:
            return PrincipalClass.DIRECT
        if service == "iam" and resource.startswith("role/") and account == caller.account:
            role_name = _session_role_name(caller)
            # A role ARN (any path) matches every session of that role; IAM role names are
            # unique case-insensitively, so compare them that way (§5.1).
            if role_name is not None and resource.rsplit("/", 1)[-1].lower() == role_name.lower():
                return PrincipalClass.PARENT
        return None
    # Unique ids: a user's id (AIDA…) names the user, a role's id (AROA…) its sessions.
    if caller.id is not None:
        if caller.type is PrincipalType.USER and value == caller.id:
            return PrincipalClass.DIRECT
        if caller.type is PrincipalType.ASSUMED_ROLE and caller.id.split(":", 1)[0] == value:
            return PrincipalClass.PARENT
    return None


def match_principal_entry(kind: str, value: str, caller: Caller) -> PrincipalClass | None:
    """How one `kind: value` principal entry matches the caller, or None."""
    if kind == "AWS":
        return match_aws_principal(value, caller)
    if kind == "Service":
        if caller.type is PrincipalType.SERVICE and value == caller.arn:
            return PrincipalClass.DIRECT
        return None
    if kind == "Federated":
        if caller.is_identity_provider and value == caller.arn:
            return PrincipalClass.DIRECT
        return None
    # CanonicalUser (S3 canonical ids) is not modelled by the request: it never matches.
    return None


def match_principal(spec: PrincipalSpec, caller: Caller) -> PrincipalClass | None:
    """The strongest class with which a Principal (not NotPrincipal) matches the caller."""
    if spec.is_wildcard:
        return PrincipalClass.DIRECT
    best: PrincipalClass | None = None
    for entry in spec.entries:
        for value in entry.values.items:
            cls = match_principal_entry(entry.kind, value, caller)
            if cls is not None and (best is None or cls > best):
                best = cls
    return best


# ---------------------------------------------------------------------------------------------
# Statement applicability (§2.1)


def _action_matches(statement: Statement, action: str) -> bool:
    spec = statement.action
    hit = any(compile_action_pattern(p)(action) for p in spec.values.items)
    return hit != spec.negated


def _resource_matches(
    statement: Statement, named: NamedPolicy, resource: str, ctx: Context, missing: set[str]
) -> bool:
    spec = statement.resource
    if spec is None:
        if named.kind in (PolicyKind.TRUST, PolicyKind.RESOURCE):
            return True  # the policy's own resource (a trust policy has no Resource element)
        raise PolicyValidationError(
            f"statement {named.label}[{statement.sid or '?'}] has no Resource or NotResource",
            code="policy.missing-resource",
            span=statement.span,
            source=named.policy.source,
            hint="every statement of this policy type needs a Resource or NotResource element",
        )
    enabled = named.policy.variables_enabled
    hit = False
    for pattern in spec.values.items:
        template = parse_resource_template(pattern, enabled=enabled)
        parts = template.resolve(ctx)
        if parts is None:
            # An unresolvable variable: this entry matches nothing (conditions.md §5.3).
            missing.update(template.missing_keys(ctx))
            continue
        if compile_resource_parts(parts)(resource):
            hit = True
    return hit != spec.negated


def tag_variants(request: Request, ctx: Context) -> list[Context]:
    """Other readings of the context when two tags differ only in the case of their key.

    Tag-key lookups are case-insensitive, so `{"team": "blue", "Team": "red"}` gives
    `aws:ResourceTag/team` two candidate values. A Condition holds if it holds for any candidate
    (conditions.md §1 **[interp]**); `ctx` already holds one candidate, the variants hold the
    others. Keys given explicitly in the request context are never replaced.
    """
    groups: list[tuple[str, list[str]]] = []
    for prefix, tags in (
        ("aws:principaltag/", request.principal.tags),
        ("aws:resourcetag/", request.resource.tags),
    ):
        by_key: dict[str, list[str]] = {}
        for key, value in tags.items():
            by_key.setdefault(prefix + key.lower(), []).append(value)
        for key, values in by_key.items():
            if len(set(values)) > 1 and ctx.get(key) in values:  # derived, not given explicitly
                groups.append((key, sorted(set(values))))
    variants: list[Context] = []
    for choice in itertools.product(*(values for _, values in groups)):
        variant = {**ctx, **{key: value for (key, _), value in zip(groups, choice, strict=True)}}
        if variant != ctx:
            variants.append(variant)
    return variants


def _has_boundary_trap(caller: Caller, policies: PolicySet) -> bool:
    """Does the caller's user/role carry a permissions boundary (§5.3)?"""
    return policies.boundary is not None and caller.type in (
        PrincipalType.USER,
        PrincipalType.ROLE,
        PrincipalType.ASSUMED_ROLE,
    )


def evaluate_set(
    named_policies: Iterable[NamedPolicy],
    request: Request,
    ctx: Context,
    *,
    with_principal: bool = False,
    boundary_trap: bool = False,
) -> SetResult:
    """Evaluate every statement of a set; keep the applicable ones.

    `with_principal`: resource-based policies and RCPs, where a statement applies only if its
    Principal/NotPrincipal matches (statements with neither are ignored). `boundary_trap`: the
    caller has a permissions boundary, so a Deny with NotPrincipal applies whatever it lists.
    """
    allows: list[Hit] = []
    denies: list[Hit] = []
    missing: set[str] = set()
    variants = tag_variants(request, ctx)
    for named in named_policies:
        for index, statement in enumerate(named.policy.statements):
            cls: PrincipalClass | None = None
            if with_principal:
                spec = statement.principal
                if spec is None:
                    continue
                if spec.negated:
                    listed = match_principal(attrs.evolve(spec, negated=False), request.principal)
                    if listed is not None and not (
                        boundary_trap and statement.effect is Effect.DENY
                    ):
                        continue
                    cls = PrincipalClass.DIRECT  # NotPrincipal + Allow (legacy): §5.2
                else:
                    cls = match_principal(spec, request.principal)
                    if cls is None:
                        continue
            if not _action_matches(statement, request.action):
                continue
            if not _resource_matches(statement, named, request.resource.arn, ctx, missing):
                continue
            enabled = named.policy.variables_enabled
            outcome = evaluate_condition(statement.condition, ctx, variables_enabled=enabled)
            missing.update(outcome.missing_keys)
            if not outcome.matched and not any(
                evaluate_condition(statement.condition, v, variables_enabled=enabled).matched
                for v in variants
            ):
                continue
            hit = Hit(named, index, statement, cls)
            (denies if statement.effect is Effect.DENY else allows).append(hit)
    return SetResult(tuple(allows), tuple(denies), frozenset(missing))


# ---------------------------------------------------------------------------------------------
# Which sets apply to the request (§2, §3)


def _is_service_linked_role(caller: Caller, ctx: Context) -> bool:
    """A session of a service-linked role (path `/aws-service-role/`, name `AWSServiceRoleFor…`)."""
    if caller.type not in (PrincipalType.ASSUMED_ROLE, PrincipalType.ROLE):
        return False
    principal_arn = ctx.get("aws:principalarn")
    if isinstance(principal_arn, str) and ":role/aws-service-role/" in principal_arn:
        return True
    name = _session_role_name(caller) or (caller.arn or "").rsplit("/", 1)[-1]
    return name.startswith("AWSServiceRoleFor")


def _action_service(action: str) -> str:
    return action.partition(":")[0].lower()


@attrs.frozen(slots=True)
class _Applicability:
    identity: bool
    boundary: bool
    session: bool
    scp: bool
    rcp: bool


def _applicability(
    policies: PolicySet, request: Request, ctx: Context, rcp_services: frozenset[str]
) -> _Applicability:
    caller = request.principal
    t = caller.type
    federated_session = t is PrincipalType.FEDERATED and caller.is_federated_user_session
    signed_iam = t in (PrincipalType.USER, PrincipalType.ROLE, PrincipalType.ASSUMED_ROLE)
    slr = _is_service_linked_role(caller, ctx)
    # SCPs: member-account principals incl. root; not service-linked roles, service principals,
    # identity-provider callers or anonymous callers.
    scp = bool(policies.scp) and (signed_iam or federated_session or t is PrincipalType.ROOT)
    # RCPs: member-account resources of supported services, every caller but service-linked roles.
    rcp = bool(policies.rcp) and _action_service(request.action) in rcp_services
    return _Applicability(
        identity=signed_iam or federated_session,
        boundary=signed_iam or federated_session,
        session=t in (PrincipalType.ASSUMED_ROLE, PrincipalType.ROLE) or federated_session,
        scp=scp and not slr,
        rcp=rcp and not slr,
    )


# ---------------------------------------------------------------------------------------------
# The decision (§3, §4)


def _levels_result(levels: Sequence[SetResult]) -> Outcome:
    """SCP/RCP: explicit deny if any level denies; allowed only if every level allows."""
    if any(level.denies for level in levels):
        return Outcome.DENY
    return Outcome.ALLOW if all(level.allows for level in levels) else Outcome.NONE


@attrs.define
class _Evaluation:
    """The per-set results of one request, and the decision read off them."""

    policies: PolicySet
    request: Request
    ctx: Context
    applies: _Applicability
    identity: SetResult
    boundary: SetResult
    session: SetResult
    resource: SetResult
    scp: list[SetResult]
    rcp: list[SetResult]

    # -- components of §4.1 -------------------------------------------------------------------

    @property
    def has_boundary(self) -> bool:
        return self.applies.boundary and self.policies.boundary is not None

    @property
    def boundary_ok(self) -> bool:
        return not self.has_boundary or self.boundary.outcome is Outcome.ALLOW

    @property
    def session_ok(self) -> bool:
        caller = self.request.principal
        if not self.applies.session:
            return True  # not a session principal
        if not self.policies.session:
            # A role session without session policies keeps the role's permissions; a
            # GetFederationToken session without one has none (§6.3).
            return not caller.is_federated_user_session
        return self.session.outcome is Outcome.ALLOW

    @property
    def identity_allows(self) -> bool:
        return self.applies.identity and self.identity.outcome is Outcome.ALLOW

    @property
    def id_ok(self) -> bool:
        return self.identity_allows and self.boundary_ok and self.session_ok

    @property
    def role_trust(self) -> bool:
        return self.request.action.lower() in ROLE_TRUST_ACTIONS

    @property
    def trust_style_service(self) -> bool:
        if self.role_trust:
            return True
        return _action_service(self.request.action) == "kms" and self.policies.resource is not None

    def first_failing_identity_gate(self) -> str:
        """Which of identity / boundary / session stops `id_ok` (the set named in a denial)."""
        if not self.identity_allows:
            return "identity"
        if not self.boundary_ok:
            return "boundary"
        return "session"

    # -- §4.1 / §4.2 ---------------------------------------------------------------------------

    def same_account(self) -> tuple[bool, str]:
        """(allowed, deciding set if not) for a caller in the resource's account (§4.1)."""
        rbp = self.resource
        direct = rbp.has_allow(PrincipalClass.DIRECT)
        parent = rbp.has_allow(PrincipalClass.PARENT)
        account = rbp.has_allow(PrincipalClass.ACCOUNT)
        parent_ok = parent and self.boundary_ok and self.session_ok
        if self.role_trust:
            allowed = (direct and self.boundary_ok) or parent_ok or (account and self.id_ok)
        elif self.trust_style_service:
            allowed = direct or parent_ok or (account and self.id_ok)
        else:
            allowed = direct or parent_ok or self.id_ok
        if allowed:
            return True, ""
        # Name the gate that cut the strongest grant the resource policy made.
        if self.trust_style_service and not (direct or parent or account):
            return False, "resource"
        if (direct or parent) and not self.boundary_ok:
            return False, "boundary"
        if parent and not self.session_ok:
            return False, "session"
        return False, self.first_failing_identity_gate()

    def cross_account(self) -> tuple[bool, str]:
        """(allowed, deciding set if not): both the caller's side and the RBP must allow."""
        if not self.id_ok:
            return False, self.first_failing_identity_gate()
        if not self.resource.has_allow():
            return False, "resource"
        return True, ""

    def decide(self) -> tuple[Decision, str | None]:
        """§3 after the explicit-deny step: guardrails, then the grant paths."""
        caller = self.request.principal
        if self.applies.rcp and _levels_result(self.rcp) is not Outcome.ALLOW:
            return Decision.IMPLICIT_DENY, "rcp"
        if self.applies.scp and _levels_result(self.scp) is not Outcome.ALLOW:
            return Decision.IMPLICIT_DENY, "scp"
        if is_aws_managed_write(self.request.action, self.request.resource.arn):
            return Decision.IMPLICIT_DENY, "aws-managed"
        t = caller.type
        if t in (PrincipalType.ANONYMOUS, PrincipalType.SERVICE) or caller.is_identity_provider:
            return self._rbp_only()
        resource_account = self.request.resource.account
        same = caller.account is not None and caller.account == resource_account
        if t is PrincipalType.ROOT:
            if (same and not self.trust_style_service) or self.resource.has_allow():
                return Decision.ALLOWED, None
            return Decision.IMPLICIT_DENY, "resource"
        allowed, deciding = self.same_account() if same else self.cross_account()
        return (Decision.ALLOWED, None) if allowed else (Decision.IMPLICIT_DENY, deciding)

    def _rbp_only(self) -> tuple[Decision, str | None]:
        if self.resource.has_allow():
            return Decision.ALLOWED, None
        return Decision.IMPLICIT_DENY, "resource"

    # -- reporting -----------------------------------------------------------------------------

    def applicable_sets(self) -> list[tuple[str, list[SetResult]]]:
        """The sets that take part, in the explicit-deny order of §3."""
        out: list[tuple[str, list[SetResult]]] = []
        if self.applies.scp:
            out.append(("scp", self.scp))
        if self.applies.rcp:
            out.append(("rcp", self.rcp))
        if self.policies.resource is not None:
            out.append(("resource", [self.resource]))
        if self.applies.identity and self.policies.identity:
            out.append(("identity", [self.identity]))
        if self.has_boundary:
            out.append(("boundary", [self.boundary]))
        if self.applies.session and self.policies.session:
            out.append(("session", [self.session]))
        return out

    def details(self) -> dict[str, str | None]:
        details: dict[str, str | None] = dict.fromkeys(
            ("scp", "rcp", "boundary", "session", "resource", "identity")
        )
        for name, results in self.applicable_sets():
            outcome = _levels_result(results) if name in ("scp", "rcp") else results[0].outcome
            details[name] = outcome.value
        if self.applies.session and not self.policies.session and not self.session_ok:
            details["session"] = Outcome.NONE.value  # federated-user session without a policy
        return details

    def missing_keys(self) -> tuple[str, ...]:
        keys: set[str] = set()
        for _, results in self.applicable_sets():
            for result in results:
                keys |= result.missing_keys
        return tuple(sorted(keys))


def _hits_in_order(evaluation: _Evaluation, *, effect: Effect) -> tuple[MatchedStatement, ...]:
    """Applicable statements of `effect` from the applicable sets, in the policy set's order."""
    hits: list[Hit] = []
    for _, results in evaluation.applicable_sets():
        for result in results:
            hits.extend(result.denies if effect is Effect.DENY else result.allows)
    order = {id(named): i for i, named in enumerate(evaluation.policies.all_policies())}
    hits.sort(key=lambda h: (order.get(id(h.named), len(order)), h.index))
    return tuple(h.matched() for h in hits)


def evaluate(
    policies: PolicySet, request: Request, *, rcp_services: frozenset[str] = RCP_SERVICES
) -> EvaluationResult:
    """Decide one request against its policy sets (evaluation.md §3-§6).

    `missing_context_keys` are lower-cased condition keys (and policy-variable keys without a
    default) that statements whose Principal, Action and Resource matched referenced but the
    context lacked, from every set that applies to the request.
    """
    caller = request.principal
    ctx = derive_context(request)
    applies = _applicability(policies, request, ctx, rcp_services)

    if request.action.lower() == GET_CALLER_IDENTITY and _is_authenticated(caller):
        # Needs no permission and cannot be denied (§6.1).
        return EvaluationResult(Decision.ALLOWED, details=dict.fromkeys(_SET_NAMES))

    trap = _has_boundary_trap(caller, policies)
    resource = (policies.resource,) if policies.resource is not None else ()
    evaluation = _Evaluation(
        policies=policies,
        request=request,
        ctx=ctx,
        applies=applies,
        identity=evaluate_set(policies.identity, request, ctx),
        boundary=evaluate_set(
            (policies.boundary,) if policies.boundary is not None else (), request, ctx
        ),
        session=evaluate_set(policies.session, request, ctx),
        resource=evaluate_set(resource, request, ctx, with_principal=True, boundary_trap=trap),
        scp=[evaluate_set(level, request, ctx) for level in policies.scp],
        rcp=[evaluate_set(level, request, ctx, with_principal=True) for level in policies.rcp],
    )
    details = evaluation.details()
    missing = evaluation.missing_keys()

    # 1. An applicable Deny anywhere wins; the deciding set is the first in §3's order.
    for name, results in evaluation.applicable_sets():
        if any(result.denies for result in results):
            return EvaluationResult(
                Decision.EXPLICIT_DENY,
                matched_statements=_hits_in_order(evaluation, effect=Effect.DENY),
                missing_context_keys=missing,
                details=details,
                deciding_set=name,
            )

    # 2-3. Guardrails, then the grant paths.
    decision, deciding = evaluation.decide()
    matched = _hits_in_order(evaluation, effect=Effect.ALLOW) if deciding is None else ()
    return EvaluationResult(
        decision,
        matched_statements=matched,
        missing_context_keys=missing,
        details=details,
        deciding_set=deciding,
    )


_SET_NAMES = ("scp", "rcp", "boundary", "session", "resource", "identity")
