"""ASGI and WSGI middleware: authenticate with SigV4, authorize with policylang.

Both wrap an application and an `AuthService` (route table → action + resource ARN). A request
that fails authentication or authorization never reaches the application: it gets AWS's error
(`AccessDenied` with the §10.2 message, `SignatureDoesNotMatch`, `MissingAuthenticationToken`,
`InvalidClientTokenId`, …) in the protocol's XML or JSON body, with AWS's status. An allowed
request reaches the application with the caller's `Identity` under
`scope["policylang.principal"]` (ASGI) or `environ["policylang.principal"]` (WSGI), and the
full `Outcome` under `"policylang.outcome"`.

The body is read once to check the signature (it is part of the signed payload) and then
handed to the application unchanged. The decision itself is synchronous and quick; with a
SQLite credential store it does a little blocking I/O, which the ASGI flavour runs on a worker
thread.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from typing import Any, Final
from urllib.parse import quote

from policylang.auth.service import AuthService, Outcome
from policylang.auth.sigv4 import HttpRequest

PRINCIPAL_KEY: Final = "policylang.principal"
OUTCOME_KEY: Final = "policylang.outcome"
MAX_BODY_BYTES: Final = 16 * 1024 * 1024

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

_REASONS: Final = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    413: "Payload Too Large",
    500: "Internal Server Error",
}
# The characters botocore leaves unescaped in a path (RFC 3986 unreserved + `/`); used to
# rebuild the raw path when a server hands us only the decoded one.
_PATH_SAFE: Final = "/-_.~"


def _too_large(service: AuthService) -> Outcome:
    return Outcome(
        False,
        413,
        error_code="RequestEntityTooLarge",
        message=f"Request body larger than {MAX_BODY_BYTES} bytes",
        style=service.style,
    )


# --------------------------------------------------------------------------------------------
# ASGI


class SigV4AuthMiddleware:
    """ASGI middleware. Non-HTTP scopes (lifespan, websocket) pass through untouched."""

    def __init__(self, app: ASGIApp, service: AuthService) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message.get("type") == "http.disconnect":
                return
            chunk = message.get("body", b"") or b""
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                await _asgi_error(send, _too_large(self.service))
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        request = asgi_request(scope, body)
        outcome = await asyncio.to_thread(self.service.authorize_http, request)
        if not outcome.allowed:
            await _asgi_error(send, outcome)
            return
        inner = dict(scope)
        inner[PRINCIPAL_KEY] = outcome.identity
        inner[OUTCOME_KEY] = outcome
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(inner, replay, send)


def asgi_request(scope: Scope, body: bytes) -> HttpRequest:
    """The `HttpRequest` the verifier needs from an ASGI HTTP scope and its body."""
    raw_path = scope.get("raw_path")
    if raw_path:
        path = bytes(raw_path).decode("latin-1").split("?", 1)[0]
    else:
        path = quote(str(scope.get("path", "/")).encode("utf-8"), safe=_PATH_SAFE)
    headers = [
        (bytes(name).decode("latin-1"), bytes(value).decode("latin-1"))
        for name, value in scope.get("headers", ())
    ]
    client = scope.get("client")
    return HttpRequest(
        method=str(scope.get("method", "GET")),
        path=path or "/",
        query=bytes(scope.get("query_string", b"")).decode("latin-1"),
        headers=headers,
        body=body,
        peer_address=client[0] if client else None,
        secure=scope.get("scheme") in ("https", "wss"),
    )


async def _asgi_error(send: Send, outcome: Outcome) -> None:
    status, headers, body = outcome.error_response()
    raw_headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    raw_headers.append((b"content-length", str(len(body)).encode("ascii")))
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


# --------------------------------------------------------------------------------------------
# WSGI


class SigV4AuthWSGIMiddleware:
    """WSGI middleware (PEP 3333)."""

    def __init__(self, app: WSGIApp, service: AuthService) -> None:
        self.app = app
        self.service = service

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > MAX_BODY_BYTES:
            return _wsgi_error(start_response, _too_large(self.service))
        stream = environ.get("wsgi.input")
        body = stream.read(length) if (stream is not None and length > 0) else b""
        environ["wsgi.input"] = io.BytesIO(body)
        outcome = self.service.authorize_http(wsgi_request(environ, body))
        if not outcome.allowed:
            return _wsgi_error(start_response, outcome)
        environ[PRINCIPAL_KEY] = outcome.identity
        environ[OUTCOME_KEY] = outcome
        return self.app(environ, start_response)


def wsgi_request(environ: Mapping[str, Any], body: bytes) -> HttpRequest:
    """The `HttpRequest` from a WSGI environ (raw path from RAW_URI/REQUEST_URI if given)."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        path = str(raw).split("?", 1)[0]
    else:
        decoded = str(environ.get("SCRIPT_NAME", "")) + str(environ.get("PATH_INFO", ""))
        # PEP 3333: PATH_INFO is the decoded bytes as latin-1 text.
        path = quote(decoded.encode("latin-1"), safe=_PATH_SAFE)
    headers: list[tuple[str, str]] = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers.append((key[5:].replace("_", "-").lower(), str(value)))
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            headers.append((key.replace("_", "-").lower(), str(value)))
    return HttpRequest(
        method=str(environ.get("REQUEST_METHOD", "GET")),
        path=path or "/",
        query=str(environ.get("QUERY_STRING", "")),
        headers=headers,
        body=body,
        peer_address=environ.get("REMOTE_ADDR"),
        secure=environ.get("wsgi.url_scheme") == "https",
    )


def _wsgi_error(start_response: StartResponse, outcome: Outcome) -> list[bytes]:
    status, headers, body = outcome.error_response()
    reason = _REASONS.get(status, "Error")
    start_response(f"{status} {reason}", [*headers, ("Content-Length", str(len(body)))])
    return [body]
