"""`policylang review FILE… [--account FILE]`: least-privilege findings (codes PL101…).

Policy files are IAM JSON (or DSL when the DSL front end is installed); `--account FILE`
reviews every policy of an account file (identity, trust and resource policies) and names the
principals that hold each policy. Findings go to stdout as text, JSON or SARIF 2.1.0. Files
that cannot be read or parsed are reported on stderr as `file:line:col: error[code]: message`.
`--report OUT.html|OUT.md` (with `--account`) also writes the account review report (findings,
widest reach, trust graph, and unused access with `--from-cloudtrail LOGS`).

Exit status: 1 when any finding is at or above `--fail-on` (default `error`) or any file could
not be reviewed, else 0.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from policylang import _json
from policylang.errors import PolicyLangError
from policylang.grammar.json_to_ir import parse_iam_json
from policylang.ir import Policy, PolicyKind
from policylang.review import (
    Finding,
    Severity,
    exit_status,
    format_json,
    format_text,
    review_account_file,
    review_policy,
    to_sarif,
)
from policylang.source import Source

__all__ = ["load_policy_file", "register", "run"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `review` verb."""
    parser = subparsers.add_parser(
        "review",
        help="review policies for least privilege (findings with codes, locations, fixes)",
        description=(
            "Review policy files (or every policy of an account file with --account) for "
            "over-broad grants, privilege-escalation paths, open resource and trust policies, "
            "condition mistakes and redundant statements. Exit status 1 when a finding is at "
            "or above --fail-on, or a file could not be reviewed."
        ),
    )
    parser.add_argument("files", nargs="*", metavar="FILE", help="policy files; - for stdin")
    parser.add_argument(
        "--kind",
        choices=[kind.value for kind in PolicyKind],
        default=None,
        help="the policy kind (default: inferred from the document)",
    )
    parser.add_argument(
        "--format", choices=["text", "json", "sarif"], default="text", help="output format"
    )
    parser.add_argument(
        "--account",
        action="append",
        default=[],
        metavar="FILE",
        help="an account file (authorization-details dump or bundle); repeatable",
    )
    parser.add_argument(
        "--account-id",
        action="append",
        default=[],
        metavar="ID",
        help="an account id that is yours (not 'another account' for PL302/PL303)",
    )
    parser.add_argument(
        "--fail-on",
        choices=["error", "warning", "info", "never"],
        default="error",
        help="lowest severity that makes the exit status 1 (default: error)",
    )
    parser.add_argument("--no-fix", action="store_true", help="text output without fixes")
    parser.add_argument(
        "--report",
        metavar="OUT",
        default=None,
        help="with --account: also write the account review report to OUT (.html or .md): "
        "findings, widest reach, trust graph, unused access",
    )
    parser.add_argument(
        "--from-cloudtrail",
        action="append",
        default=[],
        metavar="LOGS",
        help="with --report: CloudTrail logs (files or directories) for the unused-access "
        "summary; repeatable",
    )
    parser.set_defaults(func=run)


def load_policy_file(name: str, kind: PolicyKind | None) -> Policy:
    """Read and parse one policy file (`-` = stdin); raises PolicyLangError with a location."""
    if name == "-":
        data: bytes = sys.stdin.buffer.read()
        display = "<stdin>"
    else:
        path = Path(name)
        display = name
        try:
            if path.is_dir():
                raise _io(name, "io.is-directory", "is a directory, not a policy file")
            data = path.read_bytes()
        except FileNotFoundError:
            raise _io(name, "io.not-found", "no such file") from None
        except PermissionError:
            raise _io(name, "io.unreadable", "permission denied") from None
        except OSError as error:
            raise _io(name, "io.unreadable", error.strerror or str(error)) from None
    if b"\x00" in data[:8192]:
        raise _io(display, "io.binary-file", "looks like a binary file (it contains NUL bytes)")
    text = _json.decode_source(data, display).text
    stripped = text.lstrip(" \t\r\n\ufeff")
    if stripped and stripped[0] not in "{[":
        try:
            from policylang.grammar.dsl_to_ir import parse_dsl
        except ImportError:  # pragma: no cover - the DSL front end is optional
            pass
        else:
            return parse_dsl(text, source_name=display)
    return parse_iam_json(text, source_name=display, kind=kind)


def _io(name: str, code: str, message: str) -> PolicyLangError:
    return PolicyLangError(message, code=code, source=Source(name, ""))


def run(args: argparse.Namespace) -> int:
    if not args.files and not args.account:
        print("policylang review: error: give policy files or --account FILE", file=sys.stderr)
        return 2
    if args.report is not None or args.from_cloudtrail:
        return _report(args)
    kind = PolicyKind(args.kind) if args.kind else None
    findings: list[Finding] = []
    failed = 0
    for name in args.files:
        try:
            policy = load_policy_file(name, kind)
        except PolicyLangError as error:
            failed += 1
            print(error.render(), file=sys.stderr)
            continue
        display = "<stdin>" if name == "-" else name
        findings.extend(
            review_policy(policy, kind=kind, file=display, own_accounts=args.account_id)
        )
    for name in args.account:
        try:
            findings.extend(review_account_file(name))
        except PolicyLangError as error:
            failed += 1
            print(error.render(), file=sys.stderr)
        except OSError as error:
            failed += 1
            print(f"{name}: error[io.unreadable]: {error.strerror or error}", file=sys.stderr)
    count = len(args.files) + len(args.account)
    if args.format == "json":
        sys.stdout.write(format_json(findings, files=count))
    elif args.format == "sarif":
        sys.stdout.write(_json.dumps(to_sarif(findings), pretty=True) + "\n")
    else:
        sys.stdout.write(format_text(findings, show_fix=not args.no_fix))
        _summary(findings, count, failed)
    sys.stdout.flush()
    if failed:
        return 1
    if args.fail_on == "never":
        return 0
    return exit_status(findings, Severity(args.fail_on))


def _summary(findings: list[Finding], files: int, failed: int) -> None:
    by = {s: sum(1 for f in findings if f.severity is s) for s in Severity}
    noun = "file" if files == 1 else "files"
    text = (
        f"reviewed {files} {noun}: {by[Severity.ERROR]} errors, {by[Severity.WARNING]} "
        f"warnings, {by[Severity.INFO]} notes"
    )
    if failed:
        text += f"; {failed} could not be reviewed"
    print(text, file=sys.stderr)


def _report(args: argparse.Namespace) -> int:
    """`--report OUT`: write the account review report; the findings' exit status."""
    if args.report is None:
        print("policylang review: error: --from-cloudtrail needs --report OUT", file=sys.stderr)
        return 2
    if not args.account or args.files:
        print("policylang review: error: --report needs --account FILE (and no policy files)",
              file=sys.stderr)
        return 2
    suffix = Path(args.report).suffix.lower()
    if suffix not in (".html", ".htm", ".md", ".markdown"):
        print(f"policylang review: error: --report {args.report}: use a .html or .md file name",
              file=sys.stderr)
        return 2
    from policylang.review.account_report import (
        build_account_report,
        render_html,
        render_markdown,
    )

    try:
        report = build_account_report(args.account, cloudtrail=args.from_cloudtrail)
    except PolicyLangError as error:
        print(error.render(), file=sys.stderr)
        return 1
    except OSError as error:
        where = error.filename or ", ".join(args.account)
        print(f"{where}: error[io.unreadable]: {error.strerror or error}", file=sys.stderr)
        return 1
    text = render_html(report) if suffix in (".html", ".htm") else render_markdown(report)
    try:
        Path(args.report).write_text(text, encoding="utf-8")
    except OSError as error:
        print(f"{args.report}: error[io.unwritable]: {error.strerror or error}", file=sys.stderr)
        return 1
    findings = list(report.findings)
    if args.format == "json":
        sys.stdout.write(format_json(findings, files=len(args.account)))
    elif args.format == "sarif":
        sys.stdout.write(_json.dumps(to_sarif(findings), pretty=True) + "\n")
    _summary(findings, len(args.account), 0)
    print(f"report written to {args.report}", file=sys.stderr)
    if args.fail_on == "never":
        return 0
    return exit_status(findings, Severity(args.fail_on))
