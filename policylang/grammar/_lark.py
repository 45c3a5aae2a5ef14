"""Build the lark parsers once and turn lark's exceptions into `PolicySyntaxError`.

The DSL parser is LALR with the contextual lexer and an inline transformer (the IR builder of
`dsl_to_ir`), so no parse tree is built. `parse_fast` runs lark's tables and callbacks through
a leaner driver of its own (`_FastDriver`: one scanner regex, keywords decided by the parser
state, no `Tree` for inlined rules) and hands any text it does not accept to lark itself, so
results and errors are lark's. Lark exceptions never leave this package: `translate` renders
them with line, column, the expected tokens in words (the error's `expected:` line) and, where
a known mistake matches, a hint (shared/design/dsl.md §10).
"""

from __future__ import annotations

import contextvars
import functools
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken
from lark.parse_tree_builder import ChildFilter, ChildFilterLALR_NoPlaceholders
from lark.parsers.lalr_analysis import Shift as _SHIFT

from policylang.errors import PolicySyntaxError, join_alternatives
from policylang.source import Source, Span

# Comments seen by the lexer during the current parse (the parser is shared, the list is not).
_COMMENTS: contextvars.ContextVar[list[Token] | None] = contextvars.ContextVar(
    "policylang_dsl_comments", default=None
)


def _collect_comment(token: Token) -> Token:
    sink = _COMMENTS.get()
    if sink is not None:
        sink.append(token)
    return token


_TEXT: contextvars.ContextVar[str] = contextvars.ContextVar("policylang_dsl_text", default="")
_WORD_CHAR = re.compile(r"[A-Za-z0-9_.:/*?+~%^=@$-]")


def _keyword_boundary(token: Token) -> Token:
    """Refuse a keyword glued to more word characters (`number` is not `num` + `ber`)."""
    text = _TEXT.get()
    end = token.end_pos or 0
    if end < len(text) and _WORD_CHAR.match(text, end):
        start = token.start_pos or 0
        stop = end
        while stop < len(text) and _WORD_CHAR.match(text, stop):
            stop += 1
        word = text[start:stop]
        source = Source("<string>", text)
        suggestion = _close_keyword(word)
        raise PolicySyntaxError(
            f"unexpected word `{word}`",
            code="syntax.unexpected-token",
            span=source.span(start, stop),
            hint=f"did you mean `{suggestion}`?" if suggestion else None,
        )
    return token


@contextmanager
def collecting_comments(text: str = "") -> Iterator[list[Token]]:
    """Collect the `#` comments the lexer skips while the block runs."""
    sink: list[Token] = []
    reset = _COMMENTS.set(sink)
    reset_text = _TEXT.set(text)
    try:
        yield sink
    finally:
        _COMMENTS.reset(reset)
        _TEXT.reset(reset_text)


_KEYWORD_TERMINALS = (
    "VERSION", "ID", "STATEMENT", "OBJECT", "ALLOW", "DENY", "ON", "EXCEPT", "BY", "AWS",
    "SERVICE", "FEDERATED", "CANONICAL", "AND", "WHEN", "UNLESS", "ALL", "ANY", "IS", "NOT",
    "NOCASE", "NUM", "DATE", "IP", "ARN", "BIN", "IN", "LIKE", "IF", "EXISTS",
    "ACCOUNT", "PARTITION", "ALIAS", "POLICY", "PATH", "DESCRIPTION", "TAG", "USER", "GROUP",
    "ROLE", "MEMBERS", "ATTACH", "BOUNDARY", "TRUST", "ASSUMABLE", "RESOURCE", "MAX_SESSION",
    "INSTANCE_PROFILE",
)


def _build(start: str) -> Lark:
    # Imported here: the builder lives next to the IR it builds, and imports this module.
    from policylang.grammar.dsl_to_ir import Builder

    return Lark.open_from_package(
        "policylang.grammar",
        "policy.lark",
        ("",),
        start=start,
        parser="lalr",
        lexer="contextual",
        maybe_placeholders=False,
        transformer=Builder(),
        lexer_callbacks={
            "COMMENT": _collect_comment,
            **{name: _keyword_boundary for name in _KEYWORD_TERMINALS},
        },
    )


@functools.cache
def dsl_parser() -> Lark:
    """The policy-file parser, built on first use; `parse(text)` returns the builder's items."""
    return _build("start")


@functools.cache
def account_parser() -> Lark:
    """The account-file parser (`account_file`), built on first use."""
    return _build("account_file")


def _reducer(rule: Any, callback: Any) -> Callable[[list[Any]], Any]:
    """A rule's reduction, same result as lark's callback (child filter + builder) but cheaper.

    Lark builds a `Tree` for every `_rule` and `__x_star_n` helper, only for the parent to
    splice its children in; here those rules yield their filtered children as a plain list
    and parents splice the list. Anything else keeps lark's own callback.
    """
    if isinstance(callback, ChildFilterLALR_NoPlaceholders):
        include: list[tuple[int, bool]] | None = list(callback.to_include)
        build = callback.node_builder
    elif isinstance(callback, ChildFilter):  # pragma: no cover - other filter kinds
        raise _Unsupported(str(rule))
    else:
        include = None
        build = callback
    inline = str(rule.origin.name).startswith("_")
    if inline and not (isinstance(build, functools.partial) and not build.keywords):
        raise _Unsupported(str(rule))  # pragma: no cover - a `_rule` with a method of its own
    if include is None:
        if inline:
            return list
        return build  # type: ignore[no-any-return]
    if all(not expand for _, expand in include):
        indices = [i for i, _ in include]
        if inline:
            return lambda children: [children[i] for i in indices]
        return lambda children: build([children[i] for i in indices])
    if len(include) == 1:  # one spliced child: its list is the result (nothing else holds it)
        only = include[0][0]
        if inline:
            return lambda children: children[only]
        return lambda children: build(children[only])

    def reduce(children: list[Any]) -> Any:
        filtered: list[Any] | None = None
        for i, expand in include:
            if filtered is None:
                # A spliced child's list is fresh and unshared: extend it in place (as lark's
                # left-recursion shortcut does) rather than copy it.
                filtered = children[i] if expand else [children[i]]
            elif expand:
                filtered += children[i]
            else:
                filtered.append(children[i])
        return filtered if inline else build(filtered)

    return reduce


@functools.cache
def _fast_driver(parser: Lark) -> _FastDriver:
    return _FastDriver(parser)


@functools.cache
def _terminal_words() -> dict[str, str]:
    """Terminal name -> how an error message names it."""
    words = {
        "WORD": "a value",
        "STRING": "a value",
        "JSONLIT": "a value",
        "ANNOTATION": "`@sid`",
        "EQUAL": "`=`",
        "$END": "end of file",
    }
    for terminal in dsl_parser().terminals:
        if terminal.name not in words and terminal.pattern.type == "str":
            words[terminal.name] = f"`{terminal.pattern.value}`"
    return words


def _word_for(name: str) -> str:
    # Account-file keywords are named after their text (MAX_SESSION is `max-session`).
    return _terminal_words().get(name) or f"`{name.lower().replace('_', '-')}`"


# Tokens that can only begin a new top-level item.
_NEXT_ITEM = frozenset(
    {"ALLOW", "DENY", "ANNOTATION", "VERSION", "ID", "STATEMENT", "ACCOUNT", "$END"}
)
_ORDER = [
    "COMMA", "RSQB", "RPAR", "RBRACE", "LSQB", "LPAR", "LBRACE", "EXCEPT", "ON", "BY", "WHEN",
    "AND", "UNLESS", "ALL", "ANY", "NOCASE", "NUM", "DATE", "IP", "ARN", "BIN",
    "__ANON_0", "__ANON_1", "IN", "NOT", "LIKE", "LESSTHAN", "__ANON_2", "MORETHAN", "__ANON_3",
    "IS", "IF", "EXISTS", "AWS", "SERVICE", "FEDERATED", "CANONICAL", "OBJECT", "WORD",
]


_COMPARATORS = frozenset(
    {"__ANON_0", "__ANON_1", "IN", "NOT", "LIKE", "LESSTHAN", "__ANON_2", "MORETHAN", "__ANON_3"}
)
_FAMILIES = frozenset({"NOCASE", "NUM", "DATE", "IP", "ARN", "BIN"})
_STATEMENT_START = frozenset({"ALLOW", "DENY", "ANNOTATION"})


def describe_expected(names: set[str]) -> list[str]:
    """The expected terminals in words: punctuation, keywords, values, the next item."""
    words = _terminal_words()
    extra: list[str] = []
    if names >= _COMPARATORS:
        names = names - _COMPARATORS
        extra.append("a comparator (`==`, `!=`, `in`, `not in`, `like`, `<`, …)")
    if names >= _FAMILIES:
        names = names - _FAMILIES
        extra.append("a family (`num`, `date`, `ip`, `arn`, `nocase`, `bin`)")
    if "IS" in names and "IF" in names:
        names = names - {"IS", "IF"}
        extra.extend(["`is`", "`if exists`"])
    if names & _NEXT_ITEM and names & _NEXT_ITEM <= _STATEMENT_START:
        names = names - _STATEMENT_START
        extra.append("`allow`, `deny` or `@sid`")
    rank = {name: i for i, name in enumerate(_ORDER)}
    out: list[str] = []
    seen: set[str] = set()
    for name in sorted(names - _NEXT_ITEM, key=lambda n: (rank.get(n, len(rank)), n)):
        word = words.get(name) or _word_for(name)
        if word not in seen:
            seen.add(word)
            out.append(word)
    out = (extra + out)[:8]
    nexts = names & _NEXT_ITEM
    if len(nexts) > 1:
        out.append("the start of the next statement")
    elif nexts:
        out.append(words.get(next(iter(nexts)), "end of file"))
    return out


def join_words(words: list[str]) -> str:
    return join_alternatives(words)


def token_span(token: Token) -> Span:
    start = token.start_pos or 0
    end = token.end_pos if token.end_pos is not None else start
    line = token.line or 1
    column = token.column or 1
    end_line = token.end_line if token.end_line is not None else line
    end_column = token.end_column if token.end_column is not None else column
    return Span(start, end, line, column, end_line, end_column)


_CLAUSE_KEYWORDS = frozenset({"on", "by", "when", "unless", "and", "except"})
_ACCEPTS_VALUE = frozenset({"WORD", "STRING"})


def translate(error: UnexpectedInput, source: Source) -> PolicySyntaxError:
    """A lark exception as a `PolicySyntaxError` with expected tokens and a hint."""
    if isinstance(error, UnexpectedCharacters):
        return _unexpected_character(error, source)
    if isinstance(error, UnexpectedToken):
        return _unexpected_token(error, source)
    offset = getattr(error, "pos_in_stream", None) or 0
    return PolicySyntaxError(
        "the text does not parse", code="syntax.error", span=source.span(offset, offset),
        source=source,
    )


def _unexpected_character(error: UnexpectedCharacters, source: Source) -> PolicySyntaxError:
    text = source.text
    pos = error.pos_in_stream or 0
    char = text[pos] if pos < len(text) else ""
    span = source.span(pos, pos + 1)
    expected = describe_expected(set(error.allowed or ()))
    hint: str | None = None
    message = f"unexpected character `{char}`"
    code = "syntax.unexpected-character"
    rest_of_line = text[pos:].split("\n", 1)[0]
    if char == "'":
        inner = rest_of_line[1:].split("'", 1)[0]
        hint = f'strings use double quotes: `"{inner}"`'
    elif char == "#":
        word_start = pos
        while word_start > 0 and not text[word_start - 1].isspace():
            word_start -= 1
        word = re.split(r"[\s,\]\)]", text[word_start:], maxsplit=1)[0]
        message = "`#` inside a value"
        expected = []
        hint = (
            "`#` starts a comment only at the start of a line or after a space; "
            f'to keep it in the value, quote the value: `"{word}"`'
        )
    elif char == ";":
        hint = "statements need no `;`: a statement ends where the next one begins"
    elif char == "/" and rest_of_line.startswith("//"):
        hint = "comments start with `#`"
    elif char == "{" and not text[:pos].strip():
        hint = "this looks like IAM JSON; convert it with `policylang to-dsl FILE.json`"
    elif char == "$" and rest_of_line.startswith("${"):
        word_start = pos
        while word_start > 0 and not text[word_start - 1].isspace():
            word_start -= 1
        end = text.find("}", pos)
        word = text[word_start : end + 1] if end >= 0 else rest_of_line
        message = "an IAM variable with a space, quote or comma cannot be part of a bare value"
        hint = f'quote the whole value: `"{word}…"`'
        expected = []
    elif char == "$":
        code = "dsl.stray-dollar"
        message = "a `$` must start `${…}` (an IAM variable), `$$` (a literal dollar) or a name"
        hint = "write `$$` for a literal dollar sign, or quote the value"
        expected = []
    elif char in "=@":
        hint = f'a value cannot start with `{char}`; quote it: `"{rest_of_line.split()[0]}"`'
    elif char and not char.isascii():
        word_start = pos
        while word_start > 0 and not text[word_start - 1].isspace():
            word_start -= 1
        word = re.split(r"[\s,\]\)]", text[word_start:], maxsplit=1)[0]
        hint = f'non-ASCII text must be quoted: `"{word}"`'
    elif char == "(":
        hint = (
            "a parenthesised value must be a JSON number or `true`/`false`, e.g. `(3600)`; "
            "otherwise quote the value"
        )
    elif char == '"' and '"' not in rest_of_line[1:]:
        hint = 'close the string with `"` on the same line (write a line break as `\\n`)'
    elif char == '"':
        hint = "check the string's escapes: JSON rules (`\\\"`, `\\\\`, `\\n`, `\\uXXXX`)"
    return PolicySyntaxError(
        message, code=code, span=span, source=source, hint=hint, expected=tuple(expected)
    )


def _safe_accepts(error: UnexpectedToken) -> set[str]:
    try:
        return set(error.accepts)
    except Exception:  # computing `accepts` replays the parser; fall back rather than fail
        return set(error.expected)


def _stack(error: UnexpectedToken) -> list[object]:
    parser = error.interactive_parser
    if parser is None:
        return []
    return list(parser.parser_state.value_stack)


def _unexpected_token(error: UnexpectedToken, source: Source) -> PolicySyntaxError:
    token = error.token
    accepts = _safe_accepts(error)
    expected = describe_expected(accepts)
    stack = _stack(error)
    tokens = [v for v in stack if isinstance(v, Token)]
    # The token just before the error, when it is still a token on the stack.
    previous = stack[-1] if stack and isinstance(stack[-1], Token) else None
    if token.type == "$END":
        offset = len(source.text)
        span = source.span(offset, offset)
        message = "unexpected end of file"
        hint = None
        if previous is not None and previous.type == "COMMA":
            hint = "remove the trailing comma, or add the missing item"
        elif (previous is not None and previous.type == "ANNOTATION") or (
            accepts <= _STATEMENT_START
        ):
            hint = "an annotation belongs to the statement below it"
        return PolicySyntaxError(
            message, code="syntax.unexpected-end", span=span, source=source, hint=hint,
            expected=tuple(expected),
        )
    span = token_span(token)
    shown = str(token)
    message = f"unexpected `{shown}`"
    code = "syntax.unexpected-token"
    hint = _token_hint(token, previous, stack, tokens, accepts, source)
    before = stack[-2] if len(stack) >= 2 else None
    if token.type == "AND" and _last_clause(tokens) == "UNLESS":
        code = "syntax.unless-with-and"
        expected = []
        message = "`unless` takes exactly one test, found `and`"
        hint = (
            "`unless A and B` would mean \"not (A and B)\", which IAM cannot express; "
            "for \"neither\" write one `unless` per test: `unless A unless B`"
        )
    elif (
        previous is not None
        and previous.type in _ACCEPTS_VALUE
        and str(previous) in _CLAUSE_KEYWORDS
        and isinstance(before, Token)
        and before.type == "COMMA"
    ):
        code = "syntax.keyword-as-value"
        expected = []
        message = (
            f"`{previous}` was read as a value because it follows a comma; "
            f"found `{shown}` after it"
        )
        hint = f"remove the comma before `{previous}`"
        span = token_span(previous)
    return PolicySyntaxError(
        message, code=code, span=span, source=source, hint=hint, expected=tuple(expected)
    )


def _last_clause(tokens: list[Token]) -> str | None:
    for tok in reversed(tokens):
        if tok.type in ("WHEN", "UNLESS", "ON", "BY", "ALLOW", "DENY"):
            return tok.type
    return None


_KIND_SPELLINGS = {
    "AWS": "aws", "Service": "service", "Federated": "federated", "CanonicalUser": "canonical",
    "user": "aws", "role": "aws", "account": "aws",
}


def _token_hint(
    token: Token,
    previous: Token | None,
    stack: list[object],
    tokens: list[Token],
    accepts: set[str],
    source: Source,
) -> str | None:
    text = str(token)
    at_start = not stack
    if at_start and text == "account":
        return "this is an account file; read it with the account model, not as a policy"
    if at_start and token.type == "LBRACE":
        return "this looks like IAM JSON; convert it with `policylang to-dsl FILE.json`"
    if token.type == "WORD" and text.startswith("//"):
        return "comments start with `#`"
    if token.type == "WORD" and text in ("Allow", "Deny", "ALLOW", "DENY") and (
        "ALLOW" in accepts
    ):
        return f"effects are lowercase: `{text.lower()}`"
    if token.type == "WORD" and at_start:
        return "a policy is a list of statements that start with `allow` or `deny`"
    if token.type == "RPAR" and "COMMA" in accepts:
        return "the raw form is `Operator(key, values)`, or `Operator()` for an empty body"
    if token.type == "COMMA" and "RPAR" in accepts:
        return "the raw form takes one key and one value or a list: `Operator(key, [a, b])`"
    if token.type == "COMMA" and previous is not None and previous.type == "COMMA":
        return "remove the extra comma"
    if token.type == "RSQB" and "RSQB" not in accepts:
        return "this `]` has no matching `[`"
    if "RSQB" in accepts and "COMMA" in accepts and text in _CLAUSE_KEYWORDS:
        return f"close the list with `]` before `{text}`"
    if token.type == "LPAR" and ("WORD" in accepts or "STRING" in accepts):
        return (
            "`(…)` marks a condition value that is a JSON number or boolean, e.g. `(3600)` or "
            "`(false)`; otherwise quote the value"
        )
    if token.type == "JSONLIT":
        return (
            "`(…)` marks a JSON number or boolean and is allowed only as a condition value; "
            "write the value plainly"
        )
    if token.type == "EXCEPT":
        return "`except` follows a lone `*`: `* except a, b`"
    if token.type == "LBRACE":
        return "braces appear only in `by {}` and `when {}` (empty Principal or Condition)"
    if "RBRACE" in accepts:
        return "`when {}` stands for an empty Condition block; tests follow `when` directly"
    if "AWS" in accepts and token.type == "WORD":
        if previous is not None and previous.type == "COMMA":
            return "several principals of one kind go in brackets: `aws [a, b]`"
        return f"write the principal's kind: `aws {text}`, `service {text}`, `federated {text}`"
    before = stack[-2] if len(stack) >= 2 else None
    if (
        token.type in _ACCEPTS_VALUE
        and previous is not None
        and previous.type == "WORD"
        and isinstance(before, Token)
        and before.type == "BY"
    ):
        kind = _KIND_SPELLINGS.get(str(previous))
        if kind:
            return (
                "principal kinds are `aws`, `service`, `federated` and `canonical`: "
                f"`{kind} {text}`"
            )
        return f"a principal needs its kind: `aws {previous}`"
    if token.type == "EQUAL" and "WORD" in accepts:
        return 'a value cannot start with `=`; quote it'
    if token.type in _ACCEPTS_VALUE and ("__ANON_0" in accepts or "IN" in accepts):
        suggestion = _close_keyword(text)
        if suggestion:
            return f"did you mean `{suggestion}`?"
        return (
            "a test is `KEY [family] COMPARATOR VALUES` (`==`, `!=`, `in`, `not in`, `like`, "
            "`<`, …), `KEY is true|false|null`, or `Operator(KEY, VALUES)`"
        )
    if token.type == "LSQB" and previous is not None and previous.type in ("__ANON_0", "__ANON_1"):
        word = "in" if previous.type == "__ANON_0" else "not in"
        return f"`{previous}` takes one value; for a list write `{word} [...]`"
    if token.type == "AND":
        return "`and` joins the tests of a `when` clause: start with `when`"
    prev_is_value = previous is not None and previous.type in _ACCEPTS_VALUE
    if token.type in _ACCEPTS_VALUE and prev_is_value and previous is not None:
        clause = _last_clause(tokens)
        if clause in ("ALLOW", "DENY") and (text.startswith("arn:") or text == "*"):
            return f"resources follow `on`: `on {text}`"
        if clause == "ON" and ":" in text and not text.startswith("arn:"):
            return f"conditions start with `when`: `when {text} …`"
        if ":" in text and ":" in str(previous) and "COMMA" in accepts:
            return f"separate list items with commas: `{previous}, {text}`"
        if previous.end_line == token.line:
            line = source.line_text(previous.line or 1)
            start = (previous.column or 1) - 1
            phrase = re.split(r"[,\]\)]|\s#", line[start:], maxsplit=1)[0].strip()
            return f'a value with spaces must be quoted: `"{phrase}"`'
        if "COMMA" in accepts:
            return f"separate list items with commas: `{previous}, {text}`"
    return None


_KEYWORDS = (
    "nocase", "num", "date", "ip", "arn", "bin", "in", "like", "not", "is", "if", "exists",
    "and", "when", "unless", "on", "by", "except",
)


def _close_keyword(text: str) -> str | None:
    import difflib

    close = difflib.get_close_matches(text.lower(), _KEYWORDS, n=1, cutoff=0.6)
    return close[0] if close else None


def parse_with(parse: Callable[[str], object], text: str, source: Source) -> object:
    """Run `parse`, turning lark errors into `PolicySyntaxError` located in `source`."""
    try:
        return parse(text)
    except UnexpectedInput as error:
        raise translate(error, source) from None


def parse_fast(parser: Lark, text: str, source: Source) -> object:
    """Parse `text` with `parser`'s tables through the fast driver (same result as
    `parser.parse`); on any input the driver does not handle, lark itself parses the text
    again, so errors are exactly lark's (translated as by `parse_with`)."""
    sink = _COMMENTS.get()
    mark = len(sink) if sink is not None else 0
    try:
        return _fast_driver(parser).parse(text, sink)
    except _Fallback:
        if sink is not None:
            del sink[mark:]
    return parse_with(parser.parse, text, source)


class _Fallback(Exception):
    """The fast driver met something it leaves to lark (usually a syntax error)."""


class _Unsupported(Exception):
    """A grammar feature the fast driver does not reproduce: lark parses every text."""


# The fast driver's scanner: one alternation, one match per lexeme. Group order matters only
# where two can match at one place: JSONLIT `(1)` before the punctuation `(`, longer
# punctuation (`<=`) before shorter (`<`).
_LEXEME = (
    # Spaces within a line are skipped as part of the next match (one match per token, not
    # two); whitespace with a line break is its own lexeme, to count lines.
    r"[ \t\r]*(?:"
    r"(?P<WS>\n[ \t\r\n]*)"
    r"|(?P<EOF>\Z)"
    r"|(?P<COMMENT>(?<!\S)#[^\n]*)"
    r"|(?P<WORD>{word})"
    r"|(?P<STRING>{string})"
    r"|(?P<JSONLIT>{jsonlit})"
    r"|(?P<ANNOTATION>{annotation})"
    r"|(?P<PUNCT>{punct})"
    r")"
)


class _FastDriver:
    """An LALR driver over lark's own tables and callbacks, with a hand-made lexer.

    Lark's contextual lexer runs one regex per lexeme and then its keyword callbacks; here a
    single scanner cuts the text into lexemes and the parser state decides what a word is: a
    keyword when the state accepts that keyword, else a WORD (that is what the contextual
    lexer does: a keyword is an ordinary value wherever only a value can follow). Anything
    else the state does not accept raises `_Fallback`, and lark's own parser reports it, so the
    two parsers differ only in speed.
    """

    def __init__(self, parser: Lark) -> None:
        lalr = parser.parser.parser.parser  # ParsingFrontend -> LALR_Parser -> _Parser
        table = lalr.parse_table
        self.start_state: int = next(iter(table.start_states.values()))
        self.end_state: int = next(iter(table.end_states.values()))
        self.callbacks: dict[object, Callable[[list[object]], object]] = lalr.callbacks
        self.supported = True
        try:
            self.table = self._table(table)
        except _Unsupported:  # pragma: no cover - the grammar uses no such feature today
            self.supported = False
            self.table = {}
        patterns = {t.name: t.pattern for t in parser.terminals}
        word_re = re.compile(patterns["WORD"].to_regexp())
        self.keywords: dict[str, str] = {}
        punct: dict[str, str] = {}
        for name, pattern in patterns.items():
            if pattern.type != "str":
                continue
            value = pattern.value
            match = word_re.fullmatch(value)
            if match is not None:
                self.keywords[value] = name
            else:
                punct[value] = name
        self.punct = punct
        self.scanner = re.compile(
            _LEXEME.format(
                word=patterns["WORD"].to_regexp(),
                string=patterns["STRING"].to_regexp(),
                jsonlit=patterns["JSONLIT"].to_regexp(),
                annotation=patterns["ANNOTATION"].to_regexp(),
                punct="|".join(re.escape(p) for p in sorted(punct, key=lambda p: -len(p))),
            )
        )
        # A terminal with a callback of its own (none today) takes lark's path.
        self.has_terminal_callbacks = any(isinstance(key, str) for key in self.callbacks)

    def _table(self, table: Any) -> dict[int, dict[str, tuple[bool, Any]]]:
        # The table with plain-str keys and each reduction unpacked once: (True, state) for a
        # shift, (False, (length, callback, goal)) for a reduction (lark's rule names are
        # Tokens, whose comparisons are slow).
        return {
            state: {
                str(name): (
                    (True, arg)
                    if action is _SHIFT
                    else (False, (len(arg.expansion), _reducer(arg, self.callbacks[arg]),
                                  str(arg.origin.name)))
                )
                for name, (action, arg) in row.items()
            }
            for state, row in table.states.items()
        }

    def parse(self, text: str, comments: list[Token] | None) -> object:
        if self.has_terminal_callbacks or not self.supported:
            raise _Fallback
        table = self.table
        end_state = self.end_state
        keywords = self.keywords
        punct = self.punct
        match = self.scanner.match
        new_token = Token
        new_str = str.__new__
        state = self.start_state
        state_stack = [state]
        value_stack: list[object] = []
        actions = table[state]
        pos = 0
        size = len(text)
        line = 1
        line_start = 0
        token: Any = None
        while True:
            if pos < size:
                found = match(text, pos)
                if found is None:
                    raise _Fallback
                kind = found.lastgroup
                end = found.end()
                value = found.group(kind)  # type: ignore[arg-type]
                pos = end - len(value)  # where the lexeme starts, after the skipped spaces
                if kind == "WS":
                    line += value.count("\n")
                    line_start = pos + value.rindex("\n") + 1
                    pos = end
                    continue
                if kind == "EOF":
                    pos = size
                    continue
                column = pos - line_start + 1
                if kind == "WORD":
                    keyword = keywords.get(value)
                    kind = keyword if keyword is not None and keyword in actions else "WORD"
                elif kind == "PUNCT":
                    kind = punct[value]
                elif kind == "COMMENT":
                    if comments is not None:
                        comments.append(
                            new_token("COMMENT", value, pos, line, column, line,
                                      column + end - pos, end)
                        )
                    pos = end
                    continue
                # Token(...) inlined: lark's constructor costs two more calls per token.
                token = new_str(Token, value)
                token.type = kind
                token.value = value
                token.start_pos = pos
                token.line = token.end_line = line
                token.column = column
                token.end_column = column + end - pos
                token.end_pos = end
                pos = end
            else:
                kind = "$END"
            # Reduce as far as the lookahead says, then shift it (lark's feed_token).
            while True:
                step = actions.get(kind)  # type: ignore[arg-type]
                if step is None:
                    raise _Fallback
                if step[0]:
                    state = step[1]
                    state_stack.append(state)
                    value_stack.append(token)
                    actions = table[state]
                    break
                count, callback, goal = step[1]
                if callback is list and count == 1:  # `_rule: x`, the commonest reduction
                    value_stack[-1] = [value_stack[-1]]
                    del state_stack[-1]
                    state = table[state_stack[-1]][goal][1]
                    state_stack.append(state)
                    actions = table[state]
                    continue
                if count:
                    children = value_stack[-count:]
                    del state_stack[-count:]
                    del value_stack[-count:]
                else:
                    children = []
                value_stack.append(callback(children))
                state = table[state_stack[-1]][goal][1]
                state_stack.append(state)
                actions = table[state]
                if state == end_state and kind == "$END":
                    return value_stack[-1]
