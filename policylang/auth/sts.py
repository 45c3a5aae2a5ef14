"""STS in the library: AssumeRole, AssumeRoleWithWebIdentity, GetSessionToken,
GetFederationToken, GetCallerIdentity (spec/evaluation.md §6, §7).

`StsService(environment, store, clock=...)` issues temporary credentials into the credential
store. Every authorization goes through the account model (`Environment.question`) and the
reference evaluator — this module builds the request (caller, context, resource tags) and never
decides by itself.

Who is calling is an `Identity`: the principal a verified credential stands for, with its
session state (session tags, source identity, session policies, MFA). `StsService.identity(
credential)` maps any credential from the store to one, checking that the role/user behind it
still exists; `StsService.authorize(identity, action, resource, context)` then decides a later
request made with it, session policies included.

AssumeRole validation order (§7.1): schema → caller kind → MFA code → authorization
(sts:AssumeRole, then sts:TagSession / sts:SetSourceIdentity when needed) → duration vs the
role's MaxSessionDuration → role-chaining 1-hour cap → session policies and packing. Errors are
`StsError` with AWS's code and HTTP status (`ValidationError` 400, `AccessDenied` 403 with the
§10.2 message, `MalformedPolicyDocument` 400, `PackedPolicyTooLarge` 400, and the web-identity
codes of `policylang.auth.oidc`). The parameter checks and the AccessDenied wording live in
`policylang.auth.sts_validate`; `StsError` and `access_denied_message` are re-exported here.

Service principals (`assume_role_for_service`) may store extra session context with the
credential — EC2's instance keys (§8.1) — which `Identity.context()` adds to every request.
"""

from __future__ import annotations

import functools
import json
import math
import re
import zlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final, Literal

import attrs

from policylang.account.model import Account, Environment, Role, User, policy_text, to_policy
from policylang.account.resolve import (
    Principal,
    build_question,
    role_principal,
    root_principal,
    user_principal,
)
from policylang.auth.clock import Clock, ensure_utc, format_iso8601, system_clock
from policylang.auth.credentials import (
    AccessKey,
    Credential,
    TemporaryCredential,
    create_temporary_credential,
)
from policylang.auth.mfa import check_code
from policylang.auth.oidc import OidcRegistry, WebIdentityError
from policylang.auth.store import CredentialStore
from policylang.auth.sts_validate import (
    NAME_CHARS,
    SERIAL_CHARS,
    Checks,
    check_tags,
    normalise_tags,
    tag_rules,
    validate_assume_role,
    validation_error,
)
from policylang.auth.sts_validate import StsError as StsError
from policylang.auth.sts_validate import access_denied_message as access_denied_message
from policylang.decision import Decision, EvaluationResult
from policylang.errors import AccountError, AuthError
from policylang.evaluator import evaluate
from policylang.ir import Policy, PolicyKind
from policylang.policy_set import PolicySet
from policylang.request import Caller, ContextValue, PrincipalType, Request, Resource

IdentityKind = Literal["root", "user", "user-session", "assumed-role", "federated-user"]

ASSUME_ROLE: Final = "sts:AssumeRole"
ASSUME_ROLE_WITH_WEB_IDENTITY: Final = "sts:AssumeRoleWithWebIdentity"
TAG_SESSION: Final = "sts:TagSession"
SET_SOURCE_IDENTITY: Final = "sts:SetSourceIdentity"
CHAINED_MAX_SECONDS: Final = 3600
DEFAULT_ROLE_SECONDS: Final = 3600


def _invalid_token() -> StsError:
    return StsError(
        "The security token included in the request is invalid.",
        aws_error="InvalidClientTokenId",
        status=403,
    )


# --------------------------------------------------------------------------------------------
# Identities


@attrs.frozen(slots=True)
class Identity:
    """Who a request is made as: the principal behind a credential, with its session state.

    `arn` is the caller ARN (a session ARN for role sessions), `principal_arn` the long-term
    identity behind it (`aws:PrincipalArn`: the role ARN with path, the user ARN). `tags` are
    the session's own tags (passed and inherited); the role's tags are added live when the
    caller is built. `context` holds the keys the credential implies (`aws:TokenIssueTime`,
    `aws:MultiFactorAuthPresent`, `aws:SourceIdentity`, …) — `aws:MultiFactorAuthAge` is added
    at decision time. `session_context` holds extra keys stored with the credential when it was
    issued (`assume_role_for_service(session_context=...)`, e.g. EC2's `ec2:SourceInstanceARN`
    and `ec2:RoleDelivery`, §8.1); they are part of every request made with it.
    """

    kind: IdentityKind
    arn: str
    account: str
    user_id: str
    principal_arn: str
    credential: Credential | None = attrs.field(default=None, eq=False, repr=False)
    session_name: str | None = None
    tags: Mapping[str, str] = attrs.field(factory=dict)
    transitive_tag_keys: tuple[str, ...] = ()
    source_identity: str | None = None
    session_policies: tuple[str, ...] = ()
    issued_at: datetime | None = None
    mfa_authenticated_at: datetime | None = None
    federated_provider: str | None = None
    session_context: Mapping[str, ContextValue] = attrs.field(factory=dict)

    @property
    def is_role_session(self) -> bool:
        return self.kind == "assumed-role"

    def context(self, now: datetime | None = None) -> dict[str, ContextValue]:
        """The request-context keys this identity contributes to every request."""
        # The stored keys first: the ones STS derives itself below take precedence.
        ctx: dict[str, ContextValue] = dict(self.session_context)
        temporary = self.kind in ("user-session", "assumed-role", "federated-user")
        if self.issued_at is not None:
            ctx["aws:TokenIssueTime"] = format_iso8601(self.issued_at)
        if temporary or self.mfa_authenticated_at is not None:
            ctx["aws:MultiFactorAuthPresent"] = (
                "true" if self.mfa_authenticated_at is not None else "false"
            )
        if self.mfa_authenticated_at is not None and now is not None:
            age = int((ensure_utc(now) - self.mfa_authenticated_at).total_seconds())
            ctx["aws:MultiFactorAuthAge"] = str(max(0, age))
        if self.source_identity is not None:
            ctx["aws:SourceIdentity"] = self.source_identity
        if self.federated_provider is not None:
            ctx["aws:FederatedProvider"] = self.federated_provider
        return ctx


@attrs.frozen(slots=True)
class AssumedRoleResult:
    """What AssumeRole / AssumeRoleWithWebIdentity return."""

    credentials: TemporaryCredential = attrs.field(repr=False)
    assumed_role_arn: str
    assumed_role_id: str
    packed_policy_size: int | None = None
    source_identity: str | None = None
    subject: str | None = None
    audience: str | None = None
    provider: str | None = None


@attrs.frozen(slots=True)
class SessionTokenResult:
    """What GetSessionToken / GetFederationToken return."""

    credentials: TemporaryCredential = attrs.field(repr=False)
    federated_user_arn: str | None = None
    federated_user_id: str | None = None
    packed_policy_size: int | None = None


# --------------------------------------------------------------------------------------------
# The service


class StsService:
    """STS over an `Environment` (or one `Account`), a credential store and a clock.

    `oidc` holds the accounts' OIDC providers (AssumeRoleWithWebIdentity). `max_source_identity`
    is 64 (the botocore model) by default; live AWS accepted up to 256. `packed_policy_limit`
    is the compressed size, in bytes, that `PackedPolicySize` 100% stands for **[interp]**.
    """

    def __init__(
        self,
        environment: Environment | Account,
        store: CredentialStore,
        *,
        clock: Clock = system_clock,
        oidc: OidcRegistry | None = None,
        max_source_identity: int = 64,
        packed_policy_limit: int = 2048,
    ) -> None:
        self.env = Environment([environment]) if isinstance(environment, Account) else environment
        self.store = store
        self.clock = clock
        self.oidc = oidc if oidc is not None else OidcRegistry()
        self.max_source_identity = max_source_identity
        self.packed_policy_limit = packed_policy_limit

    def now(self) -> datetime:
        return ensure_utc(self.clock())

    # ---------------------------------------------------------------- entities

    def _account(self, account_id: str) -> Account | None:
        return self.env.accounts.get(account_id)

    def _role(self, role_arn: str) -> tuple[Account, Role] | None:
        fields = role_arn.split(":", 5)
        if len(fields) != 6 or fields[0] != "arn" or fields[2] != "iam":
            return None
        if not fields[5].startswith("role/"):
            return None
        account = self._account(fields[4])
        if account is None:
            return None
        role = account.roles.get(fields[5].rsplit("/", 1)[-1].lower())
        if role is None or role.arn != role_arn:
            return None
        return account, role

    def _user(self, user_arn: str) -> tuple[Account, User] | None:
        fields = user_arn.split(":", 5)
        if len(fields) != 6 or fields[2] != "iam" or not fields[5].startswith("user/"):
            return None
        account = self._account(fields[4])
        if account is None:
            return None
        user = account.users.get(fields[5].rsplit("/", 1)[-1].lower())
        if user is None or user.arn != user_arn:
            return None
        return account, user

    # ---------------------------------------------------------------- credentials → identity

    def identity(self, credential: Credential) -> Identity:
        """The identity a verified credential stands for; `InvalidClientTokenId` when the
        user or role behind it is gone (or was re-created with a new id)."""
        if isinstance(credential, AccessKey):
            arn = credential.principal_arn
            fields = arn.split(":", 5)
            if len(fields) == 6 and fields[2] == "iam" and fields[5] == "root":
                if self._account(fields[4]) is None:
                    raise _invalid_token()
                return Identity("root", arn, fields[4], fields[4], arn, credential)
            found = self._user(arn)
            if found is None or (
                credential.principal_id is not None and credential.principal_id != found[1].id
            ):
                raise _invalid_token()
            account, user = found
            return Identity("user", arn, account.account_id, user.id, arn, credential)
        return self._temporary_identity(credential)

    def _temporary_identity(self, credential: TemporaryCredential) -> Identity:
        attributes = credential.attributes
        kind = attributes.get("kind", "")
        common: dict[str, Any] = {
            "credential": credential,
            "issued_at": credential.issued_at,
            "mfa_authenticated_at": credential.mfa_authenticated_at,
            "tags": json.loads(attributes.get("session_tags", "{}")),
            "transitive_tag_keys": tuple(json.loads(attributes.get("transitive_tag_keys", "[]"))),
            "source_identity": attributes.get("source_identity"),
            "session_policies": tuple(json.loads(attributes.get("session_policies", "[]"))),
            "federated_provider": attributes.get("federated_provider"),
            "session_context": _load_session_context(attributes.get("session_context")),
        }
        if kind == "assumed-role":
            found = self._role(attributes.get("role_arn", ""))
            if found is None or found[1].id != attributes.get("role_id"):
                raise _invalid_token()  # the role was deleted (or re-created: new id)
            account, role = found
            session = attributes["session_name"]
            return Identity(
                "assumed-role",
                credential.principal_arn,
                account.account_id,
                f"{role.id}:{session}",
                role.arn,
                session_name=session,
                **common,
            )
        source = attributes.get("user_arn", credential.source_arn or "")
        fields = source.split(":", 5)
        is_root = len(fields) == 6 and fields[2] == "iam" and fields[5] == "root"
        if is_root:
            if self._account(fields[4]) is None:
                raise _invalid_token()
            account_id, user_id = fields[4], fields[4]
        else:
            found_user = self._user(source)
            if found_user is None:
                raise _invalid_token()
            account_id, user_id = found_user[0].account_id, found_user[1].id
        if kind == "federated-user":
            name = credential.principal_arn.rsplit("/", 1)[-1]
            return Identity(
                "federated-user",
                credential.principal_arn,
                account_id,
                f"{account_id}:{name}",
                credential.principal_arn,
                **common,
            )
        if kind == "session-token":
            return Identity(
                "root" if is_root else "user-session",
                source,
                account_id,
                user_id,
                source,
                **common,
            )
        raise _invalid_token()

    # ---------------------------------------------------------------- deciding requests

    def _principal(self, identity: Identity) -> Principal:
        """The account model's principal for an identity, with the caller it acts as."""
        account = self._account(identity.account)
        if account is None:
            raise _invalid_token()
        if identity.kind == "root":
            return root_principal(identity.account, account.partition)
        if identity.kind == "assumed-role":
            found = self._role(identity.principal_arn)
            if found is None:
                raise _invalid_token()
            principal = role_principal(account, found[1], identity.session_name)
            return attrs.evolve(
                principal,
                caller=attrs.evolve(
                    principal.caller, tags=_merge_tags(principal.caller.tags, identity.tags)
                ),
            )
        user_arn = identity.arn if identity.kind in ("user", "user-session") else None
        if identity.kind == "federated-user":
            credential = identity.credential
            user_arn = (
                credential.attributes.get("user_arn")
                if isinstance(credential, TemporaryCredential)
                else None
            )
        found_user = self._user(user_arn or "")
        if found_user is None:
            raise _invalid_token()
        principal = user_principal(account, found_user[1])
        if identity.kind == "federated-user":
            caller = Caller(
                PrincipalType.FEDERATED,
                arn=identity.arn,
                account=identity.account,
                id=identity.user_id,
                tags=dict(identity.tags),
            )
            principal = attrs.evolve(principal, arn=identity.arn, caller=caller)
        return principal

    def request_for(
        self,
        identity: Identity,
        action: str,
        resource: str,
        context: Mapping[str, ContextValue] | None = None,
        *,
        resource_tags: Mapping[str, str] | None = None,
        extra_session_policies: Sequence[str] = (),
        resource_account: str | None = None,
    ) -> tuple[PolicySet, Request]:
        """(policy set, request) for `identity` doing `action` on `resource`: the account
        model gathers the policies; we supply the session caller, policies and context.

        `resource_account` names the account owning the resource when the account model
        cannot tell (e.g. a bucket created at run time, whose ARN has no account field): it
        decides same- vs cross-account evaluation and which RCPs apply."""
        principal = self._principal(identity)
        # Parsed once per distinct text: a session's policies are re-used on every request.
        policies = [
            _parse_session_policy(text)
            for text in (*identity.session_policies, *extra_session_policies)
        ]
        try:
            question = build_question(
                self.env,
                principal,
                action,
                resource,
                None,
                session_policies=policies,
                resource_account=resource_account,
            )
        except AccountError as error:
            raise StsError(error.message, aws_error=error.aws_error, status=400) from error
        ctx: dict[str, ContextValue] = dict(question.request.context)
        ctx.update(identity.context(self.now()))
        for key, value in (context or {}).items():
            ctx[key] = value
        resource_obj = question.request.resource
        if resource_tags is not None:
            resource_obj = Resource(resource_obj.arn, resource_obj.account, resource_tags)
        request = Request(principal.caller, action, resource_obj, ctx)
        return question.policy_set, request

    def resolve(
        self, credential: Credential
    ) -> tuple[Caller, tuple[Policy, ...], dict[str, ContextValue]]:
        """A verified credential → (the `Caller` it acts as, its session policies, the
        request-context keys it implies). `authorize` uses exactly these; this is for callers
        that assemble their own `PolicySet`/`Request`."""
        identity = self.identity(credential)
        principal = self._principal(identity)
        context: dict[str, ContextValue] = dict(identity.context(self.now()))
        if identity.kind in ("assumed-role", "federated-user"):
            context.setdefault("aws:PrincipalArn", identity.principal_arn)
        return principal.caller, session_policy_documents(identity), context

    def authorize(
        self,
        identity: Identity,
        action: str,
        resource: str,
        context: Mapping[str, ContextValue] | None = None,
        *,
        resource_account: str | None = None,
    ) -> EvaluationResult:
        """Decide a request made with `identity`'s credentials (session policies applied);
        `resource_account` as in `request_for`."""
        lowered = action.lower()
        if (
            identity.kind == "federated-user"
            and lowered.startswith(("sts:", "iam:"))
            and lowered != "sts:getcalleridentity"
        ):
            # §6.3: federated-user sessions may call no IAM API, and no STS API but
            # GetCallerIdentity.
            return EvaluationResult(Decision.IMPLICIT_DENY, deciding_set="session")
        if identity.kind == "user-session":
            # §6.4: GetSessionToken credentials: IAM only with MFA; STS only AssumeRole and
            # GetCallerIdentity.
            no_mfa_iam = lowered.startswith("iam:") and identity.mfa_authenticated_at is None
            other_sts = lowered.startswith("sts:") and lowered not in (
                "sts:assumerole",
                "sts:getcalleridentity",
            )
            if no_mfa_iam or other_sts:
                return EvaluationResult(Decision.IMPLICIT_DENY, deciding_set="identity")
        policy_set, request = self.request_for(
            identity, action, resource, context, resource_account=resource_account
        )
        return evaluate(policy_set, request)

    # ---------------------------------------------------------------- AssumeRole

    def assume_role(
        self,
        caller: Identity | Credential,
        role_arn: str,
        session_name: str,
        *,
        duration_seconds: int | None = None,
        external_id: str | None = None,
        serial_number: str | None = None,
        token_code: str | None = None,
        tags: Mapping[str, str] | Iterable[tuple[str, str]] = (),
        transitive_tag_keys: Sequence[str] = (),
        source_identity: str | None = None,
        policy: str | None = None,
        policy_arns: Sequence[str] = (),
        context: Mapping[str, ContextValue] | None = None,
    ) -> AssumedRoleResult:
        """sts:AssumeRole by `caller` (an identity, or a credential from the store).

        `context` adds request keys (e.g. `aws:SourceIp`, `aws:CurrentTime` from SigV4)."""
        identity = caller if isinstance(caller, Identity) else self.identity(caller)
        now = self.now()
        tag_list = normalise_tags(tags)
        transitive = list(transitive_tag_keys)
        policy_arns = list(policy_arns)

        # 1. schema and cross-field rules
        validate_assume_role(
            role_arn,
            session_name,
            duration_seconds=duration_seconds,
            external_id=external_id,
            serial_number=serial_number,
            token_code=token_code,
            source_identity=source_identity,
            max_source_identity=self.max_source_identity,
            tags=tag_list,
            transitive_tag_keys=transitive,
            policy=policy,
            policy_arns=policy_arns,
        )

        # 2. who may call (§7.2)
        if identity.kind == "root":
            raise StsError(
                "Roles may not be assumed by root accounts.", aws_error="AccessDenied", status=403
            )
        if identity.kind == "federated-user":
            raise StsError(
                access_denied_message(identity.arn, ASSUME_ROLE, role_arn, None),
                aws_error="AccessDenied",
                status=403,
                hint="GetFederationToken sessions cannot call AssumeRole",
            )
        chained = identity.is_role_session

        # Inherited session state (chaining): transitive tags, source identity.
        inherited_tags = {
            k: v
            for k, v in identity.tags.items()
            if k.lower() in {t.lower() for t in identity.transitive_tag_keys}
        }
        for key, _ in tag_list:
            if any(key.lower() == k.lower() for k in inherited_tags):
                raise validation_error(
                    f"The session tag `{key}` collides with an inherited transitive session tag",
                    hint="a transitive tag from the calling session cannot be overridden",
                )
        if (
            identity.source_identity is not None
            and source_identity is not None
            and source_identity != identity.source_identity
        ):
            raise validation_error(
                "The source identity is already set for this assume role session"
            )
        effective_source = identity.source_identity or source_identity

        # MFA code (checked before authorization; the step is consumed only on success).
        mfa_at: datetime | None = None
        mfa_step: int | None = None
        if serial_number is not None and token_code is not None:
            mfa_step = self._check_mfa(identity, serial_number, token_code, now)
            mfa_at = now

        # 3. authorization: sts:AssumeRole, then TagSession / SetSourceIdentity (§7.3)
        ctx: dict[str, ContextValue] = dict(context or {})
        ctx["sts:RoleSessionName"] = session_name
        if external_id is not None:
            ctx["sts:ExternalId"] = external_id
        if effective_source is not None:
            ctx["sts:SourceIdentity"] = effective_source
        if transitive:
            ctx["sts:TransitiveTagKeys"] = tuple(transitive)
        for key, value in tag_list:
            ctx[f"aws:RequestTag/{key}"] = value
        if tag_list:
            ctx["aws:TagKeys"] = tuple(k for k, _ in tag_list)
        if mfa_at is not None:
            ctx["aws:MultiFactorAuthPresent"] = "true"
            ctx["aws:MultiFactorAuthAge"] = "0"

        found = self._role(role_arn)
        if found is None:
            # A missing role answers exactly like a refusal (no NoSuchEntity leak).
            raise StsError(
                access_denied_message(identity.arn, ASSUME_ROLE, role_arn, None, role_trust=True),
                aws_error="AccessDenied",
                status=403,
            )
        role_account, role = found
        role_tags = {t.key: t.value for t in role.tags}
        # Chaining: the caller's transitive tags override the role's same-key tags in
        # aws:ResourceTag lookups during trust evaluation (§7.3).
        resource_tags = _merge_tags(role_tags, inherited_tags)
        for key, value in resource_tags.items():
            ctx.setdefault(f"iam:ResourceTag/{key}", value)
        actions = [ASSUME_ROLE]
        if tag_list:
            actions.append(TAG_SESSION)
        if effective_source is not None:
            actions.append(SET_SOURCE_IDENTITY)
        for action in actions:
            policy_set, request = self.request_for(
                identity, action, role_arn, ctx, resource_tags=resource_tags
            )
            result = evaluate(policy_set, request)
            if not result.allowed:
                raise StsError(
                    access_denied_message(identity.arn, action, role_arn, result, role_trust=True),
                    aws_error="AccessDenied",
                    status=403,
                )

        # 4-5. duration vs role, then the chaining cap
        duration = DEFAULT_ROLE_SECONDS if duration_seconds is None else duration_seconds
        if duration > role.max_session_duration:
            raise validation_error(
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
            )
        if chained and duration > CHAINED_MAX_SECONDS:
            raise validation_error(
                "The requested DurationSeconds exceeds the 1 hour session limit for roles "
                "assumed by role chaining."
            )

        # 6. session policies and packing
        documents = self._session_policies(policy, policy_arns, role_account)
        session_tags = {**inherited_tags, **dict(tag_list)}
        all_transitive = _unique_keys([*identity.transitive_tag_keys, *transitive])
        packed = self._packed_size(documents, tag_list, transitive)

        if (
            mfa_step is not None
            and serial_number is not None
            and not self.store.record_mfa_step(serial_number, mfa_step)
        ):
            raise _mfa_denied()
        extra = {
            "session_tags": json.dumps(session_tags),
            "transitive_tag_keys": json.dumps(all_transitive),
            "session_policies": json.dumps(documents),
        }
        if effective_source is not None:
            extra["source_identity"] = effective_source
        return self._issue_role_session(
            role_account, role, session_name, duration, now, extra, mfa_at=mfa_at, packed=packed
        )

    def _check_mfa(self, identity: Identity, serial: str, code: str, now: datetime) -> int:
        device = self.store.get_mfa_device(serial)
        if device is None:
            raise _mfa_denied("MultiFactorAuthentication failed, unable to validate MFA code.")
        owner = device.user_arn
        is_user = identity.kind in ("user", "user-session")
        if is_user and owner is not None and owner != identity.arn:
            raise _mfa_denied("MultiFactorAuthentication failed, unable to validate MFA code.")
        try:
            return check_code(device, code, now)
        except AuthError as error:
            raise StsError(
                error.message, aws_error=error.aws_error, status=error.status, hint=error.hint
            ) from error

    def _session_policies(
        self, policy: str | None, policy_arns: Sequence[str], home: Account
    ) -> list[str]:
        """The session policies as compact JSON texts: the inline one, then the managed ones."""
        documents: list[str] = []
        if policy is not None:
            try:
                parsed = to_policy(policy, kind=PolicyKind.SESSION, where="Policy")
            except AccountError as error:
                raise StsError(
                    error.message, aws_error="MalformedPolicyDocument", hint=error.hint
                ) from error
            documents.append(policy_text(parsed))
        for arn in policy_arns:
            managed = home.policies.get(arn)
            if managed is None:
                for other in self.env.accounts.values():
                    candidate = other.policies.get(arn)
                    if candidate is not None and candidate.is_aws_managed:
                        managed = candidate
            if managed is None:
                # [interp] AWS's exact answer for an unknown managed session policy is unpinned.
                raise validation_error(
                    f"Policy {arn} does not exist or is not attachable.",
                    hint="session PolicyArns must name managed policies of the role's account "
                    "or AWS-managed policies",
                )
            documents.append(policy_text(managed.document))
        return documents

    def _packed_size(
        self, documents: Sequence[str], tags: Sequence[tuple[str, str]], transitive: Sequence[str]
    ) -> int | None:
        """PackedPolicySize in percent, or None when no session policy or tag was passed.

        AWS packs policies and tags into a compressed binary form whose limit it does not
        publish; we use zlib over their text against `packed_policy_limit` **[interp]**."""
        if not documents and not tags:
            return None
        blob = json.dumps([list(documents), list(tags), list(transitive)]).encode("utf-8")
        percent = math.ceil(100 * len(zlib.compress(blob, 9)) / self.packed_policy_limit)
        if percent > 100:
            raise StsError(
                f"Packed size of the session policies and tags is {percent}% of the limit",
                aws_error="PackedPolicyTooLarge",
                hint="pass fewer or shorter session tags or policies",
            )
        return percent

    # ---------------------------------------------------------------- web identity

    def assume_role_with_web_identity(
        self,
        role_arn: str,
        session_name: str,
        web_identity_token: str,
        *,
        duration_seconds: int | None = None,
        policy: str | None = None,
        policy_arns: Sequence[str] = (),
        provider_id: str | None = None,
        context: Mapping[str, ContextValue] | None = None,
    ) -> AssumedRoleResult:
        """sts:AssumeRoleWithWebIdentity: no AWS credentials; the token's provider must be
        registered in the role's account and the trust policy alone decides (§3)."""
        now = self.now()
        checks = Checks()
        checks.length("roleArn", role_arn, 20, 2048)
        checks.length("roleSessionName", session_name, 2, 64)
        checks.pattern("roleSessionName", session_name, NAME_CHARS)
        checks.integer("durationSeconds", duration_seconds, 900, 43200)
        checks.length("providerId", provider_id, 4, 2048)
        checks.count("policyArns", list(policy_arns), 10)
        checks.length("policy", policy, 1, 2048)
        checks.length("webIdentityToken", web_identity_token, 4, 20000)
        checks.raise_if_any()
        fields = role_arn.split(":", 5)
        role_account_id = fields[4] if len(fields) == 6 else ""
        try:
            token = self.oidc.verify(web_identity_token, role_account_id, now)
        except WebIdentityError as error:
            raise StsError(
                error.message, aws_error=error.aws_error, status=error.status, hint=error.hint
            ) from error
        denied = StsError(
            f"Not authorized to perform {ASSUME_ROLE_WITH_WEB_IDENTITY}",
            aws_error="AccessDenied",
            status=403,
        )
        found = self._role(role_arn)
        if found is None:
            raise denied
        role_account, role = found
        ctx: dict[str, ContextValue] = dict(context or {})
        ctx.update(token.context())
        ctx["sts:RoleSessionName"] = session_name
        provider = token.provider.arn
        # Session tags from the token's `https://aws.amazon.com/tags` claim need
        # sts:TagSession in the trust policy too (§7.3).
        tags = token.session_tags()
        transitive = [k for k in token.transitive_tag_keys() if k in tags]
        actions = [ASSUME_ROLE_WITH_WEB_IDENTITY]
        if tags:
            actions.append(TAG_SESSION)
            for key, value in tags.items():
                ctx[f"aws:RequestTag/{key}"] = value
            ctx["aws:TagKeys"] = tuple(tags)
            if transitive:
                ctx["sts:TransitiveTagKeys"] = tuple(transitive)
        for action in actions:
            try:
                question = self.env.question(provider, action, role_arn, ctx)
            except AccountError as error:
                raise StsError(error.message, aws_error=error.aws_error) from error
            if not evaluate(question.policy_set, question.request).allowed:
                raise denied
        duration = DEFAULT_ROLE_SECONDS if duration_seconds is None else duration_seconds
        if duration > role.max_session_duration:
            raise validation_error(
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
            )
        documents = self._session_policies(policy, list(policy_arns), role_account)
        packed = self._packed_size(documents, list(tags.items()), transitive)
        issued = self._issue_role_session(
            role_account,
            role,
            session_name,
            duration,
            now,
            {
                "session_policies": json.dumps(documents),
                "federated_provider": provider,
                "session_tags": json.dumps(tags),
                "transitive_tag_keys": json.dumps(transitive),
            },
            packed=packed,
        )
        return attrs.evolve(
            issued,
            subject=token.subject,
            audience=token.audience,
            provider=token.provider.issuer,
        )

    def assume_role_for_service(
        self,
        service: str,
        role_arn: str,
        session_name: str,
        *,
        duration_seconds: int | None = None,
        context: Mapping[str, ContextValue] | None = None,
        session_context: Mapping[str, ContextValue] | None = None,
    ) -> AssumedRoleResult:
        """A service principal (`ec2.amazonaws.com`, `lambda.amazonaws.com`…) assuming a role
        on a customer's behalf: the trust policy alone decides (§3); pass `aws:SourceArn` /
        `aws:SourceAccount` in `context` when the service would. Not chaining.

        `session_context` is stored with the credential and added to the context of every
        request signed with it (`Identity.context()`): EC2 puts `ec2:SourceInstanceARN`,
        `ec2:RoleDelivery`, `aws:Ec2InstanceSourceVpc`, `aws:Ec2InstanceSourcePrivateIPv4` there
        (§8.1). Keys STS derives itself (`aws:TokenIssueTime`, …) win over same-named ones."""
        now = self.now()
        checks = Checks()
        checks.length("roleSessionName", session_name, 2, 64)
        checks.pattern("roleSessionName", session_name, NAME_CHARS)
        checks.integer("durationSeconds", duration_seconds, 900, 43200)
        checks.raise_if_any()
        stored = _dump_session_context(session_context)
        denied = StsError(
            access_denied_message(service, ASSUME_ROLE, role_arn, None, role_trust=True),
            aws_error="AccessDenied",
            status=403,
        )
        found = self._role(role_arn)
        if found is None:
            raise denied
        role_account, role = found
        ctx: dict[str, ContextValue] = dict(context or {})
        ctx["sts:RoleSessionName"] = session_name
        question = self.env.question(service, ASSUME_ROLE, role_arn, ctx)
        result = evaluate(question.policy_set, question.request)
        if not result.allowed:
            raise StsError(
                access_denied_message(service, ASSUME_ROLE, role_arn, result, role_trust=True),
                aws_error="AccessDenied",
                status=403,
            )
        duration = DEFAULT_ROLE_SECONDS if duration_seconds is None else duration_seconds
        if duration > role.max_session_duration:
            raise validation_error(
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
            )
        extra = {"session_context": stored} if stored is not None else {}
        return self._issue_role_session(role_account, role, session_name, duration, now, extra)

    def _issue_role_session(
        self,
        account: Account,
        role: Role,
        session_name: str,
        duration: int,
        now: datetime,
        extra: Mapping[str, str],
        *,
        mfa_at: datetime | None = None,
        packed: int | None = None,
    ) -> AssumedRoleResult:
        session_arn = (
            f"arn:{account.partition}:sts::{account.account_id}:assumed-role/"
            f"{role.name}/{session_name}"
        )
        attributes = {
            "kind": "assumed-role",
            "role_arn": role.arn,
            "role_id": role.id,
            "session_name": session_name,
            **extra,
        }
        credential = create_temporary_credential(
            session_arn,
            now=now,
            duration=timedelta(seconds=duration),
            principal_id=f"{role.id}:{session_name}",
            source_arn=role.arn,
            mfa_authenticated_at=mfa_at,
            attributes=attributes,
        )
        self.store.put(credential)
        return AssumedRoleResult(
            credential,
            session_arn,
            f"{role.id}:{session_name}",
            packed_policy_size=packed,
            source_identity=attributes.get("source_identity"),
        )

    # ---------------------------------------------------------------- other operations

    def get_session_token(
        self,
        caller: Identity | Credential,
        duration_seconds: int | None = None,
        serial_number: str | None = None,
        token_code: str | None = None,
    ) -> SessionTokenResult:
        """sts:GetSessionToken: needs no permission; long-term credentials of a user or root."""
        identity = caller if isinstance(caller, Identity) else self.identity(caller)
        now = self.now()
        checks = Checks()
        checks.integer("durationSeconds", duration_seconds, 900, 129600)
        checks.length("serialNumber", serial_number, 9, 256)
        checks.pattern("serialNumber", serial_number, SERIAL_CHARS)
        checks.token_code(token_code)
        checks.raise_if_any()
        if identity.kind not in ("user", "root") or isinstance(
            identity.credential, TemporaryCredential
        ):
            raise StsError(
                "Cannot call GetSessionToken with session credentials",
                aws_error="AccessDenied",
                status=403,
            )
        if (serial_number is None) != (token_code is None):
            raise validation_error("SerialNumber and TokenCode must be passed together")
        mfa_at = None
        if serial_number is not None and token_code is not None:
            step = self._check_mfa(identity, serial_number, token_code, now)
            if not self.store.record_mfa_step(serial_number, step):
                raise _mfa_denied()
            mfa_at = now
        duration = 43200 if duration_seconds is None else duration_seconds
        if identity.kind == "root":
            duration = min(duration, 3600)  # AWS: root sessions default to at most one hour
        credential = create_temporary_credential(
            identity.arn,
            now=now,
            duration=timedelta(seconds=duration),
            principal_id=identity.user_id,
            source_arn=identity.arn,
            mfa_authenticated_at=mfa_at,
            attributes={"kind": "session-token", "user_arn": identity.arn},
        )
        self.store.put(credential)
        return SessionTokenResult(credential)

    def get_federation_token(
        self,
        caller: Identity | Credential,
        name: str,
        policy: str | None = None,
        policy_arns: Sequence[str] = (),
        duration: int | None = None,
        *,
        tags: Mapping[str, str] | Iterable[tuple[str, str]] = (),
        context: Mapping[str, ContextValue] | None = None,
    ) -> SessionTokenResult:
        """sts:GetFederationToken: long-term credentials of a user (or root); needs
        `sts:GetFederationToken` permission. Without a session policy the federated user has no
        permissions (§6.3)."""
        identity = caller if isinstance(caller, Identity) else self.identity(caller)
        now = self.now()
        tag_list = normalise_tags(tags)
        checks = Checks()
        checks.length("name", name, 2, 32)
        checks.pattern("name", name, NAME_CHARS)
        checks.integer("durationSeconds", duration, 900, 129600)
        checks.count("policyArns", list(policy_arns), 10)
        checks.length("policy", policy, 1, 2048)
        check_tags(checks, tag_list, ())
        checks.raise_if_any()
        tag_rules(tag_list, ())
        if identity.kind not in ("user", "root") or isinstance(
            identity.credential, TemporaryCredential
        ):
            raise StsError(
                "Cannot call GetFederationToken with session credentials",
                aws_error="AccessDenied",
                status=403,
            )
        account = self._account(identity.account)
        assert account is not None  # identity() checked it
        fed_arn = f"arn:{account.partition}:sts::{account.account_id}:federated-user/{name}"
        if identity.kind == "user":
            result = self.authorize(identity, "sts:GetFederationToken", fed_arn, context)
            if not result.allowed:
                raise StsError(
                    access_denied_message(identity.arn, "sts:GetFederationToken", fed_arn, result),
                    aws_error="AccessDenied",
                    status=403,
                )
        documents = self._session_policies(policy, list(policy_arns), account)
        packed = self._packed_size(documents, tag_list, ())
        seconds = 43200 if duration is None else duration
        if identity.kind == "root":
            seconds = min(seconds, 3600)
        credential = create_temporary_credential(
            fed_arn,
            now=now,
            duration=timedelta(seconds=seconds),
            principal_id=f"{account.account_id}:{name}",
            source_arn=identity.arn,
            attributes={
                "kind": "federated-user",
                "user_arn": identity.arn,
                "session_tags": json.dumps(dict(tag_list)),
                "session_policies": json.dumps(documents),
            },
        )
        self.store.put(credential)
        return SessionTokenResult(
            credential,
            federated_user_arn=fed_arn,
            federated_user_id=f"{account.account_id}:{name}",
            packed_policy_size=packed,
        )

    def get_caller_identity(self, caller: Identity | Credential) -> dict[str, str]:
        """sts:GetCallerIdentity: always allowed for an authenticated caller (§6.1)."""
        identity = caller if isinstance(caller, Identity) else self.identity(caller)
        return {"UserId": identity.user_id, "Account": identity.account, "Arn": identity.arn}


# --------------------------------------------------------------------------------------------
# helpers


def _merge_tags(base: Mapping[str, str], override: Mapping[str, str]) -> dict[str, str]:
    """`base` with `override` applied; keys match case-insensitively (the override's spelling
    wins)."""
    merged = dict(base)
    for key, value in override.items():
        for old in [k for k in merged if k.lower() == key.lower()]:
            del merged[old]
        merged[key] = value
    return merged


def _unique_keys(keys: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for key in keys:
        if key.lower() not in seen:
            seen.add(key.lower())
            out.append(key)
    return out


_CONTEXT_KEY_RE: Final = re.compile(r"[A-Za-z0-9-]+:[A-Za-z0-9_./:-]+")


def _dump_session_context(context: Mapping[str, ContextValue] | None) -> str | None:
    """Session-context keys as the JSON text stored in the credential's attributes; a
    `ValidationError` for a malformed key or a value that is not a string (or strings)."""
    if not context:
        return None
    out: dict[str, str | list[str]] = {}
    for key, value in context.items():
        if not isinstance(key, str) or not _CONTEXT_KEY_RE.fullmatch(key):
            raise validation_error(
                f"Invalid session context key {key!r}",
                hint="write condition keys as PREFIX:Name, e.g. ec2:SourceInstanceARN",
            )
        if isinstance(value, str):
            out[key] = value
        elif isinstance(value, tuple) and all(isinstance(v, str) for v in value):
            out[key] = list(value)
        else:
            raise validation_error(
                f"Invalid value for session context key {key}: {value!r}",
                hint="session context values are strings or tuples of strings",
            )
    return json.dumps(out)


def _load_session_context(text: str | None) -> dict[str, ContextValue]:
    if not text:
        return {}
    loaded = json.loads(text)
    return {
        str(key): value if isinstance(value, str) else tuple(str(v) for v in value)
        for key, value in loaded.items()
    }


def _mfa_denied(message: str | None = None) -> StsError:
    return StsError(
        message or "MultiFactorAuthentication failed with invalid MFA one time pass code. ",
        aws_error="AccessDenied",
        status=403,
        code="sts.mfa-failed",
    )


@functools.lru_cache(maxsize=1024)
def _parse_session_policy(text: str) -> Policy:
    # Policies are frozen, so one parsed copy can serve every request of every session.
    return to_policy(text, kind=PolicyKind.SESSION, where="session policy")


def session_policy_documents(identity: Identity) -> tuple[Policy, ...]:
    """The identity's session policies parsed (for callers building their own PolicySet)."""
    return tuple(_parse_session_policy(text) for text in identity.session_policies)
