"""Unused access over the synthetic month (tests/activity/data/month.jsonl.gz) of the sample
environment (tests/unit/account/data/sample.json): a golden JSON report, plus the hand-checked
facts it contains, asserted one by one.

How the golden file was checked by hand. The month is benchmarks/gen_cloudtrail.py with seed 7:
each principal's calls are written out in its behaviour function there, and each principal's
policies are written out in tests/unit/account/data/build_sample.py. For every principal below,
the used actions were compared with the behaviour function, and the grants with the policies
(group memberships, inline and managed policies, the public bucket `acme-public` that grants
s3:GetObject to everyone, the KMS key policy that grants kms:* to the account's principals).
The expectations in `HAND_CHECKED` are the result; the golden file holds the same report in
full (all principals, all grants) so that any change shows up in review.

Regenerate the golden file (after checking the change by hand the same way):
`POLICYLANG_UPDATE_GOLDEN=1 python3 -m pytest -q tests/activity/test_unused.py`.
"""

from __future__ import annotations

import json
import os
import pathlib
from typing import Any

import pytest

from policylang.account import load_environment
from policylang.activity import requests_from_cloudtrail, unused_access
from policylang.activity.unused import UnusedReport
from policylang.cli import main

REPO = pathlib.Path(__file__).resolve().parents[2]
MONTH = "tests/activity/data/month.jsonl.gz"
SAMPLE = "tests/unit/account/data/sample.json"
GOLDEN = REPO / "tests" / "activity" / "data" / "unused-month.golden.json"
P = "arn:aws:iam::222222222222:"


@pytest.fixture(scope="module")
def report() -> UnusedReport:
    cwd = os.getcwd()
    os.chdir(REPO)  # the report names files as given: keep them repository-relative
    try:
        env = load_environment([SAMPLE])
        return unused_access(env, requests_from_cloudtrail([MONTH], env))
    finally:
        os.chdir(cwd)


def by_principal(report: UnusedReport) -> dict[str, dict[str, Any]]:
    return {p.principal: p.to_json() for p in report.principals}


def test_golden_report(report: UnusedReport) -> None:
    value = report.to_json()
    if os.environ.get("POLICYLANG_UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(value, indent=2) + "\n", encoding="utf-8")
    assert value == json.loads(GOLDEN.read_text(encoding="utf-8"))


HAND_CHECKED: dict[str, dict[str, Any]] = {
    # developers group: S3ReadReports (GetObject/ListBucket on acme-reports), AssumeDeploy,
    # DescribeEc2; inline AssumeBreakGlass. Seen: GetObject, ListObjectsV2 (= s3:ListBucket),
    # DescribeInstances. Never: AssumeRole (Deploy nor BreakGlass; both trust the account and
    # bob's tag team=blue satisfies BreakGlass's condition).
    f"{P}user/bob": {
        "used_actions": ["ec2:DescribeInstances", "s3:GetObject", "s3:ListBucket"],
        "unused_services": ["sts"],
        "unused_actions": ["sts:AssumeRole"],
        "unused_patterns": [],
        "never_assumed": [f"{P}role/BreakGlass", f"{P}role/Deploy"],
    },
    # analysts: GetObject on acme-reports from the office range (conditional grant). Seen from
    # the office (allowed) and twice from 198.51.100.7 (denied, and AccessDenied in the log).
    f"{P}user/dave": {
        "used_actions": ["s3:GetObject"],
        "succeeded": 21,
        "denied": 2,
        "unused_services": [],
        "unused_actions": [],
    },
    # developers + inline Deny s3:*: every S3 read is an explicit deny; DescribeInstances works.
    f"{P}user/mallory": {
        "used_actions": ["ec2:DescribeInstances"],
        "denied": 3,
        "unused_actions": ["sts:AssumeRole"],
        "never_assumed": [f"{P}role/Deploy"],
    },
    # AssumeDeploy attached; Deploy's trust needs MFA, which long-term keys never have: the one
    # AssumeRole is AccessDenied, so Deploy stays "can assume (conditionally), never assumed".
    f"{P}user/ci/oscar": {
        "used_actions": ["sts:GetCallerIdentity"],
        "denied": 1,
        "never_assumed": [f"{P}role/Deploy"],
    },
    # readonly (ReadOnlyAccess): seen only DescribeInstances, ListRoles, GetQueueAttributes.
    f"{P}user/frank": {
        "used_actions": ["ec2:DescribeInstances", "iam:ListRoles", "sqs:GetQueueAttributes"],
        "unused_patterns": ["iam:Get*", "s3:Get*", "s3:List*", "sqs:List*"],
        "unused_services": ["s3"],
    },
    # console user with MFA: reads reports, assumes Deploy; never uses ec2:Describe* or
    # s3:ListBucket of the developers group.
    f"{P}user/heidi": {
        "used_actions": ["s3:GetObject", "sts:AssumeRole"],
        "unused_patterns": ["ec2:Describe*"],
        "unused_actions": ["s3:ListBucket"],
        "never_assumed": [],
    },
    # Deploy (NotAction iam:*, organizations:*): the used `*` grant is not reported unused; kms
    # (the key policy's kms:*) never used; it assumed ChainTarget, never BreakGlass.
    f"{P}role/Deploy": {
        "used_actions": [
            "cloudformation:DescribeStacks",
            "lambda:UpdateFunctionCode",
            "s3:PutObject",
            "sts:AssumeRole",
        ],
        "unused_services": ["kms"],
        "unused_patterns": ["kms:*"],
        "assumed_roles": [f"{P}role/ChainTarget"],
        "never_assumed": [f"{P}role/BreakGlass"],
    },
    # Worker: Receive/Delete on orders, both used; GetObject only via the public bucket.
    f"{P}role/Worker": {
        "used_actions": ["sqs:DeleteMessage", "sqs:ReceiveMessage"],
        "unused_actions": ["s3:GetObject"],
    },
    # WebServer: uses both its grants; its public-bucket GetObject grant shares the action.
    f"{P}role/WebServer": {
        "used_actions": ["s3:GetObject", "sqs:SendMessage"],
        "unused_services": [],
        "unused_actions": [],
    },
    # grace has no policies and no activity: only the public bucket grants her anything.
    f"{P}user/grace": {
        "records": 0,
        "granted_services": ["s3"],
        "unused_actions": ["s3:GetObject"],
    },
}


@pytest.mark.parametrize("principal", sorted(HAND_CHECKED))
def test_hand_checked_principals(report: UnusedReport, principal: str) -> None:
    got = by_principal(report)[principal]
    for key, expected in HAND_CHECKED[principal].items():
        assert got[key] == expected, key


def test_roles_never_assumed_and_unmapped(report: UnusedReport) -> None:
    # Roles with activity or an AssumeRole in the month: Admin (alice, Tuesdays), Deploy
    # (heidi), ChainTarget (Deploy), WebServer, Worker, LambdaExec (sessions). The rest never.
    assert f"{P}role/Admin" not in report.roles_never_assumed
    assert f"{P}role/BreakGlass" in report.roles_never_assumed
    assert f"{P}role/service-role/DataPipeline" in report.roles_never_assumed
    assert len(report.roles_never_assumed) == 10
    assert sum(report.tally.unmapped.values()) == 16
    assert report.unmapped_examples[0].endswith("RotateKey: an AWS service event has no caller")


def test_used_grants_point_at_the_statements_that_allowed_them(report: UnusedReport) -> None:
    bob = next(p for p in report.principals if p.principal == f"{P}user/bob")
    used = {(g.action, g.resource): g for g in bob.grants if g.used}
    grant = used[("s3:GetObject", "arn:aws:s3:::acme-reports/*")]
    assert grant.sources == (
        f"managed policy {P}policy/S3ReadReports attached to group `developers`",
    )


def test_text_and_cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    code = main(
        ["unused", "--from-cloudtrail", MONTH, "--account", SAMPLE, "--principal", "user/bob"]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert f"{P}user/bob (user): 96 records, 96 succeeded, 0 denied" in out
    assert "  actions granted, never used: sts:AssumeRole" in out
    code = main(
        [
            "unused",
            "--from-cloudtrail",
            MONTH,
            "--account",
            SAMPLE,
            "--active-only",
            "--format",
            "json",
        ]
    )
    out, _ = capsys.readouterr()
    assert code == 0
    names = [p["principal"] for p in json.loads(out)["principals"]]
    assert f"{P}user/grace" not in names
    assert f"{P}user/bob" in names
