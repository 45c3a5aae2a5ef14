"""Translate a workload PolicySet to Cedar policies and decide with cedarpy.

The model: every request is `P::"p"`, `Action::"a"`, `R::"r"`, and everything IAM looks at is
in the Cedar `context`: `act` (the action, lower-cased), `res` (resource ARN), `pacct`/`racct`
(accounts), `parn` (caller ARN), `same` (same account), every request and derived IAM key by
its lower-cased name, plus typed copies `KEY#lc` (lower-cased), `KEY#n` (integer) and `KEY#t`
(epoch seconds) so that case-insensitive, numeric and date conditions become Cedar comparisons.

Each IAM statement becomes a Cedar boolean expression; the combination rules are the ones of
combine.py: `forbid when {DENY}` per Deny statement, `forbid unless {ANY ALLOW OF THE LEVEL}`
per SCP/RCP level, `permit when {R && same}` and `permit when {I && B && (same || R)}`.
A Deny that decided shows in the diagnostics (explicitDeny); any other refusal is implicitDeny.

Translatable: Action/NotAction and Resource/NotResource globs (`?` becomes `*`), Principal `*`,
account, ARN and service entries, and the condition operators String*, Bool, IpAddress,
NotIpAddress, Arn* (as whole-string globs), Null, Numeric* (integers), Date*, with IfExists and
ForAllValues/ForAnyValue on multi-valued keys. Policy variables in condition values become
comparisons with the context; in Resource globs (which Cedar's `like` needs literal) they are
substituted per principal when the set is translated (each set belongs to one principal).
Not translatable (the statement is dropped and counted): other operators (Binary, …), Cedar
`like` cannot express IAM ARN-segment matching, and IAM's special cases (KMS key policies,
root, service principals, trust-policy rules) are not modelled.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from benchmarks.peers.combine import same_account
from policylang.ir import Effect, Statement
from policylang.policy_set import PolicySet
from policylang.request import ContextValue, Request, derive_context

_VAR = re.compile(r"\$\{([^}]+)\}")
ENTITY = {"principal": 'P::"p"', "action": 'Action::"a"', "resource": 'R::"r"'}


class Untranslatable(Exception):
    pass


def _lit(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _like(text: str) -> str:
    # Cedar `like`: `*` is the only wildcard; IAM `?` is approximated by `*`.
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("?", "*") + '"'


def _epoch(text: str) -> int | None:
    try:
        return int(float(text))
    except ValueError:
        pass
    try:
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return None


def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def context_of(request: Request) -> dict[str, Any]:
    """The Cedar context of one request."""
    ctx: dict[str, Any] = {}
    for key, value in derive_context(request).items():
        if isinstance(value, str):
            ctx[key] = value
            ctx[key + "#lc"] = value.lower()
            n = _int(value)
            if n is not None:
                ctx[key + "#n"] = n
            if key.endswith("time") or "date" in key:
                t = _epoch(value)
                if t is not None:
                    ctx[key + "#t"] = t
        else:
            ctx[key] = list(value)
            ctx[key + "#lc"] = [v.lower() for v in value]
    ctx["act"] = request.action.lower()
    ctx["res"] = request.resource.arn
    ctx["parn"] = request.principal.arn or ""
    ctx["pacct"] = request.principal.account or ""
    ctx["racct"] = request.resource.account or ""
    ctx["same"] = same_account(request)
    return ctx


def _has(key: str) -> str:
    return f"context has {_lit(key)}"


def _ref(key: str) -> str:
    return f"context[{_lit(key)}]"


_NEG = {"StringNotEquals": "StringEquals", "StringNotLike": "StringLike",
        "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase", "ArnNotEquals": "ArnEquals",
        "ArnNotLike": "ArnLike", "NotIpAddress": "IpAddress", "NumericNotEquals": "NumericEquals",
        "DateNotEquals": "DateEquals"}
_CMP = {"Equals": "==", "LessThan": "<", "LessThanEquals": "<=", "GreaterThan": ">",
        "GreaterThanEquals": ">="}


def _value_test(op: str, key: str, value: str, multi: bool) -> str:
    """Cedar test that one value of `key` satisfies `op` against the policy value."""
    var = _VAR.fullmatch(value)
    if var is not None:  # a whole-value policy variable: compare with the context
        other = var.group(1).lower()
        if op in ("StringEquals", "ArnEquals"):
            return f"({_has(other)} && {_ref(key)} == {_ref(other)})"
        raise Untranslatable(f"variable in {op}")
    if "${" in value:
        raise Untranslatable("variable inside a value")
    if multi and op not in ("StringEquals", "StringLike"):
        raise Untranslatable(f"{op} on a multi-valued key")
    if op in ("StringEquals", "ArnEquals"):
        return f"{_ref(key)} == {_lit(value)}"
    if op == "StringEqualsIgnoreCase":
        return f"{_ref(key + '#lc')} == {_lit(value.lower())}"
    if op in ("StringLike", "ArnLike"):
        return f"{_ref(key)} like {_like(value)}"
    if op == "Bool":
        return f"{_ref(key + '#lc')} == {_lit(value.lower())}"
    if op == "IpAddress":
        return f"ip({_ref(key)}).isInRange(ip({_lit(value)}))"
    if op.startswith("Numeric"):
        n = _int(value)
        if n is None:
            raise Untranslatable("non-integer number")
        return f"({_has(key + '#n')} && {_ref(key + '#n')} {_CMP[op[7:]]} {n})"
    if op.startswith("Date"):
        t = _epoch(value)
        if t is None:
            raise Untranslatable("date")
        return f"({_has(key + '#t')} && {_ref(key + '#t')} {_CMP[op[4:]]} {t})"
    raise Untranslatable(op)


def _conditions(stmt: Statement, multi_keys: set[str]) -> list[str]:
    parts: list[str] = []
    for clause in stmt.condition or ():
        op = clause.operator
        qualifier = ""
        if ":" in op:
            qualifier, op = op.split(":", 1)
        if_exists = op.endswith("IfExists")
        if if_exists:
            op = op[: -len("IfExists")]
        for entry in clause.entries:
            key = entry.key.lower()
            values = [v.text for v in entry.values]
            if op == "Null":
                parts.append(f"!({_has(key)})" if values[0].lower() == "true" else _has(key))
                continue
            base = _NEG.get(op, op)
            negated = op in _NEG
            if qualifier:
                if base not in ("StringEquals", "StringLike") or "${" in "".join(values):
                    raise Untranslatable(f"{qualifier}:{op}")
                pols = "[" + ", ".join(_lit(v) for v in values) + "]"
                if base == "StringEquals":
                    test = (f"{pols}.containsAll({_ref(key)})" if qualifier == "ForAllValues"
                            else f"{_ref(key)}.containsAny({pols})")
                else:
                    raise Untranslatable(f"{qualifier}:StringLike")
                if negated:
                    test = f"!({test})"
                missing_ok = qualifier == "ForAllValues" or negated
                parts.append(f"(!({_has(key)}) || {test})" if missing_ok
                             else f"({_has(key)} && {test})")
                continue
            multi = key in multi_keys
            if multi and base in ("StringEquals", "StringLike"):
                # IAM: a multi-valued key without qualifier = ForAnyValue
                if base == "StringLike" or any("${" in v for v in values):
                    raise Untranslatable("like on a multi-valued key")
                pols = "[" + ", ".join(_lit(v) for v in values) + "]"
                test = f"{_ref(key)}.containsAny({pols})"
            else:
                test = "(" + " || ".join(_value_test(base, key, v, False) for v in values) + ")"
            if negated:
                parts.append(f"(!({_has(key)}) || !{test})")
            elif if_exists:
                parts.append(f"(!({_has(key)}) || {test})")
            else:
                parts.append(f"({_has(key)} && {test})")
    return parts


def _principal(stmt: Statement) -> str | None:
    spec = stmt.principal
    if spec is None:
        return None
    if spec.is_wildcard:
        return "false" if spec.negated else None
    tests: list[str] = []
    for entry in spec.entries:
        for v in entry.values.items:
            if entry.kind == "AWS":
                if v == "*":
                    tests.append("true")
                elif re.fullmatch(r"[0-9]{12}", v):
                    tests.append(f"context.pacct == {_lit(v)}")
                elif v.endswith(":root"):
                    tests.append(f"context.pacct == {_lit(v.split(':')[4])}")
                else:
                    tests.append(f"context.parn == {_lit(v)}")
                    tests.append(f"({_has('aws:principalarn')} && "
                                 f"{_ref('aws:principalarn')} == {_lit(v)})")
            else:
                tests.append(f"context.parn == {_lit(v)}")
    test = "(" + " || ".join(tests or ["false"]) + ")"
    return f"!{test}" if spec.negated else test


def statement_expr(stmt: Statement, subst: Mapping[str, ContextValue],
                   multi_keys: set[str]) -> str:
    parts: list[str] = []
    acts = " || ".join(f"context.act like {_like(a.lower())}" for a in stmt.action.values.items)
    parts.append(f"!({acts})" if stmt.action.negated else f"({acts})")
    if stmt.resource is not None:
        pats = []
        for r in stmt.resource.values.items:
            if "${" in r:
                def repl(m: re.Match[str]) -> str:
                    v = subst.get(m.group(1).lower())
                    if not isinstance(v, str):
                        raise Untranslatable("unresolvable variable in Resource")
                    return v
                r = _VAR.sub(repl, r)
            pats.append("true" if r == "*" else f"context.res like {_like(r)}")
        res = " || ".join(pats)
        parts.append(f"!({res})" if stmt.resource.negated else f"({res})")
    principal = _principal(stmt)
    if principal is not None:
        parts.append(principal)
    parts.extend(_conditions(stmt, multi_keys))
    return " && ".join(parts)


class CedarSet:
    """One PolicySet translated to Cedar text (and parsed once)."""

    def __init__(self, ps: PolicySet, first: Request, cedarpy: Any) -> None:
        self.dropped = 0
        self.total = 0
        subst = derive_context(first)  # the set's principal: for variables in Resource
        multi = {k for k, v in subst.items() if not isinstance(v, str)} | {"aws:tagkeys"}
        policies: list[str] = []
        self.deny_ids: set[str] = set()

        def exprs(named_list: Any) -> list[str]:
            out = []
            for named in named_list:
                for stmt in named.policy.statements:
                    self.total += 1
                    try:
                        e = statement_expr(stmt, subst, multi)
                    except Untranslatable:
                        self.dropped += 1
                        continue
                    if stmt.effect is Effect.DENY:
                        self.deny_ids.add(f"policy{len(policies)}")
                        policies.append(f"forbid(principal, action, resource) when {{ {e} }};")
                    else:
                        out.append(e)
            return out

        scope = "(principal, action, resource)"
        identity = exprs(ps.identity)
        resource = exprs([ps.resource] if ps.resource else [])
        boundary = exprs([ps.boundary] if ps.boundary else [])
        for level in (*ps.scp, *ps.rcp):
            allows = exprs(level)
            any_allow = " || ".join(f"({e})" for e in allows) or "false"
            policies.append(f"forbid{scope} unless {{ {any_allow} }};")
        i_any = " || ".join(f"({e})" for e in identity) or "false"
        r_any = " || ".join(f"({e})" for e in resource) or "false"
        b_any = (" || ".join(f"({e})" for e in boundary) or "false") if ps.boundary else "true"
        policies.append(f"permit{scope} when {{ ({r_any}) && context.same }};")
        policies.append(
            f"permit{scope} when {{ ({i_any}) && ({b_any}) && (context.same || ({r_any})) }};"
        )
        self.text = "\n".join(policies)
        self.handle = cedarpy.PolicySet.from_str(self.text)

    def decide(self, cedarpy: Any, requests: list[dict[str, Any]]) -> list[str]:
        out = []
        for result in cedarpy.is_authorized_batch(requests, self.handle, []):
            if result.allowed:
                out.append("allowed")
            elif any(r in self.deny_ids for r in result.diagnostics.reasons):
                out.append("explicitDeny")
            else:
                out.append("implicitDeny")
        return out


def cedar_request(request: Request) -> dict[str, Any]:
    return {**ENTITY, "context": context_of(request)}
