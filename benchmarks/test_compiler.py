"""pytest-benchmark cases for the compiler (run: python3 -m pytest benchmarks/test_compiler.py).

Each benchmark asserts the answers it computed (equal to the reference evaluator's), never
the time. Throughput figures and ratios come from benchmarks/bench_engine.py.
"""

from __future__ import annotations

import functools

import pytest

from benchmarks.peers.cases import case_lines
from benchmarks.workloads import Workload, build_workload
from policylang.batch import decide_lines
from policylang.compiler import Compiler, Engine
from policylang.decision import Decision, EvaluationResult
from policylang.evaluator import evaluate
from policylang.request import Request

SAMPLE = 1000


@functools.cache
def workload() -> Workload:
    return build_workload(0, principals=1000)


@functools.cache
def sample() -> tuple[list[Request], list[EvaluationResult]]:
    wl = workload()
    requests = wl.requests(SAMPLE, seed=11)
    return requests, [evaluate(wl.policy_set(r), r) for r in requests]


def test_compile_workload(benchmark: pytest.FixtureRequest) -> None:
    wl = workload()

    def run() -> Compiler:
        compiler = Compiler()
        for ps in wl.base_sets():
            compiler.compile(ps)
        return compiler

    compiler = benchmark.pedantic(run, rounds=3, iterations=1)  # type: ignore[attr-defined]
    stats = compiler.stats()
    resources = {info.arn for infos in wl.resources.values() for info in infos}
    assert stats["sets"] == len(wl.principals) + len(resources)
    assert stats["policies"] < stats["sets"] * 2  # shared documents compile once


def test_decide_uncached(benchmark: pytest.FixtureRequest) -> None:
    wl = workload()
    requests, expected = sample()
    compiler = Compiler()
    compiled = [compiler.compile(wl.policy_set(r)) for r in requests]

    def run() -> list[EvaluationResult]:
        return [c.decide(r) for c, r in zip(compiled, requests, strict=True)]

    assert benchmark(run) == expected  # type: ignore[operator]


def test_decision_only_uncached(benchmark: pytest.FixtureRequest) -> None:
    """`decision()`: the decision without the explanation (batch jobs, yes/no authorizers)."""
    wl = workload()
    requests, expected = sample()
    compiler = Compiler()
    compiled = [compiler.compile(wl.policy_set(r)) for r in requests]

    def run() -> list[Decision]:
        return [c.decision(r) for c, r in zip(compiled, requests, strict=True)]

    assert benchmark(run) == [e.decision for e in expected]  # type: ignore[operator]


def test_decision_only_cold(benchmark: pytest.FixtureRequest) -> None:
    """A fresh compiler each round: compiling the sets and building each action's plan on its
    first request are inside the timing (what a cold service or a one-off batch pays)."""
    wl = workload()
    requests, expected = sample()
    sets = [wl.policy_set(r) for r in requests]

    def run() -> list[Decision]:
        compiler = Compiler()
        return [compiler.compile(ps).decision(r) for ps, r in zip(sets, requests, strict=True)]

    answers = benchmark.pedantic(run, rounds=3, iterations=1)  # type: ignore[attr-defined]
    assert answers == [e.decision for e in expected]


def test_batch_lines(benchmark: pytest.FixtureRequest) -> None:
    """`policylang batch` in process: JSON lines of simulation cases, strict checks included."""
    wl = workload()
    requests, expected = sample()
    lines = list(case_lines(wl, requests[:300]))

    def run() -> list[str]:
        return [out["decision"] for out in decide_lines(lines)]

    answers = benchmark.pedantic(run, rounds=2, iterations=1)  # type: ignore[attr-defined]
    assert answers == [e.decision.value for e in expected[:300]]


def test_engine_cached_stream(benchmark: pytest.FixtureRequest) -> None:
    wl = workload()
    requests, expected = sample()
    engine = Engine(wl.policy_set)

    def run() -> list[EvaluationResult]:
        return list(engine.decide_many(requests))

    assert benchmark(run) == expected  # type: ignore[operator]
    assert engine.hits > 0


def test_reference_evaluator(benchmark: pytest.FixtureRequest) -> None:
    wl = workload()
    requests, expected = sample()
    head = requests[:100]
    sets = [wl.policy_set(r) for r in head]

    def run() -> list[EvaluationResult]:
        return [evaluate(ps, r) for ps, r in zip(sets, head, strict=True)]

    answers = benchmark.pedantic(run, rounds=2, iterations=1)  # type: ignore[attr-defined]
    assert answers == expected[:100]
