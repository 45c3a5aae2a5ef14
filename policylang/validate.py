"""Save-time rules per policy kind (policy-grammar §2.1, §3, §6-§9), on the IR.

`validate_policy` raises the first error in AWS's precedence order (§6): syntax (raised by the
front end) → element rules of the kind → Version → legacy parsing (Effect case, dates, 4-colon
ARNs) → Sid rules → actions present → resource formats → action formats → resources present →
size quota. `Limits` holds every quota of §9 so that none is hard-coded; it is the one quota
table of the project (the account model's `Quotas` is an alias of it).

Error codes (all `PolicyValidationError`):

| code | AWS message / meaning |
|---|---|
| `condition.unknown-operator` | (`PolicySyntaxError`) unknown operator with a non-empty body |
| `policy.invalid-character` | a character outside TAB, LF, CR, U+0020-U+00FF (IAM kinds) |
| `policy.principal-forbidden` | "Policy document should not specify a principal." |
| `policy.not-principal-forbidden` | NotPrincipal where the kind does not allow it |
| `policy.not-principal-allow` | NotPrincipal with Allow (resource policies: Deny only) |
| `policy.principal-required` | "Missing required field Principal" (trust, resource, RCP) |
| `policy.empty-principal` | "The passed in policy has a statement with no principals!" (trust) |
| `policy.resource-forbidden` | "Has prohibited field Resource" (trust policies) |
| `rcp.effect-allow` | RCP statements must be Deny (only `RCPFullAWSAccess` allows) |
| `rcp.principal-not-wildcard` | RCP Principal must be `"*"` |
| `rcp.not-action` | RCPs do not support NotAction |
| `rcp.action-wildcard` | an RCP cannot use `"*"` alone as its action |
| `policy.version-required` | "Policy document must be version 2012-10-17 or greater." |
| `policy.effect-case` | "The policy failed legacy parsing": Effect must be exactly Allow or Deny |
| `condition.invalid-date` | "The policy failed legacy parsing": a bad Date-operator value |
| `resource.legacy-arn` | "The policy failed legacy parsing": a 5-field ARN (`arn:aws:s3::b`) |
| `policy.duplicate-sid` | "Statement IDs (SID) in a single policy must be unique." |
| `policy.invalid-sid` | "Statement IDs (SID) must be alpha-numeric." |
| `policy.missing-action` | "Policy statement must contain actions." |
| `resource.not-arn` | 'Resource R must be in ARN format or "*".' |
| `resource.invalid-partition` | 'Partition "P" is not valid for resource "arn:P:…".' |
| `resource.invalid-vendor` | "Resource vendor must be fully qualified and cannot contain …" |
| `resource.iam-region` | "IAM resource R cannot contain region information." |
| `resource.s3-region` | "Resource R can not contain region information." |
| `resource.iam-path` | 'IAM resource path must either be "*" or start with user/, …' |
| `action.missing-vendor` | "Actions/Conditions must be prefaced by a vendor, e.g., iam, …" |
| `action.too-many-colons` | "Actions/Condition can contain only one colon." |
| `action.invalid-vendor` | "Vendor V is not valid" |
| `policy.missing-resource` | "Policy statement must contain resources." |
| `policy.size-exceeded` | "Cannot exceed quota for PolicySize: 6144" (and per-kind variants) |
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence

import attrs

from policylang.errors import PolicyLangError, PolicySyntaxError, PolicyValidationError
from policylang.ir import (
    ConditionValue,
    Effect,
    Policy,
    PolicyKind,
    Statement,
    ValueKind,
    Values,
)
from policylang.operators import Family, parse_operator, suggest_operator
from policylang.source import Source, Span

__all__ = [
    "IAM_RESOURCE_TYPES",
    "PARTITIONS",
    "Limits",
    "check_structure",
    "check_text",
    "iam_size",
    "is_valid_date",
    "policy_size",
    "validate_policy",
]

# Precedence stages (§6); the front end's syntax errors are stage 10.
STAGE_SYNTAX = 10
STAGE_ELEMENTS = 15
STAGE_VERSION = 20
STAGE_LEGACY = 30
STAGE_SID = 40
STAGE_ACTIONS_PRESENT = 50
STAGE_RESOURCE_FORMAT = 60
STAGE_ACTION_FORMAT = 70
STAGE_RESOURCES_PRESENT = 80
STAGE_SIZE = 100

PARTITIONS = frozenset(
    {"aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc"}
)
IAM_RESOURCE_TYPES = (
    "user/",
    "federated-user/",
    "role/",
    "group/",
    "instance-profile/",
    "mfa/",
    "server-certificate/",
    "policy/",
    "sms-mfa/",
    "saml-provider/",
    "oidc-provider/",
    "report/",
    "access-report/",
)
# S3 resources that legitimately carry a region (access points, Outposts, batch jobs, ...).
_S3_REGIONAL_PREFIXES = ("accesspoint/", "outpost/", "job/", "storage-lens/", "async-request/")

# Kinds validated by IAM itself (request character set, Sid charset).
_IAM_KINDS = frozenset(
    {PolicyKind.IDENTITY, PolicyKind.BOUNDARY, PolicyKind.TRUST, PolicyKind.SESSION}
)
# Kinds that must be written in the 2012-10-17 language.
_VERSION_REQUIRED = frozenset(
    {PolicyKind.IDENTITY, PolicyKind.BOUNDARY, PolicyKind.SCP, PolicyKind.RCP}
)
_NO_PRINCIPAL = frozenset(
    {PolicyKind.IDENTITY, PolicyKind.BOUNDARY, PolicyKind.SESSION, PolicyKind.SCP}
)
_RESOURCE_REQUIRED = frozenset(
    {
        PolicyKind.IDENTITY,
        PolicyKind.BOUNDARY,
        PolicyKind.SESSION,
        PolicyKind.SCP,
        PolicyKind.RCP,
    }
)


@attrs.frozen
class Limits:
    """Every quota of policy-grammar §9 (2023 documentation defaults); all configurable.

    The single source of truth for quotas: the JSON/DSL front ends' save-time validation and
    the account model (`policylang.account.Quotas` is this class) both read it.
    """

    managed_policy_size: int = 6144
    user_inline_policies_size: int = 2048
    group_inline_policies_size: int = 5120
    role_inline_policies_size: int = 10240
    trust_policy_size: int = 2048
    scp_size: int = 5120
    rcp_size: int = 5120
    session_policy_size: int = 2048
    session_policy_arns: int = 10
    scps_per_target: int = 5
    rcps_per_target: int = 5
    managed_policies_per_user: int = 10
    managed_policies_per_role: int = 10
    managed_policies_per_group: int = 10
    groups_per_user: int = 10
    boundaries_per_entity: int = 1
    versions_per_managed_policy: int = 5
    managed_policies_per_account: int = 1500
    roles_per_account: int = 1000
    users_per_account: int = 5000
    groups_per_account: int = 300
    instance_profiles_per_account: int = 1000
    roles_per_instance_profile: int = 1
    policy_name_length: int = 128
    user_name_length: int = 64
    role_name_length: int = 64
    group_name_length: int = 128
    instance_profile_name_length: int = 128
    path_length: int = 512
    tags_per_entity: int = 50
    tag_key_length: int = 128
    tag_value_length: int = 256
    org_ou_depth: int = 5
    request_policy_length: int = 131072

    @classmethod
    def maximum(cls) -> Limits:
        """Every adjustable quota at its documented maximum: what a real dump may have used."""
        # Newer sources' maxima (§9 "later sources report"): a dump is evidence AWS accepted it.
        return cls(
            trust_policy_size=8192,
            managed_policies_per_user=20,
            managed_policies_per_role=25,
            groups_per_account=500,
            roles_per_account=10000,
            instance_profiles_per_account=5000,
            managed_policies_per_account=10000,
        )

    def size_limit(self, kind: PolicyKind) -> int | None:
        """The document-size quota of one policy of `kind` (None: service-defined)."""
        return {
            PolicyKind.IDENTITY: self.managed_policy_size,
            PolicyKind.BOUNDARY: self.managed_policy_size,
            PolicyKind.TRUST: self.trust_policy_size,
            PolicyKind.SESSION: self.session_policy_size,
            PolicyKind.SCP: self.scp_size,
            PolicyKind.RCP: self.rcp_size,
        }.get(kind)


_DEFAULT_LIMITS = Limits()

# --------------------------------------------------------------------------- sizes

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_WHITESPACE = " \t\n\r"


def iam_size(text: str) -> int:
    """IAM's size: characters, not counting whitespace outside string literals (§9)."""
    # All whitespace minus the whitespace inside strings, counted at C speed.
    total = sum(text.count(ch) for ch in _WHITESPACE)
    if not total:
        return len(text)
    if "\\" in text:
        inside = "".join(_STRING.findall(text))
    else:
        # PERF: without backslashes no quote is escaped, so strings are exactly the text between
        # quote pairs; splitting is several times faster than the regex (the account model sizes
        # every document it stores). An unpaired last quote opens no string, as with the regex.
        parts = text.split('"')
        inside = "".join(parts[1 : len(parts) - 1 : 2])
    quoted = sum(inside.count(ch) for ch in _WHITESPACE)
    return len(text) - (total - quoted)


def policy_size(text: str, kind: PolicyKind) -> int:
    """The size that counts against `kind`'s quota: Organizations counts every character."""
    if kind in (PolicyKind.SCP, PolicyKind.RCP):
        return len(text)
    return iam_size(text)


# --------------------------------------------------------------------------- errors


class _Context:
    """What an error needs: the policy's source and the path prefix."""

    def __init__(self, policy: Policy, path: str) -> None:
        self.policy = policy
        self.source: Source | None = policy.source
        self.path = path
        self.version_span: Span | None = None

    def error(
        self, message: str, code: str, span: Span | None, path: str, hint: str | None = None
    ) -> PolicyValidationError:
        full = path
        if self.path:
            full = self.path + path if path.startswith("[") or not path else f"{self.path}.{path}"
        return PolicyValidationError(
            message, code=code, span=span, source=self.source, path=full or None, hint=hint
        )

    def statement_path(self, index: int) -> str:
        return f"Statement[{index}]" if self.policy.statement_is_list else "Statement"


def _item_path(base: str, values: Values, index: int) -> str:
    return f"{base}[{index}]" if values.is_list else base


def _item_span(values: Values, index: int, fallback: Span | None) -> Span | None:
    if index < len(values.item_spans) and values.item_spans[index] is not None:
        return values.item_spans[index]
    return values.span or fallback


# --------------------------------------------------------------------------- entry points


def check_text(
    text: str,
    kind: PolicyKind,
    *,
    source: Source | None = None,
    path: str = "",
    offset: int = 0,
) -> None:
    """Request-level checks on the raw text (before parsing): IAM's character set (§1.2).

    `offset` is where `text` starts inside `source.text` (for a policy embedded in a case).
    """
    if kind not in _IAM_KINDS:
        return
    match = _BAD_CHARACTER.search(text)
    if match is None:
        return
    at = offset + match.start()
    char = match.group()
    span = None
    if source is not None and source.text[at : at + 1] == char:
        span = source.span(at, at + 1)
    raise PolicyValidationError(
        f"character U+{ord(char):04X} is not allowed in an IAM policy document",
        code="policy.invalid-character",
        span=span,
        source=source,
        path=path or None,
        hint="IAM accepts only TAB, LF, CR and characters U+0020 to U+00FF",
    )


_BAD_CHARACTER = re.compile("[^\t\n\r\u0020-\u00ff]")


def check_structure(
    policy: Policy,
    *,
    pending: Sequence[tuple[int, PolicyLangError]] = (),
    path: str = "",
) -> None:
    """The checks every policy needs to be evaluated at all (kind=None)."""
    ctx = _Context(policy, path)
    _check_operators(ctx)
    for _stage, error in sorted(pending, key=lambda item: item[0]):
        raise error
    _check_actions_present(ctx)


def validate_policy(
    policy: Policy,
    kind: PolicyKind,
    *,
    text: str | None = None,
    limits: Limits | None = None,
    pending: Sequence[tuple[int, PolicyLangError]] = (),
    path: str = "",
    version_span: Span | None = None,
) -> None:
    """Raise the first save-time error of `policy` as a `kind` policy, in AWS's order.

    `text` (the document as written) enables the size quota; `pending` are errors the front end
    found but that AWS reports at a later stage (e.g. a wrong-case Effect); `version_span`
    locates the Version value (the IR keeps no span for it).
    """
    limits = limits or _DEFAULT_LIMITS
    ctx = _Context(policy, path)
    ctx.version_span = version_span
    stages: list[tuple[int, Callable[[_Context, PolicyKind], None]]] = [
        (STAGE_SYNTAX, lambda c, k: _check_operators(c)),
        (STAGE_ELEMENTS, _check_elements),
        (STAGE_VERSION, _check_version),
        (STAGE_LEGACY, _check_legacy),
        (STAGE_SID, _check_sids),
        (STAGE_ACTIONS_PRESENT, lambda c, k: _check_actions_present(c)),
        (STAGE_RESOURCE_FORMAT, _check_resource_formats),
        (STAGE_ACTION_FORMAT, lambda c, k: _check_action_formats(c)),
        (STAGE_RESOURCES_PRESENT, _check_resources_present),
    ]
    waiting = sorted(pending, key=lambda item: item[0])
    for stage, check in stages:
        for pending_stage, error in waiting:
            if pending_stage <= stage:
                raise error
        check(ctx, kind)
    for _stage, error in waiting:
        raise error
    if text is not None:
        _check_size(ctx, kind, text, limits)




# --------------------------------------------------------------------------- stage 10: operators


def _check_operators(ctx: _Context) -> None:
    """Unknown operator names with a non-empty body (the JSON front end checks this while
    parsing; IR built another way, e.g. from the DSL, is checked here)."""
    for index, statement in enumerate(ctx.policy.statements):
        for clause in statement.condition or ():
            if clause.entries and parse_operator(clause.operator) is None:
                guess = suggest_operator(clause.operator)
                raise PolicySyntaxError(
                    f'unknown condition operator "{clause.operator}"',
                    code="condition.unknown-operator",
                    span=clause.span or statement.span,
                    source=ctx.source,
                    path=_prefix(ctx.path, f"{ctx.statement_path(index)}.Condition"),
                    hint=f'did you mean "{guess}"?' if guess else None,
                )


def _prefix(base: str, path: str) -> str:
    if not base or not path:
        return base or path
    return base + path if path.startswith("[") else f"{base}.{path}"


# --------------------------------------------------------------------------- stage 15: elements


def _check_elements(ctx: _Context, kind: PolicyKind) -> None:
    for index, statement in enumerate(ctx.policy.statements):
        where = ctx.statement_path(index)
        principal = statement.principal
        if principal is not None and principal.negated:
            if kind is not PolicyKind.RESOURCE:
                raise ctx.error(
                    f"NotPrincipal is not allowed in {_kind_name(kind)}",
                    "policy.not-principal-forbidden",
                    principal.span or statement.span,
                    f"{where}.NotPrincipal",
                    hint="use Principal with a condition on aws:PrincipalArn instead",
                )
            if statement.effect is Effect.ALLOW:
                raise ctx.error(
                    "NotPrincipal can only be used with Effect Deny",
                    "policy.not-principal-allow",
                    principal.span or statement.span,
                    f"{where}.NotPrincipal",
                    hint="AWS does not support NotPrincipal with Allow",
                )
        if principal is not None and kind in _NO_PRINCIPAL:
            raise ctx.error(
                "Policy document should not specify a principal.",
                "policy.principal-forbidden",
                principal.span or statement.span,
                f"{where}.Principal",
                hint=f"{_kind_name(kind)} apply to the principal they are attached to; "
                "remove Principal",
            )
        if principal is None and kind in (PolicyKind.TRUST, PolicyKind.RESOURCE, PolicyKind.RCP):
            raise ctx.error(
                "Missing required field Principal",
                "policy.principal-required",
                statement.span,
                where,
                hint='add a Principal, e.g. "Principal": {"AWS": "arn:aws:iam::111122223333:root"}'
                if kind is not PolicyKind.RCP
                else 'RCP statements use "Principal": "*"',
            )
        if (
            kind is PolicyKind.TRUST
            and principal is not None
            and not principal.is_wildcard
            and not any(entry.values.items for entry in principal.entries)
        ):
            raise ctx.error(
                "Invalid principal in policy: the statement has no principals",
                "policy.empty-principal",
                principal.span or statement.span,
                f"{where}.Principal",
                hint="name at least one principal",
            )
        if kind is PolicyKind.TRUST and statement.resource is not None:
            name = "NotResource" if statement.resource.negated else "Resource"
            raise ctx.error(
                f"Has prohibited field {name}",
                "policy.resource-forbidden",
                statement.resource.span or statement.span,
                f"{where}.{name}",
                hint="a trust policy's resource is the role itself; remove the element",
            )
        if kind is PolicyKind.RCP:
            _check_rcp_statement(ctx, statement, where)


def _check_rcp_statement(ctx: _Context, statement: Statement, where: str) -> None:
    full_access = _is_rcp_full_access(statement)
    if statement.effect is Effect.ALLOW and not full_access:
        raise ctx.error(
            "resource control policy statements must have Effect Deny",
            "rcp.effect-allow",
            statement.span,
            f"{where}.Effect",
            hint="only the AWS-managed RCPFullAWSAccess policy uses Allow",
        )
    principal = statement.principal
    if principal is not None and not principal.is_wildcard:
        raise ctx.error(
            'the Principal of a resource control policy must be "*"',
            "rcp.principal-not-wildcard",
            principal.span or statement.span,
            f"{where}.Principal",
            hint='write "Principal": "*" and narrow with conditions such as aws:PrincipalArn',
        )
    if statement.action.negated:
        raise ctx.error(
            "resource control policies do not support NotAction",
            "rcp.not-action",
            statement.action.span or statement.span,
            f"{where}.NotAction",
            hint="list the denied actions in Action",
        )
    if "*" in statement.action.values.items and not full_access:
        raise ctx.error(
            'a resource control policy cannot use "*" as an action',
            "rcp.action-wildcard",
            statement.action.span or statement.span,
            f"{where}.Action",
            hint='name services, e.g. "s3:*"',
        )


def _is_rcp_full_access(statement: Statement) -> bool:
    """The shape of the AWS-managed RCPFullAWSAccess statement."""
    return (
        statement.effect is Effect.ALLOW
        and statement.principal is not None
        and statement.principal.is_wildcard
        and not statement.action.negated
        and statement.action.values.items == ("*",)
        and statement.resource is not None
        and not statement.resource.negated
        and statement.resource.values.items == ("*",)
        and not statement.condition
    )


def _kind_name(kind: PolicyKind) -> str:
    return {
        PolicyKind.IDENTITY: "identity policies",
        PolicyKind.BOUNDARY: "permissions boundaries",
        PolicyKind.SESSION: "session policies",
        PolicyKind.SCP: "service control policies",
        PolicyKind.RCP: "resource control policies",
        PolicyKind.TRUST: "role trust policies",
        PolicyKind.RESOURCE: "resource policies",
    }[kind]


# --------------------------------------------------------------------------- stage 20: version


def _check_version(ctx: _Context, kind: PolicyKind) -> None:
    if kind in _VERSION_REQUIRED and ctx.policy.version != "2012-10-17":
        found = "no Version" if ctx.policy.version is None else f"Version {ctx.policy.version}"
        raise ctx.error(
            "Policy document must be version 2012-10-17 or greater.",
            "policy.version-required",
            (ctx.version_span or ctx.policy.span) if ctx.policy.version else ctx.policy.span,
            "Version",
            hint=f'the document has {found}; add "Version": "2012-10-17"',
        )


# --------------------------------------------------------------------------- stage 30: legacy


def _check_legacy(ctx: _Context, kind: PolicyKind) -> None:
    for index, statement in enumerate(ctx.policy.statements):
        where = ctx.statement_path(index)
        for clause in statement.condition or ():
            operator = parse_operator(clause.operator)
            if operator is None or operator.family is not Family.DATE:
                continue
            for entry in clause.entries:
                for position, value in enumerate(entry.values):
                    if not _is_valid_date_value(value):
                        path = f"{where}.Condition.{clause.operator}.{entry.key}"
                        if entry.is_list:
                            path += f"[{position}]"
                        raise ctx.error(
                            f'"{value.text}" is not a valid date for {clause.operator}',
                            "condition.invalid-date",
                            value.span or entry.span or statement.span,
                            path,
                            hint="use ISO 8601 (2024-01-31T12:00:00Z) or epoch seconds",
                        )
        resource = statement.resource
        if resource is None:
            continue
        name = "NotResource" if resource.negated else "Resource"
        for position, text in enumerate(resource.values.items):
            fields = text.split(":")
            if len(fields) == 5 and not fields[4].endswith("*"):
                raise ctx.error(
                    f'resource "{text}" has 5 colon-separated fields; an ARN has 6',
                    "resource.legacy-arn",
                    _item_span(resource.values, position, statement.span),
                    _item_path(f"{where}.{name}", resource.values, position),
                    hint="the region and account fields may be empty but must be present, "
                    "e.g. arn:aws:s3:::bucket",
                )


def _is_valid_date_value(value: ConditionValue) -> bool:
    if value.kind is ValueKind.BOOLEAN:
        return False
    return is_valid_date(value.text)


_ISO_DATE = re.compile(
    r"""(?P<year>[+-]?[0-9]+)
    (?:-(?P<month>[0-9]{1,2})
      (?:-(?P<day>[0-9]{1,2})
        (?:[Tt](?P<hour>[0-9]{1,2}):(?P<minute>[0-9]{1,2})
          (?::(?P<second>[0-9]{1,2})(?:\.(?P<fraction>[0-9]{1,9}))?)?
          (?P<zone>[Zz]|[+-][0-9]{2}(?::?[0-9]{2})?)?
        )?
      )?
    )?\Z""",
    re.VERBOSE,
)
_MAX_EPOCH = 2**63 - 1


def is_valid_date(text: str) -> bool:
    """IAM's save-time date check (conditions.md §4.3): ISO 8601 profile or epoch seconds."""
    if "T" in text or "t" in text or "-" in text[1:] or (text[:1] == "-" and len(text) > 1):
        match = _ISO_DATE.match(text)
        if match is None:
            return False
        year = int(match["year"])
        if not -292275054 <= year <= 292278993:
            return False
        checks = (
            ("month", 1, 12),
            ("day", 1, 31),
            ("hour", 0, 23),
            ("minute", 0, 59),
            ("second", 0, 59),
        )
        for name, low, high in checks:
            part = match[name]
            if part is not None and not low <= int(part) <= high:
                return False
        return True
    if not text.isascii() or not text.isdigit():
        return False
    return int(text) <= _MAX_EPOCH


# --------------------------------------------------------------------------- stage 40: Sid


_SID = re.compile(r"[0-9A-Za-z]*\Z")


def _check_sids(ctx: _Context, kind: PolicyKind) -> None:
    seen: set[str] = set()
    for index, statement in enumerate(ctx.policy.statements):
        sid = statement.sid
        if sid is None:
            continue
        where = f"{ctx.statement_path(index)}.Sid"
        if sid and sid in seen:
            raise ctx.error(
                "Statement IDs (SID) in a single policy must be unique.",
                "policy.duplicate-sid",
                statement.span,
                where,
                hint=f'another statement already has Sid "{sid}"; rename one of them',
            )
        seen.add(sid)
        if kind in _IAM_KINDS and _SID.match(sid) is None:
            raise ctx.error(
                "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies "
                "the regular expression [0-9A-Za-z]*",
                "policy.invalid-sid",
                statement.span,
                where,
                hint="remove spaces, hyphens and underscores from the Sid",
            )


# --------------------------------------------------------------------------- stage 50: actions


def _check_actions_present(ctx: _Context) -> None:
    for index, statement in enumerate(ctx.policy.statements):
        if not statement.action.values.items:
            raise ctx.error(
                "Policy statement must contain actions.",
                "policy.missing-action",
                statement.action.span or statement.span,
                ctx.statement_path(index),
                hint='add "Action": ["service:Operation", ...] (or NotAction)',
            )


# --------------------------------------------------------------------------- stage 60: resources


def _check_resource_formats(ctx: _Context, kind: PolicyKind) -> None:
    for index, statement in enumerate(ctx.policy.statements):
        resource = statement.resource
        if resource is None:
            continue
        name = "NotResource" if resource.negated else "Resource"
        values = resource.values
        # AWS (as recorded by moto) checks a list's resources in reverse lexicographic order.
        order = sorted(range(len(values.items)), key=lambda i: values.items[i], reverse=True)
        for position in order:
            problem = resource_problem(values.items[position])
            if problem is not None:
                code, message, hint = problem
                raise ctx.error(
                    message,
                    code,
                    _item_span(values, position, statement.span),
                    _item_path(f"{ctx.statement_path(index)}.{name}", values, position),
                    hint,
                )


@functools.lru_cache(maxsize=65536)  # account dumps repeat the same ARNs many times
def resource_problem(text: str) -> tuple[str, str, str] | None:
    """(code, AWS message, hint) for an invalid Resource value (§3.4), else None."""
    if text == "*":
        return None
    if ":" not in text:
        return (
            "resource.not-arn",
            f'Resource {text} must be in ARN format or "*".',
            'write an ARN such as arn:aws:s3:::bucket/* or "*"',
        )
    fields = text.split(":", 5)
    shown = ["arn", *fields[1:], *(["*"] * (6 - len(fields)))]
    partition = fields[1]
    if partition not in PARTITIONS:
        return (
            "resource.invalid-partition",
            f'Partition "{partition}" is not valid for resource "{":".join(shown[:6])}".',
            f"known partitions: {', '.join(sorted(PARTITIONS))}",
        )
    if len(fields) < 3 or not fields[2] or "*" in fields[2] or "?" in fields[2]:
        return (
            "resource.invalid-vendor",
            "Resource vendor must be fully qualified and cannot contain regexes.",
            "the third field names the service, e.g. arn:aws:s3:::bucket (no wildcards)",
        )
    if fields[0] != "arn":
        return (
            "resource.not-arn",
            f'Resource {text} must be in ARN format or "*".',
            "an ARN starts with arn:",
        )
    service = fields[2].lower()
    region = fields[3] if len(fields) > 3 else ""
    resource = fields[5] if len(fields) > 5 else None
    if service == "iam" and region:
        return (
            "resource.iam-region",
            f"IAM resource {text} cannot contain region information.",
            "IAM is global: leave the region field empty, e.g. arn:aws:iam::123456789012:role/x",
        )
    if (
        service == "s3"
        and region
        and resource is not None
        and not resource.startswith(_S3_REGIONAL_PREFIXES)
        and not resource.startswith("*")
    ):
        return (
            "resource.s3-region",
            f"Resource {text} can not contain region information.",
            "bucket and object ARNs have empty region and account: arn:aws:s3:::bucket/key",
        )
    if (
        service == "iam"
        and resource is not None
        and resource != "*"
        and not resource.startswith(IAM_RESOURCE_TYPES)
    ):
        return (
            "resource.iam-path",
            'IAM resource path must either be "*" or start with '
            + ", ".join(IAM_RESOURCE_TYPES)
            + ".",
            "e.g. arn:aws:iam::123456789012:role/name (no wildcard in the type)",
        )
    return None


# --------------------------------------------------------------------------- stage 70: actions

_VENDOR = re.compile(r"[A-Za-z0-9.-]+\Z")


@functools.lru_cache(maxsize=65536)
def action_problem(text: str) -> tuple[str, str, str] | None:
    """(code, AWS message, hint) for an invalid Action value (§3.3), else None."""
    if text == "*":
        return None
    colons = text.count(":")
    if colons == 0:
        return (
            "action.missing-vendor",
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
            'write service:Action, e.g. "s3:GetObject", or "*"',
        )
    if colons > 1:
        return (
            "action.too-many-colons",
            "Actions/Condition can contain only one colon.",
            "list each action as its own string",
        )
    vendor = text.split(":", 1)[0]
    if _VENDOR.match(vendor) is None:
        return (
            "action.invalid-vendor",
            f"Vendor {vendor} is not valid",
            "the service prefix may use letters, digits, '.' and '-' (no wildcards)",
        )
    return None


def _check_action_formats(ctx: _Context) -> None:
    for index, statement in enumerate(ctx.policy.statements):
        action = statement.action
        name = "NotAction" if action.negated else "Action"
        for position, text in enumerate(action.values.items):
            problem = action_problem(text)
            if problem is not None:
                code, message, hint = problem
                raise ctx.error(
                    message,
                    code,
                    _item_span(action.values, position, statement.span),
                    _item_path(f"{ctx.statement_path(index)}.{name}", action.values, position),
                    hint,
                )


# --------------------------------------------------------------------------- stage 80


def _check_resources_present(ctx: _Context, kind: PolicyKind) -> None:
    if kind not in _RESOURCE_REQUIRED:
        return
    for index, statement in enumerate(ctx.policy.statements):
        if statement.resource is None or not statement.resource.values.items:
            raise ctx.error(
                "Policy statement must contain resources.",
                "policy.missing-resource",
                (statement.resource.span if statement.resource else None) or statement.span,
                ctx.statement_path(index),
                hint='add "Resource": "arn:..." or "Resource": "*"',
            )


# --------------------------------------------------------------------------- size


def _check_size(ctx: _Context, kind: PolicyKind, text: str, limits: Limits) -> None:
    limit = limits.size_limit(kind)
    if limit is None:
        return
    size = policy_size(text, kind)
    if size <= limit:
        return
    quota = {
        PolicyKind.TRUST: "ACLSizePerRole",
        PolicyKind.SCP: "PolicyContentLimit",
        PolicyKind.RCP: "PolicyContentLimit",
        PolicyKind.SESSION: "SessionPolicySize",
    }.get(kind, "PolicySize")
    counting = (
        "every character counts, including whitespace"
        if kind in (PolicyKind.SCP, PolicyKind.RCP)
        else "whitespace outside strings does not count"
    )
    raise ctx.error(
        f"Cannot exceed quota for {quota}: {limit} (the document has {size} characters)",
        "policy.size-exceeded",
        ctx.policy.span,
        "",
        hint=f"shorten the policy ({counting}); wildcards and fewer statements help",
    )
