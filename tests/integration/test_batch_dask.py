"""Batch evaluation on a real dask.distributed LocalCluster equals the in-process batch."""

from __future__ import annotations

import json
import pathlib
from collections.abc import Iterator
from typing import Any

import pytest

from policylang.batch import BatchOptions, decide_lines

pytestmark = pytest.mark.integration

distributed = pytest.importorskip("distributed")
dask_bag = pytest.importorskip("dask.bag")

from policylang.batch_dask import (  # noqa: E402  (after the importorskip guards)
    evaluate_bag,
    evaluate_dataframe,
    evaluate_rows,
)
from policylang.cli import main  # noqa: E402

IDENTITY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "Read", "Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"],
         "Resource": "*"},
        {"Sid": "OnlyFromCorp", "Effect": "Deny", "Action": "*", "Resource": "*",
         "Condition": {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}},
    ],
}
BUCKET = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "Partner", "Effect": "Allow",
         "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
         "Action": "s3:GetObject", "Resource": "arn:aws:s3:::shared/*"},
    ],
}


def _principal(i: int) -> dict[str, Any]:
    account = "111122223333" if i % 3 else "444455556666"
    return {"type": "user", "arn": f"arn:aws:iam::{account}:user/u{i % 4}", "account": account,
            "id": f"AIDAU{i % 4}"}


def _cases(n: int) -> list[str]:
    lines = []
    for i in range(n):
        policies: dict[str, Any] = {"identity": [IDENTITY] if i % 5 else [],
                                    "resource": BUCKET if i % 2 else None}
        request = {
            "principal": _principal(i),
            "action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket"][i % 3],
            "resource": {"arn": f"arn:aws:s3:::shared/f{i}", "account": "111122223333"},
            "context": {"aws:SourceIp": "10.1.2.3" if i % 7 else "203.0.113.9"},
        }
        lines.append(json.dumps({"name": f"c{i}", "policies": policies, "request": request}))
    lines[11] = '{"name": "broken"'
    return lines


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster, distributed.Client(cluster) as dask_client:
        yield dask_client


def test_bag_of_lines_equals_the_in_process_batch(client: Any) -> None:
    lines = _cases(80)
    expected = list(decide_lines(lines, BatchOptions(matched=True)))
    numbered = list(enumerate(lines, 1))
    bag = dask_bag.from_sequence(numbered, npartitions=4)
    got = evaluate_bag(bag, BatchOptions(matched=True)).compute()
    assert got == expected
    assert {v.get("decision") for v in got} >= {"allowed", "explicitDeny", "implicitDeny"}
    assert got[11]["line"] == 12
    assert got[11]["error"]["code"] == "json.syntax"


def test_bag_of_parsed_cases(client: Any) -> None:
    lines = [line for line in _cases(30) if not line.endswith('"broken"')]
    objects = [json.loads(line) for line in lines]
    got = evaluate_bag(dask_bag.from_sequence(objects, npartitions=3)).compute()
    assert [v["decision"] for v in got] == [v["decision"] for v in decide_lines(lines)]


def test_dataframe_partitions(client: Any) -> None:
    pandas = pytest.importorskip("pandas")
    dd = pytest.importorskip("dask.dataframe")
    rows = []
    for i in range(40):
        rows.append({
            "principal": json.dumps(_principal(i)),
            "action": ["s3:GetObject", "s3:ListBucket"][i % 2],
            # a bare ARN, or the resource object as JSON text
            "resource": f"arn:aws:s3:::shared/f{i}" if i % 4 == 3 else json.dumps(
                {"arn": f"arn:aws:s3:::shared/f{i}", "account": "111122223333"}),
            "context": json.dumps({"aws:SourceIp": "10.0.0.1" if i % 6 else "192.0.2.1"}),
        })
    rows[5]["action"] = "not an action"
    frame = pandas.DataFrame(rows)
    policies = {"identity": [IDENTITY], "resource": BUCKET}
    result = evaluate_dataframe(dd.from_pandas(frame, npartitions=3), policies).compute()
    expected = list(evaluate_rows(rows, policies))
    decisions = [None if pandas.isna(d) else d for d in result["decision"]]
    assert decisions == [v.get("decision") for v in expected]
    assert result["error"].iloc[5].startswith("case.")
    assert decisions[5] is None
    assert set(result["decision"].dropna()) == {"allowed", "explicitDeny", "implicitDeny"}
    # each row equals the same request asked as a case line
    first = rows[0]
    case = {"policies": policies, "request": {
        "principal": json.loads(first["principal"]), "action": first["action"],
        "resource": json.loads(first["resource"]), "context": json.loads(first["context"])}}
    assert next(decide_lines([json.dumps(case)]))["decision"] == result["decision"].iloc[0]


def test_cli_dask_scheduler(
    client: Any, tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = _cases(50)
    src = tmp_path / "cases.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    local, remote = tmp_path / "local.jsonl", tmp_path / "remote.jsonl"
    assert main(["batch", str(src), "--out", str(local), "--chunk-lines", "8"]) == 1
    address = client.scheduler.address
    code = main(["batch", str(src), "--out", str(remote), "--dask", address,
                 "--chunk-lines", "8"])
    assert code == 1  # the one broken line
    assert remote.read_bytes() == local.read_bytes()
    assert f"{src}:12:" in capsys.readouterr().err
