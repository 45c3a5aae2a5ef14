"""The fast LALR driver (`_lark.parse_fast`) answers exactly as lark's own parser does.

Every golden and bad-DSL file, and damaged copies of the goldens (cut short, a token dropped,
a token doubled), go through both paths: the same policy, or the same error text.
"""

from __future__ import annotations

import pathlib
import random
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import attrs
import pytest

from policylang.errors import PolicyLangError
from policylang.grammar import _lark
from policylang.grammar.account_decl import parse_account_dsl
from policylang.grammar.dsl_to_ir import parse_dsl

TESTS = pathlib.Path(__file__).resolve().parents[2]
FILES = sorted(
    [*TESTS.glob("golden/**/*.policy"), *TESTS.glob("bad_dsl/cases/*.policy")]
)
ACCOUNT = pathlib.Path(__file__).with_name("acme_account.policy")


@contextmanager
def lark_driver() -> Iterator[None]:
    fast = _lark.parse_fast
    _lark.parse_fast = lambda parser, text, source: _lark.parse_with(  # type: ignore[assignment]
        parser.parse, text, source
    )
    try:
        yield
    finally:
        _lark.parse_fast = fast


def deep(value: object) -> object:
    """Every field, spans and comments included (IR equality leaves spans out)."""
    if attrs.has(type(value)):
        return (
            type(value).__name__,
            tuple(
                (f.name, deep(getattr(value, f.name)))
                for f in attrs.fields(type(value))
                if f.name != "source"
            ),
        )
    if isinstance(value, (tuple, list)):
        return tuple(deep(v) for v in value)
    return value


def outcome(parse: Callable[[str], object], text: str) -> object:
    try:
        return deep(parse(text))
    except PolicyLangError as error:
        return ("error", error.render(snippet=True))


def both(parse: Callable[[str], object], text: str) -> tuple[object, object]:
    fast = outcome(parse, text)
    with lark_driver():
        slow = outcome(parse, text)
    return fast, slow


def test_the_corpus_is_there() -> None:
    assert len(FILES) > 150


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_same_answer_on_the_corpus(path: pathlib.Path) -> None:
    fast, slow = both(parse_dsl, path.read_text(encoding="utf-8"))
    assert fast == slow


def test_same_answer_on_an_account_file() -> None:
    text = ACCOUNT.read_text(encoding="utf-8")
    fast, slow = both(parse_account_dsl, text)
    assert fast == slow
    assert isinstance(fast, tuple)
    assert fast[0] != "error"
    for cut in range(0, len(text), max(1, len(text) // 40)):
        fast, slow = both(parse_account_dsl, text[:cut])
        assert fast == slow


_LEXEME = re.compile(r'"(?:[^"\\\n]|\\.)*"|[^\s,\[\](){}]+|[,\[\](){}]')


def _damaged(text: str, rng: random.Random) -> Iterator[str]:
    spans = [m.span() for m in _LEXEME.finditer(text)]
    if not spans:
        return
    for _ in range(3):
        start, end = rng.choice(spans)
        yield text[:start] + text[end:]  # a token dropped
        yield text[:end] + " " + text[start:end] + text[end:]  # a token doubled
        yield text[:end]  # cut short after a token


def test_same_answer_on_damaged_goldens() -> None:
    rng = random.Random(5)
    checked = 0
    errors = 0
    for path in FILES[::3]:
        for text in _damaged(path.read_text(encoding="utf-8"), rng):
            fast, slow = both(parse_dsl, text)
            assert fast == slow, text
            checked += 1
            errors += isinstance(fast, tuple)
    assert checked > 300
    assert errors > 50  # the damage does reach the error paths


@pytest.mark.parametrize(
    "text",
    [
        "# c\r\nallow s3:x\r\n\ton *   # t\r\n  when aws:SecureTransport\r\n",
        "\ufeffallow * on *",
        'allow s3:x on *\n  when a:b == "x\\ny" and c:d num < (3)\n',
        "allow s3:x on *\r\n oops",
        "allow on on on by aws by when when == when",
    ],
)
def test_same_answer_on_line_ends_tabs_and_keywords_as_values(text: str) -> None:
    fast, slow = both(parse_dsl, text)
    assert fast == slow
