"""Generate a synthetic month of CloudTrail activity for the sample environment (seeded).

The principals are those of tests/unit/account/data/sample.json (prod account 222222222222):
each has a fixed "behaviour" (which calls it makes, how often, from where); the generator draws
the calls of `days` days with `random.Random(seed)`, so the output is identical for a seed.
Besides normal traffic the month holds denied calls (mallory's S3 reads, dave outside the
office range, oscar's AssumeRole without MFA) and records that map to no loaded principal
(an AWS service event, a GetFederationToken session, a caller of an unloaded account, a
deleted user), so the reports have something to say about each.

Command line::

    python3 benchmarks/gen_cloudtrail.py OUT [--days 30] [--seed 7] [--scale 1]
        [--format jsonl|trail] [--gzip]

`jsonl` writes one record per line to OUT; `trail` writes CloudTrail log files (one
`{"Records": [...]}` file per day) into the directory OUT. `--scale N` multiplies the
volume (benchmarks).
"""

from __future__ import annotations

import argparse
import gzip
import json
import pathlib
import random
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

PROD = "222222222222"
DEV = "333333333333"
START = datetime(2026, 11, 1, tzinfo=UTC)
OFFICE = "203.0.113."
AGENT_CLI = "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64.ubuntu.22"
AGENT_SDK = "Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux lang#python#3.11"
AGENT_CONSOLE = "AWS Internal"
USER_IDS = {
    "alice": "AIDAPRODALICE000001",
}

Record = dict[str, Any]


def _user(name: str, path: str = "/", *, mfa: bool | None = None) -> Record:
    identity: Record = {
        "type": "IAMUser",
        "principalId": f"AIDA{name.upper():<8}".replace(" ", "X")[:21],
        "arn": f"arn:aws:iam::{PROD}:user{path}{name}",
        "accountId": PROD,
        "accessKeyId": "AKIA" + name.upper().ljust(16, "X")[:16],
        "userName": name,
    }
    if mfa is not None:  # console sessions carry session attributes
        identity["accessKeyId"] = "ASIA" + name.upper().ljust(16, "Y")[:16]
        identity["sessionContext"] = {
            "attributes": {"creationDate": "", "mfaAuthenticated": str(mfa).lower()}
        }
    return identity


def _role(name: str, session: str, path: str = "/", *, mfa: bool = False) -> Record:
    return {
        "type": "AssumedRole",
        "principalId": f"AROA{name.upper()[:12]}:{session}",
        "arn": f"arn:aws:sts::{PROD}:assumed-role/{name}/{session}",
        "accountId": PROD,
        "accessKeyId": "ASIA" + name.upper().ljust(16, "Z")[:16],
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": f"AROA{name.upper()[:12]}",
                "arn": f"arn:aws:iam::{PROD}:role{path}{name}",
                "accountId": PROD,
                "userName": name,
            },
            "attributes": {"creationDate": "", "mfaAuthenticated": str(mfa).lower()},
        },
    }


class Month:
    """Draws records; `emit` fills the fields every record has."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.records: list[Record] = []

    def emit(
        self,
        when: datetime,
        identity: Record,
        source: str,
        name: str,
        *,
        params: Record | None = None,
        resources: list[Record] | None = None,
        ip: str | None = None,
        agent: str = AGENT_CLI,
        error: str | None = None,
        data: bool = False,
        region: str = "us-east-1",
        response: Record | None = None,
    ) -> None:
        identity = json.loads(json.dumps(identity))
        attributes = identity.get("sessionContext", {}).get("attributes")
        if attributes is not None:
            attributes["creationDate"] = (when - timedelta(minutes=5)).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            )
        record: Record = {
            "eventVersion": "1.09",
            "userIdentity": identity,
            "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "eventSource": source,
            "eventName": name,
            "awsRegion": region,
            "sourceIPAddress": ip or f"{OFFICE}{self.rng.randint(10, 60)}",
            "userAgent": agent,
            "requestParameters": params,
            "responseElements": response,
            "requestID": str(uuid.UUID(int=self.rng.getrandbits(128))),
            "eventID": str(uuid.UUID(int=self.rng.getrandbits(128))),
            "readOnly": name.startswith(("Get", "List", "Describe", "Head")),
            "eventType": "AwsApiCall",
            "managementEvent": not data,
            "recipientAccountId": PROD,
            "eventCategory": "Data" if data else "Management",
            "tlsDetails": {"tlsVersion": "TLSv1.3", "clientProvidedHostHeader": source},
        }
        if resources is not None:
            record["resources"] = resources
        if error is not None:
            record["errorCode"] = error
            record["errorMessage"] = f"User is not authorized to perform: {name}"
        self.records.append(record)


def _s3_object(bucket: str, key: str) -> list[Record]:
    return [
        {"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{bucket}/{key}"},
        {"accountId": PROD, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"},
    ]


def _s3_get(m: Month, t: datetime, who: Record, bucket: str, key: str, **kw: Any) -> None:
    m.emit(
        t,
        who,
        "s3.amazonaws.com",
        kw.pop("name", "GetObject"),
        params={"bucketName": bucket, "key": key, "Host": f"{bucket}.s3.amazonaws.com"},
        resources=_s3_object(bucket, key),
        data=True,
        **kw,
    )


def _report_key(rng: random.Random, day: int) -> str:
    kind = rng.choice(["daily", "daily", "sales", "ops"])
    return f"2026/11/{day + 1:02d}/{kind}-{rng.randint(1, 9)}.csv"


def _assume(m: Month, t: datetime, who: Record, role: str, session: str, **kw: Any) -> None:
    m.emit(
        t,
        who,
        "sts.amazonaws.com",
        "AssumeRole",
        params={"roleArn": f"arn:aws:iam::{PROD}:role/{role}", "roleSessionName": session},
        resources=[
            {"ARN": f"arn:aws:iam::{PROD}:role/{role}", "accountId": PROD, "type": "AWS::IAM::Role"}
        ],
        **kw,
    )


Behaviour = Callable[[Month, datetime, int], None]


def alice(m: Month, t: datetime, day: int) -> None:
    who = _user("alice")
    m.emit(t, who, "s3.amazonaws.com", "ListBuckets", params={"Host": "s3.amazonaws.com"})
    m.emit(t, who, "iam.amazonaws.com", "ListUsers")
    m.emit(t, who, "iam.amazonaws.com", "GetUser", params={"userName": "bob"})
    if day % 7 == 2:
        _assume(m, t, who, "Admin", "alice")
        admin = _role("Admin", "alice")
        m.emit(t, admin, "iam.amazonaws.com", "ListRoles")
        m.emit(t, admin, "iam.amazonaws.com", "GetRole", params={"roleName": "Deploy"})


def bob(m: Month, t: datetime, day: int) -> None:
    who = _user("bob")
    for _ in range(m.rng.randint(1, 4)):
        _s3_get(m, t, who, "acme-reports", _report_key(m.rng, day))
    m.emit(
        t,
        who,
        "s3.amazonaws.com",
        "ListObjectsV2",
        params={"bucketName": "acme-reports", "prefix": "2026/11/", "list-type": "2"},
        resources=[{"type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::acme-reports"}],
        data=True,
    )
    m.emit(t, who, "ec2.amazonaws.com", "DescribeInstances", params={"instancesSet": {}})


def carol(m: Month, t: datetime, day: int) -> None:
    who = _user("carol")
    m.emit(t, who, "ec2.amazonaws.com", "DescribeInstances", params={"instancesSet": {}})
    m.emit(t, who, "ec2.amazonaws.com", "DescribeVpcs", params={"vpcSet": {}})
    if day % 3 == 0:
        _s3_get(m, t, who, "acme-reports", _report_key(m.rng, day), name="HeadObject")


def dave(m: Month, t: datetime, day: int) -> None:
    who = _user("dave")
    _s3_get(m, t, who, "acme-reports", _report_key(m.rng, day))
    if day % 10 == 4:  # from home: outside the office range, denied by the condition
        _s3_get(
            m,
            t,
            who,
            "acme-reports",
            _report_key(m.rng, day),
            ip="198.51.100.7",
            error="AccessDenied",
        )


def erin(m: Month, t: datetime, day: int) -> None:
    if day % 5 == 0:
        m.emit(
            t,
            _user("erin", mfa=True),
            "ce.amazonaws.com",
            "GetCostAndUsage",
            params={"granularity": "DAILY"},
            agent=AGENT_CONSOLE,
        )


def frank(m: Month, t: datetime, day: int) -> None:
    who = _user("frank")
    m.emit(t, who, "ec2.amazonaws.com", "DescribeInstances", params={"instancesSet": {}})
    m.emit(t, who, "iam.amazonaws.com", "ListRoles")
    m.emit(
        t,
        who,
        "sqs.amazonaws.com",
        "GetQueueAttributes",
        params={
            "queueUrl": f"https://sqs.us-east-1.amazonaws.com/{PROD}/orders",
            "attributeNames": ["All"],
        },
    )


def heidi(m: Month, t: datetime, day: int) -> None:
    if day % 2:
        return
    who = _user("heidi", mfa=True)
    _s3_get(m, t, who, "acme-reports", _report_key(m.rng, day), agent=AGENT_CONSOLE)
    _assume(m, t, who, "Deploy", "heidi", agent=AGENT_CONSOLE)
    deploy = _role("Deploy", "heidi", mfa=True)
    for n in range(m.rng.randint(1, 3)):
        key = f"builds/site/{day + 1:02d}-{n}.zip"
        m.emit(
            t,
            deploy,
            "s3.amazonaws.com",
            "PutObject",
            params={"bucketName": "acme-artifacts", "key": key},
            resources=_s3_object("acme-artifacts", key),
            data=True,
        )
    m.emit(
        t,
        deploy,
        "lambda.amazonaws.com",
        "UpdateFunctionCode20150331v2",
        params={"functionName": "site-render"},
    )
    m.emit(
        t, deploy, "cloudformation.amazonaws.com", "DescribeStacks", params={"stackName": "site"}
    )
    if day % 4 == 0:
        _assume(m, t, deploy, "ChainTarget", "heidi-chain")
        chain = _role("ChainTarget", "heidi-chain")
        key = f"arn:aws:kms:us-east-1:{PROD}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
        m.emit(
            t,
            chain,
            "kms.amazonaws.com",
            "Decrypt",
            params={"encryptionAlgorithm": "SYMMETRIC_DEFAULT"},
            resources=[{"accountId": PROD, "type": "AWS::KMS::Key", "ARN": key}],
        )


def ivan(m: Month, t: datetime, day: int) -> None:
    who = _user("ivan")
    key = f"ivan/photos/img-{m.rng.randint(100, 999)}.jpg"
    m.emit(
        t,
        who,
        "s3.amazonaws.com",
        "PutObject",
        params={"bucketName": "acme-uploads", "key": key},
        resources=_s3_object("acme-uploads", key),
        data=True,
        agent=AGENT_SDK,
    )
    _s3_get(m, t, who, "acme-uploads", key, agent=AGENT_SDK)


def judy(m: Month, t: datetime, day: int) -> None:
    m.emit(
        t,
        _user("judy"),
        "sqs.amazonaws.com",
        "SendMessage",
        params={"queueUrl": f"https://sqs.us-east-1.amazonaws.com/{PROD}/orders"},
        agent=AGENT_SDK,
        data=True,
    )


def mallory(m: Month, t: datetime, day: int) -> None:
    who = _user("mallory")
    m.emit(t, who, "ec2.amazonaws.com", "DescribeInstances", params={"instancesSet": {}})
    if day % 6 == 1:
        _s3_get(m, t, who, "acme-reports", _report_key(m.rng, day), error="AccessDenied")


def oscar(m: Month, t: datetime, day: int) -> None:
    who = _user("oscar", "/ci/")
    m.emit(t, who, "sts.amazonaws.com", "GetCallerIdentity", agent=AGENT_SDK)
    if day == 9:  # long-term keys: no MFA, the Deploy trust policy refuses
        _assume(m, t, who, "Deploy", "ci", agent=AGENT_SDK, error="AccessDenied")


def trent(m: Month, t: datetime, day: int) -> None:
    secret = f"arn:aws:secretsmanager:us-east-1:{PROD}:secret:prod/db-AbCdEf"
    m.emit(
        t,
        _user("trent"),
        "secretsmanager.amazonaws.com",
        "GetSecretValue",
        params={"secretId": secret},
        agent=AGENT_SDK,
    )


def webserver(m: Month, t: datetime, day: int) -> None:
    who = _role("WebServer", "i-0a1b2c3d4e5f60718")
    for _ in range(m.rng.randint(3, 8)):
        key = f"static/{m.rng.choice(['css', 'js', 'img'])}/asset-{m.rng.randint(1, 40)}"
        _s3_get(m, t, who, "acme-assets", key, agent=AGENT_SDK, ip="10.0.1.17")
    m.emit(
        t,
        who,
        "sqs.amazonaws.com",
        "SendMessage",
        params={"queueUrl": f"https://sqs.us-east-1.amazonaws.com/{PROD}/orders"},
        agent=AGENT_SDK,
        ip="10.0.1.17",
        data=True,
    )


def worker(m: Month, t: datetime, day: int) -> None:
    who = _role("Worker", "i-0fedcba9876543210")
    queue = {"queueUrl": f"https://sqs.us-east-1.amazonaws.com/{PROD}/orders"}
    for _ in range(m.rng.randint(2, 5)):
        m.emit(
            t,
            who,
            "sqs.amazonaws.com",
            "ReceiveMessage",
            params=queue,
            agent=AGENT_SDK,
            ip="10.0.2.9",
            data=True,
        )
        m.emit(
            t,
            who,
            "sqs.amazonaws.com",
            "DeleteMessage",
            params=queue,
            agent=AGENT_SDK,
            ip="10.0.2.9",
            data=True,
        )


def lambda_exec(m: Month, t: datetime, day: int) -> None:
    who = _role("LambdaExec", "site-render", "/service-role/")
    who["sessionContext"]["sessionIssuer"]["arn"] = (
        f"arn:aws:iam::{PROD}:role/service-role/LambdaExec"
    )
    group = "/aws/lambda/site-render"
    m.emit(
        t,
        who,
        "logs.amazonaws.com",
        "CreateLogStream",
        params={"logGroupName": group, "logStreamName": f"2026/11/{day + 1:02d}"},
        agent=AGENT_SDK,
        ip="lambda.amazonaws.com",
    )


def strangers(m: Month, t: datetime, day: int) -> None:
    """Records that map to no loaded principal: each kind once a week."""
    if day % 7 != 3:
        return
    m.emit(
        t,
        {"type": "AWSService", "invokedBy": "cloudtrail.amazonaws.com"},
        "kms.amazonaws.com",
        "RotateKey",
        ip="cloudtrail.amazonaws.com",
    )
    m.records[-1]["eventType"] = "AwsServiceEvent"
    m.records[-1]["userIdentity"] = {"accountId": PROD, "invokedBy": "kms.amazonaws.com"}
    m.emit(
        t,
        {
            "type": "FederatedUser",
            "principalId": f"{PROD}:partner",
            "arn": f"arn:aws:sts::{PROD}:federated-user/partner",
            "accountId": PROD,
            "sessionContext": {
                "sessionIssuer": {"type": "IAMUser", "arn": f"arn:aws:iam::{PROD}:user/victor"}
            },
        },
        "s3.amazonaws.com",
        "ListBuckets",
    )
    m.emit(
        t,
        {"type": "AWSAccount", "principalId": "AIDAEXTERNAL0001", "accountId": "999988887777"},
        "s3.amazonaws.com",
        "GetObject",
        params={"bucketName": "acme-public", "key": "logo.png"},
        resources=_s3_object("acme-public", "logo.png"),
        data=True,
        ip="192.0.2.44",
    )
    m.emit(t, _user("zed"), "iam.amazonaws.com", "ListUsers")  # deleted user


BEHAVIOURS: dict[str, tuple[Behaviour, float]] = {
    # name: (behaviour, probability of activity on a given working day)
    "alice": (alice, 0.9),
    "bob": (bob, 0.95),
    "carol": (carol, 0.8),
    "dave": (dave, 0.9),
    "erin": (erin, 1.0),
    "frank": (frank, 0.7),
    "heidi": (heidi, 1.0),
    "ivan": (ivan, 0.6),
    "judy": (judy, 0.9),
    "mallory": (mallory, 1.0),
    "oscar": (oscar, 1.0),
    "trent": (trent, 0.5),
    "webserver": (webserver, 1.0),
    "worker": (worker, 1.0),
    "lambda_exec": (lambda_exec, 1.0),
    "strangers": (strangers, 1.0),
}


def generate(days: int = 30, seed: int = 7, scale: int = 1) -> list[Record]:
    """The records of `days` days, sorted by event time. Deterministic for (days, seed, scale)."""
    rng = random.Random(seed)
    month = Month(rng)
    for day in range(days):
        for _ in range(scale):
            for name, (behaviour, chance) in BEHAVIOURS.items():
                weekend = (START + timedelta(days=day)).weekday() >= 5
                if weekend and name not in ("webserver", "worker", "lambda_exec", "strangers"):
                    continue
                if rng.random() > chance and name not in ("dave", "oscar", "heidi", "strangers"):
                    continue
                when = START + timedelta(
                    days=day,
                    hours=rng.randint(8, 18),
                    minutes=rng.randint(0, 59),
                    seconds=rng.randint(0, 59),
                )
                behaviour(month, when, day)
    month.records.sort(key=lambda r: r["eventTime"])
    return month.records


def _by_day(records: list[Record]) -> Iterator[tuple[str, list[Record]]]:
    current: str | None = None
    batch: list[Record] = []
    for record in records:
        day = record["eventTime"][:10]
        if current is not None and day != current:
            yield current, batch
            batch = []
        current = day
        batch.append(record)
    if current is not None:
        yield current, batch


def write(records: list[Record], out: pathlib.Path, *, fmt: str, compress: bool) -> None:
    def save(path: pathlib.Path, data: bytes) -> None:
        # mtime 0 and no file name in the gzip header: the same bytes for the same seed
        path.write_bytes(gzip.compress(data, mtime=0) if compress else data)

    if fmt == "jsonl":
        save(out, b"".join(json.dumps(r, separators=(",", ":")).encode() + b"\n" for r in records))
        return
    out.mkdir(parents=True, exist_ok=True)
    for day, batch in _by_day(records):
        name = f"{PROD}_CloudTrail_us-east-1_{day.replace('-', '')}T0000Z_synthetic.json"
        text = json.dumps({"Records": batch}, indent=1).encode() + b"\n"
        save(out / (name + (".gz" if compress else "")), text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("out", type=pathlib.Path)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--format", choices=["jsonl", "trail"], default="jsonl")
    parser.add_argument("--gzip", action="store_true")
    args = parser.parse_args()
    records = generate(args.days, args.seed, args.scale)
    write(records, args.out, fmt=args.format, compress=args.gzip)
    print(f"wrote {len(records)} records to {args.out}")


if __name__ == "__main__":
    main()
