"""`policylang who-can`, `can`, `assume-paths`, `graph`, `export-account`: whole accounts.

Every command reads `--account FILE` (repeatable): `aws iam get-account-authorization-details`
output (one response, a list of pages, or a bundle `{"Accounts": [...], "Organization": {...}}`)
or an account DSL file (detected by content; its organization comes from `NAME.org.json`
beside it), and optionally `--organization FILE`. Answers print as text, or as JSON with
`--format json`.
Exit status: 0 answered, 1 bad input (rendered error, no traceback).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from policylang._json import dumps
from policylang.account import (
    Environment,
    assume_paths,
    can,
    export_account_dsl,
    export_authorization_details,
    export_organization,
    load_environment,
    who_can,
)
from policylang.account.graph import build_graph, render_svg, to_dot, to_mermaid
from policylang.account.questions import Answer
from policylang.errors import CaseError
from policylang.request import ContextValue


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `who-can`, `can`, `assume-paths` and `graph` verbs."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--account",
        action="append",
        required=True,
        metavar="FILE",
        help="an account file: authorization-details JSON or the account DSL, detected by "
        "content (repeat for several)",
    )
    common.add_argument(
        "--organization",
        metavar="FILE",
        help="organization JSON: root, OUs, accounts, SCP/RCP attachments (a DSL file "
        "NAME.pdsl picks up NAME.org.json beside it by itself)",
    )
    common.add_argument(
        "--context",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a condition key for the request (repeat; KEY=a,b for a list)",
    )

    who = subparsers.add_parser(
        "who-can",
        parents=[common],
        help="which principals may perform an action on a resource",
        description="List every user, role, service and external principal allowed (or "
        "allowed under conditions) to perform ACTION on RESOURCE, with the statements that "
        "allow it.",
    )
    who.add_argument("action", metavar="ACTION")
    who.add_argument("resource", metavar="RESOURCE")
    who.add_argument("--include-root", action="store_true", help="also ask for root users")
    who.add_argument("--include-denied", action="store_true", help="also list denied principals")
    _output(who)
    who.set_defaults(func=_who_can)

    can_p = subparsers.add_parser(
        "can",
        parents=[common],
        help="what a principal may do",
        description="List the actions and resources PRINCIPAL's policies grant (and resource "
        "policies grant to it), each checked with the evaluator.",
    )
    can_p.add_argument(
        "principal",
        metavar="PRINCIPAL",
        help="user or role ARN, user/NAME, role/NAME, NAME, or an account id",
    )
    can_p.add_argument("--service", metavar="S", help="only actions of this service prefix")
    can_p.add_argument(
        "--include-denied", action="store_true", help="also list grants that other policies deny"
    )
    _output(can_p)
    can_p.set_defaults(func=_can)

    paths = subparsers.add_parser(
        "assume-paths",
        parents=[common],
        help="roles reachable from a principal through trust policies",
        description="Follow trust policies (sts:AssumeRole and role chaining) from PRINCIPAL "
        "and list every reachable role with the path and the conditions on each hop.",
    )
    paths.add_argument("principal", metavar="PRINCIPAL")
    paths.add_argument("--max-depth", type=int, default=10, metavar="N")
    _output(paths)
    paths.set_defaults(func=_assume_paths)

    graph = subparsers.add_parser(
        "graph",
        parents=[common],
        help="draw the trust and access graph",
        description="Print the graph of users, groups, roles, instance profiles, trusted "
        "services and resource-policy grants as Mermaid, Graphviz DOT or SVG.",
    )
    graph.add_argument("--format", choices=["mermaid", "dot", "svg"], default="mermaid")
    graph.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of stdout")
    graph.set_defaults(func=_graph)

    export = subparsers.add_parser(
        "export-account",
        parents=[common],
        help="write the loaded accounts as DSL or authorization-details JSON",
        description="Convert account files: `--to dsl` prints the account DSL (the "
        "organization, if any, goes to --org-output), `--to json` prints one bundle "
        '`{"Accounts": [...], "Organization": {...}}` of authorization-details JSON.',
    )
    export.add_argument("--to", choices=["dsl", "json"], required=True)
    export.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of stdout")
    export.add_argument(
        "--org-output", metavar="FILE", help="with --to dsl: where to write the organization JSON"
    )
    export.set_defaults(func=_export)


def _output(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=["text", "json"], default="text")


def _environment(args: argparse.Namespace) -> Environment:
    return load_environment([Path(p) for p in args.account], args.organization)


def parse_context(items: Sequence[str]) -> dict[str, ContextValue]:
    """`KEY=VALUE` pairs; `KEY=a,b` gives a multi-valued key."""
    out: dict[str, ContextValue] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CaseError(
                f"`{item}` is not KEY=VALUE",
                code="cli.bad-context",
                path="--context",
                hint="e.g. --context aws:SourceIp=203.0.113.7",
            )
        out[key] = tuple(value.split(",")) if "," in value else value
    return out


def _print_json(value: Any) -> None:
    sys.stdout.write(dumps(value, pretty=True) + "\n")


def _answer_lines(answer: Answer, indent: str = "  ") -> list[str]:
    lines = []
    for ref in answer.statements:
        lines.append(f"{indent}{ref.describe()}")
    if answer.status == "conditional" and answer.missing_keys:
        lines.append(f"{indent}depends on: {', '.join(answer.missing_keys)}")
    if answer.note:
        lines.append(f"{indent}note: {answer.note}")
    return lines


def _who_can(args: argparse.Namespace) -> int:
    env = _environment(args)
    result = who_can(
        env,
        args.action,
        args.resource,
        context=parse_context(args.context),
        include_root=args.include_root,
        include_denied=args.include_denied,
    )
    if args.format == "json":
        _print_json(
            {
                "action": result.action,
                "resource": result.resource,
                "principals": [a.to_json() for a in result.answers],
            }
        )
        return 0
    print(f"who can {result.action} on {result.resource}:")
    if not result.answers:
        print("  nobody")
    for answer in result.answers:
        print(f"{answer.status:<12} {answer.principal}")
        for line in _answer_lines(answer, " " * 13):
            print(line)
    return 0


def _can(args: argparse.Namespace) -> int:
    env = _environment(args)
    result = can(
        env,
        args.principal,
        service=args.service,
        context=parse_context(args.context),
        include_denied=args.include_denied,
    )
    if args.format == "json":
        _print_json(
            {"principal": result.principal, "grants": [a.to_json() for a in result.answers]}
        )
        return 0
    print(f"{result.principal} can:")
    if not result.answers:
        print("  nothing")
    for answer in result.answers:
        print(f"{answer.status:<12} {answer.action} on {answer.resource}")
        for line in _answer_lines(answer, " " * 13):
            print(line)
    return 0


def _assume_paths(args: argparse.Namespace) -> int:
    env = _environment(args)
    result = assume_paths(
        env, args.principal, context=parse_context(args.context), max_depth=args.max_depth
    )
    if args.format == "json":
        _print_json(
            {
                "principal": result.principal,
                "roles": [
                    {
                        "role": reach.role,
                        "status": reach.status,
                        "path": [
                            {
                                "from": h.source,
                                "to": h.target,
                                "status": h.status,
                                "conditions": list(h.conditions),
                                "missing_context_keys": list(h.answer.missing_keys),
                                "statements": [s.describe() for s in h.statements],
                            }
                            for h in reach.hops
                        ],
                    }
                    for reach in result.reachable
                ],
            }
        )
        return 0
    print(f"roles reachable from {result.principal}:")
    if not result.reachable:
        print("  none")
    for reach in result.reachable:
        print(f"{reach.status:<12} {reach.role}")
        for hop in reach.hops:
            print(f"{'':13}{hop.source} -> {hop.target} ({hop.status})")
            for condition in hop.conditions:
                print(f"{'':15}when {condition}")
            if hop.status == "conditional" and hop.answer.missing_keys:
                print(f"{'':15}depends on: {', '.join(hop.answer.missing_keys)}")
    return 0


def _graph(args: argparse.Namespace) -> int:
    env = _environment(args)
    graph = build_graph(env, context=parse_context(args.context))
    data: bytes
    if args.format == "mermaid":
        data = to_mermaid(graph).encode()
    else:
        dot = to_dot(graph)
        if args.format == "svg":
            svg = render_svg(dot)
            if svg is None:
                print(
                    "policylang: error: `--format svg` needs Graphviz's `dot`, which is not "
                    "installed; use --format dot and render it elsewhere",
                    file=sys.stderr,
                )
                return 1
            data = svg
        else:
            data = dot.encode()
    if args.output:
        Path(args.output).write_bytes(data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0


def _export(args: argparse.Namespace) -> int:
    env = _environment(args)
    org = env.organization
    if args.to == "dsl":
        text = export_account_dsl(env)
        if org is not None:
            if not args.org_output:
                print(
                    "policylang: error: the accounts belong to an organization, which the DSL "
                    "cannot hold yet; give --org-output FILE (e.g. NAME.org.json beside the "
                    "DSL file NAME.pdsl)",
                    file=sys.stderr,
                )
                return 1
            Path(args.org_output).write_text(
                dumps(export_organization(org), pretty=True) + "\n", encoding="utf-8"
            )
    else:
        bundle: dict[str, Any] = {
            "Accounts": [
                export_authorization_details(a)
                for _, a in sorted(env.accounts.items())
            ]
        }
        if org is not None:
            bundle["Organization"] = export_organization(org)
        text = dumps(bundle, pretty=True) + "\n"
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0
