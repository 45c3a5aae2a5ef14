"""`policylang fmt`, `to-json`, `to-dsl`, run in-process: outputs, exit codes, no tracebacks."""

from __future__ import annotations

import io
import json
import pathlib

import pytest

from policylang.cli import main

GOLDEN = pathlib.Path(__file__).resolve().parents[2] / "golden" / "roundtrip"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_fmt_rewrites_a_file(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "a.policy"
    path.write_text("allow   s3:GetObject  on *  # why\n")

    code, _, err = run(capsys, "fmt", str(path))

    assert code == 0
    assert path.read_text() == "allow s3:GetObject on *  # why\n"
    assert "reformatted" in err


def test_fmt_check_reports_without_writing(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    messy = tmp_path / "messy.policy"
    messy.write_text("allow s3:GetObject   on *\n")
    clean = tmp_path / "clean.policy"
    clean.write_text("allow s3:GetObject on *\n")

    code, _, err = run(capsys, "fmt", "--check", str(messy), str(clean))

    assert code == 1
    assert f"{messy}: would reformat" in err
    assert str(clean) not in err
    assert messy.read_text() == "allow s3:GetObject   on *\n"
    assert run(capsys, "fmt", "--check", str(clean))[0] == 0


def test_fmt_reports_errors_and_continues(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.policy"
    bad.write_text("allow s3:GetObject s3:PutObject\n")
    good = tmp_path / "good.policy"
    good.write_text("allow  s3:GetObject\n")

    code, _, err = run(capsys, "fmt", str(bad), str(good))

    assert code == 1
    assert f"{bad}:1:20: error[syntax.unexpected-token]" in err
    assert "hint: separate list items with commas" in err
    assert good.read_text() == "allow s3:GetObject\n"


def test_fmt_stdin_to_stdout(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"deny  * on *\n")))

    code, out, _ = run(capsys, "fmt", "-")

    assert code == 0
    assert out == "deny * on *\n"


def test_to_json_and_back(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "p.policy"
    path.write_text("allow s3:GetObject\n  on arn:aws:s3:::b/*\n  when s3:prefix like [a*]\n")

    code, out, _ = run(capsys, "to-json", str(path), "--compact")

    assert code == 0
    assert json.loads(out) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::b/*",
                "Condition": {"StringLike": {"s3:prefix": ["a*"]}},
            }
        ],
    }
    assert "\n" not in out.strip()
    json_path = tmp_path / "p.json"
    json_path.write_text(out)
    code, dsl, _ = run(capsys, "to-dsl", str(json_path))
    assert code == 0
    assert dsl == path.read_text()


def test_to_dsl_matches_the_golden_file(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "to-dsl", str(GOLDEN / "trust_oidc_github.json"))

    assert code == 0
    assert out == (GOLDEN / "trust_oidc_github.policy").read_text()


def test_to_dsl_reports_json_errors(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"Statement": [{"Effect": "Allow"}]}')

    code, _, err = run(capsys, "to-dsl", str(path))

    assert code == 1
    assert err.startswith(f"{path}:1:")
    assert "error[policy.missing-action]" in err


def test_non_utf8_input_is_an_error(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "latin1.policy"
    path.write_bytes(b"allow s3:* on caf\xe9\n")

    code, _, err = run(capsys, "to-json", str(path))

    assert code == 1
    assert "error[syntax.encoding]" in err


def test_missing_file_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "to-json", "/nonexistent/x.policy")

    assert code == 1
    assert "No such file" in err
