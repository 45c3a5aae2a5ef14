"""Virtual MFA devices and TOTP (RFC 6238: HMAC-SHA1, 6 digits, 30-second steps).

A code is accepted within ±1 step of the clock (AWS tolerates a little drift), compared in
constant time, and never twice: `check_code` returns the accepted step and the caller stores it
as the device's `last_step`, so a replayed or older code is refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final, Literal

import attrs

from policylang.auth.clock import ensure_utc
from policylang.auth.credentials import Secret, to_secret
from policylang.errors import AuthError

if TYPE_CHECKING:  # the store imports this module; only its type is needed here
    from policylang.auth.store import CredentialStore

TOTP_STEP_SECONDS: Final = 30
TOTP_DIGITS: Final = 6
HashName = Literal["sha1", "sha256", "sha512"]

_SERIAL_RE: Final = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:mfa/(?:[\w+=,.@-]+/)*[\w+=,.@-]+")
_CODE_RE: Final = re.compile(r"\d{6}")
INVALID_CODE_MESSAGE: Final = (
    "MultiFactorAuthentication failed with invalid MFA one time pass code. "
)


def hotp(key: bytes, counter: int, *, digits: int = TOTP_DIGITS, digest: HashName = "sha1") -> str:
    """RFC 4226 HOTP value of `counter` under `key`, zero-padded to `digits` digits."""
    if counter < 0:
        raise ValueError("HOTP counter must be non-negative")
    mac = hmac.new(key, counter.to_bytes(8, "big"), getattr(hashlib, digest)).digest()
    offset = mac[-1] & 0x0F
    binary = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF
    return str(binary % 10**digits).zfill(digits)


def time_step(at: datetime | float, *, step: int = TOTP_STEP_SECONDS) -> int:
    """The TOTP counter for instant `at` (a datetime or Unix seconds), with T0 = 0."""
    seconds = ensure_utc(at).timestamp() if isinstance(at, datetime) else float(at)
    return int(seconds // step)


def totp(
    key: bytes,
    at: datetime | float,
    *,
    digits: int = TOTP_DIGITS,
    step: int = TOTP_STEP_SECONDS,
    digest: HashName = "sha1",
) -> str:
    """RFC 6238 TOTP value at instant `at`."""
    return hotp(key, time_step(at, step=step), digits=digits, digest=digest)


def _check_serial(_instance: object, _attribute: object, value: str) -> None:
    if not _SERIAL_RE.fullmatch(value):
        raise ValueError(
            f"invalid MFA serial number `{value}`: expected `arn:aws:iam::ACCOUNT:mfa/NAME`"
        )


def _check_seed(_instance: object, _attribute: object, value: Secret) -> None:
    try:
        _decode_base32(value.reveal())
    except ValueError:
        raise ValueError("MFA seed must be base32 text") from None


def _decode_base32(text: str) -> bytes:
    cleaned = text.replace(" ", "").upper()
    cleaned += "=" * (-len(cleaned) % 8)
    try:
        return base64.b32decode(cleaned, casefold=True)
    except (ValueError, binascii.Error) as exc:
        raise ValueError("not base32") from exc


@attrs.frozen(slots=True)
class MfaDevice:
    """A virtual MFA device: serial number `arn:aws:iam::A:mfa/[path/]NAME` and a base32 seed."""

    serial_number: str = attrs.field(validator=_check_serial)
    seed: Secret = attrs.field(converter=to_secret, repr=False, validator=_check_seed)
    user_arn: str | None = None
    enabled_at: datetime | None = None
    last_step: int | None = None

    @property
    def key(self) -> bytes:
        """The raw HMAC key (the decoded base32 seed)."""
        return _decode_base32(self.seed.reveal())

    def code_at(self, at: datetime | float) -> str:
        """The 6-digit code this device shows at instant `at`."""
        return totp(self.key, at)

    def provisioning_uri(self, issuer: str = "AWS") -> str:
        """An `otpauth://` URI for authenticator apps (contains the seed: handle as a secret)."""
        name = self.serial_number.rsplit("/", 1)[-1]
        return f"otpauth://totp/{issuer}:{name}?secret={self.seed.reveal()}&issuer={issuer}"


def new_mfa_device(
    account: str, name: str, *, path: str = "/", user_arn: str | None = None
) -> MfaDevice:
    """A virtual device with a fresh 160-bit seed (as `iam:CreateVirtualMFADevice`)."""
    if not path.startswith("/") or not path.endswith("/"):
        raise ValueError(f"MFA device path `{path}` must begin and end with `/`")
    seed = base64.b32encode(secrets.token_bytes(20)).decode("ascii")
    return MfaDevice(
        serial_number=f"arn:aws:iam::{account}:mfa{path}{name}", seed=seed, user_arn=user_arn
    )


def match_step(device: MfaDevice, code: str, now: datetime, *, window: int = 1) -> int | None:
    """The time step within ±`window` of `now` whose code equals `code`, or None.

    Every candidate is compared (no early exit) so timing does not reveal which step matched.
    """
    current = time_step(now)
    key = device.key
    found: int | None = None
    for step in range(current - window, current + window + 1):
        if step < 0:
            continue
        if hmac.compare_digest(hotp(key, step).encode(), code.encode()) and found is None:
            found = step
    return found


def _check_format(code: str) -> None:
    if not _CODE_RE.fullmatch(code):
        raise AuthError(
            "1 validation error detected: Value at 'tokenCode' failed to satisfy constraint: "
            "Member must have length 6 and consist of digits",
            aws_error="ValidationError",
            status=400,
            hint="pass the 6-digit code currently shown by the MFA device",
        )


def check_code(device: MfaDevice, code: str, now: datetime, *, window: int = 1) -> int:
    """Accept `code` for `device` at `now` and return its step, or raise `AuthError`.

    Malformed codes are a `ValidationError` (400, as STS's schema check); a wrong, stale or
    replayed code (step not after `device.last_step`) is `AccessDenied`.
    """
    _check_format(code)
    step = match_step(device, code, ensure_utc(now), window=window)
    if step is None or (device.last_step is not None and step <= device.last_step):
        raise AuthError(
            INVALID_CODE_MESSAGE,
            aws_error="AccessDenied",
            code="auth.mfa-invalid-code",
            hint="codes are valid for 30 seconds and can be used only once",
        )
    return step


def step_start(step: int) -> datetime:
    """The instant a time step begins (useful as the MFA authentication time)."""
    return datetime.fromtimestamp(step * TOTP_STEP_SECONDS, UTC)


def authenticate_code(
    store: CredentialStore,
    serial_number: str,
    code: str,
    now: datetime,
    *,
    user_arn: str | None = None,
    window: int = 1,
) -> datetime:
    """Check `code` for the stored device and consume its step; return the MFA auth time.

    For STS (`SerialNumber` + `TokenCode`): an unknown device, a device of another user
    (`user_arn` given), a wrong code and a replayed code all give the same `AccessDenied`, so
    the answer does not reveal which devices exist. The step is recorded atomically in the
    store, so two concurrent requests cannot both use one code.
    """
    _check_format(code)
    device = store.get_mfa_device(serial_number)
    if device is None or (user_arn is not None and device.user_arn != user_arn):
        raise AuthError(
            INVALID_CODE_MESSAGE, aws_error="AccessDenied", code="auth.mfa-invalid-code"
        )
    step = check_code(device, code, now, window=window)
    if not store.record_mfa_step(serial_number, step):
        raise AuthError(
            INVALID_CODE_MESSAGE, aws_error="AccessDenied", code="auth.mfa-invalid-code"
        )
    return ensure_utc(now)
