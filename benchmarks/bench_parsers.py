"""DSL vs IAM JSON parsing speed, in statements per second of CPU time.

    python3 benchmarks/bench_parsers.py [--statements N] [--repeat R]

One set of realistic policies (benchmarks/gen_policies.py: action and resource lists, IAM
variables, conditions of every family, plus principals) is written both as IAM JSON
(`format_iam_json`, pretty) and as DSL (`format_dsl`). Each parser reads every document; the
best of R rounds of CPU time (`time.process_time`, steadier than wall time on a shared machine)
gives statements per second. The script checks that both forms parse to the same policies and
prints the DSL's rate as a fraction of each JSON mode's. The issue's target: the DSL parser at
least a third as fast as the located JSON front end (`parse_iam_json`, `located=True`).
"""

from __future__ import annotations

import argparse
import gc
import pathlib
import random
import sys
import time
from collections.abc import Callable

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # run from a checkout

from benchmarks.gen_policies import make_policy
from policylang.grammar import _lark
from policylang.grammar.dsl_to_ir import parse_dsl
from policylang.grammar.ir_to_dsl import format_dsl
from policylang.grammar.ir_to_json import format_iam_json
from policylang.grammar.json_to_ir import parse_iam_json
from policylang.ir import Policy

_PRINCIPALS: list[object] = [
    "*",
    {"AWS": "arn:aws:iam::111122223333:root"},
    {"AWS": ["arn:aws:iam::111122223333:role/app", "444455556666"]},
    {"Service": ["lambda.amazonaws.com", "ec2.amazonaws.com"]},
    {"Federated": "cognito-identity.amazonaws.com"},
]


def make_documents(statements: int, *, seed: int = 7) -> list[dict[str, object]]:
    """Policies adding up to at least `statements` statements; a third carry principals."""
    rng = random.Random(seed)
    documents: list[dict[str, object]] = []
    count = 0
    while count < statements:
        document = make_policy(rng)
        body = document["Statement"]
        assert isinstance(body, list)
        if rng.random() < 0.33:  # a resource policy: every statement names its principal
            for statement in body:
                statement["Principal"] = rng.choice(_PRINCIPALS)
        documents.append(document)
        count += len(body)
    return documents


def build_corpus(statements: int) -> tuple[list[str], list[str], int]:
    """The same policies as IAM JSON texts and DSL texts, and their statement count."""
    import json

    json_texts: list[str] = []
    dsl_texts: list[str] = []
    count = 0
    for document in make_documents(statements):
        policy = parse_iam_json(json.dumps(document))
        json_texts.append(format_iam_json(policy, pretty=True))
        dsl_texts.append(format_dsl(policy))
        count += len(policy.statements)
    return json_texts, dsl_texts, count


def check_same(json_texts: list[str], dsl_texts: list[str]) -> None:
    for json_text, dsl_text in zip(json_texts, dsl_texts, strict=True):
        if parse_dsl(dsl_text) != parse_iam_json(json_text):
            raise SystemExit("the DSL and JSON forms do not parse to the same policy")


def best_cpu_time(parse: Callable[[str], Policy], texts: list[str], repeat: int) -> float:
    """The smallest CPU time, over `repeat` rounds, to parse every text once."""
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.process_time()
        for text in texts:
            parse(text)
        best = min(best, time.process_time() - start)
    return best


def parse_dsl_lark_driver(text: str) -> Policy:
    """`parse_dsl` through lark's own lexer and parser loop (the code before the fast driver),
    for comparison: same grammar, tables and builder."""
    fast = _lark.parse_fast
    _lark.parse_fast = lambda parser, text, source: _lark.parse_with(  # type: ignore[assignment]
        parser.parse, text, source
    )
    try:
        return parse_dsl(text)
    finally:
        _lark.parse_fast = fast


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--statements", type=int, default=1_500)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)

    json_texts, dsl_texts, count = build_corpus(args.statements)
    check_same(json_texts, dsl_texts)
    parse_dsl(dsl_texts[0])  # build the lark parser outside the timed rounds
    runs: list[tuple[str, Callable[[str], Policy], list[str]]] = [
        ("dsl  parse_dsl", parse_dsl, dsl_texts),
        ("dsl  parse_dsl, lark's own driver", parse_dsl_lark_driver, dsl_texts),
        ("json parse_iam_json located=True", parse_iam_json, json_texts),
        (
            "json parse_iam_json located=False",
            lambda text: parse_iam_json(text, located=False),
            json_texts,
        ),
    ]
    print(
        f"{len(dsl_texts)} policies, {count} statements; DSL {sum(map(len, dsl_texts)):,} "
        f"chars, JSON {sum(map(len, json_texts)):,} chars; best of {args.repeat} (CPU time)"
    )
    rates: dict[str, float] = {}
    for name, parse, texts in runs:
        seconds = best_cpu_time(parse, texts, args.repeat)
        rates[name] = count / seconds if seconds > 0 else float("inf")
        print(f"  {name:<36} {rates[name]:>10,.0f} statements/s")
    dsl = rates["dsl  parse_dsl"]
    for name in ("json parse_iam_json located=True", "json parse_iam_json located=False"):
        print(f"  DSL / {name[5:]:<31} {dsl / rates[name]:>10.2f} (target >= 0.33)")
    lark_rate = rates["dsl  parse_dsl, lark's own driver"]
    print(f"  fast driver / lark's driver           {dsl / lark_rate:>10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
