"""IR → IAM JSON: AWS-valid documents in canonical key order, keeping how things were written.

Key order: Version, Id, Statement; in a statement Sid, Effect, Principal/NotPrincipal,
Action/NotAction, Resource/NotResource, Condition. Single-vs-list forms, the principal's written
form (`"*"` versus `{"AWS": "*"}`) and the exact text of number and boolean condition values are
kept, so JSON → IR → JSON → IR is the identity on the IR.
"""

from __future__ import annotations

import re
from typing import Any

from policylang import _json
from policylang.ir import (
    ConditionClause,
    ConditionValue,
    Policy,
    PrincipalSpec,
    Statement,
    ValueKind,
    Values,
)

__all__ = ["format_iam_json", "policy_to_value"]


_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")


class RawNumber(str):
    """A JSON number's exact text, written verbatim by `format_iam_json`."""

    __slots__ = ()


def policy_to_value(policy: Policy) -> dict[str, Any]:
    """The policy as plain JSON values (numbers as int/float; exact text: `format_iam_json`)."""
    return _policy_value(policy, raw_numbers=False)


def format_iam_json(policy: Policy, *, pretty: bool = True) -> str:
    """The policy as IAM JSON text (2-space indent when `pretty`); numbers keep their text."""
    parts: list[str] = []
    _emit(_policy_value(policy, raw_numbers=True), parts, "\n" if pretty else None)
    return "".join(parts)


def _emit(value: Any, out: list[str], newline: str | None) -> None:
    """Write JSON; `newline` is the current line break plus indent (None: compact)."""
    if isinstance(value, RawNumber):
        # IR built elsewhere (e.g. the DSL) could hold a text that is not a JSON number.
        out.append(str(value) if _NUMBER.fullmatch(value) else _json.dumps(str(value)))
    elif isinstance(value, str | bool | int | float):
        out.append(_json.dumps(value))
    elif isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        inner = None if newline is None else newline + "  "
        out.append("{")
        for index, (key, item) in enumerate(value.items()):
            if index:
                out.append(",")
            if inner is not None:
                out.append(inner)
            out.append(_json.dumps(key))
            out.append(": " if inner is not None else ":")
            _emit(item, out, inner)
        if newline is not None:
            out.append(newline)
        out.append("}")
    else:
        if not value:
            out.append("[]")
            return
        inner = None if newline is None else newline + "  "
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            if inner is not None:
                out.append(inner)
            _emit(item, out, inner)
        if newline is not None:
            out.append(newline)
        out.append("]")


def _policy_value(policy: Policy, *, raw_numbers: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if policy.version is not None:
        out["Version"] = policy.version
    if policy.id is not None:
        out["Id"] = policy.id
    statements = [_statement_value(s, raw_numbers) for s in policy.statements]
    out["Statement"] = statements if policy.statement_is_list or len(statements) != 1 else (
        statements[0]
    )
    return out


def _statement_value(statement: Statement, raw_numbers: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if statement.sid is not None:
        out["Sid"] = statement.sid
    out["Effect"] = statement.effect.value
    if statement.principal is not None:
        name = "NotPrincipal" if statement.principal.negated else "Principal"
        out[name] = _principal_value(statement.principal)
    out["NotAction" if statement.action.negated else "Action"] = _values(statement.action.values)
    if statement.resource is not None:
        name = "NotResource" if statement.resource.negated else "Resource"
        out[name] = _values(statement.resource.values)
    if statement.condition is not None:
        out["Condition"] = {
            clause.operator: _clause_value(clause, raw_numbers) for clause in statement.condition
        }
    return out


def _values(values: Values) -> str | list[str]:
    if not values.is_list and len(values.items) == 1:
        return values.items[0]
    return list(values.items)


def _principal_value(principal: PrincipalSpec) -> str | dict[str, Any]:
    if principal.is_wildcard:
        return "*"
    return {entry.kind: _values(entry.values) for entry in principal.entries}


def _clause_value(clause: ConditionClause, raw_numbers: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for entry in clause.entries:
        items = [_condition_value(v, raw_numbers) for v in entry.values]
        out[entry.key] = items if entry.is_list or len(items) != 1 else items[0]
    return out


def _condition_value(value: ConditionValue, raw_numbers: bool) -> Any:
    if value.kind is ValueKind.STRING:
        return value.text
    if value.kind is ValueKind.BOOLEAN:
        return value.text == "true"
    if raw_numbers:
        return RawNumber(value.text)
    text = value.text
    if "." in text or "e" in text or "E" in text:
        return float(text)
    return int(text)
