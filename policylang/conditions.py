"""The Condition element: operator families, IfExists, ForAnyValue/ForAllValues, Null.

Normative source: spec/conditions.md (§2 combination, §3 the single-key algorithm, §4 operator
catalogue, §5 policy variables). Layout, so the compiler can reuse the pieces:

* value parsers (`parse_number`, `parse_date`, `parse_bool`, `parse_binary`, `parse_ip_network`,
  `parse_ip_address`) turn text into comparable values, None when the text does not parse;
* comparison functions (`compare_string`, `compare_number`, `compare_date`, …) take one context
  value and one already-parsed policy value and return `True` (match), `False` (no match) or
  `None` (invalid comparison: counts as false for positive AND negated operators);
* `prepare_entry` parses a clause entry once; `evaluate_entry` / `evaluate_condition` run the
  algorithm of conditions.md §3 against a context keyed by lower-cased key names.

Negated operators are the NOR of their positive counterpart (`StringNotLike` = no value is
`StringLike`), so only positive comparisons exist below.
"""

from __future__ import annotations

import base64
import binascii
import enum
import functools
import ipaddress
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import attrs

from policylang.errors import PolicyValidationError
from policylang.ir import ConditionClause, ConditionEntry, ConditionValue
from policylang.operators import Family, Operator, SetQualifier, parse_operator
from policylang.patterns import (
    ArnConditionMatcher,
    Part,
    compile_arn_condition_parts,
    compile_parts,
)
from policylang.variables import Template, parse_template

ContextValue = str | tuple[str, ...]
Context = Mapping[str, ContextValue]
Comparison = bool | None
"""True = match, False = no match, None = invalid (unparseable value)."""

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# The positive operator whose comparison a negated (or synonym) operator uses.
POSITIVE_BASE: dict[str, str] = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "NumericNotEquals": "NumericEquals",
    "DateNotEquals": "DateEquals",
    "NotIpAddress": "IpAddress",
    "ArnEquals": "ArnLike",  # ArnEquals and ArnLike both honour wildcards (§4.7)
    "ArnNotEquals": "ArnLike",
    "ArnNotLike": "ArnLike",
}


def positive_base(base: str) -> str:
    """The positive operator a base operator compares with (`StringNotLike` → `StringLike`)."""
    return POSITIVE_BASE.get(base, base)


# --------------------------------------------------------------------------------------------
# Value parsers

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")


@functools.lru_cache(maxsize=4096)
def parse_number(text: str) -> Decimal | None:
    """An integer or decimal (`10`, `3.5`, `-1`) as an exact Decimal; None otherwise."""
    if _NUMBER.fullmatch(text) is None:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the regex admits only valid numbers
        return None


_ISO_DATE = re.compile(
    r"(?P<year>-?\d{1,9})"
    r"(?:-(?P<month>\d{1,2})"
    r"(?:-(?P<day>\d{1,2})"
    r"(?:[Tt](?P<hour>\d{1,2}):(?P<minute>\d{1,2})"
    r"(?::(?P<second>\d{1,2})(?:\.(?P<fraction>\d{1,9}))?)?"
    r"(?P<tz>[Zz]|[+-]\d{2}(?::\d{2})?)?"
    r")?)?)?"
)
_MIN_YEAR, _MAX_YEAR = -292275054, 292278993
_MAX_EPOCH = 2**63 - 1
_NS = 10**9


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 in the proleptic Gregorian calendar (any year)."""
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


@functools.lru_cache(maxsize=4096)
def parse_date(text: str) -> int | None:
    """A date as an instant in nanoseconds since the epoch (UTC); None when it does not parse.

    Text containing `T`/`t` or `-` is ISO 8601 (`YYYY`, `YYYY-MM`, `YYYY-MM-DD`,
    `YYYY-MM-DDThh:mm[:ss[.fffffffff]][TZD]`, TZD `Z` or `±hh[:mm]`, no TZD = UTC); anything
    else is an epoch integer in seconds (conditions.md §4.3; the split follows the save-time
    validation AWS applies, so `"2020"` is an epoch value, not a year).
    """
    if "-" not in text and "t" not in text.lower():
        if not text.isascii() or not text.isdigit():
            return None
        seconds = int(text)
        return seconds * _NS if seconds <= _MAX_EPOCH else None
    m = _ISO_DATE.fullmatch(text)
    if m is None:
        return None
    year = int(m["year"])
    month = int(m["month"] or 1)
    day = int(m["day"] or 1)
    hour = int(m["hour"] or 0)
    minute = int(m["minute"] or 0)
    second = int(m["second"] or 0)
    if not (
        _MIN_YEAR <= year <= _MAX_YEAR
        and 1 <= month <= 12
        and 1 <= day <= 31
        and hour <= 23
        and minute <= 59
        and second <= 59
    ):
        return None
    fraction = int((m["fraction"] or "").ljust(9, "0"))
    offset = 0
    tz = m["tz"]
    if tz and tz not in "Zz":
        sign = -1 if tz[0] == "-" else 1
        off_hours, _, off_minutes = tz[1:].partition(":")
        offset = sign * (int(off_hours) * 3600 + int(off_minutes or 0) * 60)
    seconds = ((_days_from_civil(year, month, day) * 24 + hour) * 60 + minute) * 60 + second
    return (seconds - offset) * _NS + fraction


def parse_bool(text: str) -> bool | None:
    """`true`/`false` in any case; None otherwise."""
    lowered = text.lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    return None


@functools.lru_cache(maxsize=4096)
def parse_binary(text: str) -> bytes | None:
    """Base64 text decoded to bytes; None when it is not valid base64."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


@functools.lru_cache(maxsize=4096)
def parse_ip_network(text: str) -> IpNetwork | None:
    """An IPv4/IPv6 CIDR (host bits allowed; a bare address is /32 or /128); None if invalid."""
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


@functools.lru_cache(maxsize=4096)
def parse_ip_address(text: str) -> IpAddress | None:
    """A single IPv4/IPv6 address (a context value); None if invalid."""
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


# --------------------------------------------------------------------------------------------
# Comparisons: one context value against one parsed policy value (positive operators only)


def compare_string_equals(value: str, policy: str) -> Comparison:
    return value == policy


def compare_string_equals_ignore_case(value: str, policy: str) -> Comparison:
    # str.lower, not casefold: the simulator does not match `ß` with `ss` (conditions.md §4.1).
    return value.lower() == policy.lower()


def compare_string_like(value: str, policy: Callable[[str], bool]) -> Comparison:
    """`policy` is a compiled glob (`patterns.compile_parts`)."""
    return policy(value)


_ORDER: dict[str, Callable[[Any, Any], Any]] = {
    "Equals": operator.eq,
    "LessThan": operator.lt,
    "LessThanEquals": operator.le,
    "GreaterThan": operator.gt,
    "GreaterThanEquals": operator.ge,
}


def compare_number(base: str, value: str, policy: Decimal | None) -> Comparison:
    """`NumericEquals`/`LessThan`/… : context value OP policy value."""
    number = parse_number(value)
    if number is None or policy is None:
        return None
    return bool(_ORDER[base[len("Numeric") :]](number, policy))


def compare_date(base: str, value: str, policy: int | None) -> Comparison:
    """`DateEquals`/`LessThan`/… on instants; ISO and epoch forms compare by instant."""
    instant = parse_date(value)
    if instant is None or policy is None:
        return None
    return bool(_ORDER[base[len("Date") :]](instant, policy))


def compare_bool(value: str, policy: bool | None) -> Comparison:
    flag = parse_bool(value)
    if flag is None or policy is None:
        return None
    return flag is policy


def compare_binary(value: str, policy: bytes | None) -> Comparison:
    data = parse_binary(value)
    if data is None or policy is None:
        return None
    return data == policy


def compare_ip(value: str, policy: IpNetwork | None) -> Comparison:
    address = parse_ip_address(value)
    if address is None or policy is None:
        return None
    if address.version != policy.version:
        return False
    return address in policy


def compare_arn(value: str, policy: ArnConditionMatcher | None) -> Comparison:
    """`ArnLike` (= `ArnEquals`): None when the context value is not an ARN (§4.7)."""
    if policy is None:  # a policy value that is not an ARN never matches
        return False
    return policy.match(value)


# --------------------------------------------------------------------------------------------
# Prepared entries


class _Unresolved(enum.Enum):
    """A policy value whose variable has no value: it matches nothing (conditions.md §5.3)."""

    TOKEN = "unresolved"


UNRESOLVED = _Unresolved.TOKEN


def _parse_policy_value(base: str, family: Family, text: str, parts: tuple[Part, ...]) -> object:
    """Parse one (variable-resolved) policy value for the positive operator `base`."""
    if family is Family.STRING:
        if base == "StringLike":
            return compile_parts(parts)
        return text
    if family is Family.NUMERIC:
        return parse_number(text)
    if family is Family.DATE:
        return parse_date(text)
    if family is Family.BOOL:
        return parse_bool(text)
    if family is Family.BINARY:
        return parse_binary(text)
    if family is Family.IP:
        return parse_ip_network(text)
    if family is Family.ARN:
        return compile_arn_condition_parts(parts)
    return text  # Null: the text itself


def _compare(base: str, family: Family, value: str, policy: object) -> Comparison:
    """Dispatch one comparison of a context value with a parsed policy value."""
    if policy is UNRESOLVED:
        return False
    if family is Family.STRING:
        if base == "StringLike":
            return compare_string_like(value, policy)  # type: ignore[arg-type]
        if base == "StringEqualsIgnoreCase":
            return compare_string_equals_ignore_case(value, policy)  # type: ignore[arg-type]
        return compare_string_equals(value, policy)  # type: ignore[arg-type]
    if family is Family.NUMERIC:
        return compare_number(base, value, policy)  # type: ignore[arg-type]
    if family is Family.DATE:
        return compare_date(base, value, policy)  # type: ignore[arg-type]
    if family is Family.BOOL:
        return compare_bool(value, policy)  # type: ignore[arg-type]
    if family is Family.BINARY:
        return compare_binary(value, policy)  # type: ignore[arg-type]
    if family is Family.IP:
        return compare_ip(value, policy)  # type: ignore[arg-type]
    if family is Family.ARN:
        return compare_arn(value, policy)  # type: ignore[arg-type]
    raise AssertionError(f"no comparison for {base}")  # pragma: no cover


@attrs.frozen(slots=True)
class PreparedValue:
    """One policy value: its text, its variable template (if any), its parse when static."""

    text: str
    template: Template | None
    parsed: object = None

    def resolve(self, base: str, family: Family, ctx: Context) -> object:
        """The parsed value for this request (UNRESOLVED when a variable has no value)."""
        if self.template is None:
            return self.parsed
        parts = self.template.resolve(ctx)
        if parts is None:
            return UNRESOLVED
        return _parse_policy_value(base, family, "".join(p.text for p in parts), parts)


@attrs.frozen(slots=True)
class PreparedEntry:
    """One `key: values` entry of one operator, parsed once."""

    operator: Operator
    key: str  # as written
    lookup_key: str  # lower-cased
    positive: str
    values: tuple[PreparedValue, ...]

    @property
    def variable_keys(self) -> tuple[str, ...]:
        """Lower-cased keys of variables (without default) used by the values."""
        out: list[str] = []
        for value in self.values:
            if value.template is not None:
                out.extend(v.lookup_key for v in value.template.variables if v.default is None)
        return tuple(out)


def _prepare_value(
    op: Operator, positive: str, value: ConditionValue, variables_enabled: bool
) -> PreparedValue:
    text = value.text
    if op.family in (Family.STRING, Family.ARN, Family.BOOL):
        template = parse_template(text, enabled=variables_enabled)
        if not template.is_plain:
            return PreparedValue(text, template)
    parts = (Part(text),)
    return PreparedValue(text, None, _parse_policy_value(positive, op.family, text, parts))


def prepare_entry(op: Operator, entry: ConditionEntry, *, variables_enabled: bool) -> PreparedEntry:
    """Parse an entry's values for its operator (variables only for String/Arn/Bool)."""
    positive = positive_base(op.base)
    values = tuple(_prepare_value(op, positive, v, variables_enabled) for v in entry.values)
    return PreparedEntry(op, entry.key, entry.key.lower(), positive, values)


@functools.lru_cache(maxsize=16384)
def prepare_clause(
    clause: ConditionClause, *, variables_enabled: bool
) -> tuple[PreparedEntry, ...]:
    """Parse every entry of an operator block. Raises for an unknown operator with entries."""
    op = parse_operator(clause.operator)
    if op is None:
        if not clause.entries:
            return ()  # AWS accepts an unknown operator with an empty body; it tests nothing
        raise PolicyValidationError(
            f"unknown condition operator {clause.operator!r}",
            code="condition.unknown-operator",
            span=clause.span,
            hint="use a canonical operator name such as StringEquals or ForAnyValue:StringLike",
        )
    return tuple(prepare_entry(op, e, variables_enabled=variables_enabled) for e in clause.entries)


# --------------------------------------------------------------------------------------------
# The single-key algorithm (conditions.md §3)


def is_nullish(value: ContextValue) -> bool:
    """A present key whose value is `""` (single) or `[]` (multi) counts as null (§4.8)."""
    return value == "" or value == ()


def match_single(entry: PreparedEntry, value: str, ctx: Context) -> bool:
    """`single(op, x, V)`: OR over the policy values, NOR for negated operators."""
    op = entry.operator
    results = [
        _compare(entry.positive, op.family, value, v.resolve(entry.positive, op.family, ctx))
        for v in entry.values
    ]
    if op.negated:
        return all(r is False for r in results)  # an invalid comparison poisons the NOR
    return any(r is True for r in results)


def evaluate_entry(entry: PreparedEntry, ctx: Context) -> bool:
    """Does this key entry hold for the context? (The `eval` of conditions.md §3.)"""
    op = entry.operator
    present = entry.lookup_key in ctx
    if op.family is Family.NULL:
        absent = not present or is_nullish(ctx[entry.lookup_key])
        return any((v.text.lower() == "true") == absent for v in entry.values)
    if not present:
        if op.if_exists:
            return True
        if op.qualifier is SetQualifier.FOR_ALL_VALUES:
            return True
        if op.qualifier is SetQualifier.FOR_ANY_VALUE:
            return False
        return op.negated
    value = ctx[entry.lookup_key]
    if op.qualifier is None:
        if not isinstance(value, str):
            return False  # multi-valued key without a set qualifier: no match (§3.2)
        return match_single(entry, value, ctx)
    items: Sequence[str] = (value,) if isinstance(value, str) else value
    if is_nullish(value):
        items = ()
    if op.qualifier is SetQualifier.FOR_ANY_VALUE:
        return any(match_single(entry, x, ctx) for x in items)
    return all(match_single(entry, x, ctx) for x in items)


def entry_missing_keys(entry: PreparedEntry, ctx: Context) -> list[str]:
    """Keys this entry referenced that the context lacks (the key, then unresolved variables)."""
    missing = [] if entry.lookup_key in ctx else [entry.lookup_key]
    for value in entry.values:
        if value.template is not None:
            missing.extend(value.template.missing_keys(ctx))
    return missing


@attrs.frozen(slots=True)
class ConditionOutcome:
    """A Condition element's result and the (lower-cased) keys it needed but did not find."""

    matched: bool
    missing_keys: tuple[str, ...] = ()


def evaluate_condition(
    clauses: Sequence[ConditionClause] | None, ctx: Context, *, variables_enabled: bool
) -> ConditionOutcome:
    """AND over operators and keys (conditions.md §2). `ctx` is keyed by lower-cased names.

    Every entry is evaluated (no short-circuit) so that `missing_keys` lists every key the
    Condition referenced and the context lacks, sorted and de-duplicated.
    """
    if not clauses:
        return ConditionOutcome(True)
    matched = True
    missing: set[str] = set()
    for clause in clauses:
        for entry in prepare_clause(clause, variables_enabled=variables_enabled):
            if not evaluate_entry(entry, ctx):
                matched = False
            missing.update(entry_missing_keys(entry, ctx))
    return ConditionOutcome(matched, tuple(sorted(missing)))
