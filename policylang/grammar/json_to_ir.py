"""IAM JSON → IR, with errors that name the field, the line and the column.

Three entry points: `parse_iam_json` (a whole document), `policy_from_node` (a policy embedded
in a bigger located JSON document, e.g. a simulation case) and `policy_from_value` (plain Python
values, no positions).

Errors name the field with a JSON path: `Statement[2].Condition.StringEquals.aws:SourceIp[0]`
(indexes are 0-based; a single-object `Statement` is just `Statement`), prefixed by the `path`
argument for embedded policies (`policies.identity[0].Statement[1].Action`).

`kind=None` checks structural well-formedness only (policy-grammar §1-§3: what `simulate`
accepts, e.g. any Version, Principal anywhere). `kind=PolicyKind.X` additionally applies the
save-time rules of that kind (`policylang.validate`), in AWS's precedence order (§6).

Structural error codes raised here (all `PolicySyntaxError`; `json.*` codes come from
`policylang._json`, save-time codes from `policylang.validate`):

| code | meaning |
|---|---|
| `policy.not-an-object` | the document (or an embedded policy) is not a JSON object |
| `policy.unknown-element` | a policy or statement key IAM does not know (did-you-mean hint) |
| `policy.wrong-type` | an element has the wrong JSON type (e.g. `Sid` is an array) |
| `policy.invalid-version` | `Version` is not `2012-10-17` or `2008-10-17` |
| `policy.missing-statement` | no `Statement` element |
| `policy.empty-statement` | `Statement: []` |
| `policy.missing-effect` | a statement without `Effect` |
| `policy.invalid-effect` | `Effect` is not Allow/Deny in any letter case |
| `policy.effect-case` | `Effect` is `allow`/`DENY`/…: must be exactly `Allow` or `Deny` |
| `policy.conflicting-elements` | both `Action` and `NotAction` (or Resource/Principal pairs) |
| `policy.missing-action` | no `Action`/`NotAction`, or `[]` (raised by `validate`, stage 5) |
| `principal.invalid` | a `Principal` string other than `"*"` |
| `principal.unknown-type` | a principal key other than AWS, Service, Federated, CanonicalUser |
| `condition.wrong-type` | a Condition block, operator body or value of the wrong JSON type |
| `condition.unknown-operator` | an operator name IAM does not know, with a non-empty body |
"""

from __future__ import annotations

import difflib
import math
import re
from bisect import bisect_right
from typing import Any, Literal

import attrs

from policylang import _json
from policylang._json import (
    JsonArray,
    JsonBool,
    JsonNode,
    JsonNull,
    JsonNumber,
    JsonObject,
    JsonString,
    NumberText,
)
from policylang.errors import PolicyLangError, PolicySyntaxError
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
from policylang.validate import (
    STAGE_LEGACY,
    Limits,
    check_structure,
    check_text,
    validate_policy,
)

__all__ = [
    "POLICY_ELEMENTS",
    "PRINCIPAL_TYPES",
    "STATEMENT_ELEMENTS",
    "parse_iam_json",
    "policy_from_node",
    "policy_from_value",
]

POLICY_ELEMENTS = ("Version", "Id", "Statement")
STATEMENT_ELEMENTS = (
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
)
PRINCIPAL_TYPES = ("AWS", "Service", "Federated", "CanonicalUser")
VERSIONS = ("2012-10-17", "2008-10-17")


# --------------------------------------------------------------------------- entry points


def parse_iam_json(
    data: str | bytes,
    *,
    source_name: str = "<string>",
    kind: PolicyKind | None = None,
    located: bool | Literal["statements"] = True,
    limits: Limits | None = None,
) -> Policy:
    """Parse an IAM JSON policy document.

    `located=True` keeps a span on every IR node. `located="statements"` keeps spans on the
    policy and its statements only (enough for explanations) and parses at nearly the fast
    path's speed. `located=False` parses with the fast C scanner and keeps no spans. In the
    last two modes a bad document is parsed again with the located parser, so errors always
    carry line and column.
    """
    source = _json.decode_source(data, source_name)
    text = source.text
    if kind is not None:
        check_text(text, kind, source=source)
    if located is True:
        node = _json.parse_located(text, source=source)
        return _finish_node(node, source, "", kind, limits, whole=True)
    try:
        builder = _Builder(source, "", spans=False)
        if located == "statements":
            value, offsets = _json.loads_with_offsets(
                text, source=source, key="Statement", exact_numbers=True
            )
            builder.statement_offsets = offsets
        else:
            value = _json.loads(text, source=source, exact_numbers=True)
        policy = builder.policy(value)
        _finish(policy, builder, kind, text, limits, "")
        return policy
    except PolicyLangError:
        pass
    # Same document again with positions: raises the same error, now located.
    node = _json.parse_located(text, source=source)
    return _finish_node(node, source, "", kind, limits, whole=True)


def policy_from_node(
    node: JsonNode,
    *,
    source: Source,
    path: str = "",
    kind: PolicyKind | None = None,
    limits: Limits | None = None,
) -> Policy:
    """A policy embedded in a bigger located JSON document; `path` prefixes error paths."""
    return _finish_node(node, source, path, kind, limits, whole=False)


def policy_from_value(
    value: Any,
    *,
    source_name: str = "<value>",
    path: str = "",
    kind: PolicyKind | None = None,
    limits: Limits | None = None,
) -> Policy:
    """A policy from plain Python values (dict/list/str/int/float/bool); no positions."""
    source = Source(source_name, "")
    builder = _Builder(source, path, spans=False)
    policy = builder.policy(value)
    text = None
    if kind is not None:
        # Size rules need a text: the compact form is what a client would send.
        text = _json.dumps(value)
        check_text(text, kind, source=source, path=path)
    _finish(policy, builder, kind, text, limits, path)
    return policy


def _finish_node(
    node: JsonNode,
    source: Source,
    path: str,
    kind: PolicyKind | None,
    limits: Limits | None,
    *,
    whole: bool,
) -> Policy:
    builder = _Builder(source, path, spans=True)
    policy = builder.policy(node)
    text = None
    if kind is not None:
        text = source.text if whole else source.text[node.start : node.end]
        if not whole:
            check_text(text, kind, source=source, path=path, offset=node.start)
    _finish(policy, builder, kind, text, limits, path)
    return policy


def _finish(
    policy: Policy,
    builder: _Builder,
    kind: PolicyKind | None,
    text: str | None,
    limits: Limits | None,
    path: str,
) -> None:
    if kind is None:
        check_structure(policy, pending=builder.deferred, path=path)
    else:
        validate_policy(
            policy,
            kind,
            text=text,
            limits=limits,
            pending=builder.deferred,
            path=path,
            version_span=builder.version_span,
        )


# --------------------------------------------------------------------------- helpers

_SIMPLE_KEY = re.compile(r"[A-Za-z0-9_:/@$-]+\Z")


def join_path(path: str, key: str) -> str:
    """`path.key`, quoting keys that would be ambiguous (`a["x.y"]`)."""
    part = key if _SIMPLE_KEY.match(key) else '["' + key.replace('"', '\\"') + '"]'
    if not path:
        return part
    return path + part if part.startswith("[") else f"{path}.{part}"


def _suggest(name: str, choices: tuple[str, ...]) -> str | None:
    lowered = {choice.lower(): choice for choice in choices}
    if name.lower() in lowered:
        return lowered[name.lower()]
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    return close[0] if close else None


_TYPE_NAMES: dict[type, str] = {
    JsonObject: "object",
    dict: "object",
    JsonArray: "array",
    list: "array",
    tuple: "array",
    JsonString: "string",
    str: "string",
    JsonNumber: "number",
    NumberText: "number",
    int: "number",
    float: "number",
    JsonBool: "boolean",
    bool: "boolean",
    JsonNull: "null",
    type(None): "null",
}


def _json_type(x: Any) -> str:
    """The JSON type name of a node or a plain value."""
    name = _TYPE_NAMES.get(type(x))
    if name is not None:
        return name
    for cls, cls_name in _TYPE_NAMES.items():  # subclasses, e.g. of dict or str
        if isinstance(x, cls) and not (cls is str and isinstance(x, NumberText)):
            return cls_name
    return type(x).__name__


_NODE_TYPES = (JsonObject, JsonArray, JsonString, JsonNumber, JsonBool, JsonNull)


def _pairs(x: Any) -> list[tuple[str, Any, Any]]:
    """(key, key locator, value) for an object node or a dict."""
    if isinstance(x, JsonObject):
        return [(pair.key, pair, pair.value) for pair in x.pairs]
    return [(str(key), None, value) for key, value in x.items()]


def _items(x: Any) -> tuple[Any, ...]:
    if isinstance(x, JsonArray):
        return x.items
    return tuple(x)


def _string(x: Any) -> str:
    return x.value if isinstance(x, JsonString) else str(x)


def _scalar_text(x: Any) -> tuple[str, ValueKind]:
    """Text and kind of a condition value (strings, numbers, booleans)."""
    if isinstance(x, JsonString):
        return x.value, ValueKind.STRING
    if isinstance(x, JsonNumber):
        return x.text, ValueKind.NUMBER
    if isinstance(x, JsonBool):
        return ("true" if x.value else "false"), ValueKind.BOOLEAN
    if isinstance(x, bool):
        return ("true" if x else "false"), ValueKind.BOOLEAN
    if isinstance(x, NumberText):
        return str(x), ValueKind.NUMBER
    if isinstance(x, str):
        return x, ValueKind.STRING
    if isinstance(x, int):
        return str(x), ValueKind.NUMBER
    assert isinstance(x, float)
    return repr(x), ValueKind.NUMBER


# --------------------------------------------------------------------------- the builder


class _Builder:
    """Builds the IR from located nodes or plain values (the same code for both)."""

    def __init__(self, source: Source, base_path: str, *, spans: bool) -> None:
        self.source = source
        self.base_path = base_path
        self.spans = spans
        # Errors AWS reports in a later stage than syntax (stage, error), e.g. `"Effect":"allow"`.
        self.deferred: list[tuple[int, PolicyLangError]] = []
        self._starts = source._line_starts if spans else [0]
        # (start, end) of each statement when only statements are located.
        self.statement_offsets: list[tuple[int, int]] = []
        self.version_span: Span | None = None

    # --- locations

    def make_span(self, start: int, end: int) -> Span:
        """`Source.span` inlined: spans are built for every IR node of a located parse."""
        starts = self._starts
        i = bisect_right(starts, start) - 1
        first = starts[i]
        if i + 1 < len(starts) and end >= starts[i + 1]:
            j = bisect_right(starts, end) - 1
            return Span(start, end, i + 1, start - first + 1, j + 1, end - starts[j] + 1)
        return Span(start, end, i + 1, start - first + 1, i + 1, end - first + 1)

    def span(self, x: Any) -> Span | None:
        if self.spans and isinstance(x, _NODE_TYPES):
            return self.make_span(x.start, x.end)
        return None

    def pair_span(self, locator: Any, value: Any) -> Span | None:
        """The span from a key to the end of its value."""
        if self.spans and locator is not None:
            return self.make_span(locator.key_start, value.end)
        return None

    def error(
        self,
        message: str,
        code: str,
        x: Any,
        path: str,
        hint: str | None = None,
        *,
        key: Any = None,
    ) -> PolicySyntaxError:
        """A syntax error located at node `x` (or at the key of pair `key`)."""
        span = None
        if key is not None and isinstance(key, _json.JsonPair):
            span = key.key_span
        elif isinstance(x, _NODE_TYPES):
            span = x.span
        full = _prefix(self.base_path, path)
        return PolicySyntaxError(
            message, code=code, span=span, source=self.source, path=full or None, hint=hint
        )

    def wrong_type(self, x: Any, path: str, expected: str) -> PolicySyntaxError:
        name = path.rsplit(".", 1)[-1] if path else "the policy"
        return self.error(
            f"{name} must be {expected}, not {_an(_json_type(x))}",
            "policy.wrong-type",
            x,
            path,
        )

    # --- document

    def policy(self, x: Any) -> Policy:
        if _json_type(x) != "object":
            raise self.error(
                f"a policy document must be a JSON object, not {_an(_json_type(x))}",
                "policy.not-an-object",
                x,
                "",
                hint='a policy looks like {"Version": "2012-10-17", "Statement": [...]}',
            )
        version: str | None = None
        policy_id: str | None = None
        statement_value: Any = None
        statement_key: Any = None
        for key, locator, value in _pairs(x):
            if key == "Version":
                if _json_type(value) != "string":
                    raise self.wrong_type(value, "Version", "a string")
                version = _string(value)
                self.version_span = self.span(value)
                if version not in VERSIONS:
                    raise self.error(
                        f'Version "{version}" is not a policy language version',
                        "policy.invalid-version",
                        value,
                        "Version",
                        hint='use "2012-10-17" (the current language)',
                    )
            elif key == "Id":
                if _json_type(value) != "string":
                    raise self.wrong_type(value, "Id", "a string")
                policy_id = _string(value)
            elif key == "Statement":
                statement_value = value
                statement_key = locator
            else:
                raise self.unknown_element(key, locator, value, "", POLICY_ELEMENTS)
        if statement_value is None:
            raise self.error(
                "the policy has no Statement element",
                "policy.missing-statement",
                x,
                "",
                hint="add a Statement: one statement object or a list of them",
            )
        statement_type = _json_type(statement_value)
        statements: tuple[Statement, ...]
        if statement_type == "object":
            statements = (self.statement(statement_value, "Statement"),)
            is_list = False
        elif statement_type == "array":
            items = _items(statement_value)
            if not items:
                raise self.error(
                    "Statement must not be empty",
                    "policy.empty-statement",
                    statement_value,
                    "Statement",
                    key=statement_key,
                )
            statements = tuple(
                self.statement(item, f"Statement[{index}]") for index, item in enumerate(items)
            )
            is_list = True
        else:
            raise self.wrong_type(statement_value, "Statement", "an object or a list of objects")
        span = self.span(x)
        offsets = self.statement_offsets
        if offsets and len(offsets) == len(statements):
            source = self.source
            statements = tuple(
                attrs.evolve(statement, span=source.span(start, end))
                for statement, (start, end) in zip(statements, offsets, strict=True)
            )
            text = source.text
            end = len(text.rstrip(" \t\r\n"))
            span = source.span(len(text) - len(text.lstrip(" \t\r\n")), end)
        return Policy(
            statements=statements,
            version=version,
            id=policy_id,
            statement_is_list=is_list,
            span=span,
            source=self.source,
        )

    def unknown_element(
        self, key: str, locator: Any, value: Any, path: str, choices: tuple[str, ...]
    ) -> PolicySyntaxError:
        where = "statement" if path else "policy"
        guess = _suggest(key, choices)
        hint = f'did you mean "{guess}"?' if guess else f"valid elements: {', '.join(choices)}"
        return self.error(
            f'unknown {where} element "{key}"',
            "policy.unknown-element",
            value,
            join_path(path, key),
            hint,
            key=locator,
        )

    # --- statement

    def statement(self, x: Any, path: str) -> Statement:
        if type(x) is not dict and type(x) is not JsonObject and _json_type(x) != "object":
            raise self.wrong_type(x, path, "an object")
        sid: str | None = None
        effect: Effect | None = None
        action: ActionSpec | None = None
        resource: ResourceSpec | None = None
        principal: PrincipalSpec | None = None
        condition: tuple[ConditionClause, ...] | None = None
        seen: dict[str, Any] = {}
        for key, locator, value in _pairs(x):
            here = f"{path}.{key}"  # only used for known (plain) element names
            if key == "Sid":
                if _json_type(value) != "string":
                    raise self.wrong_type(value, here, "a string")
                sid = _string(value)
            elif key == "Effect":
                effect = self.effect(value, here)
            elif key in ("Action", "NotAction"):
                self.exclusive(seen, key, "Action", "NotAction", locator, value, path)
                values = self.values(value, here)
                action = ActionSpec(values, key == "NotAction", self.pair_span(locator, value))
            elif key in ("Resource", "NotResource"):
                self.exclusive(seen, key, "Resource", "NotResource", locator, value, path)
                values = self.values(value, here)
                resource = ResourceSpec(
                    values, key == "NotResource", self.pair_span(locator, value)
                )
            elif key in ("Principal", "NotPrincipal"):
                self.exclusive(seen, key, "Principal", "NotPrincipal", locator, value, path)
                principal = self.principal(value, here, key == "NotPrincipal", locator)
            elif key == "Condition":
                condition = self.condition(value, here)
            else:
                raise self.unknown_element(key, locator, value, path, STATEMENT_ELEMENTS)
        if effect is None:
            raise self.error(
                "the statement has no Effect element",
                "policy.missing-effect",
                x,
                path,
                hint='add "Effect": "Allow" or "Effect": "Deny"',
            )
        if action is None:
            # Reported later (AWS stage 5), so Version problems win; an empty list is the same.
            action = ActionSpec(Values((), True), False, None)
        return Statement(
            effect=effect,
            action=action,
            resource=resource,
            principal=principal,
            condition=condition,
            sid=sid,
            span=self.span(x),
        )

    def exclusive(
        self,
        seen: dict[str, Any],
        key: str,
        first: str,
        second: str,
        locator: Any,
        value: Any,
        path: str,
    ) -> None:
        other = second if key == first else first
        if other in seen:
            raise self.error(
                f"a statement cannot have both {first} and {second}",
                "policy.conflicting-elements",
                value,
                join_path(path, key),
                hint=f"keep either {first} or {second}",
                key=locator,
            )
        seen[key] = value

    def effect(self, x: Any, path: str) -> Effect:
        if type(x) is str:
            text = x
        elif type(x) is JsonString:
            text = x.value
        else:
            raise self.wrong_type(x, path, 'the string "Allow" or "Deny"')
        if text == "Allow":
            return Effect.ALLOW
        if text == "Deny":
            return Effect.DENY
        lowered = text.lower()
        if lowered in ("allow", "deny"):
            effect = Effect.ALLOW if lowered == "allow" else Effect.DENY
            self.deferred.append(
                (
                    STAGE_LEGACY,
                    self.error(
                        f'Effect "{text}" is not spelled exactly "{effect.value}"',
                        "policy.effect-case",
                        x,
                        path,
                        hint="Effect must be exactly Allow or Deny (case-sensitive)",
                    ),
                )
            )
            return effect
        raise self.error(
            f'Effect "{text}" is not valid',
            "policy.invalid-effect",
            x,
            path,
            hint="Effect must be exactly Allow or Deny",
        )

    def values(self, x: Any, path: str) -> Values:
        """A string-or-list-of-strings element."""
        # Fast paths for the common shapes; anything else goes through the checks below.
        kind_of = type(x)
        if not self.spans:
            if kind_of is str:
                return Values((x,), False)
            if kind_of is list and all(type(item) is str for item in x):
                return Values(tuple(x), True)
        elif kind_of is JsonString:
            located = self.make_span(x.start, x.end)
            return Values((x.value,), False, located, (located,))
        elif kind_of is JsonArray and all(type(item) is JsonString for item in x.items):
            make = self.make_span
            return Values(
                tuple([item.value for item in x.items]),
                True,
                make(x.start, x.end),
                tuple([make(item.start, item.end) for item in x.items]),
            )
        kind = _json_type(x)
        if kind == "string":
            span = self.span(x)
            return Values((_string(x),), False, span, (span,) if self.spans else ())
        if kind != "array":
            raise self.wrong_type(x, path, "a string or a list of strings")
        items = _items(x)
        texts: list[str] = []
        for index, item in enumerate(items):
            if _json_type(item) != "string":
                raise self.wrong_type(item, f"{path}[{index}]", "a string")
            texts.append(_string(item))
        spans = tuple(self.span(item) for item in items) if self.spans else ()
        return Values(tuple(texts), True, self.span(x), spans)

    # --- principal

    def principal(self, x: Any, path: str, negated: bool, locator: Any) -> PrincipalSpec:
        kind = _json_type(x)
        span = self.pair_span(locator, x)
        if kind == "string":
            text = _string(x)
            if text != "*":
                name = "NotPrincipal" if negated else "Principal"
                raise self.error(
                    f'{name} "{text}" is not valid: a bare string must be "*"',
                    "principal.invalid",
                    x,
                    path,
                    hint=f'write {{"AWS": "{text}"}} (or "Service"/"Federated" as appropriate)',
                )
            return PrincipalSpec((), True, negated, span)
        if kind != "object":
            raise self.wrong_type(x, path, '"*" or an object such as {"AWS": ...}')
        entries: list[PrincipalEntry] = []
        for key, entry_locator, value in _pairs(x):
            here = join_path(path, key)
            if key not in PRINCIPAL_TYPES:
                guess = _suggest(key, PRINCIPAL_TYPES)
                hint = (
                    f'did you mean "{guess}"?'
                    if guess
                    else f"principal types: {', '.join(PRINCIPAL_TYPES)}"
                )
                raise self.error(
                    f'unknown principal type "{key}"',
                    "principal.unknown-type",
                    value,
                    here,
                    hint,
                    key=entry_locator,
                )
            values = self.values(value, here)
            entries.append(PrincipalEntry(key, values, self.pair_span(entry_locator, value)))
        return PrincipalSpec(tuple(entries), False, negated, span)

    # --- condition

    def condition(self, x: Any, path: str) -> tuple[ConditionClause, ...]:
        if _json_type(x) != "object":
            raise self.condition_type(x, path, "an object mapping operators to {key: values}")
        clauses: list[ConditionClause] = []
        for operator, locator, body in _pairs(x):
            here = join_path(path, operator)
            if _json_type(body) != "object":
                raise self.condition_type(body, here, "an object mapping keys to values")
            pairs = _pairs(body)
            if pairs and parse_operator(operator) is None:
                guess = suggest_operator(operator)
                hint = (
                    f'did you mean "{guess}"?'
                    if guess
                    else "operators look like StringEquals, ForAnyValue:StringLike, "
                    "NumericLessThanIfExists"
                )
                raise self.error(
                    f'unknown condition operator "{operator}"',
                    "condition.unknown-operator",
                    body,
                    here,
                    hint,
                    key=locator,
                )
            entries = tuple(
                self.condition_entry(key, entry_locator, value, join_path(here, key))
                for key, entry_locator, value in pairs
            )
            clauses.append(ConditionClause(operator, entries, self.pair_span(locator, body)))
        return tuple(clauses)

    def condition_entry(self, key: str, locator: Any, x: Any, path: str) -> ConditionEntry:
        kind = _json_type(x)
        if kind in ("string", "number", "boolean"):
            return ConditionEntry(
                key, (self.condition_value(x, path),), False, self.pair_span(locator, x)
            )
        if kind != "array":
            raise self.condition_type(x, path, "a string, number, boolean or a list of them")
        values: list[ConditionValue] = []
        for index, item in enumerate(_items(x)):
            if _json_type(item) not in ("string", "number", "boolean"):
                raise self.condition_type(
                    item, f"{path}[{index}]", "a string, number or boolean"
                )
            values.append(self.condition_value(item, f"{path}[{index}]"))
        return ConditionEntry(key, tuple(values), True, self.pair_span(locator, x))

    def condition_value(self, x: Any, path: str) -> ConditionValue:
        if type(x) is float and not math.isfinite(x):
            raise self.error(
                f"condition values must be finite numbers, not {x!r}",
                "condition.wrong-type",
                x,
                path,
            )
        text, kind = _scalar_text(x)
        return ConditionValue(text, kind, self.span(x))

    def condition_type(self, x: Any, path: str, expected: str) -> PolicySyntaxError:
        name = path.rsplit(".", 1)[-1] if path else "Condition"
        return self.error(
            f"{name} must be {expected}, not {_an(_json_type(x))}",
            "condition.wrong-type",
            x,
            path,
        )


def _prefix(base: str, path: str) -> str:
    """`base` + relative `path` (`policies[0]` + `Statement[1]`)."""
    if not base or not path:
        return base or path
    return base + path if path.startswith("[") else f"{base}.{path}"


def _an(noun: str) -> str:
    return f"an {noun}" if noun[:1] in "aeiou" else f"a {noun}"
