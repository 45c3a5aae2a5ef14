"""DSL text → IR: `parse_dsl`.

The lark parser calls `Builder` inline (LALR, no tree): each grammar rule becomes a small value,
and `statement`/`start` assemble the IR with spans. The readable condition syntax is mapped to
IAM operator names here (shared/design/dsl.md §4.6-§4.8); `unless` is compiled to the single
operator that negates a test exactly, or refused.
"""

from __future__ import annotations

import json
import re
from typing import Any

import attrs
from lark import Token, Transformer

from policylang.errors import PolicyLangError, PolicySyntaxError, PolicyValidationError
from policylang.grammar import _lark
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
    ValueKind,
    Values,
)
from policylang.operators import parse_operator, suggest_operator
from policylang.source import Source, Span

__all__ = ["parse_dsl"]

DEFAULT_VERSION = "2012-10-17"
VERSIONS = frozenset({DEFAULT_VERSION, "2008-10-17", None})

PRINCIPAL_KINDS = {
    "aws": "AWS",
    "service": "Service",
    "federated": "Federated",
    "canonical": "CanonicalUser",
}

# Keys whose values are addresses, dates or numbers: a readable string test on them is refused
# (it would never match as intended); the raw form stays available for a deliberate one.
TYPED_KEYS = {
    "aws:sourceip": "ip",
    "aws:vpcsourceip": "ip",
    "aws:currenttime": "date",
    "aws:tokenissuetime": "date",
    "aws:epochtime": "num",
    "aws:multifactorauthage": "num",
}
_TYPED_WORDS = {"ip": "IP addresses", "date": "dates", "num": "numbers"}


# ---------------------------------------------------------------- intermediate values
# Private and never changed after construction, but not `frozen`: a frozen attrs class costs
# about three times as much to build, and the builder makes one per value.


@attrs.define(slots=True)
class _Val:
    text: str
    span: Span
    kind: ValueKind = ValueKind.STRING
    bare: bool = True


@attrs.define(slots=True)
class _List:
    items: tuple[_Val, ...]
    is_list: bool
    span: Span | None

    def values(self) -> Values:
        return Values(
            tuple(v.text for v in self.items),
            self.is_list,
            span=self.span,
            item_spans=tuple(v.span for v in self.items),
        )


@attrs.define(slots=True)
class _Target:
    values: _List
    negated: bool
    span: Span | None


@attrs.define(slots=True)
class _Test:
    """One parsed test, before it becomes an (operator, entry) pair."""

    key: _Val | None
    span: Span
    quant: str | None = None
    family: str | None = None
    cmp: str | None = None  # "==", "in", "not in", …, "is", "is not", "bare", "raw"
    values: _List | None = None
    if_exists: bool = False
    operator: _Val | None = None  # raw form only


@attrs.define(slots=True)
class _Cond:
    operator: str
    entry: ConditionEntry | None  # None: `Op()` (an operator with an empty body)
    span: Span


@attrs.define(slots=True)
class _Clause:
    kind: str  # "on", "by", "when", "unless", "when-empty"
    span: Span | None
    target: _Target | None = None
    principal: PrincipalSpec | None = None
    tests: tuple[_Test, ...] = ()


@attrs.define(slots=True)
class _Setting:
    kind: str  # "version", "id", "form"
    value: _Val | None
    span: Span


class _IfExists:
    pass


_IF_EXISTS = _IfExists()


def _join(first: Span | None, last: Span | None) -> Span | None:
    if first is None:
        return last
    if last is None:
        return first
    return Span(first.start, last.end, first.line, first.column, last.end_line, last.end_column)


def _tok_span(token: Token) -> Span:
    return _lark.token_span(token)


# ---------------------------------------------------------------- value decoding


def _expand_dollars(text: str, span: Span, offset: int) -> str:
    """Apply the `$` rules: `${…}` verbatim, `$$` → `$`, constants refused (none exist yet)."""
    out: list[str] = []
    i = 0
    while True:
        j = text.find("$", i)
        if j < 0:
            out.append(text[i:])
            return "".join(out)
        out.append(text[i:j])
        nxt = text[j + 1 : j + 2]
        if nxt == "{":
            out.append("${")
            i = j + 2
        elif nxt == "$":
            out.append("$")
            i = j + 2
        elif nxt == "(" or (nxt and (nxt.isalpha() or nxt == "_") and nxt.isascii()):
            m = re.match(r"\$\(?([A-Za-z_][A-Za-z0-9_]*)\)?", text[j:])
            name = m.group(1) if m else nxt
            raise PolicySyntaxError(
                f"unknown constant `${name}`",
                code="dsl.unknown-constant",
                span=_inner_span(span, offset + j),
                hint=f"write `$${name}` for a literal dollar sign followed by `{name}`",
            )
        else:
            raise PolicySyntaxError(
                "a `$` must start `${…}` (an IAM variable), `$$` (a literal dollar) or a name",
                code="dsl.stray-dollar",
                span=_inner_span(span, offset + j),
                hint="write `$$` for a literal dollar sign",
            )


def _inner_span(span: Span, offset: int) -> Span:
    if span.line != span.end_line:
        return span
    return Span(
        span.start + offset, span.start + offset + 1, span.line, span.column + offset,
        span.line, span.column + offset + 1,
    )


def _decode(token: Token) -> _Val:
    text = str(token)
    span = _tok_span(token)
    if token.type == "STRING":
        body = text[1:-1]
        if "\\" in body:
            body = json.loads(text)
        if "$" in body:
            body = _expand_dollars(body, span, 1)
        return _Val(body, span, ValueKind.STRING, bare=False)
    if token.type == "JSONLIT":
        body = text[1:-1]
        kind = ValueKind.BOOLEAN if body in ("true", "false") else ValueKind.NUMBER
        return _Val(body, span, kind, bare=True)
    if "$" in text:
        text = _expand_dollars(text, span, 0)
    return _Val(text, span)


# ---------------------------------------------------------------- the lark callbacks


class Builder(Transformer[Token, Any]):
    """Inline LALR callbacks: rule name → small intermediate values → IR."""

    # values (WORD/STRING/JSONLIT tokens are decoded where a list or test consumes them) ----
    def bare_list(self, children: list[Token]) -> _List:
        items = tuple(_decode(t) for t in children)
        return _List(items, len(items) > 1, _join(items[0].span, items[-1].span))

    def bracket_list(self, children: list[Token]) -> _List:
        items = tuple(_decode(t) for t in children)
        span = _join(items[0].span, items[-1].span) if items else None
        return _List(items, True, span)

    value_list = bracket_list
    cvalue_list = bracket_list

    def one_value(self, children: list[Token]) -> _List:
        item = _decode(children[0])
        return _List((item,), False, item.span)

    one_cvalue = one_value

    # targets (actions, resources) ----------------------------------------------
    def target(self, children: list[_List]) -> _Target:
        return _Target(children[0], False, children[0].span)

    def except_target(self, children: list[Any]) -> _Target:
        star: Token = children[0]
        values: _List = children[1]
        _require_star(star, "`except` follows a lone `*`")
        return _Target(values, True, _join(_tok_span(star), values.span))

    def on_clause(self, children: list[_Target]) -> _Clause:
        return _Clause("on", children[0].span, target=children[0])

    # principals -------------------------------------------------------------------
    def star_principal(self, children: list[Token]) -> PrincipalSpec:
        star = children[0]
        if str(star) != "*":
            raise PolicySyntaxError(
                f"principal `{star}` has no kind",
                code="policy.principal-without-kind",
                span=_tok_span(star),
                hint=f"write its kind: `aws {star}`, `service {star}`, `federated {star}` or "
                f"`canonical {star}`",
            )
        return PrincipalSpec((), is_wildcard=True, span=_tok_span(star))

    def empty_principal(self, children: list[Token]) -> PrincipalSpec:
        return PrincipalSpec((), span=_join(_tok_span(children[0]), _tok_span(children[-1])))

    def pgroup(self, children: list[Any]) -> PrincipalEntry:
        kind: Token = children[0]
        values: _List = children[1]
        return PrincipalEntry(
            PRINCIPAL_KINDS[str(kind)], values.values(), span=_join(_tok_span(kind), values.span)
        )

    def pkind(self, children: list[Token]) -> Token:
        return children[0]

    def pgroups(self, children: list[PrincipalEntry]) -> PrincipalSpec:
        seen: dict[str, PrincipalEntry] = {}
        for entry in children:
            if entry.kind in seen:
                word = next(k for k, v in PRINCIPAL_KINDS.items() if v == entry.kind)
                raise PolicySyntaxError(
                    f"principal kind `{word}` appears twice in one `by` clause",
                    code="syntax.duplicate-principal-kind",
                    span=entry.span,
                    hint=f"put all `{word}` principals in one list: `{word} [a, b]`",
                )
            seen[entry.kind] = entry
        return PrincipalSpec(tuple(children), span=_join(children[0].span, children[-1].span))

    def principals(self, children: list[PrincipalSpec]) -> PrincipalSpec:
        return children[0]

    not_principals = principals

    def not_principal(self, children: list[Any]) -> PrincipalSpec:
        star: Token = children[0]
        inner: PrincipalSpec = children[1]
        _require_star(star, "`except` follows a lone `*`")
        return attrs.evolve(inner, negated=True, span=_join(_tok_span(star), inner.span))

    def by_clause(self, children: list[PrincipalSpec]) -> _Clause:
        return _Clause("by", children[0].span, principal=children[0])

    # conditions ----------------------------------------------------------------------
    def quant(self, children: list[Token]) -> Token:
        return children[0]

    def family(self, children: list[Token]) -> Token:
        return children[0]

    def cmp(self, children: list[Token]) -> Token:
        if len(children) == 2:
            first = children[0]
            return Token.new_borrow_pos("CMP", f"not {children[1]}", first)
        return children[0]

    def ifexists(self, children: list[Token]) -> _IfExists:
        return _IF_EXISTS

    def compare(self, children: list[Any]) -> tuple[str | None, str, _List]:
        if len(children) == 3:
            return (str(children[0]), str(children[1]), children[2])
        return (None, str(children[0]), children[1])

    def is_test(self, children: list[Token]) -> tuple[str | None, str, _List]:
        return (None, "is", self.one_value(children))

    def is_not_test(self, children: list[Token]) -> tuple[str | None, str, _List]:
        return (None, "is not", self.one_value(children))

    def test(self, children: list[Any]) -> _Test:
        quant: str | None = None
        index = 0
        first_span: Span | None = None
        if children[0].type in ("ALL", "ANY"):
            quant = str(children[0])
            first_span = _tok_span(children[0])
            index = 1
        key = _decode(children[index])
        family: str | None = None
        cmp = "bare"
        values: _List | None = None
        if_exists = False
        last_span = key.span
        for child in children[index + 1 :]:
            if isinstance(child, tuple):
                family, cmp, values = child
                last_span = values.span or last_span
            elif child is _IF_EXISTS:
                if_exists = True
        span = _join(first_span or key.span, last_span) or key.span
        return _Test(key, span, quant, family, cmp, values, if_exists)

    def raw_test(self, children: list[Any]) -> _Test:
        operator = _decode(children[0])
        if len(children) == 1:
            return _Test(None, operator.span, cmp="raw", operator=operator)
        key = _decode(children[1])
        values: _List = children[2]
        span = _join(operator.span, values.span or key.span) or operator.span
        return _Test(key, span, cmp="raw", values=values, operator=operator)

    def when_empty(self, children: list[Token]) -> _Clause:
        return _Clause("when-empty", _join(_tok_span(children[0]), _tok_span(children[-1])))

    def when_clause(self, children: list[Any]) -> _Clause:
        if len(children) == 1 and isinstance(children[0], _Clause):
            return children[0]  # `when {}`
        return _Clause("when", _join(children[0].span, children[-1].span), tests=tuple(children))

    def unless_clause(self, children: list[_Test]) -> _Clause:
        return _Clause("unless", children[0].span, tests=(children[0],))

    # statements ------------------------------------------------------------------------
    def annotation(self, children: list[Token]) -> tuple[Token, _Val]:
        return (children[0], _decode(children[1]))

    def effect(self, children: list[Token]) -> Token:
        return children[0]

    def statement(self, children: list[Any]) -> Statement:
        return _build_statement(children)

    # documents ---------------------------------------------------------------------------
    def version_decl(self, children: list[Token]) -> _Setting:
        value = _decode(children[0])
        return _Setting("version", value, value.span)

    def id_decl(self, children: list[Token]) -> _Setting:
        value = _decode(children[0])
        return _Setting("id", value, value.span)

    def form_decl(self, children: list[Token]) -> _Setting:
        return _Setting("form", None, Span(0, 0, 1, 1, 1, 1))

    def start(self, children: list[Statement | _Setting]) -> list[Statement | _Setting]:
        return children

    def account_file(self, children: list[Any]) -> list[Any]:
        return children


def _require_star(word: Token, what: str) -> None:
    if str(word) != "*":
        raise PolicySyntaxError(
            f"{what}, found `{word}`",
            code="syntax.except-without-star",
            span=_tok_span(word),
            hint="`* except a, b` means everything but a and b (NotAction/NotResource/"
            "NotPrincipal); list the values themselves without `except`",
        )


def _build_statement(children: list[Any]) -> Statement:
    sid: str | None = None
    sid_seen: Span | None = None
    index = 0
    first_span: Span | None = None
    while isinstance(children[index], tuple):
        name_tok, value = children[index]
        if first_span is None:
            first_span = _tok_span(name_tok)
        if str(name_tok) != "@sid":
            raise PolicySyntaxError(
                f"unknown annotation `{name_tok}`",
                code="dsl.unknown-annotation",
                span=_tok_span(name_tok),
                hint="the only annotation is `@sid NAME`",
            )
        if sid_seen is not None:
            raise PolicySyntaxError(
                "a statement has at most one `@sid`",
                code="syntax.duplicate-sid-annotation",
                span=_tok_span(name_tok),
            )
        sid_seen = _tok_span(name_tok)
        sid = value.text
        index += 1
    effect_tok: Token = children[index]
    effect = Effect.ALLOW if str(effect_tok) == "allow" else Effect.DENY
    effect_span = _tok_span(effect_tok)
    action_target: _Target = children[index + 1]
    if not action_target.values.items:
        raise PolicySyntaxError(
            "a statement must contain actions",
            code="policy.missing-action",
            span=effect_span,
            hint="name at least one action, e.g. `allow s3:GetObject`, or `allow *`",
        )
    action = ActionSpec(
        action_target.values.values(), action_target.negated, span=action_target.span
    )
    resource: ResourceSpec | None = None
    principal: PrincipalSpec | None = None
    conds: list[_Cond] = []
    has_condition = False
    last_span: Span | None = action_target.span
    for clause in children[index + 2 :]:
        last_span = clause.span or last_span
        if clause.kind == "on":
            if resource is not None:
                raise _duplicate_clause("on", clause.span)
            target = clause.target
            resource = ResourceSpec(target.values.values(), target.negated, span=target.span)
        elif clause.kind == "by":
            if principal is not None:
                raise _duplicate_clause("by", clause.span)
            principal = clause.principal
        elif clause.kind == "when-empty":
            has_condition = True
        else:
            has_condition = True
            for test in clause.tests:
                conds.append(_compile_test(test, negate=clause.kind == "unless"))
    condition = _group(conds) if has_condition else None
    span = _join(first_span or effect_span, last_span)
    return Statement(
        effect, action, resource, principal, condition, sid, span=span
    )


def _duplicate_clause(word: str, span: Span | None) -> PolicySyntaxError:
    return PolicySyntaxError(
        f"a statement has at most one `{word}` clause",
        code="syntax.duplicate-clause",
        span=span,
        hint=f"put all values in one list: `{word} a, b`",
    )


def _group(conds: list[_Cond]) -> tuple[ConditionClause, ...]:
    """Group tests per operator (first appearance order), keeping key order inside each."""
    order: dict[str, list[ConditionEntry]] = {}
    spans: dict[str, Span] = {}
    first_by_key: dict[tuple[str, str], Span] = {}
    for cond in conds:
        entries = order.setdefault(cond.operator, [])
        spans.setdefault(cond.operator, cond.span)
        if cond.entry is None:
            continue
        pair = (cond.operator, cond.entry.key)
        if pair in first_by_key:
            first = first_by_key[pair]
            raise PolicyValidationError(
                f"`{cond.entry.key}` is tested twice with {cond.operator} in one statement "
                f"(first test at line {first.line}, column {first.column})",
                code="policy.duplicate-condition",
                span=cond.span,
                hint="IAM keeps one value list per operator and key: put the values in one "
                "list (`in [a, b]`), or use two statements",
            )
        first_by_key[pair] = cond.span
        entries.append(cond.entry)
    return tuple(
        ConditionClause(op, tuple(entries), span=spans[op]) for op, entries in order.items()
    )


# ---------------------------------------------------------------- tests → operators

_EQ = {"==", "in"}
_NE = {"!=", "not in"}
_ORDERING = {"<": "LessThan", "<=": "LessThanEquals", ">": "GreaterThan", ">=": "GreaterThanEquals"}
_FAMILY_PREFIX = {"num": "Numeric", "date": "Date"}


def _base_operator(test: _Test) -> str:
    """The IAM base operator of a readable comparison, or a positioned error."""
    family, cmp = test.family, test.cmp
    assert cmp is not None
    bad = None
    if family in (None, "nocase"):
        suffix = "IgnoreCase" if family == "nocase" else ""
        if cmp in _EQ:
            return "StringEquals" + suffix
        if cmp in _NE:
            return "StringNotEquals" + suffix
        if family is None and cmp == "like":
            return "StringLike"
        if family is None and cmp == "not like":
            return "StringNotLike"
        bad = (
            "`<`, `<=`, `>`, `>=` compare numbers or dates: write `num <` or `date <`"
            if cmp in _ORDERING
            else "`nocase` takes `==`, `!=`, `in` or `not in`"
        )
    elif family in _FAMILY_PREFIX:
        prefix = _FAMILY_PREFIX[family]
        if cmp in _EQ:
            return prefix + "Equals"
        if cmp in _NE:
            return prefix + "NotEquals"
        if cmp in _ORDERING:
            return prefix + _ORDERING[cmp]
        bad = f"`{family}` takes `==`, `!=`, `in`, `not in`, `<`, `<=`, `>` or `>=`"
    elif family == "ip":
        if cmp == "in":
            return "IpAddress"
        if cmp == "not in":
            return "NotIpAddress"
        bad = "`ip` takes only `in` or `not in` (a single range needs no brackets)"
    elif family == "arn":
        arn = {"like": "ArnLike", "not like": "ArnNotLike"}
        if cmp in _EQ:
            return "ArnEquals"
        if cmp in _NE:
            return "ArnNotEquals"
        if cmp in arn:
            return arn[cmp]
        bad = "`arn` takes `==`, `!=`, `in`, `not in`, `like` or `not like`"
    elif family == "bin":
        if cmp in _EQ:
            return "BinaryEquals"
        bad = "`bin` takes only `==` or `in`"
    raise PolicySyntaxError(
        f"`{family or 'string'}` comparison cannot use `{cmp}`",
        code="policy.invalid-comparator",
        span=test.span,
        hint=bad,
    )


def _compile_test(test: _Test, *, negate: bool) -> _Cond:
    if test.cmp == "raw":
        return _compile_raw(test, negate=negate)
    key = test.key
    assert key is not None
    _check_key(test)
    qualifier = {"all": "ForAllValues:", "any": "ForAnyValue:", None: ""}[test.quant]
    values = test.values
    if test.cmp in ("bare", "is", "is not"):
        if test.cmp == "bare":
            value = _Val("true", key.span)
        else:
            assert values is not None
            value = values.items[0]
        if test.cmp == "is not":
            if value.text != "null" or value.kind is not ValueKind.STRING:
                raise PolicySyntaxError(
                    f"`is not` takes only `null`, found `{value.text}`",
                    code="policy.invalid-condition-value",
                    span=value.span,
                    hint=f"for a flag write `{key.text} is false` (or `is true`)",
                )
            base, text = "Null", "false"
        elif value.text == "null" and value.kind is ValueKind.STRING:
            base, text = "Null", "true"
        elif value.text in ("true", "false") and value.kind is not ValueKind.NUMBER:
            base, text = "Bool", value.text
        else:
            raise PolicySyntaxError(
                f"`is` takes `true`, `false` or `null`, found `{value.text}`",
                code="policy.invalid-condition-value",
                span=value.span,
                hint="for other values use a comparison (`==`, `in`, …) or the raw form "
                "`Bool(key, value)`",
            )
        if base == "Null" and (test.quant or test.if_exists):
            raise PolicySyntaxError(
                "`is null` and `is not null` take neither `all`/`any` nor `if exists`",
                code="policy.invalid-comparator",
                span=test.span,
                hint="the Null operator tests whether the key is present at all",
            )
        kind = value.kind if base == "Bool" else ValueKind.STRING
        if negate:
            if test.quant:
                raise _not_expressible(test, "a test with `all`/`any`")
            text = "false" if text == "true" else "true"
            if_exists = base == "Bool" and not test.if_exists
        else:
            if_exists = test.if_exists
        operator = qualifier + base + ("IfExists" if if_exists else "")
        entry = ConditionEntry(
            key.text, (ConditionValue(text, kind, span=value.span),), False, span=test.span
        )
        return _Cond(operator, entry, test.span)
    assert values is not None
    if test.cmp in ("==", "!=") and values.is_list:
        word = "in" if test.cmp == "==" else "not in"
        raise PolicySyntaxError(
            f"`{test.cmp}` takes one value, found a list",
            code="policy.invalid-comparator",
            span=values.span or test.span,
            hint=f"for a list write `{key.text} {word} [...]`",
        )
    base = _base_operator(test)
    if_exists = test.if_exists
    if negate:
        base, if_exists = _negate(test, base)
    operator = qualifier + base + ("IfExists" if if_exists else "")
    entry = ConditionEntry(
        key.text,
        tuple(ConditionValue(v.text, v.kind, span=v.span) for v in values.items),
        values.is_list,
        span=test.span,
    )
    return _Cond(operator, entry, test.span)


_OPPOSITE = {
    "StringEquals": "StringNotEquals",
    "StringEqualsIgnoreCase": "StringNotEqualsIgnoreCase",
    "StringLike": "StringNotLike",
    "NumericEquals": "NumericNotEquals",
    "DateEquals": "DateNotEquals",
    "IpAddress": "NotIpAddress",
    "ArnEquals": "ArnNotEquals",
    "ArnLike": "ArnNotLike",
}
_POSITIVE = {v: k for k, v in _OPPOSITE.items()}
_ORDER_FLIP = {
    "LessThan": "GreaterThanEquals",
    "LessThanEquals": "GreaterThan",
    "GreaterThan": "LessThanEquals",
    "GreaterThanEquals": "LessThan",
}


def _negate(test: _Test, base: str) -> tuple[str, bool]:
    """The operator (and IfExists) that is exactly `not test` (dsl.md §4.7), or an error."""
    if test.quant:
        raise _not_expressible(test, "a test with `all`/`any`")
    if base in _POSITIVE:
        return _POSITIVE[base], False
    if base in _OPPOSITE:
        if test.if_exists:
            raise _not_expressible(
                test,
                "a positive test with `if exists`",
                "its negation, \"present and different\", needs two tests: "
                "`when KEY is not null` and the opposite comparison",
            )
        return _OPPOSITE[base], False
    for prefix in ("Numeric", "Date"):
        if base.startswith(prefix) and base[len(prefix) :] in _ORDER_FLIP:
            assert test.values is not None
            if len(test.values.items) != 1:
                raise _not_expressible(
                    test,
                    "an ordering test over several values",
                    "IAM ORs the values, so the negation would need an AND; test one value",
                )
            return prefix + _ORDER_FLIP[base[len(prefix) :]], not test.if_exists
    raise _not_expressible(
        test, f"a {base} test", f"IAM has no operator that is the negation of {base}"
    )


def _not_expressible(
    test: _Test, what: str, why: str = "write the opposite test with `when`"
) -> PolicyValidationError:
    return PolicyValidationError(
        f"`unless` cannot negate {what} exactly",
        code="policy.unless-not-expressible",
        span=test.span,
        hint=why,
    )


def _check_key(test: _Test) -> None:
    key = test.key
    assert key is not None
    if "==" in key.text and key.bare:
        raise PolicySyntaxError(
            f"condition key `{key.text}` contains `==`",
            code="syntax.operator-without-spaces",
            span=key.span,
            hint="put spaces around the comparator: `"
            + key.text.replace("==", " == ", 1)
            + "`",
        )
    if test.cmp == "bare" and ":" not in key.text:
        raise PolicySyntaxError(
            f"`{key.text}` is not a condition key (it has no `:`)",
            code="syntax.invalid-condition-key",
            span=key.span,
            hint="a test is `KEY [family] COMPARATOR VALUES`, e.g. `aws:SourceVpc == vpc-1`; "
            "keys look like `service:name`",
        )
    typed = TYPED_KEYS.get(key.text.lower())
    if typed and test.family in (None, "nocase") and test.cmp not in ("bare", "is", "is not"):
        cmp = test.cmp or "=="
        better = "in" if typed == "ip" and cmp in _EQ else ("not in" if typed == "ip" else cmp)
        raise PolicyValidationError(
            f"`{cmp}` compares strings, but `{key.text}` holds {_TYPED_WORDS[typed]}",
            code="policy.string-test-on-typed-key",
            span=test.span,
            hint=f"use the {typed} family: `{key.text} {typed} {better} …`; a deliberate string "
            f"test is written in the raw form, e.g. `StringEquals({key.text}, …)`",
        )


def _compile_raw(test: _Test, *, negate: bool) -> _Cond:
    operator = test.operator
    assert operator is not None
    if negate:
        raise _not_expressible(
            test, "the raw form", "write the negated operator in the raw form after `when`"
        )
    if test.key is not None and parse_operator(operator.text) is None:
        suggestion = suggest_operator(operator.text)
        raise PolicySyntaxError(
            f"unknown condition operator `{operator.text}`",
            code="condition.unknown-operator",
            span=operator.span,
            hint=f"did you mean `{suggestion}`?"
            if suggestion
            else "IAM accepts an unknown operator only with an empty body: "
            f"`{operator.text}()`",
        )
    if test.key is None:
        return _Cond(operator.text, None, test.span)
    values = test.values
    assert values is not None
    entry = ConditionEntry(
        test.key.text,
        tuple(ConditionValue(v.text, v.kind, span=v.span) for v in values.items),
        values.is_list,
        span=test.span,
    )
    return _Cond(operator.text, entry, test.span)


# ---------------------------------------------------------------- documents


def parse_dsl(
    text: str, *, source_name: str = "<string>", kind: PolicyKind | None = None
) -> Policy:
    """Parse one policy document written in the DSL into the IR.

    Raises `PolicySyntaxError` (or `PolicyValidationError` for the few meaning checks the
    syntax needs, e.g. an `unless` IAM cannot express) with the file, line and column. With
    `kind`, the save-time rules of that policy kind are checked too (as `parse_iam_json` does).
    """
    source = Source(source_name, text)
    parser = _lark.dsl_parser()
    try:
        with _lark.collecting_comments(text) as comments:
            items = _lark.parse_fast(parser, text, source)
        assert isinstance(items, list)
        policy = _build_policy(items, comments, source)
        if kind is not None:
            # Imported here: validation sits above the front ends in the module map.
            from policylang.grammar.ir_to_json import format_iam_json
            from policylang.validate import validate_policy

            validate_policy(policy, kind, text=format_iam_json(policy, pretty=False))
        return policy
    except PolicyLangError as error:
        if error.source is None:
            error.source = source
        raise
    except RecursionError:  # pragma: no cover - the grammar has no deep recursion
        raise PolicySyntaxError("the text is nested too deeply", source=source) from None


def _build_policy(
    items: list[Statement | _Setting], comments: list[Token], source: Source
) -> Policy:
    version: str | None = DEFAULT_VERSION
    policy_id: str | None = None
    statement_is_list = True
    seen: dict[str, _Setting] = {}
    statements: list[Statement] = []
    for item in items:
        if isinstance(item, Statement):
            statements.append(item)
            continue
        word = {"version": "version", "id": "id", "form": "statement object"}[item.kind]
        if item.kind in seen:
            raise PolicySyntaxError(
                f"`{word}` is set twice",
                code="syntax.duplicate-setting",
                span=item.span if item.value else None,
                hint=f"a policy has one `{word}`",
            )
        if statements:
            raise PolicySyntaxError(
                f"`{word}` must come before the statements",
                code="syntax.setting-after-statement",
                span=item.span if item.value else None,
                hint=f"move `{word}` to the top of the file",
            )
        seen[item.kind] = item
        if item.kind == "version":
            assert item.value is not None
            version = None if item.value.text == "none" and item.value.bare else item.value.text
        elif item.kind == "id":
            assert item.value is not None
            policy_id = item.value.text
        else:
            statement_is_list = False
    if version not in VERSIONS:
        setting = seen["version"]
        raise PolicySyntaxError(
            f"`{version}` is not a policy language version",
            code="policy.invalid-version",
            span=setting.span,
            hint="use `version 2012-10-17` (the default), `version 2008-10-17` or `version none`",
        )
    if not statements:
        raise PolicySyntaxError(
            "the policy has no statements",
            code="policy.missing-statement",
            span=source.span(len(source.text), len(source.text)),
            hint="add a statement, e.g. `allow s3:GetObject on arn:aws:s3:::bucket/*`",
        )
    if not statement_is_list and len(statements) != 1:
        raise PolicySyntaxError(
            f"`statement object` needs exactly one statement, found {len(statements)}",
            code="syntax.statement-object-count",
            span=source.span(0, 0),
            hint="remove `statement object` (the JSON `Statement` is then a list)",
        )
    statements = [_extend_span(st, source) for st in statements]
    statements_out, head, tail = _attach_comments(statements, comments, source)
    span = source.span(0, len(source.text))
    return Policy(
        tuple(statements_out),
        version,
        policy_id,
        statement_is_list,
        span=span,
        source=source,
        comments=head,
        trailing_comments=tail,
    )


_CLOSING = re.compile(r"\s*(?:[\],)]|if\s+exists\b)")
_SKIP = re.compile(r"(?:\s|#[^\n]*)*")


def _extend_span(statement: Statement, source: Source) -> Statement:
    """Stretch the span over closing tokens the builder does not see (`]`, `)`, `if exists`).

    Those tokens are filtered out before the callbacks run, so a statement's span would end at
    its last value; comments after a closing `]` on a later line must still count as the
    statement's own.
    """
    span = statement.span
    if span is None:
        return statement
    text = source.text
    end = span.end
    while True:
        skipped = _SKIP.match(text, end)
        at = skipped.end() if skipped else end
        closing = _CLOSING.match(text, at)
        if closing is None:
            break
        end = closing.end()
    if end == span.end:
        return statement
    return attrs.evolve(statement, span=source.span(span.start, end))


def _attach_comments(
    statements: list[Statement], comments: list[Token], source: Source
) -> tuple[list[Statement], tuple[str, ...], tuple[str, ...]]:
    """Give each statement the comments before and inside it; the rest go to the policy.

    Comments before the first statement belong to it only when they sit directly above it (no
    blank line in between); otherwise they are the file's header.
    """
    if not comments:
        return statements, (), ()
    texts = [(c.start_pos or 0, c.line or 1, str(c).rstrip()) for c in comments]
    out: list[Statement] = []
    index = 0
    head: list[str] = []
    for number, statement in enumerate(statements):
        assert statement.span is not None
        mine: list[tuple[int, int, str]] = []
        end, end_line = statement.span.end, statement.span.end_line
        while index < len(texts) and (texts[index][0] < end or texts[index][1] == end_line):
            mine.append(texts[index])
            index += 1
        if number == 0 and mine:
            # Split off the header: everything up to the last blank line above the statement.
            start_line = statement.span.line
            lines = source.text.split("\n")
            attached: list[tuple[int, int, str]] = []
            expected_line = start_line - 1
            before = [m for m in mine if m[0] < statement.span.start]
            inside = [m for m in mine if m[0] >= statement.span.start]
            for item in reversed(before):
                if item[1] == expected_line and lines[item[1] - 1].lstrip().startswith("#"):
                    attached.insert(0, item)
                    expected_line -= 1
                else:
                    break
            head = [m[2] for m in before[: len(before) - len(attached)]]
            mine = attached + inside
        trailing = None
        if mine and mine[-1][1] == end_line and mine[-1][0] >= end:
            trailing = mine.pop()[2]
        if mine or trailing:
            statement = attrs.evolve(
                statement, comments=tuple(m[2] for m in mine), trailing_comment=trailing
            )
        out.append(statement)
    rest = [t[2] for t in texts[index:]]
    if not statements:
        return out, tuple(rest), ()
    return out, tuple(head), tuple(rest)
