"""The IMDS protocol and credential rotation of `policylang.auth.imds`, without sockets."""

from __future__ import annotations

import json
import pathlib
import re
from datetime import UTC, datetime, timedelta

import pytest

from policylang.account import Environment, load_environment
from policylang.auth import FixedClock, InMemoryCredentialStore, TemporaryCredential
from policylang.auth.imds import ImdsError, ImdsInstance, find_profile
from policylang.auth.sts import StsService

REPO = pathlib.Path(__file__).resolve().parents[3]
ACCOUNT = REPO / "examples" / "s3service" / "account.json"
INSTANCE = "i-0123456789abcdef0"
TTL = {"X-aws-ec2-metadata-token-ttl-seconds": "21600"}
CREDS = "/latest/meta-data/iam/security-credentials/"
STAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


@pytest.fixture
def env() -> Environment:
    return load_environment([ACCOUNT])


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC))


@pytest.fixture
def store() -> InMemoryCredentialStore:
    return InMemoryCredentialStore()


def make(
    env: Environment,
    store: InMemoryCredentialStore,
    clock: FixedClock,
    profile: str = "AppServer",
    instance_id: str = INSTANCE,
    **options: object,
) -> ImdsInstance:
    account, found = find_profile(env, profile)
    sts = StsService(env, store, clock=clock)
    return ImdsInstance(sts, instance_id, found, account, **options)  # type: ignore[arg-type]


def token_of(instance: ImdsInstance, ttl: str = "21600") -> str:
    response = instance.handle("PUT", "/latest/api/token", {TTL_NAME: ttl})
    assert response.status == 200
    return response.body.decode()


TTL_NAME = "X-aws-ec2-metadata-token-ttl-seconds"


def get(instance: ImdsInstance, path: str, token: str | None) -> tuple[int, str]:
    headers = {} if token is None else {"X-aws-ec2-metadata-token": token}
    response = instance.handle("GET", path, headers)
    return response.status, response.body.decode()


# ------------------------------------------------------------------------------ tokens


def test_token_put_returns_token_and_ttl_header(env, store, clock) -> None:
    instance = make(env, store, clock)
    response = instance.handle("PUT", "/latest/api/token", TTL)
    assert response.status == 200
    assert response.body
    assert ("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", "21600") in response.headers


@pytest.mark.parametrize("ttl", [None, "", "0", "21601", "-5", "abc", "1.5", "99999999"])
def test_token_put_with_missing_or_out_of_bounds_ttl_is_400(env, store, clock, ttl) -> None:
    instance = make(env, store, clock)
    headers = {} if ttl is None else {TTL_NAME: ttl}
    assert instance.handle("PUT", "/latest/api/token", headers).status == 400


@pytest.mark.parametrize("ttl", ["1", "21600", "300"])
def test_token_ttl_bounds_are_inclusive(env, store, clock, ttl) -> None:
    instance = make(env, store, clock)
    assert instance.handle("PUT", "/latest/api/token", {TTL_NAME: ttl}).status == 200


def test_token_put_with_x_forwarded_for_is_refused(env, store, clock) -> None:
    instance = make(env, store, clock)
    headers = {**TTL, "X-Forwarded-For": "203.0.113.9"}
    assert instance.handle("PUT", "/latest/api/token", headers).status == 403


def test_token_put_to_a_version_path_is_403(env, store, clock) -> None:
    instance = make(env, store, clock)
    assert instance.handle("PUT", "/2021-03-23/api/token", TTL).status == 403


def test_get_without_token_is_401_when_v2_is_required(env, store, clock) -> None:
    instance = make(env, store, clock)
    assert get(instance, CREDS, None)[0] == 401
    assert get(instance, "/latest/meta-data/instance-id", None)[0] == 401


def test_get_without_token_is_served_with_allow_v1(env, store, clock) -> None:
    instance = make(env, store, clock, allow_v1=True)
    assert get(instance, CREDS, None) == (200, "AppServer")


def test_invalid_token_is_401_even_with_v1_allowed(env, store, clock) -> None:
    instance = make(env, store, clock, allow_v1=True)
    assert get(instance, CREDS, "not-a-token")[0] == 401
    forged = token_of(instance)[:-4] + "AAAA"
    assert get(instance, CREDS, forged)[0] == 401


def test_expired_token_is_401(env, store, clock) -> None:
    instance = make(env, store, clock)
    token = token_of(instance, "60")
    assert get(instance, CREDS, token)[0] == 200
    clock.advance(61)
    assert get(instance, CREDS, token)[0] == 401


def test_token_of_another_instance_is_401(env, store, clock) -> None:
    first = make(env, store, clock)
    second = make(env, store, clock, instance_id="i-0fedcba9876543210")
    assert get(second, CREDS, token_of(first))[0] == 401


# ------------------------------------------------------------------------------ paths


def test_listings_have_no_trailing_newline(env, store, clock) -> None:
    instance = make(env, store, clock)
    token = token_of(instance)
    status, body = get(instance, CREDS, token)
    assert (status, body) == (200, "AppServer")
    status, body = get(instance, "/latest/meta-data/", token)
    assert status == 200
    assert "iam/" in body.split("\n")
    assert not body.endswith("\n")
    assert get(instance, "/latest/meta-data/iam/", token) == (200, "info\nsecurity-credentials/")


@pytest.mark.parametrize(
    "path",
    [
        "/latest/meta-data/nope",
        "/latest/meta-data/iam/security-credentials/OtherRole",
        "/nope",
        "/latest/user-data",
    ],
)
def test_unknown_paths_are_404(env, store, clock, path) -> None:
    instance = make(env, store, clock)
    assert get(instance, path, token_of(instance))[0] == 404


def test_credentials_document_has_exact_fields(env, store, clock) -> None:
    instance = make(env, store, clock)
    status, body = get(instance, CREDS + "AppServer", token_of(instance))
    assert status == 200
    value = json.loads(body)
    assert list(value) == [
        "Code",
        "LastUpdated",
        "Type",
        "AccessKeyId",
        "SecretAccessKey",
        "Token",
        "Expiration",
    ]
    assert value["Code"] == "Success"
    assert value["Type"] == "AWS-HMAC"
    assert value["AccessKeyId"].startswith("ASIA")
    assert len(value["AccessKeyId"]) == 20
    assert len(value["SecretAccessKey"]) == 40
    assert STAMP.fullmatch(value["Expiration"])
    assert STAMP.fullmatch(value["LastUpdated"])
    assert datetime.strptime(value["Expiration"], "%Y-%m-%dT%H:%M:%SZ") == datetime(
        2024, 5, 1, 13, 0, 0
    )
    stored = store.get(value["AccessKeyId"])
    assert isinstance(stored, TemporaryCredential)
    assert stored.principal_arn == f"arn:aws:sts::111122223333:assumed-role/AppServer/{INSTANCE}"
    assert stored.session_token.reveal() == value["Token"]


def test_iam_info_and_identity_document(env, store, clock) -> None:
    instance = make(env, store, clock)
    token = token_of(instance)
    info = json.loads(get(instance, "/latest/meta-data/iam/info", token)[1])
    assert info["Code"] == "Success"
    assert info["InstanceProfileArn"] == "arn:aws:iam::111122223333:instance-profile/AppServer"
    assert info["InstanceProfileId"].startswith("AIPA")
    doc = json.loads(get(instance, "/latest/dynamic/instance-identity/document", token)[1])
    assert doc["accountId"] == "111122223333"
    assert doc["instanceId"] == INSTANCE
    assert doc["region"] == "us-east-1"


def test_head_has_no_body(env, store, clock) -> None:
    instance = make(env, store, clock)
    response = instance.handle("HEAD", CREDS, {"X-aws-ec2-metadata-token": token_of(instance)})
    assert response.status == 200
    assert response.body == b""
    assert ("Content-Length", "9") in response.headers


def test_profile_without_role_has_no_iam_paths(env, store, clock) -> None:
    env.accounts["111122223333"].create_instance_profile("Empty")
    instance = make(env, store, clock, profile="Empty")
    token = token_of(instance)
    assert get(instance, CREDS, token)[0] == 404
    assert get(instance, "/latest/meta-data/iam/info", token)[0] == 404
    assert "iam/" not in get(instance, "/latest/meta-data/", token)[1]


def test_role_not_trusting_ec2_reports_the_failure_like_imds(env, store, clock) -> None:
    instance = make(env, store, clock, profile="UntrustedProfile")
    status, body = get(instance, CREDS + "Untrusted", token_of(instance))
    assert status == 200
    value = json.loads(body)
    assert value["Code"] == "AssumeRoleUnauthorizedAccess"
    assert "EC2 cannot assume the role Untrusted" in value["Message"]
    assert "AccessKeyId" not in value
    assert store.list_for_principal("arn:aws:iam::111122223333:role/Untrusted") == []


# ------------------------------------------------------------------------------ session context


def session_of(instance: ImdsInstance, store: InMemoryCredentialStore, token: str | None) -> dict:
    """The request context the served credentials carry (through STS's identity)."""
    body = json.loads(get(instance, CREDS + "AppServer", token)[1])
    stored = store.get(body["AccessKeyId"])
    assert isinstance(stored, TemporaryCredential)
    return instance.sts.identity(stored).context()


def test_instance_credentials_carry_the_ec2_session_keys(env, store, clock) -> None:
    instance = make(env, store, clock, vpc_id="vpc-0123456789abcdef0", private_ip="10.1.2.3")
    ctx = session_of(instance, store, token_of(instance))
    assert ctx["ec2:SourceInstanceARN"] == (
        f"arn:aws:ec2:us-east-1:111122223333:instance/{INSTANCE}"
    )
    assert ctx["ec2:RoleDelivery"] == "2.0"
    assert ctx["aws:Ec2InstanceSourceVpc"] == "vpc-0123456789abcdef0"
    assert ctx["aws:Ec2InstanceSourcePrivateIPv4"] == "10.1.2.3"
    assert instance.session_context() == {k: ctx[k] for k in instance.session_context()}


def test_vpc_and_private_ip_keys_are_absent_when_the_instance_has_none(env, store, clock) -> None:
    instance = make(env, store, clock, private_ip=None)
    token = token_of(instance)
    ctx = session_of(instance, store, token)
    assert "aws:Ec2InstanceSourceVpc" not in ctx
    assert "aws:Ec2InstanceSourcePrivateIPv4" not in ctx
    assert ctx["ec2:RoleDelivery"] == "2.0"
    assert get(instance, "/latest/meta-data/local-ipv4", token)[0] == 404
    assert "local-ipv4" not in get(instance, "/latest/meta-data/", token)[1]
    assert get(instance, "/latest/meta-data/hostname", token)[1] == f"{INSTANCE}.ec2.internal"


def test_imdsv1_and_imdsv2_requests_get_their_own_credentials(env, store, clock) -> None:
    instance = make(env, store, clock, allow_v1=True)

    def key(token: str | None) -> str:
        return json.loads(get(instance, CREDS + "AppServer", token)[1])["AccessKeyId"]

    v2 = session_of(instance, store, token_of(instance))
    v1 = session_of(instance, store, None)
    assert (v2["ec2:RoleDelivery"], v1["ec2:RoleDelivery"]) == ("2.0", "1.0")
    v1_key, v2_key = key(None), key(token_of(instance))
    assert v1_key != v2_key
    assert key(None) == v1_key  # each set is stable until it rotates
    instance.rotate()  # rotates both sets
    rotated = key(None), key(token_of(instance))
    assert not {v1_key, v2_key} & set(rotated)
    before = instance.rotations
    clock.advance(3600 - 60)  # inside both refresh windows: the timer renews both sets
    assert instance.refresh_if_due()
    assert instance.rotations == before + 2


def test_a_policy_condition_on_the_instance_keys_sees_them(env, store, clock) -> None:
    arn = f"arn:aws:ec2:us-east-1:111122223333:instance/{INSTANCE}"
    env.accounts["111122223333"].put_inline_policy(
        "role",
        "AppServer",
        "OnlyThisInstanceOverImdsV2",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Deny",
                    "Action": "*",
                    "Resource": "*",
                    "Condition": {"StringNotEquals": {"ec2:SourceInstanceARN": arn}},
                },
                {
                    "Effect": "Deny",
                    "Action": "*",
                    "Resource": "*",
                    "Condition": {"NumericLessThan": {"ec2:RoleDelivery": "2.0"}},
                },
            ],
        },
    )
    this = make(env, store, clock, allow_v1=True)
    other = make(env, store, clock, instance_id="i-0fedcba9876543210")
    target = "arn:aws:s3:::app-data/hello.txt"

    def decide(instance: ImdsInstance, token: str | None) -> bool:
        body = json.loads(get(instance, CREDS + "AppServer", token)[1])
        stored = store.get(body["AccessKeyId"])
        assert isinstance(stored, TemporaryCredential)
        identity = instance.sts.identity(stored)
        return instance.sts.authorize(identity, "s3:GetObject", target).allowed

    assert decide(this, token_of(this))
    assert not decide(this, None)  # IMDSv1 delivery
    assert not decide(other, token_of(other))  # another instance


def test_bad_vpc_id_and_private_ip_are_refused(env, store, clock) -> None:
    with pytest.raises(ImdsError, match="invalid VPC id"):
        make(env, store, clock, vpc_id="vpc-12")
    with pytest.raises(ImdsError, match="invalid private IPv4"):
        make(env, store, clock, private_ip="10.0.0.300")


# ------------------------------------------------------------------------------ rotation


def current_key(instance: ImdsInstance) -> tuple[str, datetime]:
    body = json.loads(get(instance, CREDS + "AppServer", token_of(instance))[1])
    expires = datetime.strptime(body["Expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return body["AccessKeyId"], expires


def test_credentials_rotate_at_least_five_minutes_before_expiry(env, store, clock) -> None:
    instance = make(env, store, clock)
    first, expires = current_key(instance)
    assert instance.refresh_margin >= timedelta(minutes=5)
    clock.set(expires - instance.refresh_margin - timedelta(seconds=1))
    assert current_key(instance)[0] == first  # not yet due
    clock.advance(2)
    second, _ = current_key(instance)
    assert second != first
    assert expires - clock() >= timedelta(minutes=5)
    old = store.get(first)
    assert old is not None
    assert not old.is_expired(clock())  # the old one still works until it expires


def test_a_client_never_gets_expired_credentials(env, store, clock) -> None:
    instance = make(env, store, clock)
    _, expires = current_key(instance)
    clock.set(expires + timedelta(hours=5))
    _, later = current_key(instance)
    assert later > clock()


def test_forced_rotation_publishes_new_credentials(env, store, clock) -> None:
    instance = make(env, store, clock)
    first, _ = current_key(instance)
    instance.rotate()
    second, _ = current_key(instance)
    assert second != first
    assert store.get(first) is not None


def test_failed_refresh_keeps_valid_credentials_and_never_serves_expired(env, store, clock) -> None:
    instance = make(env, store, clock)
    first, expires = current_key(instance)
    env.accounts["111122223333"].update_assume_role_policy(
        "AppServer",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        },
    )
    clock.set(expires - timedelta(minutes=6))  # inside the refresh window: refresh fails
    assert current_key(instance)[0] == first
    clock.set(expires)
    body = json.loads(get(instance, CREDS + "AppServer", token_of(instance))[1])
    assert body["Code"] == "AssumeRoleUnauthorizedAccess"
    assert "AccessKeyId" not in body


def test_credential_ttl_is_capped_by_the_role(env, store, clock) -> None:
    instance = make(env, store, clock, credential_ttl=43200)
    assert instance.credential_ttl == 3600  # AppServer's MaxSessionDuration


# ------------------------------------------------------------------------------ configuration


def test_bad_instance_id_is_refused(env, store, clock) -> None:
    with pytest.raises(ImdsError, match="invalid instance id"):
        make(env, store, clock, instance_id="web-1")


def test_unknown_profile_lists_the_known_ones(env) -> None:
    with pytest.raises(ImdsError) as caught:
        find_profile(env, "Nope")
    assert caught.value.hint is not None
    assert "111122223333:AppServer" in caught.value.hint


def test_profile_by_arn_and_qualified_name(env) -> None:
    arn = "arn:aws:iam::111122223333:instance-profile/AppServer"
    assert find_profile(env, arn)[1].arn == arn
    assert find_profile(env, "111122223333:appserver")[1].arn == arn


def test_every_issued_token_verifies(env, store, clock) -> None:
    # Regression: the binary MAC may contain the separator byte.
    instance = make(env, store, clock)
    tokens = [token_of(instance) for _ in range(400)]
    assert all(instance.token_valid(t) for t in tokens)
    assert len(set(tokens)) == len(tokens)


def test_cli_builds_one_instance_per_profile_with_a_role_by_default(env, store, clock) -> None:
    from policylang.cli.imds_cmd import build_instances, instance_id_for

    sts = StsService(env, store, clock=clock)
    options = {"allow_v1": False, "credential_ttl": 3600, "refresh_margin": 900, "region": "eu"}
    built = build_instances(env, sts, [], **options)  # type: ignore[arg-type]
    assert sorted(i.profile.name for i in built) == ["AppServer", "UntrustedProfile"]
    app = next(i for i in built if i.profile.name == "AppServer")
    assert app.instance_id == instance_id_for(app.profile.arn)
    assert app.region == "eu"
    with pytest.raises(ImdsError, match="bad --instance"):
        build_instances(env, sts, ["AppServer"], **options)  # type: ignore[arg-type]
    with pytest.raises(ImdsError, match="given twice"):
        build_instances(env, sts, [f"{INSTANCE}=AppServer"] * 2, **options)  # type: ignore[arg-type]


def test_cli_passes_vpc_id_and_private_ip_to_every_instance(env, store, clock) -> None:
    from policylang.cli.imds_cmd import DEFAULT_PRIVATE_IP, build_instances

    sts = StsService(env, store, clock=clock)
    options = {"allow_v1": False, "credential_ttl": 3600, "refresh_margin": 900, "region": "eu"}
    built = build_instances(env, sts, [], vpc_id="vpc-0123456789abcdef0", private_ip=None,
                            **options)  # type: ignore[arg-type]
    assert {(i.vpc_id, i.private_ip) for i in built} == {("vpc-0123456789abcdef0", None)}
    default = build_instances(env, sts, [], **options)  # type: ignore[arg-type]
    assert {(i.vpc_id, i.private_ip) for i in default} == {(None, DEFAULT_PRIVATE_IP)}
    with pytest.raises(ImdsError, match="invalid VPC id"):
        build_instances(env, sts, [], vpc_id="vpc-12", **options)  # type: ignore[arg-type]


def test_cli_parses_vpc_id_and_private_ip() -> None:
    from policylang.cli import build_parser
    from policylang.cli.imds_cmd import DEFAULT_PRIVATE_IP

    parser = build_parser()
    args = parser.parse_args(["imds", "--account", "a.json", "--vpc-id", "vpc-0123456789abcdef0",
                              "--private-ip", "10.1.2.3"])
    assert (args.vpc_id, args.private_ip) == ("vpc-0123456789abcdef0", "10.1.2.3")
    args = parser.parse_args(["imds", "--account", "a.json"])
    assert (args.vpc_id, args.private_ip) == (None, DEFAULT_PRIVATE_IP)
