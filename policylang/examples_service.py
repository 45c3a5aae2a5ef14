"""A reference protected service: a small S3-compatible endpoint plus STS, over a local folder.

Every request is authenticated with SigV4 against a credential store (shared with
`policylang imds`, in-process or through a SQLite file) and authorized by policylang: the
account model gathers the caller's identity policies, the bucket policy (a resource-based
policy, from the account file) and the rest, and the reference evaluator decides. Run it with
`python -m policylang.examples_service --account FILE --store FILE --data DIR`.

Operations: S3 ListBuckets, CreateBucket, HeadBucket, ListObjectsV2, GetObject, HeadObject,
PutObject, DeleteObject (path-style addressing); STS GetCallerIdentity and AssumeRole (Query
protocol, `POST /`). Requests are told apart by the service in their credential scope.

Hostile or malformed input is refused before anything touches the disk: bad signatures,
oversized headers or bodies (`EntityTooLarge`), object keys with `..`/`.` segments, a leading
`/`, backslashes, NUL or other control characters, non-UTF-8 keys, unknown operations. Objects
are stored under the SHA-256 of their key (never under a name derived from the path), so a key
cannot name a file outside its bucket. Each decision can be logged as a JSON line holding the
simulation case (`--decision-log FILE`), replayable with `policylang simulate --explain`.

ListBuckets follows S3: it needs `s3:ListAllMyBuckets` and lists the buckets owned by the
caller's account.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import secrets
import signal
import sys
import tempfile
import threading
import zlib
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any, Final
from urllib.parse import quote, unquote_to_bytes
from xml.sax.saxutils import escape

import attrs

from policylang import _json
from policylang.account import Environment, load_environment
from policylang.account.resolve import Question, find_principal
from policylang.auth.clock import Clock, system_clock
from policylang.auth.service import error_response, request_params
from policylang.auth.sigv4 import (
    ErrorStyle,
    HttpRequest,
    SigV4Config,
    SigV4Verifier,
    VerifiedRequest,
)
from policylang.auth.store import CredentialStore, InMemoryCredentialStore, SqliteCredentialStore
from policylang.auth.sts import Identity, StsService, access_denied_message
from policylang.decision import EvaluationResult
from policylang.errors import AccountError, AuthError
from policylang.evaluator import evaluate
from policylang.request import ContextValue

S3_NS: Final = "http://s3.amazonaws.com/doc/2006-03-01/"
STS_NS: Final = "https://sts.amazonaws.com/doc/2011-06-15/"
MAX_BODY: Final = 5 * 1024 * 1024
MAX_HEADER_BYTES: Final = 16 * 1024
MAX_KEY_BYTES: Final = 1024
_BUCKET_RE: Final = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_SCOPE_RE: Final = re.compile(r"Credential=[^/,\s]*/\d{8}/[^/,\s]*/([^/,\s]+)/")
_QCRED_RE: Final = re.compile(
    r"(?:^|&)X-Amz-Credential=[^&]*?(?:%2F|/)[^&]*?(?:%2F|/)[^&]*?(?:%2F|/)([^&%/]+)"
)
Response = tuple[int, list[tuple[str, str]], bytes]


class ServiceError(Exception):
    """A refusal with AWS's code, HTTP status and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def check_bucket_name(name: str) -> None:
    """S3's bucket naming rules (3-63 lower-case letters, digits, `.`, `-`; no `..`)."""
    if not _BUCKET_RE.fullmatch(name) or ".." in name:
        raise ServiceError(400, "InvalidBucketName", "The specified bucket is not valid.")


def check_object_key(key: str) -> None:
    """Refuse keys that look like file-system paths escaping their bucket, or control bytes."""
    if not key:
        raise ServiceError(400, "InvalidArgument", "Object key must not be empty.")
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise ServiceError(400, "KeyTooLongError", "Your key is too long.")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in key):
        raise ServiceError(400, "InvalidArgument", "Object key contains a control character.")
    if key.startswith("/") or "\\" in key:
        raise ServiceError(
            400, "InvalidArgument", "Object key must not be absolute or contain `\\`."
        )
    if any(segment in (".", "..") for segment in key.split("/")):
        raise ServiceError(400, "InvalidArgument", "Object key must not contain `.` or `..`.")


def _iso_ms(value: datetime) -> str:
    return (
        value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    )


# ---------------------------------------------------------------------------------------------
# Storage


@attrs.frozen(slots=True)
class ObjectInfo:
    key: str
    size: int
    etag: str
    last_modified: datetime
    content_type: str


class BucketStore:
    """Buckets as folders: `ROOT/<bucket>/bucket.json` (owner, creation date) and
    `ROOT/<bucket>/objects/<sha256(key)>.{data,json}`. Writes go through a temporary file and
    `os.replace`, so a failed request leaves nothing behind."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def _bucket_dir(self, bucket: str) -> Path:
        check_bucket_name(bucket)
        return self.root / bucket

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def create_bucket(self, bucket: str, owner: str, now: datetime) -> bool:
        """Create `bucket` for account `owner`; False if it already exists."""
        path = self._bucket_dir(bucket)
        with self._lock:
            if path.exists():
                return False
            (path / "objects").mkdir(parents=True)
            meta = {"Owner": owner, "CreationDate": _iso_ms(now)}
            self._write(path / "bucket.json", _json.dumps(meta).encode())
        return True

    def bucket_owner(self, bucket: str) -> str | None:
        try:
            meta = self._bucket_dir(bucket) / "bucket.json"
        except ServiceError:
            return None
        if not meta.is_file():
            return None
        value: dict[str, str] = json.loads(meta.read_bytes())
        return value["Owner"]

    def buckets(self) -> list[tuple[str, str, str]]:
        """(name, owner, creation date) of every bucket, by name."""
        out: list[tuple[str, str, str]] = []
        for child in sorted(self.root.iterdir()):
            meta = child / "bucket.json"
            if meta.is_file():
                value: dict[str, str] = json.loads(meta.read_bytes())
                out.append((child.name, value["Owner"], value["CreationDate"]))
        return out

    def _object_paths(self, bucket: str, key: str) -> tuple[Path, Path]:
        check_object_key(key)
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
        folder = self._bucket_dir(bucket) / "objects"
        return folder / f"{digest}.data", folder / f"{digest}.json"

    def put_object(
        self, bucket: str, key: str, data: bytes, now: datetime, content_type: str | None = None
    ) -> ObjectInfo:
        data_path, meta_path = self._object_paths(bucket, key)
        info = ObjectInfo(
            key,
            len(data),
            hashlib.md5(data, usedforsecurity=False).hexdigest(),
            now,
            content_type or "binary/octet-stream",
        )
        meta = {
            "Key": key,
            "Size": info.size,
            "ETag": info.etag,
            "LastModified": now.timestamp(),
            "ContentType": info.content_type,
        }
        with self._lock:
            self._write(data_path, data)
            self._write(meta_path, _json.dumps(meta).encode())
        return info

    def _info(self, meta_path: Path) -> ObjectInfo:
        value: dict[str, Any] = json.loads(meta_path.read_bytes())
        return ObjectInfo(
            value["Key"],
            value["Size"],
            value["ETag"],
            datetime.fromtimestamp(value["LastModified"], UTC),
            value["ContentType"],
        )

    def head_object(self, bucket: str, key: str) -> ObjectInfo | None:
        _, meta_path = self._object_paths(bucket, key)
        return self._info(meta_path) if meta_path.is_file() else None

    def get_object(self, bucket: str, key: str) -> tuple[ObjectInfo, bytes] | None:
        data_path, meta_path = self._object_paths(bucket, key)
        with self._lock:
            if not meta_path.is_file():
                return None
            return self._info(meta_path), data_path.read_bytes()

    def delete_object(self, bucket: str, key: str) -> bool:
        data_path, meta_path = self._object_paths(bucket, key)
        with self._lock:
            existed = meta_path.is_file()
            meta_path.unlink(missing_ok=True)
            data_path.unlink(missing_ok=True)
        return existed

    def objects(self, bucket: str) -> list[ObjectInfo]:
        folder = self._bucket_dir(bucket) / "objects"
        return sorted(
            (self._info(p) for p in folder.glob("*.json")), key=lambda i: i.key.encode("utf-8")
        )


# ---------------------------------------------------------------------------------------------
# The service


def _xml(root: str, inner: str, ns: str = S3_NS) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="{ns}">{inner}</{root}>'
    ).encode()


def _el(name: str, value: object) -> str:
    return f"<{name}>{escape(str(value))}</{name}>"


def _service_of(request: HttpRequest) -> str | None:
    """The signing name in the request's credential scope (`s3`, `sts`), if any."""
    header = request.header("authorization")
    if header is not None:
        found = _SCOPE_RE.search(header)
        return found.group(1) if found else None
    found = _QCRED_RE.search(request.query)
    return found.group(1) if found else None


class ReferenceService:
    """The protocol logic: `handle(HttpRequest, content_length)` → (status, headers, body)."""

    def __init__(
        self,
        env: Environment,
        store: CredentialStore,
        data: BucketStore,
        *,
        clock: Clock = system_clock,
        regions: tuple[str, ...] = ("us-east-1",),
        decision_log: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.env = env
        self.store = store
        self.data = data
        self.clock = clock
        self.sts = StsService(env, store, clock=clock)
        self.s3_verifier = SigV4Verifier(store, SigV4Config.for_service("s3", regions), clock)
        self.sts_verifier = SigV4Verifier(store, SigV4Config.for_service("sts", regions), clock)
        self.decision_log = decision_log

    def seed_buckets(self) -> list[str]:
        """Create every bucket the account files register (resource entries `arn:…:s3:::NAME`)."""
        created: list[str] = []
        now = self.clock()
        for account in self.env.accounts.values():
            for arn in account.resource_policies:
                if arn.startswith("arn:aws:s3:::") and "/" not in arn:
                    name = arn.removeprefix("arn:aws:s3:::")
                    if self.data.create_bucket(name, account.account_id, now):
                        created.append(name)
        return created

    # ------------------------------------------------------------------ entry

    def handle(self, request: HttpRequest) -> Response:
        service = _service_of(request)
        style = ErrorStyle.QUERY if service == "sts" else ErrorStyle.S3
        request_id = secrets.token_hex(8).upper()
        try:
            if service == "sts":
                return self._sts(request, request_id)
            return self._s3(request, request_id)
        except ServiceError as error:
            status, headers, body = error_response(
                style, error.code, error.message, error.status, request_id
            )
            return status, headers, b"" if request.method == "HEAD" else body

    def _authenticate(
        self, verifier: SigV4Verifier, request: HttpRequest
    ) -> tuple[Identity, VerifiedRequest]:
        try:
            verified = verifier.verify(request)
            if verified.credential is None:
                raise ServiceError(403, "AccessDenied", "Anonymous access is not supported.")
            identity = self.sts.identity(verified.credential)
        except AuthError as error:
            code = error.aws_error
            if verifier is self.s3_verifier and code == "InvalidClientTokenId":
                code = "InvalidAccessKeyId"  # S3's spelling (§9.4)
            raise ServiceError(error.status, code, error.message) from error
        return identity, verified

    # ------------------------------------------------------------------ STS

    def _sts(self, request: HttpRequest, request_id: str) -> Response:
        identity, _ = self._authenticate(self.sts_verifier, request)
        params = request_params(request)
        action = params.get("Action")
        meta = f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>"
        if action == "GetCallerIdentity":
            who = self.sts.get_caller_identity(identity)
            self._log(identity, "sts:GetCallerIdentity", "*", None, None)
            inner = "".join(_el(k, who[k]) for k in ("Arn", "UserId", "Account"))
            body = _xml(
                "GetCallerIdentityResponse",
                f"<GetCallerIdentityResult>{inner}</GetCallerIdentityResult>{meta}",
                STS_NS,
            )
            return 200, [("Content-Type", "text/xml")], body
        if action == "AssumeRole":
            return self._assume_role(identity, params, meta)
        raise ServiceError(
            400,
            "InvalidAction",
            f"Could not find operation {action or '(none)'} for version "
            f"{params.get('Version', '2011-06-15')}",
        )

    def _assume_role(self, identity: Identity, params: Mapping[str, str], meta: str) -> Response:
        duration_text = params.get("DurationSeconds")
        try:
            duration = None if duration_text is None else int(duration_text)
        except ValueError:
            raise ServiceError(400, "ValidationError", "DurationSeconds must be a number") from None
        role_arn = params.get("RoleArn", "")
        try:
            result = self.sts.assume_role(
                identity,
                role_arn,
                params.get("RoleSessionName", ""),
                duration_seconds=duration,
                external_id=params.get("ExternalId"),
            )
        except AuthError as error:
            self._log(identity, "sts:AssumeRole", role_arn, None, error.message)
            raise ServiceError(error.status, error.aws_error, error.message) from error
        except AccountError as error:
            raise ServiceError(400, error.aws_error, error.message) from error
        self._log(identity, "sts:AssumeRole", role_arn, None, None)
        c = result.credentials
        creds = (
            _el("AccessKeyId", c.access_key_id)
            + _el("SecretAccessKey", c.secret_access_key.reveal())
            + _el("SessionToken", c.session_token.reveal())
            + _el("Expiration", c.expiration.strftime("%Y-%m-%dT%H:%M:%SZ"))
        )
        user = _el("Arn", result.assumed_role_arn) + _el("AssumedRoleId", result.assumed_role_id)
        body = _xml(
            "AssumeRoleResponse",
            f"<AssumeRoleResult><Credentials>{creds}</Credentials>"
            f"<AssumedRoleUser>{user}</AssumedRoleUser></AssumeRoleResult>{meta}",
            STS_NS,
        )
        return 200, [("Content-Type", "text/xml")], body

    # ------------------------------------------------------------------ S3

    def _authorize(
        self,
        identity: Identity,
        verified: VerifiedRequest,
        action: str,
        resource: str,
        owner: str | None,
        context: Mapping[str, ContextValue] | None = None,
    ) -> None:
        ctx: dict[str, ContextValue] = dict(verified.context)
        ctx.update(context or {})
        # A bucket the account file does not register (created at run time) is owned by the
        # account that created it, not the caller's: `owner` says so.
        policy_set, request = self.sts.request_for(
            identity, action, resource, ctx, resource_account=owner
        )
        result = evaluate(policy_set, request)
        message = None
        if not result.allowed:
            message = access_denied_message(identity.arn, action, resource, result)
        self._log(identity, action, resource, result, message, (policy_set, request))
        if message is not None:
            raise ServiceError(403, "AccessDenied", message)

    def _log(
        self,
        identity: Identity,
        action: str,
        resource: str,
        result: EvaluationResult | None,
        denied: str | None,
        question: tuple[Any, Any] | None = None,
    ) -> None:
        if self.decision_log is None:
            return
        entry: dict[str, Any] = {
            "time": self.clock().isoformat(),
            "caller": identity.arn,
            "action": action,
            "resource": resource,
            "decision": (
                result.decision.value if result is not None else ("denied" if denied else "allowed")
            ),
        }
        if result is not None:
            entry["deciding_set"] = result.deciding_set
            entry["matched"] = [
                {"policy": m.policy, "sid": m.sid, "effect": m.effect.value}
                for m in result.matched_statements
            ]
        if denied:
            entry["message"] = denied
        if question is not None:
            principal = find_principal(
                self.env, identity.principal_arn, session_name=identity.session_name
            )
            entry["case"] = Question(principal, question[0], question[1], {}).to_case(
                name=f"{action} {resource}"
            )
        self.decision_log(entry)

    def _s3(self, request: HttpRequest, request_id: str) -> Response:
        identity, verified = self._authenticate(self.s3_verifier, request)
        raw = request.path
        try:
            path = unquote_to_bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            raise ServiceError(400, "InvalidURI", "Couldn't parse the specified URI.") from None
        params = request_params(request)
        bucket, _, key = path.lstrip("/").partition("/")
        method = request.method.upper()
        headers: list[tuple[str, str]] = [("x-amz-request-id", request_id)]
        if not bucket:
            if method != "GET":
                raise ServiceError(405, "MethodNotAllowed", "Method not allowed on the service.")
            return self._list_buckets(identity, verified, headers)
        check_bucket_name(bucket)
        subresources = set(params) - {
            "list-type", "prefix", "delimiter", "max-keys", "continuation-token", "start-after",
            "encoding-type", "fetch-owner", "x-id",
        } - {p for p in params if p.lower().startswith("x-amz-")}  # fmt: skip
        if subresources:
            raise ServiceError(
                501, "NotImplemented", f"Sub-resource {sorted(subresources)[0]} is not implemented."
            )
        owner = self.data.bucket_owner(bucket)
        bucket_arn = f"arn:aws:s3:::{bucket}"
        if not key:
            if method == "PUT":
                return self._create_bucket(identity, verified, bucket, owner, headers)
            if owner is None:
                raise ServiceError(404, "NoSuchBucket", "The specified bucket does not exist")
            if method == "HEAD":
                self._authorize(identity, verified, "s3:ListBucket", bucket_arn, owner)
                return 200, headers, b""
            if method == "GET":
                return self._list_objects(identity, verified, bucket, owner, params, headers)
            raise ServiceError(501, "NotImplemented", f"{method} on a bucket is not implemented.")
        check_object_key(key)
        if owner is None:
            raise ServiceError(404, "NoSuchBucket", "The specified bucket does not exist")
        object_arn = f"{bucket_arn}/{key}"
        if method in ("GET", "HEAD"):
            self._authorize(identity, verified, "s3:GetObject", object_arn, owner)
            found = self.data.get_object(bucket, key)
            if found is None:
                raise ServiceError(404, "NoSuchKey", "The specified key does not exist.")
            info, data = found
            headers += [
                ("Content-Type", info.content_type),
                ("ETag", f'"{info.etag}"'),
                ("Last-Modified", format_datetime(info.last_modified, usegmt=True)),
                ("Content-Length", str(info.size)),
            ]
            return 200, headers, b"" if method == "HEAD" else data
        if method == "PUT":
            if request.header("x-amz-copy-source") is not None:
                raise ServiceError(501, "NotImplemented", "CopyObject is not implemented.")
            self._authorize(identity, verified, "s3:PutObject", object_arn, owner)
            body = self._verified_body(request, verified)
            info = self.data.put_object(
                bucket, key, body, self.clock(), request.header("content-type")
            )
            return 200, [*headers, ("ETag", f'"{info.etag}"')], b""
        if method == "DELETE":
            self._authorize(identity, verified, "s3:DeleteObject", object_arn, owner)
            self.data.delete_object(bucket, key)
            return 204, headers, b""
        raise ServiceError(405, "MethodNotAllowed", f"{method} is not allowed on an object.")

    def _verified_body(self, request: HttpRequest, verified: VerifiedRequest) -> bytes:
        body = verified.body if verified.body is not None else (request.body or b"")
        md5 = request.header("content-md5")
        if md5 is not None:
            expected = base64.b64encode(hashlib.md5(body, usedforsecurity=False).digest()).decode()
            if md5.strip() != expected:
                raise ServiceError(400, "BadDigest", "The Content-MD5 you specified did not match.")
        checks: dict[str, Callable[[bytes], bytes]] = {
            "x-amz-checksum-crc32": lambda b: zlib.crc32(b).to_bytes(4, "big"),
            "x-amz-checksum-sha256": lambda b: hashlib.sha256(b).digest(),
            "x-amz-checksum-sha1": lambda b: hashlib.sha1(b, usedforsecurity=False).digest(),
        }
        for name, digest in checks.items():
            value = request.header(name)
            if value is not None and value.strip() != base64.b64encode(digest(body)).decode():
                raise ServiceError(400, "BadDigest", f"The {name} you specified did not match.")
        return body

    def _list_buckets(
        self, identity: Identity, verified: VerifiedRequest, headers: list[tuple[str, str]]
    ) -> Response:
        self._authorize(
            identity, verified, "s3:ListAllMyBuckets", "arn:aws:s3:::*", identity.account
        )
        items = "".join(
            f"<Bucket>{_el('Name', name)}{_el('CreationDate', created)}</Bucket>"
            for name, owner, created in self.data.buckets()
            if owner == identity.account
        )
        owner_xml = f"<Owner>{_el('ID', identity.account)}</Owner>"
        body = _xml("ListAllMyBucketsResult", f"{owner_xml}<Buckets>{items}</Buckets>")
        return 200, [*headers, ("Content-Type", "application/xml")], body

    def _create_bucket(
        self,
        identity: Identity,
        verified: VerifiedRequest,
        bucket: str,
        owner: str | None,
        headers: list[tuple[str, str]],
    ) -> Response:
        arn = f"arn:aws:s3:::{bucket}"
        self._authorize(identity, verified, "s3:CreateBucket", arn, identity.account)
        if owner is not None:
            if owner == identity.account:
                raise ServiceError(
                    409,
                    "BucketAlreadyOwnedByYou",
                    "Your previous request to create the named "
                    "bucket succeeded and you already own it.",
                )
            raise ServiceError(
                409, "BucketAlreadyExists", "The requested bucket name is not available."
            )
        if not self.data.create_bucket(bucket, identity.account, self.clock()):
            raise ServiceError(409, "BucketAlreadyExists", "The requested bucket name is taken.")
        return 200, [*headers, ("Location", f"/{bucket}")], b""

    def _list_objects(
        self,
        identity: Identity,
        verified: VerifiedRequest,
        bucket: str,
        owner: str,
        params: Mapping[str, str],
        headers: list[tuple[str, str]],
    ) -> Response:
        prefix = params.get("prefix", "")
        delimiter = params.get("delimiter", "")
        try:
            max_keys = max(0, min(1000, int(params.get("max-keys", "1000"))))
        except ValueError:
            raise ServiceError(400, "InvalidArgument", "max-keys must be an integer") from None
        context: dict[str, ContextValue] = {"s3:prefix": prefix, "s3:max-keys": str(max_keys)}
        if delimiter:
            context["s3:delimiter"] = delimiter
        bucket_arn = f"arn:aws:s3:::{bucket}"
        self._authorize(identity, verified, "s3:ListBucket", bucket_arn, owner, context)
        token = params.get("continuation-token")
        start_after = params.get("start-after", "")
        after = start_after
        if token:
            try:
                after = base64.urlsafe_b64decode(token.encode()).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                raise ServiceError(
                    400, "InvalidArgument", "The continuation token provided is incorrect"
                ) from None
        url = params.get("encoding-type") == "url"

        def enc(text: str) -> str:
            return quote(text, safe="/") if url else text

        contents: list[str] = []
        prefixes: list[str] = []
        last = ""
        truncated = False
        for info in self.data.objects(bucket):
            if not info.key.startswith(prefix) or (after and info.key <= after):
                continue
            if delimiter:
                cut = info.key.find(delimiter, len(prefix))
                if cut >= 0:
                    common = info.key[: cut + len(delimiter)]
                    if prefixes and prefixes[-1] == common:
                        continue
                    if len(contents) + len(prefixes) >= max_keys:
                        truncated = True
                        break
                    prefixes.append(common)
                    last = common + "\U0010ffff"
                    continue
            if len(contents) + len(prefixes) >= max_keys:
                truncated = True
                break
            last = info.key
            contents.append(
                "<Contents>"
                + _el("Key", enc(info.key))
                + _el("LastModified", _iso_ms(info.last_modified))
                + _el("ETag", f'"{info.etag}"')
                + _el("Size", info.size)
                + "<StorageClass>STANDARD</StorageClass></Contents>"
            )
        parts = [
            _el("Name", bucket),
            _el("Prefix", enc(prefix)),
            _el("KeyCount", len(contents) + len(prefixes)),
            _el("MaxKeys", max_keys),
            _el("IsTruncated", "true" if truncated else "false"),
        ]
        if delimiter:
            parts.append(_el("Delimiter", enc(delimiter)))
        if url:
            parts.append(_el("EncodingType", "url"))
        if token:
            parts.append(_el("ContinuationToken", token))
        if start_after:
            parts.append(_el("StartAfter", enc(start_after)))
        if truncated:
            parts.append(
                _el("NextContinuationToken", base64.urlsafe_b64encode(last.encode()).decode())
            )
        parts += contents
        parts += [f"<CommonPrefixes>{_el('Prefix', enc(p))}</CommonPrefixes>" for p in prefixes]
        body = _xml("ListBucketResult", "".join(parts))
        return 200, [*headers, ("Content-Type", "application/xml")], body


# ---------------------------------------------------------------------------------------------
# HTTP


class _Handler(BaseHTTPRequestHandler):
    server: ServiceServer
    protocol_version = "HTTP/1.1"
    server_version = "policylang-s3"
    sys_version = ""

    def version_string(self) -> str:
        return self.server_version

    def handle_expect_100(self) -> bool:
        # Refuse an oversized upload before the client sends it.
        if self._declared_length() > self.server.max_body:
            self._reply(self._too_large())
            return False
        return super().handle_expect_100()

    def _declared_length(self) -> int:
        text = self.headers.get("Content-Length")
        if text is None:
            return 0
        try:
            return int(text)
        except ValueError:
            return -1

    def _too_large(self) -> Response:
        self.close_connection = True
        return error_response(
            ErrorStyle.S3,
            "EntityTooLarge",
            f"Your proposed upload exceeds the maximum allowed size ({self.server.max_body}).",
            400,
            secrets.token_hex(8).upper(),
        )

    def _serve(self) -> None:
        header_bytes = sum(len(k) + len(v) + 4 for k, v in self.headers.items())
        length = self._declared_length()
        if header_bytes > MAX_HEADER_BYTES:
            self.close_connection = True
            self._reply(
                error_response(
                    ErrorStyle.S3, "RequestHeaderSectionTooLarge",
                    "Your request header section exceeds the maximum allowed size.", 400,
                    secrets.token_hex(8).upper(),
                )
            )  # fmt: skip
            return
        if self.headers.get("Transfer-Encoding") is not None or length < 0:
            self.close_connection = True
            self._reply(
                error_response(
                    ErrorStyle.S3, "MissingContentLength",
                    "You must provide the Content-Length HTTP header.", 411,
                    secrets.token_hex(8).upper(),
                )
            )  # fmt: skip
            return
        if length > self.server.max_body:
            self._reply(self._too_large())
            return
        body = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        request = HttpRequest(
            self.command,
            path or "/",
            query,
            list(self.headers.items()),
            body,
            peer_address=self.client_address[0],
            secure=False,
        )
        response = self.server.service.handle(request)
        self._reply(response)

    def _reply(self, response: Response) -> None:
        status, headers, body = response
        self.send_response(status)
        names = {name.lower() for name, _ in headers}
        for name, value in headers:
            self.send_header(name, value)
        if "content-length" not in names:
            self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_PUT = do_HEAD = do_POST = do_DELETE = do_PATCH = _serve

    def log_message(self, format: str, *args: object) -> None:
        if self.server.log is not None:
            self.server.log(format % args)


class ServiceServer(ThreadingHTTPServer):
    """Serves a `ReferenceService` over HTTP (loopback by default; `port=0` picks one)."""

    daemon_threads = True

    def __init__(
        self,
        service: ReferenceService,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        max_body: int = MAX_BODY,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.service = service
        self.max_body = max_body
        self.log = log
        super().__init__((host, port), _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="s3service", daemon=True)
        thread.start()
        return thread


def load_seed(path: str | os.PathLike[str]) -> dict[str, str]:
    """A seed file: `{"bucket/key": "text", …}`."""
    value = json.loads(Path(path).read_bytes())
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValueError(f'{path}: expected an object of "bucket/key": "text"')
    return value


def seed_objects(service: ReferenceService, seed: Mapping[str, str]) -> int:
    """Put each `bucket/key` of `seed` that does not exist yet; the count written."""
    count = 0
    for path, text in seed.items():
        bucket, _, key = path.partition("/")
        if service.data.bucket_owner(bucket) is None:
            raise ServiceError(404, "NoSuchBucket", f"seed object {path}: no bucket {bucket}")
        if service.data.head_object(bucket, key) is None:
            service.data.put_object(bucket, key, text.encode(), service.clock(), "text/plain")
            count += 1
    return count


def _json_lines(stream: IO[str]) -> Callable[[dict[str, Any]], None]:
    lock = threading.Lock()

    def write(entry: dict[str, Any]) -> None:
        with lock:
            stream.write(_json.dumps(entry) + "\n")
            stream.flush()

    return write


def _summary(entry: Mapping[str, Any]) -> str:
    matched = ", ".join(f"{m['policy']}#{m['sid'] or '-'}" for m in entry.get("matched", []))
    text = f"{entry['decision']:>12} {entry['caller']} {entry['action']} {entry['resource']}"
    if entry.get("deciding_set"):
        text += f" (deciding: {entry['deciding_set']})"
    return text + (f" [{matched}]" if matched else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m policylang.examples_service", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument("--account", action="append", required=True, metavar="FILE")
    parser.add_argument("--organization", metavar="FILE")
    parser.add_argument("--store", metavar="FILE", help="SQLite credential store (shared)")
    parser.add_argument("--data", required=True, metavar="DIR", help="folder holding buckets")
    parser.add_argument("--seed", metavar="FILE", help='objects to create: {"bucket/key": "text"}')
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--region", action="append", default=None, metavar="REGION")
    parser.add_argument("--max-body", type=int, default=MAX_BODY, metavar="BYTES")
    parser.add_argument(
        "--decision-log",
        metavar="FILE",
        help="append each decision (with its simulation case) as a JSON line",
    )
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    try:
        env = load_environment([Path(p) for p in args.account], args.organization)
    except AccountError as error:
        print(error.render(), file=sys.stderr)
        return 1
    store: CredentialStore = (
        SqliteCredentialStore(args.store) if args.store else InMemoryCredentialStore()
    )
    log_file = open(args.decision_log, "a", encoding="utf-8") if args.decision_log else None  # noqa: SIM115
    to_file = _json_lines(log_file) if log_file is not None else None

    def decision(entry: dict[str, Any]) -> None:
        if not args.quiet:
            print(_summary(entry), file=sys.stderr, flush=True)
        if to_file is not None:
            to_file(entry)

    service = ReferenceService(
        env,
        store,
        BucketStore(args.data),
        regions=tuple(args.region or ["us-east-1"]),
        decision_log=decision,
    )
    service.seed_buckets()
    if args.seed:
        seed_objects(service, load_seed(args.seed))
    server = ServiceServer(service, args.host, args.port, max_body=args.max_body)
    print(f"service {server.url}", flush=True)
    print("ready", flush=True)

    def on_term(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt  # leave serve_forever and close the store cleanly

    signal.signal(signal.SIGTERM, on_term)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        store.close()
        if log_file is not None:
            log_file.close()
    return 0


def iter_decisions(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """Read a decision log back."""
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


if __name__ == "__main__":
    sys.exit(main())
