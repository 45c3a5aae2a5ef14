"""`policylang check [--kind KIND] FILE…`: is each policy file well-formed (and valid as KIND)?

Each problem is printed to stdout as `file:line:col: error[code]: message (at PATH)` with the
hint on the next line; a summary goes to stderr. `-` reads stdin. Exit status: 0 when every file
is clean, 1 otherwise. Unreadable files, directories and binary files are reported like any
other error (`io.*` codes), never as a traceback.

The format of a file is chosen from its content (`detect_format`): a first non-blank `{` means
IAM JSON; a file whose first word (after comments) is `account` is an account file of the DSL;
anything else is a DSL policy. Each format has a checker in `CHECKERS`. DSL policies get the same
diagnostics as JSON ones (the same `--kind` save-time rules, the same rendering); an account
file is checked as a whole (its structure and every policy inside it), and `--kind` does not
apply to it, since it holds policies of several kinds.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path

from policylang._json import decode_source
from policylang.errors import PolicyLangError
from policylang.grammar.account_decl import parse_account_dsl
from policylang.grammar.dsl_to_ir import parse_dsl
from policylang.grammar.json_to_ir import parse_iam_json
from policylang.ir import PolicyKind
from policylang.source import Source

__all__ = ["CHECKERS", "check_data", "check_path", "detect_format", "register"]

OK = 0
FAILED = 1

# format name -> checker(data, source name, kind); raises PolicyLangError on the first problem.
Checker = Callable[[str, str, PolicyKind | None], None]


def _check_json(text: str, name: str, kind: PolicyKind | None) -> None:
    parse_iam_json(text, source_name=name, kind=kind)


def _check_dsl(text: str, name: str, kind: PolicyKind | None) -> None:
    parse_dsl(text, source_name=name, kind=kind)


def _check_account(text: str, name: str, kind: PolicyKind | None) -> None:
    # `kind` is not used: an account file holds identity, trust and resource policies alike.
    parse_account_dsl(text, source_name=name)


CHECKERS: dict[str, Checker] = {
    "json": _check_json,
    "dsl": _check_dsl,
    "account": _check_account,
}

# Blank lines and `#` comment lines, then the keyword `account` as a whole word.
_ACCOUNT_FILE = re.compile(r"(?:[ \t\r\n]+|#[^\n]*)*account(?=[ \t\r\n])")


def detect_format(text: str) -> str:
    """`json` when the first non-blank character is `{` (or `[`, a JSON mistake); `account`
    when the first word after comments is `account`; else `dsl` (a DSL policy). A format
    without a registered checker falls back to `json`, so the JSON parser explains."""
    stripped = text.lstrip(" \t\r\n\ufeff")
    if not stripped or stripped[0] in "{[":
        return "json"
    found = "account" if _ACCOUNT_FILE.match(stripped) else "dsl"
    return found if found in CHECKERS else "json"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `check` verb."""
    parser = subparsers.add_parser(
        "check",
        help="check policy files for syntax errors and (with --kind) IAM save-time rules",
        description=(
            "Check each policy file. Without --kind only the structure is checked (what "
            "simulate accepts); with --kind the save-time rules of that policy kind apply too "
            "(Version, Principal rules, ARN and action forms, Sid rules, size quotas). "
            "Exit status 0 when all files are clean, 1 otherwise."
        ),
    )
    parser.add_argument(
        "--kind",
        choices=[kind.value for kind in PolicyKind],
        default=None,
        help="the policy kind whose save-time rules apply",
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="policy files; - for stdin")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    kind = PolicyKind(args.kind) if args.kind else None
    failures = 0
    for name in args.files:
        error = check_path(name, kind)
        if error is not None:
            failures += 1
            print(error.render(snippet=True))
    sys.stdout.flush()
    count = len(args.files)
    files = "file" if count == 1 else "files"
    if failures:
        print(f"checked {count} {files}: {failures} with errors", file=sys.stderr)
        return FAILED
    print(f"checked {count} {files}: all clean", file=sys.stderr)
    return OK


def check_path(name: str, kind: PolicyKind | None) -> PolicyLangError | None:
    """The first problem of file `name` (`-` = stdin), or None when it is clean."""
    try:
        if name == "-":
            data = sys.stdin.buffer.read()
            display = "<stdin>"
        else:
            path = Path(name)
            display = name
            if path.is_dir():
                return _io_error(name, "io.is-directory", "is a directory, not a policy file")
            data = path.read_bytes()
    except FileNotFoundError:
        return _io_error(name, "io.not-found", "no such file")
    except PermissionError:
        return _io_error(name, "io.unreadable", "permission denied")
    except OSError as error:
        return _io_error(name, "io.unreadable", error.strerror or str(error))
    return check_data(data, display, kind)


def check_data(data: bytes | str, name: str, kind: PolicyKind | None) -> PolicyLangError | None:
    """The first problem of one document, or None when it is clean."""
    if isinstance(data, bytes) and b"\x00" in data[:8192]:
        return _io_error(
            name, "io.binary-file", "looks like a binary file (it contains NUL bytes)"
        )
    try:
        # Decoding bytes here locates encoding errors (line and column of the bad byte).
        text = decode_source(data, name).text if isinstance(data, bytes) else data
        CHECKERS[detect_format(text)](text, name, kind)
    except PolicyLangError as error:
        return error
    return None


def _io_error(name: str, code: str, message: str) -> PolicyLangError:
    return PolicyLangError(message, code=code, source=Source(name, ""))
