"""Instance profiles end to end: `policylang imds` + the reference service, driven by the real
AWS CLI (subprocess) and boto3, with credentials only from the metadata endpoint.

Both servers run as subprocesses on 127.0.0.1 ephemeral ports and share a SQLite credential
store. The clients get no AWS_* credential variables, empty config/credentials files, and
NO_PROXY for 127.0.0.1.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import pathlib
import queue
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

pytestmark = pytest.mark.integration

boto3 = pytest.importorskip("boto3")
botocore_exceptions = pytest.importorskip("botocore.exceptions")

REPO = pathlib.Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "s3service"
APP_INSTANCE = "i-0a1b2c3d4e5f60718"
UNTRUSTED_INSTANCE = "i-0badbadbadbadbad0"
AWS = shutil.which("aws")


class Proc:
    """A server subprocess whose stdout announces its endpoints, then `ready`."""

    def __init__(self, args: list[str], env: dict[str, str], log: pathlib.Path) -> None:
        self.log = log.open("w")
        self.popen = subprocess.Popen(
            [sys.executable, *args],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        self.lines: list[str] = []
        assert self.popen.stdout is not None
        # A reader thread: select() on a buffered text stream would miss buffered lines.
        found: queue.Queue[str | None] = queue.Queue()
        stream = self.popen.stdout

        def read() -> None:
            for line in stream:
                found.put(line.strip())
            found.put(None)

        self.reader = threading.Thread(target=read, daemon=True)
        self.reader.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                line = found.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            self.lines.append(line)
            if line == "ready":
                return
        self.stop()
        raise AssertionError(f"server did not start: {args} -> {self.lines}")

    def url(self, kind: str, name: str | None = None) -> str:
        for line in self.lines:
            parts = line.split()
            if parts[0] == kind and (name is None or parts[1] == name):
                return next(p for p in parts if p.startswith("http://"))
        raise AssertionError(f"no {kind} {name} in {self.lines}")

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self.reader.join(10)
        if self.popen.stdout is not None:
            self.popen.stdout.close()
        self.log.close()


def server_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def client_env(tmp: pathlib.Path, imds_url: str) -> dict[str, str]:
    """A clean client environment: IMDS is the only credential source."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    (tmp / "config").write_text("")
    (tmp / "credentials").write_text("")
    env.update(
        AWS_EC2_METADATA_SERVICE_ENDPOINT=imds_url + "/",
        AWS_CONFIG_FILE=str(tmp / "config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp / "credentials"),
        AWS_DEFAULT_REGION="us-east-1",
        # A loaded 2-core machine can be slow: do not let botocore give up after 1 s.
        AWS_METADATA_SERVICE_TIMEOUT="10",
        AWS_METADATA_SERVICE_NUM_ATTEMPTS="3",
        NO_PROXY="127.0.0.1",
        no_proxy="127.0.0.1",
        HOME=str(tmp),
    )
    return env


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("imds")
    account = str(EXAMPLE / "account.json")
    store = str(tmp / "creds.db")
    procs: list[Proc] = []
    try:
        imds = Proc(
            [
                "-m", "policylang", "imds", "--account", account, "--store", store,
                "--instance", f"{APP_INSTANCE}=AppServer",
                "--instance", f"{UNTRUSTED_INSTANCE}=UntrustedProfile",
                "--admin-port", "0",
            ],
            server_env(),
            tmp / "imds.log",
        )  # fmt: skip
        procs.append(imds)
        service = Proc(
            [
                "-m", "policylang.examples_service", "--account", account, "--store", store,
                "--data", str(tmp / "data"), "--seed", str(EXAMPLE / "seed.json"),
                "--decision-log", str(tmp / "decisions.jsonl"),
            ],
            server_env(),
            tmp / "service.log",
        )  # fmt: skip
        procs.append(service)
        yield {
            "tmp": tmp,
            "imds": imds.url("imds", APP_INSTANCE),
            "untrusted": imds.url("imds", UNTRUSTED_INSTANCE),
            "admin": imds.url("admin"),
            "service": service.url("service"),
            "env": client_env(tmp, imds.url("imds", APP_INSTANCE)),
            "decisions": tmp / "decisions.jsonl",
        }
    finally:
        for proc in reversed(procs):
            proc.stop()


def aws(world: dict[str, Any], *args: str) -> subprocess.CompletedProcess[str]:
    assert AWS is not None
    return subprocess.run(
        [AWS, *args, "--endpoint-url", world["service"]],
        env=world["env"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


CLI_CALLS: dict[str, tuple[str, ...]] = {
    "whoami": ("sts", "get-caller-identity", "--output", "json"),
    "ls": ("s3", "ls"),
    "cross": ("s3", "cp", "s3://partner-shared/prices.csv", "-"),
    "delete": ("s3api", "delete-object", "--bucket", "app-data", "--key", "hello.txt"),
}


@pytest.fixture(scope="module")
def cli(world: dict[str, Any]) -> dict[str, subprocess.CompletedProcess[str]]:
    """The read-only CLI invocations, run concurrently (each CLI start costs about a second)."""
    if AWS is None:
        pytest.skip("the AWS CLI is not installed (pip install awscli)")
    with concurrent.futures.ThreadPoolExecutor(len(CLI_CALLS)) as pool:
        futures = {name: pool.submit(aws, world, *args) for name, args in CLI_CALLS.items()}
        return {name: future.result() for name, future in futures.items()}


def boto_session(world: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Any:
    for key in list(os.environ):
        if key.startswith("AWS_"):
            monkeypatch.delenv(key)
    for key, value in world["env"].items():
        if key.startswith("AWS_") or key.lower() == "no_proxy":
            monkeypatch.setenv(key, value)
    return boto3.session.Session(region_name="us-east-1")


def http(method: str, url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, method=method, headers=headers or {})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


needs_cli = pytest.mark.skipif(
    AWS is None, reason="the AWS CLI is not installed (pip install awscli)"
)


@needs_cli
def test_cli_get_caller_identity_shows_the_instance_role_session(cli) -> None:
    done = cli["whoami"]
    assert done.returncode == 0, done.stderr
    who = json.loads(done.stdout)
    assert who["Arn"] == f"arn:aws:sts::111122223333:assumed-role/AppServer/{APP_INSTANCE}"
    assert who["Account"] == "111122223333"
    assert who["UserId"].endswith(f":{APP_INSTANCE}")


@needs_cli
def test_cli_s3_ls_lists_the_accounts_buckets(cli) -> None:
    done = cli["ls"]
    assert done.returncode == 0, done.stderr
    names = sorted(line.split()[-1] for line in done.stdout.splitlines() if line.strip())
    assert names == ["app-data", "app-logs", "secret-data"]  # not the partner's buckets


@needs_cli
def test_cli_cross_account_read_through_the_bucket_policy(cli) -> None:
    done = cli["cross"]
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("item,price")


@needs_cli
def test_cli_forbidden_call_fails_with_access_denied(cli) -> None:
    done = cli["delete"]
    assert done.returncode != 0
    assert "AccessDenied" in done.stderr
    assert "explicit deny" in done.stderr


def test_boto3_lists_buckets_and_objects(world, monkeypatch) -> None:
    session = boto_session(world, monkeypatch)
    assert session.get_credentials().method == "iam-role"
    s3 = session.client("s3", endpoint_url=world["service"])
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert names == ["app-data", "app-logs", "secret-data"]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="app-data")["Contents"]]
    assert "hello.txt" in keys
    s3.put_object(Bucket="app-logs", Key="boot.log", Body=b"booted\n")
    with pytest.raises(botocore_exceptions.ClientError) as denied:
        s3.get_object(Bucket="app-logs", Key="boot.log")  # write-only bucket
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    assert (
        s3.get_object(Bucket="app-data", Key="hello.txt")["Body"].read() == b"hello from app-data\n"
    )
    with pytest.raises(botocore_exceptions.ClientError) as denied:
        s3.get_object(Bucket="secret-data", Key="plans.txt")
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    body = s3.get_object(Bucket="partner-shared", Key="prices.csv")["Body"].read()
    assert body.startswith(b"item,price")
    with pytest.raises(botocore_exceptions.ClientError) as denied:
        s3.get_object(Bucket="partner-private", Key="notes.txt")
    assert denied.value.response["Error"]["Code"] == "AccessDenied"


def test_boto3_assume_role_from_instance_credentials(world, monkeypatch) -> None:
    session = boto_session(world, monkeypatch)
    sts = session.client("sts", endpoint_url=world["service"])
    result = sts.assume_role(RoleArn="arn:aws:iam::111122223333:role/Reader", RoleSessionName="r1")
    assert result["AssumedRoleUser"]["Arn"] == "arn:aws:sts::111122223333:assumed-role/Reader/r1"
    creds = result["Credentials"]
    reader = boto3.session.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name="us-east-1",
    ).client("s3", endpoint_url=world["service"])
    assert reader.get_object(Bucket="app-data", Key="hello.txt")["Body"].read()
    with pytest.raises(botocore_exceptions.ClientError) as denied:
        reader.put_object(Bucket="app-data", Key="x.txt", Body=b"x")
    assert denied.value.response["Error"]["Code"] == "AccessDenied"


def test_forced_rotation_keeps_clients_working(world, monkeypatch) -> None:
    session = boto_session(world, monkeypatch)
    s3 = session.client("s3", endpoint_url=world["service"])
    before = s3.list_objects_v2(Bucket="app-data")["KeyCount"]
    old_key = session.get_credentials().access_key
    status, body = http("POST", world["admin"] + f"/rotate?instance={APP_INSTANCE}")
    assert status == 200
    assert json.loads(body)[0]["rotations"] >= 2
    # The client holding the old credentials keeps working (they have not expired) …
    assert s3.list_objects_v2(Bucket="app-data")["KeyCount"] == before
    # … and a fresh client picks up the new ones, which work too.
    fresh = boto_session(world, monkeypatch)
    assert fresh.get_credentials().access_key != old_key
    client = fresh.client("s3", endpoint_url=world["service"])
    assert client.list_objects_v2(Bucket="app-data")["KeyCount"] == before
    if AWS is not None:
        done = aws(world, "sts", "get-caller-identity", "--output", "json")
        assert done.returncode == 0, done.stderr


def test_untrusted_role_gets_the_imds_error_document_and_no_credentials(world, monkeypatch) -> None:
    _, token = http(
        "PUT", world["untrusted"] + "/latest/api/token",
        {"X-aws-ec2-metadata-token-ttl-seconds": "60"},
    )  # fmt: skip
    status, body = http(
        "GET",
        world["untrusted"] + "/latest/meta-data/iam/security-credentials/Untrusted",
        {"X-aws-ec2-metadata-token": token},
    )
    assert status == 200
    assert json.loads(body)["Code"] == "AssumeRoleUnauthorizedAccess"
    monkeypatch.setitem(world["env"], "AWS_EC2_METADATA_SERVICE_ENDPOINT", world["untrusted"])
    session = boto_session(world, monkeypatch)
    assert session.get_credentials() is None


def test_imds_status_codes_over_http(world) -> None:
    base = world["imds"]
    assert http("PUT", base + "/latest/api/token")[0] == 400
    for ttl in ("0", "21601", "x"):
        ttl_header = {"X-aws-ec2-metadata-token-ttl-seconds": ttl}
        assert http("PUT", base + "/latest/api/token", ttl_header)[0] == 400
    status, token = http(
        "PUT", base + "/latest/api/token", {"X-aws-ec2-metadata-token-ttl-seconds": "21600"}
    )
    assert status == 200
    forwarded = {"X-aws-ec2-metadata-token-ttl-seconds": "60", "X-Forwarded-For": "10.0.0.1"}
    assert http("PUT", base + "/latest/api/token", forwarded)[0] == 403
    creds = base + "/latest/meta-data/iam/security-credentials/"
    assert http("GET", creds)[0] == 401  # IMDSv1 refused by default
    assert http("GET", creds, {"X-aws-ec2-metadata-token": "bogus"})[0] == 401
    assert http("GET", creds, {"X-aws-ec2-metadata-token": token}) == (200, "AppServer")
    nope = base + "/latest/meta-data/nope"
    assert http("GET", nope, {"X-aws-ec2-metadata-token": token})[0] == 404


def test_imds_v1_is_served_with_allow_v1(tmp_path) -> None:
    proc = Proc(
        [
            "-m", "policylang", "imds", "--account", str(EXAMPLE / "account.json"),
            "--instance", f"{APP_INSTANCE}=AppServer", "--allow-v1", "--quiet",
        ],
        server_env(),
        tmp_path / "imds.log",
    )  # fmt: skip
    try:
        base = proc.url("imds", APP_INSTANCE)
        creds = base + "/latest/meta-data/iam/security-credentials/"
        assert http("GET", creds) == (200, "AppServer")
        status, body = http("GET", creds + "AppServer")
        assert status == 200
        assert json.loads(body)["AccessKeyId"].startswith("ASIA")
        assert http("GET", creds, {"X-aws-ec2-metadata-token": "bogus"})[0] == 401
    finally:
        proc.stop()


def test_decisions_are_logged_with_a_replayable_case(world) -> None:
    entries = [json.loads(line) for line in world["decisions"].read_text().splitlines()]
    denied = [e for e in entries if e["decision"] in ("implicitDeny", "explicitDeny")]
    assert denied, entries
    case = denied[0]["case"]
    assert set(case) >= {"policies", "request"}
    assert case["request"]["principal"]["arn"].startswith("arn:aws:sts::111122223333:")
