"""`policylang fmt`, `policylang to-json` and `policylang to-dsl`: the DSL on the command line.

* `fmt [--check] FILE…` rewrites each `.policy` file in its canonical form (or, with `--check`,
  only lists the files that would change); `-` formats stdin to stdout.
* `to-json FILE [--compact]` prints the IAM JSON of a DSL file.
* `to-dsl FILE.json` prints the canonical DSL of an IAM JSON policy.

Every command reads `-` as stdin. Errors go to stderr as `file:line:col: error[code]: message`
(with the line and a caret, then the hint); exit status 1. `fmt --check` exits 1 when a file
would change. Nothing prints a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from policylang.errors import PolicyLangError, PolicySyntaxError
from policylang.grammar.dsl_to_ir import parse_dsl
from policylang.grammar.ir_to_dsl import format_dsl
from policylang.grammar.ir_to_json import format_iam_json
from policylang.grammar.json_to_ir import parse_iam_json
from policylang.ir import PolicyKind
from policylang.source import Source

__all__ = ["register"]

OK = 0
FAILED = 1


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `fmt`, `to-json` and `to-dsl` verbs."""
    fmt = subparsers.add_parser(
        "fmt",
        help="format policy DSL files in their canonical layout",
        description=(
            "Rewrite each DSL file (.policy) in canonical form; with --check, only report the "
            "files that would change (exit 1 if any). `-` formats stdin to stdout."
        ),
    )
    fmt.add_argument("files", nargs="+", metavar="FILE", help="a .policy file, or - for stdin")
    fmt.add_argument(
        "--check",
        action="store_true",
        help="do not write; exit 1 if any file is not canonically formatted",
    )
    fmt.set_defaults(func=run_fmt)

    to_json = subparsers.add_parser(
        "to-json",
        help="translate a policy DSL file to IAM JSON",
        description="Print the IAM JSON policy document of a DSL file (`-` reads stdin).",
    )
    to_json.add_argument("file", metavar="FILE", help="a .policy file, or - for stdin")
    to_json.add_argument(
        "--compact", action="store_true", help="one line, no spaces (default: indented)"
    )
    to_json.add_argument(
        "--kind",
        choices=[k.value for k in PolicyKind],
        help="also check the save-time rules of this policy kind",
    )
    to_json.set_defaults(func=run_to_json)

    to_dsl = subparsers.add_parser(
        "to-dsl",
        help="translate an IAM JSON policy to the policy DSL",
        description="Print the canonical DSL of an IAM JSON policy document (`-` reads stdin).",
    )
    to_dsl.add_argument("file", metavar="FILE", help="an IAM JSON policy file, or - for stdin")
    to_dsl.add_argument(
        "--kind",
        choices=[k.value for k in PolicyKind],
        help="also check the save-time rules of this policy kind",
    )
    to_dsl.set_defaults(func=run_to_dsl)


def _read(name: str) -> tuple[str, str]:
    """(display name, text) of a file or of stdin (`-`); undecodable input is an error."""
    if name == "-":
        data = sys.stdin.buffer.read()
        shown = "<stdin>"
    else:
        data = Path(name).read_bytes()
        shown = name
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        source = Source(shown, data.decode("utf-8", errors="replace"))
        raise PolicySyntaxError(
            f"the file is not UTF-8 text (byte {error.start})",
            code="syntax.encoding",
            span=source.span(error.start, error.start + 1),
            source=source,
            hint="save the file as UTF-8",
        ) from None
    return shown, text.removeprefix("\ufeff")


def _report(error: PolicyLangError) -> None:
    print(error.render(snippet=True), file=sys.stderr)


def run_fmt(args: argparse.Namespace) -> int:
    status = OK
    for name in args.files:
        try:
            shown, text = _read(name)
            formatted = format_dsl(parse_dsl(text, source_name=shown))
        except PolicyLangError as error:
            _report(error)
            status = FAILED
            continue
        except OSError as error:
            print(f"{name}: error: {error.strerror or error}", file=sys.stderr)
            status = FAILED
            continue
        if name == "-":
            if args.check:
                if formatted != text:
                    print("<stdin>: would reformat", file=sys.stderr)
                    status = FAILED
            else:
                sys.stdout.write(formatted)
            continue
        if formatted == text:
            continue
        if args.check:
            print(f"{name}: would reformat", file=sys.stderr)
            status = FAILED
        else:
            Path(name).write_text(formatted, encoding="utf-8")
            print(f"{name}: reformatted", file=sys.stderr)
    return status


def run_to_json(args: argparse.Namespace) -> int:
    shown, text = _read(args.file)
    kind = PolicyKind(args.kind) if args.kind else None
    policy = parse_dsl(text, source_name=shown, kind=kind)
    sys.stdout.write(format_iam_json(policy, pretty=not args.compact) + "\n")
    return OK


def run_to_dsl(args: argparse.Namespace) -> int:
    shown, text = _read(args.file)
    kind = PolicyKind(args.kind) if args.kind else None
    policy = parse_iam_json(text, source_name=shown, kind=kind)
    sys.stdout.write(format_dsl(policy))
    return OK
