"""A fake EC2 instance metadata service (IMDS) handing out instance-profile credentials.

spec/evaluation.md §8. `ImdsInstance` is one simulated EC2 instance: its instance profile (from
the account model) holds a role, and the instance's credentials are a role session obtained
from STS *as ec2.amazonaws.com* (`StsService.assume_role_for_service`, session name = instance
id), issued into the credential store that the protected services verify against. Each
session carries the §8.1 instance keys in its session context (`ImdsInstance.session_context`):
`ec2:SourceInstanceARN`, `ec2:RoleDelivery`, and `aws:Ec2InstanceSourceVpc` /
`aws:Ec2InstanceSourcePrivateIPv4` when the instance has a VPC id / private IPv4 address.

Like EC2 with `HttpTokens=optional`, an instance that allows IMDSv1 keeps two credential sets:
a request with a valid session token gets the IMDSv2 credentials (`ec2:RoleDelivery` "2.0"), a
request without one the IMDSv1 credentials ("1.0"). With IMDSv2 required only "2.0" exists.

`ImdsInstance.handle(method, path, headers)` speaks the IMDS protocol without sockets (unit
tests call it directly); `ImdsServer` serves one instance over HTTP (stdlib
`ThreadingHTTPServer`, loopback by default) — one instance per port, so a client picks its
instance by the endpoint it is pointed at.

Protocol (§8.2): `PUT /latest/api/token` with `X-aws-ec2-metadata-token-ttl-seconds: N`
(1..21600) → a token; missing or bad TTL → 400; `X-Forwarded-For` on the PUT → 403; PUT to a
dated version path → 403. GET/HEAD with `X-aws-ec2-metadata-token`: a bad or expired token →
401; no token → 401 unless IMDSv1 is allowed. Unknown path → 404. Listings are newline-separated
without a trailing newline (botocore uses the role listing verbatim in the next URL).

Rotation: credentials are replaced once `now >= Expiration - refresh_margin`, and the margin is
at least 5 minutes, so new credentials are published well before the old ones expire; the old
ones stay valid in the store until their own expiry (clients holding them keep working). A
client is never handed expired credentials: if the refresh fails and the current ones have
expired, the endpoint answers with IMDS's error document (`{"Code": …, "Message": …}`, HTTP 200)
instead. `rotate()` forces a new credential at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import re
import secrets
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Final, Literal

import attrs

from policylang import _json
from policylang.account.model import Account, Environment, InstanceProfile, Role
from policylang.auth.clock import Clock, ensure_utc, format_iso8601
from policylang.auth.credentials import TemporaryCredential
from policylang.auth.sts import StsService
from policylang.errors import AccountError, AuthError

EC2_SERVICE: Final = "ec2.amazonaws.com"
TOKEN_PATH: Final = "/latest/api/token"
TTL_HEADER: Final = "x-aws-ec2-metadata-token-ttl-seconds"
TOKEN_HEADER: Final = "x-aws-ec2-metadata-token"
MAX_TOKEN_TTL: Final = 21600
_TAG_BYTES: Final = 24
MIN_REFRESH_MARGIN: Final = timedelta(minutes=5)
DEFAULT_REFRESH_MARGIN: Final = timedelta(minutes=15)
DEFAULT_CREDENTIAL_TTL: Final = 3600
_TTL_RE: Final = re.compile(r"[0-9]{1,6}")
_VERSION_RE: Final = re.compile(r"/(latest|\d{4}-\d{2}-\d{2}|1\.0)(/.*)?")
_INSTANCE_ID_RE: Final = re.compile(r"i-[0-9a-f]{8}([0-9a-f]{9})?")
_VPC_ID_RE: Final = re.compile(r"vpc-[0-9a-f]{8}([0-9a-f]{9})?")

Delivery = Literal["1.0", "2.0"]
"""How the credentials reached the instance: IMDSv1 ("1.0") or IMDSv2 ("2.0")."""
_TRUST_DOC: Final = (
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/"
    "id_roles_use_switch-role-ec2.html#troubleshoot_roles_ec2-trust-policy"
)


class ImdsError(AuthError):
    """A bad IMDS configuration (unknown profile, malformed instance id…)."""

    default_code = "imds.error"


@attrs.frozen(slots=True)
class ImdsResponse:
    """One IMDS answer: status, headers, body (empty for HEAD, but Content-Length kept)."""

    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str = "text/plain"

    @classmethod
    def text(cls, status: int, text: str, content_type: str = "text/plain") -> ImdsResponse:
        return cls(status, text.encode("utf-8"), content_type=content_type)


_NOT_FOUND_BODY: Final = (
    '<?xml version="1.0" encoding="iso-8859-1"?>\n'
    '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"\n'
    '\t"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n'
    '<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">\n'
    " <head>\n  <title>{status} - {reason}</title>\n </head>\n"
    " <body>\n  <h1>{status} - {reason}</h1>\n </body>\n</html>\n"
)
_REASONS: Final = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
}


def _error(status: int) -> ImdsResponse:
    """IMDS's HTML error page (real IMDS answers errors with this shape)."""
    body = _NOT_FOUND_BODY.format(status=status, reason=_REASONS.get(status, "Error"))
    return ImdsResponse.text(status, body, "text/html")


@attrs.frozen(slots=True)
class InstanceCredentials:
    """What the instance currently publishes (or the failure, when STS refused)."""

    credential: TemporaryCredential | None
    last_updated: datetime
    code: str = "Success"
    message: str | None = None


def _token_key() -> bytes:
    return secrets.token_bytes(32)


class ImdsInstance:
    """One simulated EC2 instance with an instance profile; see the module docstring.

    `credential_ttl` is the session duration requested from STS (clamped to the role's
    MaxSessionDuration, at least 900 s); `refresh_margin` how long before expiry a new
    credential is published (at least 5 minutes, at most half the TTL). `vpc_id` and
    `private_ip` (None: the instance has none) feed the metadata and the session context.
    """

    def __init__(
        self,
        sts: StsService,
        instance_id: str,
        profile: InstanceProfile,
        account: Account,
        *,
        allow_v1: bool = False,
        credential_ttl: int = DEFAULT_CREDENTIAL_TTL,
        refresh_margin: timedelta = DEFAULT_REFRESH_MARGIN,
        region: str = "us-east-1",
        instance_type: str = "t3.micro",
        private_ip: str | None = "10.0.0.10",
        vpc_id: str | None = None,
    ) -> None:
        if not _INSTANCE_ID_RE.fullmatch(instance_id):
            raise ImdsError(
                f"invalid instance id `{instance_id}`",
                aws_error="InvalidInstanceID.Malformed",
                code="imds.bad-instance-id",
                status=400,
                hint="instance ids look like i-0123456789abcdef0 (i- and 8 or 17 hex digits)",
            )
        if not 900 <= credential_ttl <= 43200:
            raise ImdsError(
                f"credential TTL {credential_ttl} s is out of range",
                aws_error="ValidationError",
                code="imds.bad-credential-ttl",
                status=400,
                hint="pick 900..43200 seconds (STS's DurationSeconds bounds)",
            )
        if vpc_id is not None and not _VPC_ID_RE.fullmatch(vpc_id):
            raise ImdsError(
                f"invalid VPC id `{vpc_id}`",
                aws_error="InvalidVpcID.Malformed",
                code="imds.bad-vpc-id",
                status=400,
                hint="VPC ids look like vpc-0123456789abcdef0 (vpc- and 8 or 17 hex digits)",
            )
        if private_ip is not None:
            try:
                ipaddress.IPv4Address(private_ip)
            except ValueError:
                raise ImdsError(
                    f"invalid private IPv4 address `{private_ip}`",
                    aws_error="InvalidParameterValue",
                    code="imds.bad-private-ip",
                    status=400,
                    hint="give a dotted-quad IPv4 address such as 10.0.0.10",
                ) from None
        self.sts = sts
        self.instance_id = instance_id
        self.profile = profile
        self.account = account
        self.allow_v1 = allow_v1
        self.region = region
        self.instance_type = instance_type
        self.private_ip = private_ip
        self.vpc_id = vpc_id
        role = self.role
        self.credential_ttl = (
            min(credential_ttl, role.max_session_duration) if role else credential_ttl
        )
        half = timedelta(seconds=self.credential_ttl / 2)
        self.refresh_margin = max(MIN_REFRESH_MARGIN, min(refresh_margin, half))
        self._lock = threading.Lock()
        # One credential set per delivery: IMDSv1 requests get their own (see the docstring).
        self._current: dict[Delivery, InstanceCredentials] = {}
        self._token_key = _token_key()
        self.started = self.now()
        self.rotations = 0

    # ------------------------------------------------------------------ state

    @property
    def clock(self) -> Clock:
        return self.sts.clock

    def now(self) -> datetime:
        return ensure_utc(self.clock())

    @property
    def role(self) -> Role | None:
        """The role in the profile (looked up live), or None for an empty profile."""
        if self.profile.role is None:
            return None
        return self.account.roles.get(self.profile.role.lower())

    @property
    def instance_arn(self) -> str:
        return (
            f"arn:{self.account.partition}:ec2:{self.region}:{self.account.account_id}:"
            f"instance/{self.instance_id}"
        )

    def session_context(self, delivery: Delivery = "2.0") -> dict[str, str]:
        """The keys EC2 puts in the role session's context (§8.1), for `delivery`."""
        ctx = {"ec2:SourceInstanceARN": self.instance_arn, "ec2:RoleDelivery": delivery}
        if self.vpc_id is not None:
            ctx["aws:Ec2InstanceSourceVpc"] = self.vpc_id
        if self.private_ip is not None:
            ctx["aws:Ec2InstanceSourcePrivateIPv4"] = self.private_ip
        return ctx

    def credentials(self, delivery: Delivery = "2.0") -> InstanceCredentials | None:
        """The credentials to publish now over `delivery`, refreshing them first when due;
        None without a role."""
        role = self.role
        if role is None:
            return None
        with self._lock:
            now = self.now()
            current = self._current.get(delivery)
            if current is None or self._due(current, now):
                fresh = self._issue(role, now, delivery)
                if fresh.credential is not None or current is None or self._expired(current, now):
                    # Keep still-valid credentials when a refresh fails (clients keep working);
                    # never publish expired ones.
                    self._current[delivery] = fresh
                    self.rotations += fresh.credential is not None
            return self._current[delivery]

    def rotate(self) -> InstanceCredentials | None:
        """Force new credentials now, for every delivery handed out so far (the old ones stay
        valid until they expire); returns the IMDSv2 ones."""
        role = self.role
        if role is None:
            return None
        with self._lock:
            deliveries: set[Delivery] = {"2.0", *self._current}
            for delivery in sorted(deliveries):
                fresh = self._issue(role, self.now(), delivery)
                if fresh.credential is not None or delivery not in self._current:
                    self._current[delivery] = fresh
                    self.rotations += fresh.credential is not None
            return self._current["2.0"]

    def refresh_if_due(self) -> bool:
        """Rotate whatever has reached its refresh window (for a background timer)."""
        with self._lock:
            now = self.now()
            due: list[Delivery] = [d for d, c in self._current.items() if self._due(c, now)]
            if "2.0" not in self._current:
                due.append("2.0")
        for delivery in due:
            self.credentials(delivery)
        return bool(due)

    def _due(self, current: InstanceCredentials, now: datetime) -> bool:
        if current.credential is None:
            return True  # the last attempt failed: try again
        return now >= current.credential.expiration - self.refresh_margin

    @staticmethod
    def _expired(current: InstanceCredentials, now: datetime) -> bool:
        return current.credential is None or current.credential.is_expired(now)

    def _issue(self, role: Role, now: datetime, delivery: Delivery) -> InstanceCredentials:
        try:
            result = self.sts.assume_role_for_service(
                EC2_SERVICE,
                role.arn,
                self.instance_id,
                duration_seconds=self.credential_ttl,
                session_context=self.session_context(delivery),
            )
        except (AuthError, AccountError) as error:
            return InstanceCredentials(
                None,
                now,
                code="AssumeRoleUnauthorizedAccess",
                message=(
                    f"EC2 cannot assume the role {role.name}. "
                    f"Please see documentation at {_TRUST_DOC}. ({error.message})"
                ),
            )
        self.sts.store.purge_expired(now)
        return InstanceCredentials(result.credentials, now)

    # ------------------------------------------------------------------ tokens

    def _make_token(self, ttl: int) -> str:
        expires = int(self.now().timestamp()) + ttl
        payload = f"{self.instance_id}:{expires}:{secrets.token_hex(8)}".encode()
        tag = hmac.new(self._token_key, payload, hashlib.sha256).digest()[:_TAG_BYTES]
        return base64.urlsafe_b64encode(payload + b"." + tag).decode("ascii")

    def token_valid(self, token: str) -> bool:
        """A token this instance issued, not expired (and not issued by another instance)."""
        try:
            raw = base64.urlsafe_b64decode(token.encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            return False
        # The tag is binary and may contain b"." itself: split by its fixed length.
        payload, sep, tag = (
            raw[: -_TAG_BYTES - 1],
            raw[-_TAG_BYTES - 1 : -_TAG_BYTES],
            raw[-_TAG_BYTES:],
        )
        if sep != b"." or not payload:
            return False
        expected = hmac.new(self._token_key, payload, hashlib.sha256).digest()[:_TAG_BYTES]
        if not hmac.compare_digest(expected, tag):
            return False
        try:
            expires = int(payload.decode("ascii").split(":")[1])
        except (ValueError, IndexError, UnicodeDecodeError):
            return False
        return self.now().timestamp() < expires

    # ------------------------------------------------------------------ protocol

    def handle(
        self, method: str, path: str, headers: Mapping[str, str] | None = None
    ) -> ImdsResponse:
        """Answer one IMDS request. `headers` keys are matched case-insensitively."""
        lowered = {k.lower(): v for k, v in (headers or {}).items()}
        path = path.split("?", 1)[0]
        method = method.upper()
        if method == "PUT":
            return self._put(path, lowered)
        if method not in ("GET", "HEAD"):
            return _error(405)
        if path.rstrip("/") == TOKEN_PATH:
            return _error(405)
        token = lowered.get(TOKEN_HEADER)
        if token is not None:
            if not self.token_valid(token):
                return _error(401)
        elif not self.allow_v1:
            return _error(401)
        response = self._get(path, "2.0" if token is not None else "1.0")
        if method == "HEAD":
            return attrs.evolve(
                response,
                body=b"",
                headers=(*response.headers, ("Content-Length", str(len(response.body)))),
            )
        return response

    def _put(self, path: str, headers: Mapping[str, str]) -> ImdsResponse:
        if path != TOKEN_PATH:
            matched = _VERSION_RE.fullmatch(path)
            return _error(403 if matched and path.endswith("/api/token") else 405)
        if "x-forwarded-for" in headers:
            return _error(403)
        ttl_text = headers.get(TTL_HEADER)
        if ttl_text is None or not _TTL_RE.fullmatch(ttl_text.strip()):
            return _error(400)
        ttl = int(ttl_text.strip())
        if not 1 <= ttl <= MAX_TOKEN_TTL:
            return _error(400)
        return ImdsResponse(
            200,
            self._make_token(ttl).encode("ascii"),
            headers=(("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", str(ttl)),),
        )

    def _get(self, path: str, delivery: Delivery) -> ImdsResponse:
        if path in ("", "/"):
            return ImdsResponse.text(200, "latest")
        matched = _VERSION_RE.fullmatch(path)
        if matched is None:
            return _error(404)
        rest = matched.group(2) or "/"
        if rest == "/":
            return ImdsResponse.text(200, "dynamic\nmeta-data")
        handler = self._routes(delivery).get(rest)
        if handler is not None:
            return handler()
        prefix = "/meta-data/iam/security-credentials/"
        if rest.startswith(prefix) and len(rest) > len(prefix):
            return self._credentials_document(rest[len(prefix) :], delivery)
        return _error(404)

    def _routes(self, delivery: Delivery) -> dict[str, Callable[[], ImdsResponse]]:
        has_role = self.role is not None
        iam: dict[str, Callable[[], ImdsResponse]] = {}
        if has_role:
            iam = {
                "/meta-data/iam/": lambda: ImdsResponse.text(200, "info\nsecurity-credentials/"),
                "/meta-data/iam/info": lambda: self._info(delivery),
                "/meta-data/iam/security-credentials/": self._role_listing,
            }
        az = self.region + "a"
        listing = [
            "ami-id",
            "hostname",
            *(["iam/"] if has_role else []),
            "instance-id",
            "instance-type",
            "local-hostname",
            *(["local-ipv4"] if self.private_ip is not None else []),
            "placement/",
        ]
        ip = self.private_ip
        # Without an IPv4 address EC2 names the host after the instance (resource-name hostname).
        hostname = (
            f"ip-{ip.replace('.', '-')}.ec2.internal"
            if ip is not None
            else f"{self.instance_id}.ec2.internal"
        )
        routes: dict[str, Callable[[], ImdsResponse]] = {
            "/meta-data/": lambda: ImdsResponse.text(200, "\n".join(listing)),
            "/meta-data/ami-id": lambda: ImdsResponse.text(200, "ami-0123456789abcdef0"),
            "/meta-data/hostname": lambda: ImdsResponse.text(200, hostname),
            "/meta-data/local-hostname": lambda: ImdsResponse.text(200, hostname),
            "/meta-data/instance-id": lambda: ImdsResponse.text(200, self.instance_id),
            "/meta-data/instance-type": lambda: ImdsResponse.text(200, self.instance_type),
            "/meta-data/placement/": lambda: ImdsResponse.text(200, "availability-zone\nregion"),
            "/meta-data/placement/availability-zone": lambda: ImdsResponse.text(200, az),
            "/meta-data/placement/region": lambda: ImdsResponse.text(200, self.region),
            "/dynamic/": lambda: ImdsResponse.text(200, "instance-identity/"),
            "/dynamic/instance-identity/": lambda: ImdsResponse.text(200, "document"),
            "/dynamic/instance-identity/document": self._identity_document,
            **iam,
        }
        if ip is not None:
            routes["/meta-data/local-ipv4"] = lambda: ImdsResponse.text(200, ip)
        return routes

    def _json(self, value: object) -> ImdsResponse:
        return ImdsResponse.text(200, _json.dumps(value, pretty=True))

    def _info(self, delivery: Delivery) -> ImdsResponse:
        current = self.credentials(delivery)
        assert current is not None  # only routed when the profile holds a role
        value: dict[str, str] = {
            "Code": current.code,
            "LastUpdated": format_iso8601(current.last_updated),
        }
        if current.message is not None:
            value["Message"] = current.message
        value["InstanceProfileArn"] = self.profile.arn
        value["InstanceProfileId"] = self.profile.id
        return self._json(value)

    def _role_listing(self) -> ImdsResponse:
        role = self.role
        assert role is not None
        return ImdsResponse.text(200, role.name)  # no trailing newline (§8.3 step 3)

    def _credentials_document(self, name: str, delivery: Delivery) -> ImdsResponse:
        role = self.role
        if role is None or name != role.name:
            return _error(404)
        current = self.credentials(delivery)
        assert current is not None
        credential = current.credential
        if credential is None:
            return self._json(
                {
                    "Code": current.code,
                    "Message": current.message or "",
                    "LastUpdated": format_iso8601(current.last_updated),
                }
            )
        return self._json(
            {
                "Code": "Success",
                "LastUpdated": format_iso8601(current.last_updated),
                "Type": "AWS-HMAC",
                "AccessKeyId": credential.access_key_id,
                "SecretAccessKey": credential.secret_access_key.reveal(),
                "Token": credential.session_token.reveal(),
                "Expiration": format_iso8601(credential.expiration),
            }
        )

    def _identity_document(self) -> ImdsResponse:
        return self._json(
            {
                "accountId": self.account.account_id,
                "architecture": "x86_64",
                "availabilityZone": self.region + "a",
                "billingProducts": None,
                "devpayProductCodes": None,
                "marketplaceProductCodes": None,
                "imageId": "ami-0123456789abcdef0",
                "instanceId": self.instance_id,
                "instanceType": self.instance_type,
                "kernelId": None,
                "pendingTime": format_iso8601(self.started),
                "privateIp": self.private_ip,
                "ramdiskId": None,
                "region": self.region,
                "version": "2017-09-30",
            }
        )


def find_profile(env: Environment, name: str) -> tuple[Account, InstanceProfile]:
    """The instance profile `name` (a name, `account:name` or the profile's ARN)."""
    wanted_account: str | None = None
    wanted = name
    if name.startswith("arn:"):
        parts = name.split(":", 5)
        if len(parts) == 6 and parts[5].startswith("instance-profile/"):
            wanted_account, wanted = parts[4], parts[5].rsplit("/", 1)[-1]
    elif ":" in name:
        wanted_account, _, wanted = name.partition(":")
    found: list[tuple[Account, InstanceProfile]] = []
    for account in env.accounts.values():
        if wanted_account is not None and account.account_id != wanted_account:
            continue
        profile = account.instance_profiles.get(wanted.lower())
        if profile is not None:
            found.append((account, profile))
    if len(found) == 1:
        return found[0]
    known = sorted(
        f"{a.account_id}:{p.name}"
        for a in env.accounts.values()
        for p in a.instance_profiles.values()
    )
    if not found:
        raise ImdsError(
            f"no instance profile `{name}` in the loaded accounts",
            aws_error="NoSuchEntity",
            status=404,
            code="imds.unknown-profile",
            hint="known profiles: " + (", ".join(known) or "none"),
        )
    raise ImdsError(
        f"instance profile `{name}` exists in several accounts",
        aws_error="ValidationError",
        code="imds.ambiguous-profile",
        status=400,
        hint="qualify it as ACCOUNT:NAME: " + ", ".join(known),
    )


# ---------------------------------------------------------------------------------------------
# HTTP


class _Handler(BaseHTTPRequestHandler):
    server: ImdsServer
    protocol_version = "HTTP/1.1"
    server_version = "EC2ws"
    sys_version = ""

    def version_string(self) -> str:
        return self.server_version

    def _serve(self) -> None:
        length = self.headers.get("Content-Length")
        if length:
            try:
                size = int(length)
            except ValueError:
                size = -1
            if not 0 <= size <= 65536:
                self._send(_error(400), close=True)
                return
            self.rfile.read(size)  # IMDS ignores bodies; drain to keep the connection usable
        headers = {name: value for name, value in self.headers.items()}
        response = self.server.instance.handle(self.command, self.path, headers)
        self._send(response)

    def _send(self, response: ImdsResponse, *, close: bool = False) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        names = {name.lower() for name, _ in response.headers}
        for name, value in response.headers:
            self.send_header(name, value)
        if "content-length" not in names:
            self.send_header("Content-Length", str(len(response.body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if response.body:
            self.wfile.write(response.body)

    do_GET = do_PUT = do_HEAD = do_POST = do_DELETE = do_PATCH = _serve

    def log_message(self, format: str, *args: object) -> None:
        if self.server.log is not None:
            self.server.log(f"{self.server.instance.instance_id} {format % args}")


class ImdsServer(ThreadingHTTPServer):
    """Serves one `ImdsInstance` over HTTP. `port=0` picks a free port (see `url`)."""

    daemon_threads = True

    def __init__(
        self,
        instance: ImdsInstance,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.instance = instance
        self.log = log
        super().__init__((host, port), _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        text = host.decode() if isinstance(host, bytes) else str(host)
        shown = f"[{text}]" if ":" in text else text
        return f"http://{shown}:{port}"

    def start(self) -> threading.Thread:
        """Serve on a daemon thread; stop with `shutdown()` then `server_close()`."""
        thread = threading.Thread(target=self.serve_forever, name=f"imds-{self.url}", daemon=True)
        thread.start()
        return thread


__all__ = [
    "ImdsError",
    "ImdsInstance",
    "ImdsResponse",
    "ImdsServer",
    "InstanceCredentials",
    "find_profile",
]
