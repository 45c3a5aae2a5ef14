"""One call that authenticates and authorizes an HTTP request: `AuthService.authorize_http`.

SigV4 verification (`policylang.auth.sigv4`) → the identity behind the credential
(`StsService.identity`: user, root, role session with its session policies…) → the action and
resource ARN from a route table (`Route`: method + path pattern → action + resource template)
→ the decision (`StsService.authorize`, i.e. the account model and the reference evaluator).

The answer is an `Outcome`: allowed or not, the HTTP status, AWS's error code and message
(§9 for authentication failures, §10.2 `AccessDenied` wording for denials), and
`error_response()` renders the body the way the service's protocol does (Query XML, JSON,
EC2 XML, S3 XML). The ASGI/WSGI adapters live in `policylang.auth.middleware`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Final
from urllib.parse import parse_qsl, unquote
from xml.sax.saxutils import escape

import attrs

from policylang.auth.sigv4 import ErrorStyle, HttpRequest, SigV4Verifier, VerifiedRequest
from policylang.auth.sts import Identity, StsService, access_denied_message
from policylang.decision import EvaluationResult
from policylang.errors import AccountError, AuthError
from policylang.evaluator import evaluate
from policylang.request import ContextValue

_PLACEHOLDER: Final = re.compile(r"\{([A-Za-z_][\w.-]*)(\+)?\}")
_ACTION_RE: Final = re.compile(r"[a-z0-9-]+:[A-Za-z0-9]+")
FORM_TYPE: Final = "application/x-www-form-urlencoded"


def _compile_pattern(pattern: str) -> re.Pattern[str]:
    """`/buckets/{bucket}/objects/{key+}` → a regex: `{x}` is one segment, `{x+}` the rest."""
    if not pattern.startswith("/"):
        raise ValueError(f"route pattern `{pattern}` must start with `/`")
    out: list[str] = []
    last = 0
    for m in _PLACEHOLDER.finditer(pattern):
        out.append(re.escape(pattern[last : m.start()]))
        out.append(f"(?P<{m.group(1)}>.+)" if m.group(2) else f"(?P<{m.group(1)}>[^/]+)")
        last = m.end()
    out.append(re.escape(pattern[last:]))
    return re.compile("".join(out))


@attrs.frozen(slots=True)
class Route:
    """Requests with `method` (or `*`) whose path matches `pattern` (and whose parameters
    equal `when`) perform `action` on `resource`.

    `action` and `resource` are templates: `{name}` is filled from the path pattern, then the
    query string, then a form body (Query protocol: `sts:{Action}`), and the built-ins
    `{region}` (the signature's region), `{account}` (`AuthService.resource_account`, else the
    caller's) and `{target}` (the operation of a JSON-protocol `X-Amz-Target` header). An
    `action` of None means authenticate only: the application authorizes by itself (STS's
    AssumeRole does). `public` routes also take requests that carry no signature at all
    (`AssumeRoleWithWebIdentity` needs no AWS credentials); a request that does carry one is
    still verified. A public route has no action.
    """

    method: str
    pattern: str
    action: str | None
    resource: str = "*"
    when: Mapping[str, str] = attrs.field(factory=dict)
    context: Mapping[str, str] = attrs.field(factory=dict)
    public: bool = False
    _regex: re.Pattern[str] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        if self.public and self.action is not None:
            raise ValueError(f"public route {self.method} {self.pattern} must have no action")

    @_regex.default
    def _build(self) -> re.Pattern[str]:
        return _compile_pattern(self.pattern)

    def match(self, method: str, path: str, params: Mapping[str, str]) -> dict[str, str] | None:
        """The path parameters if this route takes the request, else None."""
        if self.method != "*" and self.method.upper() != method.upper():
            return None
        found = self._regex.fullmatch(path)
        if found is None:
            return None
        if any(params.get(k) != v for k, v in self.when.items()):
            return None
        return {k: v for k, v in found.groupdict().items() if v is not None}


@attrs.frozen(slots=True)
class Outcome:
    """The answer for one HTTP request.

    `status` is 200 when allowed. On refusal `error_code`/`message` are AWS's (`AccessDenied`,
    `SignatureDoesNotMatch`, `InvalidClientTokenId`…) and `error_response()` renders them.
    """

    allowed: bool
    status: int
    identity: Identity | None = None
    action: str | None = None
    resource: str | None = None
    route: Route | None = None
    params: Mapping[str, str] = attrs.field(factory=dict)
    result: EvaluationResult | None = None
    error_code: str | None = None
    message: str | None = None
    verified: VerifiedRequest | None = attrs.field(default=None, repr=False)
    style: ErrorStyle = ErrorStyle.QUERY
    request_id: str = attrs.field(factory=lambda: str(uuid.uuid4()))

    @property
    def principal_arn(self) -> str | None:
        return None if self.identity is None else self.identity.arn

    def error_response(self) -> tuple[int, list[tuple[str, str]], bytes]:
        """(status, headers, body) of the error as the service's protocol spells it."""
        return error_response(
            self.style,
            self.error_code or "AccessDenied",
            self.message or "",
            self.status,
            self.request_id,
        )


def error_response(
    style: ErrorStyle, code: str, message: str, status: int, request_id: str
) -> tuple[int, list[tuple[str, str]], bytes]:
    """An AWS error body: Query/EC2/S3 XML or JSON (`__type` + `message`)."""
    if style is ErrorStyle.JSON:
        if code == "AccessDenied":
            code = "AccessDeniedException"
        from policylang import _json

        body = _json.dumps({"__type": code, "message": message}).encode("utf-8")
        headers = [("content-type", "application/x-amz-json-1.1")]
        headers.append(("x-amzn-requestid", request_id))
        return status, headers, body
    if style is ErrorStyle.S3:
        text = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
            f"<RequestId>{request_id}</RequestId></Error>"
        )
        headers = [("content-type", "application/xml"), ("x-amz-request-id", request_id)]
        return status, headers, text.encode("utf-8")
    if style is ErrorStyle.EC2:
        text = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Response><Errors><Error><Code>{escape(code)}</Code>"
            f"<Message>{escape(message)}</Message></Error></Errors>"
            f"<RequestID>{request_id}</RequestID></Response>"
        )
        return status, [("content-type", "text/xml")], text.encode("utf-8")
    kind = "Receiver" if status >= 500 else "Sender"
    text = (
        '<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
        f"<Error><Type>{kind}</Type><Code>{escape(code)}</Code>"
        f"<Message>{escape(message)}</Message></Error>"
        f"<RequestId>{request_id}</RequestId></ErrorResponse>"
    )
    headers = [("content-type", "text/xml"), ("x-amzn-requestid", request_id)]
    return status, headers, text.encode("utf-8")


def request_params(request: HttpRequest) -> dict[str, str]:
    """Query-string and form-body parameters (first value of each name wins)."""
    params: dict[str, str] = {}
    for name, value in parse_qsl(request.query, keep_blank_values=True):
        params.setdefault(name, value)
    content_type = (request.header("content-type") or "").split(";")[0].strip().lower()
    if content_type == FORM_TYPE and request.body:
        try:
            text = request.body.decode("utf-8")
        except UnicodeDecodeError:
            return params
        for name, value in parse_qsl(text, keep_blank_values=True):
            params.setdefault(name, value)
    return params


class AuthService:
    """Authenticate (SigV4) and authorize (policies) HTTP requests for one endpoint.

    `resource_account` fills `{account}` in resource templates (the account owning the
    resources behind this endpoint); without it `{account}` is the caller's account.
    """

    def __init__(
        self,
        sts: StsService,
        verifier: SigV4Verifier,
        routes: Iterable[Route],
        *,
        resource_account: str | None = None,
    ) -> None:
        self.sts = sts
        self.verifier = verifier
        self.routes: tuple[Route, ...] = tuple(routes)
        self.resource_account = resource_account

    @property
    def style(self) -> ErrorStyle:
        return self.verifier.config.error_style

    def _refuse(self, status: int, code: str, message: str, base: Outcome | None = None) -> Outcome:
        if base is None:
            return Outcome(False, status, error_code=code, message=message, style=self.style)
        return attrs.evolve(base, allowed=False, status=status, error_code=code, message=message)

    def authorize_http(self, request: HttpRequest) -> Outcome:
        """Authenticate, map the route, decide. Never raises for bad input: every refusal is an
        `Outcome` with AWS's code (unexpected internal errors do propagate)."""
        try:
            verified = self.verifier.verify(request)
        except AuthError as error:
            if error.code == "auth.missing-authentication-token":
                public = self._public_route(request)
                if public is not None:
                    return public
            return self._refuse(error.status, error.aws_error, error.message)
        identity: Identity | None = None
        if verified.credential is not None:
            try:
                identity = self.sts.identity(verified.credential)
            except AuthError as error:
                return self._refuse(error.status, error.aws_error, error.message)
        return self.decide(request, verified, identity)

    def _public_route(self, request: HttpRequest) -> Outcome | None:
        """An allowed, unauthenticated Outcome if an unsigned request hits a public route."""
        params = request_params(request)
        path = unquote(request.path) or "/"
        for route in self.routes:
            found = route.match(request.method, path, params)
            if found is not None:
                if not route.public:
                    return None
                return Outcome(True, 200, route=route, params=params, style=self.style)
        return None

    def decide(
        self, request: HttpRequest, verified: VerifiedRequest, identity: Identity | None
    ) -> Outcome:
        """Route and decide an authenticated request."""
        params = request_params(request)
        path = unquote(request.path) or "/"
        for route in self.routes:
            path_params = route.match(request.method, path, params)
            if path_params is not None:
                break
        else:
            return self._refuse(
                404,
                "UnknownOperationException" if self.style is ErrorStyle.JSON else "InvalidAction",
                f"No operation is mapped to {request.method} {path}",
                Outcome(False, 404, identity=identity, verified=verified, style=self.style),
            )
        values = self._template_values(request, verified, identity, params, path_params)
        base = Outcome(
            True,
            200,
            identity=identity,
            route=route,
            params=params,
            verified=verified,
            style=self.style,
        )
        if route.action is None:
            return base
        try:
            action = _fill(route.action, values)
            resource = _fill(route.resource, values)
        except KeyError as missing:
            code = "ValidationException" if self.style is ErrorStyle.JSON else "MissingParameter"
            message = f"The request must contain the parameter {missing.args[0]}"
            return self._refuse(400, code, message, base)
        if not _ACTION_RE.fullmatch(action):
            return self._refuse(400, "InvalidAction", f"Could not find operation `{action}`", base)
        base = attrs.evolve(base, action=action, resource=resource)
        context: dict[str, ContextValue] = dict(verified.context)
        context.update(route.context)
        try:
            result = self._evaluate(identity, action, resource, context)
        except AuthError as error:
            return self._refuse(error.status, error.aws_error, error.message, base)
        except AccountError as error:
            return self._refuse(400, error.aws_error, error.message, base)
        base = attrs.evolve(base, result=result)
        if result.allowed:
            return base
        caller = identity.arn if identity is not None else None
        message = access_denied_message(caller, action, resource, result)
        return self._refuse(403, "AccessDenied", message, base)

    def _evaluate(
        self,
        identity: Identity | None,
        action: str,
        resource: str,
        context: Mapping[str, ContextValue],
    ) -> EvaluationResult:
        if identity is None:  # an anonymous request the verifier let through
            question = self.sts.env.question("anonymous", action, resource, context)
            return evaluate(question.policy_set, question.request)
        return self.sts.authorize(identity, action, resource, context)

    def _template_values(
        self,
        request: HttpRequest,
        verified: VerifiedRequest,
        identity: Identity | None,
        params: Mapping[str, str],
        path_params: Mapping[str, str],
    ) -> dict[str, str]:
        values: dict[str, str] = dict(params)
        values.update(path_params)
        values.setdefault("region", verified.region or "")
        account = self.resource_account or (identity.account if identity else "")
        values.setdefault("account", account)
        target = request.header("x-amz-target")
        if target is not None:
            values.setdefault("target", target.rsplit(".", 1)[-1])
        return values


def _fill(template: str, values: Mapping[str, str]) -> str:
    def one(m: re.Match[str]) -> str:
        return values[m.group(1)]

    return _PLACEHOLDER.sub(one, template)


def routes(*items: Route | tuple[str, str, str | None, str]) -> Sequence[Route]:
    """Build a route table from `Route`s or `(method, pattern, action, resource)` tuples."""
    out: list[Route] = []
    for item in items:
        out.append(item if isinstance(item, Route) else Route(*item))
    return out


__all__ = [
    "AuthService",
    "Outcome",
    "Route",
    "error_response",
    "request_params",
    "routes",
]
