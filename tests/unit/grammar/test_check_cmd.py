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
    assert out[1].startswith("1 | {")  # the offending line, with a caret under it
    assert out[2].lstrip().startswith("^")
    assert out[3].startswith("  hint: ")
    assert out[4].startswith(f"{dup}:3:3: error[json.duplicate-key]: ")
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


# ---------------------------------------------------------------- the DSL

ACCOUNT = pathlib.Path(__file__).with_name("acme_account.policy")
DSL_GOOD = "# read the logs\nallow s3:GetObject on arn:aws:s3:::logs/*\n"
DSL_PRINCIPAL = "allow s3:GetObject on *\n  by *\n"
JSON_PRINCIPAL = (
    '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", '
    '"Resource": "*", "Principal": "*"}]}'
)


def _stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))


def test_dsl_format_detection() -> None:
    assert detect_format(DSL_GOOD) == "dsl"
    assert detect_format("\n  allow * on *") == "dsl"
    assert detect_format(ACCOUNT.read_text(encoding="utf-8")) == "account"
    assert detect_format("account 111122223333 {}") == "account"
    # A statement about an action named `account…` is a policy, not an account file.
    assert detect_format("allow account:GetAccountInformation on *") == "dsl"
    assert detect_format("accounts x") == "dsl"


def test_clean_dsl_file_and_account_file(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "good.policy"
    path.write_text(DSL_GOOD, encoding="utf-8")
    assert main(["check", "--kind", "identity", str(path), str(ACCOUNT)]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "checked 2 files: all clean" in captured.err


def test_dsl_and_json_give_the_same_save_time_diagnostic(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dsl = tmp_path / "p.policy"
    dsl.write_text(DSL_PRINCIPAL, encoding="utf-8")
    js = tmp_path / "p.json"
    js.write_text(JSON_PRINCIPAL, encoding="utf-8")
    assert main(["check", "--kind", "identity", str(dsl), str(js)]) == 1
    out = capsys.readouterr().out.splitlines()
    dsl_line = next(line for line in out if line.startswith(f"{dsl}:"))
    json_line = next(line for line in out if line.startswith(f"{js}:"))
    # Same code, message and field path; only the file and position differ.
    assert dsl_line == (
        f"{dsl}:2:6: error[policy.principal-forbidden]: Policy document should not specify a "
        "principal. (at Statement[0].Principal)"
    )
    assert json_line.split(": ", 1)[1] == dsl_line.split(": ", 1)[1]
    # The same DSL is a fine resource policy, and fine without --kind.
    assert main(["check", "--kind", "resource", str(dsl)]) == 0
    assert main(["check", str(dsl)]) == 0


def test_dsl_syntax_error_on_stdin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _stdin(monkeypatch, "allow s3:GetObject\n  on *\n  oops\n")
    assert main(["check", "-"]) == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [
        "<stdin>:3:3: error[syntax.unexpected-token]: unexpected `oops`",
        "3 |   oops",
        "      ^^^^",
        "  expected: `,`, `except`, `on`, `by`, `when`, `unless` or the start of the next "
        "statement",
        "  hint: separate list items with commas: `*, oops`",
    ]
    assert "checked 1 file: 1 with errors" in captured.err


def test_dsl_clean_on_stdin_with_kind(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _stdin(monkeypatch, DSL_PRINCIPAL)
    assert main(["check", "--kind", "resource", "-"]) == 0
    assert "all clean" in capsys.readouterr().err


def test_dsl_meaning_error_in_a_file(tmp_path: pathlib.Path) -> None:
    text = "allow s3:GetObject on *\n  when aws:SourceIp == 10.0.0.1\n"
    error = check_data(text.encode(), "ip.policy", None)
    assert error is not None
    assert error.render().startswith("ip.policy:2:8: error[policy.string-test-on-typed-key]: ")


def test_account_file_errors(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "acct.policy"
    path.write_text(
        "# prod\naccount 111122223333 {\n  user alice { attach Missing }\n"
        "  role r {\n    assumable by aws 111122223333\n  }\n  user alice\n}\n",
        encoding="utf-8",
    )
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    assert out.startswith(
        f"{path}:7:8: error[account.duplicate-name]: user `alice` is declared twice"
    )
    bad_syntax = check_data("account 1 {\n  user\n}\n", "a.policy", None)
    assert bad_syntax is not None
    assert bad_syntax.render().startswith("a.policy:3:1: error[syntax.unexpected-token]: ")
