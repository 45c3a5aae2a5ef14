"""`policylang who-can`, `can`, `assume-paths`, `graph` run in-process."""

from __future__ import annotations

import json
import pathlib

import pytest

from policylang.cli import main

SAMPLE = str(pathlib.Path(__file__).parent / "data" / "sample.json")
PROD = "222222222222"


def test_who_can_text(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["who-can", "sts:AssumeRole", f"arn:aws:iam::{PROD}:role/Admin", "--account", SAMPLE]
    )

    out = capsys.readouterr().out
    assert code == 0
    assert f"allowed      arn:aws:iam::{PROD}:user/alice" in out
    assert "trust policy of role" in out


def test_who_can_json_with_context(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "who-can",
            "sqs:SendMessage",
            f"arn:aws:sqs:us-east-1:{PROD}:orders",
            "--account",
            SAMPLE,
            "--format",
            "json",
            "--context",
            f"aws:SourceArn=arn:aws:sns:us-east-1:{PROD}:order-events",
        ]
    )

    data = json.loads(capsys.readouterr().out)
    statuses = {p["principal"]: p["status"] for p in data["principals"]}
    assert code == 0
    assert statuses["sns.amazonaws.com"] == "allowed"
    assert statuses[f"arn:aws:iam::{PROD}:user/judy"] == "allowed"


def test_can_with_service_filter(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["can", "Worker", "--service", "sqs", "--account", SAMPLE, "--format", "json"])

    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert sorted(g["action"] for g in data["grants"]) == [
        "sqs:DeleteMessage",
        "sqs:ReceiveMessage",
    ]


def test_assume_paths_shows_each_hop(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["assume-paths", "dev1", "--account", SAMPLE, "--format", "json"])

    data = json.loads(capsys.readouterr().out)
    target = next(r for r in data["roles"] if r["role"].endswith("role/CrossDevAccess"))
    assert code == 0
    assert [hop["to"].rsplit("/", 1)[-1] for hop in target["path"]] == ["DevOps", "CrossDevAccess"]


def test_assume_paths_lists_conditions(capsys: pytest.CaptureFixture[str]) -> None:
    main(["assume-paths", "oscar", "--account", SAMPLE])

    out = capsys.readouterr().out
    assert "when Bool(aws:MultiFactorAuthPresent, true)" in out


def test_graph_mermaid_and_dot(capsys: pytest.CaptureFixture[str], tmp_path: pathlib.Path) -> None:
    mermaid_code = main(["graph", "--account", SAMPLE])
    mermaid = capsys.readouterr().out
    dot_file = tmp_path / "g.dot"
    dot_code = main(["graph", "--account", SAMPLE, "--format", "dot", "-o", str(dot_file)])
    dot = dot_file.read_text()

    assert mermaid_code == dot_code == 0
    assert mermaid.startswith("flowchart LR")
    assert '"role WebServer"' in mermaid
    assert dot.startswith("digraph iam {")
    assert "style=dashed" in dot


def test_unknown_principal_is_an_error_not_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["can", "nobody", "--account", SAMPLE])

    err = capsys.readouterr().err
    assert code == 1
    assert "error[account.unknown-principal]" in err
    assert "Traceback" not in err


def test_bad_account_file_is_an_error(
    capsys: pytest.CaptureFixture[str], tmp_path: pathlib.Path
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"AccountId": "111122223333", "UserDetailList": [{"UserName": 5}]}')

    code = main(["who-can", "s3:GetObject", "*", "--account", str(bad)])

    err = capsys.readouterr().err
    assert code == 1
    assert "bad.json: error[account.validation-error]" in err
    assert "UserDetailList[0].UserName" in err


def test_bad_context_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["who-can", "s3:GetObject", "*", "--account", SAMPLE, "--context", "nokey"])

    assert code == 1
    assert "cli.bad-context" in capsys.readouterr().err
