"""The `policylang` command: argparse, dispatch to one module per verb, error rendering.

Each command module exposes `register(subparsers)`, which adds its parser and sets
`func=handler` where `handler(args) -> int`. Errors derived from `PolicyLangError` are printed as
`file:line:col: error[code]: message` and exit 1; nothing prints a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from policylang._version import __version__
from policylang.errors import PolicyLangError

# Command modules in the order `--help` lists them. Add a verb by adding its module here.
COMMAND_MODULES: tuple[str, ...] = (
    "policylang.cli.simulate_cmd",
    "policylang.cli.check_cmd",
    "policylang.cli.account_cmd",
    "policylang.cli.dsl_cmd",
    "policylang.cli.batch_cmd",
    "policylang.cli.activity_cmd",
    "policylang.cli.imds_cmd",
    "policylang.cli.review_cmd",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="policylang",
        description="AWS IAM policies: check, translate, simulate and review.",
    )
    parser.add_argument("--version", action="version", version=f"policylang {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "func", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        result: int = handler(args)
    except PolicyLangError as error:
        print(error.render(snippet=True), file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except OSError as error:
        where = f": {error.filename}" if error.filename else ""
        print(f"policylang: error: {error.strerror or error}{where}", file=sys.stderr)
        return 1
    return result
