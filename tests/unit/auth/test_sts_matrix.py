"""AssumeRole matrix: same/cross account × caller kind × trust-policy principal form × identity
allow × permissions boundary × ExternalId/MFA conditions × role chaining.

Each expected outcome is derived here from the rules of evaluation.md §4.1, §4.2 and §7
(`expected()` below, written from the spec text, independent of the evaluator), and compared
with what `StsService` answers. Cases are built in a fresh world each, so MFA codes are never
replays.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest

from policylang.account import Account, Environment
from policylang.auth import FixedClock, InMemoryCredentialStore, create_access_key, new_mfa_device
from policylang.auth.credentials import Credential
from policylang.auth.sts import StsError, StsService

A = "111122223333"  # the target role's account
B = "444455556666"  # the other account
OTHER = "999988887777"
NOW = datetime(2024, 5, 1, 12, tzinfo=UTC)
TARGET = f"arn:aws:iam::{A}:role/Target"
SERVICE = "ec2.amazonaws.com"

CALLERS = ("user", "session", "xuser", "xsession", "service", "federated-user")
FORMS = ("caller", "role", "account", "star", "other", "service")
CONDITIONS = ("none", "external-id-ok", "external-id-missing", "mfa-with", "mfa-without")


@attrs.frozen
class Case:
    caller: str
    form: str
    identity_allow: bool = True
    boundary: bool = False
    condition: str = "none"
    duration: int | None = None

    @property
    def id(self) -> str:
        return (
            f"{self.caller}-{self.form}-id{int(self.identity_allow)}-pb{int(self.boundary)}-"
            f"{self.condition}-{self.duration or 'default'}"
        )


# ------------------------------------------------------------------ expectations from the spec


def expected(case: Case) -> str:
    """ "OK", "AccessDenied" or "ValidationError", from evaluation.md."""
    if case.caller == "federated-user":
        return "AccessDenied"  # §7.2: federated-user sessions may not call AssumeRole
    session = case.caller in ("session", "xsession")
    same_account = case.caller in ("user", "session", "service")
    # §7.3 ExternalId / MFA conditions: not met → AccessDenied, whatever else holds.
    if case.condition in ("external-id-missing", "mfa-without"):
        return "AccessDenied"
    if case.caller == "service":
        # §3: the trust policy alone decides for a service principal.
        allowed = case.form == "service"
    else:
        direct = case.form in ("caller", "star")
        parent = case.form == "role" and session
        account = case.form == "account"
        boundary_ok = not case.boundary
        if same_account:
            # §4.1 role_trust row; §7.3: a direct grant is still cut by the caller's boundary,
            # and the account form needs the identity allow too.
            allowed = (
                (direct and boundary_ok)
                or (parent and boundary_ok)
                or (account and case.identity_allow and boundary_ok)
            )
        else:
            # §4.2 / §7.3 cross account: the trust must name the caller by any form AND the
            # caller's identity policies must allow (boundary included).
            allowed = (direct or parent or account) and case.identity_allow and boundary_ok
    if not allowed:
        return "AccessDenied"
    # §7.1 step 4: chained sessions are capped at one hour (the role allows 12 h).
    if session and case.duration is not None and case.duration > 3600:
        return "ValidationError"
    return "OK"


def all_cases() -> list[Case]:
    cases: list[Case] = []
    for caller, form, allow_, boundary in itertools.product(
        CALLERS, FORMS, (True, False), (False, True)
    ):
        if caller in ("service", "federated-user") and (not allow_ or boundary):
            continue  # no identity side to vary
        if caller == "service" and form == "star":
            continue  # AWS:"*" vs a service principal is not pinned by the spec
        cases.append(Case(caller, form, allow_, boundary))
    for caller, form, condition in itertools.product(CALLERS, FORMS, CONDITIONS[1:]):
        if caller in ("service", "federated-user") or (caller, form) == ("service", "star"):
            continue
        cases.append(Case(caller, form, condition=condition))
    for caller, form, allow_, duration in itertools.product(
        ("session", "xsession", "user"), FORMS, (True, False), (3600, 7200)
    ):
        cases.append(Case(caller, form, allow_, duration=duration))
    return cases


# ------------------------------------------------------------------ the world of one case


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


class World:
    def __init__(self, case: Case) -> None:
        self.case = case
        self.a, self.b = Account(A), Account(B)
        self.store = InMemoryCredentialStore()
        self.sts = StsService(Environment([self.a, self.b]), self.store, clock=FixedClock(NOW))
        for account in (self.a, self.b):
            account.create_policy(
                "S3Only", doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
            )
        self.alice = self.a.create_user("alice")
        self.bob = self.b.create_user("bob")
        self.devices = {}
        for account, user in ((A, self.alice), (B, self.bob)):
            device = new_mfa_device(account, user.name, user_arn=user.arn)
            self.store.put_mfa_device(device)
            self.devices[user.name] = device
        self.a.create_role(
            "Src",
            doc(
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": self.alice.arn},
                    "Action": "sts:AssumeRole",
                }
            ),
        )
        self.b.create_role(
            "XSrc",
            doc(
                {"Effect": "Allow", "Principal": {"AWS": self.bob.arn}, "Action": "sts:AssumeRole"}
            ),
        )

    def caller_credential(self) -> tuple[Credential | None, str | None, str]:
        """(credential, caller ARN, caller account) — credential None for a service."""
        case = self.case
        assume = doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": TARGET})
        if case.caller == "service":
            return None, SERVICE, A
        if case.caller in ("user", "xuser", "federated-user"):
            account, user = (self.a, self.alice) if case.caller != "xuser" else (self.b, self.bob)
            if case.identity_allow:
                account.put_inline_policy("user", user.name, "assume", assume)
            if case.boundary:
                account.put_permissions_boundary(
                    "user", user.name, f"arn:aws:iam::{account.account_id}:policy/S3Only"
                )
            key = create_access_key(user.arn, now=NOW, principal_id=user.id)
            self.store.put(key)
            if case.caller == "federated-user":
                account.put_inline_policy(
                    "user",
                    user.name,
                    "fed",
                    doc({"Effect": "Allow", "Action": "sts:GetFederationToken", "Resource": "*"}),
                )
                fed = self.sts.get_federation_token(
                    key,
                    "fed",
                    '{"Version":"2012-10-17",'
                    '"Statement":[{"Effect":"Allow",'
                    '"Action":"*","Resource":"*"}]}',
                )
                return fed.credentials, fed.federated_user_arn, account.account_id
            return key, user.arn, account.account_id
        account, user, role = (
            (self.a, self.alice, "Src") if case.caller == "session" else (self.b, self.bob, "XSrc")
        )
        key = create_access_key(user.arn, now=NOW, principal_id=user.id)
        self.store.put(key)
        role_arn = f"arn:aws:iam::{account.account_id}:role/{role}"
        session = self.sts.assume_role(key, role_arn, "sess").credentials
        # Identity and boundary are the source role's, and are read live at AssumeRole time.
        if case.identity_allow:
            account.put_inline_policy("role", role, "assume", assume)
        if case.boundary:
            account.put_permissions_boundary(
                "role", role, f"arn:aws:iam::{account.account_id}:policy/S3Only"
            )
        return session, session.principal_arn, account.account_id

    def principal(self, caller_arn: str | None, caller_account: str) -> Any:
        form = self.case.form
        if form == "caller":
            return {"AWS": caller_arn} if self.case.caller != "service" else {"AWS": self.alice.arn}
        if form == "role":
            role = "XSrc" if self.case.caller == "xsession" else "Src"
            account = B if self.case.caller in ("xsession", "xuser") else A
            return {"AWS": f"arn:aws:iam::{account}:role/{role}"}
        if form == "account":
            return {"AWS": f"arn:aws:iam::{caller_account}:root"}
        if form == "star":
            return "*"
        if form == "other":
            return {"AWS": f"arn:aws:iam::{OTHER}:root"}
        return {"Service": SERVICE}

    def run(self) -> str:
        case = self.case
        credential, caller_arn, caller_account = self.caller_credential()
        statement: dict[str, Any] = {
            "Effect": "Allow",
            "Principal": self.principal(caller_arn, caller_account),
            "Action": "sts:AssumeRole",
        }
        kwargs: dict[str, Any] = {}
        if case.condition.startswith("external-id"):
            statement["Condition"] = {"StringEquals": {"sts:ExternalId": "ext-1"}}
            if case.condition == "external-id-ok":
                kwargs["external_id"] = "ext-1"
        if case.condition.startswith("mfa"):
            statement["Condition"] = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
            if case.condition == "mfa-with":
                device = self.devices["bob" if case.caller.startswith("x") else "alice"]
                kwargs["serial_number"] = device.serial_number
                kwargs["token_code"] = device.code_at(NOW)
        self.a.create_role("Target", doc(statement), max_session_duration=43200)
        try:
            if credential is None:
                self.sts.assume_role_for_service(SERVICE, TARGET, "svc", **kwargs)
            else:
                self.sts.assume_role(
                    credential, TARGET, "target", duration_seconds=case.duration, **kwargs
                )
        except StsError as error:
            return error.aws_error
        return "OK"


@pytest.mark.parametrize("case", all_cases(), ids=lambda c: c.id)
def test_assume_role_matrix(case: Case) -> None:
    assert World(case).run() == expected(case)


def test_the_matrix_covers_every_outcome() -> None:
    outcomes = {expected(c) for c in all_cases()}
    assert outcomes == {"OK", "AccessDenied", "ValidationError"}
    assert len(all_cases()) > 250
