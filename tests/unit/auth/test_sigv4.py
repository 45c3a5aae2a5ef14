"""SigV4 parsing, canonical forms and the error each malformed request gets (no botocore)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from policylang.auth.clock import FixedClock
from policylang.auth.credentials import AccessKey
from policylang.auth.sigv4 import (
    _ERRORS,
    ErrorStyle,
    HttpRequest,
    SigV4Config,
    SigV4Verifier,
    auth_error,
    canonical_query,
    canonical_uri,
    parse_query,
)
from policylang.auth.store import InMemoryCredentialStore
from policylang.errors import AuthError

NOW = datetime(2015, 8, 30, 12, 36, tzinfo=UTC)
SCOPE = "AKIDEXAMPLE/20150830/us-east-1/service/aws4_request"
GOOD_AUTH = (
    f"AWS4-HMAC-SHA256 Credential={SCOPE}, SignedHeaders=host;x-amz-date, "
    "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
)


def verifier(service: str = "service", *, s3: bool = False) -> SigV4Verifier:
    store = InMemoryCredentialStore()
    store.put(
        AccessKey(
            access_key_id="AKIDEXAMPLE",
            secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            principal_arn="arn:aws:iam::123456789012:user/example",
            created=NOW - timedelta(days=1),
        )
    )
    return SigV4Verifier(store, SigV4Config(service, {"us-east-1"}, s3=s3), FixedClock(NOW))


def request(
    authorization: str | None = GOOD_AUTH,
    *,
    date: str | None = "20150830T123600Z",
    path: str = "/",
    query: str = "",
    extra: tuple[tuple[str, str], ...] = (),
) -> HttpRequest:
    headers = [("Host", "example.amazonaws.com"), *extra]
    if date is not None:
        headers.append(("X-Amz-Date", date))
    if authorization is not None:
        headers.append(("Authorization", authorization))
    return HttpRequest("GET", path, query, headers)


def refuse(http: HttpRequest, v: SigV4Verifier | None = None) -> AuthError:
    with pytest.raises(AuthError) as caught:
        (v or verifier()).verify(http)
    return caught.value


def test_the_good_request_verifies() -> None:
    assert verifier().verify(request()).access_key_id == "AKIDEXAMPLE"


# --- canonical forms ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("", "/"),
        ("/", "/"),
        ("//example//", "/example/"),
        ("/a/./b/../c", "/a/c"),
        ("/a/b/..", "/a"),
        ("/a%2Fb", "/a%252Fb"),
        ("/100%25", "/100%2525"),
        ("/example space/", "/example%20space/"),
        ("/\u1234", "/%E1%88%B4"),
        ("/-._~az09", "/-._~az09"),
        ("/a/..b/.c", "/a/..b/.c"),
    ],
)
def test_non_s3_canonical_uri_normalises_and_encodes_again(path: str, expected: str) -> None:
    assert expected == canonical_uri(path, s3=False)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/bucket/a//b/./c", "/bucket/a//b/./c"),
        ("/bucket/my%20key", "/bucket/my%20key"),
        ("/bucket/a%2fb", "/bucket/a%2Fb"),
        ("/bucket/caf\u00e9", "/bucket/caf%C3%A9"),
        ("/bucket/a+b", "/bucket/a%2Bb"),
    ],
)
def test_s3_canonical_uri_keeps_the_path_and_encodes_once(path: str, expected: str) -> None:
    assert expected == canonical_uri(path, s3=True)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Param2=value2&Param1=value1", "Param1=value1&Param2=value2"),
        ("a=10&a=9", "a=10&a=9"),
        ("x=a.b&x=a%2Fb", "x=a%2Fb&x=a.b"),
        ("a=1&a=1", "a=1&a=1"),
        ("q=a+b", "q=a%2Bb"),
        ("q=a%20b", "q=a%20b"),
        ("b&a=1", "a=1&b="),
        ("a=1=2", "a=1%3D2"),
        ("%e2%9c%93=%7e", "%E2%9C%93=~"),
        ("", ""),
        ("&&a=1&", "a=1"),
    ],
)
def test_canonical_query_decodes_reencodes_and_sorts(query: str, expected: str) -> None:
    assert expected == canonical_query(parse_query(query))


def test_canonical_query_drops_only_the_excluded_parameter() -> None:
    pairs = parse_query("X-Amz-Signature=abc&X-Amz-Date=1&b=2")

    assert canonical_query(pairs, exclude="X-Amz-Signature") == "X-Amz-Date=1&b=2"


# --- locating and parsing the signature -------------------------------------------------------


def test_no_authentication_at_all() -> None:
    error = refuse(request(None))

    assert (error.aws_error, error.status, error.code) == (
        "MissingAuthenticationToken", 403, "auth.missing-authentication-token"
    )  # fmt: skip


def test_unsupported_algorithm() -> None:
    error = refuse(request(GOOD_AUTH.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512")))

    assert (error.aws_error, error.status) == ("IncompleteSignature", 400)
    assert error.message == "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512'."


def test_missing_parameters_are_all_listed() -> None:
    error = refuse(request(f"AWS4-HMAC-SHA256 Credential={SCOPE}", date=None))

    assert error.message == (
        "Authorization header requires 'Signature' parameter. "
        "Authorization header requires 'SignedHeaders' parameter. "
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
    )


def test_parameter_without_equals_sign_does_not_echo_the_header() -> None:
    error = refuse(request(GOOD_AUTH + ", Garbage"))

    assert error.aws_error == "IncompleteSignature"
    assert "5fa00fa3" not in error.message


def test_later_duplicate_parameters_overwrite_earlier_ones() -> None:
    doubled = GOOD_AUTH.replace("Signature=", "Signature=" + "0" * 64 + ", Signature=")

    assert verifier().verify(request(doubled)).access_key_id == "AKIDEXAMPLE"


@pytest.mark.parametrize("date", ["2015-08-30T12:36:00Z", "20150830T1236Z", "20151330T123600Z"])
def test_timestamp_not_in_basic_format(date: str) -> None:
    error = refuse(request(date=date))

    assert error.aws_error == "IncompleteSignature"
    assert error.message.startswith(f"Date must be in ISO-8601 'basic format'. Got '{date}'.")


def test_credential_must_have_five_parts_and_the_key_is_masked() -> None:
    error = refuse(request(GOOD_AUTH.replace("/aws4_request", "")))

    assert error.aws_error == "IncompleteSignature"
    assert error.message == (
        "Credential must have exactly 5 slash-delimited elements, e.g. "
        "keyid/date/region/service/term, got 'AK…/20150830/us-east-1/service'"
    )


def test_credential_date_must_match_the_timestamp() -> None:
    error = refuse(request(GOOD_AUTH.replace("/20150830/", "/20150831/")))

    assert (error.aws_error, error.code) == (
        "SignatureDoesNotMatch",
        "auth.credential-scope-mismatch",
    )
    assert error.message == (
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
        "HTTP: '20150831' != '20150830', from '20150830T123600Z'."
    )


def test_credential_terminator_is_checked() -> None:
    error = refuse(request(GOOD_AUTH.replace("aws4_request", "aws5_request")))

    assert error.message == (
        "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. "
    )


def test_host_must_be_signed() -> None:
    error = refuse(
        request(GOOD_AUTH.replace("SignedHeaders=host;x-amz-date", "SignedHeaders=x-amz-date"))
    )

    assert error.aws_error == "SignatureDoesNotMatch"
    assert "'Host' or ':authority' must be a 'SignedHeader'" in error.message


def test_rfc1123_date_header_is_accepted_as_the_timestamp() -> None:
    # Same instant as the vector's X-Amz-Date, so a wrong HMAC is the only thing left to fail.
    http = request(date=None, extra=(("Date", "Sun, 30 Aug 2015 12:36:00 GMT"),))

    assert refuse(http).code == "auth.signature-does-not-match"


def test_unparseable_date_header() -> None:
    error = refuse(request(date=None, extra=(("Date", "yesterday"),)))

    assert error.message.startswith("Date must be in ISO-8601 'basic format'. Got 'yesterday'.")


def test_path_above_the_root_is_invalid() -> None:
    error = refuse(request(path="/a/../../b"))

    assert (error.aws_error, error.status) == ("InvalidURIPath", 400)


def test_malformed_percent_escape_in_the_query() -> None:
    error = refuse(request(query="a=%zz"))

    assert (error.aws_error, error.status) == ("MalformedQueryString", 400)


# --- presigned form ----------------------------------------------------------------------------

PRESIGN = {
    "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
    "X-Amz-Credential": SCOPE.replace("/", "%2F"),
    "X-Amz-Date": "20150830T123600Z",
    "X-Amz-Expires": "60",
    "X-Amz-SignedHeaders": "host",
    "X-Amz-Signature": "0" * 64,
}


def presigned(**changes: str | None) -> HttpRequest:
    params = {**PRESIGN, **changes}
    query = "&".join(f"{k}={v}" for k, v in params.items() if v is not None)
    return HttpRequest("GET", "/", query, [("Host", "example.amazonaws.com")])


def test_presigned_missing_parameters_are_listed() -> None:
    error = refuse(presigned(**{"X-Amz-Date": None, "X-Amz-Expires": None}))

    assert error.message == (
        "AWS query-string parameters must include 'X-Amz-Date'. AWS query-string parameters "
        "must include 'X-Amz-Expires'. Re-examine the query-string parameters."
    )


@pytest.mark.parametrize(
    ("expires", "message"),
    [
        ("0", "X-Amz-Expires must be positive"),
        ("604801", "X-Amz-Expires must be less than a week (in seconds) that is 604800"),
        ("ten", "X-Amz-Expires should be a number"),
    ],
)
def test_presigned_expiry_bounds(expires: str, message: str) -> None:
    error = refuse(presigned(**{"X-Amz-Expires": expires}))
    s3_error = refuse(presigned(**{"X-Amz-Expires": expires}), verifier(s3=True))

    assert (error.aws_error, error.message) == ("IncompleteSignature", message)
    assert (s3_error.aws_error, s3_error.status) == ("AuthorizationQueryParametersError", 400)


def test_presigned_and_header_forms_together() -> None:
    both = HttpRequest(
        "GET", "/", presigned().query,
        [("Host", "example.amazonaws.com"), ("Authorization", GOOD_AUTH)],
    )  # fmt: skip

    assert refuse(both).aws_error == "SignatureDoesNotMatch"
    assert refuse(both, verifier(s3=True)).aws_error == "InvalidArgument"


def test_presigned_from_the_future_is_not_yet_valid_for_s3() -> None:
    http = presigned(**{"X-Amz-Date": "20150830T130000Z",
                        "X-Amz-Credential": SCOPE.replace("/", "%2F")})  # fmt: skip

    error = refuse(http, verifier(s3=True))

    assert (error.aws_error, error.message) == ("AccessDenied", "Request is not valid yet")


def test_presigned_wrong_signature() -> None:
    assert refuse(presigned()).aws_error == "SignatureDoesNotMatch"


# --- S3 header rules ---------------------------------------------------------------------------


def test_s3_header_form_requires_a_content_hash() -> None:
    error = refuse(request(), verifier(s3=True))

    assert (error.aws_error, error.status) == ("InvalidRequest", 400)


def test_content_hash_must_be_a_known_value() -> None:
    error = refuse(request(extra=(("x-amz-content-sha256", "not-a-hash"),)), verifier(s3=True))

    assert (error.aws_error, error.status) == ("InvalidArgument", 400)


def test_unsigned_payload_can_be_refused_by_config() -> None:
    config = SigV4Config("service", "us-east-1", allow_unsigned_payload=False)
    strict = SigV4Verifier(verifier().store, config, FixedClock(NOW))

    error = refuse(request(extra=(("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),)), strict)

    assert error.aws_error == "InvalidArgument"


# --- error table -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(_ERRORS))
@pytest.mark.parametrize("style", list(ErrorStyle))
def test_every_error_kind_renders_in_every_style(kind: str, style: ErrorStyle) -> None:
    error = auth_error(kind, style, "detail")

    assert error.status in (400, 401, 403)
    assert error.aws_error
    assert error.code.startswith("auth.")
    assert error.render().startswith("<input>: error[auth.")


def test_stable_code_does_not_depend_on_the_style() -> None:
    codes = {auth_error("SignatureDoesNotMatch", style).code for style in ErrorStyle}
    names = {auth_error("SignatureDoesNotMatch", style).aws_error for style in ErrorStyle}

    assert codes == {"auth.signature-does-not-match"}
    assert names == {"SignatureDoesNotMatch", "InvalidSignatureException", "AuthFailure"}


def test_config_defaults_follow_the_service() -> None:
    s3 = SigV4Config.for_service("s3", "us-east-1")
    sts = SigV4Config.for_service("sts", ["us-east-1"])

    assert (s3.s3, s3.error_style, s3.max_skew) == (True, ErrorStyle.S3, timedelta(minutes=15))
    assert (sts.s3, sts.error_style, sts.max_skew) == (
        False,
        ErrorStyle.QUERY,
        timedelta(minutes=5),
    )
    assert SigV4Config.for_service("dynamodb", "us-east-1").error_style is ErrorStyle.JSON
    assert SigV4Config.for_service("ec2", "us-east-1").error_style is ErrorStyle.EC2


def test_http_request_from_url_and_byte_headers() -> None:
    http = HttpRequest.from_url(
        "GET",
        "http://example.amazonaws.com/a%20b?x=1",
        {b"X-Amz-Date": b"20150830T123600Z", "My-Header": ["v1", "v2"]},
    )

    assert (http.path, http.query, http.secure) == ("/a%20b", "x=1", False)
    assert http.header("x-amz-date") == "20150830T123600Z"
    assert http.header_values("MY-HEADER") == ("v1", "v2")
    assert http.header("absent") is None
    assert http.header_names == frozenset({"x-amz-date", "my-header"})


def test_a_config_needs_at_least_one_region() -> None:
    with pytest.raises(ValueError, match="regions"):
        SigV4Config("sts", set())
