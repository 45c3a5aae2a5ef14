"""`CloudTrailReader` in `policylang.batch`: the month decided by the compiled engine agrees
with the reference evaluator and with the outcomes the log recorded."""

from __future__ import annotations

import gzip
import pathlib

from policylang.account import load_environment
from policylang.activity.cloudtrail import CloudTrailReader, Mapped, requests_from_cloudtrail
from policylang.batch import BatchEvaluator, Summary

REPO = pathlib.Path(__file__).resolve().parents[2]
MONTH = REPO / "tests" / "activity" / "data" / "month.jsonl.gz"
SAMPLE = REPO / "tests" / "unit" / "account" / "data" / "sample.json"


def test_month_through_the_batch_engine() -> None:
    env = load_environment([SAMPLE])
    reference = [
        item.question().evaluate().decision.value if isinstance(item, Mapped) else None
        for _, item in requests_from_cloudtrail([MONTH], env)
    ]
    evaluator = BatchEvaluator(reader=CloudTrailReader(env))
    summary = Summary()
    decided: list[str | None] = []
    with gzip.open(MONTH, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            outcome = evaluator.evaluate_line(number, line, summary)
            assert outcome is not None
            decided.append(outcome.value.get("decision"))
            if outcome.error is not None:
                assert outcome.error.startswith(f"<input>:{number}")
                assert "error[cloudtrail." in outcome.error
    assert decided == reference
    assert summary.lines == 890
    assert summary.errors == 16  # the unmappable records, each reported with its reason
    assert summary.expect_failed == 0  # every successful call is allowed by the engine
    assert evaluator.compiled < 60  # principals x resource policies, not one set per record
