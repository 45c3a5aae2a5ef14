"""policylang._json: the fast and the located JSON readers agree, and every error is located."""

from __future__ import annotations

import pytest

from policylang._json import (
    MAX_DEPTH,
    JsonArray,
    JsonBool,
    JsonNull,
    JsonNumber,
    JsonObject,
    JsonString,
    NumberText,
    decode_source,
    dumps,
    loads,
    node_to_value,
    parse_located,
)
from policylang.errors import PolicySyntaxError
from policylang.source import Source


def located(text: str | bytes) -> object:
    return parse_located(text, source=Source("t.json", ""))


def test_nodes_keep_positions_and_number_text() -> None:
    text = '{\n  "a": [1.50, true, null, "x\\u00e9"],\n  "b": {}\n}'
    node = located(text)
    assert isinstance(node, JsonObject)
    assert node.keys() == ["a", "b"]
    pair = node.get("a")
    assert pair is not None
    assert (pair.key_span.line, pair.key_span.column) == (2, 3)
    items = pair.value
    assert isinstance(items, JsonArray)
    number, boolean, null, string = items.items
    assert isinstance(number, JsonNumber)
    assert number.text == "1.50"
    assert (number.span.line, number.span.column, number.span.end_column) == (2, 9, 13)
    assert isinstance(boolean, JsonBool)
    assert boolean.value is True
    assert isinstance(null, JsonNull)
    assert isinstance(string, JsonString)
    assert string.value == "xé"
    assert node.span.end_line == 4
    assert node_to_value(node) == {"a": [1.5, True, None, "xé"], "b": {}}
    assert node_to_value(number, exact_numbers=True) == "1.50"


@pytest.mark.parametrize(
    "text",
    [
        '{"a": [1, -2.5e3, "\\"q\\"", {"b": [[], {}]}], "c": false}',
        "[]",
        '"just a string"',
        "  12  ",
        '{"unicode": "\\ud83d\\ude00 😀", "esc": "\\/\\b\\f\\n\\r\\t"}',
    ],
)
def test_fast_and_located_readers_agree(text: str) -> None:
    fast = loads(text, source=Source("t", ""))
    assert node_to_value(located(text)) == fast  # type: ignore[arg-type]


def test_exact_numbers_keep_their_text() -> None:
    value = loads('{"n": [1.50, 2E3, -0]}', source=Source("t", ""), exact_numbers=True)
    assert value == {"n": ["1.50", "2E3", "-0"]}
    assert all(isinstance(n, NumberText) for n in value["n"])


@pytest.mark.parametrize(
    ("text", "code", "line", "column"),
    [
        ('{"a": 1,\n "a": 2}', "json.duplicate-key", 2, 2),
        ('{"a": {"b": 1, "b": 1}}', "json.duplicate-key", 1, 16),
        ('[{"k": 1}, {"k": 2, "k": 3}]', "json.duplicate-key", 1, 21),
        ("", "json.empty", 1, 1),
        ('{"a": 1} {}', "json.trailing-data", 1, 10),
        ('{"a": tru}', "json.syntax", 1, 7),
        ('{"a": "x', "json.unterminated-string", 1, 7),
        ('["\\ud800"]', "json.invalid-string", 1, 2),
        ('{"a": 1,}', "json.syntax", 1, 9),
        ("[" * 100_000, "json.too-deep", 1, MAX_DEPTH + 1),
    ],
)
def test_errors_are_located_identically_on_both_paths(
    text: str, code: str, line: int, column: int
) -> None:
    for read in (located, lambda t: loads(t, source=Source("t.json", ""))):
        with pytest.raises(PolicySyntaxError) as caught:
            read(text)
        error = caught.value
        assert error.code == code
        assert error.span is not None
        assert (error.span.line, error.span.column) == (line, column)
        assert error.source is not None
        assert error.source.name == "t.json"


def test_nesting_limit_of_the_located_reader() -> None:
    ok = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert located(ok) is not None
    with pytest.raises(PolicySyntaxError) as caught:
        located("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    assert caught.value.code == "json.too-deep"
    assert caught.value.span is not None
    assert caught.value.span.column == MAX_DEPTH + 1


def test_duplicates_may_be_allowed_explicitly() -> None:
    assert loads('{"a": 1, "a": 2}', source=Source("t", ""), allow_duplicates=True) == {"a": 2}


def test_non_utf8_bytes_are_located() -> None:
    with pytest.raises(PolicySyntaxError) as caught:
        decode_source(b'{\n  "x": "caf\xe9"\n}', "f.json")
    error = caught.value
    assert error.code == "json.invalid-encoding"
    assert error.span is not None
    assert (error.span.line, error.span.column) == (2, 12)


def test_bom_is_dropped_and_bytes_are_accepted() -> None:
    source = decode_source(b'\xef\xbb\xbf{"a": 1}', "f.json")
    assert source.text == '{"a": 1}'
    assert loads(b'\xef\xbb\xbf{"a": 1}', source=Source("f", "")) == {"a": 1}


def test_dumps_is_deterministic() -> None:
    assert dumps({"b": 1, "a": [True, None]}) == '{"b":1,"a":[true,null]}'
    assert dumps({"a": 1}, pretty=True) == '{\n  "a": 1\n}'
