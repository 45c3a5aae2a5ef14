"""The decision corpus: every case in `tests/conformance/<area>/*.json` decides as it expects.

Cases are data (spec/simulation-case.md plus `expect` and `source`); `loader.py` reads them
strictly. Each case runs through the product's own front door, `policylang.simulate`, from the
file's text, so a malformed case fails with a located error instead of testing nothing.
"""

from __future__ import annotations

import pathlib

import pytest

from policylang.compiler import compile_policies
from policylang.evaluator import evaluate
from policylang.simulate import load_case, simulate
from tests.conformance.loader import DECISIONS, ConformanceCase, load_corpus

HERE = pathlib.Path(__file__).resolve().parent
CORPUS = load_corpus(HERE)

MIN_CASES = 300
# The areas the corpus covers (named after spec sections); a vanished area is a lost test.
EXPECTED_AREAS: tuple[str, ...] = (
    "action-matching",
    "boundaries",
    "conditions-arn",
    "conditions-binary",
    "conditions-bool",
    "conditions-case",
    "conditions-combination",
    "conditions-date",
    "conditions-ifexists",
    "conditions-ip",
    "conditions-multivalued",
    "conditions-negated",
    "conditions-null",
    "conditions-numeric",
    "conditions-sets",
    "conditions-string",
    "cross-account",
    "derived-context-keys",
    "explicit-deny",
    "identity-basics",
    "not-principal",
    "principal-matching",
    "rcp",
    "resource-matching",
    "same-account",
    "scp",
    "session-policies",
    "special-principals",
    "trust-policies",
    "variables",
)
MIN_CASES_PER_AREA = 5
MIN_CASES_PER_DECISION = 50


def test_corpus_files_are_well_formed() -> None:
    assert CORPUS.problems == ()


def test_corpus_is_large_and_covers_every_area() -> None:
    areas = CORPUS.areas

    assert len(CORPUS.cases) >= MIN_CASES, areas
    assert set(EXPECTED_AREAS) <= set(areas), sorted(set(EXPECTED_AREAS) - set(areas))
    assert {a: n for a, n in areas.items() if n < MIN_CASES_PER_AREA} == {}


def test_corpus_asks_for_every_decision() -> None:
    counts = {d: sum(c.expect == d for c in CORPUS.cases) for d in DECISIONS}

    assert min(counts.values()) >= MIN_CASES_PER_DECISION, counts


@pytest.mark.parametrize("case", CORPUS.cases, ids=lambda c: c.id)
def test_case_decides_as_expected(case: ConformanceCase) -> None:
    result = simulate(case.text.encode("utf-8"), source_name=str(case.path.relative_to(HERE)))

    assert result.decision.value == case.expect, (
        f"{case.id} ({case.source}): expected {case.expect}\n" + result.render_text(explain=True)
    )


@pytest.mark.parametrize("case", CORPUS.cases, ids=lambda c: c.id)
def test_compiled_engine_agrees_with_the_reference(case: ConformanceCase) -> None:
    """The same corpus in the second configuration: compiled and indexed (style.md §8)."""
    loaded = load_case(case.text.encode("utf-8"), source_name=case.id)

    fast = compile_policies(loaded.policies).decision(loaded.request)
    compiled = compile_policies(loaded.policies).decide(loaded.request)

    assert fast.value == case.expect

    assert compiled.decision.value == case.expect
    assert compiled == evaluate(loaded.policies, loaded.request)


# --------------------------------------------------------------------------- the loader itself

_GOOD = """{
  "name": "n1",
  "source": "evaluation.md §4.1",
  "policies": {"identity": []},
  "request": {
    "principal": {"type": "user", "arn": "arn:aws:iam::111122223333:user/a"},
    "action": "s3:GetObject",
    "resource": {"arn": "arn:aws:s3:::b/k"}
  },
  "expect": "implicitDeny"
}
"""


def _corpus(tmp_path: pathlib.Path, files: dict[str, str]) -> tuple[ConformanceCase, ...]:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    corpus = load_corpus(tmp_path)
    assert corpus.problems == ()
    return corpus.cases


def _problems(tmp_path: pathlib.Path, files: dict[str, str]) -> tuple[str, ...]:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return load_corpus(tmp_path).problems


def test_loader_strips_source_and_keeps_every_position(tmp_path: pathlib.Path) -> None:
    (case,) = _corpus(tmp_path, {"area/one.json": _GOOD})

    assert case.id == "area/n1"
    assert case.source == "evaluation.md §4.1"
    assert "source" not in case.document
    assert len(case.text) == len(_GOOD)
    assert case.text.splitlines()[4] == _GOOD.splitlines()[4]
    assert simulate(case.text.encode()).decision.value == "implicitDeny"


def test_loader_reads_a_list_of_cases_with_source_last(tmp_path: pathlib.Path) -> None:
    second = (
        _GOOD.replace('"n1"', '"n2"')
        .replace('  "source": "evaluation.md §4.1",\n', "")
        .replace(
            '"expect": "implicitDeny"\n',
            '"expect": "implicitDeny",\n  "source": "evaluation.md"\n',
        )
    )
    cases = _corpus(tmp_path, {"a/many.json": f"[{_GOOD}, {second}]"})

    assert [c.id for c in cases] == ["a/n1", "a/n2"]
    for case in cases:
        assert simulate(case.text.encode()).decision.value == case.expect


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (_GOOD.replace('"name"', '"nmae"'), "unknown field `nmae`"),
        (_GOOD.replace('  "source": "evaluation.md §4.1",\n', ""), "missing field `source`"),
        (_GOOD.replace('"expect": "implicitDeny"', '"expect": "deny"'), "`expect` must be"),
        (_GOOD.replace('"name": "n1"', '"name": ""'), "`name` must be a non-empty string"),
        (_GOOD.replace('"evaluation.md §4.1"', '"§4.1"'), "`source` must start with the spec"),
        ("[]", "empty list"),
        ("{", "json.syntax"),
    ],
)
def test_loader_rejects_malformed_corpus_files(
    tmp_path: pathlib.Path, text: str, needle: str
) -> None:
    problems = _problems(tmp_path, {"area/bad.json": text})

    assert len(problems) == 1
    assert needle in problems[0]


def test_loader_rejects_duplicate_names_and_files_outside_an_area(
    tmp_path: pathlib.Path,
) -> None:
    problems = _problems(
        tmp_path, {"area/a.json": _GOOD, "area/b.json": _GOOD, "loose.json": _GOOD}
    )

    assert len(problems) == 2
    assert any("duplicate case name `n1`" in p for p in problems)
    assert any("loose.json" in p and "area directory" in p for p in problems)
