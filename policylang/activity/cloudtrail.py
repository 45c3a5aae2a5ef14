"""CloudTrail records → `Request`s against a loaded account environment.

Input files, read one at a time and streamed record by record:

* JSON lines (`*.jsonl`, `*.json` with one record per line, optionally `.gz`);
* CloudTrail log files as delivered to S3: `{"Records": [...]}` (`*.json` or `*.json.gz`);
* directories (their `.json`, `.jsonl`, `.json.gz`, `.jsonl.gz` files, sorted by path).

JSON lines are streamed line by line; a log file is decoded whole (CloudTrail delivers files
of a few MB at most), then its records are yielded one at a time, located by line and column.

Public API::

    requests_from_cloudtrail(paths, environment) -> Iterator[tuple[RecordRef, Mapped | Unmapped]]

and, for `policylang.batch` (JSON lines of records), `CloudTrailReader(environment)`, an
implementation of its `RecordReader` protocol: `BatchEvaluator(reader=CloudTrailReader(env))`.

Every record yields exactly one item: a `Mapped` (the resolved principal, the IAM action, the
resource ARN, the context and the `Request`; `question()` builds the full PolicySet + Request
for the evaluator) or an `Unmapped` (a stable `reason` code and a message; for malformed JSON an
attached `PolicyLangError` locating it). Nothing is dropped silently: `Tally` counts both.

Mapping rules (AWS CloudTrail record contents reference, userIdentity element):

* principal: `IAMUser` → the user; `AssumedRole` → the role of `sessionContext.sessionIssuer`
  with the session name from the session ARN; `Root` → the account root; `AWSService` → the
  service principal of `invokedBy`; `SAMLUser`/`WebIdentityUser` → the identity provider.
  `FederatedUser` (GetFederationToken sessions: their session policy is not in the log),
  `AWSAccount` (a caller of another, unloaded account) and unknown types are `Unmapped`.
* action: `SERVICE:eventName`, SERVICE from `eventSource` through `SERVICE_PREFIXES` (else
  the host name's first label), eventName through `EVENT_ACTIONS` where the API name differs
  from the IAM action (`ListObjectsV2` → `s3:ListBucket`, `Invoke` → `lambda:InvokeFunction`,
  date-versioned Lambda names lose their suffix).
* resource: `resources[]` first (the most specific ARN), then `requestParameters` for S3, IAM,
  STS, KMS, DynamoDB, SQS, SNS, Lambda, Secrets Manager and SSM; else `*` with
  `Mapped.resource_derived = False`.
* context: aws:SourceIp (when `sourceIPAddress` is an IP, not a service name),
  aws:UserAgent, aws:RequestedRegion, aws:CurrentTime, aws:EpochTime,
  aws:MultiFactorAuthPresent and aws:TokenIssueTime (only for temporary credentials, from
  `sessionContext.attributes`), aws:SecureTransport (`true`: the AWS APIs logged by
  CloudTrail are HTTPS endpoints), aws:SourceVpce (`vpcEndpointId`), aws:ViaAWSService
  (`true` when `invokedBy` is a service).
* outcome: `success`, `denied` (errorCode AccessDenied/UnauthorizedOperation/…) or `error`.
"""

from __future__ import annotations

import gzip
import ipaddress
import pathlib
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import IO, Any, Literal

import attrs

from policylang import _json
from policylang.account.model import ROLE_TRUST_ACTIONS, Environment
from policylang.account.resolve import (
    Principal,
    Question,
    build_question,
    federated_principal,
    find_principal,
    iam_entity_at,
    resource_owner,
    service_principal,
)
from policylang.decision import Decision
from policylang.errors import CaseError, PolicyLangError, PolicySyntaxError
from policylang.policy_set import PolicySet
from policylang.request import ContextValue, Request, Resource
from policylang.source import Source

__all__ = [
    "EVENT_ACTIONS",
    "SERVICE_PREFIXES",
    "CloudTrailReader",
    "Mapped",
    "RecordRef",
    "Tally",
    "Unmapped",
    "action_of",
    "iter_records",
    "map_record",
    "requests_from_cloudtrail",
]

Outcome = Literal["success", "denied", "error"]

# eventSource host → IAM service prefix, where the first label of the host is not the prefix.
SERVICE_PREFIXES: dict[str, str] = {
    "monitoring.amazonaws.com": "cloudwatch",
    "email.amazonaws.com": "ses",
    "elasticloadbalancing.amazonaws.com": "elasticloadbalancing",
    "es.amazonaws.com": "es",
    "elasticfilesystem.amazonaws.com": "elasticfilesystem",
    "execute-api.amazonaws.com": "execute-api",
    "apigateway.amazonaws.com": "apigateway",
    "signin.amazonaws.com": "signin",
    "s3-outposts.amazonaws.com": "s3-outposts",
    "tagging.amazonaws.com": "tag",
    "streams.dynamodb.amazonaws.com": "dynamodb",
    "bedrock-runtime.amazonaws.com": "bedrock",
    "runtime.sagemaker.amazonaws.com": "sagemaker",
    "sso.amazonaws.com": "sso",
    "identitystore.amazonaws.com": "identitystore",
    "ce.amazonaws.com": "ce",
    "health.amazonaws.com": "health",
}

# (service, eventName) → IAM action name, where the API operation and the action differ.
EVENT_ACTIONS: dict[tuple[str, str], str] = {
    ("s3", "ListObjects"): "ListBucket",
    ("s3", "ListObjectsV2"): "ListBucket",
    ("s3", "HeadBucket"): "ListBucket",
    ("s3", "HeadObject"): "GetObject",
    ("s3", "ListObjectVersions"): "ListBucketVersions",
    ("s3", "CopyObject"): "PutObject",
    ("s3", "CreateMultipartUpload"): "PutObject",
    ("s3", "UploadPart"): "PutObject",
    ("s3", "UploadPartCopy"): "PutObject",
    ("s3", "CompleteMultipartUpload"): "PutObject",
    ("s3", "DeleteObjects"): "DeleteObject",
    ("s3", "ListMultipartUploads"): "ListBucketMultipartUploads",
    ("s3", "ListParts"): "ListMultipartUploadParts",
    ("lambda", "Invoke"): "InvokeFunction",
    ("lambda", "InvokeAsync"): "InvokeAsync",
    ("sts", "AssumeRoleWithWebIdentity"): "AssumeRoleWithWebIdentity",
}

_LAMBDA_VERSION = re.compile(r"\d{8}(v\d+)?$")
_DENIED_ERRORS = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "Client.UnauthorizedOperation",
        "UnauthorizedAccess",
        "AuthorizationError",
        "AuthorizationErrorException",
    }
)


@attrs.frozen
class RecordRef:
    """Where a record came from: file, 1-based line and column of its first character, and its
    index in the file (0-based)."""

    path: str
    line: int
    column: int
    index: int
    event_id: str | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


@attrs.frozen
class Mapped:
    """A record mapped to a request made by a principal of the loaded environment."""

    principal: Principal
    action: str
    resource: str
    context: Mapping[str, ContextValue]
    request: Request
    outcome: Outcome
    event_time: str
    event_category: str  # "Management" or "Data" (or "Insight")
    error_code: str | None = None
    resource_derived: bool = True
    assumed_role: str | None = None  # for sts:AssumeRole*: the target role ARN
    env: Environment | None = attrs.field(default=None, eq=False, repr=False)

    @property
    def service(self) -> str:
        return self.action.split(":", 1)[0]

    @property
    def principal_arn(self) -> str:
        """The principal as the reports name it: user/role ARN (role ARN with path)."""
        return self.principal.display

    def question(self) -> Question:
        """The full PolicySet + Request (the same the account's `authorize` would use)."""
        if self.env is None:
            raise ValueError("mapped without an environment")
        return build_question(self.env, self.principal, self.action, self.resource, self.context)


@attrs.frozen
class Unmapped:
    """A record that gives no request: a stable reason code, a message, the error if any."""

    reason: str
    message: str
    error: PolicyLangError | None = attrs.field(default=None, eq=False)

    def render(self, ref: RecordRef) -> str:
        if self.error is not None:
            return self.error.render()
        return f"{ref}: error[cloudtrail.{self.reason}]: {self.message}"


@attrs.frozen
class Tally:
    """Counts over a stream: mapped records by outcome and by event category (management or
    data events), unmapped records by reason."""

    mapped: Counter[str] = attrs.field(factory=Counter)
    unmapped: Counter[str] = attrs.field(factory=Counter)
    categories: Counter[str] = attrs.field(factory=Counter)  # mapped: Management / Data

    def add(self, item: Mapped | Unmapped) -> None:
        if isinstance(item, Mapped):
            self.mapped[item.outcome] += 1
            self.categories[item.event_category] += 1
        else:
            self.unmapped[item.reason] += 1

    @property
    def total(self) -> int:
        return sum(self.mapped.values()) + sum(self.unmapped.values())

    def to_json(self) -> dict[str, object]:
        return {
            "records": self.total,
            "mapped": dict(sorted(self.mapped.items())),
            "by_category": dict(sorted(self.categories.items())),
            "unmapped": dict(sorted(self.unmapped.items())),
        }


# --------------------------------------------------------------------------------------------
# Reading files


def _open_text(path: pathlib.Path) -> IO[str]:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open("r", encoding="utf-8")


def iter_records(
    paths: Iterable[str | pathlib.Path],
) -> Iterator[tuple[RecordRef, Mapping[str, Any] | PolicyLangError]]:
    """Every record of every file, in order, with its location; a malformed line or file gives a
    located `PolicySyntaxError` in place of the record (and the stream goes on)."""
    for path in _expand(paths):
        given = str(path)
        with _open_text(path) as handle:
            first = handle.readline()
            rest_is_lines = _is_record_line(first)
            if rest_is_lines:
                yield from _iter_lines(str(given), first, handle)
            else:
                yield from _iter_trail_file(str(given), first + handle.read())


def _expand(paths: Iterable[str | pathlib.Path]) -> Iterator[pathlib.Path]:
    """Files as given; a directory stands for its `.json`/`.jsonl`(`.gz`) files, sorted."""
    for given in paths:
        path = pathlib.Path(given)
        if path.is_dir():
            yield from sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and p.name.endswith((".json", ".jsonl", ".json.gz", ".jsonl.gz"))
            )
        else:
            yield path


def _is_record_line(line: str) -> bool:
    """True when the first line is a whole JSON object that is a record (JSON lines input)."""
    text = line.strip()
    if not text.startswith("{"):
        return False
    try:
        value = _json.loads(text, source=Source("<probe>", text), allow_duplicates=True)
    except PolicyLangError:
        return False
    return isinstance(value, dict) and "Records" not in value


def _iter_lines(
    name: str, first: str, handle: IO[str]
) -> Iterator[tuple[RecordRef, Mapping[str, Any] | PolicyLangError]]:
    def lines() -> Iterator[str]:
        yield first
        yield from handle

    index = 0
    for number, line in enumerate(lines(), start=1):
        text = line.strip()
        if not text:
            continue
        column = len(line) - len(line.lstrip()) + 1
        try:
            value = _json.loads(text, source=Source(name, text), allow_duplicates=True)
        except PolicyLangError as error:
            # Locate the error in the file: this line, the column within the stripped text.
            inner = error.span.column if error.span is not None else 1
            col = min(column + inner - 1, len(line.rstrip("\n")) or 1)
            located = Source(name, "\n" * (number - 1) + line)
            offset = (number - 1) + col - 1
            yield (
                RecordRef(name, number, col, index),
                PolicySyntaxError(
                    f"record is not valid JSON: {error.message}",
                    code="cloudtrail.bad-json",
                    span=located.span(offset, offset + 1),
                    source=located,
                ),
            )
            index += 1
            continue
        event_id = value.get("eventID") if isinstance(value, dict) else None
        event_id = event_id if isinstance(event_id, str) else None
        ref = RecordRef(name, number, column, index, event_id)
        index += 1
        if not isinstance(value, dict):
            located = Source(name, "\n" * (number - 1) + line)
            yield (
                ref,
                PolicySyntaxError(
                    "a CloudTrail record must be a JSON object",
                    code="cloudtrail.bad-record",
                    span=located.span(number - 1 + column - 1, number - 1 + column),
                    source=located,
                ),
            )
            continue
        yield ref, value


def _iter_trail_file(
    name: str, text: str
) -> Iterator[tuple[RecordRef, Mapping[str, Any] | PolicyLangError]]:
    source = Source(name, text)
    try:
        value, offsets = _json.loads_with_offsets(text, source=source, key="Records")
    except PolicyLangError as error:
        yield (
            RecordRef(
                name,
                error.span.line if error.span else 1,
                error.span.column if error.span else 1,
                0,
            ),
            error,
        )
        return
    records = value.get("Records") if isinstance(value, dict) else None
    if not isinstance(records, list):
        yield (
            RecordRef(name, 1, 1, 0),
            PolicySyntaxError(
                'not a CloudTrail log: expected {"Records": [...]} or one record per line',
                code="cloudtrail.not-a-trail",
                span=source.span(0, min(1, len(text))),
                source=source,
                hint="give CloudTrail log files (.json / .json.gz) or JSON lines of records",
            ),
        )
        return
    for index, record in enumerate(records):
        start = offsets[index][0] if index < len(offsets) else 0
        line, column = source.position(start)
        event_id = record.get("eventID") if isinstance(record, dict) else None
        ref = RecordRef(name, line, column, index, event_id if isinstance(event_id, str) else None)
        if not isinstance(record, dict):
            yield (
                ref,
                PolicySyntaxError(
                    "a CloudTrail record must be a JSON object",
                    code="cloudtrail.bad-record",
                    span=source.span(start, start + 1),
                    source=source,
                ),
            )
            continue
        yield ref, record


# --------------------------------------------------------------------------------------------
# Mapping one record


class _Skip(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def _str(record: Mapping[str, Any], *keys: str) -> str | None:
    node: Any = record
    for key in keys:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node if isinstance(node, str) and node else None


def action_of(event_source: str, event_name: str) -> str:
    """The IAM action of an event (`s3.amazonaws.com`, `ListObjectsV2` → `s3:ListBucket`)."""
    service = SERVICE_PREFIXES.get(event_source)
    if service is None:
        service = event_source.split(".", 1)[0]
    name = EVENT_ACTIONS.get((service, event_name), event_name)
    if service == "lambda":
        name = _LAMBDA_VERSION.sub("", name)
    return f"{service}:{name}"


def _principal(env: Environment, record: Mapping[str, Any]) -> Principal:
    identity = record.get("userIdentity")
    if not isinstance(identity, Mapping):
        raise _Skip("no-identity", "record has no userIdentity")
    kind = identity.get("type")
    arn = _str(identity, "arn")
    try:
        if kind == "IAMUser":
            if arn is None:
                raise _Skip("no-identity", "IAMUser record without userIdentity.arn")
            return find_principal(env, arn)
        if kind == "AssumedRole":
            issuer = _str(identity, "sessionContext", "sessionIssuer", "arn")
            if issuer is None or arn is None:
                raise _Skip("no-identity", "AssumedRole record without sessionIssuer.arn")
            session = arn.rsplit("/", 1)[-1]
            return find_principal(env, issuer, session_name=session)
        if kind == "Root":
            account = _str(identity, "accountId") or (arn.split(":")[4] if arn else None)
            if account is None:
                raise _Skip("no-identity", "Root record without accountId")
            return find_principal(env, account)
        if kind == "AWSService":
            service = _str(identity, "invokedBy") or _str(record, "sourceIPAddress")
            if service is None:
                raise _Skip("no-identity", "AWSService record without invokedBy")
            return service_principal(service)
        if kind in ("SAMLUser", "WebIdentityUser"):
            provider = _str(identity, "identityProvider")
            account = _str(record, "recipientAccountId")
            if provider is None:
                raise _Skip("no-identity", f"{kind} record without identityProvider")
            if not provider.startswith("arn:") and account:
                what = "saml-provider" if kind == "SAMLUser" else "oidc-provider"
                provider = f"arn:aws:iam::{account}:{what}/{provider}"
            return federated_principal(provider)
    except PolicyLangError as error:
        raise _Skip("unknown-principal", error.message) from None
    if kind == "FederatedUser":
        raise _Skip(
            "federated-user",
            f"GetFederationToken session `{arn}`: its session policy is not in the log",
        )
    if kind == "AWSAccount":
        raise _Skip(
            "other-account",
            f"caller of account {_str(identity, 'accountId')} (principal "
            f"{_str(identity, 'principalId')}) is not a loaded principal",
        )
    raise _Skip("unknown-identity-type", f"userIdentity.type `{kind}` is not supported")


def _arn_account(arn: str) -> str:
    parts = arn.split(":", 5)
    return parts[4] if len(parts) == 6 else ""


def _resource(env: Environment, service: str, action: str, record: Mapping[str, Any]) -> str | None:
    """The resource ARN the request acted on, or None when the record does not say."""
    region = _str(record, "awsRegion") or "us-east-1"
    account = _str(record, "recipientAccountId") or ""
    params = record.get("requestParameters")
    params = params if isinstance(params, Mapping) else {}

    def p(key: str) -> str | None:
        value = params.get(key)
        return value if isinstance(value, str) and value else None

    if service == "sts" and action.split(":", 1)[1] in (
        "AssumeRole",
        "AssumeRoleWithSAML",
        "AssumeRoleWithWebIdentity",
    ):
        return p("roleArn")
    if service == "s3":
        bucket, key = p("bucketName"), p("key")
        if bucket:
            return f"arn:aws:s3:::{bucket}/{key}" if key else f"arn:aws:s3:::{bucket}"
    listed = record.get("resources")
    if isinstance(listed, list):
        arns: list[str] = [
            r["ARN"]
            for r in listed
            if isinstance(r, Mapping) and str(r.get("ARN", "")).startswith("arn:")
        ]
        if arns:
            # the most specific: an object over its bucket, a longer ARN over a shorter one
            return max(arns, key=len)
    if service == "iam":
        for key, kind in (("userName", "user"), ("roleName", "role"), ("groupName", "group")):
            name = p(key)
            if name:
                return _iam_arn(env, account, kind, name)
        profile = p("instanceProfileName")
        if profile:
            return f"arn:aws:iam::{account}:instance-profile/{profile}"
        return p("policyArn")
    if service == "kms":
        key_id = p("keyId")
        if key_id:
            if key_id.startswith("arn:"):
                return key_id
            if key_id.startswith("alias/"):
                return f"arn:aws:kms:{region}:{account}:{key_id}"
            return f"arn:aws:kms:{region}:{account}:key/{key_id}"
    if service == "dynamodb":
        table = p("tableName")
        if table:
            return (
                table
                if table.startswith("arn:")
                else (f"arn:aws:dynamodb:{region}:{account}:table/{table}")
            )
    if service == "sqs":
        url = p("queueUrl")
        if url:
            parts = url.rstrip("/").split("/")
            if len(parts) >= 2:
                host = parts[2] if len(parts) > 2 else ""
                queue_region = host.split(".")[1] if host.count(".") >= 2 else region
                return f"arn:aws:sqs:{queue_region}:{parts[-2]}:{parts[-1]}"
    if service == "sns":
        return p("topicArn") or p("targetArn")
    if service == "lambda":
        name = p("functionName")
        if name:
            return (
                name
                if name.startswith("arn:")
                else (f"arn:aws:lambda:{region}:{account}:function:{name}")
            )
    if service == "secretsmanager":
        secret = p("secretId")
        if secret and secret.startswith("arn:"):
            return secret
    if service == "logs":
        group = p("logGroupName")
        if group:
            stream = p("logStreamName")
            base = f"arn:aws:logs:{region}:{account}:log-group:{group}"
            return f"{base}:log-stream:{stream}" if stream else base
    if service == "ssm":
        name = p("name")
        if name:
            return f"arn:aws:ssm:{region}:{account}:parameter/{name.lstrip('/')}"
    return None


def _iam_arn(env: Environment, account: str, kind: str, name: str) -> str:
    """The IAM ARN with its path when the entity is loaded (ARNs carry paths; names do not)."""
    loaded = env.accounts.get(account)
    if loaded is not None:
        tables: dict[str, Mapping[str, Any]] = {
            "user": loaded.users,
            "role": loaded.roles,
            "group": loaded.groups,
        }
        arn = getattr(tables[kind].get(name.lower()), "arn", None)
        if isinstance(arn, str):
            return arn
    return f"arn:aws:iam::{account}:{kind}/{name}"


def _context(record: Mapping[str, Any]) -> dict[str, ContextValue]:
    ctx: dict[str, ContextValue] = {"aws:SecureTransport": "true"}
    source_ip = _str(record, "sourceIPAddress")
    if source_ip:
        try:
            ipaddress.ip_address(source_ip)
            ctx["aws:SourceIp"] = source_ip
        except ValueError:
            pass  # a service name (`ec2.amazonaws.com`): the request came through a service
    agent = _str(record, "userAgent")
    if agent:
        ctx["aws:UserAgent"] = agent
    region = _str(record, "awsRegion")
    if region:
        ctx["aws:RequestedRegion"] = region
    when = _str(record, "eventTime")
    if when:
        ctx["aws:CurrentTime"] = when
        try:
            moment = datetime.fromisoformat(when.replace("Z", "+00:00"))
            ctx["aws:EpochTime"] = str(int(moment.timestamp()))
        except ValueError:
            pass
    identity = record.get("userIdentity")
    session = identity.get("sessionContext") if isinstance(identity, Mapping) else None
    attributes = session.get("attributes") if isinstance(session, Mapping) else None
    if isinstance(attributes, Mapping):
        mfa = attributes.get("mfaAuthenticated")
        if isinstance(mfa, str | bool):
            ctx["aws:MultiFactorAuthPresent"] = str(mfa).lower()
        created = attributes.get("creationDate")
        if isinstance(created, str):
            ctx["aws:TokenIssueTime"] = created
    vpce = _str(record, "vpcEndpointId")
    if vpce:
        ctx["aws:SourceVpce"] = vpce
    if _str(record, "userIdentity", "invokedBy"):
        ctx["aws:ViaAWSService"] = "true"
    return ctx


def _request(
    env: Environment,
    principal: Principal,
    action: str,
    resource: str,
    context: Mapping[str, ContextValue],
) -> Request:
    """The request `build_question` would build, without gathering the policy sets (that is
    what makes mapping a whole trail cheap; `Mapped.question()` gathers them when needed)."""
    owner, _, _, tags = resource_owner(env, resource, principal, None)
    target = iam_entity_at(env, resource)
    if target is not None:
        tags = {t.key: t.value for t in target.tags}
    ctx: dict[str, ContextValue] = dict(context)
    if principal.role is not None and not any(k.lower() == "aws:principalarn" for k in ctx):
        ctx["aws:PrincipalArn"] = principal.role.arn  # as build_question: the role ARN + path
    return Request(principal.caller, action, Resource(resource, account=owner, tags=tags), ctx)


_PrincipalCache = dict[tuple[object, ...], "Principal | _Skip"]


def _cached_principal(
    env: Environment, record: Mapping[str, Any], cache: _PrincipalCache | None
) -> Principal:
    """`_principal`, memoized on the identity fields it reads (a trail has few principals)."""
    if cache is None:
        return _principal(env, record)
    identity = record.get("userIdentity")
    if not isinstance(identity, Mapping):
        return _principal(env, record)
    key = (
        identity.get("type"),
        _str(identity, "arn"),
        _str(identity, "accountId"),
        _str(identity, "sessionContext", "sessionIssuer", "arn"),
        _str(identity, "invokedBy"),
        _str(identity, "identityProvider"),
        _str(identity, "principalId"),
        _str(record, "recipientAccountId"),
        _str(record, "sourceIPAddress") if identity.get("type") == "AWSService" else None,
    )
    found = cache.get(key)
    if found is None:
        try:
            found = _principal(env, record)
        except _Skip as skip:
            found = skip
        if len(cache) >= 4096:
            cache.clear()  # bounded: a pathological trail cannot grow it without limit
        cache[key] = found
    if isinstance(found, _Skip):
        raise _Skip(found.reason, found.message)
    return found


def map_record(
    env: Environment, record: Mapping[str, Any], *, cache: _PrincipalCache | None = None
) -> Mapped | Unmapped:
    """Map one decoded CloudTrail record (see the module docstring for the rules)."""
    try:
        event_source = _str(record, "eventSource")
        event_name = _str(record, "eventName")
        if event_source is None or event_name is None:
            raise _Skip("not-a-record", "record has no eventSource/eventName")
        if record.get("eventType") == "AwsServiceEvent":
            raise _Skip("service-event", f"{event_name}: an AWS service event has no caller")
        principal = _cached_principal(env, record, cache)
        action = action_of(event_source, event_name)
        service = action.split(":", 1)[0]
        resource = _resource(env, service, action, record)
        derived = resource is not None
        context = _context(record)
        request = _request(env, principal, action, resource or "*", context)
    except _Skip as skip:
        return Unmapped(skip.reason, skip.message)
    error_code = _str(record, "errorCode")
    outcome: Outcome = (
        "success" if error_code is None else "denied" if error_code in _DENIED_ERRORS else "error"
    )
    category = _str(record, "eventCategory") or (
        "Management" if record.get("managementEvent", True) is not False else "Data"
    )
    return Mapped(
        principal=principal,
        action=action,
        resource=resource or "*",
        context=context,
        request=request,
        outcome=outcome,
        event_time=_str(record, "eventTime") or "",
        event_category=category,
        error_code=error_code,
        resource_derived=derived,
        assumed_role=resource if action.lower() in ROLE_TRUST_ACTIONS and resource else None,
        env=env,
    )


def requests_from_cloudtrail(
    paths: Iterable[str | pathlib.Path], environment: Environment
) -> Iterator[tuple[RecordRef, Mapped | Unmapped]]:
    """Every record of `paths` (streamed, file by file), mapped against `environment`.

    Yields one item per record, in input order: (`RecordRef`, `Mapped`) or (`RecordRef`,
    `Unmapped`). A malformed record is an `Unmapped` with reason `bad-record` and its located
    error; a file that cannot be read at all raises `OSError`."""
    cache: _PrincipalCache = {}
    for ref, record in iter_records(paths):
        if isinstance(record, PolicyLangError):
            yield ref, Unmapped("bad-record", record.message, record)
            continue
        yield ref, map_record(environment, record, cache=cache)


class CloudTrailReader:
    """A `policylang.batch.RecordReader` for CloudTrail records (one per JSON line) against a
    loaded environment: `BatchEvaluator(reader=CloudTrailReader(env))`.

    Records that share a principal, a resource policy and a resource account share one
    compiled PolicySet. The case name is the record's eventID; the expectation is `allowed`
    for a successful call (a failed call does not say which denial it met, so none). An
    unmappable record raises `CaseError` with its reason code."""

    def __init__(self, environment: Environment) -> None:
        self.environment = environment
        self._last: tuple[Mapping[str, Any], Mapped] | None = None

    def _mapped(self, record: Mapping[str, Any], source_name: str) -> Mapped:
        # The batch asks for the key, then the set, then the request of the same record. The
        # record itself is held (not its id(), which a later record may reuse).
        if self._last is not None and self._last[0] is record:
            return self._last[1]
        item = map_record(self.environment, record)
        if isinstance(item, Unmapped):
            raise CaseError(
                item.message, code=f"cloudtrail.{item.reason}", source=Source(source_name, "")
            )
        self._last = (record, item)
        return item

    def policies_key(self, record: Mapping[str, Any]) -> object:
        m = self._mapped(record, "<input>")
        trust = m.action.lower() in ROLE_TRUST_ACTIONS
        _, entry = self.environment.find_resource(m.resource)
        return (
            m.principal.display,
            m.resource if trust else (entry.resource_arn if entry is not None else None),
            m.request.resource.account,
        )

    def load(self, record: Mapping[str, Any], data: bytes, source_name: str) -> PolicySet:
        return self._mapped(record, source_name).question().policy_set

    def request(
        self, record: Mapping[str, Any], data: bytes, source_name: str
    ) -> tuple[Request, str | None, Decision | None]:
        m = self._mapped(record, source_name)
        event_id = record.get("eventID")
        return (
            m.request,
            event_id if isinstance(event_id, str) else None,
            Decision.ALLOWED if m.outcome == "success" else None,
        )
