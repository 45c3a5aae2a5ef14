"""Both credential stores honour one contract; the SQLite one also survives reopening."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from policylang.auth.credentials import (
    AccessKey,
    KeyStatus,
    LastUsed,
    TemporaryCredential,
    create_access_key,
    create_temporary_credential,
)
from policylang.auth.mfa import new_mfa_device
from policylang.auth.store import CredentialStore, InMemoryCredentialStore, SqliteCredentialStore
from policylang.errors import AccountError

NOW = datetime(2024, 5, 1, 12, tzinfo=UTC)
USER = "arn:aws:iam::123456789012:user/alice"
ROLE = "arn:aws:iam::123456789012:role/Ops"
SESSION = "arn:aws:sts::123456789012:assumed-role/Ops/alice"


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CredentialStore]:
    made: CredentialStore = (
        InMemoryCredentialStore()
        if request.param == "memory"
        else SqliteCredentialStore(tmp_path / "creds.db")
    )
    with made:
        yield made


def session(duration: timedelta = timedelta(hours=1)) -> TemporaryCredential:
    return create_temporary_credential(
        SESSION,
        now=NOW,
        duration=duration,
        principal_id="AROAEXAMPLEEXAMPLEEX:alice",
        source_arn=ROLE,
        mfa_authenticated_at=NOW - timedelta(minutes=1),
        attributes={"SourceIdentity": "alice", "tag:team": "ops"},
    )


def test_put_then_get_returns_an_equal_credential(store: CredentialStore) -> None:
    key = create_access_key(USER, now=NOW, principal_id="AIDAEXAMPLE")
    temp = session()
    store.put(key)
    store.put(temp)

    got_key, got_temp = store.get(key.access_key_id), store.get(temp.access_key_id)

    assert got_key == key
    assert got_temp == temp
    assert isinstance(got_temp, TemporaryCredential)
    assert got_temp.session_token.reveal() == temp.session_token.reveal()
    assert dict(got_temp.attributes) == {"SourceIdentity": "alice", "tag:team": "ops"}
    assert store.get("AKIANOSUCHKEY0000000") is None


def test_delete_and_list_by_principal(store: CredentialStore) -> None:
    keys = [create_access_key(USER, now=NOW) for _ in range(2)]
    temp = session()
    for credential in (*keys, temp):
        store.put(credential)

    by_user = store.list_for_principal(USER)
    by_role = store.list_for_principal(ROLE)  # matched through source_arn
    deleted = store.delete(keys[0].access_key_id)
    deleted_again = store.delete(keys[0].access_key_id)

    assert [c.access_key_id for c in by_user] == sorted(k.access_key_id for k in keys)
    assert [c.access_key_id for c in by_role] == [temp.access_key_id]
    assert (deleted, deleted_again) == (True, False)
    assert store.delete_for_principal(ROLE) == 1
    assert store.get(temp.access_key_id) is None
    assert store.get(keys[1].access_key_id) is not None


def test_purge_expired_removes_only_expired_sessions(store: CredentialStore) -> None:
    short, long = session(timedelta(minutes=15)), session(timedelta(hours=12))
    key = create_access_key(USER, now=NOW)
    for credential in (short, long, key):
        store.put(credential)

    purged = store.purge_expired(NOW + timedelta(minutes=15))

    assert purged == 1
    assert store.get(short.access_key_id) is None
    assert store.get(long.access_key_id) is not None
    assert store.get(key.access_key_id) is not None


def test_status_and_last_used_updates(store: CredentialStore) -> None:
    key = create_access_key(USER, now=NOW)
    store.put(key)

    updated = store.set_status(key.access_key_id, KeyStatus.INACTIVE)
    store.record_last_used(key.access_key_id, LastUsed(NOW, "sts", "us-east-1"))
    got = store.get(key.access_key_id)

    assert updated.status is KeyStatus.INACTIVE
    assert isinstance(got, AccessKey)
    assert got.status is KeyStatus.INACTIVE
    assert got.last_used == LastUsed(NOW, "sts", "us-east-1")
    assert got.secret_access_key == key.secret_access_key


def test_set_status_of_unknown_key_is_no_such_entity(store: CredentialStore) -> None:
    with pytest.raises(AccountError) as caught:
        store.set_status("AKIANOSUCHKEY0000000", KeyStatus.ACTIVE)

    assert caught.value.aws_error == "NoSuchEntity"
    assert "AKIANOSUCHKEY0000000" not in caught.value.message


def test_mfa_devices_and_replay_guard(store: CredentialStore) -> None:
    device = new_mfa_device("123456789012", "alice", user_arn=USER)
    store.put_mfa_device(device)

    first = store.record_mfa_step(device.serial_number, 100)
    replay = store.record_mfa_step(device.serial_number, 100)
    older = store.record_mfa_step(device.serial_number, 99)
    newer = store.record_mfa_step(device.serial_number, 101)
    got = store.get_mfa_device(device.serial_number)

    assert (first, replay, older, newer) == (True, False, False, True)
    assert got is not None
    assert got.last_step == 101
    assert got.seed == device.seed
    assert got.user_arn == USER
    assert store.delete_mfa_device(device.serial_number)
    assert store.get_mfa_device(device.serial_number) is None
    with pytest.raises(AccountError):
        store.record_mfa_step(device.serial_number, 200)


def test_sqlite_store_survives_reopen_and_is_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "creds.db"
    key, temp = create_access_key(USER, now=NOW), session()
    with SqliteCredentialStore(path) as first:
        first.put(key)
        first.put(temp)

    with SqliteCredentialStore(path) as second:
        assert second.get(key.access_key_id) == key
        assert second.get(temp.access_key_id) == temp
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_sqlite_store_refuses_a_newer_schema(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "future.db"
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 99")
    db.close()

    with pytest.raises(AccountError, match="schema version 99"):
        SqliteCredentialStore(path)


def test_sqlite_repr_names_the_file_only(tmp_path: Path) -> None:
    with SqliteCredentialStore(tmp_path / "c.db") as db:
        assert repr(db) == f"SqliteCredentialStore({str(tmp_path / 'c.db')!r})"
