"""`policylang batch FILE|-`: decide a JSON-lines stream of simulation cases, in bounded memory.

One output JSON line per input line, in input order (`{"line": N, "name": ..., "decision": ...}`,
or `{"line": N, ..., "error": {...}}` for a malformed line); a summary on stderr at the end
(and as JSON with `--summary-json`). Errors go to stderr as `file:line:col: error[code]: message`.

Exit codes: 0 every line decided (and every `expect` held), 1 some lines were malformed or the
input could not be read, 2 bad usage, 3 an `expect` did not hold.
"""

from __future__ import annotations

import argparse
import gzip
import os
import sys
from collections.abc import Callable, Iterator
from typing import IO, Any, cast

from policylang._json import dumps
from policylang.batch import (
    DEFAULT_CHUNK_LINES,
    BatchOptions,
    Summary,
    read_lines,
    run_batch,
    stderr_if_terminal,
)
from policylang.errors import PolicyLangError
from policylang.source import Source

MALFORMED = 1
USAGE = 2
EXPECTATION_FAILED = 3


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `batch` verb."""
    parser = subparsers.add_parser(
        "batch",
        help="decide a JSON-lines stream of simulation cases (fast, bounded memory, parallel)",
        description=(
            "Decide one simulation case per line (spec/simulation-case.md). Each distinct set "
            "of policies is compiled once. Writes one JSON line per input line, in order, and a "
            "summary to stderr. Exit status: 0 all decided, 1 some lines malformed, 3 an "
            "`expect` did not hold."
        ),
    )
    parser.add_argument("file", metavar="FILE", help="a JSON-lines file of cases, or - for stdin")
    parser.add_argument("--out", metavar="FILE", help="write the decisions here (default: stdout)")
    parser.add_argument(
        "--workers", type=_positive, default=1, metavar="N",
        help="worker processes (default 1: decide in this process)",
    )
    parser.add_argument(
        "--summary-json", metavar="FILE", help="also write the summary as JSON to FILE"
    )
    parser.add_argument(
        "--dask", metavar="SCHEDULER_ADDRESS",
        help="decide on a Dask cluster (needs the `dask` extra), e.g. tcp://127.0.0.1:8786",
    )
    parser.add_argument(
        "--matched", action="store_true",
        help="add the labels of the matched statements to each decision",
    )
    parser.add_argument(
        "--chunk-lines", type=_positive, default=DEFAULT_CHUNK_LINES, metavar="N",
        help=f"lines per work unit (default {DEFAULT_CHUNK_LINES})",
    )
    parser.add_argument(
        "--cache-size", type=_positive, default=1024, metavar="N",
        help="compiled policy sets kept per worker (default 1024)",
    )
    parser.add_argument(
        "--show-errors", type=int, default=100, metavar="N",
        help="print at most N line errors on stderr (all are counted and in the output)",
    )
    parser.add_argument(
        "--cloudtrail", action="store_true",
        help="the lines are CloudTrail records (FILE may be .gz), decided against --account: "
        "each record's caller, action and resource, with the policies the account gives them",
    )
    parser.add_argument(
        "--account", action="append", default=[], metavar="FILE",
        help="with --cloudtrail: an account file (authorization details or account DSL; "
        "repeat for several)",
    )
    parser.add_argument(
        "--organization", metavar="FILE", help="with --cloudtrail: organization JSON"
    )
    parser.set_defaults(func=run)


class CloudTrailReaders:
    """Builds a `CloudTrailReader` per evaluator (one per worker process): each loads the
    accounts itself, so the factory pickles as two file names."""

    def __init__(self, accounts: list[str], organization: str | None) -> None:
        self.accounts = accounts
        self.organization = organization
        self._environment: Any = None

    def __call__(self) -> Any:
        from policylang.account import load_environment
        from policylang.activity.cloudtrail import CloudTrailReader

        if self._environment is None:
            self._environment = load_environment(self.accounts, self.organization)
        return CloudTrailReader(self._environment)

    def __getstate__(self) -> dict[str, Any]:
        return {"accounts": self.accounts, "organization": self.organization}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.accounts = state["accounts"]
        self.organization = state["organization"]
        self._environment = None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, not {text!r}")
    return value


def run(args: argparse.Namespace) -> int:
    """Run the batch; return the exit code."""
    name = "<stdin>" if args.file == "-" else args.file
    readers: CloudTrailReaders | None = None
    if args.cloudtrail:
        if not args.account:
            print("batch: error[usage]: --cloudtrail needs --account FILE (the account whose "
                  "policies decide the records)", file=sys.stderr)
            return USAGE
        if args.dask:
            print("batch: error[usage]: --cloudtrail runs on local workers; drop --dask",
                  file=sys.stderr)
            return USAGE
        readers = CloudTrailReaders(list(args.account), args.organization)
        readers()  # load the accounts now: a bad account file is reported before any line
    elif args.account or args.organization:
        print("batch: error[usage]: --account and --organization go with --cloudtrail",
              file=sys.stderr)
        return USAGE
    options = BatchOptions(
        matched=args.matched, set_cache_size=args.cache_size, source_name=name
    )
    shown = 0
    hidden = 0
    truncated: list[str] = []

    def on_error(text: str) -> None:
        nonlocal shown, hidden
        if shown < args.show_errors:
            shown += 1
            print(text, file=sys.stderr)
        else:
            hidden += 1

    try:
        stream, total = _open_input(args.file)
    except OSError as error:
        print(f"{name}: error[io.unreadable]: {error.strerror or error}", file=sys.stderr)
        return MALFORMED
    try:
        out_handle = open(args.out, "wb") if args.out else None  # noqa: SIM115
    except OSError as error:
        stream.close()
        print(f"{args.out}: error[io.unwritable]: {error.strerror or error}", file=sys.stderr)
        return MALFORMED
    out: IO[bytes] = out_handle if out_handle is not None else sys.stdout.buffer
    try:
        submit, window, closer = (
            _dask_backend(args.dask, options) if args.dask else (None, None, None)
        )
        try:
            summary = run_batch(
                _complete_lines(stream, truncated),
                out,
                options=options,
                workers=args.workers,
                chunk_lines=args.chunk_lines,
                on_error=on_error,
                progress=stderr_if_terminal(),
                total_bytes=total,
                submit=submit,
                window=window,
                reader_factory=readers,
            )
        finally:
            if closer is not None:
                closer()
        out.flush()
    finally:
        stream.close()
        if out_handle is not None:
            out_handle.close()
    if hidden:
        print(f"{name}: ... {hidden} more line errors (see the output)", file=sys.stderr)
    print(summary.render_text(), file=sys.stderr)
    if args.summary_json:
        _write_summary(args.summary_json, summary)
    if truncated:
        print(f"{name}: error[io.truncated]: the compressed input ends early ({truncated[0]}); "
              "the lines before the cut were decided", file=sys.stderr)
        return MALFORMED
    if summary.errors:
        return MALFORMED
    if summary.expect_failed:
        return EXPECTATION_FAILED
    return 0


def _complete_lines(stream: IO[bytes], truncated: list[str]) -> Iterator[tuple[int, bytes]]:
    """`read_lines`, stopping cleanly at the cut of a truncated .gz file (gzip raises
    EOFError there) so that every complete line before it is still decided and written."""
    try:
        yield from read_lines(stream)
    except EOFError as error:
        truncated.append(str(error))


def _open_input(path: str) -> tuple[IO[bytes], int | None]:
    if path == "-":
        return sys.stdin.buffer, None
    if path.endswith(".gz"):
        # the progress bar counts decompressed bytes, whose total is unknown
        return cast(IO[bytes], gzip.open(path, "rb")), None
    handle = open(path, "rb")  # noqa: SIM115 (closed by the caller)
    try:
        size = os.fstat(handle.fileno()).st_size
    except OSError:
        size = 0
    return handle, size or None


def _write_summary(path: str, summary: Summary) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(dumps(summary.to_json_value(), pretty=True) + "\n")


def _dask_backend(
    address: str, options: BatchOptions
) -> tuple[Callable[[Any], Any], int, Callable[[], None]]:
    # Imported here: the dask extra is optional and slow to import.
    from policylang.batch_dask import chunk_submitter

    try:
        return chunk_submitter(address, options)
    except PolicyLangError:
        raise
    except Exception as error:  # connection refused, bad address, timeout …
        raise PolicyLangError(
            f"cannot use the Dask scheduler at {address}: {type(error).__name__}: {error}",
            code="dask.unavailable",
            source=Source("--dask", ""),
            hint="start one with `dask scheduler` and `dask worker ADDRESS`, or drop --dask",
        ) from None
