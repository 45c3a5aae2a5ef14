"""IAM JSON front-end speed: located and fast parsing, with and without save-time validation.

    python3 -m pytest benchmarks/test_json_frontend.py --benchmark-only

The input is ~1 MB of generated identity policies (benchmarks/gen_policies.py) plus one
~2 MB whole-account-style document. `extra_info["mb_per_s"]` is the throughput of the mean
round. Every benchmark asserts its answer, never its time.
"""

from __future__ import annotations

import pathlib
import sys
from typing import Any

import pytest

from policylang._json import JsonObject, loads, parse_located
from policylang.grammar import format_iam_json, parse_iam_json, policy_from_value
from policylang.ir import Policy, PolicyKind
from policylang.source import Source

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from gen_policies import make_account_dump, make_policy_texts

pytestmark = pytest.mark.benchmark(group="json-frontend")

TEXTS = make_policy_texts(1_000_000)
SIZE = sum(len(text) for text in TEXTS)
STATEMENTS = sum(text.count('"Effect"') for text in TEXTS)
DUMP = make_account_dump(2_000_000)


def _throughput(benchmark: Any, size: int) -> None:
    mean = benchmark.stats.stats.mean if benchmark.stats else 0
    if mean:
        benchmark.extra_info["mb_per_s"] = round(size / 1e6 / mean, 2)


def _parse_all(located: Any, kind: PolicyKind | None) -> list[Policy]:
    return [parse_iam_json(text, kind=kind, located=located) for text in TEXTS]


@pytest.mark.parametrize(
    "located", [True, "statements", False], ids=["located", "statement-spans", "fast"]
)
@pytest.mark.parametrize("kind", [None, PolicyKind.IDENTITY], ids=["structure", "identity"])
def test_parse_policies(benchmark: Any, located: Any, kind: PolicyKind | None) -> None:
    policies = benchmark.pedantic(_parse_all, args=(located, kind), rounds=3, iterations=1)
    assert len(policies) == len(TEXTS)
    assert sum(len(p.statements) for p in policies) == STATEMENTS
    assert (policies[0].statements[0].span is not None) is bool(located)
    assert (policies[0].statements[0].action.span is not None) is (located is True)
    _throughput(benchmark, SIZE)


def test_format_policies(benchmark: Any) -> None:
    policies = _parse_all(False, None)
    texts = benchmark.pedantic(
        lambda: [format_iam_json(p, pretty=False) for p in policies], rounds=3, iterations=1
    )
    assert parse_iam_json(texts[-1]) == policies[-1]
    _throughput(benchmark, sum(len(t) for t in texts))


def test_located_reader_on_an_account_dump(benchmark: Any) -> None:
    root = benchmark.pedantic(
        lambda: parse_located(DUMP, source=Source("dump.json", "")), rounds=2, iterations=1
    )
    assert isinstance(root, JsonObject)
    assert root.keys() == ["Policies"]
    _throughput(benchmark, len(DUMP))


def test_fast_reader_then_policies_on_an_account_dump(benchmark: Any) -> None:
    def run() -> list[Policy]:
        value = loads(DUMP, source=Source("dump.json", ""))
        return [
            policy_from_value(item["PolicyDocument"], kind=PolicyKind.IDENTITY)
            for item in value["Policies"]
        ]

    policies = benchmark.pedantic(run, rounds=2, iterations=1)
    assert len(policies) == DUMP.count('"PolicyName"')
    _throughput(benchmark, len(DUMP))
