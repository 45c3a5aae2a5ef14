"""IR → canonical DSL text: `format_dsl`, the formatter behind `policylang fmt` and `to-dsl`.

The output is a function of the IR alone (plus its comments), so `format_dsl(parse_dsl(t))` is
the canonical spelling of `t` and formatting is idempotent. Layout rules: shared/design/dsl.md
§8 and docs/dsl.md.
"""

from __future__ import annotations

import json
import re

from policylang.ir import (
    ConditionClause,
    ConditionEntry,
    ConditionValue,
    Policy,
    PrincipalSpec,
    Statement,
    ValueKind,
    Values,
)
from policylang.operators import Family, Operator, parse_operator

__all__ = ["format_dsl", "format_value"]

WIDTH = 80
DEFAULT_VERSION = "2012-10-17"

# The WORD terminal of policy.lark, as a Python pattern (kept in step by a unit test).
_DOLLAR = (
    r"\$\{(?:(?![{}\"',#])[\x21-\x7e])*\}|\$\$|\$\([A-Za-z_][A-Za-z0-9_]*\)|\$[A-Za-z_][A-Za-z0-9_]*"
)
WORD_RE = re.compile(
    rf"(?:{_DOLLAR}|[A-Za-z0-9_.:/*?+~%^-])(?:{_DOLLAR}|[A-Za-z0-9_.:/*?+~%^=@-])*"
)
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")

_KIND_WORDS = {"AWS": "aws", "Service": "service", "Federated": "federated",
               "CanonicalUser": "canonical"}
_TYPED_KEYS = frozenset(
    {"aws:sourceip", "aws:vpcsourceip", "aws:currenttime", "aws:tokenissuetime",
     "aws:epochtime", "aws:multifactorauthage"}
)
# Words the contextual lexer reads as keywords where a condition key or operator may start.
_KEY_KEYWORDS = frozenset({"all", "any"})


def _escape_dollars(text: str) -> str:
    if "$" not in text:
        return text
    return re.sub(r"\$(?!\{)", "$$", text)


def format_value(text: str, kind: ValueKind = ValueKind.STRING, *, reserved: frozenset[str] =
                 frozenset()) -> str:
    """A value as the DSL writes it: bare when it can be, else a JSON-style quoted string."""
    if kind is not ValueKind.STRING:
        if kind is ValueKind.BOOLEAN and text not in ("true", "false"):
            raise ValueError(f"boolean condition value with text {text!r}")
        if kind is ValueKind.NUMBER and not _JSON_NUMBER.fullmatch(text):
            raise ValueError(f"number condition value with text {text!r}")
        return f"({text})"
    escaped = _escape_dollars(text)
    if text not in reserved and WORD_RE.fullmatch(escaped):
        return escaped
    return json.dumps(escaped, ensure_ascii=False)


def _cv(value: ConditionValue) -> str:
    return format_value(value.text, value.kind)


# ---------------------------------------------------------------- lists and clauses


def _inline(items: list[str], is_list: bool, *, bare_lists: bool) -> str:
    if not is_list:
        if len(items) != 1:
            raise ValueError("a scalar value list must hold exactly one item")
        return items[0]
    if bare_lists and len(items) >= 2:
        return ", ".join(items)
    return "[" + ", ".join(items) + "]"


def _clause_lines(
    head: str, items: list[str], is_list: bool, *, bare_lists: bool = False, tail: str = "",
    item_indent: int = 4, close_indent: int = 2,
) -> list[str]:
    """`head` + the list + `tail` on one line, or broken vertically when it does not fit."""
    line = head + _inline(items, is_list, bare_lists=bare_lists) + tail
    if len(line) <= WIDTH or not is_list or not items:
        return [line]
    lines = [head + "["]
    lines.extend(" " * item_indent + item + "," for item in items)
    lines.append(" " * close_indent + "]" + tail)
    return lines


def _values(values: Values) -> list[str]:
    return [format_value(v) for v in values.items]


def _target(values: Values, negated: bool) -> tuple[str, list[str], bool]:
    prefix = "* except " if negated else ""
    return prefix, _values(values), values.is_list


def _principal_groups(spec: PrincipalSpec) -> list[tuple[str, list[str], bool]]:
    groups = []
    for entry in spec.entries:
        word = _KIND_WORDS.get(entry.kind)
        if word is None:
            raise ValueError(f"principal kind {entry.kind!r} has no DSL spelling")
        groups.append((word + " ", _values(entry.values), entry.values.is_list))
    return groups


def _principal_inline(spec: PrincipalSpec) -> str:
    prefix = "* except " if spec.negated else ""
    if spec.is_wildcard:
        return prefix + "*"
    if not spec.entries:
        return prefix + "{}"
    return prefix + ", ".join(
        word + _inline(items, is_list, bare_lists=False)
        for word, items, is_list in _principal_groups(spec)
    )


def _principal_lines(spec: PrincipalSpec) -> list[str]:
    line = "  by " + _principal_inline(spec)
    if len(line) <= WIDTH or spec.is_wildcard or not spec.entries:
        return [line]
    head = "  by " + ("* except " if spec.negated else "")
    groups = _principal_groups(spec)
    if len(groups) == 1:
        word, items, is_list = groups[0]
        return _clause_lines(head + word, items, is_list)
    align = " " * len(head)
    lines: list[str] = []
    for number, (word, items, is_list) in enumerate(groups):
        lead = head if number == 0 else align
        tail = "," if number < len(groups) - 1 else ""
        lines.extend(
            _clause_lines(
                lead + word, items, is_list, tail=tail,
                item_indent=len(align) + 2, close_indent=len(align),
            )
        )
    return lines


# ---------------------------------------------------------------- conditions

_FAMILY_WORD = {
    Family.STRING: None,
    Family.NUMERIC: "num",
    Family.DATE: "date",
    Family.IP: "ip",
    Family.ARN: "arn",
    Family.BINARY: "bin",
}


def _comparator(op: Operator, is_list: bool) -> str | None:
    base = op.base
    if op.family is Family.IP:
        return "not in" if op.negated else "in"
    for suffix, word in (("LessThanEquals", "<="), ("LessThan", "<"),
                         ("GreaterThanEquals", ">="), ("GreaterThan", ">")):
        if base.endswith(suffix):
            return word
    if base.endswith("NotLike"):
        return "not like"
    if base.endswith("Like"):
        return "like"
    if "Equals" in base:
        if op.negated:
            return "not in" if is_list else "!="
        return "in" if is_list else "=="
    return None


def _key(text: str) -> str:
    if "==" in text:  # a bare `k==v` is refused by the parser as a missing-spaces mistake
        return json.dumps(_escape_dollars(text), ensure_ascii=False)
    return format_value(text, reserved=_KEY_KEYWORDS)


def _raw(operator: str, entry: ConditionEntry | None) -> str:
    name = format_value(operator, reserved=_KEY_KEYWORDS)
    if entry is None:
        return name + "()"
    values = [_cv(v) for v in entry.values]
    return f"{name}({_key(entry.key)}, {_inline(values, entry.is_list, bare_lists=False)})"


def _readable(op: Operator, entry: ConditionEntry) -> tuple[str, list[str], bool, str] | None:
    """(head, values, is_list, tail) of the readable form, or None when only raw fits."""
    key = _key(entry.key)
    quant = {None: "", "ForAllValues": "all ", "ForAnyValue": "any "}[
        op.qualifier.value if op.qualifier else None
    ]
    tail = " if exists" if op.if_exists else ""
    if op.family is Family.BOOL or op.family is Family.NULL:
        if entry.is_list or len(entry.values) != 1:
            return None
        value = entry.values[0]
        if op.family is Family.NULL:
            if value.kind is not ValueKind.STRING or value.text not in ("true", "false"):
                return None
            return (f"{key} is {'null' if value.text == 'true' else 'not null'}", [], False, "")
        if value.text not in ("true", "false") or value.kind is ValueKind.NUMBER:
            return None
        if value.kind is ValueKind.STRING and value.text == "true" and ":" in entry.key:
            return (quant + key, [], False, tail)
        return (f"{quant}{key} is {_cv(value)}", [], False, tail)
    if entry.key.lower() in _TYPED_KEYS and op.family is Family.STRING:
        return None
    cmp = _comparator(op, entry.is_list)
    if cmp is None:
        return None
    if cmp in ("==", "!=") and (entry.is_list or len(entry.values) != 1):
        return None
    family = _FAMILY_WORD[op.family]
    if op.base.endswith("IgnoreCase"):
        family = "nocase"
    head = f"{quant}{key} " + (f"{family} " if family else "") + cmp + " "
    return (head, [_cv(v) for v in entry.values], entry.is_list, tail)


def _condition_lines(condition: tuple[ConditionClause, ...]) -> list[str]:
    if not condition:
        return ["  when {}"]
    lines: list[str] = []
    in_when = False
    for clause in condition:
        op = parse_operator(clause.operator)
        if not clause.entries:
            lines.append(("   and " if in_when else "  when ") + _raw(clause.operator, None))
            in_when = True
            continue
        for entry in clause.entries:
            if (
                clause.operator == "BoolIfExists"
                and not entry.is_list
                and len(entry.values) == 1
                and entry.values[0].kind is ValueKind.STRING
                and entry.values[0].text == "false"
                and ":" in entry.key
            ):
                lines.append("  unless " + _key(entry.key))
                in_when = False
                continue
            lead = "   and " if in_when else "  when "
            in_when = True
            form = _readable(op, entry) if op is not None else None
            if form is None:
                lines.append(lead + _raw(clause.operator, entry))
                continue
            head, values, is_list, tail = form
            if not values and not is_list and head.endswith((" is null", " is not null")):
                lines.append(lead + head)
            elif values or is_list:
                lines.extend(_clause_lines(lead + head, values, is_list, tail=tail))
            else:
                lines.append(lead + head + tail)
    return lines


# ---------------------------------------------------------------- statements and documents


def _statement_lines(statement: Statement) -> list[str]:
    lines = _statement_body(statement)
    if statement.trailing_comment:
        lines[-1] += "  " + statement.trailing_comment
    return lines


def _statement_body(statement: Statement) -> list[str]:
    lines = list(statement.comments)
    if statement.sid is not None:
        lines.append("@sid " + format_value(statement.sid))
    effect = statement.effect.value.lower()
    prefix, items, is_list = _target(statement.action.values, statement.action.negated)
    parts = [effect + " " + prefix + _inline(items, is_list, bare_lists=True)]
    resource_part = None
    if statement.resource is not None:
        r_prefix, r_items, r_list = _target(
            statement.resource.values, statement.resource.negated
        )
        resource_part = "on " + r_prefix + _inline(r_items, r_list, bare_lists=True)
        parts.append(resource_part)
    if statement.principal is not None:
        parts.append("by " + _principal_inline(statement.principal))
    one_line = " ".join(parts)
    if statement.condition is None and len(one_line) <= WIDTH:
        lines.append(one_line)
        return lines
    lines.extend(_clause_lines(effect + " " + prefix, items, is_list, bare_lists=True))
    if statement.resource is not None:
        lines.extend(
            _clause_lines("  on " + r_prefix, r_items, r_list, bare_lists=True)
        )
    if statement.principal is not None:
        lines.extend(_principal_lines(statement.principal))
    if statement.condition is not None:
        lines.extend(_condition_lines(statement.condition))
    return lines


def format_dsl(policy: Policy) -> str:
    """The canonical DSL text of a policy document (comments kept, ends with one newline)."""
    blocks: list[list[str]] = []
    if policy.comments:
        blocks.append(list(policy.comments))
    settings: list[str] = []
    if policy.version != DEFAULT_VERSION:
        if policy.version is None:
            settings.append("version none")
        else:
            settings.append("version " + format_value(policy.version, reserved=frozenset(
                {"none"})))
    if policy.id is not None:
        settings.append("id " + format_value(policy.id))
    if not policy.statement_is_list:
        settings.append("statement object")
    if settings:
        blocks.append(settings)
    for statement in policy.statements:
        blocks.append(_statement_lines(statement))
    if policy.trailing_comments:
        blocks.append(list(policy.trailing_comments))
    if not blocks:
        return ""
    return "\n\n".join("\n".join(block) for block in blocks) + "\n"
