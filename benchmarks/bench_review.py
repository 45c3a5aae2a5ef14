"""`policylang review --account` over the generated 5,000-principal authorization-details dump.

    python3 benchmarks/bench_review.py [--principals 5000] [--seed 7] [--dump FILE]
                                       [--report OUT.html] [--profile]

Writes the dump of `gen_authz_details.generate` to a temporary file (or reviews `--dump FILE`),
then times, in this process, (1) `policylang review --account DUMP --format json` and (2) the
same with `--report OUT` (findings, reach with who-can, focused trust graph through `dot`).
Each is run through the CLI entry point, so parsing the file, loading the environment and
rendering are included. Prints wall-clock and CPU seconds (`time.process_time`: less distorted
by other processes on a shared machine) and the finding counts, which it checks are the same
in both runs. The issue asks for at most 60 s on this machine. `--profile` prints the top
cProfile entries of the review run.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from gen_authz_details import generate

from policylang.cli import main

LIMIT_SECONDS = 60.0


def _run(argv: list[str], profile: bool = False) -> tuple[float, float, int, str]:
    """(wall s, CPU s, exit status, stdout) of `policylang ARGV` in this process."""
    out, err = io.StringIO(), io.StringIO()
    profiler = cProfile.Profile() if profile else None
    wall, cpu = time.perf_counter(), time.process_time()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        if profiler is not None:
            profiler.enable()
        code = main(argv)
        if profiler is not None:
            profiler.disable()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    if code not in (0, 1):
        raise SystemExit(f"policylang {' '.join(argv)} failed ({code}):\n{err.getvalue()}")
    return wall, cpu, code, out.getvalue()


def main_(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--principals", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dump", type=Path, default=None, help="review this file instead")
    parser.add_argument("--report", type=Path, default=None, help="keep the HTML report here")
    parser.add_argument("--profile", action="store_true", help="cProfile the review run")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        dump = args.dump
        if dump is None:
            dump = Path(tmp) / "dump.json"
            dump.write_text(json.dumps(generate(args.principals, seed=args.seed)), "utf-8")
        size = dump.stat().st_size / 1e6
        print(f"dump: {dump} ({size:.1f} MB, {args.principals} principals)")

        wall, cpu, _, out = _run(["review", "--account", str(dump), "--format", "json",
                                  "--fail-on", "never"], profile=args.profile)
        summary = json.loads(out)["summary"]
        print(f"review --account:          {wall:6.1f} s wall, {cpu:6.1f} s CPU  "
              f"findings {summary}")

        report = args.report or Path(tmp) / "review.html"
        wall2, cpu2, _, out2 = _run(["review", "--account", str(dump), "--format", "json",
                                     "--fail-on", "never", "--report", str(report)])
        summary2 = json.loads(out2)["summary"]
        if summary2 != summary:
            raise SystemExit(f"the report run found {summary2}, the review run {summary}")
        html = report.read_text("utf-8")
        if "<h2 id=\"reach\">" not in html:
            raise SystemExit("the report has no reach section")
        print(f"review --account --report: {wall2:6.1f} s wall, {cpu2:6.1f} s CPU  "
              f"({len(html) / 1e6:.1f} MB HTML{', SVG graph' if '<svg' in html else ''})")
        worst = max(wall, wall2)
        verdict = "within" if worst <= LIMIT_SECONDS else "OVER"
        print(f"{verdict} the {LIMIT_SECONDS:.0f} s budget (slowest run {worst:.1f} s wall)")
        return 0 if worst <= LIMIT_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main_())
