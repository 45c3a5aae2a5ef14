"""Server-side AWS Signature Version 4 verification (spec/evaluation.md §9).

`SigV4Verifier(store, config, clock).verify(HttpRequest(...))` returns a `VerifiedRequest` (the
credential, its principal and the request-context keys it implies) or raises `AuthError` with
the AWS error code and HTTP status the configured service would answer.

Order of checks, as AWS does it: locate the signature (header or presigned query) and parse it
→ timestamp and skew/expiry → credential scope (date, region, service, terminator) → credential
lookup (unknown, inactive, session token, expired token) → canonical request → HMAC compared in
constant time → payload checks (declared body hash, signed chunks). So a request with an unknown
key is `InvalidClientTokenId` whatever its signature, and a wrong region is reported without
touching the store.

Error codes differ by service protocol (`ErrorStyle`); the stable `AuthError.code`
(`auth.signature-does-not-match`, …) does not. Messages never contain a secret, a session
token, a signature or a full access key id.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import hmac
import logging
import re
import zlib
from base64 import b64encode
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from types import MappingProxyType
from typing import Final
from urllib.parse import quote, unquote_to_bytes, urlsplit

import attrs

from policylang.auth.clock import Clock, ensure_utc, format_iso8601, system_clock
from policylang.auth.credentials import (
    AccessKey,
    Credential,
    LastUsed,
    TemporaryCredential,
    mask_key_id,
)
from policylang.auth.store import CredentialStore
from policylang.errors import AuthError, kebab_case

logger = logging.getLogger(__name__)

ALGORITHM: Final = "AWS4-HMAC-SHA256"
EMPTY_SHA256: Final = hashlib.sha256(b"").hexdigest()
UNSIGNED_PAYLOAD: Final = "UNSIGNED-PAYLOAD"
STREAMING_SIGNED: Final = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_UNSIGNED_TRAILER: Final = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
MAX_PRESIGN_EXPIRES: Final = 604800
_SIGNATURE_MISMATCH: Final = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)
_BASIC_DATE_RE: Final = re.compile(r"\d{8}T\d{6}Z")
_HEX64_RE: Final = re.compile(r"[0-9a-f]{64}")
_QUERY_AUTH_PARAMS: Final = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature")
_QUERY_REQUIRED: Final = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-SignedHeaders",
    "X-Amz-Date",
    "X-Amz-Expires",
)


class ErrorStyle(enum.Enum):
    """How a service family spells authentication errors."""

    QUERY = "query"  # STS, IAM, SNS, SQS, CloudFormation… (and API Gateway, REST JSON services)
    JSON = "json"  # DynamoDB, KMS, Kinesis, CloudWatch Logs… (`…Exception` codes, HTTP 400)
    EC2 = "ec2"  # EC2's own codes: AuthFailure, RequestExpired
    S3 = "s3"  # S3's REST errors


_JSON_SERVICES: Final = frozenset(
    {"dynamodb", "kms", "kinesis", "logs", "secretsmanager", "ssm", "events", "states",
     "ecr", "ecs", "firehose", "glue", "athena", "codebuild", "cognito-idp", "route53domains"}
)  # fmt: skip


def _regions(value: Iterable[str] | str) -> frozenset[str]:
    return frozenset([value]) if isinstance(value, str) else frozenset(value)


@attrs.frozen(slots=True)
class SigV4Config:
    """What one service endpoint accepts.

    `service` is the signing name (`sts`, `s3`, `execute-api`…) and `regions` the regions the
    endpoint answers for (the global STS endpoint: `{"us-east-1"}`). `s3` selects S3's canonical
    URI and payload rules; `error_style` defaults from the service (S3, EC2, JSON-protocol
    services, else Query); `max_skew` defaults to 15 minutes for S3 and 5 otherwise.
    `allow_anonymous` lets unsigned requests through as anonymous (S3-style public access);
    `record_last_used` notes each key's last use in the store, at most once per
    `last_used_resolution` per service and region.
    """

    service: str
    regions: frozenset[str] = attrs.field(converter=_regions, validator=attrs.validators.min_len(1))
    s3: bool = False
    error_style: ErrorStyle = attrs.field()
    max_skew: timedelta = attrs.field()
    allow_anonymous: bool = False
    allow_unsigned_payload: bool = True
    record_last_used: bool = True
    last_used_resolution: timedelta = timedelta(minutes=1)

    @error_style.default
    def _default_style(self) -> ErrorStyle:
        if self.s3:
            return ErrorStyle.S3
        if self.service == "ec2":
            return ErrorStyle.EC2
        return ErrorStyle.JSON if self.service in _JSON_SERVICES else ErrorStyle.QUERY

    @max_skew.default
    def _default_skew(self) -> timedelta:
        return timedelta(minutes=15 if self.s3 else 5)

    @classmethod
    def for_service(
        cls, service: str, regions: Iterable[str] | str, **options: object
    ) -> SigV4Config:
        """A config with the conventions of `service` (S3 rules when it is `s3`)."""
        options.setdefault("s3", service == "s3")
        return cls(service, _regions(regions), **options)  # type: ignore[arg-type]


HeaderText = str | bytes
HeaderInput = (
    Mapping[HeaderText, HeaderText | Sequence[HeaderText]] | Iterable[tuple[HeaderText, HeaderText]]
)


def _header_text(value: HeaderText) -> str:
    """Header bytes as text: UTF-8 (what SDKs sign), else ISO-8859-1 (HTTP's historic charset)."""
    if isinstance(value, str):
        return value
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def _header_pairs(value: HeaderInput) -> tuple[tuple[str, str], ...]:
    pairs: list[tuple[str, str]] = []
    if isinstance(value, Mapping):
        for name, item in value.items():
            if isinstance(item, str | bytes):
                pairs.append((_header_text(name), _header_text(item)))
            else:
                pairs.extend((_header_text(name), _header_text(v)) for v in item)
        return tuple(pairs)
    return tuple((_header_text(n), _header_text(v)) for n, v in value)


@attrs.frozen(slots=True)
class HttpRequest:
    """An HTTP request as it arrived: raw (still percent-encoded) path and query.

    `headers` may repeat a name (pairs, or a mapping to a list of values). `body` is the raw
    body; pass `body=None` and `payload_sha256` when only the body's hash is at hand (streamed
    uploads), or neither to skip body checks. `secure` says whether it came over TLS.
    """

    method: str
    path: str
    query: str = ""
    headers: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_header_pairs)
    body: bytes | None = b""
    payload_sha256: str | None = None
    peer_address: str | None = None
    secure: bool = True

    @classmethod
    def from_url(
        cls,
        method: str,
        url: str,
        headers: HeaderInput = (),
        body: bytes | None = b"",
        **options: object,
    ) -> HttpRequest:
        """Split `url` into raw path and query (the scheme sets `secure`)."""
        parts = urlsplit(url)
        options.setdefault("secure", parts.scheme == "https")
        return cls(
            method,
            parts.path,
            parts.query,
            headers,
            body,
            **options,  # type: ignore[arg-type]
        )

    # Lower-cased name -> values in arrival order, built once: headers are looked up often.
    _by_name: Mapping[str, tuple[str, ...]] = attrs.field(init=False, repr=False, eq=False)

    @_by_name.default
    def _index_headers(self) -> Mapping[str, tuple[str, ...]]:
        grouped: dict[str, list[str]] = {}
        for name, value in self.headers:
            grouped.setdefault(name.lower(), []).append(value)
        return {name: tuple(values) for name, values in grouped.items()}

    def header_values(self, name: str) -> tuple[str, ...]:
        """Every value of header `name` (case-insensitive), in order."""
        return self._by_name.get(name.lower(), ())

    def header(self, name: str) -> str | None:
        """The first value of header `name`, or None."""
        values = self._by_name.get(name.lower())
        return values[0] if values else None

    @property
    def header_names(self) -> frozenset[str]:
        """The lower-cased names of the headers present."""
        return frozenset(self._by_name)


def _frozen_context(value: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(value))


@attrs.frozen(slots=True)
class VerifiedRequest:
    """A request whose signature checked out (or an allowed anonymous one).

    `context` holds the request-context keys derived from authentication (`aws:SecureTransport`,
    `aws:CurrentTime`, …, `aws:MultiFactorAuthPresent` for temporary credentials). `body` is the
    payload with any aws-chunked framing removed (None when no body was supplied).
    """

    credential: Credential | None
    region: str | None
    service: str
    signed_at: datetime | None
    presigned: bool
    context: Mapping[str, str] = attrs.field(converter=_frozen_context)
    body: bytes | None = attrs.field(default=None, repr=False)

    @property
    def anonymous(self) -> bool:
        return self.credential is None

    @property
    def access_key_id(self) -> str | None:
        return None if self.credential is None else self.credential.access_key_id

    @property
    def principal_arn(self) -> str | None:
        return None if self.credential is None else self.credential.principal_arn

    @property
    def principal_id(self) -> str | None:
        return None if self.credential is None else self.credential.principal_id


# --- errors -----------------------------------------------------------------------------------

# kind → {style: (aws_error, status, default message)}; QUERY is also the fallback.
_ERRORS: Final[dict[str, dict[ErrorStyle, tuple[str, int, str]]]] = {
    "MissingAuthenticationToken": {
        ErrorStyle.QUERY: ("MissingAuthenticationToken", 403,
                           "Request is missing Authentication Token"),
        ErrorStyle.JSON: ("MissingAuthenticationTokenException", 400,
                          "Request is missing Authentication Token"),
        ErrorStyle.S3: ("AccessDenied", 403, "Access Denied"),
    },
    "IncompleteSignature": {
        ErrorStyle.QUERY: ("IncompleteSignature", 400, ""),
        ErrorStyle.JSON: ("IncompleteSignatureException", 400, ""),
        ErrorStyle.S3: ("AuthorizationHeaderMalformed", 400, ""),
    },
    "SignatureDoesNotMatch": {
        ErrorStyle.QUERY: ("SignatureDoesNotMatch", 403, _SIGNATURE_MISMATCH),
        ErrorStyle.JSON: ("InvalidSignatureException", 400, _SIGNATURE_MISMATCH),
        ErrorStyle.EC2: ("AuthFailure", 401,
                         "AWS was not able to validate the provided access credentials"),
        ErrorStyle.S3: ("SignatureDoesNotMatch", 403,
                        "The request signature we calculated does not match the signature you "
                        "provided. Check your key and signing method."),
    },
    "RequestTimeSkewed": {
        ErrorStyle.QUERY: ("SignatureDoesNotMatch", 403, ""),
        ErrorStyle.JSON: ("InvalidSignatureException", 400, ""),
        ErrorStyle.EC2: ("RequestExpired", 400, "Request has expired."),
        ErrorStyle.S3: ("RequestTimeTooSkewed", 403,
                        "The difference between the request time and the current time is too "
                        "large."),
    },
    "CredentialScopeMismatch": {
        ErrorStyle.QUERY: ("SignatureDoesNotMatch", 403, ""),
        ErrorStyle.JSON: ("InvalidSignatureException", 400, ""),
        ErrorStyle.EC2: ("AuthFailure", 401, ""),
        ErrorStyle.S3: ("AuthorizationHeaderMalformed", 400, ""),
    },
    "InvalidClientTokenId": {
        ErrorStyle.QUERY: ("InvalidClientTokenId", 403,
                           "The security token included in the request is invalid."),
        ErrorStyle.JSON: ("UnrecognizedClientException", 400,
                          "The security token included in the request is invalid."),
        ErrorStyle.EC2: ("AuthFailure", 401,
                         "AWS was not able to validate the provided access credentials"),
        ErrorStyle.S3: ("InvalidAccessKeyId", 403,
                        "The AWS Access Key Id you provided does not exist in our records."),
    },
    "InvalidToken": {
        ErrorStyle.QUERY: ("InvalidClientTokenId", 403,
                           "The security token included in the request is invalid."),
        ErrorStyle.JSON: ("UnrecognizedClientException", 400,
                          "The security token included in the request is invalid."),
        ErrorStyle.EC2: ("AuthFailure", 401,
                         "AWS was not able to validate the provided access credentials"),
        ErrorStyle.S3: ("InvalidToken", 400, "The provided token is malformed or otherwise "
                        "invalid."),
    },
    "ExpiredToken": {
        ErrorStyle.QUERY: ("ExpiredToken", 403,
                           "The security token included in the request is expired"),
        ErrorStyle.JSON: ("ExpiredTokenException", 400,
                          "The security token included in the request is expired"),
        ErrorStyle.EC2: ("RequestExpired", 400, "Request has expired."),
        ErrorStyle.S3: ("ExpiredToken", 400, "The provided token has expired."),
    },
    "PresignExpired": {
        ErrorStyle.QUERY: ("AccessDenied", 403, "Request has expired"),
        ErrorStyle.EC2: ("RequestExpired", 400, "Request has expired."),
    },
    "PresignNotYetValid": {
        ErrorStyle.QUERY: ("AccessDenied", 403, "Request is not valid yet"),
        ErrorStyle.EC2: ("RequestExpired", 400, "Request has expired."),
    },
    "InvalidPresignExpires": {
        ErrorStyle.QUERY: ("IncompleteSignature", 400, ""),
        ErrorStyle.JSON: ("IncompleteSignatureException", 400, ""),
        ErrorStyle.S3: ("AuthorizationQueryParametersError", 400, ""),
    },
    "AmbiguousAuthentication": {
        ErrorStyle.QUERY: ("SignatureDoesNotMatch", 403,
                           "Only one authentication mechanism is allowed: the Authorization "
                           "header or the X-Amz-* query parameters"),
        ErrorStyle.JSON: ("InvalidSignatureException", 400,
                          "Only one authentication mechanism is allowed: the Authorization "
                          "header or the X-Amz-* query parameters"),
        ErrorStyle.S3: ("InvalidArgument", 400,
                        "Only one auth mechanism allowed; only the X-Amz-Algorithm query "
                        "parameter, Signature query string parameter or the Authorization "
                        "header should be specified"),
    },
    "InvalidUriPath": {
        ErrorStyle.QUERY: ("InvalidURIPath", 400, ""),
    },
    "MalformedQueryString": {
        ErrorStyle.QUERY: ("MalformedQueryString", 400, ""),
    },
    "HeadersNotSigned": {
        ErrorStyle.QUERY: ("AccessDenied", 403,
                           "There were headers present in the request which were not signed"),
    },
    "MissingContentSha256": {
        ErrorStyle.QUERY: ("InvalidRequest", 400,
                           "Missing required header for this request: x-amz-content-sha256"),
    },
    "ContentSha256Mismatch": {
        ErrorStyle.QUERY: ("SignatureDoesNotMatch", 403, _SIGNATURE_MISMATCH),
        ErrorStyle.JSON: ("InvalidSignatureException", 400, _SIGNATURE_MISMATCH),
        ErrorStyle.S3: ("XAmzContentSHA256Mismatch", 400,
                        "The provided 'x-amz-content-sha256' header does not match what was "
                        "computed."),
    },
    "InvalidContentSha256": {
        ErrorStyle.QUERY: ("InvalidArgument", 400,
                           "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, "
                           "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, or a valid sha256 value."),
    },
    "IncompleteBody": {
        ErrorStyle.QUERY: ("IncompleteBody", 400,
                           "The request body is not valid aws-chunked encoding"),
    },
    "BadDigest": {
        ErrorStyle.QUERY: ("BadDigest", 400,
                           "The checksum you specified did not match what we received."),
    },
}  # fmt: skip



def auth_error(
    kind: str, style: ErrorStyle, message: str | None = None, *, hint: str | None = None
) -> AuthError:
    """The `AuthError` for failure `kind` as `style` spells it; `code` is `auth.<kind>`."""
    table = _ERRORS[kind]
    aws_error, status, default = table.get(style) or table[ErrorStyle.QUERY]
    return AuthError(
        message or default,
        aws_error=aws_error,
        status=status,
        code=f"auth.{kebab_case(kind)}",
        hint=hint,
    )


# --- canonical forms --------------------------------------------------------------------------


def _uri_encode(text: str | bytes) -> str:
    """RFC 3986 encoding with only the unreserved set left alone (upper-case hex)."""
    return quote(text, safe="-_.~")


def canonical_uri(path: str, *, s3: bool, style: ErrorStyle = ErrorStyle.QUERY) -> str:
    """The canonical URI of a raw (as-sent) path.

    Non-S3: remove empty, `.` and `..` segments, then percent-encode the already-encoded path
    again (what botocore signs: `quote(normalize_url_path(path), safe='/~')`). A `..` that
    climbs above the root is refused. S3: no normalisation; each segment is decoded and encoded
    once, which is the identity for what SDKs send and fixes raw non-ASCII.
    """
    if not path:
        return "/"
    if not path.startswith("/"):
        raise auth_error("InvalidUriPath", style, f"URI path is not absolute: `{path}`")
    if s3:
        return "/".join(_uri_encode(_percent_decode(seg, style, "InvalidUriPath"))
                        for seg in path.split("/"))  # fmt: skip
    segments: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if not segments:
                raise auth_error(
                    "InvalidUriPath", style, "URI path attempts to navigate above the root"
                )
            segments.pop()
            continue
        segments.append(segment)
    normalized = "/" + "/".join(segments)
    if path.endswith("/") and segments:
        normalized += "/"
    return quote(normalized, safe="/~")


def _percent_decode(text: str, style: ErrorStyle, kind: str) -> bytes:
    if "%" in text and re.search(r"%(?![0-9A-Fa-f]{2})", text):
        raise auth_error(kind, style, f"Illegal or incomplete percent escape in `{text}`")
    return unquote_to_bytes(text)


def parse_query(query: str, style: ErrorStyle = ErrorStyle.QUERY) -> list[tuple[bytes, bytes]]:
    """Decode a raw query string into (name, value) byte pairs, in order.

    `+` is a literal plus (as in the AWS SigV4 test suite), not a space; a name without `=` has
    an empty value.
    """
    pairs: list[tuple[bytes, bytes]] = []
    if not query:
        return pairs
    for piece in query.split("&"):
        if not piece:
            continue
        name, _, value = piece.partition("=")
        pairs.append(
            (_percent_decode(name, style, "MalformedQueryString"),
             _percent_decode(value, style, "MalformedQueryString"))
        )  # fmt: skip
    return pairs


def canonical_query(pairs: Iterable[tuple[bytes, bytes]], *, exclude: str | None = None) -> str:
    """Re-encode every name and value, sort by (name, value), join with `&`."""
    skip = exclude.encode() if exclude else None
    encoded = sorted(
        (_uri_encode(name), _uri_encode(value)) for name, value in pairs if name != skip
    )
    return "&".join(f"{name}={value}" for name, value in encoded)


def _trim_header_value(value: str) -> str:
    return " ".join(value.split())


def canonical_headers(request: HttpRequest, signed: Sequence[str]) -> str:
    """`name:value\\n` for each signed header, repeated values joined with `,`."""
    return "".join(
        f"{name}:{','.join(_trim_header_value(v) for v in request.header_values(name))}\n"
        for name in signed
    )


@functools.lru_cache(maxsize=1024)
def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """The derived SigV4 signing key (cached: it changes once a day per key and scope)."""
    k_date = hmac.digest(("AWS4" + secret).encode("utf-8"), date.encode(), "sha256")
    k_region = hmac.digest(k_date, region.encode("utf-8"), "sha256")
    k_service = hmac.digest(k_region, service.encode("utf-8"), "sha256")
    return hmac.digest(k_service, b"aws4_request", "sha256")


def _hmac_hex(key: bytes, message: str) -> str:
    return hmac.digest(key, message.encode("utf-8"), "sha256").hex()


def string_to_sign(amz_date: str, scope: str, canonical_request: str) -> str:
    digest = hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"


# --- parsed authentication ----------------------------------------------------------------------


@attrs.frozen(slots=True)
class _Auth:
    presigned: bool
    credential: str
    signed_headers: str
    signature: str = attrs.field(repr=False)
    amz_date: str
    signed_at: datetime
    expires: int | None
    session_token: str | None = attrs.field(repr=False)


def _parse_basic_date(value: str, style: ErrorStyle) -> datetime:
    if _BASIC_DATE_RE.fullmatch(value):
        try:  # by hand: strptime is slow and this runs on every request
            return datetime(
                int(value[0:4]), int(value[4:6]), int(value[6:8]),
                int(value[9:11]), int(value[11:13]), int(value[13:15]), tzinfo=UTC,
            )  # fmt: skip
        except ValueError:
            pass
    raise auth_error(
        "IncompleteSignature",
        style,
        f"Date must be in ISO-8601 'basic format'. Got '{value}'. "
        "See http://en.wikipedia.org/wiki/ISO_8601",
    )


def _parse_header_auth(request: HttpRequest, value: str, style: ErrorStyle) -> _Auth:
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise auth_error(
            "IncompleteSignature", style, f"Unsupported AWS 'algorithm': '{algorithm}'."
        )
    params: dict[str, str] = {}
    for piece in rest.split(","):
        piece = piece.strip()
        if not piece:
            continue
        key, eq, val = piece.partition("=")
        if not eq:
            raise auth_error(
                "IncompleteSignature",
                style,
                f"'{key[:32]}' not a valid key=value pair (missing equal-sign) in Authorization "
                "header",
            )
        params[key.strip()] = val.strip()  # later duplicates overwrite earlier ones
    missing = [
        f"Authorization header requires '{name}' parameter."
        for name in ("Credential", "Signature", "SignedHeaders")
        if name not in params
    ]
    amz_date = request.header("x-amz-date")
    signed_at: datetime | None = None
    if amz_date is None:
        date_header = request.header("date")
        if date_header is None:
            missing.append(
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' "
                "header."
            )
        else:
            try:
                signed_at = ensure_utc(parsedate_to_datetime(date_header))
            except (TypeError, ValueError):
                raise auth_error(
                    "IncompleteSignature",
                    style,
                    f"Date must be in ISO-8601 'basic format'. Got '{date_header}'. "
                    "See http://en.wikipedia.org/wiki/ISO_8601",
                ) from None
            amz_date = _fmt(signed_at)
    if missing:
        raise auth_error("IncompleteSignature", style, " ".join(missing))
    assert amz_date is not None
    if signed_at is None:
        signed_at = _parse_basic_date(amz_date, style)
    return _Auth(
        presigned=False,
        credential=params["Credential"],
        signed_headers=params["SignedHeaders"],
        signature=params["Signature"],
        amz_date=amz_date,
        signed_at=signed_at,
        expires=None,
        session_token=request.header("x-amz-security-token"),
    )


def _parse_query_auth(params: Mapping[str, str], style: ErrorStyle) -> _Auth:
    missing = [
        f"AWS query-string parameters must include '{name}'."
        for name in _QUERY_REQUIRED
        if name not in params
    ]
    if missing:
        raise auth_error(
            "IncompleteSignature",
            style,
            " ".join(missing) + " Re-examine the query-string parameters.",
        )
    algorithm = params["X-Amz-Algorithm"]
    if algorithm != ALGORITHM:
        raise auth_error(
            "IncompleteSignature", style, f"Unsupported AWS 'algorithm': '{algorithm}'."
        )
    raw_expires = params["X-Amz-Expires"]
    if not raw_expires.isdigit():
        raise auth_error("InvalidPresignExpires", style, "X-Amz-Expires should be a number")
    expires = int(raw_expires)
    if expires < 1:
        raise auth_error("InvalidPresignExpires", style, "X-Amz-Expires must be positive")
    if expires > MAX_PRESIGN_EXPIRES:
        raise auth_error(
            "InvalidPresignExpires",
            style,
            f"X-Amz-Expires must be less than a week (in seconds) that is {MAX_PRESIGN_EXPIRES}",
        )
    amz_date = params["X-Amz-Date"]
    return _Auth(
        presigned=True,
        credential=params["X-Amz-Credential"],
        signed_headers=params["X-Amz-SignedHeaders"],
        signature=params["X-Amz-Signature"],
        amz_date=amz_date,
        signed_at=_parse_basic_date(amz_date, style),
        expires=expires,
        session_token=params.get("X-Amz-Security-Token"),
    )


def _fmt(value: datetime) -> str:
    """ISO 8601 basic format, `20240501T120000Z` (value in UTC)."""
    return (
        f"{value.year:04d}{value.month:02d}{value.day:02d}"
        f"T{value.hour:02d}{value.minute:02d}{value.second:02d}Z"
    )


# --- the verifier ---------------------------------------------------------------------------------


class SigV4Verifier:
    """Verify SigV4-signed requests for one service endpoint against a credential store."""

    def __init__(
        self, store: CredentialStore, config: SigV4Config, clock: Clock = system_clock
    ) -> None:
        self.store = store
        self.config = config
        self.clock = clock

    def _error(self, kind: str, message: str | None = None, **kw: str) -> AuthError:
        return auth_error(kind, self.config.error_style, message, **kw)

    def verify(self, request: HttpRequest) -> VerifiedRequest:
        """Authenticate `request`; raise `AuthError` with AWS's code if it does not verify."""
        try:
            return self._verify(request)
        except AuthError as exc:
            logger.info("sigv4 rejected %s %s: %s", request.method, exc.aws_error, exc.code)
            raise

    def _verify(self, request: HttpRequest) -> VerifiedRequest:
        config, style = self.config, self.config.error_style
        now = ensure_utc(self.clock())
        pairs = parse_query(request.query, style)
        first: dict[str, str] = {}
        for raw_name, raw_value in pairs:
            name = raw_name.decode("utf-8", "replace")
            first.setdefault(name, raw_value.decode("utf-8", "replace"))  # first value wins
        authorization = request.header("authorization")
        query_form = any(name in first for name in _QUERY_AUTH_PARAMS)
        if authorization is not None and query_form:
            raise self._error("AmbiguousAuthentication")
        if authorization is None and not query_form:
            if config.allow_anonymous:
                return self._anonymous(request, now)
            raise self._error("MissingAuthenticationToken")
        auth = (
            _parse_query_auth(first, style)
            if query_form
            else _parse_header_auth(request, authorization or "", style)
        )

        self._check_time(auth, now)
        scope_date, region, service, access_key_id = self._check_scope(auth)
        signed = auth.signed_headers.split(";")
        signed_lower = [h.lower() for h in signed]
        self._check_signed_headers(request, signed_lower, auth)
        credential = self._lookup(access_key_id, auth, now)

        payload_hash = self._payload_hash(request, auth)
        canonical_request = "\n".join(
            (
                request.method,
                canonical_uri(request.path, s3=config.s3, style=style),
                canonical_query(pairs, exclude="X-Amz-Signature" if auth.presigned else None),
                canonical_headers(request, signed_lower),
                auth.signed_headers,
                payload_hash,
            )
        )
        scope = f"{scope_date}/{region}/{service}/aws4_request"
        key = signing_key(credential.secret_access_key.reveal(), scope_date, region, service)
        expected = _hmac_hex(key, string_to_sign(auth.amz_date, scope, canonical_request))
        if not hmac.compare_digest(expected.encode(), auth.signature.encode("utf-8")):
            raise self._error("SignatureDoesNotMatch")

        body = self._check_payload(request, payload_hash, key, auth, scope)
        if isinstance(credential, AccessKey) and config.record_last_used:
            self._record_last_used(credential, LastUsed(now, service, region))
        return VerifiedRequest(
            credential=credential,
            region=region,
            service=service,
            signed_at=auth.signed_at,
            presigned=auth.presigned,
            context=self._context(request, now, credential, auth, region),
            body=body,
        )

    # -- steps ---------------------------------------------------------------------------------

    def _record_last_used(self, key: AccessKey, used: LastUsed) -> None:
        # At most one store write per key, service and region per `last_used_resolution`:
        # a durable store would otherwise commit (and fsync) on every request.
        previous = key.last_used
        if (
            previous is not None
            and (previous.service, previous.region) == (used.service, used.region)
            and used.date - previous.date < self.config.last_used_resolution
        ):
            return
        self.store.record_last_used(key.access_key_id, used)

    def _check_time(self, auth: _Auth, now: datetime) -> None:
        skew = self.config.max_skew
        minutes = int(skew.total_seconds() // 60)
        signed_at = auth.signed_at
        if auth.presigned:
            assert auth.expires is not None
            if signed_at - now > skew:
                raise self._error(
                    "PresignNotYetValid" if self.config.s3 else "RequestTimeSkewed",
                    None if self.config.s3 else self._not_yet_current(signed_at, now, minutes),
                )
            if now > signed_at + timedelta(seconds=auth.expires):
                raise self._error("PresignExpired")
            return
        if now - signed_at > skew:
            raise self._error(
                "RequestTimeSkewed",
                None
                if self.config.error_style in (ErrorStyle.S3, ErrorStyle.EC2)
                else f"Signature expired: {_fmt(signed_at)} is now earlier than "
                f"{_fmt(now - skew)} ({_fmt(now)} - {minutes} min.)",
            )
        if signed_at - now > skew:
            raise self._error(
                "RequestTimeSkewed",
                None
                if self.config.error_style in (ErrorStyle.S3, ErrorStyle.EC2)
                else self._not_yet_current(signed_at, now, minutes),
            )

    def _not_yet_current(self, signed_at: datetime, now: datetime, minutes: int) -> str:
        skew = self.config.max_skew
        return (
            f"Signature not yet current: {_fmt(signed_at)} is still later than "
            f"{_fmt(now + skew)} ({_fmt(now)} + {minutes} min.)"
        )

    def _check_scope(self, auth: _Auth) -> tuple[str, str, str, str]:
        config = self.config
        parts = auth.credential.split("/")
        if len(parts) != 5:
            shown = "/".join([mask_key_id(parts[0]), *parts[1:]])
            raise self._error(
                "IncompleteSignature",
                "Credential must have exactly 5 slash-delimited elements, "
                f"e.g. keyid/date/region/service/term, got '{shown}'",
            )
        access_key_id, date, region, service, terminator = parts
        if date != auth.amz_date[:8]:
            raise self._error(
                "CredentialScopeMismatch",
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
                f"from HTTP: '{date}' != '{auth.amz_date[:8]}', from '{auth.amz_date}'.",
            )
        problems: list[str] = []
        if region not in config.regions:
            problems.append(
                f"the region '{region}' is wrong; expecting '{min(config.regions)}'"
                if config.s3
                else "Credential should be scoped to a valid region. "
            )
        if service != config.service:
            problems.append(
                f"the service '{service}' is wrong; expecting '{config.service}'"
                if config.s3
                else f"Credential should be scoped to correct service: '{config.service}'. "
            )
        if terminator != "aws4_request":
            problems.append(
                f"the terminator '{terminator}' is wrong; expecting 'aws4_request'"
                if config.s3
                else "Credential should be scoped with a valid terminator: 'aws4_request', "
                f"not '{terminator}'. "
            )
        if problems:
            message = (
                "The authorization header is malformed; " + "; ".join(problems)
                if config.s3
                else "".join(problems)
            )
            raise self._error("CredentialScopeMismatch", message)
        return date, region, service, access_key_id

    def _check_signed_headers(
        self, request: HttpRequest, signed: Sequence[str], auth: _Auth
    ) -> None:
        if "host" not in signed and ":authority" not in signed:
            raise self._error(
                "SignatureDoesNotMatch",
                "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
            )
        if not self.config.s3:
            return
        present = request.header_names
        if not auth.presigned and "x-amz-content-sha256" not in present:
            raise self._error("MissingContentSha256")
        unsigned = sorted(
            name
            for name in present
            if name.startswith("x-amz-") and name not in signed and name != "x-amz-content-sha256"
        )
        # x-amz-content-sha256 is covered anyway: it is the canonical request's payload line.
        if unsigned:
            raise self._error(
                "HeadersNotSigned",
                "There were headers present in the request which were not signed: "
                + ", ".join(unsigned),
            )

    def _lookup(self, access_key_id: str, auth: _Auth, now: datetime) -> Credential:
        credential = self.store.get(access_key_id)
        if credential is None:
            raise self._error("InvalidClientTokenId")
        if isinstance(credential, AccessKey):
            if auth.session_token is not None or not credential.is_active:
                raise self._error("InvalidClientTokenId")
            return credential
        if auth.session_token is None:
            raise self._error("InvalidClientTokenId")
        if not credential.session_token.matches(auth.session_token):
            raise self._error("InvalidToken")
        if credential.is_expired(now):
            raise self._error("ExpiredToken")
        return credential

    def _payload_hash(self, request: HttpRequest, auth: _Auth) -> str:
        declared = request.header("x-amz-content-sha256")
        if declared is not None:
            if declared == UNSIGNED_PAYLOAD and not self.config.allow_unsigned_payload:
                raise self._error("InvalidContentSha256", "UNSIGNED-PAYLOAD is not accepted here")
            if not (
                declared in (UNSIGNED_PAYLOAD, STREAMING_SIGNED, STREAMING_UNSIGNED_TRAILER)
                or _HEX64_RE.fullmatch(declared)
            ):
                raise self._error("InvalidContentSha256")
            return declared
        if auth.presigned and self.config.s3:
            return UNSIGNED_PAYLOAD
        actual = self._body_sha256(request)
        return actual if actual is not None else EMPTY_SHA256

    @staticmethod
    def _body_sha256(request: HttpRequest) -> str | None:
        if request.body is not None:
            return hashlib.sha256(request.body).hexdigest()
        return request.payload_sha256

    def _check_payload(
        self, request: HttpRequest, payload_hash: str, key: bytes, auth: _Auth, scope: str
    ) -> bytes | None:
        if payload_hash == STREAMING_SIGNED:
            if request.body is None:
                return None
            return self._decode_chunks(request, key, auth, scope, signed=True)
        if payload_hash == STREAMING_UNSIGNED_TRAILER:
            if request.body is None:
                return None
            return self._decode_chunks(request, key, auth, scope, signed=False)
        # Only a declared hash can disagree with the body; otherwise we hashed the body ourselves.
        if payload_hash != UNSIGNED_PAYLOAD and request.header("x-amz-content-sha256") is not None:
            actual = self._body_sha256(request)
            if actual is not None and not hmac.compare_digest(actual, payload_hash):
                raise self._error("ContentSha256Mismatch")
        return request.body

    def _decode_chunks(
        self, request: HttpRequest, key: bytes, auth: _Auth, scope: str, *, signed: bool
    ) -> bytes:
        """Strip aws-chunked framing, checking each chunk's signature (signed streaming)."""
        body = request.body or b""
        previous = auth.signature
        out = bytearray()
        pos = 0
        while True:
            line_end = body.find(b"\r\n", pos)
            if line_end < 0:
                raise self._error("IncompleteBody")
            header = body[pos:line_end].decode("latin-1")
            size_text, _, extension = header.partition(";")
            try:
                size = int(size_text, 16)
            except ValueError:
                raise self._error("IncompleteBody") from None
            start = line_end + 2
            data = body[start : start + size]
            if len(data) != size:
                raise self._error("IncompleteBody")
            if signed:
                name, _, chunk_signature = extension.partition("=")
                if name.strip() != "chunk-signature":
                    raise self._error("IncompleteBody", "chunk without a chunk-signature")
                to_sign = "\n".join(
                    (
                        "AWS4-HMAC-SHA256-PAYLOAD",
                        auth.amz_date,
                        scope,
                        previous,
                        EMPTY_SHA256,
                        hashlib.sha256(data).hexdigest(),
                    )
                )
                expected = _hmac_hex(key, to_sign)
                if not hmac.compare_digest(expected.encode(), chunk_signature.strip().encode()):
                    raise self._error("SignatureDoesNotMatch")
                previous = expected
            out += data
            pos = start + size
            if size == 0:
                break
            if body[pos : pos + 2] != b"\r\n":
                raise self._error("IncompleteBody")
            pos += 2
        trailer_text = body[pos:].decode("latin-1")
        if not signed:
            self._check_trailers(bytes(out), trailer_text)
        elif trailer_text not in ("", "\r\n"):
            raise self._error("IncompleteBody", "unexpected data after the final chunk")
        declared = request.header("x-amz-decoded-content-length")
        if declared is not None and declared.strip() != str(len(out)):
            raise self._error("IncompleteBody")
        return bytes(out)

    def _check_trailers(self, data: bytes, text: str) -> None:
        """Verify the checksum trailers we can compute (crc32, sha1, sha256); keep the rest."""
        for line in text.split("\r\n"):
            if not line:
                continue
            name, sep, value = line.partition(":")
            if not sep:
                raise self._error("IncompleteBody", "malformed trailer")
            name, value = name.strip().lower(), value.strip()
            if name == "x-amz-checksum-crc32":
                expected = b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
            elif name == "x-amz-checksum-sha1":
                expected = b64encode(hashlib.sha1(data).digest()).decode()
            elif name == "x-amz-checksum-sha256":
                expected = b64encode(hashlib.sha256(data).digest()).decode()
            else:
                continue
            if expected != value:
                raise self._error("BadDigest")

    # -- results --------------------------------------------------------------------------------

    def _base_context(self, request: HttpRequest, now: datetime) -> dict[str, str]:
        context = {
            "aws:CurrentTime": format_iso8601(now),
            "aws:EpochTime": str(int(now.timestamp())),
            "aws:SecureTransport": "true" if request.secure else "false",
        }
        if request.peer_address:
            context["aws:SourceIp"] = request.peer_address
        agent = request.header("user-agent")
        if agent is not None:
            context["aws:UserAgent"] = agent
        return context

    def _context(
        self,
        request: HttpRequest,
        now: datetime,
        credential: Credential,
        auth: _Auth,
        region: str,
    ) -> dict[str, str]:
        context = self._base_context(request, now)
        context["aws:RequestedRegion"] = region
        if isinstance(credential, TemporaryCredential):
            context["aws:TokenIssueTime"] = format_iso8601(credential.issued_at)
            context["aws:MultiFactorAuthPresent"] = "true" if credential.mfa_present else "false"
            if credential.mfa_authenticated_at is not None:
                age = max(0, int((now - credential.mfa_authenticated_at).total_seconds()))
                context["aws:MultiFactorAuthAge"] = str(age)
        if self.config.s3:
            context["s3:authType"] = "REST-QUERY-STRING" if auth.presigned else "REST-HEADER"
            context["s3:signatureversion"] = ALGORITHM
            age_ms = int((now - auth.signed_at).total_seconds() * 1000)
            context["s3:signatureAge"] = str(max(0, age_ms))
            declared = request.header("x-amz-content-sha256")
            if declared is not None:
                context["s3:x-amz-content-sha256"] = declared
        return context

    def _anonymous(self, request: HttpRequest, now: datetime) -> VerifiedRequest:
        return VerifiedRequest(
            credential=None,
            region=None,
            service=self.config.service,
            signed_at=None,
            presigned=False,
            context=self._base_context(request, now),
            body=request.body,
        )
