"""OpenID Connect identity providers and web-identity token (JWT) verification.

An `OidcProvider` is what `iam:CreateOpenIDConnectProvider` registers in an account: the issuer
URL (`https://HOST[/PATH]`, giving the ARN `arn:aws:iam::A:oidc-provider/HOST[/PATH]`), the
client ids (accepted audiences) and, here, the provider's signing keys as a JWKS (AWS fetches
them from the issuer; we are given them). `OidcRegistry.verify(token, account, now)` checks a
compact JWT the way `sts:AssumeRoleWithWebIdentity` does and returns the verified claims with
the trust-policy context keys they imply (`HOST:sub`, `HOST:aud`, `HOST:amr`, …).

Signatures: RS256 (RSASSA-PKCS1-v1_5 with SHA-256) and ES256 (ECDSA P-256, SHA-256). They need
the optional `cryptography` package (`pip install policylang[oidc]`), imported only when a
signature is checked. `alg: none` and HMAC algorithms are always refused.

Errors carry STS's codes: `InvalidIdentityToken` (malformed, forged, wrong issuer or audience,
no provider registered), `ExpiredTokenException`, `IDPRejectedClaim` (a claim the provider
vouches for is unacceptable: missing `sub`, not yet valid).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import attrs

from policylang.auth.clock import ensure_utc
from policylang.errors import AuthError, kebab_case

SUPPORTED_ALGORITHMS: Final = frozenset({"RS256", "ES256"})
MAX_TOKEN_CHARS: Final = 20000
"""STS's WebIdentityToken limit (4-20000 characters)."""
DEFAULT_LEEWAY: Final = timedelta(seconds=0)
TAGS_CLAIM: Final = "https://aws.amazon.com/tags"
"""The claim through which an OIDC provider passes session tags."""
_HOST_RE: Final = re.compile(r"[A-Za-z0-9.-]+(?::\d+)?(?:/[\w.~%!$&'()*+,;=:@-]+)*")


class WebIdentityError(AuthError):
    """A web-identity token refused, with STS's error code and HTTP status."""

    default_code = "oidc.invalid"

    def __init__(self, message: str, *, aws_error: str, status: int = 400, **kw: Any) -> None:
        kw.setdefault("code", f"oidc.{kebab_case(aws_error)}")
        super().__init__(message, aws_error=aws_error, status=status, **kw)



def _invalid(message: str, hint: str | None = None) -> WebIdentityError:
    return WebIdentityError(message, aws_error="InvalidIdentityToken", hint=hint)


def _b64url_decode(text: str, what: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise _invalid(f"the token's {what} is not base64url text")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise _invalid(f"the token's {what} is not base64url text") from None


def b64url_encode(data: bytes) -> str:
    """Base64url without padding (JWS/JWK encoding)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def provider_host(url: str) -> str:
    """`https://HOST[/PATH]` (or bare `HOST[/PATH]`) → `HOST[/PATH]`, the ARN suffix and key
    prefix IAM uses. Trailing slashes are dropped."""
    text = url.strip()
    if text.startswith("https://"):
        text = text[len("https://") :]
    text = text.rstrip("/")
    if not text or not _HOST_RE.fullmatch(text):
        raise WebIdentityError(
            f"invalid OIDC provider URL `{url}`",
            aws_error="ValidationError",
            hint="give the issuer as https://HOST[/PATH]",
        )
    return text


def _str_tuple(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(str(v) for v in values)


@attrs.frozen(slots=True)
class OidcProvider:
    """An IAM OIDC identity provider of one account.

    `jwks` is the provider's JSON Web Key Set (`{"keys": [...]}`) or a list of JWKs.
    """

    account: str
    url: str = attrs.field(converter=provider_host)
    client_ids: tuple[str, ...] = attrs.field(converter=_str_tuple)
    jwks: tuple[Mapping[str, Any], ...] = attrs.field(factory=tuple)
    partition: str = "aws"

    @classmethod
    def create(
        cls,
        account: str,
        url: str,
        client_ids: Iterable[str],
        jwks: Mapping[str, Any] | Sequence[Mapping[str, Any]] = (),
        *,
        partition: str = "aws",
    ) -> OidcProvider:
        keys = jwks.get("keys", ()) if isinstance(jwks, Mapping) else jwks
        return cls(account, url, tuple(client_ids), tuple(dict(k) for k in keys), partition)

    @property
    def host(self) -> str:
        """`HOST[/PATH]`: the ARN suffix and the prefix of the trust-policy keys."""
        return self.url

    @property
    def arn(self) -> str:
        return f"arn:{self.partition}:iam::{self.account}:oidc-provider/{self.url}"

    @property
    def issuer(self) -> str:
        return f"https://{self.url}"


@attrs.frozen(slots=True)
class VerifiedToken:
    """A web-identity token that passed every check, and what it means for the trust policy."""

    provider: OidcProvider
    claims: Mapping[str, Any]
    subject: str
    audience: str

    def session_tags(self) -> dict[str, str]:
        """Session tags from the `https://aws.amazon.com/tags` claim (`principal_tags`: each
        key maps to a list whose first value is used)."""
        block = self.claims.get(TAGS_CLAIM)
        raw = block.get("principal_tags") if isinstance(block, dict) else None
        tags: dict[str, str] = {}
        if isinstance(raw, dict):
            for key, value in raw.items():
                first = value[0] if isinstance(value, list) and value else value
                if isinstance(first, str):
                    tags[str(key)] = first
        return tags

    def transitive_tag_keys(self) -> list[str]:
        """`transitive_tag_keys` of the `https://aws.amazon.com/tags` claim."""
        block = self.claims.get(TAGS_CLAIM)
        keys = block.get("transitive_tag_keys") if isinstance(block, dict) else None
        return [str(k) for k in keys] if isinstance(keys, list) else []

    def context(self) -> dict[str, str | tuple[str, ...]]:
        """Trust-policy condition keys: `HOST:aud`, `HOST:sub`, `HOST:amr` (multi-valued),
        `HOST:oaud` (all audiences when `aud` is a list), and `aws:FederatedProvider`."""
        host = self.provider.host
        ctx: dict[str, str | tuple[str, ...]] = {
            f"{host}:aud": self.audience,
            f"{host}:sub": self.subject,
            "aws:FederatedProvider": self.provider.arn,
        }
        aud = self.claims.get("aud")
        if isinstance(aud, list):
            ctx[f"{host}:oaud"] = tuple(str(a) for a in aud)
        amr = self.claims.get("amr")
        if isinstance(amr, list):
            ctx[f"{host}:amr"] = tuple(str(a) for a in amr)
        elif isinstance(amr, str):
            ctx[f"{host}:amr"] = amr
        for claim in ("email", "azp"):
            if isinstance(self.claims.get(claim), str):
                ctx[f"{host}:{claim}"] = self.claims[claim]
        return ctx


def decode_unverified(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    """(header, claims, signing input, signature) of a compact JWS, without any check."""
    if not isinstance(token, str) or not (4 <= len(token) <= MAX_TOKEN_CHARS):
        raise WebIdentityError(
            "1 validation error detected: Value at 'webIdentityToken' failed to satisfy "
            f"constraint: Member must have length between 4 and {MAX_TOKEN_CHARS}",
            aws_error="ValidationError",
        )
    parts = token.split(".")
    if len(parts) != 3:
        raise _invalid(
            "Couldn't parse the web identity token: expected 3 dot-separated parts",
            hint="pass the OIDC ID token (header.payload.signature)",
        )
    header = _json_object(_b64url_decode(parts[0], "header"), "header")
    claims = _json_object(_b64url_decode(parts[1], "payload"), "payload")
    signature = _b64url_decode(parts[2], "signature")
    return header, claims, f"{parts[0]}.{parts[1]}".encode("ascii"), signature


def _json_object(data: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _invalid(f"Couldn't parse the web identity token's {what} as JSON") from None
    if not isinstance(value, dict):
        raise _invalid(f"the web identity token's {what} is not a JSON object")
    return value


def _numeric_date(claims: Mapping[str, Any], name: str) -> datetime | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _invalid(f"the `{name}` claim is not a number of seconds")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        raise _invalid(f"the `{name}` claim is out of range") from None


def _fmt(value: datetime) -> str:
    return value.strftime("%a %b %d %H:%M:%S UTC %Y")


class OidcRegistry:
    """The OIDC providers registered in each account, keyed by (account, host)."""

    def __init__(self, providers: Iterable[OidcProvider] = ()) -> None:
        self._providers: dict[tuple[str, str], OidcProvider] = {}
        for provider in providers:
            self.add(provider)

    def add(self, provider: OidcProvider) -> OidcProvider:
        """Register (or replace) a provider."""
        self._providers[(provider.account, provider.host.lower())] = provider
        return provider

    def remove(self, arn: str) -> bool:
        for key, provider in list(self._providers.items()):
            if provider.arn == arn:
                del self._providers[key]
                return True
        return False

    def get(self, account: str, host: str) -> OidcProvider | None:
        return self._providers.get((account, host.lower()))

    def by_arn(self, arn: str) -> OidcProvider | None:
        return next((p for p in self._providers.values() if p.arn == arn), None)

    def __iter__(self) -> Any:
        return iter(list(self._providers.values()))

    def verify(
        self,
        token: str,
        account: str,
        now: datetime,
        *,
        leeway: timedelta = DEFAULT_LEEWAY,
    ) -> VerifiedToken:
        """Check `token` for a role in `account`, in STS's order: parse → provider (by `iss`)
        → signature → audience → expiry/not-before → subject."""
        now = ensure_utc(now)
        header, claims, signing_input, signature = decode_unverified(token)
        issuer = claims.get("iss")
        if not isinstance(issuer, str) or not issuer:
            raise _invalid("the web identity token has no `iss` claim")
        try:
            host = provider_host(issuer)
        except WebIdentityError:
            raise _invalid(f"the token issuer `{issuer}` is not a valid URL") from None
        provider = self.get(account, host)
        if provider is None:
            raise _invalid(
                f"No OpenIDConnect provider found in your account for {issuer}",
                hint=f"register https://{host} as an OIDC provider in account {account}",
            )
        alg = header.get("alg")
        if alg not in SUPPORTED_ALGORITHMS:
            raise _invalid(
                f"Unsupported signing algorithm `{alg}`",
                hint="tokens must be signed with RS256 or ES256",
            )
        kid = header.get("kid")
        if not _signature_ok(provider, str(alg), kid, signing_input, signature):
            raise _invalid("The web identity token signature could not be verified")
        aud = claims.get("aud")
        audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        accepted = [a for a in audiences if isinstance(a, str) and a in provider.client_ids]
        if not accepted:
            raise _invalid(
                "Incorrect token audience",
                hint="the token's `aud` must be one of the provider's client ids",
            )
        expires = _numeric_date(claims, "exp")
        if expires is None:
            raise _invalid("the web identity token has no `exp` claim")
        if now >= expires + leeway:
            raise WebIdentityError(
                f"Token expired: current date/time {_fmt(now)} must be before the expiration "
                f"date/time {_fmt(expires)}",
                aws_error="ExpiredTokenException",
            )
        not_before = _numeric_date(claims, "nbf")
        if not_before is not None and now + leeway < not_before:
            raise WebIdentityError(
                f"Token is not valid before {_fmt(not_before)}",
                aws_error="IDPRejectedClaim",
                status=403,
            )
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise WebIdentityError(
                "the web identity token has no `sub` claim",
                aws_error="IDPRejectedClaim",
                status=403,
            )
        return VerifiedToken(provider, claims, subject, accepted[0])


# --- signatures (cryptography, imported lazily) ---------------------------------------------


def _require_cryptography() -> Any:
    try:
        import cryptography.hazmat.primitives.asymmetric  # noqa: F401
    except ImportError:  # pragma: no cover - depends on the environment
        raise AuthError(
            "verifying web identity tokens needs the `cryptography` package",
            aws_error="InternalFailure",
            status=500,
            code="oidc.missing-dependency",
            hint="install the optional extra: pip install 'policylang[oidc]'",
        ) from None
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    return ec, rsa


def _b64_int(jwk: Mapping[str, Any], name: str) -> int:
    value = jwk.get(name)
    if not isinstance(value, str):
        raise _invalid(f"the provider key lacks `{name}`")
    return int.from_bytes(_b64url_decode(value, f"key {name}"), "big")


def public_key_from_jwk(jwk: Mapping[str, Any]) -> Any:
    """A `cryptography` public key for an RSA or P-256 EC JWK."""
    ec, rsa = _require_cryptography()
    kty = jwk.get("kty")
    if kty == "RSA":
        return rsa.RSAPublicNumbers(_b64_int(jwk, "e"), _b64_int(jwk, "n")).public_key()
    if kty == "EC" and jwk.get("crv") == "P-256":
        numbers = ec.EllipticCurvePublicNumbers(
            _b64_int(jwk, "x"), _b64_int(jwk, "y"), ec.SECP256R1()
        )
        return numbers.public_key()
    raise _invalid(f"unsupported key type `{kty}` in the provider's keys")


def _signature_ok(
    provider: OidcProvider, alg: str, kid: object, signing_input: bytes, signature: bytes
) -> bool:
    _require_cryptography()
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    want_kty = "RSA" if alg == "RS256" else "EC"
    candidates = [
        k
        for k in provider.jwks
        if k.get("kty") == want_kty
        and (kid is None or k.get("kid") == kid)
        and k.get("alg") in (None, alg)
        and k.get("use") in (None, "sig")
    ]
    for jwk in candidates:
        try:
            key = public_key_from_jwk(jwk)
            if alg == "RS256":
                key.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
            else:
                if len(signature) != 64:
                    return False
                der = encode_dss_signature(
                    int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
                )
                key.verify(der, signing_input, ec.ECDSA(hashes.SHA256()))
            return True
        except (InvalidSignature, ValueError, TypeError):
            continue
    return False
