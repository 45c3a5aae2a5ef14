"""Throughput and latency of the compiled engine on the seeded 1,000-principal workload.

    python3 benchmarks/bench_engine.py [--principals 1000] [--requests 100000] [--seed 0]

Prints compile time, decisions/s of the reference evaluator, of a naive pure-Python loop, of
the compiled sets without cache and of the `Engine` with its cache on a skewed stream, and
p50/p99 single-decision latency (uncached). CPU time (`time.process_time`) is used for rates so
that other processes on a shared machine distort them less; each rate is the best of a few
repeats. Latencies are wall-clock per call and include scheduling noise. The script checks
that every compiled answer equals the reference answer on the sample it times.
"""

from __future__ import annotations

import argparse
import fnmatch
import gc
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from workloads import Workload, build_workload

from policylang.compiler import CompiledPolicySet, Compiler, Engine
from policylang.conditions import evaluate_condition
from policylang.evaluator import evaluate
from policylang.ir import Effect
from policylang.policy_set import PolicySet
from policylang.request import Request, derive_context


def naive_decide(policies: PolicySet, request: Request) -> str:
    """The loop one writes by hand: every statement of every policy, fnmatch globs, no index.

    A baseline for speed only: it decides the identity side (deny > allow > implicit) and
    ignores guardrails and resource policies, so its answers are not the reference's.
    """
    ctx = derive_context(request)
    action = request.action.lower()
    allowed = False
    for named in policies.all_policies():
        for st in named.policy.statements:
            if not any(fnmatch.fnmatchcase(action, p.lower()) for p in st.action.values.items):
                continue
            if st.resource is not None and not any(
                fnmatch.fnmatchcase(request.resource.arn, p) for p in st.resource.values.items
            ):
                continue
            if st.condition and not evaluate_condition(
                st.condition, ctx, variables_enabled=True
            ).matched:
                continue
            if st.effect is Effect.DENY:
                return "explicitDeny"
            allowed = True
    return "allowed" if allowed else "implicitDeny"


def rate(fn: Callable[[], int], repeats: int = 3) -> float:
    """Best-of-`repeats` items per CPU second of `fn` (which returns how many it did)."""
    best = 0.0
    for _ in range(repeats):
        start = time.process_time()
        n = fn()
        elapsed = time.process_time() - start
        best = max(best, n / elapsed if elapsed > 0 else float("inf"))
    return best


def calibrate() -> float:
    """Nanoseconds per iteration of an empty Python loop (machine speed, for context)."""
    best = float("inf")
    for _ in range(5):
        start = time.process_time()
        for _ in range(200_000):
            pass
        best = min(best, (time.process_time() - start) / 200_000 * 1e9)
    return best


def compile_workload(wl: Workload, compiler: Compiler) -> tuple[float, int]:
    """Compile every principal's policy sets and every resource policy; (seconds, sets)."""
    start = time.process_time()
    count = 0
    for ps in wl.base_sets():
        compiler.compile(ps)
        count += 1
    return time.process_time() - start, count


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--principals", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    loop_ns = calibrate()
    print(f"machine: empty Python loop {loop_ns:.1f} ns/iteration (CPU time)")
    start = time.process_time()
    wl = build_workload(args.seed, principals=args.principals)
    print(f"workload: {args.principals} principals, {len(wl.managed)} managed policies, "
          f"built in {time.process_time() - start:.2f} s")

    compiler = Compiler()
    seconds, count = compile_workload(wl, compiler)
    print(f"compile: {count} policy sets in {seconds:.2f} s ({compiler.stats()})")

    stream = wl.requests(args.requests, seed=args.seed + 1)
    sample = stream[:5000]
    sets = [wl.policy_set(r) for r in sample]
    start = time.process_time()
    compiled: list[CompiledPolicySet] = [compiler.compile(ps) for ps in sets]
    print(f"compile: {len(set(map(id, compiled)))} principal×resource sets for the sample "
          f"in {time.process_time() - start:.2f} s")

    # correctness on the timed sample
    ref_sample = sample[:1000]
    disagreements = sum(
        1 for r, ps, c in zip(ref_sample, sets, compiled, strict=False)
        if c.decide(r) != evaluate(ps, r) or c.decision(r) is not evaluate(ps, r).decision
    )
    print(f"check: {disagreements} disagreements with the reference on {len(ref_sample)}")

    # A long-running service freezes its start-up heap so that the cyclic GC does not rescan
    # the policies and compiled sets on every collection.
    gc.collect()
    gc.freeze()

    def run_reference() -> int:
        for r, ps in zip(sample[:500], sets, strict=False):
            evaluate(ps, r)
        return 500

    def run_naive() -> int:
        for r, ps in zip(sample[:2000], sets, strict=False):
            naive_decide(ps, r)
        return 2000

    def run_compiled() -> int:
        for r, c in zip(sample, compiled, strict=True):
            c.decide(r)
        return len(sample)

    def run_decision() -> int:
        for r, c in zip(sample, compiled, strict=True):
            c.decision(r)
        return len(sample)

    ref_rate = rate(run_reference, 2)
    naive_rate = rate(run_naive)
    compiled_rate = rate(run_compiled)
    decision_rate = rate(run_decision)

    # single-decision latency, uncached (plans warm)
    lat: list[int] = []
    clock = time.perf_counter_ns
    for r, c in zip(sample, compiled, strict=True):
        t0 = clock()
        c.decide(r)
        lat.append(clock() - t0)
    lat.sort()
    p50 = lat[len(lat) // 2] / 1000
    p99 = lat[int(len(lat) * 0.99)] / 1000
    fast: list[int] = []
    for r, c in zip(sample, compiled, strict=True):
        t0 = clock()
        c.decision(r)
        fast.append(clock() - t0)
    fast.sort()
    fast_p50 = fast[len(fast) // 2] / 1000
    fast_p99 = fast[int(len(fast) * 0.99)] / 1000

    # the engine on the whole stream: resolver + cache
    engine = Engine(wl.policy_set, compiler=compiler)

    def run_engine() -> int:
        for r in stream:
            engine.decide(r)
        return len(stream)

    engine_cold = rate(run_engine, 1)
    cold_hits = engine.hits / max(1, engine.hits + engine.misses)
    hits0, misses0 = engine.hits, engine.misses
    engine_rate = rate(run_engine, 2)
    hits, misses = engine.hits - hits0, engine.misses - misses0
    hit_ratio = hits / max(1, hits + misses)
    fixed = Engine(sets[0], compiler=compiler)
    same_set = [r for r, ps in zip(sample, sets, strict=True) if ps is sets[0]] or sample[:1]

    def run_fixed() -> int:
        n = 0
        for _ in range(200):
            for r in same_set:
                fixed.decide(r)
                n += 1
        return n

    fixed_rate = rate(run_fixed)

    print()
    print(f"reference evaluator       {ref_rate:>12,.0f} decisions/s")
    print(f"naive loop (identity only){naive_rate:>12,.0f} decisions/s")
    print(f"compiled, uncached        {compiled_rate:>12,.0f} decisions/s"
          f"   ×{compiled_rate / ref_rate:.0f} reference, ×{compiled_rate / naive_rate:.1f} naive")
    print(f"compiled, decision only   {decision_rate:>12,.0f} decisions/s"
          f"   ×{decision_rate / ref_rate:.0f} reference, ×{decision_rate / naive_rate:.1f} naive")
    print(f"engine, cold cache stream {engine_cold:>12,.0f} decisions/s (incl. resolver and "
          f"compiling each new principal×resource set; hit ratio {cold_hits:.2f})")
    print(f"engine, warm cache stream {engine_rate:>12,.0f} decisions/s"
          f"   hit ratio {hit_ratio:.2f} ×{engine_rate / ref_rate:.0f} reference")
    print(f"engine, one set, cached   {fixed_rate:>12,.0f} decisions/s")
    print(f"latency uncached: p50 {p50:.1f} µs, p99 {p99:.1f} µs (wall clock); "
          f"decision only: p50 {fast_p50:.1f} µs, p99 {fast_p99:.1f} µs")
    print(f"(normalised to a 10 ns/iteration machine: uncached ≈ "
          f"{compiled_rate * loop_ns / 10:,.0f}/s, p50 ≈ {p50 * 10 / loop_ns:.1f} µs; "
          f"decision only ≈ {decision_rate * loop_ns / 10:,.0f}/s, "
          f"p50 ≈ {fast_p50 * 10 / loop_ns:.1f} µs)")
    return 0 if disagreements == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
