"""`review --account` on an account DSL file: the same findings as its JSON twin, at DSL
positions."""

from __future__ import annotations

import pathlib
from collections import Counter

import pytest

from policylang.account import load_account_dsl, load_environment
from policylang.cli import main
from policylang.review import Finding, review_account_file

REPO = pathlib.Path(__file__).resolve().parents[2]
DSL = REPO / "examples" / "sample-account" / "account.pdsl"
JSON = REPO / "examples" / "sample-account" / "account.json"
DSL_LINES = DSL.read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="module")
def dsl_findings() -> list[Finding]:
    return review_account_file(DSL)


def _what(findings: list[Finding]) -> Counter[tuple[object, ...]]:
    """Findings without their positions: which rule, in which statement of which policy."""
    return Counter((f.policy, f.code, f.statement_index, f.sid, f.principals, f.message)
                   for f in findings)


def _one(findings: list[Finding], code: str, policy: str) -> Finding:
    hits = [f for f in findings if f.code == code and f.policy == policy]
    assert len(hits) == 1, hits
    return hits[0]


def _line(finding: Finding) -> int:
    assert finding.line is not None
    return finding.line


def _text_at(finding: Finding) -> str:
    """The DSL text from the finding's column to the end of its line."""
    assert finding.column is not None
    return DSL_LINES[_line(finding) - 1][finding.column - 1:]


def test_dsl_and_json_twin_give_the_same_findings(dsl_findings: list[Finding]) -> None:
    json_findings = review_account_file(JSON)
    assert len(dsl_findings) == 16
    assert _what(dsl_findings) == _what(json_findings)
    assert {f.file for f in dsl_findings} == {str(DSL)}
    # The JSON branch still points into the JSON file.
    assert {f.file for f in json_findings} == {str(JSON)}
    assert all(f.line is not None and f.column is not None for f in json_findings)


def test_every_dsl_finding_points_into_the_dsl(dsl_findings: list[Finding]) -> None:
    for finding in dsl_findings:
        assert 1 <= _line(finding) <= len(DSL_LINES)
        assert finding.column is not None
        assert finding.column >= 1
        assert _text_at(finding).strip(), finding
    lines = [(f.line or 0, f.column or 0) for f in dsl_findings]
    assert lines == sorted(lines)  # reported in file order


def test_dsl_positions_are_the_statements(dsl_findings: list[Finding]) -> None:
    devops = _one(dsl_findings, "PL103",
                  "managed policy arn:aws:iam::222222222222:policy/DevOpsPower")
    assert _text_at(devops) == "@sid AllButIam"
    assert DSL_LINES[_line(devops)].strip() == "allow * except iam:*, organizations:* on *"

    public = _one(dsl_findings, "PL301", "resource policy of arn:aws:s3:::acme-public")
    assert _text_at(public) == "@sid Public"
    assert public.end_line is not None
    assert public.end_line > _line(public)
    assert "by *" in DSL_LINES[public.end_line - 1]

    scratch = _one(dsl_findings, "PL102", "role/DevEc2 inline policy Scratch")
    assert _text_at(scratch) == "allow s3:* on arn:aws:s3:::acme-dev-scratch/*"
    assert scratch.principals == ("role/DevEc2",)

    trust = _one(dsl_findings, "PL304", "role/WebServer trust policy")
    assert _text_at(trust) == "service ec2.amazonaws.com"
    assert "role WebServer {" in DSL_LINES[_line(trust) - 3]

    admin = [f for f in dsl_findings if f.code == "PL101"]
    assert [f.line for f in admin] == [18, 73]  # the two accounts that attach it
    assert all(_text_at(f) == "allow * on *" for f in admin)
    prod_admin = next(f for f in admin if f.line == 73)
    assert "user/alice (via group/admins)" in prod_admin.principals
    assert "role/BreakGlass" in prod_admin.principals


def test_a_loaded_environment_is_reused(dsl_findings: list[Finding]) -> None:
    env = load_account_dsl(DSL.read_text(encoding="utf-8"), source_name=str(DSL))
    assert review_account_file(DSL, env=env) == dsl_findings
    assert review_account_file(str(DSL), env=load_environment([DSL])) == dsl_findings


def test_cli_review_of_a_dsl_account(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["review", "--account", str(DSL)])
    out, err = capsys.readouterr()
    assert code == 1  # errors found
    assert f"{DSL}:315:5: error[PL301]" in out
    assert "reviewed 1 file: 3 errors, 7 warnings, 6 notes" in out + err
    assert "json.syntax" not in out + err


def test_cli_report_of_a_dsl_account(tmp_path: pathlib.Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "review.md"
    code = main(["review", "--account", str(DSL), "--report", str(page)])
    capsys.readouterr()
    assert code == 1
    text = page.read_text(encoding="utf-8")
    assert "Account review: account.pdsl" in text
    assert f"`{DSL}:315:5`" in text
