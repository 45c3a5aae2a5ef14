"""The middleware over real HTTP on 127.0.0.1, driven by boto3/botocore clients.

A small STS-like Query-protocol service (GetCallerIdentity, AssumeRole, and
DecodeAuthorizationMessage standing for "an operation that needs a permission") is protected
by `SigV4AuthMiddleware` (ASGI, served by uvicorn) and by `SigV4AuthWSGIMiddleware` (stdlib
wsgiref). boto3's STS client, pointed at it with `endpoint_url`, must see: allowed calls
answered, denied calls as `AccessDenied` with AWS's message, unsigned calls as
`MissingAuthenticationToken`, bad secrets as `SignatureDoesNotMatch`, unknown keys as
`InvalidClientTokenId` — and credentials issued by AssumeRole must work for the next call.
Servers bind to loopback on an ephemeral port and are shut down at the end.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from xml.sax.saxutils import escape

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from policylang.account import Account
from policylang.auth import (
    InMemoryCredentialStore,
    SigV4Config,
    SigV4Verifier,
    create_access_key,
)
from policylang.auth.middleware import PRINCIPAL_KEY, SigV4AuthMiddleware, SigV4AuthWSGIMiddleware
from policylang.auth.service import AuthService, Route, error_response
from policylang.auth.sigv4 import ErrorStyle
from policylang.auth.sts import AssumedRoleResult, Identity, StsError, StsService

pytestmark = pytest.mark.integration

A = "111122223333"
NS = "https://sts.amazonaws.com/doc/2011-06-15/"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


class Backend:
    """The account, credentials and the STS-like application logic shared by both servers."""

    def __init__(self) -> None:
        self.account = Account(A)
        self.store = InMemoryCredentialStore()
        self.sts = StsService(self.account, self.store)
        alice = self.account.create_user("alice")
        self.alice = alice
        self.account.put_inline_policy(
            "user",
            "alice",
            "p",
            doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}),
        )
        self.account.create_role(
            "Reader",
            doc({"Effect": "Allow", "Principal": {"AWS": alice.arn}, "Action": "sts:AssumeRole"}),
        )
        self.account.put_inline_policy(
            "role",
            "Reader",
            "p",
            doc({"Effect": "Allow", "Action": "sts:DecodeAuthorizationMessage", "Resource": "*"}),
        )
        self.account.create_role(
            "Locked",
            doc(
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{A}:role/Reader"},
                    "Action": "sts:AssumeRole",
                }
            ),
        )
        self.key = create_access_key(alice.arn, now=self.sts.now(), principal_id=alice.id)
        self.store.put(self.key)
        verifier = SigV4Verifier(self.store, SigV4Config.for_service("sts", "us-east-1"))
        self.auth = AuthService(
            self.sts,
            verifier,
            [
                # No AWS credentials: the token is the authentication (STS checks it).
                Route("POST", "/", None, when={"Action": "AssumeRoleWithWebIdentity"}, public=True),
                Route("POST", "/", None, when={"Action": "AssumeRole"}),  # STS authorizes itself
                Route("POST", "/", "sts:{Action}", "*"),
            ],
        )

    def handle(self, identity: Identity | None, body: bytes) -> tuple[int, bytes]:
        """The application behind the middleware: answers in STS's XML."""
        params = dict(parse_qsl(body.decode()))
        action = params.get("Action")
        if action == "AssumeRoleWithWebIdentity":
            try:
                res = self.sts.assume_role_with_web_identity(
                    params["RoleArn"], params["RoleSessionName"], params["WebIdentityToken"]
                )
            except StsError as error:
                return _error(error)
            return 200, _xml(action, _credentials_xml(res))
        assert identity is not None
        if action == "GetCallerIdentity":
            who = self.sts.get_caller_identity(identity)
            inner = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in who.items())
            return 200, _xml(action, inner)
        if action == "DecodeAuthorizationMessage":
            return 200, _xml(action, "<DecodedMessage>{}</DecodedMessage>")
        if action == "AssumeRole":
            try:
                res = self.sts.assume_role(identity, params["RoleArn"], params["RoleSessionName"])
            except StsError as error:
                return _error(error)
            return 200, _xml(action, _credentials_xml(res))
        return 400, b"unsupported"


def _error(error: StsError) -> tuple[int, bytes]:
    status, _, payload = error_response(
        ErrorStyle.QUERY, error.aws_error, error.message, error.status, "r-1"
    )
    return status, payload


def _credentials_xml(res: AssumedRoleResult) -> str:
    cred = res.credentials
    expiration = cred.expiration.strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        f"<Credentials><AccessKeyId>{cred.access_key_id}</AccessKeyId>"
        f"<SecretAccessKey>{cred.secret_access_key.reveal()}</SecretAccessKey>"
        f"<SessionToken>{cred.session_token.reveal()}</SessionToken>"
        f"<Expiration>{expiration}</Expiration></Credentials>"
        f"<AssumedRoleUser><Arn>{res.assumed_role_arn}</Arn>"
        f"<AssumedRoleId>{res.assumed_role_id}</AssumedRoleId></AssumedRoleUser>"
    )


def _xml(action: str, inner: str) -> bytes:
    return (
        f'<{action}Response xmlns="{NS}"><{action}Result>{inner}</{action}Result>'
        f"<ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></{action}Response>"
    ).encode()


# ------------------------------------------------------------------ servers


def asgi_app(backend: Backend) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        status, payload = backend.handle(scope[PRINCIPAL_KEY], body)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"text/xml")],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    return SigV4AuthMiddleware(app, backend.auth)


def wsgi_app(backend: Backend) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        status, payload = backend.handle(environ[PRINCIPAL_KEY], body)
        start_response(
            f"{status} {'OK' if status == 200 else 'Error'}", [("Content-Type", "text/xml")]
        )
        return [payload]

    return SigV4AuthWSGIMiddleware(app, backend.auth)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve_uvicorn(app: Any) -> Iterator[str]:
    uvicorn = pytest.importorskip("uvicorn")
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        log_level="error",
        lifespan="off",
        ws="none",
        http="h11",
        access_log=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped while starting"
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        assert not thread.is_alive()


def serve_wsgiref(app: Any) -> Iterator[str]:
    server: WSGIServer = make_server("127.0.0.1", 0, app, handler_class=_QuietHandler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(params=["asgi-uvicorn", "wsgi-wsgiref"])
def endpoint(request: pytest.FixtureRequest) -> Iterator[tuple[Backend, str]]:
    backend = Backend()
    if request.param == "asgi-uvicorn":
        serving = serve_uvicorn(asgi_app(backend))
    else:
        serving = serve_wsgiref(wsgi_app(backend))
    url = next(serving)
    try:
        yield backend, url
    finally:
        serving.close()


_SESSION = boto3.session.Session()  # one session: clients share its loaded service models


def client(
    url: str,
    key_id: str | None = None,
    secret: str | None = None,
    token: str | None = None,
    *,
    unsigned: bool = False,
) -> Any:
    config = Config(
        retries={"max_attempts": 1},
        connect_timeout=5,
        read_timeout=10,
        **({"signature_version": UNSIGNED} if unsigned else {}),
    )
    return _SESSION.client(
        "sts",
        region_name="us-east-1",
        endpoint_url=url,
        config=config,
        aws_access_key_id=key_id or "AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key=secret or "x" * 40,
        aws_session_token=token,
    )


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[int, str, str]:
    response = excinfo.value.response
    return (
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Code"],
        response["Error"]["Message"],
    )


# ------------------------------------------------------------------ the tests


def test_allowed_call(endpoint: tuple[Backend, str]) -> None:
    backend, url = endpoint
    sts = client(url, backend.key.access_key_id, backend.key.secret_access_key.reveal())
    who = sts.get_caller_identity()
    assert (who["Arn"], who["Account"], who["UserId"]) == (backend.alice.arn, A, backend.alice.id)


def test_denied_call(endpoint: tuple[Backend, str]) -> None:
    backend, url = endpoint
    sts = client(url, backend.key.access_key_id, backend.key.secret_access_key.reveal())
    with pytest.raises(ClientError) as exc:
        sts.decode_authorization_message(EncodedMessage="abcd")
    assert error_of(exc) == (
        403,
        "AccessDenied",
        f"User: {backend.alice.arn} is not authorized to perform: "
        "sts:DecodeAuthorizationMessage because no identity-based policy allows the "
        "sts:DecodeAuthorizationMessage action",
    )


@pytest.mark.parametrize("problem", ["unsigned", "bad-secret", "unknown-key"])
def test_unauthenticated_calls(endpoint: tuple[Backend, str], problem: str) -> None:
    backend, url = endpoint
    key_id = backend.key.access_key_id
    sts = {
        "unsigned": lambda: client(url, unsigned=True),
        "bad-secret": lambda: client(url, key_id, "y" * 40),
        "unknown-key": lambda: client(url),
    }[problem]()
    with pytest.raises(ClientError) as exc:
        sts.get_caller_identity()
    expected = {
        "unsigned": "MissingAuthenticationToken",
        "bad-secret": "SignatureDoesNotMatch",
        "unknown-key": "InvalidClientTokenId",
    }[problem]
    status, code, _ = error_of(exc)
    assert (status, code) == (403, expected)


def test_assume_role_then_use_the_session(endpoint: tuple[Backend, str]) -> None:
    backend, url = endpoint
    sts = client(url, backend.key.access_key_id, backend.key.secret_access_key.reveal())
    reader = f"arn:aws:iam::{A}:role/Reader"
    creds = sts.assume_role(RoleArn=reader, RoleSessionName="web")["Credentials"]
    session = client(url, creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    who = session.get_caller_identity()
    assert who["Arn"] == f"arn:aws:sts::{A}:assumed-role/Reader/web"
    # The role's permissions now apply (alice's did not allow this one).
    assert session.decode_authorization_message(EncodedMessage="abcd")["DecodedMessage"] == "{}"
    # Alice is not trusted by Locked; the session of Reader is (chaining).
    locked = f"arn:aws:iam::{A}:role/Locked"
    with pytest.raises(ClientError) as exc:
        sts.assume_role(RoleArn=locked, RoleSessionName="x1")
    status, code, message = error_of(exc)
    assert (status, code) == (403, "AccessDenied")
    assert "because no role trust policy allows the sts:AssumeRole action" in message
    chained = session.assume_role(RoleArn=locked, RoleSessionName="x2")
    assert chained["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{A}:assumed-role/Locked/x2"
    # A tampered session token is refused by the verifier.
    forged = client(url, creds["AccessKeyId"], creds["SecretAccessKey"], "forged-token")
    with pytest.raises(ClientError) as exc:
        forged.get_caller_identity()
    assert error_of(exc)[:2] == (403, "InvalidClientTokenId")
    assert json.dumps(who["UserId"]).count(":") == 1


def test_assume_role_with_web_identity_needs_no_aws_credentials(
    endpoint: tuple[Backend, str],
) -> None:
    pytest.importorskip("cryptography")
    import base64

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    from policylang.auth.oidc import OidcProvider

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    backend, url = endpoint
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    numbers = key.public_key().public_numbers()
    jwk = {"kty": "RSA", "kid": "k1",
           "n": b64(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
           "e": b64(numbers.e.to_bytes(3, "big"))}  # fmt: skip
    host = "idp.example.com"
    backend.sts.oidc.add(OidcProvider.create(A, f"https://{host}", ["my-app"], [jwk]))
    backend.account.create_role("WebRole", doc({
        "Effect": "Allow",
        "Principal": {"Federated": f"arn:aws:iam::{A}:oidc-provider/{host}"},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{host}:sub": "user-42"}},
    }))  # fmt: skip

    def token(sub: str, signer: Any = key) -> str:
        now = int(time.time())
        header = b64(json.dumps({"alg": "RS256", "kid": "k1"}).encode())
        claims = {"iss": f"https://{host}", "sub": sub, "aud": "my-app",
                  "iat": now, "exp": now + 300}  # fmt: skip
        body = b64(json.dumps(claims).encode())
        signature = signer.sign(f"{header}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{header}.{body}.{b64(signature)}"

    sts = client(url, unsigned=True)
    role = f"arn:aws:iam::{A}:role/WebRole"
    creds = sts.assume_role_with_web_identity(
        RoleArn=role, RoleSessionName="ci", WebIdentityToken=token("user-42")
    )["Credentials"]
    session = client(url, creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    assert session.get_caller_identity()["Arn"] == f"arn:aws:sts::{A}:assumed-role/WebRole/ci"
    with pytest.raises(ClientError) as exc:
        sts.assume_role_with_web_identity(
            RoleArn=role, RoleSessionName="ci", WebIdentityToken=token("user-7")
        )
    assert error_of(exc) == (
        403,
        "AccessDenied",
        "Not authorized to perform sts:AssumeRoleWithWebIdentity",
    )
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(ClientError) as exc:
        sts.assume_role_with_web_identity(
            RoleArn=role, RoleSessionName="ci", WebIdentityToken=token("user-42", forger)
        )
    assert error_of(exc)[:2] == (400, "InvalidIdentityToken")
    # Other operations still need a signature.
    with pytest.raises(ClientError) as exc:
        sts.get_caller_identity()
    assert error_of(exc)[:2] == (403, "MissingAuthenticationToken")
