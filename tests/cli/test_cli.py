"""`policylang simulate`, run in-process: answers, exit codes, and errors without tracebacks."""

from __future__ import annotations

import io
import json
import pathlib
from typing import Any

import pytest

from policylang.cli import main
from policylang.cli.simulate_cmd import ExitCode

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"
EXAMPLE = EXAMPLES / "cross-account-read.json"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["simulate", *argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    assert "Traceback" not in out
    return code, out, err


def write_case(
    tmp_path: pathlib.Path, case: dict[str, Any], name: str = "case.json"
) -> pathlib.Path:
    path = tmp_path / name
    path.write_text(json.dumps(case, indent=2))
    return path


def test_exit_codes_are_stable() -> None:
    assert [int(c) for c in ExitCode] == [0, 1, 2, 3, 70]


def test_every_bundled_example_is_decided_as_expected(capsys: pytest.CaptureFixture[str]) -> None:
    examples = sorted(EXAMPLES.glob("*.json"))
    assert examples

    code, out, _ = run(capsys, *map(str, examples))

    assert code == ExitCode.OK
    answers = [json.loads(line) for line in out.splitlines()]
    assert len(answers) == len(examples)
    assert all(a["expect_met"] for a in answers)


def test_one_case_prints_one_pretty_answer(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, str(EXAMPLE))

    assert code == ExitCode.OK
    assert err == ""
    answer = json.loads(out)
    assert answer["decision"] == "allowed"
    assert answer["name"] == "cross-account-read-needs-both-sides"
    assert out.startswith("{\n  ")


def test_explain_adds_the_explanation(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, str(EXAMPLE), "--explain")

    explain = json.loads(out)["explain"]
    assert {"deciding_set", "request", "statements", "context"} <= set(explain)


def test_text_format_is_for_people(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, str(EXAMPLE), "--format", "text", "--explain")

    assert code == ExitCode.OK
    assert out.startswith("cross-account-read-needs-both-sides: ALLOWED\n")
    assert "statements (* = decided the outcome):" in out
    assert "(derived)" in out


def test_unmet_expectation_exits_3_and_says_which(
    capsys: pytest.CaptureFixture[str], tmp_path: pathlib.Path, user_case: dict[str, Any]
) -> None:
    user_case["expect"] = "explicitDeny"
    path = write_case(tmp_path, user_case)

    code, out, err = run(capsys, str(path))

    assert code == ExitCode.EXPECTATION_FAILED
    assert json.loads(out)["expect_met"] is False
    assert "alice-reads-her-bucket" in err
    assert "expected `explicitDeny`, got `allowed`" in err


def test_malformed_case_exits_1_with_a_located_error(
    capsys: pytest.CaptureFixture[str], tmp_path: pathlib.Path, user_case: dict[str, Any]
) -> None:
    user_case["request"]["principal"]["tagz"] = {}
    path = write_case(tmp_path, user_case)
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if '"tagz"' in text)

    code, out, err = run(capsys, str(path))

    assert code == ExitCode.MALFORMED
    assert out == ""
    assert err.startswith(f"{path}:{line}:7: error[case.unknown-field]: unknown field `tagz`")
    assert "did you mean `tags`?" in err


def test_malformed_policy_in_a_case_names_the_policy(
    capsys: pytest.CaptureFixture[str], tmp_path: pathlib.Path, user_case: dict[str, Any]
) -> None:
    user_case["policies"]["identity"].append({"Statement": [{"Effect": "Allow", "Resource": "*"}]})
    path = write_case(tmp_path, user_case)

    code, _, err = run(capsys, str(path))

    assert code == ExitCode.MALFORMED
    assert f"{path}:" in err
    assert "policies.identity[1]" in err


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b'{\n  "name": \n', "json.syntax"),
        (b"", "json.empty"),
        (b"[1, 2]", "case.wrong-type"),
        (b"\xff\xfe{}", "json.invalid-encoding"),
    ],
)
def test_unreadable_documents_exit_1(
    capsys: pytest.CaptureFixture[str], tmp_path: pathlib.Path, content: bytes, code: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)

    status, _, err = run(capsys, str(path))

    assert status == ExitCode.MALFORMED
    assert f"error[{code}]" in err


def test_missing_file_exits_1(capsys: pytest.CaptureFixture[str], tmp_path: pathlib.Path) -> None:
    status, _, err = run(capsys, str(tmp_path / "nope.json"))

    assert status == ExitCode.MALFORMED
    assert "nope.json" in err


def test_json_lines_give_one_answer_per_line_and_locate_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: pathlib.Path, user_case: dict[str, Any]
) -> None:
    bad = json.loads(json.dumps(user_case))
    bad["request"]["principal"]["type"] = "role"
    lines = [json.dumps(user_case), "", json.dumps(bad), json.dumps(user_case)]
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(lines) + "\n")

    status, out, err = run(capsys, str(path))

    assert status == ExitCode.MALFORMED
    records = [json.loads(line) for line in out.splitlines()]
    assert len(records) == 3
    assert records[0]["decision"] == records[2]["decision"] == "allowed"
    assert records[1]["error"]["code"] == "case.role-caller"
    column = lines[2].index('"role"') + 1
    assert records[1]["error"]["location"] == f"{path}:3:{column}"
    assert err.startswith(f"{path}:3:{column}: error[case.role-caller]")


def test_json_lines_spans_are_file_lines(
    capsys: pytest.CaptureFixture[str], tmp_path: pathlib.Path, user_case: dict[str, Any]
) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text(json.dumps(user_case) + "\n" + json.dumps(user_case) + "\n")

    _, out, _ = run(capsys, str(path))

    spans = [json.loads(line)["matched_statements"][0]["span"] for line in out.splitlines()]
    assert [s["line"] for s in spans] == [1, 2]
    assert spans[0]["column"] == spans[1]["column"]


def test_stdin_json_lines(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, user_case: dict[str, Any]
) -> None:
    user_case["expect"] = "allowed"
    monkeypatch.setattr(
        "sys.stdin", io.StringIO(json.dumps(user_case) + "\n" + json.dumps(user_case))
    )

    status, out, _ = run(capsys, "-")

    assert status == ExitCode.OK
    assert [json.loads(line)["decision"] for line in out.splitlines()] == ["allowed", "allowed"]


def test_stdin_single_pretty_document(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(EXAMPLE.read_text()))

    status, out, _ = run(capsys, "-")

    assert status == ExitCode.OK
    assert json.loads(out)["decision"] == "allowed"


def test_malformed_and_unmet_together_exit_1(
    capsys: pytest.CaptureFixture[str], tmp_path: pathlib.Path, user_case: dict[str, Any]
) -> None:
    unmet = dict(user_case, expect="implicitDeny")
    good = write_case(tmp_path, unmet, "unmet.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{}")

    status, out, err = run(capsys, str(good), str(bad))

    assert status == ExitCode.MALFORMED
    assert json.loads(out)["expect_met"] is False
    assert "error[case.missing-field]" in err


def test_no_case_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["simulate"])

    assert info.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_an_internal_error_is_one_line_not_a_traceback(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("boom")

    monkeypatch.setattr("policylang.cli.simulate_cmd.simulate", broken)

    status, out, err = run(capsys, str(EXAMPLE))

    assert status == ExitCode.INTERNAL_ERROR
    assert out == ""
    assert "internal error: KeyError" in err
    assert len(err.strip().splitlines()) == 1
