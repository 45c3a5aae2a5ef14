"""Side-by-side benchmark: policylang against its peers on ONE seeded workload, in one run.

    python3 benchmarks/compare_peers.py            # full run (~1,000 principals, 100,000 requests)
    python3 benchmarks/compare_peers.py --quick    # a small run (a minute or so)

The workload is benchmarks/workloads.py (seeded): ~1,000 principals with managed and inline
policies, wildcards, NotAction/NotResource, Deny guards, conditions and policy variables, S3
bucket and KMS key policies, role trust policies, SCP and RCP chains, and a skewed request
stream. Every engine answers the same requests:

* policylang compiled (`CompiledPolicySet.decision`, one core, no decision cache), the same
  with the explanation (`decide`), and the `Engine` with its decision cache;
* policylang batch (`policylang.batch.run_batch`) over the same requests as simulation-case
  JSON lines, with 1 and 2 worker processes (end to end: JSON parsing and case checks included);
* policylang's reference evaluator (`policylang.evaluator.evaluate`);
* a naive pure-Python loop over statements (benchmarks/peers/naive.py);
* moto's IAM policy evaluator (benchmarks/peers/moto_peer.py);
* cedarpy with the workload translated to Cedar (benchmarks/peers/cedar.py);
* @cloud-copilot/iam-simulate in node, timed inside node (benchmarks/peers/node_sim.py).

Each in-process engine runs in its own forked child, so its memory figure (RSS growth while
loading and deciding) is not polluted by the others. Slow engines decide a prefix of the stream
(`--slow-requests`). Agreement is measured against policylang's compiled decisions on the same
requests. Results go to benchmarks/RESULTS.md (`--out`). Not collected by pytest.
"""

from __future__ import annotations

import argparse
import collections
import multiprocessing
import os
import pathlib
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import bench_batch  # noqa: E402
from benchmarks.peers import cedar as cedar_peer  # noqa: E402
from benchmarks.peers import moto_peer, naive, node_sim  # noqa: E402
from benchmarks.peers.cases import CaseWriter, case_lines  # noqa: E402
from benchmarks.workloads import Workload, build_workload  # noqa: E402
from policylang.batch import decide_lines, read_lines  # noqa: E402
from policylang.compiler import Compiler, Engine  # noqa: E402
from policylang.evaluator import evaluate  # noqa: E402
from policylang.policy_set import PolicySet  # noqa: E402
from policylang.request import Request  # noqa: E402

Pair = tuple[PolicySet, Request]

# Set in the parent before forking; the children read them.
_WL: Workload | None = None
_PAIRS: list[Pair] = []

GAPS = {
    "policylang reference": "none expected: the compiler must equal the reference evaluator",
    "policylang engine (decision cache)": "none expected",
    "policylang compiled, explained": "none expected",
    "naive loop": "no KMS key-policy rule, no trust-policy rules, no root/service/anonymous "
    "special cases, no ARN-segment matching, simplified boundary/cross-account rules",
    "moto": "identity policies only (no resource policies, boundaries, SCPs, RCPs); a failed "
    "condition makes the statement DENY; few condition operators; no policy variables",
    "cedarpy": "translation gaps: KMS key-policy and trust rules not modelled, `?` glob "
    "approximated, ARN matching as whole-string globs, untranslatable statements dropped",
    "iam-simulate (node)": "validates requests against its service catalogue: ARNs of the "
    "synthetic workload that do not fit a resource type (queue/…, loggroup/…) are errors; "
    "different defaults for missing context keys",
}


# --------------------------------------------------------------------------- measuring


def _rss() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _percentile(values: list[int], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, int(q * len(ordered)))])


def _timed(
    pairs: list[Pair],
    load: Callable[[PolicySet, Request], Any],
    decide: Callable[[Any, Request], str],
) -> dict[str, Any]:
    """Load each distinct set once (timed), then decide every request (timed one by one)."""
    rss0 = _rss()
    t0 = time.perf_counter()
    loaded: dict[int, Any] = {}
    for ps, request in pairs:
        if id(ps) not in loaded:
            loaded[id(ps)] = load(ps, request)
    load_s = time.perf_counter() - t0
    decisions: list[str] = []
    latencies: list[int] = []
    clock = time.perf_counter_ns
    start = clock()
    for ps, request in pairs:
        s = clock()
        decisions.append(decide(loaded[id(ps)], request))
        latencies.append(clock() - s)
    total = (clock() - start) / 1e9
    return {
        "n": len(pairs), "sets": len(loaded), "load_s": load_s, "decide_s": total,
        "p50_us": _percentile(latencies, 0.5) / 1e3, "p99_us": _percentile(latencies, 0.99) / 1e3,
        "rss_mb": (_rss() - rss0) / 2**20, "decisions": decisions,
    }


def _peer_compiled(n: int) -> dict[str, Any]:
    compiler = Compiler()
    return _timed(_PAIRS[:n], lambda ps, _r: compiler.compile(ps),
                  lambda c, r: c.decision(r).value)


def _peer_explained(n: int) -> dict[str, Any]:
    compiler = Compiler()
    return _timed(_PAIRS[:n], lambda ps, _r: compiler.compile(ps),
                  lambda c, r: c.decide(r).decision.value)


def _peer_engine(n: int) -> dict[str, Any]:
    assert _WL is not None
    engine = Engine(_WL.policy_set)

    def load(_ps: PolicySet, request: Request) -> Engine:
        engine.compiled_for(request)  # compile the set now, not during the first decision
        return engine

    return _timed(_PAIRS[:n], load, lambda e, r: e.decision(r).value)


def _peer_reference(n: int) -> dict[str, Any]:
    return _timed(_PAIRS[:n], lambda ps, _r: ps, lambda ps, r: evaluate(ps, r).decision.value)


def _peer_naive(n: int) -> dict[str, Any]:
    return _timed(_PAIRS[:n], lambda ps, _r: ps, naive.decide)


def _peer_moto(n: int) -> dict[str, Any]:
    writer = CaseWriter()
    return _timed(_PAIRS[:n], lambda ps, _r: moto_peer.MotoSet(ps, writer),
                  lambda m, r: m.decide(r))


def _peer_cedar(n: int) -> dict[str, Any]:
    import cedarpy

    dropped = [0, 0]

    def load(ps: PolicySet, first: Request) -> Any:
        cs = cedar_peer.CedarSet(ps, first, cedarpy)
        dropped[0] += cs.dropped
        dropped[1] += cs.total
        return cs

    # The Cedar request (context with typed copies) is built inside the timed call, as an
    # application would have to.
    result = _timed(_PAIRS[:n], load,
                    lambda cs, r: cs.decide(cedarpy, [cedar_peer.cedar_request(r)])[0])
    result["note"] = f"{dropped[0]} of {dropped[1]} statements untranslatable (dropped)"
    return result


PEERS: dict[str, Callable[[int], dict[str, Any]]] = {
    "policylang compiled": _peer_compiled,
    "policylang compiled, explained": _peer_explained,
    "policylang engine (decision cache)": _peer_engine,
    "policylang reference": _peer_reference,
    "naive loop": _peer_naive,
    "moto": _peer_moto,
    "cedarpy": _peer_cedar,
}


def _in_child(name: str, n: int) -> dict[str, Any]:
    """Run one peer in a forked child (clean RSS figure, no interference)."""
    context = multiprocessing.get_context("fork")
    with context.Pool(1) as pool:
        result: dict[str, Any] = pool.apply(PEERS[name], (n,))
    return result


def _node(n: int) -> dict[str, Any]:
    out = node_sim.run(_PAIRS[:n])
    lat = out["latencies"]
    errors = sorted(out["errors"].items(), key=lambda kv: -kv[1])[:3]
    return {
        "n": n, "sets": len({id(ps) for ps, _ in _PAIRS[:n]}), "load_s": float("nan"),
        "decide_s": out["total_ns"] / 1e9, "p50_us": _percentile(lat, 0.5) / 1e3,
        "p99_us": _percentile(lat, 0.99) / 1e3, "rss_mb": out["rss_delta"] / 2**20,
        "decisions": out["decisions"],
        "note": "errors: " + ", ".join(f"{k} x{v}" for k, v in errors) if errors else "",
    }


def _batch(lines_path: str, workers: int, repeat: int = 2) -> dict[str, Any]:
    """`policylang batch` on the lines in a fresh process (as the CLI runs: not a fork of this
    process, which holds the whole workload), best of `repeat` runs (bench_batch.run_once).
    The decisions for the agreement column come from an untimed in-process run."""
    runs = [bench_batch.run_once(lines_path, workers) for _ in range(repeat)]
    best = min(runs, key=lambda r: r["wall"])
    with open(lines_path, "rb") as handle:
        decisions = [out.get("decision", "error") for out in decide_lines(
            line for _, line in read_lines(handle))]
    return {"n": best["lines"], "decide_s": best["wall"], "errors": best["errors"],
            "decisions": decisions, "cpu_s": best["cpu"], "digest": best["digest"]}


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the worker pool)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


# --------------------------------------------------------------------------- report


def _machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        node = subprocess.run(["node", "--version"], capture_output=True, text=True,
                              check=False).stdout.strip()
    except OSError:
        node = "not installed"
    return {"nproc": str(os.cpu_count()), "cpu": cpu, "python": platform.python_version(),
            "node": node or "not installed", "load": ", ".join(f"{x:.2f}" for x in os.getloadavg())}


def _agreement(ours: list[str], theirs: list[str], pairs: list[Pair]) -> tuple[float, str]:
    n = min(len(ours), len(theirs))
    if not n:
        return float("nan"), ""
    same = sum(1 for a, b in zip(ours[:n], theirs[:n], strict=True) if a == b)
    buckets: collections.Counter[str] = collections.Counter()
    for (_ps, request), a, b in zip(pairs[:n], ours[:n], theirs[:n], strict=True):
        if a != b:
            buckets[f"{b} vs {a} ({request.action.split(':')[0]})"] += 1
    top = "; ".join(f"{k}: {v}" for k, v in buckets.most_common(3))
    return same / n, top


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--principals", type=int)
    parser.add_argument("--requests", type=int, help="requests for the fast engines")
    parser.add_argument("--slow-requests", type=int, help="requests for the slow engines")
    parser.add_argument("--batch-lines", type=int, help="JSON lines for the batch runs")
    parser.add_argument("--node-requests", type=int, help="requests for iam-simulate")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "RESULTS.md"))
    args = parser.parse_args(argv)
    quick = args.quick
    principals = args.principals or (200 if quick else 1000)
    n_fast = args.requests or (5_000 if quick else 100_000)
    n_slow = min(n_fast, args.slow_requests or (1_000 if quick else 20_000))
    n_batch = min(n_fast, args.batch_lines or (2_000 if quick else 20_000))
    n_node = min(n_slow, args.node_requests or (300 if quick else 3_000))

    global _WL, _PAIRS
    machine = _machine()
    t0 = time.perf_counter()
    _WL = build_workload(args.seed, principals)
    requests = _WL.requests(n_fast, seed=args.seed + 1)
    _PAIRS = [(_WL.policy_set(r), r) for r in requests]
    print(f"workload: {principals} principals, {n_fast} requests, "
          f"{len({id(p) for p, _ in _PAIRS})} distinct policy sets "
          f"({time.perf_counter() - t0:.1f}s)", file=sys.stderr)

    results: dict[str, dict[str, Any]] = {}
    plan = [("policylang compiled", n_fast), ("policylang compiled, explained", n_fast),
            ("policylang engine (decision cache)", n_fast),
            ("policylang reference", n_slow), ("naive loop", n_slow), ("moto", n_slow),
            ("cedarpy", n_slow)]
    unavailable: dict[str, str] = {}
    for name, n in plan:
        if name == "moto" and (why := moto_peer.available()):
            unavailable[name] = why
            continue
        if name == "cedarpy":
            try:
                import cedarpy  # noqa: F401
            except ImportError as error:
                unavailable[name] = f"cedarpy is not installed ({error})"
                continue
        print(f"running {name} on {n} requests ...", file=sys.stderr)
        results[name] = _in_child(name, n)
    why_node = node_sim.available()
    if why_node:
        unavailable["iam-simulate (node)"] = why_node
    else:
        print(f"running iam-simulate (node) on {n_node} requests ...", file=sys.stderr)
        try:
            results["iam-simulate (node)"] = _node(n_node)
        except (RuntimeError, subprocess.TimeoutExpired) as error:
            unavailable["iam-simulate (node)"] = f"failed: {error}"

    print(f"running batch on {n_batch} JSON lines (1 and 2 workers) ...", file=sys.stderr)
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as handle:
        for line in case_lines(_WL, requests[:n_batch]):
            handle.write(line + "\n")
        lines_path = handle.name
    try:
        batch1 = _batch(lines_path, 1)
        batch2 = _batch(lines_path, 2)
    finally:
        pathlib.Path(lines_path).unlink(missing_ok=True)
    machine["load_end"] = ", ".join(f"{x:.2f}" for x in os.getloadavg())

    text = _report(args, machine, results, unavailable, batch1, batch2,
                   (principals, n_fast, n_slow, n_batch, n_node))
    pathlib.Path(args.out).write_text(text, encoding="utf-8")
    print(text)
    return 0


def _report(
    args: argparse.Namespace, machine: dict[str, str], results: dict[str, dict[str, Any]],
    unavailable: dict[str, str], batch1: dict[str, Any], batch2: dict[str, Any],
    sizes: tuple[int, int, int, int, int],
) -> str:
    principals, n_fast, n_slow, n_batch, n_node = sizes
    ours = results["policylang compiled"]["decisions"]
    cmd = "python3 benchmarks/compare_peers.py" + (" --quick" if args.quick else "")
    rate = {name: r["n"] / r["decide_s"] for name, r in results.items() if r["decide_s"] > 0}
    out = [
        "# policylang vs peers: one seeded workload, one run",
        "",
        f"Command: `{cmd}` (seed {args.seed}). Written by benchmarks/compare_peers.py.",
        "",
        f"Machine: {machine['nproc']} CPUs ({machine['cpu']}), Python {machine['python']}, "
        f"node {machine['node']}. Load average at start {machine['load']}, at end "
        f"{machine['load_end']} — the machine is shared and noisy: read the ratios, "
        "not the bare times.",
        "",
        f"Workload (benchmarks/workloads.py): {principals} principals, {n_fast} requests "
        f"(skewed), {results['policylang compiled']['sets']} distinct policy sets. Slow engines "
        f"decide the first {n_slow} requests (iam-simulate: the first {n_node}); agreement is "
        "on those same requests.",
        "",
        "| engine | requests | decisions/s | p50 µs | p99 µs | load/compile s | sets | "
        "memory MB | agreement |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    notes: list[str] = []
    for name, r in results.items():
        agree, why = _agreement(ours, r["decisions"], _PAIRS)
        load = "n/a" if r["load_s"] != r["load_s"] else f"{r['load_s']:.2f}"
        out.append(
            f"| {name} | {r['n']} | {rate[name]:,.0f} | {r['p50_us']:.1f} | {r['p99_us']:.1f} | "
            f"{load} | {r['sets']} | {r['rss_mb']:.1f} | {100 * agree:.2f}% |"
        )
        if why or r.get("note"):
            note = r.get("note", "")
            notes.append(f"- **{name}**: " + (f"{note}; " if note else "")
                         + (f"disagreements (peer vs policylang): {why}." if why else "")
                         + f" Documented gaps: {GAPS.get(name, '')}.")
    b1 = batch1["n"] / batch1["decide_s"]
    b2 = batch2["n"] / batch2["decide_s"]
    a1, _ = _agreement(ours, batch1["decisions"], _PAIRS)
    a2, _ = _agreement(ours, batch2["decisions"], _PAIRS)
    out += [
        f"| policylang batch, 1 worker (JSON lines, end to end) | {batch1['n']} | {b1:,.0f} | "
        f"| | | | | {100 * a1:.2f}% |",
        f"| policylang batch, 2 workers | {batch2['n']} | {b2:,.0f} | | | | | | "
        f"{100 * a2:.2f}% |",
        "",
        f"Batch speed-up, 2 workers over 1 (wall clock): **{b2 / b1:.2f}×** on {n_batch} "
        f"lines. CPU seconds: {batch1['cpu_s']:.1f} with 1 worker, {batch2['cpu_s']:.1f} with "
        f"2 (the second worker's own caches, against work saved by routing each principal "
        f"to one worker: "
        f"{100 * (batch2['cpu_s'] / batch1['cpu_s'] - 1):+.0f}%), so on an idle 2-core machine "
        f"the speed-up is bounded by {2 * batch1['cpu_s'] / batch2['cpu_s']:.2f}×. The target "
        "is ≥ 1.7×. Each batch figure is the best of two runs of a fresh process "
        "(benchmarks/bench_batch.py `run_once`), timed inside it; the 1- and 2-worker outputs "
        f"are byte-identical: {batch1['digest'] == batch2['digest']}. The batch path includes "
        "JSON decoding and the strict case checks of every line, so it is slower per request "
        "than the compiled engine on in-memory requests.",
        "",
        "Memory: RSS growth of the engine's process while loading and deciding (node: "
        "`process.memoryUsage().rss` delta inside node).",
        "",
        "## Ratios",
        "",
        "Two views: throughput (decisions/s over the whole run, which includes the stalls "
        "of a shared machine) and the median latency (p50, which those stalls barely move).",
        "",
        "| engine | × naive loop (throughput) | × naive loop (p50) | policylang compiled × this "
        "engine (throughput) | policylang compiled × this engine (p50) |",
        "|---|---:|---:|---:|---:|",
    ]
    base = rate.get("naive loop")
    base_p50 = results["naive loop"]["p50_us"] if "naive loop" in results else None
    ours_p50 = results["policylang compiled"]["p50_us"]
    for name, r in results.items():
        vs_naive = f"{rate[name] / base:.1f}" if base else "n/a"
        vs_naive_p50 = f"{base_p50 / r['p50_us']:.1f}" if base_p50 else "n/a"
        out.append(
            f"| {name} | {vs_naive} | {vs_naive_p50} | "
            f"{rate['policylang compiled'] / rate[name]:.1f} | {r['p50_us'] / ours_p50:.1f} |"
        )
    out += ["", "## Disagreements and peers' gaps", ""] + (notes or ["- none"])
    if unavailable:
        out += ["", "## Peers not measured", ""]
        out += [f"- {name}: {why}" for name, why in unavailable.items()]
    out += [
        "",
        "## Notes",
        "",
        "- policylang compiled = `Compiler().compile(set)` per distinct set, then "
        "`decision(request)` (the decision only, as a batch job or a yes/no authorizer needs "
        "it) with no decision cache; \"explained\" = `decide(request)`, which also builds the "
        "matched statements, missing context keys and per-set details of `simulate`; the "
        "engine row is `Engine.decision` with its decision cache (skewed streams repeat "
        "requests). Plans for an action are built on its first request, inside the timing.",
        "- cedarpy: each request is one `is_authorized_batch` call on a pre-parsed PolicySet "
        "handle; building the Cedar context is inside the timing. Cedar cannot express IAM "
        "semantics natively; see benchmarks/peers/cedar.py for what is translated.",
        "- iam-simulate: timed inside node (`process.hrtime`), process start-up excluded; it "
        "validates every request (actions, ARNs, context keys) as part of a decision.",
        "- latencies: one clock read before and after each decision; p50/p99 over all "
        "requests of the engine.",
    ]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.exit(main())
