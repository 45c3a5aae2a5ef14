"""`policylang check`: one line per problem, exit 0/1, never a traceback."""

from __future__ import annotations

import io
import pathlib
import sys

import pytest

from policylang.cli import main
from policylang.cli.check_cmd import check_data, detect_format

NO_VERSION = '{"Statement": {"Effect": "Allow", "Action": "s3:x", "Resource": "*"}}'
GOOD = '{"Version": "2012-10-17", ' + NO_VERSION[1:]


def test_clean_files_exit_zero(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "good.json"
    path.write_text(GOOD, encoding="utf-8")
    assert main(["check", "--kind", "identity", str(path)]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "all clean" in captured.err


def test_problems_are_listed_per_file(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(NO_VERSION, encoding="utf-8")
    dup = tmp_path / "dup.json"
    dup.write_text('{\n  "Statement": [],\n  "Statement": []\n}', encoding="utf-8")
    good = tmp_path / "good.json"
    good.write_text(GOOD, encoding="utf-8")
    code = main(["check", "--kind", "identity", str(bad), str(dup), str(good)])
    out = capsys.readouterr().out.splitlines()
    assert code == 1
    assert out[0] == (
        f"{bad}:1:1: error[policy.version-required]: Policy document must be version "
        "2012-10-17 or greater. (at Version)"
    )
    assert out[1].startswith("  hint: ")
    assert out[2].startswith(f"{dup}:3:3: error[json.duplicate-key]: ")
    # Without --kind only the structure is checked: a missing Version is fine.
    assert main(["check", str(bad)]) == 0


def test_unreadable_inputs_are_errors_not_tracebacks(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    binary = tmp_path / "x.bin"
    binary.write_bytes(b"\x00\x01\x02")
    latin1 = tmp_path / "latin1.json"
    latin1.write_bytes(b'{"Id": "caf\xe9"}')
    missing = tmp_path / "missing.json"
    code = main(["check", str(tmp_path / "."), str(binary), str(latin1), str(missing)])
    out = capsys.readouterr().out
    assert code == 1
    assert "error[io.is-directory]" in out
    assert "error[io.binary-file]" in out
    assert f"{latin1}:1:12: error[json.invalid-encoding]" in out
    assert "error[io.not-found]" in out
    assert "Traceback" not in out


def test_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    stdin = io.TextIOWrapper(io.BytesIO(b'{"Statement": {"Effect": "Allow"}}'))
    monkeypatch.setattr(sys, "stdin", stdin)
    assert main(["check", "-"]) == 1
    assert capsys.readouterr().out.startswith("<stdin>:1:15: error[policy.missing-action]")


def test_format_detection_and_the_per_file_function() -> None:
    assert detect_format('  \n{"Statement": []}') == "json"
    assert detect_format("[1]") == "json"
    error = check_data(b"{}", "x.json", None)
    assert error is not None
    assert error.code == "policy.missing-statement"
    assert check_data(GOOD, "x.json", None) is None
