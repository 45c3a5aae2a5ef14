"""Print the IAM JSON front end's throughput (MB/s) on a realistic multi-MB policy set.

    python3 benchmarks/bench_frontend.py [MEGABYTES]

Parses generated identity policies (default 4 MB, pretty-printed like real exports) with full
identity validation, on the located path (spans on every IR node) and on the fast path
(C scanner, positions recovered only when there is an error), the middle mode (spans on
statements only, `located="statements"`) and the raw readers. Prints
wall-clock and CPU throughput: on a shared machine CPU time is the steadier figure.
"""

from __future__ import annotations

import pathlib
import sys
import time
from collections.abc import Callable

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(pathlib.Path(__file__).parent))

from gen_policies import make_policy_texts

from policylang._json import loads, parse_located
from policylang.grammar import parse_iam_json
from policylang.ir import PolicyKind
from policylang.source import Source


def measure(label: str, size: int, run: Callable[[], int]) -> None:
    wall, cpu = time.perf_counter(), time.process_time()
    count = run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(
        f"{label:52} {size / 1e6 / wall:7.2f} MB/s wall {size / 1e6 / cpu:7.2f} MB/s cpu"
        f"  ({count} policies)"
    )


def main() -> None:
    megabytes = float(sys.argv[1]) if len(sys.argv) > 1 else 4.0
    texts = make_policy_texts(int(megabytes * 1_000_000))
    size = sum(len(t) for t in texts)
    statements = sum(t.count('"Effect"') for t in texts)
    print(f"{len(texts)} policies, {statements} statements, {size / 1e6:.2f} MB")

    def readers(fast: bool) -> Callable[[], int]:
        def run() -> int:
            for text in texts:
                if fast:
                    loads(text, source=Source("p.json", ""))
                else:
                    parse_located(text, source=Source("p.json", ""))
            return len(texts)

        return run

    def parse(located: bool | str, kind: PolicyKind | None) -> Callable[[], int]:
        def run() -> int:
            for text in texts:
                parse_iam_json(text, kind=kind, located=located)  # type: ignore[arg-type]
            return len(texts)

        return run

    measure("reader: fast (json C scanner + dup check)", size, readers(True))
    measure("reader: located (all spans)", size, readers(False))
    for located in (True, "statements", False):
        for kind in (None, PolicyKind.IDENTITY):
            path = {True: "located", False: "fast", "statements": "statement spans"}[located]
            checks = "identity validation" if kind else "structure only"
            measure(f"parse_iam_json {path}, {checks}", size, parse(located, kind))


if __name__ == "__main__":
    main()
