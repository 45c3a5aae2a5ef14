"""CloudTrail records → requests: identities, actions, resources, context, formats, errors."""

from __future__ import annotations

import copy
import gzip
import json
import pathlib
from typing import Any

import pytest

from policylang.account import Environment, load_environment
from policylang.activity.cloudtrail import (
    Mapped,
    Tally,
    Unmapped,
    action_of,
    iter_records,
    map_record,
    requests_from_cloudtrail,
)
from policylang.cli import main

DATA = pathlib.Path(__file__).parent / "data"
SAMPLE = pathlib.Path(__file__).resolve().parents[1] / "unit" / "account" / "data" / "sample.json"
MONTH = DATA / "month.jsonl.gz"
PROD = "222222222222"


@pytest.fixture(scope="module")
def env() -> Environment:
    return load_environment([SAMPLE])


def record(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "IAMUser",
            "arn": f"arn:aws:iam::{PROD}:user/bob",
            "accountId": PROD,
            "userName": "bob",
        },
        "eventTime": "2026-11-03T10:00:00Z",
        "eventSource": "s3.amazonaws.com",
        "eventName": "GetObject",
        "awsRegion": "eu-west-1",
        "sourceIPAddress": "203.0.113.9",
        "userAgent": "aws-cli/2.15.0",
        "requestParameters": {"bucketName": "acme-reports", "key": "2026/a.csv"},
        "eventType": "AwsApiCall",
        "managementEvent": False,
        "eventCategory": "Data",
        "recipientAccountId": PROD,
    }
    base.update(overrides)
    return base


def mapped(env: Environment, rec: dict[str, Any]) -> Mapped:
    item = map_record(env, rec)
    assert isinstance(item, Mapped), item
    return item


def test_iam_user_s3_object(env: Environment) -> None:
    m = mapped(env, record())
    assert m.principal.display == f"arn:aws:iam::{PROD}:user/bob"
    assert m.action == "s3:GetObject"
    assert m.resource == "arn:aws:s3:::acme-reports/2026/a.csv"
    assert m.resource_derived
    assert m.event_category == "Data"
    assert m.outcome == "success"
    assert m.context["aws:SourceIp"] == "203.0.113.9"
    assert m.context["aws:RequestedRegion"] == "eu-west-1"
    assert m.context["aws:UserAgent"] == "aws-cli/2.15.0"
    assert m.context["aws:CurrentTime"] == "2026-11-03T10:00:00Z"
    assert m.context["aws:EpochTime"] == "1793700000"
    assert m.context["aws:SecureTransport"] == "true"
    # Long-term keys: no session attributes, so aws:MultiFactorAuthPresent is absent (AWS).
    assert "aws:MultiFactorAuthPresent" not in m.context
    assert m.question().evaluate().allowed


def test_assumed_role_with_path_and_session(env: Environment) -> None:
    identity = {
        "type": "AssumedRole",
        "arn": f"arn:aws:sts::{PROD}:assumed-role/LambdaExec/site-render",
        "accountId": PROD,
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "arn": f"arn:aws:iam::{PROD}:role/service-role/LambdaExec",
            },
            "attributes": {"mfaAuthenticated": "false", "creationDate": "2026-11-03T09:00:00Z"},
        },
    }
    m = mapped(
        env,
        record(
            userIdentity=identity,
            eventSource="logs.amazonaws.com",
            eventName="CreateLogStream",
            requestParameters={"logGroupName": "/aws/lambda/x", "logStreamName": "s1"},
            sourceIPAddress="lambda.amazonaws.com",
        ),
    )
    assert m.principal.display == f"arn:aws:iam::{PROD}:role/service-role/LambdaExec"
    assert m.request.principal.session_name == "site-render"
    assert m.resource == f"arn:aws:logs:eu-west-1:{PROD}:log-group:/aws/lambda/x:log-stream:s1"
    assert m.context["aws:MultiFactorAuthPresent"] == "false"
    assert m.context["aws:TokenIssueTime"] == "2026-11-03T09:00:00Z"
    assert "aws:SourceIp" not in m.context  # a service name is not an IP address


def test_root_service_and_web_identity(env: Environment) -> None:
    root = mapped(
        env,
        record(
            userIdentity={"type": "Root", "accountId": PROD, "arn": f"arn:aws:iam::{PROD}:root"}
        ),
    )
    assert root.principal.kind == "root"
    service = mapped(
        env,
        record(userIdentity={"type": "AWSService", "invokedBy": "ec2.amazonaws.com"}),
    )
    assert service.principal.kind == "service"
    assert service.context["aws:ViaAWSService"] == "true"
    web = mapped(
        env,
        record(
            userIdentity={
                "type": "WebIdentityUser",
                "identityProvider": "token.actions.githubusercontent.com",
            },
            eventSource="sts.amazonaws.com",
            eventName="AssumeRoleWithWebIdentity",
            requestParameters={"roleArn": f"arn:aws:iam::{PROD}:role/GitHubDeploy"},
        ),
    )
    assert web.principal.display == (
        f"arn:aws:iam::{PROD}:oidc-provider/token.actions.githubusercontent.com"
    )
    assert web.assumed_role == f"arn:aws:iam::{PROD}:role/GitHubDeploy"


@pytest.mark.parametrize(
    ("identity", "reason"),
    [
        (
            {"type": "FederatedUser", "arn": f"arn:aws:sts::{PROD}:federated-user/p"},
            "federated-user",
        ),
        ({"type": "AWSAccount", "accountId": "999988887777"}, "other-account"),
        ({"type": "IAMUser", "arn": f"arn:aws:iam::{PROD}:user/zed"}, "unknown-principal"),
        ({"type": "Martian"}, "unknown-identity-type"),
        ("not an object", "no-identity"),
    ],
)
def test_unmappable_identities_have_reasons(env: Environment, identity: Any, reason: str) -> None:
    item = map_record(env, record(userIdentity=identity))
    assert isinstance(item, Unmapped)
    assert item.reason == reason


def test_service_events_and_non_records_are_unmapped(env: Environment) -> None:
    item = map_record(env, record(eventType="AwsServiceEvent"))
    assert isinstance(item, Unmapped)
    assert item.reason == "service-event"
    item = map_record(env, {"hello": "world"})
    assert isinstance(item, Unmapped)
    assert item.reason == "not-a-record"


@pytest.mark.parametrize(
    ("source", "name", "action"),
    [
        ("s3.amazonaws.com", "ListObjectsV2", "s3:ListBucket"),
        ("s3.amazonaws.com", "HeadObject", "s3:GetObject"),
        ("s3.amazonaws.com", "CompleteMultipartUpload", "s3:PutObject"),
        ("lambda.amazonaws.com", "Invoke", "lambda:InvokeFunction"),
        ("lambda.amazonaws.com", "UpdateFunctionCode20150331v2", "lambda:UpdateFunctionCode"),
        ("lambda.amazonaws.com", "ListFunctions20150331", "lambda:ListFunctions"),
        ("monitoring.amazonaws.com", "PutMetricData", "cloudwatch:PutMetricData"),
        ("kms.amazonaws.com", "Decrypt", "kms:Decrypt"),
    ],
)
def test_action_table(source: str, name: str, action: str) -> None:
    assert action_of(source, name) == action


@pytest.mark.parametrize(
    ("source", "name", "params", "resources", "expected"),
    [
        (
            "sqs.amazonaws.com",
            "SendMessage",
            {"queueUrl": f"https://sqs.us-east-1.amazonaws.com/{PROD}/orders"},
            None,
            f"arn:aws:sqs:us-east-1:{PROD}:orders",
        ),
        (
            "dynamodb.amazonaws.com",
            "GetItem",
            {"tableName": "t1"},
            None,
            f"arn:aws:dynamodb:eu-west-1:{PROD}:table/t1",
        ),
        (
            "kms.amazonaws.com",
            "Decrypt",
            {"keyId": "alias/app"},
            None,
            f"arn:aws:kms:eu-west-1:{PROD}:alias/app",
        ),
        (
            "kms.amazonaws.com",
            "Decrypt",
            {},
            [{"ARN": f"arn:aws:kms:eu-west-1:{PROD}:key/k1", "type": "AWS::KMS::Key"}],
            f"arn:aws:kms:eu-west-1:{PROD}:key/k1",
        ),
        # IAM names get the entity's path from the loaded account
        (
            "iam.amazonaws.com",
            "GetUser",
            {"userName": "walter"},
            None,
            f"arn:aws:iam::{PROD}:user/contractors/walter",
        ),
        (
            "sts.amazonaws.com",
            "AssumeRole",
            {"roleArn": f"arn:aws:iam::{PROD}:role/Deploy"},
            None,
            f"arn:aws:iam::{PROD}:role/Deploy",
        ),
        (
            "lambda.amazonaws.com",
            "Invoke",
            {"functionName": "fn"},
            None,
            f"arn:aws:lambda:eu-west-1:{PROD}:function:fn",
        ),
        (
            "sns.amazonaws.com",
            "Publish",
            {"topicArn": f"arn:aws:sns:eu-west-1:{PROD}:t"},
            None,
            f"arn:aws:sns:eu-west-1:{PROD}:t",
        ),
        (
            "ssm.amazonaws.com",
            "GetParameter",
            {"name": "/app/db"},
            None,
            f"arn:aws:ssm:eu-west-1:{PROD}:parameter/app/db",
        ),
        ("s3.amazonaws.com", "ListObjectsV2", {"bucketName": "b"}, None, "arn:aws:s3:::b"),
    ],
)
def test_resources_of_common_services(
    env: Environment,
    source: str,
    name: str,
    params: dict[str, Any],
    resources: list[dict[str, str]] | None,
    expected: str,
) -> None:
    rec = record(eventSource=source, eventName=name, requestParameters=params)
    if resources is not None:
        rec["resources"] = resources
    m = mapped(env, rec)
    assert m.resource == expected
    assert m.resource_derived


def test_underivable_resource_is_star_and_flagged(env: Environment) -> None:
    m = mapped(
        env,
        record(
            eventSource="ec2.amazonaws.com", eventName="DescribeInstances", requestParameters=None
        ),
    )
    assert m.resource == "*"
    assert not m.resource_derived


def test_outcomes(env: Environment) -> None:
    assert mapped(env, record(errorCode="AccessDenied")).outcome == "denied"
    assert mapped(env, record(errorCode="NoSuchKey")).outcome == "error"


def test_trail_file_jsonl_gzip_and_directory_agree(
    env: Environment, tmp_path: pathlib.Path
) -> None:
    records = [record(), record(eventName="PutObject", errorCode="AccessDenied"), record()]
    records[2]["requestParameters"] = {"bucketName": "acme-reports", "key": "b.csv"}
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in records) + "\n")
    trail = tmp_path / "trail" / "t.json.gz"
    trail.parent.mkdir()
    with gzip.open(trail, "wt") as handle:
        json.dump({"Records": records}, handle, indent=2)

    def summary(paths: list[pathlib.Path]) -> list[tuple[str, str, str]]:
        out = []
        for _, item in requests_from_cloudtrail(paths, env):
            assert isinstance(item, Mapped)
            out.append((item.action, item.resource, item.outcome))
        return out

    assert summary([jsonl]) == summary([trail]) == summary([tmp_path / "trail"])
    assert len(summary([jsonl])) == 3
    refs = [ref for ref, _ in iter_records([trail])]
    assert [r.index for r in refs] == [0, 1, 2]
    assert refs[0].line == 3  # `indent=2`: the first record opens on line 3
    assert refs[1].line > refs[0].line


def test_bad_line_is_located_counted_and_the_stream_goes_on(
    env: Environment, tmp_path: pathlib.Path
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(
        json.dumps(record())
        + "\n"
        + '{"eventSource": "s3.amazonaws.com",\n'
        + "[1, 2]\n"
        + json.dumps(record())
        + "\n"
    )
    items = list(requests_from_cloudtrail([path], env))
    tally = Tally()
    for _, item in items:
        tally.add(item)
    assert tally.mapped["success"] == 2
    assert tally.unmapped["bad-record"] == 2
    bad = [(ref, item) for ref, item in items if isinstance(item, Unmapped)]
    assert bad[0][0].line == 2
    assert bad[0][1].render(bad[0][0]).startswith(f"{path}:2:")
    assert "error[cloudtrail.bad-json]" in bad[0][1].render(bad[0][0])
    assert bad[1][1].render(bad[1][0]).startswith(f"{path}:3:1: error[cloudtrail.bad-record]")


def test_not_a_trail(env: Environment, tmp_path: pathlib.Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"Records": 5}\n')
    [(_, item)] = list(requests_from_cloudtrail([path], env))
    assert isinstance(item, Unmapped)
    assert item.render(_) == (
        f"{path}:1:1: error[cloudtrail.not-a-trail]: not a CloudTrail log: expected "
        '{"Records": [...]} or one record per line\n'
        "  hint: give CloudTrail log files (.json / .json.gz) or JSON lines of records"
    )


def test_month_matches_its_recorded_outcomes(env: Environment) -> None:
    """Every mapped record of the synthetic month gets, from the evaluator, the outcome the log
    recorded (success ⇔ allowed), and every unmapped record has a reason."""
    tally = Tally()
    for ref, item in requests_from_cloudtrail([MONTH], env):
        tally.add(item)
        if isinstance(item, Mapped):
            allowed = item.question().evaluate().allowed
            assert allowed == (item.outcome == "success"), (str(ref), item.action)
    assert tally.to_json() == {
        "records": 890,
        "mapped": {"denied": 6, "success": 868},
        "by_category": {"Data": 575, "Management": 299},
        "unmapped": {
            "federated-user": 4,
            "other-account": 4,
            "service-event": 4,
            "unknown-principal": 4,
        },
    }


def test_cli_renders_bad_records_without_traceback(
    capsys: pytest.CaptureFixture[str], tmp_path: pathlib.Path
) -> None:
    path = tmp_path / "bad.jsonl"
    good = copy.deepcopy(record())
    path.write_text(json.dumps(good) + "\n" + "{oops\n")
    code = main(
        [
            "unused",
            "--from-cloudtrail",
            str(path),
            "--account",
            str(SAMPLE),
            "--principal",
            "user/bob",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0
    assert "Traceback" not in err
    assert err.startswith(f"{path}:2:2: error[cloudtrail.bad-json]: record is not valid JSON")
    assert "1 bad-record" in out


def test_fast_request_equals_the_account_question(env: Environment) -> None:
    """`map_record` builds the request without gathering policies; it must be exactly the
    request `build_question` (what `authorize` decides) builds, for every record of the month."""
    count = 0
    for _, item in requests_from_cloudtrail([MONTH], env):
        if isinstance(item, Mapped):
            assert item.request == item.question().request
            count += 1
    assert count == 874


def test_month_is_the_seeded_generator_output() -> None:
    """The data file is exactly `benchmarks/gen_cloudtrail.py` with its defaults (seed 7)."""
    import importlib.util

    path = pathlib.Path(__file__).resolve().parents[2] / "benchmarks" / "gen_cloudtrail.py"
    spec = importlib.util.spec_from_file_location("gen_cloudtrail", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    records = module.generate()
    with gzip.open(MONTH, "rt", encoding="utf-8") as handle:
        assert [json.loads(line) for line in handle] == records
