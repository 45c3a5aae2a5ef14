"""Authentication: credentials, the credential store, MFA (TOTP) and SigV4 verification.

Layout: `clock` (injectable time), `credentials` (access keys, temporary credentials, `Secret`),
`mfa` (virtual MFA devices, RFC 6238 TOTP), `store` (in-memory and SQLite credential stores),
`sigv4` (server-side request verification).
"""

from __future__ import annotations

from policylang.auth.clock import Clock as Clock
from policylang.auth.clock import FixedClock as FixedClock
from policylang.auth.clock import system_clock as system_clock
from policylang.auth.credentials import AccessKey as AccessKey
from policylang.auth.credentials import Credential as Credential
from policylang.auth.credentials import KeyStatus as KeyStatus
from policylang.auth.credentials import LastUsed as LastUsed
from policylang.auth.credentials import Secret as Secret
from policylang.auth.credentials import TemporaryCredential as TemporaryCredential
from policylang.auth.credentials import create_access_key as create_access_key
from policylang.auth.credentials import (
    create_temporary_credential as create_temporary_credential,
)
from policylang.auth.mfa import MfaDevice as MfaDevice
from policylang.auth.mfa import authenticate_code as authenticate_code
from policylang.auth.mfa import check_code as check_code
from policylang.auth.mfa import new_mfa_device as new_mfa_device
from policylang.auth.mfa import totp as totp
from policylang.auth.sigv4 import ErrorStyle as ErrorStyle
from policylang.auth.sigv4 import HttpRequest as HttpRequest
from policylang.auth.sigv4 import SigV4Config as SigV4Config
from policylang.auth.sigv4 import SigV4Verifier as SigV4Verifier
from policylang.auth.sigv4 import VerifiedRequest as VerifiedRequest
from policylang.auth.store import CredentialStore as CredentialStore
from policylang.auth.store import InMemoryCredentialStore as InMemoryCredentialStore
from policylang.auth.store import SqliteCredentialStore as SqliteCredentialStore

__all__ = [
    "AccessKey",
    "Clock",
    "Credential",
    "CredentialStore",
    "ErrorStyle",
    "FixedClock",
    "HttpRequest",
    "InMemoryCredentialStore",
    "KeyStatus",
    "LastUsed",
    "MfaDevice",
    "Secret",
    "SigV4Config",
    "SigV4Verifier",
    "SqliteCredentialStore",
    "TemporaryCredential",
    "VerifiedRequest",
    "authenticate_code",
    "check_code",
    "create_access_key",
    "create_temporary_credential",
    "new_mfa_device",
    "system_clock",
    "totp",
]
