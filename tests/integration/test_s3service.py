"""The reference S3-compatible service (`policylang.examples_service`) in-process, with boto3
and hand-signed hostile requests: every refusal is clean and leaves the disk untouched."""

from __future__ import annotations

import http.client
import json
import os
import pathlib
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest

from policylang.account import load_environment
from policylang.auth import InMemoryCredentialStore, TemporaryCredential
from policylang.auth.imds import ImdsInstance, find_profile
from policylang.auth.sts import StsService
from policylang.examples_service import (
    BucketStore,
    ReferenceService,
    ServiceError,
    ServiceServer,
    check_object_key,
    load_seed,
    seed_objects,
)

pytestmark = pytest.mark.integration

boto3 = pytest.importorskip("boto3")
botocore_auth = pytest.importorskip("botocore.auth")
botocore_awsrequest = pytest.importorskip("botocore.awsrequest")
botocore_credentials = pytest.importorskip("botocore.credentials")
botocore_exceptions = pytest.importorskip("botocore.exceptions")
botocore_config = pytest.importorskip("botocore.config")

REPO = pathlib.Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "s3service"
APP_ROLE = "arn:aws:iam::111122223333:role/AppServer"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    env = load_environment([EXAMPLE / "account.json"])
    store = InMemoryCredentialStore()
    sts = StsService(env, store)
    app = sts.assume_role_for_service("ec2.amazonaws.com", APP_ROLE, "i-0123456789abcdef0")
    # `Untrusted` (s3:* on everything) is assumable by Lambda: a caller that may create buckets.
    admin = sts.assume_role_for_service(
        "lambda.amazonaws.com", "arn:aws:iam::111122223333:role/Untrusted", "fn"
    )
    data = tmp_path_factory.mktemp("s3data")
    decisions: list[dict[str, Any]] = []
    service = ReferenceService(env, store, BucketStore(data), decision_log=decisions.append)
    service.seed_buckets()
    seed_objects(service, load_seed(EXAMPLE / "seed.json"))
    server = ServiceServer(service, max_body=64 * 1024)
    server.start()
    try:
        yield {
            "url": server.url,
            "data": data,
            "app": app.credentials,
            "admin": admin.credentials,
            "decisions": decisions,
            "service": service,
        }
    finally:
        server.shutdown()
        server.server_close()


def client(world: dict[str, Any], who: str = "app", service: str = "s3") -> Any:
    cred: TemporaryCredential = world[who]
    return boto3.session.Session(
        aws_access_key_id=cred.access_key_id,
        aws_secret_access_key=cred.secret_access_key.reveal(),
        aws_session_token=cred.session_token.reveal(),
        region_name="us-east-1",
    ).client(
        service,
        endpoint_url=world["url"],
        config=botocore_config.Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


def snapshot(root: pathlib.Path) -> list[tuple[str, int, int]]:
    out = []
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = pathlib.Path(dirpath) / name
            stat = path.stat()
            out.append((str(path.relative_to(root)), stat.st_size, stat.st_mtime_ns))
    return sorted(out)


def send(
    world: dict[str, Any],
    method: str,
    path: str,
    *,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    who: str | None = "app",
    service: str = "s3",
    tamper: bool = False,
) -> tuple[int, str]:
    """Sign (with botocore's signer) and send a raw request; (status, body)."""
    url = world["url"] + path
    request = botocore_awsrequest.AWSRequest(method=method, url=url, data=body, headers=headers)
    if who is not None:
        cred: TemporaryCredential = world[who]
        creds = botocore_credentials.Credentials(
            cred.access_key_id, cred.secret_access_key.reveal(), cred.session_token.reveal()
        )
        signer = (
            botocore_auth.S3SigV4Auth(creds, "s3", "us-east-1")
            if service == "s3"
            else botocore_auth.SigV4Auth(creds, service, "us-east-1")
        )
        signer.add_auth(request)
    prepared = request.prepare()
    out_headers = dict(prepared.headers.items())
    if tamper:
        auth = out_headers["Authorization"]
        out_headers["Authorization"] = auth[:-4] + ("0000" if auth[-4:] != "0000" else "1111")
    parts = urlsplit(world["url"])
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        # Send the path exactly as given (no client-side normalisation of `..`).
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in out_headers.items():
            conn.putheader(name, value)
        if "Content-Length" not in out_headers:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body or None)
        response = conn.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        conn.close()


# ------------------------------------------------------------------------------ happy paths


def test_list_buckets_lists_the_callers_account_buckets(world) -> None:
    names = [b["Name"] for b in client(world).list_buckets()["Buckets"]]
    assert names == ["app-data", "app-logs", "secret-data"]


def test_list_objects_v2_with_prefix_delimiter_and_pages(world) -> None:
    s3 = client(world)
    for i in range(5):
        s3.put_object(Bucket="app-data", Key=f"pages/p{i}.txt", Body=b"x")
    listed = s3.list_objects_v2(Bucket="app-data", Delimiter="/")
    assert [p["Prefix"] for p in listed["CommonPrefixes"]] == ["pages/", "reports/"]
    assert [o["Key"] for o in listed["Contents"]] == ["hello.txt"]
    paginator = s3.get_paginator("list_objects_v2")
    pages = list(paginator.paginate(Bucket="app-data", Prefix="pages/", MaxKeys=2))
    assert len(pages) == 3
    keys = [o["Key"] for page in pages for o in page.get("Contents", [])]
    assert keys == [f"pages/p{i}.txt" for i in range(5)]


def test_put_get_head_round_trip_with_odd_keys(world) -> None:
    s3 = client(world)
    for key in ["a b/c+d.txt", "ünï/cødé", "x%2Fy", "dots.../file..txt"]:
        s3.put_object(Bucket="app-data", Key=key, Body=key.encode(), ContentType="text/plain")
        got = s3.get_object(Bucket="app-data", Key=key)
        assert got["Body"].read() == key.encode()
        assert got["ContentType"] == "text/plain"
        assert s3.head_object(Bucket="app-data", Key=key)["ContentLength"] == len(key.encode())


def test_cross_account_read_through_the_bucket_policy(world) -> None:
    s3 = client(world)
    assert s3.get_object(Bucket="partner-shared", Key="prices.csv")["Body"].read()
    assert "Contents" in s3.list_objects_v2(Bucket="partner-shared")
    with pytest.raises(botocore_exceptions.ClientError) as denied:
        s3.list_objects_v2(Bucket="partner-private")
    assert denied.value.response["Error"]["Code"] == "AccessDenied"


def test_create_bucket_needs_permission_and_sets_the_owner(world) -> None:
    with pytest.raises(botocore_exceptions.ClientError) as denied:
        client(world).create_bucket(Bucket="app-new")
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    admin = client(world, "admin")
    admin.create_bucket(Bucket="admin-made")
    assert world["service"].data.bucket_owner("admin-made") == "111122223333"
    with pytest.raises(botocore_exceptions.ClientError) as again:
        admin.create_bucket(Bucket="admin-made")
    assert again.value.response["Error"]["Code"] == "BucketAlreadyOwnedByYou"
    with pytest.raises(botocore_exceptions.ClientError) as taken:
        admin.create_bucket(Bucket="partner-shared")
    assert taken.value.response["Error"]["Code"] == "BucketAlreadyExists"


def test_delete_is_denied_by_the_explicit_deny_and_allowed_otherwise(world) -> None:
    with pytest.raises(botocore_exceptions.ClientError) as denied:
        client(world).delete_object(Bucket="app-data", Key="hello.txt")
    error = denied.value.response["Error"]
    assert error["Code"] == "AccessDenied"
    assert "explicit deny" in error["Message"]
    admin = client(world, "admin")
    admin.put_object(Bucket="app-logs", Key="tmp.log", Body=b"t")
    admin.delete_object(Bucket="app-logs", Key="tmp.log")
    with pytest.raises(botocore_exceptions.ClientError) as gone:
        admin.get_object(Bucket="app-logs", Key="tmp.log")
    assert gone.value.response["Error"]["Code"] == "NoSuchKey"


def test_sts_get_caller_identity_and_assume_role(world) -> None:
    sts = client(world, service="sts")
    who = sts.get_caller_identity()
    assert who["Arn"] == "arn:aws:sts::111122223333:assumed-role/AppServer/i-0123456789abcdef0"
    with pytest.raises(botocore_exceptions.ClientError) as denied:
        sts.assume_role(RoleArn="arn:aws:iam::111122223333:role/Untrusted", RoleSessionName="x1")
    assert denied.value.response["Error"]["Code"] == "AccessDenied"


def test_decision_log_carries_the_simulation_case(world) -> None:
    with pytest.raises(botocore_exceptions.ClientError):
        client(world).get_object(Bucket="secret-data", Key="plans.txt")
    entry = world["decisions"][-1]
    assert entry["decision"] == "implicitDeny"
    assert entry["action"] == "s3:GetObject"
    assert entry["case"]["request"]["resource"]["arn"] == "arn:aws:s3:::secret-data/plans.txt"
    json.dumps(entry)  # serialisable as a JSON line


def test_instance_profile_session_keys_reach_the_services_policy_checks(tmp_path) -> None:
    # A role policy keyed on the §8.1 session keys: only instance i-0123… and only credentials
    # delivered over IMDSv2 may read. Credentials come from the fake IMDS, as on EC2.
    env = load_environment([EXAMPLE / "account.json"])
    instance_arn = "arn:aws:ec2:us-east-1:111122223333:instance/i-0123456789abcdef0"
    deny = {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*"}
    env.accounts["111122223333"].put_inline_policy(
        "role",
        "AppServer",
        "ThisInstanceOverImdsV2",
        {
            "Version": "2012-10-17",
            "Statement": [
                {**deny, "Condition": {"StringNotEquals": {"ec2:SourceInstanceARN": instance_arn}}},
                {**deny, "Condition": {"NumericLessThan": {"ec2:RoleDelivery": "2.0"}}},
            ],
        },
    )
    store = InMemoryCredentialStore()
    decisions: list[dict[str, Any]] = []
    service = ReferenceService(env, store, BucketStore(tmp_path), decision_log=decisions.append)
    service.seed_buckets()
    seed_objects(service, load_seed(EXAMPLE / "seed.json"))
    account, profile = find_profile(env, "AppServer")
    this = ImdsInstance(service.sts, "i-0123456789abcdef0", profile, account, allow_v1=True)
    other = ImdsInstance(service.sts, "i-0fedcba9876543210", profile, account)
    server = ServiceServer(service, max_body=64 * 1024)
    server.start()
    try:

        def read(instance: ImdsInstance, v2: bool) -> str:
            headers = {}
            if v2:
                ttl = {"X-aws-ec2-metadata-token-ttl-seconds": "60"}
                token = instance.handle("PUT", "/latest/api/token", ttl).body.decode()
                headers["X-aws-ec2-metadata-token"] = token
            path = "/latest/meta-data/iam/security-credentials/AppServer"
            creds = json.loads(instance.handle("GET", path, headers).body)
            s3 = boto3.session.Session(
                aws_access_key_id=creds["AccessKeyId"],
                aws_secret_access_key=creds["SecretAccessKey"],
                aws_session_token=creds["Token"],
                region_name="us-east-1",
            ).client(
                "s3",
                endpoint_url=server.url,
                config=botocore_config.Config(
                    s3={"addressing_style": "path"}, retries={"max_attempts": 1}
                ),
            )
            try:
                s3.get_object(Bucket="app-data", Key="hello.txt")["Body"].read()
            except botocore_exceptions.ClientError as error:
                return str(error.response["Error"]["Code"])
            return "ok"

        assert read(this, v2=True) == "ok"
        context = decisions[-1]["case"]["request"]["context"]
        assert context["ec2:SourceInstanceARN"] == instance_arn
        assert context["ec2:RoleDelivery"] == "2.0"
        assert read(this, v2=False) == "AccessDenied"
        assert read(other, v2=True) == "AccessDenied"
    finally:
        server.shutdown()
        server.server_close()


# ------------------------------------------------------------------------------ hostile input


@pytest.mark.parametrize(
    "path",
    [
        "/app-data/../secret-data/plans.txt",
        "/app-data/a/../../escape.txt",
        "/app-data/%2E%2E/%2E%2E/escape.txt",
        "/app-data//etc/passwd",
        "/app-data/nul%00byte.txt",
        "/app-data/back%5Cslash.txt",
        "/app-data/./dot.txt",
        "/app-data/bad%FFutf8",
    ],
)
def test_hostile_object_keys_are_refused_without_touching_disk(world, path) -> None:
    before = snapshot(world["data"])
    status, body = send(world, "PUT", path, body=b"pwned")
    if "%2E" in path:
        # botocore signs the decoded `..`, so this one already fails the signature check.
        assert (status, "<Code>SignatureDoesNotMatch</Code>" in body) == (403, True), body
    else:
        assert status == 400, body
        assert "<Code>InvalidArgument</Code>" in body or "<Code>InvalidURI</Code>" in body
    assert snapshot(world["data"]) == before
    assert not (world["data"].parent / "escape.txt").exists()


@pytest.mark.parametrize(
    ("key", "ok"),
    [("../x", False), ("/abs", False), ("a\x00b", False), ("a/./b", False), ("a..b/c", True)],
)
def test_check_object_key(key, ok) -> None:
    if ok:
        check_object_key(key)
    else:
        with pytest.raises(ServiceError):
            check_object_key(key)


def test_bad_signature_is_refused_without_touching_disk(world) -> None:
    before = snapshot(world["data"])
    status, body = send(world, "PUT", "/app-data/forged.txt", body=b"forged", tamper=True)
    assert status == 403
    assert "<Code>SignatureDoesNotMatch</Code>" in body
    assert snapshot(world["data"]) == before


def test_unsigned_request_is_refused(world) -> None:
    status, body = send(world, "GET", "/app-data/hello.txt", who=None)
    assert status == 403
    assert "hello from app-data" not in body


def test_unknown_access_key_is_refused(world) -> None:
    fake = TemporaryCredential(
        access_key_id="ASIAAAAAAAAAAAAAAAAA",
        secret_access_key="x" * 40,
        session_token="token",
        principal_arn="arn:aws:sts::111122223333:assumed-role/AppServer/i-1",
        issued_at=world["app"].issued_at,
        expiration=world["app"].issued_at + timedelta(hours=1),
    )
    status, body = send({**world, "fake": fake}, "GET", "/app-data/hello.txt", who="fake")
    assert status == 403
    assert "<Code>InvalidAccessKeyId</Code>" in body


def test_oversized_body_is_refused_without_touching_disk(world) -> None:
    before = snapshot(world["data"])
    status, body = send(world, "PUT", "/app-data/big.bin", body=b"x" * (64 * 1024 + 1))
    assert status == 400
    assert "<Code>EntityTooLarge</Code>" in body
    assert snapshot(world["data"]) == before


def test_oversized_headers_are_refused(world) -> None:
    before = snapshot(world["data"])
    headers = {f"x-filler-{i}": "y" * 900 for i in range(20)}
    status, body = send(world, "PUT", "/app-data/h.txt", body=b"h", headers=headers)
    assert status in (400, 431), body
    assert snapshot(world["data"]) == before


def test_unknown_operations_are_refused(world) -> None:
    status, body = send(
        world,
        "POST",
        "/",
        body=b"Action=DeleteEverything&Version=2011-06-15",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        service="sts",
    )
    assert status == 400
    assert "<Code>InvalidAction</Code>" in body
    status, body = send(world, "GET", "/app-data?policy")
    assert status == 501
    assert "<Code>NotImplemented</Code>" in body
    status, _ = send(world, "PUT", "/Bad_Bucket")
    assert status == 400


def test_body_checksum_mismatch_is_refused(world) -> None:
    before = snapshot(world["data"])
    status, body = send(
        world,
        "PUT",
        "/app-data/sum.txt",
        body=b"abc",
        headers={"Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg=="},  # MD5 of the empty string
    )
    assert status == 400
    assert "<Code>BadDigest</Code>" in body
    assert snapshot(world["data"]) == before
