"""Condition operator names: the catalogue and the parse of `ForAnyValue:StringLikeIfExists`.

Only names live here; what each operator computes is `conditions.py`. Names are matched
case-sensitively against the canonical spellings (policy-grammar.md §3.6).
"""

from __future__ import annotations

import difflib
import enum

import attrs


class Family(enum.Enum):
    STRING = "String"
    NUMERIC = "Numeric"
    DATE = "Date"
    BOOL = "Bool"
    BINARY = "Binary"
    IP = "IpAddress"
    ARN = "Arn"
    NULL = "Null"


class SetQualifier(enum.Enum):
    FOR_ALL_VALUES = "ForAllValues"
    FOR_ANY_VALUE = "ForAnyValue"


# base operator -> (family, negated)
BASE_OPERATORS: dict[str, tuple[Family, bool]] = {
    "StringEquals": (Family.STRING, False),
    "StringNotEquals": (Family.STRING, True),
    "StringEqualsIgnoreCase": (Family.STRING, False),
    "StringNotEqualsIgnoreCase": (Family.STRING, True),
    "StringLike": (Family.STRING, False),
    "StringNotLike": (Family.STRING, True),
    "NumericEquals": (Family.NUMERIC, False),
    "NumericNotEquals": (Family.NUMERIC, True),
    "NumericLessThan": (Family.NUMERIC, False),
    "NumericLessThanEquals": (Family.NUMERIC, False),
    "NumericGreaterThan": (Family.NUMERIC, False),
    "NumericGreaterThanEquals": (Family.NUMERIC, False),
    "DateEquals": (Family.DATE, False),
    "DateNotEquals": (Family.DATE, True),
    "DateLessThan": (Family.DATE, False),
    "DateLessThanEquals": (Family.DATE, False),
    "DateGreaterThan": (Family.DATE, False),
    "DateGreaterThanEquals": (Family.DATE, False),
    "Bool": (Family.BOOL, False),
    "BinaryEquals": (Family.BINARY, False),
    "IpAddress": (Family.IP, False),
    "NotIpAddress": (Family.IP, True),
    "ArnEquals": (Family.ARN, False),
    "ArnLike": (Family.ARN, False),
    "ArnNotEquals": (Family.ARN, True),
    "ArnNotLike": (Family.ARN, True),
    "Null": (Family.NULL, False),
}

# Families whose values are subject to policy-variable substitution (conditions.md §5.2).
VARIABLE_FAMILIES = frozenset({Family.STRING, Family.ARN, Family.BOOL})


@attrs.frozen(slots=True)
class Operator:
    """A parsed operator name."""

    text: str
    base: str
    family: Family
    negated: bool
    if_exists: bool = False
    qualifier: SetQualifier | None = None


_CACHE: dict[str, Operator | None] = {}


def parse_operator(text: str) -> Operator | None:
    """Parse an operator name; None when it is not a known operator spelled canonically."""
    try:
        return _CACHE[text]
    except KeyError:
        pass
    result = _parse(text)
    _CACHE[text] = result
    return result


def _parse(text: str) -> Operator | None:
    qualifier = None
    rest = text
    for q in SetQualifier:
        if text.startswith(q.value + ":"):
            qualifier = q
            rest = text[len(q.value) + 1 :]
            break
    if_exists = False
    if rest.endswith("IfExists") and rest != "IfExists":
        if_exists = True
        rest = rest[: -len("IfExists")]
    info = BASE_OPERATORS.get(rest)
    if info is None:
        return None
    family, negated = info
    if family is Family.NULL and (if_exists or qualifier is not None):
        return None
    return Operator(text, rest, family, negated, if_exists, qualifier)


def all_operator_names() -> list[str]:
    """Every accepted spelling (used for did-you-mean hints)."""
    names: list[str] = []
    for base, (family, _) in BASE_OPERATORS.items():
        forms = [base] if family is Family.NULL else [base, base + "IfExists"]
        names.extend(forms)
        if family is not Family.NULL:
            for q in SetQualifier:
                names.extend(f"{q.value}:{f}" for f in forms)
    return names


def suggest_operator(text: str) -> str | None:
    """The closest canonical operator name to a misspelled one, if any is close enough."""
    names = all_operator_names()
    by_lower = {n.lower(): n for n in names}
    if text.lower() in by_lower:
        return by_lower[text.lower()]
    if "::" in text:
        fixed = text.replace("::", ":")
        if parse_operator(fixed) is not None:
            return fixed
    close = difflib.get_close_matches(text, names, n=1, cutoff=0.75)
    return close[0] if close else None
