"""The verifier against botocore's real signers (SigV4Auth, S3SigV4Auth and their query forms).

botocore is the oracle: whatever it signs must verify, and any change to a signed part of what
it sent must be refused with the right AWS error.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from unittest import mock
from urllib.parse import quote, urlsplit

import pytest
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSPreparedRequest, AWSRequest, AWSResponse
from botocore.client import BaseClient
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from policylang.auth import (
    AccessKey,
    FixedClock,
    HttpRequest,
    InMemoryCredentialStore,
    KeyStatus,
    LastUsed,
    SigV4Config,
    SigV4Verifier,
    TemporaryCredential,
    VerifiedRequest,
    create_access_key,
    create_temporary_credential,
    system_clock,
)
from policylang.errors import AuthError

pytestmark = pytest.mark.integration

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
USER_ARN = "arn:aws:iam::123456789012:user/alice"
SESSION_ARN = "arn:aws:sts::123456789012:assumed-role/Ops/alice"
ROLE_ARN = "arn:aws:iam::123456789012:role/ops/Ops"

KEY = AccessKey(
    access_key_id="AKIAQ3EGRQWQ2JFDYEVT",
    secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLE01",
    principal_arn=USER_ARN,
    principal_id="AIDAQ3EGRQWQ2JFDYEVT7",
    created=NOW - timedelta(days=30),
)
INACTIVE = AccessKey(
    access_key_id="AKIAQ3EGRQWQINACTIVE",
    secret_access_key="x" * 40,
    principal_arn=USER_ARN,
    created=NOW - timedelta(days=30),
    status=KeyStatus.INACTIVE,
)
SESSION = TemporaryCredential(
    access_key_id="ASIAQ3EGRQWQ6SESSION",
    secret_access_key="s3cr3tSessionKey/0123456789abcdefghijklm",
    session_token="FwoGZXIvYXdzEBaaDOPAQUE+token/value==" * 4,
    principal_arn=SESSION_ARN,
    principal_id="AROAQ3EGRQWQ2ROLEID:alice",
    source_arn=ROLE_ARN,
    issued_at=NOW - timedelta(minutes=20),
    expiration=NOW + timedelta(minutes=40),
    mfa_authenticated_at=NOW - timedelta(minutes=25),
)
EXPIRED = TemporaryCredential(
    access_key_id="ASIAQ3EGRQWQ6EXPIRED",
    secret_access_key="y" * 40,
    session_token="expired-token-value",
    principal_arn=SESSION_ARN,
    issued_at=NOW - timedelta(hours=2),
    expiration=NOW - timedelta(hours=1),
)
ALL = (KEY, INACTIVE, SESSION, EXPIRED)


def botocore_credentials(credential: AccessKey | TemporaryCredential) -> Credentials:
    token = (
        credential.session_token.reveal() if isinstance(credential, TemporaryCredential) else None
    )
    return Credentials(credential.access_key_id, credential.secret_access_key.reveal(), token)


def make_store() -> InMemoryCredentialStore:
    store = InMemoryCredentialStore()
    for credential in ALL:
        store.put(credential)
    return store


@pytest.fixture
def store() -> InMemoryCredentialStore:
    return make_store()


def sign(
    signer: SigV4Auth,
    method: str,
    url: str,
    *,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    at: datetime = NOW,
) -> AWSPreparedRequest:
    request = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    # botocore reads the time through this function; pin it to `at`.
    with mock.patch("botocore.auth.get_current_datetime", return_value=at.replace(tzinfo=None)):
        signer.add_auth(request)
    return request.prepare()


def to_http(
    prepared: AWSPreparedRequest, body: bytes | None = None, **options: object
) -> HttpRequest:
    """What a server would see: the wire URL, headers plus the Host the client sends."""
    parts = urlsplit(prepared.url)
    headers = [("Host", parts.netloc), *prepared.headers.items()]
    if body is None:
        body = prepared.body if isinstance(prepared.body, bytes) else (prepared.body or "").encode()
    return HttpRequest(
        prepared.method,
        parts.path,
        parts.query,
        headers,
        body,
        secure=parts.scheme == "https",
        **options,  # type: ignore[arg-type]
    )


def verifier_for(
    store: InMemoryCredentialStore, service: str, regions: str | set[str], **options: object
) -> SigV4Verifier:
    config = SigV4Config.for_service(service, regions, **options)
    return SigV4Verifier(store, config, FixedClock(NOW))


# --- accepted requests ------------------------------------------------------------------------

FORM = "application/x-www-form-urlencoded; charset=utf-8"
CASES = [
    # id, signer class, service, region, method, url, body, headers
    ("sts-post-form", SigV4Auth, "sts", "us-east-1", "POST", "https://sts.amazonaws.com/",
     b"Action=GetCallerIdentity&Version=2011-06-15", {"Content-Type": FORM}),
    ("sts-regional-get-query", SigV4Auth, "sts", "eu-west-1", "GET",
     "https://sts.eu-west-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15", b"", {}),
    ("iam-post", SigV4Auth, "iam", "us-east-1", "POST", "https://iam.amazonaws.com/",
     b"Action=ListUsers&Version=2010-05-08&PathPrefix=%2Fdev%2F", {"Content-Type": FORM}),
    ("dynamodb-json", SigV4Auth, "dynamodb", "us-west-2", "POST",
     "https://dynamodb.us-west-2.amazonaws.com/", b'{"TableName":"t\\u00e9st"}',
     {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.GetItem"}),
    ("execute-api-reserved-and-unicode", SigV4Auth, "execute-api", "ap-southeast-2", "GET",
     "https://abc123.execute-api.ap-southeast-2.amazonaws.com/prod/items/a%20b/%C3%A9t%C3%A9/"
     "x%2Fy/%21%24%26%27%28%29%2A%2B%2C%3B%3D%3A%40?q=hello%20world&tag=%E2%9C%93&empty=&a=2&a=1"
     "&sp%C3%A9cial=%2B%26%3D", b"", {"X-Api-Trace": "  spaced   value  "}),
    ("execute-api-put-dot-segments", SigV4Auth, "execute-api", "us-east-1", "PUT",
     "https://api.example.com/v1/./things/../things/42/", b'{"name":"\xe2\x9c\x93"}',
     {"Content-Type": "application/json"}),
    ("s3-put-object", S3SigV4Auth, "s3", "us-east-1", "PUT",
     "https://bucket.s3.amazonaws.com/dir/key%20with%20space/caf%C3%A9%2Bx~y.txt",
     b"hello object", {"Content-Type": "text/plain", "x-amz-meta-owner": "alice"}),
    ("s3-list-objects", S3SigV4Auth, "s3", "eu-central-1", "GET",
     "https://s3.eu-central-1.amazonaws.com/bucket?list-type=2&prefix=a%2Fb&delimiter=%2F", b"",
     {}),
    ("s3-double-slash-key", S3SigV4Auth, "s3", "us-west-2", "GET",
     "https://bucket.s3.us-west-2.amazonaws.com/a//b/./c", b"", {}),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("credential", [KEY, SESSION], ids=["long-term", "session"])
def test_botocore_signed_request_verifies(
    store: InMemoryCredentialStore, case: tuple, credential: AccessKey | TemporaryCredential
) -> None:
    _, signer_cls, service, region, method, url, body, headers = case
    signer = signer_cls(botocore_credentials(credential), service, region)
    prepared = sign(signer, method, url, body=body, headers=headers)

    result = verifier_for(store, service, region).verify(to_http(prepared))

    assert result.access_key_id == credential.access_key_id
    assert result.principal_arn == credential.principal_arn
    assert result.service == service
    assert result.context["aws:RequestedRegion"] == region
    assert result.presigned is False


PRESIGNED = [
    ("sts-get-caller-identity", SigV4QueryAuth, "sts", "us-east-1",
     "https://sts.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15"),
    ("execute-api", SigV4QueryAuth, "execute-api", "eu-west-2",
     "https://abc.execute-api.eu-west-2.amazonaws.com/stage/r%C3%A9sum%C3%A9?x=%20y"),
    ("s3-get-object", S3SigV4QueryAuth, "s3", "us-east-1",
     "https://bucket.s3.amazonaws.com/photos/2024/caf%C3%A9%20%26%20bar.jpg"),
    ("s3-regional", S3SigV4QueryAuth, "s3", "ap-northeast-1",
     "https://bucket.s3.ap-northeast-1.amazonaws.com/k?versionId=3%2FL4kqtJlcpXroDTDmJ%2BrmSpXd3dIbrHY"),
]  # fmt: skip


@pytest.mark.parametrize("case", PRESIGNED, ids=[c[0] for c in PRESIGNED])
@pytest.mark.parametrize("credential", [KEY, SESSION], ids=["long-term", "session"])
def test_botocore_presigned_url_verifies_until_it_expires(
    store: InMemoryCredentialStore, case: tuple, credential: AccessKey | TemporaryCredential
) -> None:
    _, signer_cls, service, region, url = case
    signer = signer_cls(botocore_credentials(credential), service, region, expires=600)
    http = to_http(sign(signer, "GET", url))
    verifier = verifier_for(store, service, region)

    result = verifier.verify(http)
    assert isinstance(verifier.clock, FixedClock)
    verifier.clock.advance(timedelta(seconds=601))
    with pytest.raises(AuthError) as caught:
        verifier.verify(http)

    assert result.presigned is True
    assert result.access_key_id == credential.access_key_id
    assert caught.value.aws_error == "AccessDenied"
    assert caught.value.message == "Request has expired"


def test_presigned_url_is_valid_at_its_last_second(store: InMemoryCredentialStore) -> None:
    signer = S3SigV4QueryAuth(botocore_credentials(KEY), "s3", "us-east-1", expires=60)
    http = to_http(sign(signer, "GET", "https://b.s3.amazonaws.com/k"))
    verifier = verifier_for(store, "s3", "us-east-1")
    assert isinstance(verifier.clock, FixedClock)
    verifier.clock.advance(60)

    assert verifier.verify(http).presigned is True


def test_session_credentials_yield_session_context_keys(store: InMemoryCredentialStore) -> None:
    signer = SigV4Auth(botocore_credentials(SESSION), "sts", "us-east-1")
    prepared = sign(signer, "POST", "https://sts.amazonaws.com/", body=b"Action=GetCallerIdentity",
                    headers={"User-Agent": "Boto3/1.34 test"})  # fmt: skip

    result = verifier_for(store, "sts", "us-east-1").verify(
        to_http(prepared, peer_address="203.0.113.7")
    )

    assert result.principal_id == "AROAQ3EGRQWQ2ROLEID:alice"
    assert dict(result.context) == {
        "aws:CurrentTime": "2024-05-01T12:00:00Z",
        "aws:EpochTime": str(int(NOW.timestamp())),
        "aws:SecureTransport": "true",
        "aws:SourceIp": "203.0.113.7",
        "aws:UserAgent": "Boto3/1.34 test",
        "aws:RequestedRegion": "us-east-1",
        "aws:TokenIssueTime": "2024-05-01T11:40:00Z",
        "aws:MultiFactorAuthPresent": "true",
        "aws:MultiFactorAuthAge": "1500",
    }


def test_long_term_key_has_no_mfa_keys_and_records_last_use(
    store: InMemoryCredentialStore,
) -> None:
    signer = SigV4Auth(botocore_credentials(KEY), "dynamodb", "us-west-2")
    prepared = sign(signer, "POST", "http://dynamodb.us-west-2.amazonaws.com/", body=b"{}")

    result = verifier_for(store, "dynamodb", "us-west-2").verify(to_http(prepared))
    stored = store.get(KEY.access_key_id)

    assert result.context["aws:SecureTransport"] == "false"
    assert "aws:MultiFactorAuthPresent" not in result.context
    assert "aws:TokenIssueTime" not in result.context
    assert isinstance(stored, AccessKey)
    assert stored.last_used is not None
    assert (stored.last_used.date, stored.last_used.service, stored.last_used.region) == (
        NOW, "dynamodb", "us-west-2"
    )  # fmt: skip


def test_global_endpoint_accepting_several_regions(store: InMemoryCredentialStore) -> None:
    verifier = verifier_for(store, "sts", {"us-east-1", "eu-west-1"})
    for region in ("us-east-1", "eu-west-1"):
        signer = SigV4Auth(botocore_credentials(KEY), "sts", region)
        result = verifier.verify(to_http(sign(signer, "GET", "https://sts.amazonaws.com/?A=1")))
        assert result.region == region


# --- refused requests -------------------------------------------------------------------------


def refuse(verifier: SigV4Verifier, http: HttpRequest) -> AuthError:
    with pytest.raises(AuthError) as caught:
        verifier.verify(http)
    return caught.value


def sts_request(
    credential: AccessKey | TemporaryCredential, *, region: str = "us-east-1",
    service: str = "sts", at: datetime = NOW,
) -> HttpRequest:  # fmt: skip
    signer = SigV4Auth(botocore_credentials(credential), service, region)
    return to_http(sign(signer, "POST", "https://sts.amazonaws.com/", body=b"Action=X", at=at))


def test_expired_session_token_is_expired_token(store: InMemoryCredentialStore) -> None:
    error = refuse(verifier_for(store, "sts", "us-east-1"), sts_request(EXPIRED))

    assert (error.aws_error, error.status) == ("ExpiredToken", 403)
    assert error.message == "The security token included in the request is expired"


def test_inactive_key_is_invalid_client_token_id(store: InMemoryCredentialStore) -> None:
    error = refuse(verifier_for(store, "sts", "us-east-1"), sts_request(INACTIVE))

    assert (error.aws_error, error.status) == ("InvalidClientTokenId", 403)
    assert error.message == "The security token included in the request is invalid."


def test_unknown_key_is_invalid_client_token_id_whatever_the_signature() -> None:
    empty = InMemoryCredentialStore()

    error = refuse(verifier_for(empty, "sts", "us-east-1"), sts_request(KEY))

    assert error.aws_error == "InvalidClientTokenId"


def test_deleted_key_stops_working(store: InMemoryCredentialStore) -> None:
    verifier = verifier_for(store, "sts", "us-east-1")
    http = sts_request(KEY)
    verifier.verify(http)
    store.delete(KEY.access_key_id)

    assert refuse(verifier, http).aws_error == "InvalidClientTokenId"


def test_session_key_without_its_token_is_invalid(store: InMemoryCredentialStore) -> None:
    creds = Credentials(SESSION.access_key_id, SESSION.secret_access_key.reveal())
    http = to_http(sign(SigV4Auth(creds, "sts", "us-east-1"), "GET", "https://sts.amazonaws.com/"))

    assert refuse(verifier_for(store, "sts", "us-east-1"), http).aws_error == "InvalidClientTokenId"


def test_session_key_with_another_token_is_invalid(store: InMemoryCredentialStore) -> None:
    creds = Credentials(SESSION.access_key_id, SESSION.secret_access_key.reveal(), "forged")
    sts_http = to_http(
        sign(SigV4Auth(creds, "sts", "us-east-1"), "GET", "https://sts.amazonaws.com/")
    )
    s3_http = to_http(
        sign(S3SigV4Auth(creds, "s3", "us-east-1"), "GET", "https://b.s3.amazonaws.com/")
    )

    sts_error = refuse(verifier_for(store, "sts", "us-east-1"), sts_http)
    s3_error = refuse(verifier_for(store, "s3", "us-east-1"), s3_http)

    assert (sts_error.aws_error, sts_error.status) == ("InvalidClientTokenId", 403)
    assert (s3_error.aws_error, s3_error.status) == ("InvalidToken", 400)


def test_long_term_key_with_a_session_token_is_invalid(store: InMemoryCredentialStore) -> None:
    creds = Credentials(KEY.access_key_id, KEY.secret_access_key.reveal(), "some-token")
    http = to_http(sign(SigV4Auth(creds, "sts", "us-east-1"), "GET", "https://sts.amazonaws.com/"))

    assert refuse(verifier_for(store, "sts", "us-east-1"), http).aws_error == "InvalidClientTokenId"


def test_wrong_region_is_refused_before_lookup() -> None:
    empty = InMemoryCredentialStore()  # an unknown key would be InvalidClientTokenId

    error = refuse(verifier_for(empty, "sts", "us-east-1"), sts_request(KEY, region="eu-west-3"))

    assert (error.aws_error, error.status) == ("SignatureDoesNotMatch", 403)
    assert error.message == "Credential should be scoped to a valid region. "


def test_wrong_region_and_service_messages_concatenate(store: InMemoryCredentialStore) -> None:
    http = sts_request(KEY, region="eu-west-3", service="iam")

    error = refuse(verifier_for(store, "sts", "us-east-1"), http)

    assert error.message == (
        "Credential should be scoped to a valid region. "
        "Credential should be scoped to correct service: 'sts'. "
    )


def test_s3_wrong_region_is_authorization_header_malformed(
    store: InMemoryCredentialStore,
) -> None:
    signer = S3SigV4Auth(botocore_credentials(KEY), "s3", "us-west-2")
    http = to_http(sign(signer, "GET", "https://b.s3.amazonaws.com/k"))

    error = refuse(verifier_for(store, "s3", "us-east-1"), http)

    assert (error.aws_error, error.status) == ("AuthorizationHeaderMalformed", 400)
    assert "the region 'us-west-2' is wrong; expecting 'us-east-1'" in error.message


@pytest.mark.parametrize(
    ("offset", "message"),
    [
        (timedelta(minutes=-6), "Signature expired: 20240501T115400Z is now earlier than "
                                "20240501T115500Z (20240501T120000Z - 5 min.)"),
        (timedelta(minutes=6), "Signature not yet current: 20240501T120600Z is still later than "
                               "20240501T120500Z (20240501T120000Z + 5 min.)"),
    ],
)  # fmt: skip
def test_clock_skew_beyond_five_minutes_is_refused(
    store: InMemoryCredentialStore, offset: timedelta, message: str
) -> None:
    error = refuse(verifier_for(store, "sts", "us-east-1"), sts_request(KEY, at=NOW + offset))

    assert (error.aws_error, error.status, error.message) == ("SignatureDoesNotMatch", 403, message)
    assert error.code == "auth.request-time-skewed"


def test_clock_skew_within_the_window_is_accepted(store: InMemoryCredentialStore) -> None:
    verifier = verifier_for(store, "sts", "us-east-1")

    for minutes in (-5, 5):
        verifier.verify(sts_request(KEY, at=NOW + timedelta(minutes=minutes)))


@pytest.mark.parametrize(
    ("service", "expected"),
    [("dynamodb", ("InvalidSignatureException", 400)), ("ec2", ("RequestExpired", 400))],
)
def test_clock_skew_codes_follow_the_service_protocol(
    store: InMemoryCredentialStore, service: str, expected: tuple[str, int]
) -> None:
    signer = SigV4Auth(botocore_credentials(KEY), service, "us-east-1")
    http = to_http(sign(signer, "POST", f"https://{service}.amazonaws.com/", body=b"{}",
                        at=NOW - timedelta(minutes=10)))  # fmt: skip

    error = refuse(verifier_for(store, service, "us-east-1"), http)

    assert (error.aws_error, error.status) == expected


def test_s3_allows_fifteen_minutes_then_says_request_time_too_skewed(
    store: InMemoryCredentialStore,
) -> None:
    signer = S3SigV4Auth(botocore_credentials(KEY), "s3", "us-east-1")
    verifier = verifier_for(store, "s3", "us-east-1")
    ok = to_http(
        sign(signer, "GET", "https://b.s3.amazonaws.com/k", at=NOW - timedelta(minutes=14))
    )
    late = to_http(
        sign(signer, "GET", "https://b.s3.amazonaws.com/k", at=NOW - timedelta(minutes=16))
    )

    verifier.verify(ok)
    error = refuse(verifier, late)

    assert (error.aws_error, error.status) == ("RequestTimeTooSkewed", 403)


def test_s3_unknown_key_and_expired_token_use_s3_codes(store: InMemoryCredentialStore) -> None:
    verifier = verifier_for(store, "s3", "us-east-1")
    for credential, expected in ((EXPIRED, ("ExpiredToken", 400)),
                                 (INACTIVE, ("InvalidAccessKeyId", 403))):  # fmt: skip
        signer = S3SigV4Auth(botocore_credentials(credential), "s3", "us-east-1")
        error = refuse(verifier, to_http(sign(signer, "GET", "https://b.s3.amazonaws.com/k")))
        assert (error.aws_error, error.status) == expected


def test_s3_body_not_matching_declared_hash_is_refused(store: InMemoryCredentialStore) -> None:
    signer = S3SigV4Auth(botocore_credentials(KEY), "s3", "us-east-1")
    http = to_http(sign(signer, "PUT", "https://b.s3.amazonaws.com/k", body=b"original"))
    tampered = HttpRequest(http.method, http.path, http.query, http.headers, b"tampered")

    error = refuse(verifier_for(store, "s3", "us-east-1"), tampered)

    assert (error.aws_error, error.status) == ("XAmzContentSHA256Mismatch", 400)


def test_s3_unsigned_amz_header_is_refused(store: InMemoryCredentialStore) -> None:
    signer = S3SigV4Auth(botocore_credentials(KEY), "s3", "us-east-1")
    http = to_http(sign(signer, "GET", "https://b.s3.amazonaws.com/k"))
    smuggled = HttpRequest(
        http.method, http.path, http.query, [*http.headers, ("x-amz-acl", "public-read")]
    )

    error = refuse(verifier_for(store, "s3", "us-east-1"), smuggled)

    assert (error.aws_error, error.status) == ("AccessDenied", 403)
    assert "x-amz-acl" in error.message


def test_unsigned_payload_verifies_with_any_body(store: InMemoryCredentialStore) -> None:
    signer = S3SigV4Auth(botocore_credentials(KEY), "s3", "us-east-1")
    request = AWSRequest(method="PUT", url="https://b.s3.amazonaws.com/k", data=b"x")
    request.context["client_config"] = mock.Mock(s3={"payload_signing_enabled": False})
    request.headers["Content-MD5"] = "unused"
    with mock.patch("botocore.auth.get_current_datetime", return_value=NOW.replace(tzinfo=None)):
        signer.add_auth(request)
    http = to_http(request.prepare())
    other_body = HttpRequest(http.method, http.path, http.query, http.headers, b"other")

    result = verifier_for(store, "s3", "us-east-1").verify(other_body)

    assert http.header("x-amz-content-sha256") == "UNSIGNED-PAYLOAD"
    assert result.body == b"other"


def test_missing_authentication_is_reported() -> None:
    verifier = verifier_for(InMemoryCredentialStore(), "sts", "us-east-1")

    error = refuse(verifier, HttpRequest("GET", "/", "Action=X", [("Host", "sts.amazonaws.com")]))

    assert (error.aws_error, error.status) == ("MissingAuthenticationToken", 403)
    assert error.message == "Request is missing Authentication Token"


def test_anonymous_requests_pass_when_allowed() -> None:
    verifier = verifier_for(InMemoryCredentialStore(), "s3", "us-east-1", allow_anonymous=True)

    result = verifier.verify(HttpRequest("GET", "/b/k", "", [("Host", "s3.amazonaws.com")]))

    assert result.anonymous
    assert result.context["aws:SecureTransport"] == "true"


def test_header_and_query_authentication_together_are_refused(
    store: InMemoryCredentialStore,
) -> None:
    signer = SigV4QueryAuth(botocore_credentials(KEY), "sts", "us-east-1")
    presigned = to_http(sign(signer, "GET", "https://sts.amazonaws.com/?Action=X"))
    both = HttpRequest(
        "GET", presigned.path, presigned.query,
        [*presigned.headers, ("Authorization", "AWS4-HMAC-SHA256 Credential=x")],
    )  # fmt: skip

    assert refuse(verifier_for(store, "sts", "us-east-1"), both).aws_error == (
        "SignatureDoesNotMatch"
    )


def test_failures_never_log_or_print_secrets(
    store: InMemoryCredentialStore, caplog: pytest.LogCaptureFixture
) -> None:
    secrets = [SESSION.secret_access_key.reveal(), SESSION.session_token.reveal()]
    creds = Credentials(SESSION.access_key_id, secrets[0], secrets[1])
    http = to_http(sign(SigV4Auth(creds, "sts", "us-east-1"), "GET", "https://sts.amazonaws.com/"))
    signature = http.header("authorization").rsplit("=", 1)[1]  # type: ignore[union-attr]
    tampered = HttpRequest("POST", http.path, http.query, http.headers)
    caplog.set_level(logging.DEBUG)

    error = refuse(verifier_for(store, "sts", "us-east-1"), tampered)
    result = verifier_for(store, "sts", "us-east-1").verify(http)
    error_texts = [str(error), repr(error), error.render(), caplog.text]
    result_texts = [repr(result), str(result), repr(result.credential)]

    for text in error_texts:
        for secret in [*secrets, signature, SESSION.access_key_id]:
            assert secret not in text
    for text in result_texts:  # the key id may show here: it is not a secret
        for secret in [*secrets, signature]:
            assert secret not in text


# --- property: any change to a signed part is refused -----------------------------------------

SERVICES = [("sts", "us-east-1", SigV4Auth), ("execute-api", "eu-west-1", SigV4Auth),
            ("dynamodb", "ap-south-1", SigV4Auth), ("s3", "us-east-1", S3SigV4Auth)]  # fmt: skip
TEXT = st.text(
    alphabet=st.sampled_from(list("abcXYZ019-_.~ !$&'()*+,;=:@/%?#é✓ሴ")), min_size=1, max_size=6
)
PRINTABLE = [chr(c) for c in range(33, 127)]
SIG_CODES = {"auth.signature-does-not-match"}
PART_CODES = {
    "method": SIG_CODES,
    "path": SIG_CODES | {"auth.invalid-uri-path"},
    "query": SIG_CODES | {"auth.malformed-query-string"},
    "header": SIG_CODES,
    "host": SIG_CODES,
    "body": SIG_CODES | {"auth.content-sha256-mismatch"},
    "signature": SIG_CODES,
    "date": SIG_CODES | {"auth.incomplete-signature", "auth.credential-scope-mismatch",
                         "auth.request-time-skewed"},
    "scope": {"auth.incomplete-signature", "auth.credential-scope-mismatch",
              "auth.invalid-client-token-id"},
}  # fmt: skip


@st.composite
def signed_requests(draw: st.DrawFn) -> tuple[SigV4Verifier, HttpRequest]:
    service, region, signer_cls = draw(st.sampled_from(SERVICES))
    credential = draw(st.sampled_from([KEY, SESSION]))
    method = draw(st.sampled_from(["GET", "POST", "PUT", "DELETE"]))
    segments = draw(st.lists(TEXT.filter(lambda s: s not in (".", "..")), min_size=0, max_size=4))
    path = "/" + "/".join(quote(s, safe="") for s in segments)
    params = draw(st.lists(st.tuples(TEXT, st.text(max_size=5)), max_size=4))
    query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in params)
    body = draw(st.binary(max_size=40))
    header = draw(st.text(alphabet=st.sampled_from(list("abc XYZ,;=")), min_size=1, max_size=12))
    host = f"svc.{region}.amazonaws.com"
    url = f"https://{host}{path}" + (f"?{query}" if query else "")
    signer = signer_cls(botocore_credentials(credential), service, region)
    prepared = sign(signer, method, url, body=body, headers={"X-Custom": header.strip() or "v"})
    return verifier_for(make_store(), service, region), to_http(prepared)


def flip_char(text: str, index: int, replacement: str) -> str:
    return text[:index] + replacement + text[index + 1 :]


def in_escape(text: str, index: int) -> bool:
    return "%" in (text[max(0, index - 2) : index])


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(data=st.data(), signed=signed_requests())
def test_changing_any_signed_part_is_refused(
    data: st.DataObject, signed: tuple[SigV4Verifier, HttpRequest]
) -> None:
    verifier, http = signed
    verifier.verify(http)  # botocore's request as sent verifies

    part = data.draw(st.sampled_from(sorted(PART_CODES)), label="part")
    headers = list(http.headers)
    method, path, query, body = http.method, http.path, http.query, http.body or b""
    auth_index = next(i for i, (n, _) in enumerate(headers) if n.lower() == "authorization")
    authorization = headers[auth_index][1]

    def pick(text: str) -> tuple[int, str]:
        assume(text)
        index = data.draw(st.integers(0, len(text) - 1), label="index")
        replacement = data.draw(st.sampled_from(PRINTABLE), label="char")
        assume(replacement != text[index])
        # Hex digits of a %XX escape are case-insensitive once decoded: not a change.
        assume(not (in_escape(text, index) and replacement.lower() == text[index].lower()))
        return index, replacement

    def replace_header(name: str, change: str) -> None:
        i = next(i for i, (n, _) in enumerate(headers) if n.lower() == name)
        headers[i] = (headers[i][0], change)

    if part == "method":
        method = flip_char(method, *pick(method))
    elif part == "path":
        path = flip_char(path, *pick(path))
    elif part == "query":
        query = flip_char(query, *pick(query))
    elif part in ("header", "host", "date"):
        name = {"header": "x-custom", "host": "host", "date": "x-amz-date"}[part]
        value = http.header(name) or ""
        replace_header(name, flip_char(value, *pick(value)))
    elif part == "body":
        assume(body)
        index = data.draw(st.integers(0, len(body) - 1), label="index")
        mask = data.draw(st.integers(1, 255), label="mask")
        body = body[:index] + bytes([body[index] ^ mask]) + body[index + 1 :]
    elif part == "signature":
        head, _, signature = authorization.rpartition("Signature=")
        raw = bytearray.fromhex(signature)
        index = data.draw(st.integers(0, len(raw) - 1), label="index")
        raw[index] ^= data.draw(st.integers(1, 255), label="mask")
        headers[auth_index] = ("Authorization", head + "Signature=" + raw.hex())
    else:  # the credential scope inside the Authorization header
        start = authorization.index("Credential=") + len("Credential=")
        end = authorization.index(",", start)
        index, replacement = pick(authorization[start:end])
        headers[auth_index] = (
            "Authorization",
            flip_char(authorization, start + index, replacement),
        )

    changed = HttpRequest(method, path, query, headers, body, secure=http.secure)
    with pytest.raises(AuthError) as caught:
        verifier.verify(changed)

    assert caught.value.code in PART_CODES[part]


PRESIGN_SIGNERS = {"sts": SigV4QueryAuth, "execute-api": SigV4QueryAuth,
                   "dynamodb": SigV4QueryAuth, "s3": S3SigV4QueryAuth}  # fmt: skip
PRESIGN_QUERY_CODES = {
    "auth.signature-does-not-match", "auth.malformed-query-string", "auth.incomplete-signature",
    "auth.credential-scope-mismatch", "auth.invalid-client-token-id", "auth.invalid-token",
    "auth.invalid-presign-expires", "auth.presign-expired", "auth.presign-not-yet-valid",
    "auth.request-time-skewed",
}  # fmt: skip


@st.composite
def presigned_requests(draw: st.DrawFn) -> tuple[SigV4Verifier, HttpRequest]:
    service, region, _ = draw(st.sampled_from(SERVICES))
    credential = draw(st.sampled_from([KEY, SESSION]))
    segments = draw(st.lists(TEXT.filter(lambda s: s not in (".", "..")), max_size=3))
    path = "/" + "/".join(quote(s, safe="") for s in segments)
    params = draw(st.lists(st.tuples(TEXT, st.text(max_size=5)), max_size=3))
    query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in params)
    url = f"https://svc.{region}.amazonaws.com{path}" + (f"?{query}" if query else "")
    signer = PRESIGN_SIGNERS[service](
        botocore_credentials(credential), service, region, expires=draw(st.integers(1, 604800))
    )
    return verifier_for(make_store(), service, region), to_http(sign(signer, "GET", url))


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(data=st.data(), signed=presigned_requests())
def test_changing_any_part_of_a_presigned_url_is_refused(
    data: st.DataObject, signed: tuple[SigV4Verifier, HttpRequest]
) -> None:
    verifier, http = signed
    verifier.verify(http)

    part = data.draw(st.sampled_from(["method", "path", "query", "host"]), label="part")
    text = {"method": http.method, "path": http.path, "query": http.query,
            "host": http.header("host") or ""}[part]  # fmt: skip
    index = data.draw(st.integers(0, len(text) - 1), label="index")
    replacement = data.draw(st.sampled_from(PRINTABLE), label="char")
    assume(replacement != text[index])
    assume(not (in_escape(text, index) and replacement.lower() == text[index].lower()))
    changed_text = flip_char(text, index, replacement)
    changed = HttpRequest(
        changed_text if part == "method" else http.method,
        changed_text if part == "path" else http.path,
        changed_text if part == "query" else http.query,
        [("Host", changed_text)] if part == "host" else http.headers,
    )
    with pytest.raises(AuthError) as caught:
        verifier.verify(changed)

    expected = PRESIGN_QUERY_CODES if part == "query" else PART_CODES[part]
    assert caught.value.code in expected


# --- end to end: real boto3 clients, intercepted before they reach the network ------------------


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: object) -> Iterator[bytes]:
        yield self._body


def _error_body(error: AuthError, style: str) -> bytes:
    if style == "json":
        return f'{{"__type":"{error.aws_error}","message":"{error.message}"}}'.encode()
    if style == "s3":
        return f"<Error><Code>{error.aws_error}</Code><Message>x</Message></Error>".encode()
    return (
        "<ErrorResponse><Error><Type>Sender</Type>"
        f"<Code>{error.aws_error}</Code><Message>x</Message></Error>"
        "<RequestId>1</RequestId></ErrorResponse>"
    ).encode()


OK_BODIES = {
    "sts": b"<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012"
    b":user/alice</Arn><UserId>AIDA</UserId><Account>123456789012</Account>"
    b"</GetCallerIdentityResult></GetCallerIdentityResponse>",
    "dynamodb": b'{"TableNames":[]}',
    "s3": b"",
}


def boto3_client(
    service: str,
    region: str,
    credential: AccessKey | TemporaryCredential,
    store: InMemoryCredentialStore,
    seen: list[VerifiedRequest],
) -> BaseClient:
    """A real boto3 client whose requests our verifier answers instead of AWS."""
    import boto3

    session = boto3.session.Session(
        aws_access_key_id=credential.access_key_id,
        aws_secret_access_key=credential.secret_access_key.reveal(),
        aws_session_token=(
            credential.session_token.reveal()
            if isinstance(credential, TemporaryCredential)
            else None
        ),
        region_name=region,
    )
    client = session.client(service, config=Config(retries={"total_max_attempts": 1}))
    verifier = SigV4Verifier(store, SigV4Config.for_service(service, region))
    style = {"s3": "s3", "dynamodb": "json"}.get(service, "query")

    def answer(request: AWSPreparedRequest, **_: object) -> AWSResponse:
        body = request.body
        if hasattr(body, "read"):  # streamed bodies (aws-chunked uploads)
            body = body.read()
        raw = body if isinstance(body, bytes) else (body or "").encode()
        http = to_http(request, body=raw)
        try:
            seen.append(verifier.verify(http))
        except AuthError as error:
            return AWSResponse(request.url, error.status, {}, _Raw(_error_body(error, style)))
        return AWSResponse(request.url, 200, {"ETag": '"e"'}, _Raw(OK_BODIES[service]))

    client.meta.events.register("before-send", answer)
    return client


def live_credentials() -> tuple[InMemoryCredentialStore, AccessKey, TemporaryCredential]:
    """Credentials valid now: boto3 signs with the real clock."""
    now = system_clock()
    key = create_access_key(USER_ARN, now=now)
    session = create_temporary_credential(
        SESSION_ARN, now=now, duration=timedelta(hours=1), mfa_authenticated_at=now
    )
    live = InMemoryCredentialStore()
    live.put(key)
    live.put(session)
    return live, key, session


@pytest.mark.parametrize("kind", ["long-term", "session"])
def test_boto3_clients_are_verified_end_to_end(kind: str) -> None:
    store, key, session = live_credentials()
    credential = key if kind == "long-term" else session
    seen: list[VerifiedRequest] = []

    identity = boto3_client("sts", "us-east-1", credential, store, seen).get_caller_identity()
    boto3_client("dynamodb", "eu-west-1", credential, store, seen).list_tables()
    s3 = boto3_client("s3", "us-east-1", credential, store, seen)
    s3.put_object(Bucket="bucket", Key="dir/caf\u00e9 & bar.txt", Body=b"hello world" * 100)

    assert identity["Account"] == "123456789012"
    assert [r.service for r in seen] == ["sts", "dynamodb", "s3"]
    assert all(r.access_key_id == credential.access_key_id for r in seen)
    assert seen[2].body == b"hello world" * 100  # aws-chunked framing removed, trailer checked
    assert seen[2].context["s3:x-amz-content-sha256"] in (
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER",  # botocore >= 1.36: CRC32 trailer by default
        hashlib.sha256(b"hello world" * 100).hexdigest(),
    )


def test_boto3_client_with_a_wrong_secret_gets_signature_does_not_match() -> None:
    store, key, _ = live_credentials()
    wrong = AccessKey(key.access_key_id, "w" * 40, USER_ARN, NOW)
    sts = boto3_client("sts", "us-east-1", wrong, store, [])
    ddb = boto3_client("dynamodb", "us-east-1", wrong, store, [])

    with pytest.raises(ClientError) as sts_error:
        sts.get_caller_identity()
    with pytest.raises(ClientError) as ddb_error:
        ddb.list_tables()

    assert sts_error.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert ddb_error.value.response["Error"]["Code"] == "InvalidSignatureException"


def test_boto3_presigned_urls_verify() -> None:
    import boto3

    store, key, _ = live_credentials()
    session = boto3.session.Session(
        aws_access_key_id=key.access_key_id,
        aws_secret_access_key=key.secret_access_key.reveal(),
        region_name="eu-west-1",
    )
    client = session.client("s3", config=Config(signature_version="s3v4"))
    url = client.generate_presigned_url(
        "get_object", Params={"Bucket": "bucket", "Key": "a b/c+d/\u00e9.txt"}, ExpiresIn=300
    )
    parts = urlsplit(url)
    http = HttpRequest("GET", parts.path, parts.query, [("Host", parts.netloc)])

    result = SigV4Verifier(store, SigV4Config.for_service("s3", "eu-west-1")).verify(http)

    assert result.presigned
    assert result.context["s3:authType"] == "REST-QUERY-STRING"


def trailer_request(data: bytes, sent: bytes) -> HttpRequest:
    """An S3 PUT signed for an unsigned aws-chunked body with a CRC32 trailer of `data`."""
    signer = S3SigV4Auth(botocore_credentials(KEY), "s3", "us-east-1")
    request = AWSRequest(method="PUT", url="https://b.s3.amazonaws.com/k", data=b"")
    request.context["checksum"] = {
        "request_algorithm": {"in": "trailer", "name": "x-amz-checksum-crc32", "algorithm": "crc32"}
    }
    request.headers["x-amz-decoded-content-length"] = str(len(sent))
    with mock.patch("botocore.auth.get_current_datetime", return_value=NOW.replace(tzinfo=None)):
        signer.add_auth(request)
    crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    body = f"{len(sent):x}\r\n".encode() + sent + b"\r\n0\r\n"
    body += f"x-amz-checksum-crc32:{crc}\r\n\r\n".encode()
    return to_http(request.prepare(), body=body)


def test_unsigned_trailer_upload_is_decoded_and_its_crc32_checked(
    store: InMemoryCredentialStore,
) -> None:
    verifier = verifier_for(store, "s3", "us-east-1")
    good = trailer_request(b"payload bytes", b"payload bytes")
    bad = trailer_request(b"payload bytes", b"payload bytez")

    result = verifier.verify(good)
    error = refuse(verifier, bad)

    assert good.header("x-amz-content-sha256") == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    assert result.body == b"payload bytes"
    assert (error.aws_error, error.status) == ("BadDigest", 400)


class CountingStore(InMemoryCredentialStore):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[LastUsed] = []

    def record_last_used(self, access_key_id: str, last_used: LastUsed) -> None:
        self.writes.append(last_used)
        super().record_last_used(access_key_id, last_used)


def test_last_used_is_written_at_most_once_a_minute_per_service_and_region() -> None:
    store = CountingStore()
    store.put(KEY)
    sts = verifier_for(store, "sts", {"us-east-1", "eu-west-1"})
    assert isinstance(sts.clock, FixedClock)

    sts.verify(sts_request(KEY))
    sts.verify(sts_request(KEY))  # same minute: no write
    sts.verify(sts_request(KEY, region="eu-west-1"))  # other region: write
    sts.clock.advance(61)
    sts.verify(sts_request(KEY, region="eu-west-1", at=NOW + timedelta(seconds=61)))

    assert [(w.region, w.date) for w in store.writes] == [
        ("us-east-1", NOW),
        ("eu-west-1", NOW),
        ("eu-west-1", NOW + timedelta(seconds=61)),
    ]
