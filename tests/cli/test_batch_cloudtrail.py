"""`policylang batch --cloudtrail --account F LOGS`: CloudTrail records decided by the batch path
against a loaded account, equal to the reference evaluator record by record."""

from __future__ import annotations

import gzip
import json
import pathlib

import pytest

from policylang.account import load_environment
from policylang.activity.cloudtrail import Mapped, requests_from_cloudtrail
from policylang.cli import main

REPO = pathlib.Path(__file__).resolve().parents[2]
MONTH = REPO / "tests" / "activity" / "data" / "month.jsonl.gz"
SAMPLE = REPO / "tests" / "unit" / "account" / "data" / "sample.json"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["batch", *argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


@pytest.mark.parametrize("workers", ["1", "2"])
def test_month_of_records_decided_as_the_reference_does(
    capsys: pytest.CaptureFixture[str], workers: str
) -> None:
    env = load_environment([SAMPLE])
    reference = [
        item.question().evaluate().decision.value if isinstance(item, Mapped) else None
        for _, item in requests_from_cloudtrail([MONTH], env)
    ]
    code, out, err = run(capsys, "--cloudtrail", "--account", str(SAMPLE), str(MONTH),
                         "--workers", workers, "--show-errors", "3")
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line.get("decision") for line in lines] == reference
    assert [line["line"] for line in lines] == list(range(1, len(reference) + 1))
    # unmappable records (service events, federation sessions) are reported, with their line
    assert code == 1
    assert f"{MONTH}:93: error[cloudtrail.service-event]" in err
    assert "868 allowed, 3 explicitDeny, 3 implicitDeny, 16 malformed" in err


def test_cloudtrail_needs_an_account(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--cloudtrail", str(MONTH))
    assert code == 2
    assert out == ""
    assert "--cloudtrail needs --account FILE" in err


def test_account_without_cloudtrail_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--account", str(SAMPLE), str(MONTH))
    assert code == 2
    assert "--account and --organization go with --cloudtrail" in err


def test_bad_account_and_truncated_logs_are_clear_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: pathlib.Path
) -> None:
    code, out, err = run(capsys, "--cloudtrail", "--account", str(tmp_path / "nope.json"),
                         str(MONTH))
    assert code == 1
    assert out == ""
    assert "error[account.unreadable-file]" in err
    assert "nope.json" in err

    truncated = tmp_path / "cut.jsonl.gz"
    truncated.write_bytes(MONTH.read_bytes()[:6000])
    code, out, err = run(capsys, "--cloudtrail", "--account", str(SAMPLE), str(truncated))
    assert code == 1
    assert "error[io.truncated]: the compressed input ends early" in err
    with gzip.open(MONTH, "rt") as handle:
        first = json.loads(handle.readline())
    assert json.loads(out.splitlines()[0])["name"] == first["eventID"]  # decided lines kept
