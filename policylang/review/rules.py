"""The review rules: `review_policy(policy, ...)` → findings (catalogue in `findings.py`).

Every rule reads the IR only. The coverage proofs behind PL501/PL502 are conservative: a
statement is reported only when the covering statement provably matches every request it
matches (same effect, action and resource patterns covered by a sound test, no conditions or
equal conditions, equal or wider principal); anything the test cannot prove is not reported.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Sequence

import attrs

from policylang import _json
from policylang.errors import PolicyLangError
from policylang.grammar.ir_to_json import format_iam_json, policy_to_value
from policylang.ir import (
    ActionSpec,
    ConditionClause,
    ConditionEntry,
    ConditionValue,
    Effect,
    Policy,
    PolicyKind,
    PrincipalEntry,
    PrincipalSpec,
    ResourceSpec,
    Statement,
    Values,
)
from policylang.operators import Family, Operator, SetQualifier, parse_operator
from policylang.patterns import match_action, match_resource
from policylang.review import catalogue as cat
from policylang.review.findings import RULES, Finding, Fix, Severity
from policylang.review.known import Catalogue, load_catalogue, unknown_names

__all__ = ["DSL_AVAILABLE", "granted_launch_actions", "infer_kind", "review_policy"]

try:  # the DSL formatter is optional: fixes are rendered in JSON only without it
    from policylang.grammar.ir_to_dsl import format_dsl as _format_dsl

    DSL_AVAILABLE = True
except ImportError:  # pragma: no cover - depends on the tree
    DSL_AVAILABLE = False

_TRUST_ACTIONS = ("sts:assumerole", "sts:assumerolewithsaml", "sts:assumerolewithwebidentity",
                  "sts:tagsession", "sts:setsourceidentity", "sts:setcontext")
_ACCOUNT_IN_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):")
_ACCOUNT_ID = re.compile(r"^\d{12}$")
_TYPED_WILDCARD = re.compile(r"^[A-Za-z0-9-]+[/:]\*$")
_PRIVILEGE_KINDS = frozenset({PolicyKind.IDENTITY, PolicyKind.SESSION, PolicyKind.RESOURCE})


# --------------------------------------------------------------------------------------------
# Pattern facts


def _has_wild(text: str) -> bool:
    return "*" in text or "?" in text


def action_covers(a: str, b: str) -> bool:
    """Does action pattern `a` match every action that pattern `b` matches? (sound, partial)"""
    al, bl = a.lower(), b.lower()
    if a == "*" or al == bl:
        return True
    if not _has_wild(b):
        return match_action(a, b)
    if b == "*":
        return False
    prefix = al[:-1]
    return al.endswith("*") and ":" in prefix and not _has_wild(prefix) and bl.startswith(prefix)


def resource_covers(a: str, b: str) -> bool:
    """Does Resource pattern `a` match every ARN that pattern `b` matches? (sound, partial)"""
    if a == "*" or a == b:
        return True
    if b == "*" or "${" in a:
        return False
    if not _has_wild(b) and "${" not in b:
        return match_resource(a, b)
    prefix = a[:-1]
    # A trailing `*` inside the resource field (five colons before it) matches any suffix.
    return (
        a.endswith("*")
        and not _has_wild(prefix)
        and prefix.count(":") >= 5
        and b.startswith(prefix)
    )


def _all_covered(
    big: Sequence[str], small: Sequence[str], covers: Callable[[str, str], bool]
) -> bool:
    return all(any(covers(a, b) for a in big) for b in small)


def is_any_resource(pattern: str) -> bool:
    """`*`, or an ARN whose resource part is only wildcards or `type/*` (every resource of a
    service or of a resource type), e.g. `arn:aws:s3:::*`, `arn:aws:iam::*:user/*`."""
    if pattern == "*":
        return True
    fields = pattern.split(":", 5)
    if len(fields) < 6:
        return False
    res = fields[5]
    if res.strip("*/?") == "":
        return True
    return fields[2].lower() != "s3" and bool(_TYPED_WILDCARD.match(res))


def _applies(pattern: str, action: str) -> bool:
    """Can Resource pattern `pattern` name a resource of `action`'s service? (`*`, a
    non-ARN or a wildcard service: yes; otherwise the ARN's service must be one the action's
    resources live in, e.g. `sts:AssumeRole` on `iam` role ARNs.)"""
    fields = pattern.split(":", 5)
    if pattern == "*" or len(fields) < 6 or _has_wild(fields[2]):
        return True
    service = action.split(":", 1)[0].lower()
    return fields[2].lower() in cat.RESOURCE_SERVICES.get(service, (service,))


def _reaches(s: Statement, action: str) -> bool:
    """Does some Resource of `s` apply to `action`'s service (NotResource: assume so)?"""
    if s.resource is None or s.resource.negated:
        return True
    return any(_applies(r, action) for r in s.resource.values.items)


def grants(statement: Statement, action: str) -> bool:
    """Does the statement's Action/NotAction cover the concrete `action`?"""
    return _grants(statement.action.values.items, statement.action.negated, action)


@functools.lru_cache(maxsize=1 << 18)
def _grants(patterns: tuple[str, ...], negated: bool, action: str) -> bool:
    # PERF: the rules ask about the same ~80 catalogue actions for every statement, and large
    # accounts repeat the same Action lists in thousands of policies.
    hit = any(match_action(p, action) for p in patterns)
    return hit != negated


_Entry = tuple[int, int, Operator | None, ConditionEntry]


def _cond_entries(statement: Statement) -> Iterable[_Entry]:
    for ci, clause in enumerate(statement.condition or ()):
        op = parse_operator(clause.operator)
        for ei, entry in enumerate(clause.entries):
            yield ci, ei, op, entry


def _scoping_keys(statement: Statement) -> set[str]:
    """Keys used in positive, non-IfExists, non-ForAllValues operators: they restrict."""
    keys: set[str] = set()
    for _ci, _ei, op, entry in _cond_entries(statement):
        if op is None or op.negated or op.if_exists or op.family is Family.NULL:
            continue
        if op.qualifier is SetQualifier.FOR_ALL_VALUES:
            continue
        if all(v.text == "*" for v in entry.values) and op.base.endswith("Like"):
            continue
        keys.add(entry.key.lower())
    return keys


def _cond_signature(statement: Statement) -> frozenset[tuple[str, str, tuple[str, ...]]]:
    return frozenset(
        (clause.operator, entry.key.lower(), tuple(v.text for v in entry.values))
        for clause in statement.condition or ()
        for entry in clause.entries
    )


def _principal_values(spec: PrincipalSpec | None, kind: str) -> list[str]:
    if spec is None:
        return []
    return [v for e in spec.entries if e.kind == kind for v in e.values.items]


def _is_public(spec: PrincipalSpec | None) -> bool:
    if spec is None or spec.negated:
        return False
    return spec.is_wildcard or "*" in _principal_values(spec, "AWS")


def _account_of(principal: str) -> str | None:
    if _ACCOUNT_ID.match(principal):
        return principal
    m = _ACCOUNT_IN_ARN.match(principal)
    return m.group(1) if m else None


def infer_kind(policy: Policy) -> PolicyKind:
    """Identity without principals; trust when every action is an sts:Assume*; else resource."""
    if not any(s.principal is not None for s in policy.statements):
        return PolicyKind.IDENTITY
    for s in policy.statements:
        if s.action.negated:
            return PolicyKind.RESOURCE
        for a in s.action.values.items:
            if a.lower() not in _TRUST_ACTIONS:
                return PolicyKind.RESOURCE
    return PolicyKind.TRUST


# --------------------------------------------------------------------------------------------
# IR edits for fixes


def _values(*items: str) -> Values:
    return Values(tuple(items), is_list=len(items) != 1)


def _with_resource(statement: Statement, *items: str) -> Statement:
    return attrs.evolve(statement, resource=ResourceSpec(_values(*items)))


def _add_condition(statement: Statement, operator: str, key: str, *values: str) -> Statement:
    entry = ConditionEntry(key, tuple(ConditionValue(v) for v in values), is_list=len(values) > 1)
    clauses = list(statement.condition or ())
    for i, clause in enumerate(clauses):
        if clause.operator == operator:
            kept = tuple(e for e in clause.entries if e.key.lower() != key.lower())
            clauses[i] = ConditionClause(operator, (*kept, entry))
            break
    else:
        clauses.append(ConditionClause(operator, (entry,)))
    return attrs.evolve(statement, condition=tuple(clauses))


def _move_entry(statement: Statement, ci: int, ei: int, operator: str) -> Statement:
    """Move condition entry (ci, ei) under `operator` (e.g. Bool → BoolIfExists)."""
    clauses = list(statement.condition or ())
    clause = clauses[ci]
    entry = clause.entries[ei]
    rest = clause.entries[:ei] + clause.entries[ei + 1 :]
    if rest:
        clauses[ci] = ConditionClause(clause.operator, rest)
    else:
        del clauses[ci]
    moved = attrs.evolve(statement, condition=tuple(clauses))
    return _add_condition(moved, operator, entry.key, *(v.text for v in entry.values))


def render_statement(statement: Statement) -> tuple[str, str | None]:
    """(JSON, DSL) text of one statement."""
    policy = Policy((statement,))
    text = _json.dumps(policy_to_value(policy)["Statement"][0], pretty=True)
    return text, _dsl(policy)


def _dsl(policy: Policy) -> str | None:
    if not DSL_AVAILABLE:
        return None
    try:
        return _format_dsl(policy).rstrip("\n")
    except (PolicyLangError, NotImplementedError, ValueError):
        return None


def _fix(description: str, statement: Statement) -> Fix:
    text, dsl = render_statement(statement)
    return Fix(description, text, dsl)


def _delete_fix(description: str, policy: Policy, index: int) -> Fix:
    rest = policy.statements[:index] + policy.statements[index + 1 :]
    if not rest:
        return Fix(description, None, None, edit="delete-statement")
    remaining = attrs.evolve(policy, statements=rest)
    return Fix(description, format_iam_json(remaining), _dsl(remaining), edit="delete-statement")


# --------------------------------------------------------------------------------------------
# The reviewer


@attrs.define
class _Review:
    policy: Policy
    kind: PolicyKind
    file: str
    label: str | None
    principals: tuple[str, ...]
    own_accounts: frozenset[str]
    launch_elsewhere: tuple[str, ...] = ()
    launch_here: set[str] = attrs.Factory(set)
    found: list[Finding] = attrs.Factory(list)
    catalogue: Catalogue | None = None

    def add(
        self,
        code: str,
        index: int,
        message: str,
        *,
        severity: Severity | None = None,
        fix: Fix | None = None,
    ) -> None:
        statement = self.policy.statements[index]
        span = statement.span
        self.found.append(
            Finding(
                code=code,
                severity=severity or RULES[code].severity,
                message=message,
                file=self.file,
                line=span.line if span else None,
                column=span.column if span else None,
                end_line=span.end_line if span else None,
                end_column=span.end_column if span else None,
                statement_index=index,
                sid=statement.sid,
                policy=self.label,
                principals=self.principals,
                fix=fix,
            )
        )

    # ---------------------------------------------------------------- helpers

    def _resources(self, s: Statement) -> tuple[str, ...]:
        return s.resource.values.items if s.resource is not None else ()

    def _other_accounts(self, accounts: Iterable[str]) -> list[str]:
        own = self.own_accounts or self._accounts_in_resources()
        return sorted({a for a in accounts if a not in own})

    def _accounts_in_resources(self) -> frozenset[str]:
        found: set[str] = set()
        for s in self.policy.statements:
            for r in self._resources(s):
                fields = r.split(":", 5)
                if len(fields) == 6 and _ACCOUNT_ID.match(fields[4]):
                    found.add(fields[4])
        return frozenset(found)

    # ---------------------------------------------------------------- run

    def run(self) -> list[Finding]:
        launch = granted_launch_actions(self.policy)
        self.launch_here = set(launch)
        launch += [a for a in self.launch_elsewhere if a not in self.launch_here]
        for index, s in enumerate(self.policy.statements):
            if s.effect is Effect.ALLOW:
                if self.kind in _PRIVILEGE_KINDS:
                    self._privilege(index, s, launch)
                if self.kind in (PolicyKind.RESOURCE, PolicyKind.TRUST):
                    self._principals(index, s)
            self._conditions(index, s)
            if self.catalogue is not None:
                self._known(index, s, self.catalogue)
        self._redundancy()
        return self.found

    # ---------------------------------------------------------------- PL6xx

    def _known(self, i: int, s: Statement, catalogue: Catalogue) -> None:
        items = s.action.values.items
        for code, bad, message, guess in unknown_names(catalogue, items):
            replacement = guess or "service:ActionName"
            fixed = tuple(replacement if a == bad else a for a in items)
            spec = attrs.evolve(s.action, values=_values(*fixed))
            hint = f" (did you mean `{guess}`?)" if guess else ""
            self.add(code, i, message + hint,
                     fix=_fix(f"use `{guess}`" if guess else
                              "name an action of the service (see the service authorization "
                              "reference)", attrs.evolve(s, action=spec)))
        seen: set[str] = set()
        for ci, ei, _op, entry in _cond_entries(s):
            if entry.key.lower() in seen:
                continue
            seen.add(entry.key.lower())
            verdict = catalogue.judge_key(entry.key)
            if verdict is None or verdict[0]:
                continue
            key_guess = verdict[1]
            hint = f" (did you mean `{key_guess}`?)" if key_guess else ""
            clauses = list(s.condition or ())
            clause = clauses[ci]
            entries = list(clause.entries)
            entries[ei] = attrs.evolve(entry, key=key_guess or "service:ConditionKey")
            clauses[ci] = attrs.evolve(clause, entries=tuple(entries))
            self.add("PL603", i, f"unknown condition key `{entry.key}`{hint}",
                     fix=_fix(f"use `{key_guess}`" if key_guess
                              else "use a key the service defines",
                              attrs.evolve(s, condition=tuple(clauses))))

    # ---------------------------------------------------------------- PL1xx / PL2xx

    def _privilege(self, i: int, s: Statement, launch: list[str]) -> None:
        actions = s.action.values.items
        conds = bool(s.condition)
        if s.principal is not None and s.principal.negated:
            self.add("PL105", i, "Allow with NotPrincipal grants to every principal not listed",
                     fix=_not_principal_fix(s))
        if s.action.negated:
            self.add("PL103", i, "Allow with NotAction grants every action except "
                     + ", ".join(actions),
                     fix=_fix("list the actions that are needed with Action",
                              attrs.evolve(s, action=ActionSpec(_values("service:ActionName")))))
            return
        if s.resource is not None and s.resource.negated:
            self.add("PL104", i, "Allow with NotResource grants on every resource except "
                     + ", ".join(s.resource.values.items),
                     fix=_fix("list the resources with Resource",
                              _with_resource(s, cat.GENERIC_RESOURCE)))
        if "*" in actions and s.resource is not None and "*" in s.resource.values.items:
            self.add("PL101", i, "Allow of every action (`*`) on every resource (`*`): full "
                     "administrator access",
                     fix=_fix("grant the actions the workload calls on its own resources",
                              attrs.evolve(s, action=ActionSpec(_values("service:ActionName")),
                                           resource=ResourceSpec(_values(cat.GENERIC_RESOURCE)))))
            return
        wide = [a for a in actions if a == "*" or (a.endswith(":*") and a.count(":") == 1)]
        if wide and not self._delegates_to_own_account(s):
            replaced: list[str] = []
            for a in actions:
                if a in wide:
                    svc = "service" if a == "*" else a.split(":")[0]
                    replaced += [f"{svc}:Describe*", f"{svc}:Get*", f"{svc}:List*"]
                else:
                    replaced.append(a)
            what = ("every action of every service (`*`)" if "*" in wide
                    else "every action of a service: " + ", ".join(wide))
            self.add("PL102", i, f"Allow of {what}",
                     fix=_fix("start from read-only actions and add the writes the workload "
                              "calls", attrs.evolve(s, action=ActionSpec(_values(*replaced)))))
        if self.kind is PolicyKind.RESOURCE:
            # In a resource policy `Resource: "*"` means the resource itself (a KMS key policy,
            # a queue policy): breadth there is about principals, checked by PL3xx.
            return
        # data actions on every resource
        data = self._hits(s, cat.DATA_ACTIONS)
        if data and not conds and self._any_for(s, data):
            svc = data[0].split(":")[0]
            self.add("PL110", i, f"data actions on every resource: {_names(data)}",
                     fix=_fix(f"scope the resources to the {svc} resources the workload "
                              "uses", _with_resource(s, cat.RESOURCE_TEMPLATES.get(
                                  svc, cat.GENERIC_RESOURCE))))
        self._escalation(i, s, conds, launch)

    def _hits(self, s: Statement, names: Iterable[str]) -> list[str]:
        """The actions of `names` the statement grants on a resource they can apply to."""
        return sorted(a for a in names if grants(s, a) and _reaches(s, a))

    def _any_for(self, s: Statement, actions: Sequence[str]) -> bool:
        """Is some resource of `s` that the actions apply to "every resource"?"""
        if s.resource is None:
            return False
        if s.resource.negated:
            return True
        return any(
            is_any_resource(r) and any(_applies(r, a) for a in actions)
            for r in s.resource.values.items
        )

    def _delegates_to_own_account(self, s: Statement) -> bool:
        """A resource policy granting to this account's root delegates to IAM policies (the
        default KMS key policy): those are reviewed where they are written."""
        if self.kind is not PolicyKind.RESOURCE or s.principal is None or not self.own_accounts:
            return False
        values = _principal_values(s.principal, "AWS")
        if not values or len(values) != sum(len(e.values.items) for e in s.principal.entries):
            return False
        return all(
            (_ACCOUNT_ID.match(v) or v.endswith(":root")) and _account_of(v) in self.own_accounts
            for v in values
        )

    def _escalation(self, i: int, s: Statement, conds: bool, launch: list[str]) -> None:
        if self._hits(s, [cat.PASS_ROLE]):
            any_res = self._any_for(s, [cat.PASS_ROLE])
            passed_to = "iam:passedtoservice" in _scoping_keys(s)
            if launch:
                what = ", ".join(sorted({cat.COMPUTE_WITH_PASSED_ROLE[a] for a in launch}))
                sev = Severity.ERROR if any_res and not passed_to else Severity.INFO
                where = ("in the same policy" if set(launch) <= self.launch_here
                         else "granted to the same principals")
                self.add("PL202", i, f"iam:PassRole with {_names(launch)} {where}: "
                         f"code can run as the passed role in {what}", severity=sev,
                         fix=self._passrole_fix(s))
            elif any_res:
                sev = Severity.WARNING if passed_to else Severity.ERROR
                self.add("PL201", i, "iam:PassRole on every role", severity=sev,
                         fix=self._passrole_fix(s))
        groups = (
            ("PL203", cat.POLICY_WRITE, "writes permission policies"),
            ("PL205", cat.TRUST_WRITE, "rewrites role trust policies"),
            ("PL206", cat.GROUP_WRITE, "changes group membership"),
        )
        for code, names, what in groups:
            hits = self._hits(s, names)
            if hits:
                any_res = self._any_for(s, hits)
                fix = _with_resource(s, "arn:aws:iam::ACCOUNT_ID:role/PATH/*")
                if code == "PL203":
                    fix = _add_condition(fix, "StringEquals", "iam:PermissionsBoundary",
                                         "arn:aws:iam::ACCOUNT_ID:policy/BOUNDARY")
                self.add(code, i, f"{_names(hits)} {what}"
                         + (" on every resource" if any_res else ""),
                         severity=_escalation_severity(any_res, conds),
                         fix=_fix("scope to the roles or users it administers"
                                  + (" and require a permissions boundary" if code == "PL203"
                                     else ""), fix))
        creds = self._hits(s, cat.USER_CREDENTIALS)
        users = [r for r in self._resources(s) if _applies(r, "iam:CreateAccessKey")]
        if creds and not (users and all("${aws:username}" in r.lower() for r in users)):
            any_res = self._any_for(s, creds)
            self.add("PL204", i, f"{_names(creds)} on other users"
                     + (" (every user)" if any_res else ""),
                     severity=_escalation_severity(any_res, conds),
                     fix=_fix("limit to the caller's own user",
                              _with_resource(s, "arn:aws:iam::ACCOUNT_ID:user/${aws:username}")))
        if conds:
            return
        code_hits = self._hits(s, cat.CODE_IN_COMPUTE)
        if code_hits and self._any_for(s, code_hits):
            self.add("PL207", i, f"{_names(code_hits)} on every resource",
                     fix=_fix("scope to the functions/instances the workload owns",
                              _with_resource(s, cat.GENERIC_RESOURCE)))
        if self._hits(s, [cat.ASSUME_ROLE]) and self._any_for(s, [cat.ASSUME_ROLE]):
            self.add("PL208", i, "sts:AssumeRole on every role",
                     fix=_fix("list the roles it is meant to assume",
                              _with_resource(s, cat.RESOURCE_TEMPLATES["sts"])))

    def _passrole_fix(self, s: Statement) -> Fix:
        fixed = _with_resource(s, "arn:aws:iam::ACCOUNT_ID:role/ROLE_NAME")
        fixed = _add_condition(fixed, "StringEquals", "iam:PassedToService",
                               "SERVICE.amazonaws.com")
        return _fix("pass only the named role, only to the intended service", fixed)

    # ---------------------------------------------------------------- PL3xx

    def _principals(self, i: int, s: Statement) -> None:
        spec = s.principal
        if spec is None:
            return
        if spec.negated:
            if self.kind is not PolicyKind.RESOURCE:  # PL105 is raised by _privilege
                self.add("PL105", i, "Allow with NotPrincipal grants to every principal not "
                         "listed", fix=_not_principal_fix(s))
            return
        scoping = _scoping_keys(s)
        is_trust = self.kind is PolicyKind.TRUST
        if _is_public(spec):
            if not scoping & cat.PRINCIPAL_SCOPING_KEYS:
                self.add("PL301", i, "open to every principal (`*`) with no condition that "
                         "names the caller",
                         fix=_fix("limit to your organization (or name the accounts)",
                                  _add_condition(s, "StringEquals", "aws:PrincipalOrgID",
                                                 "o-EXAMPLE")))
            return
        accounts = [a for a in map(_account_of, _principal_values(spec, "AWS")) if a]
        others = self._other_accounts(accounts)
        unknown = "" if self.own_accounts else " (own account unknown; pass --account-id)"
        if others and is_trust and grants(s, "sts:AssumeRole"):
            if "sts:externalid" not in scoping and not (scoping & cat.ORG_KEYS):
                self.add("PL303", i, f"account {', '.join(others)} may assume this role "
                         f"without sts:ExternalId{unknown}",
                         fix=_fix("require the ExternalId agreed with the third party",
                                  _add_condition(s, "StringEquals", "sts:ExternalId",
                                                 "EXTERNAL_ID")))
        elif others and not is_trust and not s.condition:
            self.add("PL302", i, f"granted to account {', '.join(others)} with no "
                     f"condition{unknown}",
                     fix=_fix("name the principals and add a condition",
                              _add_condition(s, "StringEquals", "aws:PrincipalOrgID",
                                             "o-EXAMPLE")))
        services = _principal_values(spec, "Service")
        if services and not (scoping & cat.SOURCE_KEYS):
            sev = Severity.INFO if is_trust else Severity.WARNING
            fixed = _add_condition(s, "StringEquals", "aws:SourceAccount", "ACCOUNT_ID")
            fixed = _add_condition(fixed, "ArnLike", "aws:SourceArn",
                                   "arn:aws:SERVICE:REGION:ACCOUNT_ID:RESOURCE")
            self.add("PL304", i, f"service principal {', '.join(services)} without "
                     "aws:SourceAccount or aws:SourceArn", severity=sev,
                     fix=_fix("name the account and resource the service acts for", fixed))
        federated = _principal_values(spec, "Federated")
        if federated and is_trust and grants(s, "sts:AssumeRoleWithWebIdentity"):
            self._web_identity(i, s, federated)

    def _web_identity(self, i: int, s: Statement, federated: list[str]) -> None:
        scoping = _scoping_keys(s)
        github = any(cat.GITHUB_OIDC in f for f in federated)
        oidc = github or any("oidc-provider/" in f or f in cat.WEB_IDENTITY_PROVIDERS
                             for f in federated)
        if not oidc:
            return
        has_sub = any(k.endswith(":sub") for k in scoping)
        has_aud = any(k.endswith(":aud") for k in scoping)
        if github and has_sub:
            # `repo:*` or `*` names no owner: still every repository on GitHub.
            subs = [v.text for _c, _e, op, e in _cond_entries(s)
                    if op is not None and not op.negated and e.key.lower().endswith(":sub")
                    for v in e.values]
            has_sub = any(not v.startswith(("*", "repo:*")) for v in subs)
        if github and not has_sub:
            self.add("PL306", i, "GitHub Actions OIDC trust without a `:sub` condition: every "
                     "repository on GitHub can assume this role",
                     fix=_fix("limit to one repository and branch",
                              _add_condition(s, "StringEquals",
                                             f"{cat.GITHUB_OIDC}:sub",
                                             "repo:OWNER/REPO:ref:refs/heads/main")))
        elif not github and not (has_sub or has_aud):
            provider = federated[0].split("oidc-provider/")[-1]
            self.add("PL306", i, "web-identity trust without an `:aud` or `:sub` condition",
                     severity=Severity.WARNING,
                     fix=_fix("require the audience (client id)",
                              _add_condition(s, "StringEquals", f"{provider}:aud", "CLIENT_ID")))

    # ---------------------------------------------------------------- PL4xx

    def _conditions(self, i: int, s: Statement) -> None:
        allow = s.effect is Effect.ALLOW
        entries = list(_cond_entries(s))
        guarded = {e.key.lower() for _c, _e, op, e in entries
                   if op is not None and op.family is Family.NULL
                   and any(v.text.lower() == "false" for v in e.values)}
        for ci, ei, op, entry in entries:
            if op is None:
                continue
            key = entry.key
            low = key.lower()
            texts = {v.text.lower() for v in entry.values}
            if low == cat.MFA_KEY and op.base == "Bool" and op.qualifier is None:
                if not allow and not op.if_exists and "false" in texts:
                    self.add("PL401", i, "Deny on `Bool aws:MultiFactorAuthPresent false` does "
                             "not apply to long-term access keys (the key is absent)",
                             fix=_fix("use BoolIfExists", _move_entry(s, ci, ei, "BoolIfExists")))
                if allow and op.if_exists and "true" in texts:
                    self.add("PL402", i, "Allow on `BoolIfExists aws:MultiFactorAuthPresent "
                             "true` also allows requests without MFA (the key is absent)",
                             fix=_fix("use Bool", _move_entry(s, ci, ei, "Bool")))
            if op.family is Family.NULL:
                continue
            if op.qualifier is not None and cat.is_single_valued(key):
                bare = op.text.split(":", 1)[1]
                self.add("PL410", i, f"`{op.qualifier.value}` on single-valued key `{key}`",
                         fix=_fix(f"use `{bare}`", _move_entry(s, ci, ei, bare)))
                continue
            if op.qualifier is None and cat.is_multi_valued(key):
                qual = "ForAllValues" if allow and not op.negated else "ForAnyValue"
                fixed = _move_entry(s, ci, ei, f"{qual}:{op.text}")
                if qual == "ForAllValues":
                    fixed = _add_condition(fixed, "Null", key, "false")
                self.add("PL411", i, f"multi-valued key `{key}` compared with `{op.text}` "
                         "(no ForAnyValue/ForAllValues)",
                         fix=_fix(f"use `{qual}:{op.text}`", fixed))
                continue
            if allow and op.qualifier is SetQualifier.FOR_ALL_VALUES and low not in guarded:
                self.add("PL412", i, f"`{op.text}` on `{key}` is true when the key is absent "
                         "or empty",
                         fix=_fix(f"add `Null {{\"{key}\": \"false\"}}`",
                                  _add_condition(s, "Null", key, "false")))

    # ---------------------------------------------------------------- PL5xx

    def _redundancy(self) -> None:
        statements = self.policy.statements
        reported: set[int] = set()
        for i, s in enumerate(statements):
            for j, t in enumerate(statements):
                if i == j or j in reported:
                    continue
                if t.effect is s.effect and _covers(t, s, same_effect=True):
                    if i < j and _covers(s, t, same_effect=True):
                        continue  # equivalent: report the later one only
                    reported.add(i)
                    self.add("PL501", i, f"statement {_name(s, i)} is covered by statement "
                             f"{_name(t, j)}",
                             fix=_delete_fix(f"delete statement {_name(s, i)}", self.policy, i))
                    break
                if (s.effect is Effect.ALLOW and t.effect is Effect.DENY
                        and _covers(t, s, same_effect=False)):
                    reported.add(i)
                    self.add("PL502", i, f"Allow {_name(s, i)} is denied entirely by statement "
                             f"{_name(t, j)}",
                             fix=_delete_fix(f"delete statement {_name(s, i)} (or narrow the "
                                             "Deny)", self.policy, i))
                    break


def granted_launch_actions(policy: Policy) -> list[str]:
    """Actions of `COMPUTE_WITH_PASSED_ROLE` that an Allow of `policy` names (a bare `*` is
    PL101's business and does not count)."""
    out = []
    for action in cat.COMPUTE_WITH_PASSED_ROLE:
        for s in policy.statements:
            if (s.effect is Effect.ALLOW and not s.action.negated
                    and "*" not in s.action.values.items and grants(s, action)
                    and _reaches(s, action)):
                out.append(action)
                break
    return out


def _not_principal_fix(s: Statement) -> Fix:
    role = _values("arn:aws:iam::ACCOUNT_ID:role/ROLE_NAME")
    named = PrincipalSpec((PrincipalEntry("AWS", role),))
    return _fix("grant to the listed principals with Principal instead",
                attrs.evolve(s, principal=named))


def _escalation_severity(any_res: bool, conds: bool) -> Severity:
    if conds:
        return Severity.INFO
    return Severity.ERROR if any_res else Severity.WARNING


def _names(actions: Sequence[str]) -> str:
    shown = ", ".join(actions[:4])
    return shown + (f" and {len(actions) - 4} more" if len(actions) > 4 else "")


def _name(s: Statement, i: int) -> str:
    return f"#{i + 1}" + (f" ({s.sid})" if s.sid else "")


def _covers(big: Statement, small: Statement, *, same_effect: bool) -> bool:
    """Does `big` match every request `small` matches? Conservative (False when unsure)."""
    if big.action.negated or small.action.negated:
        return False
    if not _all_covered(big.action.values.items, small.action.values.items, action_covers):
        return False
    if (big.resource is None) != (small.resource is None):
        return False
    if big.resource is not None and small.resource is not None:
        if big.resource.negated or small.resource.negated:
            return False
        if not _all_covered(big.resource.values.items, small.resource.values.items,
                            resource_covers):
            return False
    if big.principal is not None:
        if big.principal.negated or (small.principal is not None and small.principal.negated):
            return False
        if small.principal is None or not (
            big.principal.is_wildcard or big.principal == small.principal
        ):
            return False
    elif small.principal is not None and same_effect:
        return False
    if not big.condition:
        return True
    return same_effect and _cond_signature(big) == _cond_signature(small)


def review_policy(
    policy: Policy,
    *,
    kind: PolicyKind | None = None,
    file: str | None = None,
    label: str | None = None,
    principals: Sequence[str] = (),
    own_accounts: Iterable[str] = (),
    launch_elsewhere: Iterable[str] = (),
    catalogue: bool = True,
) -> list[Finding]:
    """Review one policy document; findings in statement order.

    `kind` None infers it from the document (`infer_kind`); `own_accounts` are the account ids
    that are not "another account" (PL302/PL303); `label` and `principals` name the policy and
    who has it in an account; `launch_elsewhere` are compute-launching actions (PL202) that
    the same principals get from their other policies. `catalogue` enables PL601–PL603 when
    the optional action catalogue is installed."""
    name = file or (policy.source.name if policy.source is not None else "<policy>")
    review = _Review(
        policy,
        kind or infer_kind(policy),
        name,
        label,
        tuple(principals),
        frozenset(own_accounts),
        tuple(launch_elsewhere),
        catalogue=load_catalogue() if catalogue else None,
    )
    found = review.run()
    return sorted(found, key=lambda f: (f.statement_index or 0, f.code))
