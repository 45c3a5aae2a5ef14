"""`policylang review` in-process: formats, exit codes, --fail-on, account mode, errors."""

from __future__ import annotations

import io
import json
import pathlib
import sys

import pytest

from policylang.cli import COMMAND_MODULES, main

HERE = pathlib.Path(__file__).resolve().parent
RISKY = HERE / "risky"
GOOD = HERE / "good"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["review", *argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_registered() -> None:
    assert "policylang.cli.review_cmd" in COMMAND_MODULES


def test_text_output_and_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    path = RISKY / "admin-star.json"
    code, out, err = run(capsys, str(path))
    assert code == 1
    assert out.startswith(f"{path}:4:5: error[PL101]: ")
    assert "  why: " in out
    assert "  fix: " in out
    assert "allow service:ActionName" in out  # the DSL rendering of the fix
    assert "1 errors" in err


def test_good_policy_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, str(GOOD / "s3-read-prefix.json"))
    assert (code, out) == (0, "")


def test_fail_on_threshold(capsys: pytest.CaptureFixture[str]) -> None:
    warning_only = str(RISKY / "s3-star-one-bucket.json")
    assert run(capsys, warning_only)[0] == 0
    assert run(capsys, "--fail-on", "warning", warning_only)[0] == 1
    note_only = str(GOOD / "trust-lambda.json")
    assert run(capsys, "--fail-on", "warning", note_only)[0] == 0
    assert run(capsys, "--fail-on", "info", note_only)[0] == 1
    assert run(capsys, "--fail-on", "never", str(RISKY / "admin-star.json"))[0] == 0


def test_json_format(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--format", "json", str(RISKY / "passrole-lambda-path.json"))
    data = json.loads(out)
    assert code == 1
    assert data["summary"] == {"info": 0, "warning": 1, "error": 1}
    first = data["findings"][0]
    assert (first["code"], first["line"], first["column"]) == ("PL202", 4, 5)
    assert first["fix"]["edit"] == "replace-statement"
    assert json.loads(first["fix"]["json"])["Condition"] == {
        "StringEquals": {"iam:PassedToService": "SERVICE.amazonaws.com"}
    }


def test_kind_option(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(RISKY / "admin-star.json")
    assert run(capsys, "--kind", "scp", path)[:2] == (0, "")


def test_account_id_option(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(RISKY / "trust-third-party-no-external-id.json")
    assert "PL303" in run(capsys, "--fail-on", "warning", path)[1]
    code, out, _ = run(capsys, "--fail-on", "warning", "--account-id", "999988887777", path)
    assert (code, out) == (0, "")


def test_account_mode_names_principals(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--format", "json", "--account",
                       str(RISKY / "passrole-group-vendor-trust.account.json"))
    data = json.loads(out)
    assert code == 1
    by_code = {f["code"]: f for f in data["findings"]}
    assert by_code["PL202"]["principals"] == ["group/deployers", "user/bob (via group/deployers)"]
    assert by_code["PL202"]["policy"].startswith("managed policy arn:aws:iam::210987654321:")
    assert by_code["PL303"]["policy"] == "role/vendor trust policy"


def test_stdin(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    doc = b'{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}'
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(doc)))
    code, out, _ = run(capsys, "-")
    assert code == 1
    assert out.startswith("<stdin>:1:")


def test_errors_are_rendered_not_raised(
    capsys: pytest.CaptureFixture[str], tmp_path: pathlib.Path
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(
        '{\n  "Version": "2012-10-17",\n  "Statement": [\n    {"Effect": "Allow",}\n  ]\n}\n'
    )
    code, out, err = run(capsys, str(bad), str(RISKY / "admin-star.json"))
    assert code == 1
    assert err.startswith(f"{bad}:4:")
    assert "error[json." in err
    assert "PL101" in out  # the other file is still reviewed
    missing = tmp_path / "missing.json"
    code, _, err = run(capsys, str(missing))
    assert code == 1
    assert "error[io.not-found]" in err
    code, _, err = run(capsys, str(tmp_path))
    assert code == 1
    assert "error[io.is-directory]" in err
    code, _, err = run(capsys, "--account", str(bad))
    assert code == 1
    assert err.startswith(str(bad))


def test_no_input_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys)
    assert code == 2
    assert "give policy files" in err
