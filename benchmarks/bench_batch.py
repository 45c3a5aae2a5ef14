"""End-to-end benchmark of `policylang batch`: JSON lines of simulation cases -> decisions.

    python3 benchmarks/bench_batch.py                  # 20,000 lines, 1 and 2 workers
    python3 benchmarks/bench_batch.py --lines 5000     # a quicker run
    python3 benchmarks/bench_batch.py --million        # 1,000,000 lines through the CLI

The lines are the seeded workload of benchmarks/workloads.py written as simulation cases by
benchmarks/peers/cases.py (the very lines benchmarks/compare_peers.py times), so the figures
are comparable with benchmarks/RESULTS.md.

Default mode: the lines are written to a temporary file under /tmp; each run is a fresh
process (`--run-one`: no module caches warmed by an earlier run) calling `run_batch` on that
file with 1 or 2 worker processes (start method `fork`, so RUSAGE_CHILDREN counts the
workers), output to memory. Reported per run: lines/s (wall clock), CPU seconds (the process
and its workers), peak RSS of the process and of a worker; then, over the best of `--repeat`
runs, the 2-over-1 speed-up in wall clock and the CPU-seconds ratio. The outputs of the two
runs must be byte-identical (compared by digest). The machine is shared: read the ratios.

`--million`: generates 1,000,000 lines lazily into a file under /tmp (about 3.4 GB; removed
afterwards unless `--keep`; reused when it already exists), then runs `python3 -m policylang
batch FILE --workers N --out /dev/null` as a subprocess and samples the RSS of its process tree
every half second: lines/s, peak RSS over time (bounded memory: it must level off, not grow
with the input), and the summary. Not collected by pytest (no `test_` prefix).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import itertools
import json
import os
import pathlib
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.peers.cases import case_lines  # noqa: E402
from benchmarks.workloads import build_workload  # noqa: E402
from policylang.batch import BatchOptions, read_lines, run_batch  # noqa: E402

MILLION = 1_000_000


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the worker pool)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _maxrss_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # kB on Linux


def generate(n: int, *, seed: int = 0, principals: int = 1000) -> Iterator[str]:
    """`n` case lines of the seeded workload, generated lazily."""
    workload = build_workload(seed, principals)
    return case_lines(workload, workload.iter_requests(n, seed=seed + 1))


def run_once(path: str, workers: int, *, matched: bool = False) -> dict[str, Any]:
    """One run in a fresh process (no warm module caches, a clean peak RSS): its figures."""
    command = [sys.executable, __file__, "--run-one", path, "--workers", str(workers)]
    if matched:
        command.append("--matched")
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _run_one(path: str, workers: int, matched: bool) -> int:
    """The child of `run_once`: decide the file, print the figures as JSON."""
    out = io.BytesIO()
    cpu0 = _cpu()
    t0 = time.perf_counter()
    with open(path, "rb") as handle:
        summary = run_batch(
            read_lines(handle), out, options=BatchOptions(matched=matched),
            workers=workers, start_method="fork",
        )
    wall = time.perf_counter() - t0
    cpu = _cpu() - cpu0
    print(json.dumps({
        "lines": summary.lines, "errors": summary.errors, "wall": wall, "cpu": cpu,
        "rate": summary.lines / wall, "digest": hashlib.sha256(out.getvalue()).hexdigest(),
        "rss_parent_mb": _maxrss_mb(resource.RUSAGE_SELF),
        "rss_worker_mb": _maxrss_mb(resource.RUSAGE_CHILDREN) if workers > 1 else 0.0,
    }))
    return 0


def bench(n: int, *, matched: bool, repeat: int) -> int:
    t0 = time.perf_counter()
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, dir="/tmp") as handle:
        for line in generate(n):
            handle.write(line + "\n")
        path = handle.name
    size = os.path.getsize(path)
    print(f"{n} lines ({size / 2**20:.1f} MB) generated in {time.perf_counter() - t0:.1f}s; "
          f"load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    best: dict[int, dict[str, Any]] = {}
    try:
        for _ in range(repeat):
            for workers in (1, 2):
                result = run_once(path, workers, matched=matched)
                print(f"  workers={workers}: {result['rate']:8,.0f} lines/s  wall "
                      f"{result['wall']:6.2f}s  CPU {result['cpu']:6.2f}s  "
                      f"errors {result['errors']}  peak RSS {result['rss_parent_mb']:.0f} MB"
                      + (f" (+ {result['rss_worker_mb']:.0f} MB per worker)"
                         if workers > 1 else ""), flush=True)
                if workers not in best or result["wall"] < best[workers]["wall"]:
                    best[workers] = result
    finally:
        os.unlink(path)
    one, two = best[1], best[2]
    if one["digest"] != two["digest"]:
        print("ERROR: the outputs of 1 and 2 workers differ", file=sys.stderr)
        return 1
    speedup = one["wall"] / two["wall"]
    cpu_ratio = two["cpu"] / one["cpu"]
    print(f"best of {repeat}: 1 worker {one['rate']:,.0f} lines/s, 2 workers {two['rate']:,.0f} "
          f"lines/s (outputs identical)")
    print(f"speed-up 2 over 1 (wall clock): {speedup:.2f}x")
    print(f"CPU seconds 2 over 1 (same runs): {cpu_ratio:.2f} (more: the parent's reading and "
          f"writing, documents both workers read; less: each worker's caches hold about half "
          f"the principals and hit more often)")
    print(f"load average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


# --------------------------------------------------------------------------- the million


def _tree_rss_mb(pid: int) -> float:
    """RSS of a process and all its descendants (from /proc), in MB."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        child = int(entry)
        children.setdefault(int(fields[1]), []).append(child)
        rss[child] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        total += rss.get(current, 0)
        stack.extend(children.get(current, ()))
    return total / 2**20


def million(args: argparse.Namespace) -> int:
    path = pathlib.Path(args.file)
    n = args.million_lines
    if not path.exists():
        t0 = time.perf_counter()
        tmp = path.with_suffix(".partial")
        with open(tmp, "w", encoding="utf-8") as handle:
            for chunk in _batched(generate(n), 10_000):
                handle.write("\n".join(chunk) + "\n")
        tmp.rename(path)
        print(f"generated {n} lines, {path.stat().st_size / 2**30:.2f} GB, in "
              f"{time.perf_counter() - t0:.0f}s: {path}")
    command = [sys.executable, "-m", "policylang", "batch", str(path), "--workers",
               str(args.workers), "--out", "/dev/null"]
    print("running:", " ".join(command), flush=True)
    t0 = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    samples: list[tuple[float, float]] = []
    while process.poll() is None:
        samples.append((time.perf_counter() - t0, _tree_rss_mb(process.pid)))
        time.sleep(0.5)
    wall = time.perf_counter() - t0
    err = process.stderr.read() if process.stderr is not None else ""
    print(err.strip())
    if not args.keep:
        path.unlink(missing_ok=True)
    peak = max((mb for _, mb in samples), default=0.0)
    print(f"exit status {process.returncode}; {n / wall:,.0f} lines/s ({wall:.0f}s wall, "
          f"{args.workers} workers)")
    print(f"peak RSS of the process tree: {peak:.0f} MB")
    step = max(1, len(samples) // 10)
    print("RSS over time (s, MB): " + ", ".join(
        f"{t:.0f}:{mb:.0f}" for t, mb in samples[::step]))
    return process.returncode


def _batched(items: Iterator[str], size: int) -> Iterator[list[str]]:
    while chunk := list(itertools.islice(items, size)):
        yield chunk


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=20_000, help="lines (default 20000)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each; the best is kept")
    parser.add_argument("--matched", action="store_true", help="with matched statements")
    parser.add_argument("--million", action="store_true",
                        help="1,000,000 lines through `policylang batch` (bounded memory)")
    parser.add_argument("--million-lines", type=int, default=MILLION, help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=2, help="workers for --million")
    parser.add_argument("--file", default="/tmp/policylang-bench-million.jsonl",
                        help="where --million writes its input")
    parser.add_argument("--keep", action="store_true", help="keep the --million input file")
    parser.add_argument("--run-one", metavar="FILE", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run_one:
        return _run_one(args.run_one, args.workers, args.matched)
    if args.million:
        return million(args)
    return bench(args.lines, matched=args.matched, repeat=args.repeat)


if __name__ == "__main__":
    raise SystemExit(main())
