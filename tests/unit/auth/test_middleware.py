"""AuthService.authorize_http and the ASGI/WSGI middleware, with requests signed by botocore's
SigV4 signer (in process; the real-HTTP test is tests/integration/test_middleware_boto3.py)."""

from __future__ import annotations

import asyncio
import io
import json
import sys
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from policylang.account import Account
from policylang.auth import (
    FixedClock,
    HttpRequest,
    InMemoryCredentialStore,
    SigV4Config,
    SigV4Verifier,
    create_access_key,
)
from policylang.auth.middleware import (
    OUTCOME_KEY,
    PRINCIPAL_KEY,
    SigV4AuthMiddleware,
    SigV4AuthWSGIMiddleware,
    asgi_request,
    wsgi_request,
)
from policylang.auth.service import AuthService, Outcome, Route, error_response, request_params
from policylang.auth.sigv4 import ErrorStyle
from policylang.auth.sts import Identity, StsService

A = "111122223333"
HOST = "api.example.com"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


class World:
    def __init__(self, service: str = "execute-api") -> None:
        self.account = Account(A)
        self.clock = FixedClock(datetime.now(UTC))
        self.store = InMemoryCredentialStore()
        self.sts = StsService(self.account, self.store, clock=self.clock)
        alice = self.account.create_user("alice")
        self.account.put_inline_policy(
            "user",
            "alice",
            "p",
            doc({"Effect": "Allow", "Action": ["s3:GetObject", "sts:AssumeRole"], "Resource": "*"}),
        )
        self.alice = alice
        self.key = create_access_key(alice.arn, now=self.clock(), principal_id=alice.id)
        self.store.put(self.key)
        self.verifier = SigV4Verifier(
            self.store, SigV4Config.for_service(service, "us-east-1"), clock=self.clock
        )
        self.service_name = service
        self.auth = AuthService(
            self.sts,
            self.verifier,
            [
                Route(
                    "GET",
                    "/buckets/{bucket}/objects/{key+}",
                    "s3:GetObject",
                    "arn:aws:s3:::{bucket}/{key}",
                ),
                Route(
                    "DELETE",
                    "/buckets/{bucket}/objects/{key+}",
                    "s3:DeleteObject",
                    "arn:aws:s3:::{bucket}/{key}",
                ),
                Route("POST", "/", None, when={"Action": "AssumeRole"}),
                Route("POST", "/", "sts:{Action}", "*"),
                Route(
                    "POST",
                    "/json",
                    "dynamodb:{target}",
                    "arn:aws:dynamodb:{region}:{account}:table/*",
                ),
            ],
        )

    def sign(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        *,
        secret: str | None = None,
        key_id: str | None = None,
        token: str | None = None,
    ) -> HttpRequest:
        url = f"https://{HOST}{path}"
        request = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
        credentials = Credentials(
            key_id or self.key.access_key_id,
            secret or self.key.secret_access_key.reveal(),
            token,
        )
        SigV4Auth(credentials, self.service_name, "us-east-1").add_auth(request)
        parts = urlsplit(request.url)
        return HttpRequest(
            method,
            parts.path,
            parts.query,
            [("Host", HOST), *request.headers.items()],
            body,
        )


@pytest.fixture
def w() -> World:
    return World()


def xml_error(body: bytes) -> tuple[str, str]:
    root = ElementTree.fromstring(body)
    ns = {"e": "https://iam.amazonaws.com/doc/2010-05-08/"}
    code = root.findtext("e:Error/e:Code", namespaces=ns)
    message = root.findtext("e:Error/e:Message", namespaces=ns)
    assert code is not None
    assert message is not None
    return code, message


# ------------------------------------------------------------------ AuthService


def test_allowed_request_carries_identity_action_and_resource(w: World) -> None:
    outcome = w.auth.authorize_http(w.sign("GET", "/buckets/b1/objects/a/b.txt"))
    assert outcome.allowed
    assert outcome.status == 200
    assert isinstance(outcome.identity, Identity)
    assert outcome.identity.arn == w.alice.arn
    assert outcome.action == "s3:GetObject"
    assert outcome.resource == "arn:aws:s3:::b1/a/b.txt"


def test_denied_request_gets_access_denied_with_the_aws_message(w: World) -> None:
    outcome = w.auth.authorize_http(w.sign("DELETE", "/buckets/b1/objects/k"))
    assert not outcome.allowed
    assert outcome.status == 403
    assert outcome.error_code == "AccessDenied"
    assert outcome.message == (
        f"User: {w.alice.arn} is not authorized to perform: s3:DeleteObject on resource: "
        "arn:aws:s3:::b1/k because no identity-based policy allows the s3:DeleteObject action"
    )
    status, headers, body = outcome.error_response()
    assert status == 403
    assert ("content-type", "text/xml") in headers
    assert xml_error(body) == ("AccessDenied", outcome.message)


@pytest.mark.parametrize(
    ("mutate", "status", "code"),
    [
        (
            lambda w: HttpRequest("GET", "/buckets/b/objects/k", "", [("Host", HOST)]),
            403,
            "MissingAuthenticationToken",
        ),
        (
            lambda w: w.sign("GET", "/buckets/b/objects/k", secret="x" * 40),
            403,
            "SignatureDoesNotMatch",
        ),
        (
            lambda w: w.sign("GET", "/buckets/b/objects/k", key_id="AKIAIOSFODNN7EXAMPLE"),
            403,
            "InvalidClientTokenId",
        ),
    ],
    ids=["unsigned", "bad-secret", "unknown-key"],
)
def test_authentication_failures(w: World, mutate: Any, status: int, code: str) -> None:
    outcome = w.auth.authorize_http(mutate(w))
    assert (outcome.allowed, outcome.status, outcome.error_code) == (False, status, code)
    assert xml_error(outcome.error_response()[2])[0] == code


def test_deleted_user_key_is_an_invalid_token(w: World) -> None:
    w.account.delete_inline_policy("user", "alice", "p")
    w.account.delete_entity("user", "alice")
    outcome = w.auth.authorize_http(w.sign("GET", "/buckets/b/objects/k"))
    assert outcome.error_code == "InvalidClientTokenId"


def test_unmapped_route_and_authenticate_only_route(w: World) -> None:
    outcome = w.auth.authorize_http(w.sign("GET", "/nowhere"))
    assert (outcome.status, outcome.error_code) == (404, "InvalidAction")
    form = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    only = w.auth.authorize_http(w.sign("POST", "/", b"Action=AssumeRole&Version=1", form))
    assert only.allowed
    assert only.action is None
    assert only.identity is not None


def test_query_protocol_action_from_the_form_body(w: World) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    who = w.auth.authorize_http(w.sign("POST", "/", b"Action=GetCallerIdentity", form))
    assert who.allowed
    assert who.action == "sts:GetCallerIdentity"
    other = w.auth.authorize_http(w.sign("POST", "/", b"Action=GetSessionToken", form))
    assert other.status == 403
    assert "sts:GetSessionToken" in (other.message or "")
    bad = w.auth.authorize_http(w.sign("POST", "/", b"Action=Get*", form))
    assert bad.error_code == "InvalidAction"
    missing = w.auth.authorize_http(w.sign("POST", "/", b"Version=1", form))
    assert (missing.status, missing.error_code) == (400, "MissingParameter")


def test_role_session_credentials_are_authorized_with_session_policies(w: World) -> None:
    w.account.create_role(
        "Reader",
        doc({"Effect": "Allow", "Principal": {"AWS": w.alice.arn}, "Action": "sts:AssumeRole"}),
    )
    w.account.put_inline_policy(
        "role", "Reader", "p", doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    )
    session_policy = json.dumps(
        doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b1/*"})
    )
    cred = w.sts.assume_role(
        w.key, "arn:aws:iam::111122223333:role/Reader", "web", policy=session_policy
    ).credentials
    sign = {
        "key_id": cred.access_key_id,
        "secret": cred.secret_access_key.reveal(),
        "token": cred.session_token.reveal(),
    }
    ok = w.auth.authorize_http(w.sign("GET", "/buckets/b1/objects/k", **sign))
    assert ok.allowed
    assert ok.identity is not None
    assert ok.identity.arn == f"arn:aws:sts::{A}:assumed-role/Reader/web"
    other_bucket = w.auth.authorize_http(w.sign("GET", "/buckets/b2/objects/k", **sign))
    assert other_bucket.message is not None
    assert other_bucket.message.endswith("because no session policy allows the s3:GetObject action")


def test_json_protocol_error_body() -> None:
    w = World("dynamodb")
    headers = {
        "X-Amz-Target": "DynamoDB_20120810.DeleteTable",
        "Content-Type": "application/x-amz-json-1.0",
    }
    outcome = w.auth.authorize_http(w.sign("POST", "/json", b"{}", headers))
    assert outcome.action == "dynamodb:DeleteTable"
    assert outcome.resource == f"arn:aws:dynamodb:us-east-1:{A}:table/*"
    status, _hdrs, body = outcome.error_response()
    assert status == 403
    payload = json.loads(body)
    assert payload["__type"] == "AccessDeniedException"
    assert payload["message"].startswith(f"User: {w.alice.arn} is not authorized")


def test_error_response_styles() -> None:
    s3 = error_response(ErrorStyle.S3, "AccessDenied", "Access Denied", 403, "rid")
    assert b"<Error><Code>AccessDenied</Code>" in s3[2]
    ec2 = error_response(ErrorStyle.EC2, "AuthFailure", "x <&> y", 401, "rid")
    assert b"<Errors><Error><Code>AuthFailure</Code><Message>x &lt;&amp;&gt; y" in ec2[2]


def test_routes_and_params() -> None:
    route = Route("GET", "/a/{x}/{rest+}", "s3:GetObject")
    assert route.match("GET", "/a/1/2/3", {}) == {"x": "1", "rest": "2/3"}
    assert route.match("PUT", "/a/1/2", {}) is None
    assert route.match("GET", "/a/1", {}) is None
    with pytest.raises(ValueError, match="must start with"):
        Route("GET", "a", None)
    request = HttpRequest(
        "POST", "/", "A=1&A=2", [("Content-Type", "application/x-www-form-urlencoded")], b"B=3&A=9"
    )
    assert request_params(request) == {"A": "1", "B": "3"}


# ------------------------------------------------------------------ ASGI


async def _echo_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    message = await receive()
    identity = scope[PRINCIPAL_KEY]
    outcome = scope[OUTCOME_KEY]
    assert isinstance(outcome, Outcome)
    body = json.dumps({"arn": identity.arn, "body": message["body"].decode()}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _scope_for(request: HttpRequest) -> dict[str, Any]:
    return {
        "type": "http",
        "method": request.method,
        "path": request.path,
        "raw_path": request.path.encode(),
        "query_string": request.query.encode(),
        "headers": [(k.lower().encode(), v.encode()) for k, v in request.headers],
        "scheme": "https",
        "client": ("127.0.0.1", 5000),
    }


def _run_asgi(app: Any, request: HttpRequest, chunks: int = 2) -> tuple[int, bytes]:
    body = request.body or b""
    parts = [body[: len(body) // 2], body[len(body) // 2 :]] if chunks == 2 else [body]
    messages = [
        {"type": "http.request", "body": p, "more_body": i < len(parts) - 1}
        for i, p in enumerate(parts)
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(_scope_for(request), receive, send))
    status = sent[0]["status"]
    return status, b"".join(m.get("body", b"") for m in sent[1:])


def test_asgi_allowed_request_reaches_the_app_with_the_body(w: World) -> None:
    app = SigV4AuthMiddleware(_echo_app, w.auth)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    status, body = _run_asgi(app, w.sign("POST", "/", b"Action=GetCallerIdentity&V=1", form))
    assert status == 200
    assert json.loads(body) == {"arn": w.alice.arn, "body": "Action=GetCallerIdentity&V=1"}


def test_asgi_denied_and_unsigned_requests_never_reach_the_app(w: World) -> None:
    async def forbidden_app(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("the app must not be called")

    app = SigV4AuthMiddleware(forbidden_app, w.auth)
    status, body = _run_asgi(app, w.sign("DELETE", "/buckets/b/objects/k"))
    assert status == 403
    assert xml_error(body)[0] == "AccessDenied"
    status, body = _run_asgi(app, HttpRequest("GET", "/", "", [("Host", HOST)]))
    assert status == 403
    assert xml_error(body)[0] == "MissingAuthenticationToken"


def test_asgi_non_http_scopes_pass_through(w: World) -> None:
    seen: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    asyncio.run(SigV4AuthMiddleware(app, w.auth)({"type": "lifespan"}, None, None))  # type: ignore[arg-type]
    assert seen == ["lifespan"]


def test_asgi_request_conversion() -> None:
    request = asgi_request(
        {
            "type": "http",
            "method": "GET",
            "path": "/a b",
            "query_string": b"x=1",
            "headers": [(b"host", b"h")],
            "scheme": "http",
        },
        b"",
    )
    assert (request.path, request.query, request.secure) == ("/a%20b", "x=1", False)


# ------------------------------------------------------------------ WSGI


def _environ(request: HttpRequest) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": request.method,
        "PATH_INFO": request.path,
        "QUERY_STRING": request.query,
        "wsgi.input": io.BytesIO(request.body or b""),
        "wsgi.url_scheme": "https",
        "wsgi.errors": sys.stderr,
        "REMOTE_ADDR": "127.0.0.1",
    }
    for name, value in request.headers:
        key = name.upper().replace("-", "_")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            environ[key] = value
        else:
            environ[f"HTTP_{key}"] = value
    environ["CONTENT_LENGTH"] = str(len(request.body or b""))
    return environ


def _wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    body = environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({"arn": environ[PRINCIPAL_KEY].arn, "body": body.decode()}).encode()]


def _call_wsgi(app: Any, environ: dict[str, Any]) -> tuple[str, bytes]:
    statuses: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        statuses.append(status)

    body = b"".join(app(environ, start_response))
    return statuses[0], body


def test_wsgi_middleware(w: World) -> None:
    app = SigV4AuthWSGIMiddleware(_wsgi_app, w.auth)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    status, body = _call_wsgi(app, _environ(w.sign("POST", "/", b"Action=GetCallerIdentity", form)))
    assert status == "200 OK"
    assert json.loads(body) == {"arn": w.alice.arn, "body": "Action=GetCallerIdentity"}
    status, body = _call_wsgi(app, _environ(w.sign("DELETE", "/buckets/b/objects/k")))
    assert status == "403 Forbidden"
    assert xml_error(body)[0] == "AccessDenied"


def test_wsgi_request_rebuilds_the_raw_path() -> None:
    request = wsgi_request(
        {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": "/a b/ü".encode().decode("latin-1"),
            "HTTP_HOST": "h",
            "CONTENT_TYPE": "text/plain",
        },
        b"",
    )
    assert request.path == "/a%20b/%C3%BC"
    assert request.header("content-type") == "text/plain"
    assert wsgi_request({"RAW_URI": "/x%2Fy?q=1"}, b"").path == "/x%2Fy"


def test_public_routes_take_unsigned_requests_but_still_verify_signed_ones(w: World) -> None:
    public = Route("POST", "/", None, when={"Action": "AssumeRoleWithWebIdentity"}, public=True)
    auth = AuthService(w.sts, w.verifier, [public, *w.auth.routes])
    form = [("Host", HOST), ("Content-Type", "application/x-www-form-urlencoded")]
    body = b"Action=AssumeRoleWithWebIdentity&RoleArn=x"
    unsigned = auth.authorize_http(HttpRequest("POST", "/", "", form, body))
    assert unsigned.allowed
    assert unsigned.identity is None
    assert unsigned.route is public
    other = auth.authorize_http(HttpRequest("POST", "/", "", form, b"Action=GetCallerIdentity"))
    assert other.error_code == "MissingAuthenticationToken"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    forged = auth.authorize_http(w.sign("POST", "/", body, headers, secret="z" * 40))
    assert forged.error_code == "SignatureDoesNotMatch"
    with pytest.raises(ValueError, match="must have no action"):
        Route("POST", "/", "sts:X", public=True)


def test_anonymous_requests_when_the_endpoint_allows_them(w: World) -> None:
    w.account.put_resource_policy(
        "arn:aws:s3:::pub",
        doc({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
             "Resource": "arn:aws:s3:::pub/*"}),
    )  # fmt: skip
    verifier = SigV4Verifier(
        w.store,
        SigV4Config.for_service("execute-api", "us-east-1", allow_anonymous=True),
        clock=w.clock,
    )
    auth = AuthService(w.sts, verifier, w.auth.routes)
    public = auth.authorize_http(HttpRequest("GET", "/buckets/pub/objects/k", "", [("Host", HOST)]))
    assert public.allowed
    assert public.identity is None
    private = auth.authorize_http(HttpRequest("GET", "/buckets/b/objects/k", "", [("Host", HOST)]))
    assert private.status == 403
    assert private.message == (
        "User: anonymous is not authorized to perform: s3:GetObject on resource: "
        "arn:aws:s3:::b/k because no resource-based policy allows the s3:GetObject action"
    )
