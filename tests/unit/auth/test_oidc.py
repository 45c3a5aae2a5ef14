"""Web identity: OIDC providers, JWT verification (RS256, ES256) and AssumeRoleWithWebIdentity,
with the negative cases STS answers with InvalidIdentityToken, ExpiredTokenException,
IDPRejectedClaim and AccessDenied."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

pytest.importorskip("cryptography")

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from policylang.account import Account
from policylang.auth import FixedClock, InMemoryCredentialStore
from policylang.auth.oidc import (
    OidcProvider,
    OidcRegistry,
    WebIdentityError,
    b64url_encode,
    provider_host,
)
from policylang.auth.sts import StsError, StsService

A = "111122223333"
NOW = datetime(2024, 5, 1, 12, tzinfo=UTC)
HOST = "token.actions.example.com"
ISSUER = f"https://{HOST}"
PROVIDER_ARN = f"arn:aws:iam::{A}:oidc-provider/{HOST}"
ROLE = f"arn:aws:iam::{A}:role/Deploy"

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def _int_b64(value: int, size: int | None = None) -> str:
    length = size or (value.bit_length() + 7) // 8
    return b64url_encode(value.to_bytes(length, "big"))


def rsa_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, str]:
    numbers = key.public_key().public_numbers()
    return {
        "kty": "RSA",
        "kid": kid,
        "alg": "RS256",
        "use": "sig",
        "n": _int_b64(numbers.n),
        "e": _int_b64(numbers.e),
    }


def ec_jwk(key: ec.EllipticCurvePrivateKey, kid: str) -> dict[str, str]:
    numbers = key.public_key().public_numbers()
    return {
        "kty": "EC",
        "kid": kid,
        "crv": "P-256",
        "x": _int_b64(numbers.x, 32),
        "y": _int_b64(numbers.y, 32),
    }


def sign(claims: dict[str, Any], *, alg: str = "RS256", kid: str = "k1", key: Any = RSA_KEY) -> str:
    header = b64url_encode(json.dumps({"alg": alg, "kid": kid, "typ": "JWT"}).encode())
    payload = b64url_encode(json.dumps(claims).encode())
    signing_input = f"{header}.{payload}".encode()
    if alg == "RS256":
        signature = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    elif alg == "ES256":
        r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    else:
        signature = b""
    return f"{header}.{payload}.{b64url_encode(signature)}"


def claims(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "repo:acme/app:ref:refs/heads/main",
        "aud": "sts.amazonaws.com",
        "iat": int(NOW.timestamp()) - 10,
        "exp": int((NOW + timedelta(minutes=5)).timestamp()),
        "amr": ["pwd", "mfa"],
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


@pytest.fixture
def sts() -> StsService:
    account = Account(A)
    account.create_role(
        "Deploy",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": PROVIDER_ARN},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {f"{HOST}:aud": "sts.amazonaws.com"},
                        "StringLike": {f"{HOST}:sub": "repo:acme/app:*"},
                    },
                }
            ],
        },
    )
    registry = OidcRegistry(
        [
            OidcProvider.create(
                A,
                ISSUER,
                ["sts.amazonaws.com"],
                {"keys": [rsa_jwk(RSA_KEY, "k1"), ec_jwk(EC_KEY, "e1")]},
            )
        ]
    )
    return StsService(account, InMemoryCredentialStore(), clock=FixedClock(NOW), oidc=registry)


def refused(sts: StsService, token: str, role: str = ROLE) -> StsError:
    with pytest.raises(StsError) as exc:
        sts.assume_role_with_web_identity(role, "gh-run", token)
    return exc.value


def test_valid_rs256_token_assumes_the_role(sts: StsService) -> None:
    res = sts.assume_role_with_web_identity(ROLE, "gh-run", sign(claims()))
    assert res.assumed_role_arn == f"arn:aws:sts::{A}:assumed-role/Deploy/gh-run"
    assert res.subject == "repo:acme/app:ref:refs/heads/main"
    assert res.audience == "sts.amazonaws.com"
    assert res.provider == ISSUER
    ident = sts.identity(res.credentials)
    assert ident.kind == "assumed-role"
    assert ident.context()["aws:FederatedProvider"] == PROVIDER_ARN


def test_valid_es256_token(sts: StsService) -> None:
    token = sign(claims(), alg="ES256", kid="e1", key=EC_KEY)
    assert sts.assume_role_with_web_identity(ROLE, "gh-run", token).subject


def test_claims_become_trust_policy_keys(sts: StsService) -> None:
    verified = sts.oidc.verify(sign(claims(aud=["other", "sts.amazonaws.com"])), A, NOW)
    ctx = verified.context()
    assert ctx[f"{HOST}:sub"] == "repo:acme/app:ref:refs/heads/main"
    assert ctx[f"{HOST}:aud"] == "sts.amazonaws.com"
    assert ctx[f"{HOST}:oaud"] == ("other", "sts.amazonaws.com")
    assert ctx[f"{HOST}:amr"] == ("pwd", "mfa")


@pytest.mark.parametrize(
    ("token", "code", "fragment"),
    [
        (sign(claims(), key=OTHER_RSA_KEY), "InvalidIdentityToken", "signature"),
        (sign(claims(), kid="unknown"), "InvalidIdentityToken", "signature"),
        (sign(claims(), alg="none"), "InvalidIdentityToken", "Unsupported signing algorithm"),
        (sign(claims(), alg="HS256"), "InvalidIdentityToken", "Unsupported signing algorithm"),
        (sign(claims(aud="someone-else")), "InvalidIdentityToken", "Incorrect token audience"),
        (
            sign(claims(iss="https://evil.example.com")),
            "InvalidIdentityToken",
            "No OpenIDConnect provider found in your account for https://evil.example.com",
        ),
        (sign(claims(iss=None)), "InvalidIdentityToken", "no `iss` claim"),
        (sign(claims(exp=None)), "InvalidIdentityToken", "no `exp` claim"),
        (sign(claims(exp=int(NOW.timestamp()))), "ExpiredTokenException", "Token expired"),
        (sign(claims(nbf=int(NOW.timestamp()) + 600)), "IDPRejectedClaim", "not valid before"),
        (sign(claims(sub=None)), "IDPRejectedClaim", "no `sub` claim"),
        ("not-a-jwt", "InvalidIdentityToken", "3 dot-separated parts"),
        ("a.b.c!", "InvalidIdentityToken", "base64url"),
    ],
    ids=[
        "forged",
        "unknown-kid",
        "alg-none",
        "alg-hs256",
        "wrong-audience",
        "unregistered-issuer",
        "no-iss",
        "no-exp",
        "expired",
        "not-yet-valid",
        "no-sub",
        "not-a-jwt",
        "bad-base64",
    ],
)
def test_bad_tokens_are_refused(sts: StsService, token: str, code: str, fragment: str) -> None:
    error = refused(sts, token)
    assert error.aws_error == code
    assert fragment in error.message
    assert error.status == (403 if code == "IDPRejectedClaim" else 400)


def test_tampered_payload_fails_the_signature(sts: StsService) -> None:
    header, _, signature = sign(claims()).split(".")
    forged = b64url_encode(json.dumps(claims(sub="repo:acme/app:evil")).encode())
    error = refused(sts, f"{header}.{forged}.{signature}")
    assert error.aws_error == "InvalidIdentityToken"


def test_provider_of_another_account_does_not_count(sts: StsService) -> None:
    other_role = "arn:aws:iam::444455556666:role/Deploy"
    error = refused(sts, sign(claims()), other_role)
    assert error.aws_error == "InvalidIdentityToken"


def test_trust_policy_conditions_on_claims(sts: StsService) -> None:
    error = refused(sts, sign(claims(sub="repo:other/app:ref:refs/heads/main")))
    assert error.aws_error == "AccessDenied"
    assert error.status == 403
    assert error.message == "Not authorized to perform sts:AssumeRoleWithWebIdentity"
    missing_role = f"arn:aws:iam::{A}:role/Missing"
    assert refused(sts, sign(claims()), missing_role).aws_error == "AccessDenied"


def test_duration_and_session_policy(sts: StsService) -> None:
    with pytest.raises(StsError) as exc:
        sts.assume_role_with_web_identity(ROLE, "gh-run", sign(claims()), duration_seconds=7200)
    assert exc.value.aws_error == "ValidationError"
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
        }
    )
    res = sts.assume_role_with_web_identity(ROLE, "gh-run", sign(claims()), policy=policy)
    assert res.packed_policy_size is not None
    assert sts.identity(res.credentials).session_policies


def test_provider_urls_and_registry() -> None:
    assert provider_host("https://example.com/path/") == "example.com/path"
    with pytest.raises(WebIdentityError):
        provider_host("https://")
    provider = OidcProvider.create(A, "example.com", ["aud"])
    assert provider.arn == f"arn:aws:iam::{A}:oidc-provider/example.com"
    registry = OidcRegistry([provider])
    assert registry.by_arn(provider.arn) is provider
    assert registry.remove(provider.arn)
    assert registry.get(A, "example.com") is None


def test_token_session_tags_need_tag_session_and_become_principal_tags(sts: StsService) -> None:
    tagged = claims(
        **{
            "https://aws.amazon.com/tags": {
                "principal_tags": {"Project": ["Apollo"], "Team": ["red", "blue"]},
                "transitive_tag_keys": ["Project"],
            }
        }
    )
    # The fixture's trust policy allows only sts:AssumeRoleWithWebIdentity.
    error = refused(sts, sign(tagged))
    assert error.aws_error == "AccessDenied"
    account = sts.env.accounts[A]
    account.update_assume_role_policy(
        "Deploy",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": PROVIDER_ARN},
                    "Action": ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"],
                    "Condition": {"StringEquals": {"aws:RequestTag/Project": "Apollo"}},
                }
            ],
        },
    )
    res = sts.assume_role_with_web_identity(ROLE, "gh-run", sign(tagged))
    ident = sts.identity(res.credentials)
    assert ident.tags == {"Project": "Apollo", "Team": "red"}
    assert ident.transitive_tag_keys == ("Project",)
    assert res.packed_policy_size is not None
