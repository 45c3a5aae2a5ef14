"""`policylang simulate CASE…`: answer simulation cases (spec/simulation-case.md).

A `.json` file holds one case; a `.jsonl` file, or `-` (stdin), holds one case per line (stdin
holding a single pretty-printed document is read as one case). Answers go to stdout as JSON
(one per line when there are several) or as text; errors go to stderr as
`file:line:col: error[code]: message`.

Exit codes: 0 every case was decided (and every `expect` held), 1 a case was malformed or
unreadable, 3 an `expect` did not hold, 70 an internal error (a policylang bug, reported in one
line). Malformed cases do not stop the others.
"""

from __future__ import annotations

import argparse
import enum
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

from policylang._json import dumps
from policylang.errors import PolicyLangError
from policylang.simulate import SimulationResult, render_answer_text, simulate
from policylang.source import Source, Span


class ExitCode(enum.IntEnum):
    OK = 0
    MALFORMED = 1
    USAGE = 2
    EXPECTATION_FAILED = 3
    INTERNAL_ERROR = 70  # a policylang bug: reported in one line, never as a traceback


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `simulate` verb."""
    parser = subparsers.add_parser(
        "simulate",
        help="decide simulation cases: is this request allowed by these policies?",
        description=(
            "Evaluate simulation cases (one JSON case per .json file; JSON lines in a .jsonl "
            "file or on stdin with -) and print the decision, matched statements, missing "
            "context keys and per-policy-set details. Exit status: 0 decided, 1 malformed "
            "case, 3 an `expect` did not hold, 70 internal error."
        ),
    )
    parser.add_argument(
        "cases",
        nargs="+",
        metavar="CASE",
        help="a case file (.json), a JSON-lines file of cases (.jsonl), or - for stdin",
    )
    parser.add_argument(
        "--explain",
        action="store_true",
        help="also show the deciding policy set, every statement and the resolved context",
    )
    parser.add_argument(
        "--format",
        choices=("json", "text"),
        default="json",
        help="answer format (default: json)",
    )
    parser.set_defaults(func=run)


@attrs.define
class _Item:
    """One case to answer: its text, where it came from, and its line in a JSON-lines file."""

    name: str
    data: bytes
    line: int = 0  # 0: a whole document; N: line N of a JSON-lines input
    file: Source | None = None  # the whole JSON-lines text, for error snippets


@attrs.define
class _Tally:
    malformed: int = 0
    internal: int = 0
    failed: int = 0
    answered: int = 0


def run(args: argparse.Namespace) -> int:
    """Answer every case named on the command line; return the exit code."""
    tally = _Tally()
    first_text = True
    # Streamed: each answer is printed as soon as its case is decided.
    for item in _items(args.cases, tally):
        answer = _answer(item, tally, as_json=args.format == "json", explain=args.explain)
        if answer is None:
            continue
        if args.format == "json":
            # One case file on its own: pretty JSON; otherwise one answer per line.
            print(dumps(answer, pretty=len(args.cases) == 1 and item.line == 0))
        else:
            if not first_text:
                print()
            first_text = False
            print(render_answer_text(answer))
    if tally.internal:
        return ExitCode.INTERNAL_ERROR
    if tally.malformed:
        return ExitCode.MALFORMED
    if tally.failed:
        print(
            f"policylang: {tally.failed} of {tally.answered} case(s) did not meet their `expect`",
            file=sys.stderr,
        )
        return ExitCode.EXPECTATION_FAILED
    return ExitCode.OK


def _items(names: list[str], tally: _Tally) -> Iterator[_Item]:
    for name in names:
        try:
            if name == "-":
                label = "<stdin>"
                text = sys.stdin.read()
                if not _is_json_lines(text):
                    yield _Item(label, text.encode("utf-8"))
                    continue
            elif not name.endswith(".jsonl"):
                yield _Item(name, Path(name).read_bytes())
                continue
            else:
                label = name
                text = Path(name).read_text(encoding="utf-8")
        except UnicodeDecodeError as error:
            tally.malformed += 1
            print(
                f"{name}: error[json.invalid-encoding]: the file is not valid UTF-8 "
                f"(byte offset {error.start})",
                file=sys.stderr,
            )
            continue
        except OSError as error:
            tally.malformed += 1
            print(f"{name}: error[io.unreadable]: {error.strerror or error}", file=sys.stderr)
            continue
        whole = Source(label, text)
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                yield _Item(label, line.encode("utf-8"), number, whole)


def _is_json_lines(text: str) -> bool:
    """Stdin is JSON lines unless it is one multi-line document."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return bool(lines) and all(line.startswith("{") and line.endswith("}") for line in lines)


def _answer(item: _Item, tally: _Tally, *, as_json: bool, explain: bool) -> dict[str, Any] | None:
    """The answer to one case, or None when the case is malformed (the error is printed)."""
    try:
        result: SimulationResult = simulate(item.data, source_name=item.name)
    except PolicyLangError as error:
        tally.malformed += 1
        if item.line:
            _move_to_file_line(error, item)
            if as_json:
                # One output line per input line: the error takes the answer's place.
                print(dumps(_error_record(error, item)))
        print(error.render(snippet=True), file=sys.stderr)
        return None
    except Exception as error:  # a bug in policylang, not in the case: say so, no traceback
        tally.internal += 1
        where = f"{item.name}:{item.line}" if item.line else item.name
        print(
            f"{where}: internal error: {type(error).__name__}: {error} "
            "(this is a policylang bug; please report it with the case)",
            file=sys.stderr,
        )
        return None
    tally.answered += 1
    answer = result.to_json_value(explain=explain)
    if item.line:
        _shift_spans(answer, item.line - 1)
    if result.expectation_held is False:
        tally.failed += 1
        where = f"{item.name}:{item.line}" if item.line else item.name
        print(
            f"{where}: expectation not met: case `{result.name or '<unnamed>'}` expected "
            f"`{answer['expect']}`, got `{answer['decision']}`",
            file=sys.stderr,
        )
    return answer


def _move_to_file_line(error: PolicyLangError, item: _Item) -> None:
    """An error inside line N of a JSON-lines file: report it at line N of the file."""
    source = error.source
    if source is None or source.name != item.name or source.text.encode("utf-8") != item.data:
        return  # the error points into a policy given as a string: keep its own position
    if error.span is not None:
        span = error.span
        shift = item.line - 1
        error.span = Span(
            span.start,
            span.end,
            span.line + shift,
            span.column,
            span.end_line + shift,
            span.end_column,
        )
    error.source = item.file


def _error_record(error: PolicyLangError, item: _Item) -> dict[str, Any]:
    return {
        "name": None,
        "error": {
            "code": error.code,
            "message": error.message,
            "path": error.path,
            "location": error.location(),
            "line": item.line,
        },
    }


def _shift_spans(value: Any, lines: int) -> None:
    """Add `lines` to every `span.line` of an answer (JSON-lines input: line N of the file)."""
    if lines == 0:
        return
    entries: list[Any] = list(value.get("matched_statements", []))
    explain = value.get("explain")
    if isinstance(explain, dict):
        entries.extend(explain.get("statements", []))
    for entry in entries:
        span = entry.get("span")
        if isinstance(span, dict):
            span["line"] += lines
