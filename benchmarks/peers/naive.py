"""A naive pure-Python evaluator: loop over every statement of every policy, per request.

No compilation, no index, no caching: glob patterns are matched with `fnmatch` on every
request, conditions support the common operators only (others never match). It is the
baseline the compiled engine is compared with ("how much does compilation buy?").
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
from collections.abc import Mapping, Sequence
from datetime import datetime

from benchmarks.peers.combine import same_account
from policylang.ir import Effect, Statement
from policylang.policy_set import NamedPolicy, PolicySet
from policylang.request import ContextValue, PrincipalType, Request, derive_context

_VAR = re.compile(r"\$\{([^}]+)\}")


def _subst(text: str, ctx: Mapping[str, ContextValue]) -> str:
    def repl(m: re.Match[str]) -> str:
        v = ctx.get(m.group(1).lower())
        return v if isinstance(v, str) else m.group(0)

    return _VAR.sub(repl, text) if "${" in text else text


def _glob(pattern: str, value: str) -> bool:
    return fnmatch.fnmatchcase(value, pattern)


def _as_list(v: ContextValue | None) -> list[str]:
    if v is None:
        return []
    return [v] if isinstance(v, str) else list(v)


def _date(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _one(op: str, value: str, pol: str) -> bool | None:
    """One comparison; None for an operator this loop does not know."""
    if op in ("StringEquals", "ArnEquals"):
        return value == pol
    if op == "StringEqualsIgnoreCase":
        return value.lower() == pol.lower()
    if op in ("StringLike", "ArnLike"):
        return _glob(pol, value)
    if op == "Bool":
        return value.lower() == pol.lower()
    if op == "IpAddress":
        try:
            return ipaddress.ip_address(value) in ipaddress.ip_network(pol, strict=False)
        except ValueError:
            return False
    if op.startswith("Numeric"):
        try:
            a, b = float(value), float(pol)
        except ValueError:
            return False
        return {"NumericEquals": a == b, "NumericLessThan": a < b, "NumericLessThanEquals": a <= b,
                "NumericGreaterThan": a > b, "NumericGreaterThanEquals": a >= b}.get(op)
    if op.startswith("Date"):
        a2, b2 = _date(value), _date(pol)
        if a2 is None or b2 is None:
            return False
        return {"DateEquals": a2 == b2, "DateLessThan": a2 < b2, "DateLessThanEquals": a2 <= b2,
                "DateGreaterThan": a2 > b2, "DateGreaterThanEquals": a2 >= b2}.get(op)
    return None


_NEGATED = {"StringNotEquals": "StringEquals", "StringNotLike": "StringLike",
            "ArnNotEquals": "ArnEquals", "ArnNotLike": "ArnLike", "NotIpAddress": "IpAddress",
            "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase", "NumericNotEquals":
            "NumericEquals", "DateNotEquals": "DateEquals"}


def _conditions(stmt: Statement, ctx: Mapping[str, ContextValue]) -> bool:
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
            pols = [_subst(v.text, ctx) for v in entry.values]
            present = key in ctx
            if op == "Null":
                want_missing = pols[0].lower() == "true"
                if want_missing == present:
                    return False
                continue
            if not present:
                if if_exists or op in _NEGATED or qualifier == "ForAllValues":
                    continue
                return False
            values = _as_list(ctx[key])
            base = _NEGATED.get(op, op)
            hits = [[_one(base, v, p) for p in pols] for v in values]
            if any(h is None for row in hits for h in row):
                return False  # unknown operator: the statement does not apply
            per_value = [any(row) for row in hits]
            ok = all(per_value) if qualifier == "ForAllValues" else any(per_value)
            if op in _NEGATED:
                ok = not ok
            if not ok:
                return False
    return True


def _principal_ok(stmt: Statement, request: Request, ctx: Mapping[str, ContextValue]) -> bool:
    spec = stmt.principal
    if spec is None:
        return True
    if spec.is_wildcard:
        return not spec.negated
    caller = request.principal
    found = False
    own = {"*", caller.account, f"arn:aws:iam::{caller.account}:root", caller.arn,
           ctx.get("aws:principalarn")}
    for entry in spec.entries:
        for v in entry.values.items:
            if entry.kind == "AWS":
                found = found or v in own
            elif entry.kind == "Federated" or (
                entry.kind == "Service" and caller.type is PrincipalType.SERVICE
            ):
                found = found or v == caller.arn
    return found != spec.negated


def applies(stmt: Statement, request: Request, ctx: Mapping[str, ContextValue]) -> bool:
    action = request.action.lower()
    hit = any(_glob(p.lower(), action) for p in stmt.action.values.items)
    if hit == stmt.action.negated:
        return False
    if stmt.resource is not None:
        arn = request.resource.arn
        hit = any(_glob(_subst(p, ctx), arn) for p in stmt.resource.values.items)
        if hit == stmt.resource.negated:
            return False
    return _principal_ok(stmt, request, ctx) and _conditions(stmt, ctx)


def _scan(policies: Sequence[NamedPolicy], request: Request,
          ctx: Mapping[str, ContextValue]) -> tuple[bool, bool]:
    allow = deny = False
    for named in policies:
        for stmt in named.policy.statements:
            if applies(stmt, request, ctx):
                if stmt.effect is Effect.DENY:
                    deny = True
                else:
                    allow = True
    return allow, deny


def decide(ps: PolicySet, request: Request) -> str:
    """allowed / explicitDeny / implicitDeny by the simplified rules of combine.py."""
    ctx = derive_context(request)
    i_allow, i_deny = _scan(ps.identity, request, ctx)
    r_allow, r_deny = _scan((ps.resource,) if ps.resource else (), request, ctx)
    b_allow, b_deny = _scan((ps.boundary,) if ps.boundary else (), request, ctx)
    deny = i_deny or r_deny or b_deny
    gates = True
    for level in (*ps.scp, *ps.rcp):
        allow, level_deny = _scan(level, request, ctx)
        deny = deny or level_deny
        gates = gates and allow
    if deny:
        return "explicitDeny"
    if not gates:
        return "implicitDeny"
    identity_ok = i_allow and (ps.boundary is None or b_allow)
    if same_account(request):
        return "allowed" if (identity_ok or r_allow) else "implicitDeny"
    return "allowed" if (identity_ok and r_allow) else "implicitDeny"
