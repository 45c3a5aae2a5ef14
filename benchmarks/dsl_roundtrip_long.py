"""Long, seeded run of the DSL round-trip properties (the DSL issue's acceptance).

    python3 benchmarks/dsl_roundtrip_long.py [--examples 10000] [--requests 6] [--seed N]
                                             [--corpus-requests 50] [--skip-generated]

For each Hypothesis-generated policy P (`tests.strategies.policies`, derandomized unless
`--seed` is given), Q = parse_iam_json(format_iam_json(parse_dsl(format_dsl(P)))) must equal P
as IR, DSL → JSON → DSL must give back format_dsl(P), and `evaluate` must give the same result
(decision, matched statements, missing keys, details; or the same validation error) for P and Q
on requests built from P, in the identity role and, when P has principals, the resource-policy
role. The same check then runs on every tests/golden/roundtrip/*.json file, whose `.policy`
twin must also be exactly the canonical DSL. Prints counts and the first failures (Hypothesis
shrinks a failing generated policy to a minimal one). Exit status 1 on any failure.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import seed as hypothesis_seed  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from policylang.grammar.ir_to_dsl import format_dsl  # noqa: E402
from policylang.grammar.json_to_ir import parse_iam_json  # noqa: E402
from policylang.ir import Policy  # noqa: E402
from tests.property.test_dsl_roundtrip import (  # noqa: E402
    RoundTripStats,
    check_json_dsl_json,
    requests_for,
)
from tests.strategies import identity_policies, policies  # noqa: E402

CORPUS = ROOT / "tests" / "golden" / "roundtrip"


def run_generated(
    examples: int, per_policy: int, seed: int | None, *, valid_identity: bool = False
) -> tuple[RoundTripStats, str]:
    """Run the property on `examples` generated policies; the failure text ('' when none).

    `valid_identity` draws from `identity_policies()` (every statement has a Resource, so every
    identity-role request reaches a decision) instead of `policies()`.
    """
    stats = RoundTripStats()
    calls = 0

    @settings(
        max_examples=examples,
        derandomize=seed is None,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=(Phase.generate, Phase.shrink),
        print_blob=True,
    )
    @given(
        identity_policies() if valid_identity else policies(), st.randoms(use_true_random=False)
    )
    def prop(policy: Policy, rnd: random.Random) -> None:
        nonlocal calls
        calls += 1
        check_json_dsl_json(policy, requests_for(policy, rnd, per_policy), stats)

    if seed is not None:
        prop = hypothesis_seed(seed)(prop)
    try:
        prop()
    except Exception:  # report whatever the property raised (Hypothesis shrank it)
        return stats, traceback.format_exc()
    return stats, ""


def run_corpus(per_file: int) -> tuple[RoundTripStats, list[str], int]:
    """Check every corpus JSON file; the failures and how many `.policy` twins were compared."""
    stats = RoundTripStats()
    failures: list[str] = []
    twins = 0
    for path in sorted(CORPUS.glob("*.json")):
        text = path.read_text(encoding="utf-8")
        try:
            policy = parse_iam_json(text, source_name=str(path))
            rnd = random.Random(path.name)  # seeded per file: reruns draw the same requests
            check_json_dsl_json(policy, requests_for(policy, rnd, per_file), stats)
            twin = path.with_suffix(".policy")
            if twin.exists():
                twins += 1
                expected = twin.read_text(encoding="utf-8")
                assert format_dsl(policy) == expected, f"{twin.name} is not the canonical DSL"
        except Exception:  # collect every file's failure
            failures.append(f"{path.name}:\n{traceback.format_exc()}")
    return stats, failures, twins


def _print_stats(title: str, stats: RoundTripStats, seconds: float) -> None:
    print(
        f"{title}: {stats.policies} policies, {stats.evaluations} evaluations (P and Q each) "
        f"in {seconds:.1f} s; {stats.with_matches} results name matched statements"
    )
    for key, count in sorted(stats.decisions.items()):
        print(f"  {key:<40} {count}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=10_000)
    parser.add_argument(
        "--identity-examples", type=int, default=1_000, help="valid identity policies, too"
    )
    parser.add_argument("--requests", type=int, default=6, help="requests per generated policy")
    parser.add_argument("--corpus-requests", type=int, default=50, help="requests per corpus file")
    parser.add_argument(
        "--seed", type=int, default=None, help="Hypothesis seed (else derandomized)"
    )
    parser.add_argument("--skip-generated", action="store_true")
    args = parser.parse_args(argv)

    failed = False
    if not args.skip_generated:
        start = time.perf_counter()
        stats, failure = run_generated(args.examples, args.requests, args.seed)
        _print_stats("generated", stats, time.perf_counter() - start)
        if failure:
            failed = True
            print("FAILURE (generated):\n" + failure)
        else:
            print(f"generated: OK, no failure in {stats.policies} policies")
        if args.identity_examples:
            start = time.perf_counter()
            stats, failure = run_generated(
                args.identity_examples, args.requests, args.seed, valid_identity=True
            )
            _print_stats("valid identity", stats, time.perf_counter() - start)
            if failure:
                failed = True
                print("FAILURE (valid identity):\n" + failure)
            else:
                print(f"valid identity: OK, no failure in {stats.policies} policies")

    start = time.perf_counter()
    corpus_stats, corpus_failures, twins = run_corpus(args.corpus_requests)
    _print_stats("corpus", corpus_stats, time.perf_counter() - start)
    print(f"corpus: {twins} .policy twins compared with format_dsl")
    if corpus_failures:
        failed = True
        print(f"FAILURES (corpus): {len(corpus_failures)}")
        for text in corpus_failures[:5]:
            print(text)
    else:
        print(f"corpus: OK, {corpus_stats.policies} files")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
