"""The simulation case (spec/simulation-case.md): read and check one, strictly.

In: one case document — JSON text, bytes, a path, or an already-parsed mapping. `load_case`
checks it strictly (an unknown field anywhere is an error naming the field and its path, with
line and column when the case came from text), parses every policy (IAM JSON as an object or a
string, or DSL text) and builds a `PolicySet` and a `Request`: a `Case`. Answering it is
`simulate`'s job (policylang/simulate.py).

INVARIANT: a malformed case is a `PolicyLangError`, never a decision. Nothing here decides
anything: the decision procedure is `evaluator.evaluate` (spec/evaluation.md §3).

Error codes raised here (all `CaseError`; a malformed policy keeps its own error and code, with
the case path, e.g. `policies.identity[1].Statement[0].Effect`; bad JSON gives `json.*`):

| code | meaning |
|---|---|
| `case.unknown-field` | a field the spec does not define (did-you-mean hint) |
| `case.missing-field` | `policies`, `request`, `request.principal`/`.type`/`action`/`resource`… |
| `case.wrong-type` | a value of the wrong JSON type (`identity` not a list, `scp` not lists…) |
| `case.not-json` | a mapping case holding something JSON cannot represent |
| `case.invalid-principal-type` | `type` is not one of the spec's principal types |
| `case.role-caller` | `type: role`: reserved, a role is never the caller (use `assumed-role`) |
| `case.invalid-arn` | a principal or resource ARN of the wrong shape for its type |
| `case.invalid-principal` | `account`/`arn`/`id` given where the type has none |
| `case.account-mismatch` | `principal.account` is not the account of `principal.arn` |
| `case.session-name-mismatch` | `session_name` contradicts the session ARN |
| `case.invalid-account` | `resource.account` is not a 12-digit account id |
| `case.invalid-action` | `action` is not one `service:Action` (no wildcards) |
| `case.invalid-context-key` | a context key without a `service:` prefix |
| `case.invalid-context-value` | a context value that is not a string or a list of strings |
| `case.duplicate-key` | two context keys that differ only in case |
| `case.empty-level` | an SCP/RCP level with no policy |
| `case.dsl-unavailable` | a DSL policy while the DSL front end is not installed |
| `case.invalid-expect` | `expect` is not `allowed`, `explicitDeny` or `implicitDeny` |
"""

from __future__ import annotations

import difflib
import importlib
import os
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final

import attrs

from policylang._json import (
    JsonArray,
    JsonNode,
    JsonNull,
    JsonObject,
    JsonPair,
    JsonString,
    dumps,
    parse_located,
    type_name,
)
from policylang.decision import Decision
from policylang.errors import CaseError, PolicyLangError
from policylang.grammar.json_to_ir import parse_iam_json, policy_from_node
from policylang.ir import Policy, PolicyKind
from policylang.policy_set import NamedPolicy, PolicySet
from policylang.request import (
    Caller,
    ContextValue,
    PrincipalType,
    Request,
    Resource,
)
from policylang.source import Source, Span

__all__ = [
    "Case",
    "CaseInput",
    "checked_case_fields",
    "checked_context",
    "checked_principal",
    "checked_request",
    "checked_resource",
    "load_case",
]

CaseInput = str | bytes | Mapping[str, Any] | os.PathLike[str]
"""What `load_case` and `simulate` accept: JSON text, a path, or a parsed document."""

# The fields a case may carry, per object (spec/simulation-case.md, "Fields").
_CASE_FIELDS: Final = ("name", "policies", "request", "expect")
_POLICIES_FIELDS: Final = ("identity", "resource", "boundary", "session", "scp", "rcp")
_REQUEST_FIELDS: Final = ("principal", "action", "resource", "context")
_PRINCIPAL_FIELDS: Final = ("arn", "account", "type", "id", "tags", "session_name")
_RESOURCE_FIELDS: Final = ("arn", "account", "tags")

# AWS: for these actions the resource policy is the target role's trust policy.
_TRUST_ACTIONS: Final = frozenset(
    {
        "sts:assumerole",
        "sts:assumerolewithsaml",
        "sts:assumerolewithwebidentity",
        "sts:tagsession",
        "sts:setsourceidentity",
    }
)

_PARTITIONS: Final = frozenset(
    {"aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc"}
)
_ACCOUNT_ID = re.compile(r"[0-9]{12}")
# A request action names one IAM action: no wildcards, exactly one colon.
_ACTION = re.compile(r"[A-Za-z0-9.-]+:[A-Za-z0-9_.-]+")
_DECISIONS: Final = {d.value: d for d in Decision}


# --------------------------------------------------------------------------- the case


@attrs.frozen(slots=True)
class Case:
    """A checked simulation case: the policies, the request and the optional expectation.

    `source` is the case text when it came from text (statement spans point into it);
    `unlocated` lists the policy labels whose spans have no meaning for the user (policies
    given as parsed objects rather than text).
    """

    policies: PolicySet
    request: Request
    name: str | None = None
    expect: Decision | None = None
    source: Source | None = attrs.field(default=None, eq=False, repr=False)
    unlocated: frozenset[str] = attrs.field(default=frozenset(), eq=False, repr=False)
    span_maps: Mapping[str, Callable[[Span], Span]] = attrs.field(
        factory=dict, eq=False, repr=False
    )

    def statement_span(self, label: str, span: Span | None) -> Span | None:
        """A statement span as the user sees it: in the case file, or None if meaningless."""
        if span is None or label in self.unlocated:
            return None
        remap = self.span_maps.get(label)
        return remap(span) if remap is not None else span


def load_case(case: CaseInput, *, source_name: str | None = None) -> Case:
    """Read and check a simulation case strictly; build its `PolicySet` and `Request`.

    A `str` is a file path unless it looks like JSON text (starts with `{`, `[` or `"`, spans
    several lines, or is blank);
    a `Mapping` is an already-parsed document (errors then name the field but carry no line).

    Raises:
        CaseError: for an unknown field, a wrong type, a bad principal or ARN, …
        PolicySyntaxError, PolicyValidationError: for a malformed policy, with the case path.
    """
    if isinstance(case, Mapping):
        name = source_name or "<case>"
        try:
            text = dumps(_plain(case), pretty=True)
        except (TypeError, ValueError) as error:
            raise CaseError(
                f"the case is not a JSON document: {error}",
                code="case.not-json",
                source=Source(name, ""),
                hint="a case holds only dicts, lists, strings, numbers, booleans and None",
            ) from None
        return _CaseReader(Source(name, text), located=False).read()
    if isinstance(case, os.PathLike) or (isinstance(case, str) and _looks_like_path(case)):
        path = os.fspath(case)
        with open(path, "rb") as handle:
            data = handle.read()
        return load_case(data, source_name=source_name or path)
    if isinstance(case, bytes | str):
        return _CaseReader(Source(source_name or "<case>", ""), data=case).read()
    raise TypeError(f"load_case() takes text, bytes, a path or a mapping, not {type(case)!r}")


# --------------------------------------------------------------------------- the reader


class _CaseReader:
    """Walks the located JSON tree of one case, checking as it builds."""

    def __init__(
        self, source: Source, *, data: str | bytes | None = None, located: bool = True
    ) -> None:
        self.source = source
        self.located = located
        self.data: str | bytes = source.text if data is None else data
        self.unlocated: set[str] = set()
        self.span_maps: dict[str, Callable[[Span], Span]] = {}

    # -- errors

    def error(
        self,
        message: str,
        *,
        code: str,
        span: Span | None,
        path: str | None,
        hint: str | None = None,
    ) -> CaseError:
        if not self.located:
            span = None
        return CaseError(message, code=code, span=span, source=self.source, path=path, hint=hint)

    # -- entry

    def read(self) -> Case:
        try:
            root = parse_located(self.data, source=self.source)
        except PolicyLangError as error:
            if not self.located:
                error.span = None
            raise
        case = self._object(root, "", "the case")
        fields = self._fields(case, "", _CASE_FIELDS)
        name = self._optional_string(fields.get("name"), "name")
        policies_pair = self._require(case, fields, "policies", "")
        request_pair = self._require(case, fields, "request", "")
        # Read the request first: which actions make the resource policy a trust policy.
        request = self._request(request_pair.value)
        policies = self._policies(policies_pair.value, request)
        expect = self._expect(fields.get("expect"))
        return Case(
            policies=policies,
            request=request,
            name=name,
            expect=expect,
            source=self.source if self.located else None,
            unlocated=frozenset(self.unlocated),
            span_maps=dict(self.span_maps),
        )

    # -- generic shape checks

    def _object(self, node: JsonNode, path: str, what: str) -> JsonObject:
        if not isinstance(node, JsonObject):
            raise self.error(
                f"{what} must be a JSON object, not {_a(type_name(node))}",
                code="case.wrong-type",
                span=node.span,
                path=path or None,
            )
        return node

    def _fields(self, obj: JsonObject, path: str, allowed: tuple[str, ...]) -> dict[str, JsonPair]:
        out: dict[str, JsonPair] = {}
        for pair in obj.pairs:
            if pair.key not in allowed:
                where = f"{path}.{pair.key}" if path else pair.key
                close = difflib.get_close_matches(pair.key, allowed, n=1)
                hint = f"did you mean `{close[0]}`?" if close else None
                allowed_text = ", ".join(f"`{a}`" for a in allowed)
                raise self.error(
                    f"unknown field `{pair.key}`"
                    + (f" in `{path}`" if path else " at the top of the case")
                    + f" (allowed: {allowed_text})",
                    code="case.unknown-field",
                    span=pair.key_span,
                    path=where,
                    hint=hint,
                )
            out[pair.key] = pair
        return out

    def _require(
        self, obj: JsonObject, fields: dict[str, JsonPair], key: str, path: str
    ) -> JsonPair:
        pair = fields.get(key)
        if pair is None:
            where = f"{path}.{key}" if path else key
            raise self.error(
                f"missing required field `{where}`",
                code="case.missing-field",
                span=obj.span,
                path=where,
                hint=_MISSING_HINTS.get(where),
            )
        return pair

    def _string(self, node: JsonNode, path: str, *, what: str = "a string") -> str:
        if not isinstance(node, JsonString):
            raise self.error(
                f"`{path}` must be {what}, not {_a(type_name(node))}",
                code="case.wrong-type",
                span=node.span,
                path=path,
            )
        return node.value

    def _optional_string(self, pair: JsonPair | None, path: str) -> str | None:
        if pair is None or isinstance(pair.value, JsonNull):
            return None
        return self._string(pair.value, path, what="a string or null")

    def _string_map(self, pair: JsonPair | None, path: str) -> dict[str, str]:
        # Tag keys differing only in case are allowed: some services permit them, and
        # conditions.md §1 says how a condition treats them.
        if pair is None or isinstance(pair.value, JsonNull):
            return {}
        obj = self._object(pair.value, path, f"`{path}`")
        return {
            item.key: self._string(
                item.value, f"{path}.{item.key}", what="a string (the tag value)"
            )
            for item in obj.pairs
        }

    # -- request

    def _request(self, node: JsonNode) -> Request:
        obj = self._object(node, "request", "`request`")
        fields = self._fields(obj, "request", _REQUEST_FIELDS)
        principal = self._principal(self._require(obj, fields, "principal", "request").value)
        action_node = self._require(obj, fields, "action", "request").value
        action = self._string(action_node, "request.action", what="a string such as `s3:GetObject`")
        if not _ACTION.fullmatch(action):
            raise self.error(
                f"`request.action` must name one IAM action as `service:Action`, not `{action}`",
                code="case.invalid-action",
                span=action_node.span,
                path="request.action",
                hint="a request has exactly one action, without wildcards, e.g. `s3:GetObject`",
            )
        resource = self._resource(self._require(obj, fields, "resource", "request").value)
        context = self._context(fields.get("context"))
        return Request(principal=principal, action=action, resource=resource, context=context)

    def _principal(self, node: JsonNode) -> Caller:
        path = "request.principal"
        obj = self._object(node, path, f"`{path}`")
        fields = self._fields(obj, path, _PRINCIPAL_FIELDS)
        type_node = self._require(obj, fields, "type", path).value
        type_text = self._string(type_node, f"{path}.type")
        ptype = next((t for t in PrincipalType if t.value == type_text), None)
        if ptype is None:
            allowed = ", ".join(
                f"`{t.value}`" for t in PrincipalType if t is not PrincipalType.ROLE
            )
            close = difflib.get_close_matches(type_text, [t.value for t in PrincipalType], n=1)
            raise self.error(
                f"unknown principal type `{type_text}` (allowed: {allowed})",
                code="case.invalid-principal-type",
                span=type_node.span,
                path=f"{path}.type",
                hint=f"did you mean `{close[0]}`?" if close else None,
            )
        arn_pair = fields.get("arn")
        arn = self._optional_string(arn_pair, f"{path}.arn")
        if ptype is PrincipalType.ROLE:
            raise self.error(
                "`role` is reserved as a caller type: AWS never sees a role itself as the caller, "
                "only a session of it",
                code="case.role-caller",
                span=type_node.span,
                path=f"{path}.type",
                hint=_role_hint(arn),
            )
        account_pair = fields.get("account")
        account = self._optional_string(account_pair, f"{path}.account")
        caller_id = self._optional_string(fields.get("id"), f"{path}.id")
        tags = self._string_map(fields.get("tags"), f"{path}.tags")
        session_name = self._optional_string(fields.get("session_name"), f"{path}.session_name")
        account = self._check_principal(
            ptype, arn, account, arn_pair, account_pair, obj, fields, path
        )
        session_name = self._session_name(ptype, arn, session_name, fields, path)
        return Caller(
            type=ptype,
            arn=arn,
            account=account,
            id=caller_id,
            tags=tags,
            session_name=session_name,
        )

    def _session_name(
        self,
        ptype: PrincipalType,
        arn: str | None,
        given: str | None,
        fields: dict[str, JsonPair],
        path: str,
    ) -> str | None:
        """The session name a session ARN carries; a different explicit one is a contradiction."""
        from_arn = None
        if arn is not None and ptype is PrincipalType.ASSUMED_ROLE:
            from_arn = arn.rsplit("/", 1)[-1]
        elif arn is not None and ptype is PrincipalType.FEDERATED and ":federated-user/" in arn:
            from_arn = arn.split(":federated-user/", 1)[1]
        if given is None or from_arn is None:
            return given if from_arn is None else from_arn
        if given != from_arn:
            pair = fields["session_name"]
            raise self.error(
                f"`{path}.session_name` is `{given}` but the session ARN names `{from_arn}`",
                code="case.session-name-mismatch",
                span=pair.value.span,
                path=f"{path}.session_name",
                hint="omit `session_name` (it is taken from the ARN) or make them agree",
            )
        return given

    def _check_principal(
        self,
        ptype: PrincipalType,
        arn: str | None,
        account: str | None,
        arn_pair: JsonPair | None,
        account_pair: JsonPair | None,
        obj: JsonObject,
        fields: dict[str, JsonPair],
        path: str,
    ) -> str | None:
        """Check `arn`/`account` against the Conventions table; return the account."""
        arn_span = arn_pair.value.span if arn_pair is not None else obj.span
        account_span = account_pair.value.span if account_pair is not None else obj.span

        def bad_arn(expected: str) -> CaseError:
            shown = f"`{arn}`" if arn is not None else "missing"
            return self.error(
                f"a `{ptype.value}` principal needs `arn` of the form {expected}; it is {shown}",
                code="case.invalid-arn",
                span=arn_span,
                path=f"{path}.arn",
            )

        def must_be_null(field: str, why: str) -> None:
            pair = fields.get(field)
            if pair is not None and not isinstance(pair.value, JsonNull):
                raise self.error(
                    f"`{path}.{field}` must be null for a `{ptype.value}` principal: {why}",
                    code="case.invalid-principal",
                    span=pair.value.span,
                    path=f"{path}.{field}",
                )

        if ptype is PrincipalType.ANONYMOUS:
            for field in ("arn", "account", "id", "session_name"):
                must_be_null(field, "an unsigned request has no identity")
            return None
        if ptype is PrincipalType.SERVICE:
            if arn is None or arn.startswith("arn:") or not _is_plain_name(arn):
                raise bad_arn("a service principal name such as `ec2.amazonaws.com`")
            must_be_null("account", "service principals belong to no account")
            return None

        expected = {
            PrincipalType.USER: ("iam", "`arn:aws:iam::ACCOUNT:user/[PATH/]NAME`"),
            PrincipalType.ROOT: ("iam", "`arn:aws:iam::ACCOUNT:root`"),
            PrincipalType.ASSUMED_ROLE: ("sts", "`arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`"),
        }
        if ptype is PrincipalType.FEDERATED:
            if arn is None:
                raise bad_arn(
                    "`arn:aws:sts::ACCOUNT:federated-user/NAME` (a GetFederationToken session) "
                    "or an identity provider such as `cognito-identity.amazonaws.com`"
                )
            if not arn.startswith("arn:"):
                if not _is_plain_name(arn):
                    raise bad_arn("an identity provider name such as `accounts.google.com`")
                must_be_null("account", "a well-known identity provider has no AWS account")
                return None
            parts = _split_arn(arn)
            if parts is not None and parts[1] == "sts":
                ok = parts[4].startswith("federated-user/") and len(parts[4]) > 15
            else:
                ok = (
                    parts is not None
                    and parts[1] == "iam"
                    and (parts[4].startswith(("oidc-provider/", "saml-provider/")))
                )
            if parts is None or not ok or not _ACCOUNT_ID.fullmatch(parts[3]) or parts[2]:
                raise bad_arn(
                    "`arn:aws:sts::ACCOUNT:federated-user/NAME` or an IAM "
                    "`oidc-provider/…` / `saml-provider/…` ARN"
                )
        else:
            service, shape = expected[ptype]
            parts = _split_arn(arn) if arn is not None else None
            if (
                parts is None
                or parts[1] != service
                or parts[2] != ""
                or not _ACCOUNT_ID.fullmatch(parts[3])
            ):
                raise bad_arn(shape)
            rest = parts[4]
            if ptype is PrincipalType.ROOT:
                ok = rest == "root"
            elif ptype is PrincipalType.USER:
                ok = rest.startswith("user/") and not rest.endswith("/") and len(rest) > 5
            else:
                pieces = rest.split("/")
                ok = len(pieces) == 3 and all(pieces)
            if not ok:
                raise bad_arn(shape)
        assert parts is not None
        arn_account = parts[3]
        if account is None:
            # The account is the ARN's: deriving it is not a guess.
            return arn_account
        if account != arn_account:
            raise self.error(
                f"`{path}.account` is `{account}` but the principal ARN is in account "
                f"`{arn_account}`",
                code="case.account-mismatch",
                span=account_span,
                path=f"{path}.account",
                hint="a principal's account is the account of its ARN; omit `account` or fix it",
            )
        return account

    def _resource(self, node: JsonNode) -> Resource:
        path = "request.resource"
        obj = self._object(node, path, f"`{path}`")
        fields = self._fields(obj, path, _RESOURCE_FIELDS)
        arn_node = self._require(obj, fields, "arn", path).value
        arn = self._string(arn_node, f"{path}.arn", what='an ARN or "*"')
        parts = None if arn == "*" else _split_arn(arn)
        if arn != "*" and parts is None:
            raise self.error(
                f"`{path}.arn` must be an ARN (`arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`) "
                f'or "*", not `{arn}`',
                code="case.invalid-arn",
                span=arn_node.span,
                path=f"{path}.arn",
                hint='use "*" for actions that have no resource type, e.g. s3:ListAllMyBuckets',
            )
        account_pair = fields.get("account")
        account = self._optional_string(account_pair, f"{path}.account")
        if account is not None and not _ACCOUNT_ID.fullmatch(account):
            assert account_pair is not None
            raise self.error(
                f"`{path}.account` must be a 12-digit account id, not `{account}`",
                code="case.invalid-account",
                span=account_pair.value.span,
                path=f"{path}.account",
            )
        if account is None and parts is not None and _ACCOUNT_ID.fullmatch(parts[3]):
            account = parts[3]  # the ARN names its owner (S3 ARNs do not)
        tags = self._string_map(fields.get("tags"), f"{path}.tags")
        return Resource(arn=arn, account=account, tags=tags)

    def _context(self, pair: JsonPair | None) -> dict[str, ContextValue]:
        path = "request.context"
        if pair is None or isinstance(pair.value, JsonNull):
            return {}
        obj = self._object(pair.value, path, f"`{path}`")
        out: dict[str, ContextValue] = {}
        seen: dict[str, str] = {}
        for item in obj.pairs:
            item_path = f"{path}.{item.key}"
            lowered = item.key.lower()
            if lowered in seen:
                raise self.error(
                    f"context keys `{seen[lowered]}` and `{item.key}` differ only in case",
                    code="case.duplicate-key",
                    span=item.key_span,
                    path=item_path,
                    hint="condition key names are case-insensitive; give the key once",
                )
            seen[lowered] = item.key
            prefix, colon, name = item.key.partition(":")
            # split() == [key]: no str.isspace() character (checked in C, not per character)
            if not (prefix and colon and name) or item.key.split() != [item.key]:
                raise self.error(
                    f"`{item.key}` is not a condition key: keys are `service:Name`",
                    code="case.invalid-context-key",
                    span=item.key_span,
                    path=item_path,
                    hint="e.g. `aws:SourceIp`, `s3:prefix`, `aws:PrincipalTag/team`; a key "
                    "without a service prefix can never match a policy",
                )
            value = item.value
            if isinstance(value, JsonString):
                out[item.key] = value.value
            elif isinstance(value, JsonArray) and all(
                isinstance(v, JsonString) for v in value.items
            ):
                out[item.key] = tuple(v.value for v in value.items if isinstance(v, JsonString))
            else:
                bad = value
                if isinstance(value, JsonArray):
                    bad = next(v for v in value.items if not isinstance(v, JsonString))
                raise self.error(
                    f"context value of `{item.key}` must be a string or a list of strings, "
                    f"not {_a(type_name(bad))}",
                    code="case.invalid-context-value",
                    span=bad.span,
                    path=item_path,
                    hint="IAM sees every context value as text: write numbers and booleans as "
                    'strings, e.g. "true" or "3600"',
                )
        return out

    # -- policies

    def _policies(self, node: JsonNode, request: Request) -> PolicySet:
        path = "policies"
        obj = self._object(node, path, "`policies`")
        fields = self._fields(obj, path, _POLICIES_FIELDS)
        trust = request.action.lower() in _TRUST_ACTIONS
        identity = tuple(
            self._policy(item, f"{path}.identity[{i}]", f"identity[{i}]", PolicyKind.IDENTITY)
            for i, item in self._list(fields.get("identity"), f"{path}.identity")
        )
        resource = self._optional_policy(
            fields.get("resource"),
            f"{path}.resource",
            "resource",
            PolicyKind.TRUST if trust else PolicyKind.RESOURCE,
            policy_type="resource",
        )
        boundary = self._optional_policy(
            fields.get("boundary"), f"{path}.boundary", "boundary", PolicyKind.BOUNDARY
        )
        session = tuple(
            self._policy(item, f"{path}.session[{i}]", f"session[{i}]", PolicyKind.SESSION)
            for i, item in self._list(fields.get("session"), f"{path}.session")
        )
        scp = self._levels(fields.get("scp"), "scp", PolicyKind.SCP)
        rcp = self._levels(fields.get("rcp"), "rcp", PolicyKind.RCP)
        return PolicySet(
            identity=identity,
            resource=resource,
            boundary=boundary,
            session=session,
            scp=scp,
            rcp=rcp,
        )

    def _list(self, pair: JsonPair | None, path: str) -> Iterator[tuple[int, JsonNode]]:
        if pair is None:
            return iter(())
        if not isinstance(pair.value, JsonArray):
            hint = None
            if isinstance(pair.value, JsonObject | JsonString):
                hint = "wrap the policy in a list: [ {...} ]"
            raise self.error(
                f"`{path}` must be a list of policies, not {_a(type_name(pair.value))}",
                code="case.wrong-type",
                span=pair.value.span,
                path=path,
                hint=hint,
            )
        return enumerate(pair.value.items)

    def _levels(
        self, pair: JsonPair | None, name: str, kind: PolicyKind
    ) -> tuple[tuple[NamedPolicy, ...], ...]:
        path = f"policies.{name}"
        levels: list[tuple[NamedPolicy, ...]] = []
        for level_index, level in self._list(pair, path):
            level_path = f"{path}[{level_index}]"
            if not isinstance(level, JsonArray):
                raise self.error(
                    f"`{level_path}` must be a list of policies (one list per level, from the "
                    f"organization root down to the account), not {_a(type_name(level))}",
                    code="case.wrong-type",
                    span=level.span,
                    path=level_path,
                    hint=f'`{name}` is a list of lists: "{name}": [[ROOT_POLICY], [OU_POLICY]]',
                )
            if not level.items:
                full = "FullAWSAccess" if kind is PolicyKind.SCP else "RCPFullAWSAccess"
                raise self.error(
                    f"`{level_path}` lists no policies; every level of an organization has at "
                    f"least one {name.upper()} attached",
                    code="case.empty-level",
                    span=level.span,
                    path=level_path,
                    hint=f"list `{full}` explicitly at that level, or drop the level",
                )
            levels.append(
                tuple(
                    self._policy(item, f"{level_path}[{i}]", f"{name}[{level_index}][{i}]", kind)
                    for i, item in enumerate(level.items)
                )
            )
        return tuple(levels)

    def _optional_policy(
        self,
        pair: JsonPair | None,
        path: str,
        label: str,
        kind: PolicyKind,
        *,
        policy_type: str | None = None,
    ) -> NamedPolicy | None:
        if pair is None or isinstance(pair.value, JsonNull):
            return None
        if isinstance(pair.value, JsonArray):
            raise self.error(
                f"`{path}` must be one policy or null, not a list",
                code="case.wrong-type",
                span=pair.value.span,
                path=path,
                hint="a resource has one resource policy and a principal at most one boundary",
            )
        return self._policy(pair.value, path, label, kind, policy_type=policy_type)

    def _policy(
        self,
        node: JsonNode,
        path: str,
        label: str,
        kind: PolicyKind,
        *,
        policy_type: str | None = None,
    ) -> NamedPolicy:
        if isinstance(node, JsonObject):
            # kind=None: simulate checks well-formedness only, never the save-time rules of a
            # policy type (simulation-case.md, "No save-time validation").
            policy = self._with_case_path(
                path, lambda: policy_from_node(node, source=self.source, path=path, kind=None)
            )
            if not self.located:
                self.unlocated.add(label)
        elif isinstance(node, JsonString):
            policy = self._policy_text(node, path, label)
        else:
            raise self.error(
                f"`{path}` must be a policy (a JSON object, or IAM JSON or DSL text), "
                f"not {_a(type_name(node))}",
                code="case.wrong-type",
                span=node.span,
                path=path,
            )
        return NamedPolicy(label=label, policy=policy, kind=kind, policy_type=policy_type)

    def _policy_text(self, node: JsonString, path: str, label: str) -> Policy:
        """A policy given as a string: IAM JSON when it starts with `{`, otherwise DSL."""
        text = node.value
        inner_name = f"{self.source.name}[{path}]"
        remap = _string_offset_map(self.source, node) if self.located else None
        if remap is not None:
            self.span_maps[label] = remap
        if text.lstrip().startswith("{"):
            parse: Callable[[], Policy] = lambda: parse_iam_json(  # noqa: E731
                text, source_name=inner_name, kind=None
            )
        else:
            dsl = _dsl_parser()
            if dsl is None:
                raise self.error(
                    f"`{path}` is DSL text, but the DSL front end is not available",
                    code="case.dsl-unavailable",
                    span=node.span,
                    path=path,
                    hint="give the policy as IAM JSON (an object, or a string starting with `{`)",
                )
            parse = lambda: dsl(text, source_name=inner_name)  # noqa: E731
        try:
            return self._with_case_path(path, parse)
        except PolicyLangError as error:
            if remap is not None and error.span is not None:
                error.span = remap(error.span)
                error.source = self.source
            raise

    def _with_case_path(self, path: str, parse: Callable[[], Policy]) -> Policy:
        """Run a policy parser; its errors keep their own code and position and gain the path."""
        try:
            return parse()
        except PolicyLangError as error:
            if not error.path:
                error.path = path
            elif not error.path.startswith(path):
                sep = "" if error.path.startswith("[") else "."
                error.path = f"{path}{sep}{error.path}"
            if not self.located and error.source is self.source:
                error.span = None
            raise

    # -- expect

    def _expect(self, pair: JsonPair | None) -> Decision | None:
        if pair is None or isinstance(pair.value, JsonNull):
            return None
        text = self._string(pair.value, "expect")
        decision = _DECISIONS.get(text)
        if decision is None:
            allowed = ", ".join(f"`{d}`" for d in _DECISIONS)
            close = difflib.get_close_matches(text, list(_DECISIONS), n=1)
            raise self.error(
                f"`expect` must be one of {allowed}, not `{text}`",
                code="case.invalid-expect",
                span=pair.value.span,
                path="expect",
                hint=f"did you mean `{close[0]}`?" if close else None,
            )
        return decision


_MISSING_HINTS: Final = {
    "policies": 'give the policies, e.g. "policies": {"identity": [ {...} ]}',
    "request": 'give the request: "request": {"principal": {...}, "action": ..., "resource": ...}',
    "request.principal": 'e.g. "principal": {"type": "user", "arn": '
    '"arn:aws:iam::111122223333:user/alice"}',
    "request.action": 'e.g. "action": "s3:GetObject"',
    "request.resource": 'e.g. "resource": {"arn": "arn:aws:s3:::bucket/key", '
    '"account": "111122223333"}',
    "request.principal.type": "one of user, assumed-role, federated, service, root, anonymous",
}


# --------------------------------------------------------------------------- plain-value checks
# For bulk readers (policylang.batch) that have already decoded a case with the fast JSON
# reader: one request part checked from its plain value, with `load_case`'s very rules. They
# only ever accept: for a value that is not plainly valid they return None, and the caller
# reads the case with `load_case`, which gives the error with its path, line and column.


def checked_case_fields(value: Any) -> tuple[str | None, Decision | None] | None:
    """(name, expect) of a case whose top-level fields `load_case` accepts, or None (see above).

    Only the top level: `policies` and `request` must be present, and are checked elsewhere.
    """
    if (
        not isinstance(value, dict)
        or not value.keys() <= _CASE_FIELD_SET
        or "policies" not in value
        or "request" not in value
    ):
        return None
    name = value.get("name")
    if name is not None and not isinstance(name, str):
        return None
    expect = value.get("expect")
    if expect is None:
        return name, None
    decision = _DECISIONS.get(expect) if isinstance(expect, str) else None
    if decision is None:
        return None
    return name, decision


def checked_request(
    value: Any, *, principal_of: Callable[[Any], Caller | None] | None = None
) -> Request | None:
    """The `Request` `load_case` reads from `request` = `value`, or None (see above).

    `principal_of` replaces `checked_principal` (e.g. by a cache in front of it).
    """
    if not isinstance(value, dict) or not value.keys() <= _REQUEST_FIELD_SET:
        return None
    principal = (principal_of or checked_principal)(value.get("principal"))
    if principal is None:
        return None
    action = value.get("action")
    if not isinstance(action, str) or not _ACTION.fullmatch(action):
        return None
    resource = checked_resource(value.get("resource"))
    if resource is None:
        return None
    context = checked_context(value.get("context"))
    if context is None:
        return None
    return Request(principal=principal, action=action, resource=resource, context=context)


def checked_principal(value: Any) -> Caller | None:
    """The `Caller` `load_case` reads from `request.principal` = `value`, or None (see above).

    The rules of `_CaseReader._principal`, `_check_principal` and `_session_name`.
    """
    if not isinstance(value, dict) or not value.keys() <= _PRINCIPAL_FIELD_SET:
        return None
    type_text = value.get("type")
    ptype = _PRINCIPAL_TYPES.get(type_text) if isinstance(type_text, str) else None
    if ptype is None or ptype is PrincipalType.ROLE:
        return None
    arn = value.get("arn")
    account = value.get("account")
    caller_id = value.get("id")
    given_session = value.get("session_name")
    for item in (arn, account, caller_id, given_session):
        if item is not None and not isinstance(item, str):
            return None
    tags = value.get("tags")
    if tags is None:
        tags = {}
    elif not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        return None
    # `_check_principal`
    if ptype is PrincipalType.ANONYMOUS:
        if arn is not None or account is not None or caller_id is not None:
            return None
        if given_session is not None:
            return None
    elif ptype is PrincipalType.SERVICE:
        if arn is None or arn.startswith("arn:") or not _is_plain_name(arn):
            return None
        if account is not None:
            return None
    elif ptype is PrincipalType.FEDERATED and arn is not None and not arn.startswith("arn:"):
        if not _is_plain_name(arn) or account is not None:
            return None
    else:
        if arn is None:
            return None
        parts = _split_arn(arn)
        if parts is None or not _ACCOUNT_ID.fullmatch(parts[3]) or parts[2]:
            return None
        rest = parts[4]
        if ptype is PrincipalType.FEDERATED:
            if parts[1] == "sts":
                ok = rest.startswith("federated-user/") and len(rest) > 15
            else:
                ok = parts[1] == "iam" and rest.startswith(("oidc-provider/", "saml-provider/"))
        elif ptype is PrincipalType.ROOT:
            ok = parts[1] == "iam" and rest == "root"
        elif ptype is PrincipalType.USER:
            ok = (
                parts[1] == "iam"
                and rest.startswith("user/")
                and not rest.endswith("/")
                and len(rest) > 5
            )
        else:  # assumed-role
            pieces = rest.split("/")
            ok = parts[1] == "sts" and len(pieces) == 3 and all(pieces)
        if not ok:
            return None
        if account is None:
            account = parts[3]
        elif account != parts[3]:
            return None
    # `_session_name`
    from_arn = None
    if arn is not None and ptype is PrincipalType.ASSUMED_ROLE:
        from_arn = arn.rsplit("/", 1)[-1]
    elif arn is not None and ptype is PrincipalType.FEDERATED and ":federated-user/" in arn:
        from_arn = arn.split(":federated-user/", 1)[1]
    if from_arn is None:
        session_name = given_session
    elif given_session is None or given_session == from_arn:
        session_name = from_arn
    else:
        return None
    return Caller(
        type=ptype,
        arn=arn,
        account=account,
        id=caller_id,
        tags=tags,
        session_name=session_name,
    )


def checked_resource(value: Any) -> Resource | None:
    """The `Resource` `load_case` reads from `request.resource` = `value`, or None (see above)."""
    if not isinstance(value, dict) or not value.keys() <= _RESOURCE_FIELD_SET:
        return None
    arn = value.get("arn")
    if not isinstance(arn, str):
        return None
    parts = None
    if arn != "*":
        parts = _split_arn(arn)
        if parts is None:
            return None
    account = value.get("account")
    if account is not None:
        if not isinstance(account, str) or not _ACCOUNT_ID.fullmatch(account):
            return None
    elif parts is not None and _ACCOUNT_ID.fullmatch(parts[3]):
        account = parts[3]
    tags = value.get("tags")
    if tags is None:
        tags = {}
    elif not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        return None
    return Resource(arn=arn, account=account, tags=tags)


def checked_context(value: Any) -> dict[str, ContextValue] | None:
    """The context `load_case` reads from `request.context` = `value`, or None (see above)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        return None
    seen: set[str] = set()
    lists = False
    good = _GOOD_CONTEXT_KEYS
    for key, item in value.items():
        lowered = good.get(key)
        if lowered is None:
            prefix, colon, name = key.partition(":")
            # key.split() == [key]: no str.isspace() character (the reader's test)
            if not (prefix and colon and name) or key.split() != [key]:
                return None
            lowered = key.lower()
            if len(good) < _GOOD_CONTEXT_KEYS_LIMIT:
                good[key] = lowered
        if lowered in seen:
            return None
        seen.add(lowered)
        if isinstance(item, str):
            continue
        if not isinstance(item, list) or not all(isinstance(v, str) for v in item):
            return None
        lists = True
    if not lists:
        return dict(value)
    return {k: (v if isinstance(v, str) else tuple(v)) for k, v in value.items()}


# Context keys of a well-formed shape, with their lower-case form: the same few keys come in
# every request of a stream, so their shape is checked once. Bounded.
_GOOD_CONTEXT_KEYS: dict[str, str] = {}
_GOOD_CONTEXT_KEYS_LIMIT: Final = 4096


_CASE_FIELD_SET: Final = frozenset(_CASE_FIELDS)
_REQUEST_FIELD_SET: Final = frozenset(_REQUEST_FIELDS)
_PRINCIPAL_FIELD_SET: Final = frozenset(_PRINCIPAL_FIELDS)
_RESOURCE_FIELD_SET: Final = frozenset(_RESOURCE_FIELDS)
_PRINCIPAL_TYPES: Final = {t.value: t for t in PrincipalType}


# --------------------------------------------------------------------------- helpers


def _looks_like_path(text: str) -> bool:
    """A `str` case is a file name unless it looks like JSON text (or is empty)."""
    stripped = text.strip()
    return bool(stripped) and stripped[0] not in '{["' and "\n" not in stripped


def _plain(value: Any) -> Any:
    """Mappings and sequences of a Python case as dicts and lists, for the JSON encoder."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _a(noun: str) -> str:
    return f"an {noun}" if noun[0] in "aeiou" else f"a {noun}"


def _is_plain_name(text: str) -> bool:
    return bool(text) and not any(ch.isspace() for ch in text) and "*" not in text


def _split_arn(arn: str) -> tuple[str, str, str, str, str] | None:
    """(partition, service, region, account, resource) of a well-formed ARN, else None."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[1] not in _PARTITIONS:
        return None
    if not parts[2] or not parts[5]:
        return None
    return parts[1], parts[2], parts[3], parts[4], parts[5]


def _role_hint(arn: str | None) -> str:
    parts = _split_arn(arn) if arn else None
    if parts is not None and parts[1] == "iam" and parts[4].startswith("role/"):
        role = parts[4].rsplit("/", 1)[-1]
        return (
            f'use "type": "assumed-role" with a session ARN such as '
            f"`arn:{parts[0]}:sts::{parts[3]}:assumed-role/{role}/SESSION`"
            + (
                f' and give "aws:PrincipalArn": "{arn}" in `request.context` (the role has a path)'
                if parts[4].count("/") > 1
                else ""
            )
        )
    return (
        'use "type": "assumed-role" with the session ARN '
        "`arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`"
    )


_ESCAPES: Final = {
    '"': '"',
    "\\": "\\",
    "/": "/",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
}


def _string_offset_map(source: Source, node: JsonString) -> Callable[[Span], Span] | None:
    """Map positions inside a JSON string's value to positions in the file that holds it.

    A policy given as a JSON string has its own line/column space (`\\n` escapes make lines);
    users look at the case file, so spans are moved back to where the characters are written.
    """
    raw = source.text[node.span.start : node.span.end]
    if len(raw) < 2 or raw[0] != '"' or raw[-1] != '"':
        return None
    base = node.span.start + 1
    offsets: list[int] = []  # decoded index -> file offset
    decoded: list[str] = []
    i, end = 1, len(raw) - 1
    while i < end:
        ch = raw[i]
        if ch != "\\":
            offsets.append(base + i - 1)
            decoded.append(ch)
            i += 1
            continue
        esc = raw[i + 1] if i + 1 < end else ""
        if esc in _ESCAPES:
            offsets.append(base + i - 1)
            decoded.append(_ESCAPES[esc])
            i += 2
            continue
        if esc != "u" or i + 6 > end:
            return None
        code = int(raw[i + 2 : i + 6], 16)
        width = 6
        if 0xD800 <= code < 0xDC00 and raw[i + 6 : i + 8] == "\\u" and i + 12 <= end:
            low = int(raw[i + 8 : i + 12], 16)
            if 0xDC00 <= low < 0xE000:
                code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                width = 12
        offsets.append(base + i - 1)
        decoded.append(chr(code))
        i += width
    if "".join(decoded) != node.value:
        return None
    offsets.append(node.span.end - 1)  # one past the last character: the closing quote

    def remap(span: Span) -> Span:
        start = offsets[min(max(span.start, 0), len(offsets) - 1)]
        stop = offsets[min(max(span.end, 0), len(offsets) - 1)]
        return source.span(start, max(stop, start))

    return remap


def _dsl_parser() -> Callable[..., Policy] | None:
    """`parse_dsl` if the DSL front end is installed (imported lazily: it loads lark)."""
    try:
        module = importlib.import_module("policylang.grammar.dsl_to_ir")
    except ModuleNotFoundError as error:
        if error.name in ("policylang.grammar.dsl_to_ir", "policylang.grammar"):
            return None
        raise
    parse: Callable[..., Policy] | None = getattr(module, "parse_dsl", None)
    return parse
