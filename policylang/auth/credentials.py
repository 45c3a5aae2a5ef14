"""Credentials: long-term access keys, temporary (STS) credentials, and the `Secret` wrapper.

Secrets (secret access keys, session tokens, MFA seeds) are held in `Secret`, whose `repr()` and
`str()` never show the value; `Secret.reveal()` is the one explicit way out. Credential classes
also mark those fields `repr=False`, so a credential can be logged or put in an error safely.

Principals are opaque here: a credential names the principal it stands for by ARN (and unique
id), so this module does not depend on the account model; STS issues `TemporaryCredential`s into
the same store as users' `AccessKey`s.
"""

from __future__ import annotations

import enum
import hmac
import re
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Final, final

import attrs

from policylang.auth.clock import ensure_utc

ACCESS_KEY_ALPHABET: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
"""AWS access key ids use upper-case base32 characters after the 4-letter prefix."""

_SECRET_ALPHABET: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
# IAM's AccessKeyId is `[\w]+`, 16-128 chars; the AWS test-suite key `AKIDEXAMPLE` is shorter,
# so stored ids are checked only for shape and a sane length.
_KEY_ID_RE: Final = re.compile(r"[A-Za-z0-9_]{4,128}")


@final
class Secret:
    """A secret string that does not print: `repr`/`str`/`format` give `Secret('****')`."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("Secret wraps a str")
        self._value = value

    def reveal(self) -> str:
        """The secret value. Call only where the value is needed (signing, storage)."""
        return self._value

    def matches(self, candidate: str) -> bool:
        """Constant-time comparison with `candidate`."""
        return hmac.compare_digest(self._value.encode("utf-8"), candidate.encode("utf-8"))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return self.matches(other._value)

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __len__(self) -> int:
        return len(self._value)

    def __repr__(self) -> str:
        return "Secret('****')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)


def to_secret(value: str | Secret) -> Secret:
    """Wrap a plain string; pass a `Secret` through."""
    return value if isinstance(value, Secret) else Secret(value)


def mask_key_id(access_key_id: str) -> str:
    """`AKIA…WXYZ`: enough to tell keys apart in messages, never the full id."""
    if len(access_key_id) < 16:
        return access_key_id[:2] + "…"
    return f"{access_key_id[:4]}…{access_key_id[-4:]}"


class KeyStatus(enum.Enum):
    """An access key's status, with IAM's spelling as the value."""

    ACTIVE = "Active"
    INACTIVE = "Inactive"


def _check_key_id(_instance: object, _attribute: object, value: str) -> None:
    if not _KEY_ID_RE.fullmatch(value):
        raise ValueError(
            f"invalid access key id {mask_key_id(value)!r}: expected 4-128 letters and digits"
        )


def _utc(value: datetime) -> datetime:
    return ensure_utc(value)


def _utc_or_none(value: datetime | None) -> datetime | None:
    return None if value is None else ensure_utc(value)


def _frozen_attributes(value: Mapping[str, str] | None) -> Mapping[str, str]:
    return MappingProxyType(dict(value or {}))


@attrs.frozen(slots=True)
class LastUsed:
    """When and where an access key last authenticated a request (IAM's `AccessKeyLastUsed`)."""

    date: datetime = attrs.field(converter=_utc)
    service: str | None = None
    region: str | None = None


@attrs.frozen(slots=True)
class AccessKey:
    """A long-term access key (`AKIA…`) belonging to an IAM user or the root user."""

    access_key_id: str = attrs.field(validator=_check_key_id)
    secret_access_key: Secret = attrs.field(converter=to_secret, repr=False)
    principal_arn: str
    created: datetime = attrs.field(converter=_utc)
    status: KeyStatus = KeyStatus.ACTIVE
    principal_id: str | None = None
    last_used: LastUsed | None = None

    @property
    def is_active(self) -> bool:
        return self.status is KeyStatus.ACTIVE

    @property
    def is_temporary(self) -> bool:
        return False

    @property
    def session_token(self) -> None:
        """Long-term keys carry no session token."""
        return None


@attrs.frozen(slots=True)
class TemporaryCredential:
    """An STS credential (`ASIA…` id, secret, session token) standing for a session principal.

    `principal_arn` is the session's ARN (`arn:aws:sts::A:assumed-role/R/S`, or the user's ARN
    for GetSessionToken); `source_arn` is the long-term identity behind it (the role ARN with
    path, or the user ARN), which becomes `aws:PrincipalArn`. `attributes` is an opaque string
    map for the issuer (session tags, source identity…), stored and returned unchanged.
    """

    access_key_id: str = attrs.field(validator=_check_key_id)
    secret_access_key: Secret = attrs.field(converter=to_secret, repr=False)
    session_token: Secret = attrs.field(converter=to_secret, repr=False)
    principal_arn: str
    issued_at: datetime = attrs.field(converter=_utc)
    expiration: datetime = attrs.field(converter=_utc)
    principal_id: str | None = None
    source_arn: str | None = None
    mfa_authenticated_at: datetime | None = attrs.field(default=None, converter=_utc_or_none)
    # Compared but not hashed: a mapping proxy is not hashable.
    attributes: Mapping[str, str] = attrs.field(
        factory=dict, converter=_frozen_attributes, hash=False
    )

    def __attrs_post_init__(self) -> None:
        if self.expiration <= self.issued_at:
            raise ValueError("a temporary credential must expire after it is issued")

    @property
    def is_active(self) -> bool:
        """Temporary credentials have no status; expiry is checked against a clock."""
        return True

    @property
    def is_temporary(self) -> bool:
        return True

    @property
    def mfa_present(self) -> bool:
        return self.mfa_authenticated_at is not None

    def is_expired(self, now: datetime) -> bool:
        """True once `now` reaches the expiration instant."""
        return ensure_utc(now) >= self.expiration


Credential = AccessKey | TemporaryCredential
"""Anything the credential store can return for an access key id."""


def new_access_key_id(prefix: str = "AKIA") -> str:
    """A fresh 20-character key id: `prefix` (`AKIA` or `ASIA`) plus 16 base32 characters."""
    if len(prefix) != 4 or not prefix.isalpha() or not prefix.isupper():
        raise ValueError(f"access key prefix must be 4 upper-case letters, got {prefix!r}")
    return prefix + "".join(secrets.choice(ACCESS_KEY_ALPHABET) for _ in range(16))


def new_secret_access_key() -> Secret:
    """A fresh 40-character secret access key."""
    return Secret("".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40)))


def new_session_token(size: int = 356) -> Secret:
    """An opaque session token (URL-safe base64 text; real tokens vary in length)."""
    return Secret(secrets.token_urlsafe(size * 3 // 4))


def create_access_key(
    principal_arn: str,
    *,
    now: datetime,
    principal_id: str | None = None,
    status: KeyStatus = KeyStatus.ACTIVE,
) -> AccessKey:
    """A new long-term key for `principal_arn`, as `iam:CreateAccessKey` would return."""
    return AccessKey(
        access_key_id=new_access_key_id("AKIA"),
        secret_access_key=new_secret_access_key(),
        principal_arn=principal_arn,
        principal_id=principal_id,
        created=now,
        status=status,
    )


def create_temporary_credential(
    principal_arn: str,
    *,
    now: datetime,
    duration: timedelta,
    principal_id: str | None = None,
    source_arn: str | None = None,
    mfa_authenticated_at: datetime | None = None,
    attributes: Mapping[str, str] | None = None,
) -> TemporaryCredential:
    """A new `ASIA…` credential valid from `now` for `duration` (STS picks and checks it)."""
    if duration <= timedelta(0):
        raise ValueError("duration must be positive")
    return TemporaryCredential(
        access_key_id=new_access_key_id("ASIA"),
        secret_access_key=new_secret_access_key(),
        session_token=new_session_token(),
        principal_arn=principal_arn,
        principal_id=principal_id,
        source_arn=source_arn,
        issued_at=now,
        expiration=ensure_utc(now) + duration,
        mfa_authenticated_at=mfa_authenticated_at,
        attributes=attributes or {},
    )
