"""Credential types: shapes, expiry, and secrets that never print."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta

import pytest

from policylang.auth.clock import FixedClock, ensure_utc, format_iso8601
from policylang.auth.credentials import (
    AccessKey,
    KeyStatus,
    Secret,
    TemporaryCredential,
    create_access_key,
    create_temporary_credential,
    mask_key_id,
    new_access_key_id,
)

NOW = datetime(2024, 5, 1, 12, tzinfo=UTC)
USER = "arn:aws:iam::123456789012:user/alice"


def test_secret_hides_its_value_everywhere(caplog: pytest.LogCaptureFixture) -> None:
    secret = Secret("hunter2-very-secret")
    caplog.set_level(logging.DEBUG)
    logging.getLogger("test").info("secret is %s / %r", secret, secret)

    shown = [
        repr(secret),
        str(secret),
        f"{secret}",
        f"{secret!r}",
        f"{secret}",
        caplog.text,
    ]

    assert all("hunter2" not in text for text in shown)
    assert secret.reveal() == "hunter2-very-secret"


def test_secret_compares_by_value() -> None:
    assert Secret("a") == Secret("a")
    assert Secret("a") != Secret("b")
    assert Secret("abc").matches("abc")
    assert not Secret("abc").matches("abd")


def test_created_access_key_has_aws_shapes() -> None:
    key = create_access_key(USER, now=NOW)

    assert re.fullmatch(r"AKIA[A-Z2-7]{16}", key.access_key_id)
    assert len(key.secret_access_key) == 40
    assert key.status is KeyStatus.ACTIVE
    assert key.is_active
    assert key.last_used is None


def test_access_key_repr_has_no_secret() -> None:
    key = create_access_key(USER, now=NOW)

    assert key.secret_access_key.reveal() not in repr(key)
    assert key.secret_access_key.reveal() not in str(key)
    assert key.access_key_id in repr(key)


def test_temporary_credential_shapes_expiry_and_repr() -> None:
    credential = create_temporary_credential(
        "arn:aws:sts::123456789012:assumed-role/R/s",
        now=NOW,
        duration=timedelta(hours=1),
        mfa_authenticated_at=NOW,
        attributes={"SourceIdentity": "alice"},
    )
    text = repr(credential) + str(credential)

    assert re.fullmatch(r"ASIA[A-Z2-7]{16}", credential.access_key_id)
    assert len(credential.secret_access_key) == 40
    assert credential.expiration == NOW + timedelta(hours=1)
    assert credential.mfa_present
    assert not credential.is_expired(NOW + timedelta(minutes=59, seconds=59))
    assert credential.is_expired(NOW + timedelta(hours=1))
    assert credential.secret_access_key.reveal() not in text
    assert credential.session_token.reveal() not in text
    assert credential.attributes["SourceIdentity"] == "alice"


def test_temporary_credential_must_expire_after_issue() -> None:
    with pytest.raises(ValueError, match="expire after"):
        TemporaryCredential("ASIAXXXXXXXXXXXXXXXX", "s", "t", "arn:x", NOW, NOW)


@pytest.mark.parametrize("key_id", ["AK", "AKIA/BAD", "AKIA BAD0000000000000", "A" * 129])
def test_malformed_key_ids_are_refused_without_echoing_them(key_id: str) -> None:
    with pytest.raises(ValueError, match="invalid access key id") as caught:
        AccessKey(key_id, "secret", USER, NOW)

    if len(key_id) > 2:
        assert key_id not in str(caught.value)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        AccessKey("AKIAAAAAAAAAAAAAAAAA", "secret", USER, datetime(2024, 1, 1))


def test_key_id_prefix_must_be_four_capitals() -> None:
    with pytest.raises(ValueError, match="4 upper-case letters"):
        new_access_key_id("akia")


def test_mask_key_id_keeps_only_the_ends() -> None:
    assert mask_key_id("AKIAIOSFODNN7EXAMPLE") == "AKIA…MPLE"
    assert mask_key_id("SHORT") == "SH…"


def test_fixed_clock_moves_and_formats() -> None:
    clock = FixedClock(NOW)
    clock.advance(90)
    clock.advance(timedelta(minutes=-1))

    assert clock() == NOW + timedelta(seconds=30)
    assert format_iso8601(clock()) == "2024-05-01T12:00:30Z"
    assert ensure_utc(clock()).tzinfo is UTC
