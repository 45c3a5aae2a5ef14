"""DSL parsing and formatting speed, reported as statements per second.

    python3 -m pytest benchmarks/test_dsl.py --benchmark-only

The input is the golden corpus (tests/golden/roundtrip/*.policy, real-world shapes) and one
large document of 1,000 statements built from it. `extra_info["statements_per_s"]` is the
throughput of the mean round. Every benchmark asserts its answer, never its time.
"""

from __future__ import annotations

import pathlib
from typing import Any

from benchmarks.bench_parsers import build_corpus
from policylang.grammar.dsl_to_ir import parse_dsl
from policylang.grammar.ir_to_dsl import format_dsl
from policylang.grammar.json_to_ir import parse_iam_json
from policylang.ir import Policy

GOLDEN = pathlib.Path(__file__).resolve().parents[1] / "tests" / "golden" / "roundtrip"
CORPUS = [p.read_text(encoding="utf-8") for p in sorted(GOLDEN.glob("*.policy"))]
# Statement bodies only (settings dropped), so they can be concatenated into one document.
_BODIES = [
    "\n".join(
        line for line in text.splitlines()
        if not line.startswith(("version ", "id ", "statement object"))
    )
    for text in CORPUS
]
_STATEMENTS_PER_DOC = [len(parse_dsl(text).statements) for text in CORPUS]


def _big_document(statements: int) -> tuple[str, int]:
    parts: list[str] = []
    count = 0
    i = 0
    while count < statements:
        parts.append(_BODIES[i % len(_BODIES)])
        count += _STATEMENTS_PER_DOC[i % len(_BODIES)]
        i += 1
    return "\n\n".join(parts) + "\n", count


BIG, BIG_COUNT = _big_document(1_000)


def _rate(benchmark: Any, statements: int) -> None:
    stats = getattr(benchmark, "stats", None)
    mean = stats.stats.mean if stats is not None else 0.0
    if mean:
        benchmark.extra_info["statements_per_s"] = round(statements / mean)


def test_parse_golden_corpus(benchmark: Any) -> None:
    def parse_all() -> int:
        return sum(len(parse_dsl(text).statements) for text in CORPUS)

    total = benchmark(parse_all)

    assert total == sum(_STATEMENTS_PER_DOC)
    _rate(benchmark, total)


def test_parse_one_large_document(benchmark: Any) -> None:
    policy: Policy = benchmark(parse_dsl, BIG)

    assert len(policy.statements) == BIG_COUNT
    _rate(benchmark, BIG_COUNT)


# The same realistic policies in both forms (benchmarks/bench_parsers.py, which also prints the
# DSL/JSON ratio in CPU time): pytest-benchmark rounds for each parser over 1,000+ statements.
_JSON_TEXTS, _DSL_TEXTS, _MIXED_COUNT = build_corpus(1_000)


def test_parse_mixed_policies_dsl(benchmark: Any) -> None:
    def parse_all() -> list[Policy]:
        return [parse_dsl(text) for text in _DSL_TEXTS]

    policies = benchmark(parse_all)

    assert sum(len(p.statements) for p in policies) == _MIXED_COUNT
    assert policies == [parse_iam_json(text) for text in _JSON_TEXTS]
    _rate(benchmark, _MIXED_COUNT)


def test_parse_mixed_policies_json(benchmark: Any) -> None:
    def parse_all() -> list[Policy]:
        return [parse_iam_json(text) for text in _JSON_TEXTS]

    policies = benchmark(parse_all)

    assert sum(len(p.statements) for p in policies) == _MIXED_COUNT
    assert all(p.span is not None for p in policies)  # located=True, the default
    _rate(benchmark, _MIXED_COUNT)


def test_format_one_large_document(benchmark: Any) -> None:
    policy = parse_dsl(BIG)

    text = benchmark(format_dsl, policy)

    assert parse_dsl(text) == policy
    _rate(benchmark, BIG_COUNT)
