"""Published vectors: the AWS SigV4 test suite and the S3 chunked-upload example.

The inputs and expected signatures are facts from AWS's `aws-sig-v4-test-suite` (credentials
`AKIDEXAMPLE`, 2015-08-30T12:36:00Z, us-east-1, service `service`) and from the S3 API
reference's "Example: PUT Object" for streaming uploads. The verifier must accept each request
with its published signature, and refuse it once the signature is altered.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from policylang.auth import (
    AccessKey,
    FixedClock,
    HttpRequest,
    InMemoryCredentialStore,
    SigV4Config,
    SigV4Verifier,
    TemporaryCredential,
)
from policylang.errors import AuthError

SUITE_TIME = datetime(2015, 8, 30, 12, 36, tzinfo=UTC)
SUITE_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
SUITE_SCOPE = "AKIDEXAMPLE/20150830/us-east-1/service/aws4_request"
HOST = "example.amazonaws.com"

# name: (method, target, extra headers, body, signed headers, signature)
SUITE = {
    "get-vanilla": ("GET", "/", [], b"", "host;x-amz-date",
                    "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
    "get-unreserved": (
        "GET", "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", [], b"",
        "host;x-amz-date", "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"),
    "get-slashes": ("GET", "//example//", [], b"", "host;x-amz-date",
                    "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84"),
    "get-vanilla-query-order-key-case": (
        "GET", "/?Param2=value2&Param1=value1", [], b"", "host;x-amz-date",
        "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
    "get-vanilla-query-order-value": (
        "GET", "/?Param1=value2&Param1=value1", [], b"", "host;x-amz-date",
        "5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694"),
    "get-vanilla-utf8-query": (
        "GET", "/?\u1234=bar", [], b"", "host;x-amz-date",
        "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"),
    "get-header-value-order": (
        "GET", "/", [("My-Header1", v) for v in ("value4", "value1", "value3", "value2")], b"",
        "host;my-header1;x-amz-date",
        "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01"),
    "get-header-key-duplicate": (
        "GET", "/", [("My-Header1", v) for v in ("value2", "value2", "value1")], b"",
        "host;my-header1;x-amz-date",
        "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"),
    "get-header-value-trim": (
        "GET", "/", [("My-Header1", " value1"), ("My-Header2", '"a   b   c"')], b"",
        "host;my-header1;my-header2;x-amz-date",
        "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"),
    "post-x-www-form-urlencoded": (
        "POST", "/", [("Content-Type", "application/x-www-form-urlencoded")], b"Param1=value1",
        "content-type;host;x-amz-date",
        "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"),
}  # fmt: skip

SESSION_TOKEN = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"


def suite_request(name: str, signature: str | None = None) -> HttpRequest:
    method, target, extra, body, signed_headers, published = SUITE[name]
    path, _, query = target.partition("?")
    authorization = (
        f"AWS4-HMAC-SHA256 Credential={SUITE_SCOPE}, SignedHeaders={signed_headers}, "
        f"Signature={signature or published}"
    )
    headers = [("Host", HOST), ("X-Amz-Date", "20150830T123600Z"), *extra,
               ("Authorization", authorization)]  # fmt: skip
    return HttpRequest(method, path, query, headers, body)


@pytest.fixture
def suite_verifier() -> SigV4Verifier:
    store = InMemoryCredentialStore()
    store.put(
        AccessKey(
            access_key_id="AKIDEXAMPLE",
            secret_access_key=SUITE_SECRET,
            principal_arn="arn:aws:iam::123456789012:user/example",
            created=SUITE_TIME - timedelta(days=1),
        )
    )
    return SigV4Verifier(store, SigV4Config("service", {"us-east-1"}), FixedClock(SUITE_TIME))


@pytest.mark.parametrize("name", sorted(SUITE))
def test_published_suite_request_verifies(suite_verifier: SigV4Verifier, name: str) -> None:
    result = suite_verifier.verify(suite_request(name))

    assert result.access_key_id == "AKIDEXAMPLE"
    assert result.context["aws:RequestedRegion"] == "us-east-1"


@pytest.mark.parametrize("name", sorted(SUITE))
def test_published_suite_request_with_another_signature_fails(
    suite_verifier: SigV4Verifier, name: str
) -> None:
    with pytest.raises(AuthError) as caught:
        suite_verifier.verify(suite_request(name, signature="0" * 64))

    assert caught.value.aws_error == "SignatureDoesNotMatch"
    assert caught.value.status == 403


def test_published_session_token_vector_verifies() -> None:
    store = InMemoryCredentialStore()
    store.put(
        TemporaryCredential(
            access_key_id="AKIDEXAMPLE",
            secret_access_key=SUITE_SECRET,
            session_token=SESSION_TOKEN,
            principal_arn="arn:aws:sts::123456789012:assumed-role/R/s",
            issued_at=SUITE_TIME - timedelta(minutes=5),
            expiration=SUITE_TIME + timedelta(hours=1),
        )
    )
    verifier = SigV4Verifier(store, SigV4Config("service", "us-east-1"), FixedClock(SUITE_TIME))
    authorization = (
        f"AWS4-HMAC-SHA256 Credential={SUITE_SCOPE}, "
        "SignedHeaders=host;x-amz-date;x-amz-security-token, "
        "Signature=07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8"
    )
    headers = [
        ("Host", HOST),
        ("X-Amz-Date", "20150830T123600Z"),
        ("X-Amz-Security-Token", SESSION_TOKEN),
        ("Authorization", authorization),
    ]

    result = verifier.verify(HttpRequest("GET", "/", "", headers))

    assert result.context["aws:MultiFactorAuthPresent"] == "false"
    assert result.context["aws:TokenIssueTime"] == "2015-08-30T12:31:00Z"


# --- S3 API reference, "Example: PUT Object" (chunked upload) --------------------------------

S3_TIME = datetime(2013, 5, 24, tzinfo=UTC)
S3_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
S3_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SEED_SIGNATURE = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
CHUNK_SIGNATURES = (
    "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
    "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
    "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
)


def chunked_body(signatures: tuple[str, ...] = CHUNK_SIGNATURES) -> bytes:
    chunks = (b"a" * 65536, b"a" * 1024, b"")
    body = b""
    for data, signature in zip(chunks, signatures, strict=True):
        body += f"{len(data):x};chunk-signature={signature}\r\n".encode() + data + b"\r\n"
    return body


def s3_chunked_request(body: bytes) -> HttpRequest:
    authorization = (
        f"AWS4-HMAC-SHA256 Credential={S3_KEY_ID}/20130524/us-east-1/s3/aws4_request, "
        "SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
        f"x-amz-decoded-content-length;x-amz-storage-class, Signature={SEED_SIGNATURE}"
    )
    headers = [
        ("Host", "s3.amazonaws.com"),
        ("x-amz-date", "20130524T000000Z"),
        ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
        ("Authorization", authorization),
        ("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"),
        ("Content-Encoding", "aws-chunked"),
        ("x-amz-decoded-content-length", "66560"),
        ("Content-Length", "66824"),
    ]
    return HttpRequest("PUT", "/examplebucket/chunkObject.txt", "", headers, body)


@pytest.fixture
def s3_verifier() -> SigV4Verifier:
    store = InMemoryCredentialStore()
    store.put(
        AccessKey(
            access_key_id=S3_KEY_ID,
            secret_access_key=S3_SECRET,
            principal_arn="arn:aws:iam::123456789012:user/example",
            created=S3_TIME - timedelta(days=1),
        )
    )
    config = SigV4Config.for_service("s3", "us-east-1")
    return SigV4Verifier(store, config, FixedClock(S3_TIME))


def test_published_chunked_upload_verifies_and_is_decoded(s3_verifier: SigV4Verifier) -> None:
    body = chunked_body()

    result = s3_verifier.verify(s3_chunked_request(body))

    assert len(body) == 66824
    assert result.body == b"a" * 66560
    assert result.context["s3:x-amz-content-sha256"] == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"


def test_chunked_upload_with_a_wrong_chunk_signature_fails(s3_verifier: SigV4Verifier) -> None:
    bad = (CHUNK_SIGNATURES[0], "f" * 64, CHUNK_SIGNATURES[2])

    with pytest.raises(AuthError) as caught:
        s3_verifier.verify(s3_chunked_request(chunked_body(bad)))

    assert caught.value.aws_error == "SignatureDoesNotMatch"


def test_chunked_upload_with_altered_data_fails(s3_verifier: SigV4Verifier) -> None:
    body = bytearray(chunked_body())
    body[200] ^= 0x01

    with pytest.raises(AuthError) as caught:
        s3_verifier.verify(s3_chunked_request(bytes(body)))

    assert caught.value.aws_error == "SignatureDoesNotMatch"


def test_truncated_chunked_upload_is_an_incomplete_body(s3_verifier: SigV4Verifier) -> None:
    with pytest.raises(AuthError) as caught:
        s3_verifier.verify(s3_chunked_request(chunked_body()[:66000]))

    assert caught.value.aws_error == "IncompleteBody"
    assert caught.value.status == 400
