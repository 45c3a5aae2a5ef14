"""Authentication: credentials, the credential store, MFA (TOTP) and SigV4 verification, STS,
the HTTP authorization service and middleware, OIDC providers, a fake IMDS.

Layout: `clock` (injectable time), `credentials` (access keys, temporary credentials, `Secret`),
`mfa` (virtual MFA devices, RFC 6238 TOTP), `store` (in-memory and SQLite credential stores),
`sigv4` (server-side request verification), `sts` (+ `sts_validate`: STS operations and
identities), `oidc` (web-identity providers), `service` (`AuthService`: SigV4 + policies for
one HTTP request), `middleware` (ASGI/WSGI), `imds` (instance-profile credentials).

The STS / service / middleware / OIDC / IMDS names are imported on first use (PEP 562): they
pull in the account model, the evaluator, asyncio and http.server, which would roughly double
the cost of `import policylang.auth` for users who only verify signatures.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from policylang.auth.imds import ImdsInstance as ImdsInstance
    from policylang.auth.imds import ImdsServer as ImdsServer
    from policylang.auth.middleware import SigV4AuthMiddleware as SigV4AuthMiddleware
    from policylang.auth.middleware import SigV4AuthWSGIMiddleware as SigV4AuthWSGIMiddleware
    from policylang.auth.oidc import OidcProvider as OidcProvider
    from policylang.auth.oidc import OidcRegistry as OidcRegistry
    from policylang.auth.service import AuthService as AuthService
    from policylang.auth.service import Outcome as Outcome
    from policylang.auth.service import Route as Route
    from policylang.auth.sts import Identity as Identity
    from policylang.auth.sts import StsError as StsError
    from policylang.auth.sts import StsService as StsService

# name -> submodule, for the names imported on first use
_LAZY: dict[str, str] = {
    "AuthService": "service",
    "Identity": "sts",
    "ImdsInstance": "imds",
    "ImdsServer": "imds",
    "OidcProvider": "oidc",
    "OidcRegistry": "oidc",
    "Outcome": "service",
    "Route": "service",
    "SigV4AuthMiddleware": "middleware",
    "SigV4AuthWSGIMiddleware": "middleware",
    "StsError": "sts",
    "StsService": "sts",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later look-ups skip this hook
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "AccessKey",
    "AuthService",
    "Clock",
    "Credential",
    "CredentialStore",
    "ErrorStyle",
    "FixedClock",
    "HttpRequest",
    "Identity",
    "ImdsInstance",
    "ImdsServer",
    "InMemoryCredentialStore",
    "KeyStatus",
    "LastUsed",
    "MfaDevice",
    "OidcProvider",
    "OidcRegistry",
    "Outcome",
    "Route",
    "Secret",
    "SigV4AuthMiddleware",
    "SigV4AuthWSGIMiddleware",
    "SigV4Config",
    "SigV4Verifier",
    "SqliteCredentialStore",
    "StsError",
    "StsService",
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
