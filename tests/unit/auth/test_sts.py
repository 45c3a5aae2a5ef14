"""StsService: AssumeRole validation order and errors, the resulting session, chaining, session
tags and source identity, MFA, GetSessionToken, GetFederationToken, GetCallerIdentity
(evaluation.md §6, §7)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from policylang.account import Account, Environment
from policylang.auth import (
    AccessKey,
    FixedClock,
    InMemoryCredentialStore,
    create_access_key,
    new_mfa_device,
)
from policylang.auth.sts import (
    Identity,
    StsError,
    StsService,
    access_denied_message,
)
from policylang.decision import Decision, EvaluationResult

A = "111122223333"
B = "444455556666"
NOW = datetime(2024, 5, 1, 12, tzinfo=UTC)


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: str | list[str], resource: str = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def trust(principal: Any, actions: Any = "sts:AssumeRole", **extra: Any) -> dict[str, Any]:
    return doc({"Effect": "Allow", "Principal": principal, "Action": actions, **extra})


class World:
    """Two accounts, a user `alice` in A, roles created per test, an STS over them."""

    def __init__(self) -> None:
        self.a = Account(A)
        self.b = Account(B)
        self.env = Environment([self.a, self.b])
        self.clock = FixedClock(NOW)
        self.store = InMemoryCredentialStore()
        self.sts = StsService(self.env, self.store, clock=self.clock, packed_policy_limit=2048)
        self.alice = self.a.create_user("alice", tags={"team": "blue"})
        self.alice_key = self.key(self.alice.arn, self.alice.id)

    def key(self, arn: str, principal_id: str | None = None) -> AccessKey:
        key = create_access_key(arn, now=NOW, principal_id=principal_id)
        self.store.put(key)
        return key

    def role(
        self, name: str, trust_doc: dict[str, Any], account: Account | None = None, **kw: Any
    ) -> str:
        acct = account or self.a
        role = acct.create_role(name, trust_doc, **kw)
        acct.put_inline_policy(
            "role",
            name,
            "p",
            doc(allow(["s3:*", "sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"])),
        )
        return role.arn

    def allow_alice(self, *actions: str) -> None:
        self.a.put_inline_policy("user", "alice", "assume", doc(allow(list(actions))))


@pytest.fixture
def w() -> World:
    return World()


def denied(excinfo: pytest.ExceptionInfo[StsError]) -> str:
    assert excinfo.value.aws_error == "AccessDenied"
    assert excinfo.value.status == 403
    return excinfo.value.message


# ------------------------------------------------------------------ the resulting session


def test_assume_role_issues_a_session_for_the_role(w: World) -> None:
    role_arn = w.role("App", trust({"AWS": f"arn:aws:iam::{A}:root"}), path="/team/")
    w.allow_alice("sts:AssumeRole")
    res = w.sts.assume_role(w.alice_key, role_arn, "s1")
    cred = res.credentials
    role = w.a.role("App")
    assert res.assumed_role_arn == f"arn:aws:sts::{A}:assumed-role/App/s1"  # no path
    assert res.assumed_role_id == f"{role.id}:s1"
    assert cred.access_key_id.startswith("ASIA")
    assert len(cred.access_key_id) == 20
    assert len(cred.secret_access_key) == 40
    assert cred.expiration == NOW + timedelta(seconds=3600)
    assert res.packed_policy_size is None
    assert w.store.get(cred.access_key_id) == cred
    ident = w.sts.identity(cred)
    assert ident.kind == "assumed-role"
    assert ident.principal_arn == role_arn
    assert ident.user_id == f"{role.id}:s1"
    ctx = ident.context(NOW)
    assert ctx["aws:TokenIssueTime"] == "2024-05-01T12:00:00Z"
    assert ctx["aws:MultiFactorAuthPresent"] == "false"
    assert w.sts.get_caller_identity(cred) == {
        "UserId": f"{role.id}:s1",
        "Account": A,
        "Arn": res.assumed_role_arn,
    }


def test_session_requests_apply_session_policies_and_live_role_permissions(w: World) -> None:
    role_arn = w.role("App", trust({"AWS": w.alice.arn}))
    w.a.put_inline_policy("role", "App", "p", doc(allow("s3:GetObject")))
    session_policy = json.dumps(doc(allow(["s3:GetObject", "s3:PutObject"])))
    res = w.sts.assume_role(w.alice_key, role_arn, "s1", policy=session_policy)
    assert res.packed_policy_size is not None
    assert 0 < res.packed_policy_size <= 100
    ident = w.sts.identity(res.credentials)
    get = w.sts.authorize(ident, "s3:GetObject", "arn:aws:s3:::b/k")
    put = w.sts.authorize(ident, "s3:PutObject", "arn:aws:s3:::b/k")
    assert get.decision is Decision.ALLOWED
    assert put.decision is Decision.IMPLICIT_DENY
    assert put.deciding_set == "identity"
    # Role permissions are evaluated live: a policy added later applies to the session.
    w.a.put_inline_policy("role", "App", "p2", doc(allow("s3:PutObject")))
    assert w.sts.authorize(ident, "s3:PutObject", "arn:aws:s3:::b/k").allowed
    # ... but the session policy still cuts what it does not allow.
    w.a.put_inline_policy("role", "App", "p3", doc(allow("s3:DeleteObject")))
    delete = w.sts.authorize(ident, "s3:DeleteObject", "arn:aws:s3:::b/k")
    assert delete.decision is Decision.IMPLICIT_DENY
    assert delete.deciding_set == "session"


def test_session_tags_override_role_tags_case_insensitively(w: World) -> None:
    role_arn = w.role(
        "App",
        trust({"AWS": w.alice.arn}, ["sts:AssumeRole", "sts:TagSession"]),
        tags={"Team": "red", "env": "prod"},
    )
    w.a.put_inline_policy(
        "role",
        "App",
        "p",
        doc(
            allow(
                "s3:GetObject",
                Condition={
                    "StringEquals": {
                        "aws:PrincipalTag/team": "green",
                        "aws:PrincipalTag/env": "prod",
                    }
                },
            )
        ),
    )
    res = w.sts.assume_role(w.alice_key, role_arn, "s1", tags={"team": "green"})
    ident = w.sts.identity(res.credentials)
    assert ident.tags == {"team": "green"}
    assert w.sts.authorize(ident, "s3:GetObject", "arn:aws:s3:::b/k").allowed


def test_resolve_maps_a_credential_to_caller_policies_and_context(w: World) -> None:
    role_arn = w.role("App", trust({"AWS": w.alice.arn}), path="/svc/")
    policy = json.dumps(doc(allow("s3:GetObject")))
    cred = w.sts.assume_role(w.alice_key, role_arn, "s1", policy=policy).credentials
    caller, policies, ctx = w.sts.resolve(cred)
    assert caller.arn == f"arn:aws:sts::{A}:assumed-role/App/s1"
    assert caller.id is not None
    assert caller.id.endswith(":s1")
    assert len(policies) == 1
    assert policies[0].statements[0].action.values.items == ("s3:GetObject",)
    assert ctx["aws:PrincipalArn"] == role_arn
    assert ctx["aws:TokenIssueTime"] == "2024-05-01T12:00:00Z"
    # aws:userid is ROLEID:SESSION in policy conditions.
    w.a.put_inline_policy(
        "role",
        "App",
        "p",
        doc(allow("s3:GetObject", Condition={"StringLike": {"aws:userid": "AROA*:s1"}})),
    )
    assert w.sts.authorize(w.sts.identity(cred), "s3:GetObject", "arn:aws:s3:::b/k").allowed


def test_inherited_transitive_tags_override_role_resource_tags_in_trust(w: World) -> None:
    acts = ["sts:AssumeRole", "sts:TagSession"]
    first = w.role("First", trust({"AWS": w.alice.arn}, acts))
    cond = {"StringEquals": {"aws:ResourceTag/dept": "eng", "iam:ResourceTag/dept": "eng"}}
    second = w.role(
        "Second", trust({"AWS": [first, w.alice.arn]}, acts, Condition=cond), tags={"dept": "ops"}
    )
    with pytest.raises(StsError):  # alice herself: the role's own tag (ops) is seen
        w.sts.assume_role(w.alice_key, second, "direct")
    s1 = w.sts.assume_role(
        w.alice_key, first, "s1", tags={"dept": "eng"}, transitive_tag_keys=["dept"]
    ).credentials
    assert w.sts.assume_role(s1, second, "s2").assumed_role_arn.endswith("/Second/s2")


def test_token_issue_time_revocation_idiom(w: World) -> None:
    role_arn = w.role("App", trust({"AWS": w.alice.arn}))
    res = w.sts.assume_role(w.alice_key, role_arn, "s1")
    ident = w.sts.identity(res.credentials)
    assert w.sts.authorize(ident, "s3:GetObject", "arn:aws:s3:::b/k").allowed
    w.a.put_inline_policy(
        "role",
        "App",
        "revoke",
        doc(
            {
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {"DateLessThan": {"aws:TokenIssueTime": "2024-05-01T13:00:00Z"}},
            }
        ),
    )
    result = w.sts.authorize(ident, "s3:GetObject", "arn:aws:s3:::b/k")
    assert result.decision is Decision.EXPLICIT_DENY


def test_deleting_the_role_invalidates_its_sessions_even_after_recreation(w: World) -> None:
    role_arn = w.role("App", trust({"AWS": w.alice.arn}))
    res = w.sts.assume_role(w.alice_key, role_arn, "s1")
    w.a.delete_inline_policy("role", "App", "p")
    w.a.delete_entity("role", "App")
    with pytest.raises(StsError) as exc:
        w.sts.identity(res.credentials)
    assert exc.value.aws_error == "InvalidClientTokenId"
    w.role("App", trust({"AWS": w.alice.arn}))
    with pytest.raises(StsError, match="security token included in the request is invalid"):
        w.sts.identity(res.credentials)


# ------------------------------------------------------------------ validation order


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        (
            {"session_name": "a"},
            "at 'roleSessionName' failed to satisfy constraint: Member must "
            "have length greater than or equal to 2",
        ),
        ({"session_name": "bad name"}, "Member must satisfy regular expression pattern"),
        ({"duration_seconds": 899}, "Member must have value greater than or equal to 900"),
        ({"duration_seconds": 43201}, "Member must have value less than or equal to 43200"),
        ({"external_id": "x"}, "at 'externalId'"),
        (
            {"serial_number": "arn:aws:iam::111122223333:mfa/a", "token_code": "12a456"},
            "at 'tokenCode'",
        ),
        ({"source_identity": "aws:me"}, "at 'sourceIdentity'"),
        ({"source_identity": "x" * 65}, "at 'sourceIdentity'"),
        ({"tags": {f"k{i}": "v" for i in range(51)}}, "at 'tags'"),
        ({"policy_arns": [f"arn:aws:iam::{A}:policy/p{i}" for i in range(11)]}, "at 'policyArns'"),
        ({"policy": "x" * 2049}, "at 'policy'"),
        ({"tags": {"bad*key": "v"}}, "at 'tags.1.member.key'"),
        ({"tags": {"k": "v" * 257}}, "at 'tags.1.member.value'"),
    ],
)
def test_schema_violations_are_validation_errors_before_authorization(
    w: World, kwargs: dict[str, Any], fragment: str
) -> None:
    # The role does not even exist: the schema check comes first.
    session = kwargs.pop("session_name", "ok-name")
    with pytest.raises(StsError) as exc:
        w.sts.assume_role(w.alice_key, f"arn:aws:iam::{A}:role/Nope", session, **kwargs)
    assert exc.value.aws_error == "ValidationError"
    assert exc.value.status == 400
    assert fragment in exc.value.message
    assert exc.value.message.startswith("1 validation error detected: ")


def test_several_schema_violations_are_reported_together(w: World) -> None:
    with pytest.raises(StsError) as exc:
        w.sts.assume_role(w.alice_key, "short", "a", duration_seconds=1)
    assert exc.value.message.startswith("3 validation errors detected: ")


def test_missing_role_is_indistinguishable_from_refusal(w: World) -> None:
    w.allow_alice("sts:AssumeRole")
    missing = f"arn:aws:iam::{A}:role/Nope"
    with pytest.raises(StsError) as exc:
        w.sts.assume_role(w.alice_key, missing, "s1")
    assert denied(exc) == (
        f"User: {w.alice.arn} is not authorized to perform: sts:AssumeRole on resource: "
        f"{missing} because no role trust policy allows the sts:AssumeRole action"
    )


def test_authorization_comes_before_the_duration_checks(w: World) -> None:
    role_arn = w.role("App", trust({"AWS": f"arn:aws:iam::{A}:root"}))
    with pytest.raises(StsError) as exc:
        w.sts.assume_role(w.alice_key, role_arn, "s1", duration_seconds=7200)
    assert "because no identity-based policy allows the sts:AssumeRole action" in denied(exc)
    w.allow_alice("sts:AssumeRole")
    with pytest.raises(StsError) as exc:
        w.sts.assume_role(w.alice_key, role_arn, "s1", duration_seconds=7200)
    assert exc.value.aws_error == "ValidationError"
    assert exc.value.message == (
        "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
    )


def test_role_max_session_duration_allows_longer_sessions(w: World) -> None:
    role_arn = w.role("App", trust({"AWS": w.alice.arn}), max_session_duration=7200)
    res = w.sts.assume_role(w.alice_key, role_arn, "s1", duration_seconds=7200)
    assert res.credentials.expiration == NOW + timedelta(hours=2)


def test_role_chaining_is_capped_at_one_hour(w: World) -> None:
    first = w.role("First", trust({"AWS": w.alice.arn}))
    second = w.role("Second", trust({"AWS": first}), max_session_duration=43200)
    session = w.sts.assume_role(w.alice_key, first, "s1").credentials
    with pytest.raises(StsError) as exc:
        w.sts.assume_role(session, second, "s2", duration_seconds=3601)
    assert exc.value.message == (
        "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by "
        "role chaining."
    )
    chained = w.sts.assume_role(session, second, "s2", duration_seconds=3600)
    assert chained.assumed_role_arn == f"arn:aws:sts::{A}:assumed-role/Second/s2"


def test_root_and_federated_users_cannot_assume_roles(w: World) -> None:
    role_arn = w.role("App", trust({"AWS": "*"}))
    root_key = w.key(f"arn:aws:iam::{A}:root")
    with pytest.raises(StsError) as exc:
        w.sts.assume_role(root_key, role_arn, "s1")
    assert denied(exc) == "Roles may not be assumed by root accounts."
    w.allow_alice("sts:GetFederationToken")
    fed = w.sts.get_federation_token(w.alice_key, "bob", json.dumps(doc(allow("*"))))
    with pytest.raises(StsError) as exc:
        w.sts.assume_role(fed.credentials, role_arn, "s1")
    denied(exc)


def test_malformed_and_oversized_session_policies(w: World) -> None:
    role_arn = w.role("App", trust({"AWS": w.alice.arn}))
    with pytest.raises(StsError) as exc:
        w.sts.assume_role(w.alice_key, role_arn, "s1", policy='{"Version": "2012-10-17"')
    assert exc.value.aws_error == "MalformedPolicyDocument"
    assert exc.value.status == 400
    with pytest.raises(StsError) as exc:
        w.sts.assume_role(
            w.alice_key,
            role_arn,
            "s1",
            policy=json.dumps(doc({"Effect": "Allow", "Action": "s3:*"})),
        )
    assert exc.value.aws_error == "MalformedPolicyDocument"
    tight = StsService(w.env, w.store, clock=w.clock, packed_policy_limit=64)
    role2 = w.role("App2", trust({"AWS": w.alice.arn}, ["sts:AssumeRole", "sts:TagSession"]))
    tags = {f"key{i}": f"value-{i}-{'z' * 40}" for i in range(20)}
    with pytest.raises(StsError) as exc:
        tight.assume_role(w.alice_key, role2, "s1", tags=tags)
    assert exc.value.aws_error == "PackedPolicyTooLarge"


def test_managed_session_policies_by_arn(w: World) -> None:
    managed = w.a.create_policy("ReadOnly", doc(allow("s3:GetObject")))
    role_arn = w.role("App", trust({"AWS": w.alice.arn}))
    res = w.sts.assume_role(w.alice_key, role_arn, "s1", policy_arns=[managed.arn])
    ident = w.sts.identity(res.credentials)
    assert w.sts.authorize(ident, "s3:GetObject", "arn:aws:s3:::b/k").allowed
    assert not w.sts.authorize(ident, "s3:PutObject", "arn:aws:s3:::b/k").allowed
    with pytest.raises(StsError) as exc:
        w.sts.assume_role(
            w.alice_key, role_arn, "s1", policy_arns=[f"arn:aws:iam::{A}:policy/Missing"]
        )
    assert exc.value.aws_error == "ValidationError"


# ------------------------------------------------------------------ tags, source identity


def test_tag_session_needs_permission_and_duplicate_keys_are_refused(w: World) -> None:
    role_arn = w.role("App", trust({"AWS": w.alice.arn}))
    with pytest.raises(StsError) as exc:
        w.sts.assume_role(w.alice_key, role_arn, "s1", tags={"a": "1"})
    assert "sts:TagSession" in denied(exc)
    assert "because no role trust policy allows the sts:TagSession action" in exc.value.message
    with pytest.raises(StsError, match="Duplicate tag keys"):
        w.sts.assume_role(w.alice_key, role_arn, "s1", tags=[("a", "1"), ("A", "2")])
    with pytest.raises(StsError, match="transitive tag key"):
        w.sts.assume_role(w.alice_key, role_arn, "s1", tags={"a": "1"}, transitive_tag_keys=["b"])


def test_request_tag_conditions_in_the_trust_policy(w: World) -> None:
    role_arn = w.role(
        "App",
        trust(
            {"AWS": w.alice.arn},
            ["sts:AssumeRole", "sts:TagSession"],
            Condition={"StringEquals": {"aws:RequestTag/project": "apollo"}},
        ),
    )
    with pytest.raises(StsError):
        w.sts.assume_role(w.alice_key, role_arn, "s1", tags={"project": "gemini"})
    assert w.sts.assume_role(w.alice_key, role_arn, "s1", tags={"project": "apollo"})


def test_transitive_tags_propagate_through_chaining(w: World) -> None:
    acts = ["sts:AssumeRole", "sts:TagSession"]
    first = w.role("First", trust({"AWS": w.alice.arn}, acts))
    second = w.role(
        "Second",
        trust({"AWS": first}, acts, Condition={"StringEquals": {"aws:PrincipalTag/dept": "eng"}}),
        tags={"dept": "ops"},
    )
    s1 = w.sts.assume_role(
        w.alice_key, first, "s1", tags={"dept": "eng", "temp": "x"}, transitive_tag_keys=["dept"]
    ).credentials
    s2 = w.sts.assume_role(s1, second, "s2").credentials
    ident = w.sts.identity(s2)
    assert ident.tags == {"dept": "eng"}  # `temp` was not transitive
    assert ident.transitive_tag_keys == ("dept",)
    with pytest.raises(StsError, match="inherited transitive"):
        w.sts.assume_role(s1, second, "s3", tags={"DEPT": "x"})


def test_source_identity_needs_permission_and_is_inherited(w: World) -> None:
    plain = ["sts:AssumeRole"]
    with_si = ["sts:AssumeRole", "sts:SetSourceIdentity"]
    first = w.role("First", trust({"AWS": w.alice.arn}, with_si))
    no_si = w.role("NoSI", trust({"AWS": first}, plain))
    second = w.role(
        "Second",
        trust({"AWS": first}, with_si, Condition={"StringEquals": {"sts:SourceIdentity": "alice"}}),
    )
    s1 = w.sts.assume_role(w.alice_key, first, "s1", source_identity="alice")
    assert s1.source_identity == "alice"
    ident = w.sts.identity(s1.credentials)
    assert ident.context()["aws:SourceIdentity"] == "alice"
    # Inherited: the next role must allow sts:SetSourceIdentity too.
    with pytest.raises(StsError) as exc:
        w.sts.assume_role(s1.credentials, no_si, "s2")
    assert "sts:SetSourceIdentity" in denied(exc)
    s2 = w.sts.assume_role(s1.credentials, second, "s2")
    assert w.sts.identity(s2.credentials).source_identity == "alice"
    with pytest.raises(StsError) as exc:
        w.sts.assume_role(s1.credentials, second, "s3", source_identity="mallory")
    assert exc.value.message == "The source identity is already set for this assume role session"


def test_external_id(w: World) -> None:
    role_arn = w.role(
        "Vendor",
        trust({"AWS": w.alice.arn}, Condition={"StringEquals": {"sts:ExternalId": "ext-123"}}),
    )
    for bad in (None, "ext-999"):
        with pytest.raises(StsError):
            w.sts.assume_role(w.alice_key, role_arn, "s1", external_id=bad)
    assert w.sts.assume_role(w.alice_key, role_arn, "s1", external_id="ext-123")


# ------------------------------------------------------------------ MFA


def test_mfa_protected_role(w: World) -> None:
    device = new_mfa_device(A, "alice", user_arn=w.alice.arn)
    w.store.put_mfa_device(device)
    role_arn = w.role(
        "Admin",
        trust({"AWS": w.alice.arn}, Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}}),
    )
    with pytest.raises(StsError):
        w.sts.assume_role(w.alice_key, role_arn, "s1")
    code = device.code_at(NOW)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    with pytest.raises(StsError) as exc:
        w.sts.assume_role(
            w.alice_key, role_arn, "s1", serial_number=device.serial_number, token_code=wrong
        )
    assert "MultiFactorAuthentication failed" in denied(exc)
    res = w.sts.assume_role(
        w.alice_key, role_arn, "s1", serial_number=device.serial_number, token_code=code
    )
    assert res.credentials.mfa_present
    w.clock.advance(120)
    ctx = w.sts.identity(res.credentials).context(w.clock())
    assert ctx["aws:MultiFactorAuthPresent"] == "true"
    assert ctx["aws:MultiFactorAuthAge"] == "120"
    # The same code cannot be used twice.
    w.clock.set(NOW)
    with pytest.raises(StsError, match="MultiFactorAuthentication failed"):
        w.sts.assume_role(
            w.alice_key, role_arn, "s2", serial_number=device.serial_number, token_code=code
        )


def test_unknown_mfa_device_and_half_mfa_parameters(w: World) -> None:
    role_arn = w.role("App", trust({"AWS": w.alice.arn}))
    with pytest.raises(StsError, match="unable to validate MFA code"):
        w.sts.assume_role(
            w.alice_key,
            role_arn,
            "s1",
            serial_number=f"arn:aws:iam::{A}:mfa/ghost",
            token_code="123456",
        )
    with pytest.raises(StsError) as exc:
        w.sts.assume_role(w.alice_key, role_arn, "s1", token_code="123456")
    assert exc.value.aws_error == "ValidationError"


# ------------------------------------------------------------------ other operations


def test_get_session_token(w: World) -> None:
    device = new_mfa_device(A, "alice", user_arn=w.alice.arn)
    w.store.put_mfa_device(device)
    res = w.sts.get_session_token(w.alice_key)
    cred = res.credentials
    assert cred.principal_arn == w.alice.arn
    assert cred.expiration == NOW + timedelta(hours=12)
    ident = w.sts.identity(cred)
    assert ident.kind == "user-session"
    assert w.sts.get_caller_identity(cred) == {
        "UserId": w.alice.id,
        "Account": A,
        "Arn": w.alice.arn,
    }
    # GetSessionToken credentials: no IAM without MFA, STS only AssumeRole/GetCallerIdentity.
    w.a.put_inline_policy("user", "alice", "all", doc(allow("*")))
    assert w.sts.authorize(ident, "s3:GetObject", "arn:aws:s3:::b").allowed
    assert not w.sts.authorize(ident, "iam:ListUsers", "*").allowed
    assert not w.sts.authorize(ident, "sts:GetFederationToken", "*").allowed
    with pytest.raises(StsError, match="session credentials"):
        w.sts.get_session_token(cred)
    mfa = w.sts.get_session_token(w.alice_key, 900, device.serial_number, device.code_at(NOW))
    mfa_ident = w.sts.identity(mfa.credentials)
    assert mfa_ident.context(NOW)["aws:MultiFactorAuthPresent"] == "true"
    assert w.sts.authorize(mfa_ident, "iam:ListUsers", "*").allowed
    root = w.sts.get_session_token(w.key(f"arn:aws:iam::{A}:root"), 7200)
    assert root.credentials.expiration == NOW + timedelta(hours=1)


def test_role_sessions_cannot_get_session_or_federation_tokens(w: World) -> None:
    role_arn = w.role("App", trust({"AWS": w.alice.arn}))
    session = w.sts.assume_role(w.alice_key, role_arn, "s1").credentials
    with pytest.raises(StsError):
        w.sts.get_session_token(session)
    with pytest.raises(StsError):
        w.sts.get_federation_token(session, "bob")


def test_get_federation_token(w: World) -> None:
    with pytest.raises(StsError) as exc:
        w.sts.get_federation_token(w.alice_key, "bob")
    assert "sts:GetFederationToken" in denied(exc)
    w.a.put_inline_policy("user", "alice", "p", doc(allow(["sts:GetFederationToken", "s3:*"])))
    bare = w.sts.get_federation_token(w.alice_key, "bob")
    assert bare.federated_user_arn == f"arn:aws:sts::{A}:federated-user/bob"
    assert bare.federated_user_id == f"{A}:bob"
    bare_ident = w.sts.identity(bare.credentials)
    assert not w.sts.authorize(bare_ident, "s3:GetObject", "arn:aws:s3:::b").allowed
    res = w.sts.get_federation_token(
        w.alice_key, "bob", json.dumps(doc(allow(["s3:GetObject", "ec2:*"]))), duration=900
    )
    ident = w.sts.identity(res.credentials)
    assert ident.kind == "federated-user"
    assert w.sts.authorize(ident, "s3:GetObject", "arn:aws:s3:::b").allowed
    assert not w.sts.authorize(ident, "ec2:RunInstances", "*").allowed  # not in identity
    assert not w.sts.authorize(ident, "sts:GetSessionToken", "*").allowed
    assert w.sts.authorize(ident, "sts:GetCallerIdentity", "*").allowed
    assert w.sts.get_caller_identity(ident)["Arn"] == res.federated_user_arn
    with pytest.raises(StsError) as exc:
        w.sts.get_federation_token(w.alice_key, "b")
    assert exc.value.aws_error == "ValidationError"


def test_service_principal_assumes_a_role(w: World) -> None:
    role_arn = w.role("Ec2", trust({"Service": "ec2.amazonaws.com"}))
    res = w.sts.assume_role_for_service("ec2.amazonaws.com", role_arn, "i-0abc")
    assert res.assumed_role_arn == f"arn:aws:sts::{A}:assumed-role/Ec2/i-0abc"
    with pytest.raises(StsError):
        w.sts.assume_role_for_service("lambda.amazonaws.com", role_arn, "x1")


INSTANCE_ARN = f"arn:aws:ec2:us-east-1:{A}:instance/i-0123456789abcdef0"
EC2_KEYS = {
    "ec2:SourceInstanceARN": INSTANCE_ARN,
    "ec2:RoleDelivery": "2.0",
    "aws:Ec2InstanceSourceVpc": "vpc-0123456789abcdef0",
    "aws:Ec2InstanceSourcePrivateIPv4": "10.1.2.3",
}


def test_service_session_context_is_part_of_every_request(w: World) -> None:
    role_arn = w.role("Ec2", trust({"Service": "ec2.amazonaws.com"}))
    w.a.put_inline_policy(
        "role",
        "Ec2",
        "p",
        doc(
            allow(
                ["s3:GetObject", "sts:AssumeRole"],
                Condition={"StringEquals": {"ec2:SourceInstanceARN": INSTANCE_ARN}},
            ),
            # The IMDSv1 idiom from AWS's docs: deny everything delivered through IMDSv1.
            {
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {"NumericLessThan": {"ec2:RoleDelivery": "2.0"}},
            },
        ),
    )
    v2 = w.sts.assume_role_for_service(
        "ec2.amazonaws.com", role_arn, "i-0123456789abcdef0", session_context=EC2_KEYS
    )
    ident = w.sts.identity(v2.credentials)
    ctx = ident.context(NOW)
    assert {k: ctx[k] for k in EC2_KEYS} == EC2_KEYS
    assert ctx["aws:TokenIssueTime"] == "2024-05-01T12:00:00Z"
    assert w.sts.authorize(ident, "s3:GetObject", "arn:aws:s3:::b/k").allowed
    assert w.sts.resolve(v2.credentials)[2]["ec2:RoleDelivery"] == "2.0"

    v1 = w.sts.assume_role_for_service(
        "ec2.amazonaws.com",
        role_arn,
        "i-0123456789abcdef0",
        session_context={**EC2_KEYS, "ec2:RoleDelivery": "1.0"},
    )
    refused = w.sts.authorize(w.sts.identity(v1.credentials), "s3:GetObject", "arn:aws:s3:::b/k")
    assert refused.decision is Decision.EXPLICIT_DENY

    other = w.sts.assume_role_for_service(
        "ec2.amazonaws.com",
        role_arn,
        "i-0fedcba9876543210",
        session_context={**EC2_KEYS, "ec2:SourceInstanceARN": INSTANCE_ARN[:-1] + "1"},
    )
    elsewhere = w.sts.authorize(w.sts.identity(other.credentials), "s3:GetObject", "arn:aws:s3:::b")
    assert elsewhere.decision is Decision.IMPLICIT_DENY


def test_service_session_context_is_not_inherited_by_chained_sessions(w: World) -> None:
    first = w.role("Ec2", trust({"Service": "ec2.amazonaws.com"}))
    second = w.role("Next", trust({"AWS": first}))
    res = w.sts.assume_role_for_service(
        "ec2.amazonaws.com", first, "i-0123456789abcdef0", session_context=EC2_KEYS
    )
    chained = w.sts.assume_role(res.credentials, second, "next")
    ctx = w.sts.identity(chained.credentials).context(NOW)
    assert not any(key in ctx for key in EC2_KEYS)


def test_service_session_context_keys_and_values_are_checked(w: World) -> None:
    role_arn = w.role("Ec2", trust({"Service": "ec2.amazonaws.com"}))
    for bad in ({"no-colon": "x"}, {"ec2:Key": 3}, {"ec2:Key": ("a", 1)}):
        with pytest.raises(StsError) as exc:
            w.sts.assume_role_for_service(
                "ec2.amazonaws.com",
                role_arn,
                "i-0abc",
                session_context=bad,  # type: ignore[arg-type]
            )
        assert exc.value.aws_error == "ValidationError"
    listed = w.sts.assume_role_for_service(
        "ec2.amazonaws.com", role_arn, "i-0abc", session_context={"ec2:Many": ("a", "b")}
    )
    assert w.sts.identity(listed.credentials).context()["ec2:Many"] == ("a", "b")
    # Keys STS derives itself win over stored ones of the same name.
    spoof = w.sts.assume_role_for_service(
        "ec2.amazonaws.com",
        role_arn,
        "i-0abc",
        session_context={"aws:TokenIssueTime": "2000-01-01T00:00:00Z"},
    )
    ctx = w.sts.identity(spoof.credentials).context()
    assert ctx["aws:TokenIssueTime"] == "2024-05-01T12:00:00Z"


def test_request_for_and_authorize_take_the_resource_account(w: World) -> None:
    # A bucket the account model does not know: by default the caller's own (same account, the
    # identity policy suffices); owned by B it is cross-account and needs a bucket policy.
    w.allow_alice("s3:GetObject")
    ident = w.sts.identity(w.alice_key)
    bucket_object = "arn:aws:s3:::runtime-bucket/k"
    assert w.sts.authorize(ident, "s3:GetObject", bucket_object).allowed
    foreign = w.sts.authorize(ident, "s3:GetObject", bucket_object, resource_account=B)
    assert foreign.decision is Decision.IMPLICIT_DENY
    _, request = w.sts.request_for(ident, "s3:GetObject", bucket_object, resource_account=B)
    assert request.resource.account == B


# ------------------------------------------------------------------ messages


def test_access_denied_message_forms() -> None:
    arn, role = "arn:aws:iam::1:user/u", "arn:aws:iam::2:role/r"
    explicit = EvaluationResult(Decision.EXPLICIT_DENY, deciding_set="resource")
    assert access_denied_message(arn, "sts:AssumeRole", role, explicit, role_trust=True) == (
        f"User: {arn} is not authorized to perform: sts:AssumeRole on resource: {role} "
        "with an explicit deny in the role trust policy"
    )
    scp = EvaluationResult(Decision.EXPLICIT_DENY, deciding_set="scp")
    assert access_denied_message(arn, "codecommit:ListRepositories", "*", scp) == (
        f"User: {arn} is not authorized to perform: codecommit:ListRepositories with an "
        "explicit deny in a service control policy"
    )
    boundary = EvaluationResult(Decision.IMPLICIT_DENY, deciding_set="boundary")
    assert access_denied_message(arn, "s3:GetObject", "arn:aws:s3:::b", boundary).endswith(
        "because no permissions boundary allows the s3:GetObject action"
    )


def test_explicit_deny_in_trust_policy_is_named(w: World) -> None:
    role_arn = w.role(
        "App",
        doc(
            {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"},
            {"Effect": "Deny", "Principal": {"AWS": w.alice.arn}, "Action": "sts:AssumeRole"},
        ),
    )
    with pytest.raises(StsError) as exc:
        w.sts.assume_role(w.alice_key, role_arn, "s1")
    assert denied(exc).endswith("with an explicit deny in the role trust policy")


def test_identity_of_unknown_or_foreign_keys(w: World) -> None:
    ghost = create_access_key(f"arn:aws:iam::{A}:user/ghost", now=NOW)
    with pytest.raises(StsError):
        w.sts.identity(ghost)
    assert isinstance(w.sts.identity(w.alice_key), Identity)


@pytest.mark.parametrize(
    ("names", "allowed"),
    [("session", True), ("role", False), ("account", False)],
)
def test_caller_session_policy_cuts_parent_and_account_trust_grants(
    w: World, names: str, allowed: bool
) -> None:
    """§7.3: a session policy cuts the grant only when the trust names the caller's role ARN
    or only the account; a trust naming the session itself is not cut."""
    first = w.role("First", trust({"AWS": w.alice.arn}))
    only_s3 = json.dumps(doc(allow("s3:*")))
    s1 = w.sts.assume_role(w.alice_key, first, "s1", policy=only_s3).credentials
    principal = {
        "session": f"arn:aws:sts::{A}:assumed-role/First/s1",
        "role": first,
        "account": f"arn:aws:iam::{A}:root",
    }[names]
    target = w.role("Target", trust({"AWS": principal}))
    if allowed:
        assert w.sts.assume_role(s1, target, "s2").assumed_role_arn.endswith("/Target/s2")
    else:
        with pytest.raises(StsError) as exc:
            w.sts.assume_role(s1, target, "s2")
        assert denied(exc).endswith("because no session policy allows the sts:AssumeRole action")


def test_scp_deny_blocks_assume_role_with_its_message() -> None:
    from policylang.account import Organization, OrgPolicy
    from policylang.account.model import to_policy
    from policylang.ir import PolicyKind

    account = Account(A)
    alice = account.create_user("alice")
    org = Organization("o-example", management_account="999999999999")
    org.add_account(A, "r-root")
    for pid, effect in (("p-full", "Allow"), ("p-deny", "Deny")):
        action = "sts:AssumeRole" if effect == "Deny" else "*"
        document = to_policy(
            doc({"Effect": effect, "Action": action, "Resource": "*"}),
            kind=PolicyKind.SCP,
            where=pid,
        )
        org.create_policy(OrgPolicy(pid, pid, "SERVICE_CONTROL_POLICY", document))
    org.attach_policy("p-full", "r-root")
    org.attach_policy("p-full", A)
    store = InMemoryCredentialStore()
    sts = StsService(Environment([account], org), store, clock=FixedClock(NOW))
    key = create_access_key(alice.arn, now=NOW, principal_id=alice.id)
    store.put(key)
    role = account.create_role("App", trust({"AWS": alice.arn})).arn
    assert sts.assume_role(key, role, "ok-before")
    org.attach_policy("p-deny", A)
    with pytest.raises(StsError) as exc:
        sts.assume_role(key, role, "s1")
    assert denied(exc).endswith("with an explicit deny in a service control policy")


def test_denial_message_uses_an_before_identity_based_policy() -> None:
    result = EvaluationResult(Decision.EXPLICIT_DENY, deciding_set="identity")

    message = access_denied_message(
        "arn:aws:iam::111122223333:user/bob", "s3:GetObject", "arn:aws:s3:::b/k", result
    )

    assert message.endswith("with an explicit deny in an identity-based policy")
