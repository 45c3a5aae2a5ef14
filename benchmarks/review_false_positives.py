"""False positives and false negatives of `policylang review` over the review corpora.

    python3 benchmarks/review_false_positives.py [--json] [--verbose]

Risky corpus (tests/review/risky/): every expected finding (`CODE LINE:COL` in the sidecar) that
is not reported is a false negative; every reported finding that is not expected is a false
positive. Good corpus (tests/review/good/): every warning or error is a false positive (notes are
counted separately, not as false positives). Prints per-code counts, precision and recall, and
the time per file; exit status 1 when there is any false positive or negative.
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import json
import sys
import time
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _corpus() -> ModuleType:
    path = ROOT / "tests" / "review" / "corpus.py"
    spec = importlib.util.spec_from_file_location("review_corpus_bench", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["review_corpus_bench"] = module
    spec.loader.exec_module(module)
    return module


def measure() -> dict[str, object]:
    """Run the reviewer over both corpora and count agreements with the sidecars."""
    corpus = _corpus()
    from policylang.review import Severity

    tp: collections.Counter[str] = collections.Counter()
    fp: collections.Counter[str] = collections.Counter()
    fn: collections.Counter[str] = collections.Counter()
    notes = 0
    details: list[str] = []
    files = 0
    started = time.perf_counter()
    for directory, risky in ((corpus.RISKY, True), (corpus.GOOD, False)):
        for path in corpus.policy_files(directory):
            files += 1
            expect = corpus.read_expect(path)
            findings = corpus.review_file(path, expect)
            got = corpus.keys(findings, minimum=Severity.INFO if risky else Severity.WARNING)
            wanted = expect.findings if risky else collections.Counter()
            if not risky:
                notes += sum(1 for f in findings if f.severity is Severity.INFO)
            for key, n in (got & wanted).items():
                tp[key[0]] += n
            for key, n in (got - wanted).items():
                fp[key[0]] += n
                details.append(f"FP {path.name}: {key[0]} at {key[1]}:{key[2]}")
            for key, n in (wanted - got).items():
                fn[key[0]] += n
                details.append(f"FN {path.name}: {key[0]} at {key[1]}:{key[2]}")
    elapsed = time.perf_counter() - started
    t, p, n = sum(tp.values()), sum(fp.values()), sum(fn.values())
    return {
        "files": files,
        "true_positives": t,
        "false_positives": p,
        "false_negatives": n,
        "good_corpus_notes": notes,
        "precision": t / (t + p) if t + p else 1.0,
        "recall": t / (t + n) if t + n else 1.0,
        "per_code": {
            code: {"tp": tp[code], "fp": fp[code], "fn": fn[code]}
            for code in sorted(set(tp) | set(fp) | set(fn))
        },
        "details": details,
        "ms_per_file": 1000 * elapsed / max(files, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--verbose", action="store_true", help="list every FP/FN")
    args = parser.parse_args(argv)
    result = measure()
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"files reviewed:   {result['files']}")
        print(f"true positives:   {result['true_positives']}")
        print(f"false positives:  {result['false_positives']}")
        print(f"false negatives:  {result['false_negatives']}")
        print(f"notes on good:    {result['good_corpus_notes']}")
        print(f"precision:        {result['precision']:.3f}")
        print(f"recall:           {result['recall']:.3f}")
        print(f"time per file:    {result['ms_per_file']:.2f} ms")
        per_code = result["per_code"]
        assert isinstance(per_code, dict)
        for code, c in per_code.items():
            print(f"  {code}: tp={c['tp']} fp={c['fp']} fn={c['fn']}")
        details = result["details"]
        assert isinstance(details, list)
        for line in details if args.verbose else details[:20]:
            print("  " + line)
    return int(bool(result["false_positives"] or result["false_negatives"]))


def test_review_corpora_have_no_false_results(benchmark: object) -> None:
    """pytest-benchmark entry: times one pass; asserts the answer, never the time."""
    result = benchmark(measure)  # type: ignore[operator]
    assert result["false_positives"] == 0
    assert result["false_negatives"] == 0


if __name__ == "__main__":
    sys.exit(main())
