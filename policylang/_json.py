"""JSON in and out: the only module that imports orjson.

Two readers:

* `loads` — the fast path (a C scanner), for bulk data. Duplicate keys are rejected (spec
  policy-grammar §1.3) unless the caller opts out; any error is re-diagnosed with the located
  parser so it still carries a line and column.
* `parse_located` — a pure-Python scanner that keeps a `Span` on every node (`JsonObject`,
  `JsonArray`, `JsonString`, `JsonNumber`, `JsonBool`, `JsonNull`) and the exact text of
  numbers. It is iterative, so deep nesting is a located error (`json.too-deep`), never a
  `RecursionError`.

Error codes raised here (all `PolicySyntaxError`):

| code | meaning |
|---|---|
| `json.invalid-encoding` | bytes that are not UTF-8 |
| `json.empty` | no JSON value at all |
| `json.syntax` | an unexpected character or token |
| `json.unterminated-string` | a string with no closing quote |
| `json.invalid-string` | a control character, bad escape or lone surrogate in a string |
| `json.trailing-data` | more text after the top-level value |
| `json.too-deep` | nesting deeper than `MAX_DEPTH` |
| `json.duplicate-key` | the same key twice in one object |
"""

from __future__ import annotations

import json
import json.scanner
import re
from collections.abc import Callable
from typing import Any, TypeAlias

import attrs
import orjson

from policylang.errors import PolicySyntaxError
from policylang.source import Source, Span

__all__ = [
    "MAX_DEPTH",
    "NOT_CANONICAL",
    "JsonArray",
    "JsonBool",
    "JsonNode",
    "JsonNull",
    "JsonNumber",
    "JsonObject",
    "JsonPair",
    "JsonString",
    "NumberText",
    "decode_source",
    "dumps",
    "dumps_bytes",
    "loads",
    "loads_canonical",
    "loads_with_offsets",
    "node_to_value",
    "parse_located",
    "type_name",
]

MAX_DEPTH = 256
"""Deepest accepted nesting of arrays/objects (a real policy needs 5)."""


# --------------------------------------------------------------------------- nodes
# Nodes keep character offsets and compute their `Span` on demand: building a Span for every
# token would make the located parser several times slower on large documents.


class _Located:
    """`span` from the node's character offsets (attrs ignores these annotations: typing only)."""

    __slots__ = ()
    start: int
    end: int
    source: Source

    @property
    def span(self) -> Span:
        return self.source.span(self.start, self.end)


@attrs.frozen(slots=True)
class JsonString(_Located):
    value: str
    start: int
    end: int
    source: Source = attrs.field(eq=False, repr=False)


@attrs.frozen(slots=True)
class JsonNumber(_Located):
    """A number, kept as its exact text (`1.50` stays `1.50`)."""

    text: str
    start: int
    end: int
    source: Source = attrs.field(eq=False, repr=False)


@attrs.frozen(slots=True)
class JsonBool(_Located):
    value: bool
    start: int
    end: int
    source: Source = attrs.field(eq=False, repr=False)


@attrs.frozen(slots=True)
class JsonNull(_Located):
    start: int
    end: int
    source: Source = attrs.field(eq=False, repr=False)


@attrs.frozen(slots=True)
class JsonArray(_Located):
    items: tuple[JsonNode, ...]
    start: int
    end: int
    source: Source = attrs.field(eq=False, repr=False)


@attrs.frozen(slots=True)
class JsonPair:
    key: str
    key_start: int
    key_end: int
    value: JsonNode
    source: Source = attrs.field(eq=False, repr=False)

    @property
    def key_span(self) -> Span:
        return self.source.span(self.key_start, self.key_end)


@attrs.frozen(slots=True)
class JsonObject(_Located):
    """An object; `pairs` in document order (keys are unique: duplicates are an error)."""

    pairs: tuple[JsonPair, ...]
    start: int
    end: int
    source: Source = attrs.field(eq=False, repr=False)

    def get(self, key: str) -> JsonPair | None:
        for pair in self.pairs:
            if pair.key == key:
                return pair
        return None

    def keys(self) -> list[str]:
        return [pair.key for pair in self.pairs]


JsonNode: TypeAlias = "JsonObject | JsonArray | JsonString | JsonNumber | JsonBool | JsonNull"


def type_name(node: JsonNode) -> str:
    """The JSON type of a node as users know it: object, array, string, number, boolean, null."""
    if isinstance(node, JsonObject):
        return "object"
    if isinstance(node, JsonArray):
        return "array"
    if isinstance(node, JsonString):
        return "string"
    if isinstance(node, JsonNumber):
        return "number"
    if isinstance(node, JsonBool):
        return "boolean"
    return "null"


def node_to_value(node: JsonNode, *, exact_numbers: bool = False) -> Any:
    """Plain Python value of a node (numbers: int when integral text, else float, or
    `NumberText` with `exact_numbers`)."""
    if isinstance(node, JsonString):
        return node.value
    if isinstance(node, JsonObject):
        return {
            pair.key: node_to_value(pair.value, exact_numbers=exact_numbers) for pair in node.pairs
        }
    if isinstance(node, JsonArray):
        return [node_to_value(item, exact_numbers=exact_numbers) for item in node.items]
    if isinstance(node, JsonNumber):
        text = node.text
        if exact_numbers:
            return NumberText(text)
        if "." in text or "e" in text or "E" in text:
            return float(text)
        return int(text)
    if isinstance(node, JsonBool):
        return node.value
    return None


# --------------------------------------------------------------------------- text decoding


def decode_source(data: str | bytes, name: str) -> Source:
    """A `Source` for `data`; bytes must be UTF-8 (a leading BOM is dropped)."""
    if isinstance(data, str):
        return Source(name, data[1:] if data.startswith("\ufeff") else data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        prefix = data[: error.start].decode("utf-8", "replace")
        source = Source(name, data.decode("utf-8", "replace"))
        offset = len(prefix)
        raise PolicySyntaxError(
            f"the input is not valid UTF-8 (byte 0x{data[error.start]:02x} at byte offset "
            f"{error.start})",
            code="json.invalid-encoding",
            span=source.span(offset, offset + 1),
            source=source,
            hint="save the file as UTF-8",
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return Source(name, text)


def _bind_source(data: str | bytes, source: Source) -> Source:
    """Make `source` hold the decoded text of `data` (the caller's Source names the input)."""
    text = data if isinstance(data, str) else decode_source(data, source.name).text
    if source.text != text:
        source.text = text
        source.__dict__.pop("_line_starts", None)  # drop the cached line index
    return source


# --------------------------------------------------------------------------- fast path


class NumberText(str):
    """A JSON number kept as its exact text (`loads(..., exact_numbers=True)`)."""

    __slots__ = ()


def loads(
    data: str | bytes,
    *,
    source: Source,
    allow_duplicates: bool = False,
    exact_numbers: bool = False,
) -> Any:
    """Decode JSON quickly. Errors (including duplicate keys) are located `PolicySyntaxError`s.

    With `allow_duplicates=True` the last duplicate wins, as in most JSON libraries. With
    `exact_numbers=True` numbers come back as `NumberText` (a `str` holding the exact text).
    The nesting limit is the C scanner's (about 1,000 levels, reported as `json.too-deep`);
    `parse_located` stops at `MAX_DEPTH`.
    """
    try:
        if allow_duplicates and not exact_numbers:
            return orjson.loads(data)
        text = data if isinstance(data, str) else data.decode("utf-8")
        if text.startswith("\ufeff"):
            text = text[1:]
        if _SURROGATE_ESCAPE.search(text) is None:
            return _DECODERS[exact_numbers, allow_duplicates](text)
        # The C scanner accepts unpaired surrogates; the located parser checks them.
        return node_to_value(parse_located(text, source=source), exact_numbers=exact_numbers)
    except (ValueError, RecursionError):
        pass
    # Slow path: the located parser finds and explains the problem.
    parse_located(data, source=source)
    # Both parsers must agree; if the located one accepted, report the generic failure.
    raise PolicySyntaxError(
        "the input is not valid JSON", code="json.syntax", source=source
    )


NOT_CANONICAL: Any = object()
"""What `loads_canonical` returns for text that is not in compact canonical form."""


def loads_canonical(data: bytes) -> Any:
    """`data` decoded, when it is exactly orjson's compact text of its value; else `NOT_CANONICAL`.

    For bulk input written by a compact encoder (JSON lines): three to four times faster than
    `loads`, with the same strictness. When the text re-encodes to the very same bytes it holds
    no duplicate key (the encoder never writes one), no whitespace, no surrogate escape and no
    number spelt two ways, so `loads` would return an equal value; any other text (including
    every malformed one) gives `NOT_CANONICAL` and the caller uses `loads`.
    """
    try:
        value = orjson.loads(data)
        if orjson.dumps(value) == data:
            return value
    except (orjson.JSONDecodeError, orjson.JSONEncodeError):
        pass
    return NOT_CANONICAL


_SURROGATE_ESCAPE = re.compile(r"\\[uU][dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


class _DuplicateKeyError(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _DuplicateKeyError("duplicate key")
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _make_decoder(exact_numbers: bool, allow_duplicates: bool) -> Callable[[str], Any]:
    number = NumberText if exact_numbers else None
    decoder = json.JSONDecoder(
        object_pairs_hook=None if allow_duplicates else _no_duplicates,
        parse_constant=_reject_constant,
        parse_float=number,
        parse_int=number,
    )
    return decoder.decode


_DECODERS = {
    (exact, dup): _make_decoder(exact, dup) for exact in (False, True) for dup in (False, True)
}


_SPACE = re.compile(r"[ \t\n\r]*")


def _make_scanner(exact_numbers: bool) -> Callable[[str, int], tuple[Any, int]]:
    number = NumberText if exact_numbers else None
    decoder = json.JSONDecoder(
        object_pairs_hook=_no_duplicates,
        parse_constant=_reject_constant,
        parse_float=number,
        parse_int=number,
    )
    scanner: Callable[[str, int], tuple[Any, int]] = json.scanner.make_scanner(decoder)  # type: ignore[arg-type]
    return scanner


_SCANNERS = {exact: _make_scanner(exact) for exact in (False, True)}


def loads_with_offsets(
    data: str, *, source: Source, key: str, exact_numbers: bool = False
) -> tuple[Any, list[tuple[int, int]]]:
    """`loads` that also returns where the top-level object's `key` member lies.

    The offsets are (start, end) of each item when the member is an array, else of the member
    value itself: e.g. the statements of a policy, located at the fast scanner's speed.
    """
    text = data
    if _SURROGATE_ESCAPE.search(text) is not None or not text.lstrip(" \t\n\r").startswith("{"):
        return loads(text, source=source, exact_numbers=exact_numbers), []
    scan = _SCANNERS[exact_numbers]
    space = _SPACE.match

    def skip(pos: int) -> int:
        match = space(text, pos)
        return match.end() if match is not None else pos

    scanstring = json.decoder.scanstring  # type: ignore[attr-defined]
    offsets: list[tuple[int, int]] = []
    pairs: list[tuple[str, Any]] = []
    try:
        pos = skip(0) + 1  # past the `{`
        pos = skip(pos)
        if text[pos] == "}":
            pos += 1
        else:
            while True:
                if text[pos] != '"':
                    raise ValueError("expected a key")
                name, pos = scanstring(text, pos + 1)
                pos = skip(pos)
                if text[pos] != ":":
                    raise ValueError("expected ':'")
                pos = skip(pos + 1)
                value: Any
                if name == key and text[pos] == "[":
                    items: list[Any] = []
                    pos = skip(pos + 1)
                    if text[pos] == "]":
                        pos += 1
                    else:
                        while True:
                            start = pos
                            item, pos = scan(text, pos)
                            items.append(item)
                            offsets.append((start, pos))
                            pos = skip(pos)
                            char = text[pos]
                            pos += 1
                            if char == "]":
                                break
                            if char != ",":
                                raise ValueError("expected ',' or ']'")
                            pos = skip(pos)
                    value = items
                else:
                    start = pos
                    value, pos = scan(text, pos)
                    if name == key:
                        offsets.append((start, pos))
                pairs.append((name, value))
                pos = skip(pos)
                char = text[pos]
                pos += 1
                if char == "}":
                    break
                if char != ",":
                    raise ValueError("expected ',' or '}'")
                pos = skip(pos)
        if skip(pos) != len(text):
            raise ValueError("trailing data")
        return _no_duplicates(pairs), offsets
    except (ValueError, IndexError, StopIteration, RecursionError):
        pass
    parse_located(text, source=source)  # raises the located error
    raise PolicySyntaxError("the input is not valid JSON", code="json.syntax", source=source)


def dumps_bytes(value: Any) -> bytes:
    """`dumps(value)` as UTF-8 bytes, without a decode and re-encode (for keys and digests)."""
    return orjson.dumps(value)


def dumps(value: Any, *, pretty: bool = False) -> str:
    """Deterministic JSON text (keys in insertion order; `pretty` = 2-space indent)."""
    option = orjson.OPT_INDENT_2 if pretty else 0
    return orjson.dumps(value, option=option).decode("utf-8")


# --------------------------------------------------------------------------- located parser

_TOKEN = re.compile(
    r"""[ \t\n\r]*(?:
      (?P<s>"[^"\\\x00-\x1f]*(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\x00-\x1f]*)*")
     |(?P<p>[{}\[\]:,])
     |(?P<n>-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)
     |(?P<l>true|false|null)
     |(?P<e>.)
     |(?P<end>$)
    )""",
    re.VERBOSE | re.DOTALL,
)

# parser states
_VALUE = 0  # expecting a value
_VALUE_OR_CLOSE_ARRAY = 1  # just after `[`
_KEY_OR_CLOSE = 2  # just after `{`
_KEY = 3  # after `,` in an object
_COLON = 4
_COMMA_OR_CLOSE = 5  # after a value inside a container
_DONE = 6


def parse_located(data: str | bytes, *, source: Source) -> JsonNode:
    """Parse JSON keeping the position of every node.

    `source` names the input; it receives the decoded text, so node spans and error snippets
    point into it.
    """
    source = _bind_source(data, source)
    text = source.text

    def fail(message: str, code: str, at: int, width: int = 1, hint: str | None = None) -> None:
        end = max(min(at + width, len(text)), at)
        raise PolicySyntaxError(
            message, code=code, span=source.span(at, end), source=source, hint=hint
        )

    # Open containers: [is_object, start, items, keys, pending key, key start, key end].
    stack: list[list[Any]] = []
    state = _VALUE
    result: JsonNode | None = None
    scanstring = json.decoder.scanstring  # type: ignore[attr-defined]
    value: Any
    node: JsonNode

    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind == "s":
            begin, end = match.span("s")
            value = text[begin + 1 : end - 1]
            if "\\" in value:
                value = scanstring(text, begin + 1)[0]
                if _SURROGATE.search(value) is not None:
                    fail(
                        "string contains an unpaired surrogate escape",
                        "json.invalid-string",
                        begin,
                        end - begin,
                    )
            if state in (_KEY_OR_CLOSE, _KEY):
                frame = stack[-1]
                keys = frame[3]
                if value in keys:
                    fail(
                        f'duplicate key "{value}" in the same object',
                        "json.duplicate-key",
                        begin,
                        end - begin,
                        hint="each key may appear once per object; merge the two entries",
                    )
                keys.add(value)
                frame[4] = value
                frame[5] = begin
                frame[6] = end
                state = _COLON
                continue
            if state > _VALUE_OR_CLOSE_ARRAY:
                _unexpected(fail, state, text[begin:end], begin)
            node = JsonString(value, begin, end, source)
        elif kind == "p":
            begin = match.start("p")
            ch = text[begin]
            if ch == ",":
                if state != _COMMA_OR_CLOSE:
                    _unexpected(fail, state, ch, begin)
                state = _KEY if stack[-1][0] else _VALUE
                continue
            if ch == ":":
                if state != _COLON:
                    _unexpected(fail, state, ch, begin)
                state = _VALUE
                continue
            if ch == "{" or ch == "[":
                if state > _VALUE_OR_CLOSE_ARRAY:
                    _unexpected(fail, state, ch, begin)
                if len(stack) >= MAX_DEPTH:
                    fail(
                        f"JSON nesting deeper than {MAX_DEPTH} levels",
                        "json.too-deep",
                        begin,
                        hint="a policy document needs only a few levels of nesting",
                    )
                if ch == "{":
                    stack.append([True, begin, [], set(), "", 0, 0])
                    state = _KEY_OR_CLOSE
                else:
                    stack.append([False, begin, [], None, "", 0, 0])
                    state = _VALUE_OR_CLOSE_ARRAY
                continue
            # a closing bracket
            if not stack or stack[-1][0] != (ch == "}"):
                _unexpected(fail, state, ch, begin)
            if state != _COMMA_OR_CLOSE and state != _KEY_OR_CLOSE and state != (
                _VALUE_OR_CLOSE_ARRAY
            ):
                if state in (_KEY, _VALUE):
                    fail(
                        f"trailing comma before '{ch}'",
                        "json.syntax",
                        begin,
                        hint="JSON does not allow a comma after the last item",
                    )
                _unexpected(fail, state, ch, begin)
            frame = stack.pop()
            if frame[0]:
                node = JsonObject(tuple(frame[2]), frame[1], begin + 1, source)
            else:
                node = JsonArray(tuple(frame[2]), frame[1], begin + 1, source)
        elif kind == "n":
            begin, end = match.span("n")
            if state > _VALUE_OR_CLOSE_ARRAY:
                _unexpected(fail, state, text[begin:end], begin)
            node = JsonNumber(text[begin:end], begin, end, source)
        elif kind == "l":
            begin, end = match.span("l")
            if state > _VALUE_OR_CLOSE_ARRAY:
                _unexpected(fail, state, text[begin:end], begin)
            if end - begin == 4 and text[begin] == "n":
                node = JsonNull(begin, end, source)
            else:
                node = JsonBool(text[begin] == "t", begin, end, source)
        elif kind == "e":
            begin = match.start("e")
            if state == _DONE:
                fail(
                    "unexpected text after the JSON value",
                    "json.trailing-data",
                    begin,
                    hint="a policy file holds exactly one JSON value",
                )
            if text[begin] == '"':
                _bad_string(fail, text, begin)
            _unexpected(fail, state, text[begin], begin)
            continue
        else:  # end of the text
            if state == _DONE:
                break
            begin = match.start("end")
            if not stack and state == _VALUE:
                fail("the input is empty: expected a JSON value", "json.empty", begin)
            line, column = source.position(stack[-1][1])
            what = "object" if stack[-1][0] else "array"
            fail(
                f"unexpected end of input: the {what} opened at line {line}, column {column} "
                "is not closed",
                "json.syntax",
                begin,
            )
            continue

        # A complete value: attach it to the open container, or it is the result.
        if stack:
            frame = stack[-1]
            if frame[0]:
                frame[2].append(JsonPair(frame[4], frame[5], frame[6], node, source))
            else:
                frame[2].append(node)
            state = _COMMA_OR_CLOSE
        else:
            result = node
            state = _DONE
    assert result is not None
    return result


_EXPECTED = {
    _VALUE: "a value",
    _VALUE_OR_CLOSE_ARRAY: "a value or ']'",
    _KEY_OR_CLOSE: "a quoted key or '}'",
    _KEY: "a quoted key",
    _COLON: "':'",
    _COMMA_OR_CLOSE: "',' or a closing bracket",
    _DONE: "the end of the input",
}


def _unexpected(fail: Callable[..., None], state: int, token: str, at: int) -> None:
    shown = token if len(token) < 20 else token[:17] + "..."
    hint = None
    if state in (_KEY, _KEY_OR_CLOSE) and token not in "{}[]:,":
        hint = "object keys must be double-quoted strings"
    elif token == "'":
        hint = "JSON strings use double quotes"
    code = "json.trailing-data" if state == _DONE else "json.syntax"
    fail(f"unexpected {shown!r}: expected {_EXPECTED[state]}", code, at, len(token), hint)


def _bad_string(fail: Callable[..., None], text: str, begin: int) -> None:
    """Explain why the string starting at `begin` did not scan."""
    try:
        json.decoder.scanstring(text, begin + 1)  # type: ignore[attr-defined]
    except json.JSONDecodeError as error:
        if error.msg.startswith("Unterminated"):
            fail("unterminated string", "json.unterminated-string", begin)
        if error.msg.startswith("Invalid control"):
            fail(
                "control character inside a string",
                "json.invalid-string",
                error.pos,
                hint="write control characters as escapes (\\n, \\t, \\u0001)",
            )
        fail(
            "invalid escape sequence in a string",
            "json.invalid-string",
            error.pos,
            hint='valid escapes are \\" \\\\ \\/ \\b \\f \\n \\r \\t and \\uXXXX',
        )
    fail("invalid string", "json.invalid-string", begin)
