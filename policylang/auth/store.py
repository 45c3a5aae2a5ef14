"""The credential store: access keys, temporary credentials and MFA devices behind one interface.

Two implementations: `InMemoryCredentialStore` (tests, simulations) and `SqliteCredentialStore`
(durable). A durable write returns only after its transaction has committed (SQLite in WAL mode
with `synchronous=FULL`), so a caller may acknowledge it; a crash at any other moment loses at
most the write in flight and leaves a database that opens cleanly.

Secrets are stored in plain text (the verifier needs them to recompute HMACs); the SQLite file
is created with mode 0600. Protect the file as you would the keys themselves.
"""

from __future__ import annotations

import abc
import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Final

import attrs

from policylang.auth.clock import ensure_utc
from policylang.auth.credentials import (
    AccessKey,
    Credential,
    KeyStatus,
    LastUsed,
    TemporaryCredential,
    mask_key_id,
)
from policylang.auth.mfa import MfaDevice
from policylang.errors import AccountError


def _no_such_key(access_key_id: str) -> AccountError:
    return AccountError(
        f"The Access Key with id {mask_key_id(access_key_id)} cannot be found.",
        aws_error="NoSuchEntity",
    )


def _no_such_device(serial_number: str) -> AccountError:
    return AccountError(
        f"MFA device with serial number {serial_number} not found.", aws_error="NoSuchEntity"
    )


class CredentialStore(abc.ABC):
    """Where the verifier looks up access key ids and STS puts the credentials it issues."""

    # -- credentials -------------------------------------------------------------------------

    @abc.abstractmethod
    def get(self, access_key_id: str) -> Credential | None:
        """The credential with this access key id, or None."""

    @abc.abstractmethod
    def put(self, credential: Credential) -> None:
        """Insert or replace a credential; durable once this returns."""

    @abc.abstractmethod
    def delete(self, access_key_id: str) -> bool:
        """Remove a credential; True if it existed."""

    @abc.abstractmethod
    def list_for_principal(self, principal_arn: str) -> list[Credential]:
        """Credentials whose `principal_arn` or `source_arn` is `principal_arn`, by key id."""

    @abc.abstractmethod
    def delete_for_principal(self, principal_arn: str) -> int:
        """Remove every credential of `principal_arn` (as principal or source); the count."""

    @abc.abstractmethod
    def purge_expired(self, now: datetime) -> int:
        """Remove temporary credentials expired at `now`; the count."""

    @abc.abstractmethod
    def record_last_used(self, access_key_id: str, last_used: LastUsed) -> None:
        """Note a successful authentication by a long-term key (ignored for temporary ones)."""

    def set_status(self, access_key_id: str, status: KeyStatus) -> AccessKey:
        """Activate or deactivate a long-term key (`iam:UpdateAccessKey`)."""
        current = self.get(access_key_id)
        if not isinstance(current, AccessKey):
            raise _no_such_key(access_key_id)
        updated = attrs.evolve(current, status=status)
        self.put(updated)
        return updated

    # -- MFA devices -------------------------------------------------------------------------

    @abc.abstractmethod
    def get_mfa_device(self, serial_number: str) -> MfaDevice | None:
        """The device with this serial number (ARN), or None."""

    @abc.abstractmethod
    def put_mfa_device(self, device: MfaDevice) -> None:
        """Insert or replace a device; durable once this returns."""

    @abc.abstractmethod
    def delete_mfa_device(self, serial_number: str) -> bool:
        """Remove a device; True if it existed."""

    @abc.abstractmethod
    def record_mfa_step(self, serial_number: str, step: int) -> bool:
        """Atomically accept TOTP `step` if it is newer than the device's last one.

        False means the step was already used (a replay), so the code must be refused.
        """

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:  # noqa: B027 - optional hook: in-memory stores hold nothing
        """Release resources (a no-op in memory)."""

    def __enter__(self) -> CredentialStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _principals_of(credential: Credential) -> tuple[str, ...]:
    if isinstance(credential, TemporaryCredential) and credential.source_arn:
        return (credential.principal_arn, credential.source_arn)
    return (credential.principal_arn,)


def _with_last_used(key: AccessKey, last_used: LastUsed) -> AccessKey:
    return attrs.evolve(key, last_used=last_used)


class InMemoryCredentialStore(CredentialStore):
    """A dict-backed store; thread-safe, gone when the process ends."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._credentials: dict[str, Credential] = {}
        self._devices: dict[str, MfaDevice] = {}

    def get(self, access_key_id: str) -> Credential | None:
        with self._lock:
            return self._credentials.get(access_key_id)

    def put(self, credential: Credential) -> None:
        with self._lock:
            self._credentials[credential.access_key_id] = credential

    def delete(self, access_key_id: str) -> bool:
        with self._lock:
            return self._credentials.pop(access_key_id, None) is not None

    def list_for_principal(self, principal_arn: str) -> list[Credential]:
        with self._lock:
            found = [c for c in self._credentials.values() if principal_arn in _principals_of(c)]
        return sorted(found, key=lambda c: c.access_key_id)

    def delete_for_principal(self, principal_arn: str) -> int:
        with self._lock:
            doomed = [k for k, c in self._credentials.items() if principal_arn in _principals_of(c)]
            for key in doomed:
                del self._credentials[key]
        return len(doomed)

    def purge_expired(self, now: datetime) -> int:
        with self._lock:
            doomed = [
                k
                for k, c in self._credentials.items()
                if isinstance(c, TemporaryCredential) and c.is_expired(now)
            ]
            for key in doomed:
                del self._credentials[key]
        return len(doomed)

    def set_status(self, access_key_id: str, status: KeyStatus) -> AccessKey:
        with self._lock:
            current = self._credentials.get(access_key_id)
            if not isinstance(current, AccessKey):
                raise _no_such_key(access_key_id)
            updated = attrs.evolve(current, status=status)
            self._credentials[access_key_id] = updated
            return updated

    def record_last_used(self, access_key_id: str, last_used: LastUsed) -> None:
        with self._lock:
            current = self._credentials.get(access_key_id)
            if isinstance(current, AccessKey):
                self._credentials[access_key_id] = _with_last_used(current, last_used)

    def get_mfa_device(self, serial_number: str) -> MfaDevice | None:
        with self._lock:
            return self._devices.get(serial_number)

    def put_mfa_device(self, device: MfaDevice) -> None:
        with self._lock:
            self._devices[device.serial_number] = device

    def delete_mfa_device(self, serial_number: str) -> bool:
        with self._lock:
            return self._devices.pop(serial_number, None) is not None

    def record_mfa_step(self, serial_number: str, step: int) -> bool:
        with self._lock:
            device = self._devices.get(serial_number)
            if device is None:
                raise _no_such_device(serial_number)
            if device.last_step is not None and step <= device.last_step:
                return False
            self._devices[serial_number] = attrs.evolve(device, last_step=step)
            return True


_SCHEMA_VERSION: Final = 1
_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS credentials (
    access_key_id        TEXT PRIMARY KEY,
    kind                 TEXT NOT NULL CHECK (kind IN ('access-key', 'temporary')),
    secret               TEXT NOT NULL,
    session_token        TEXT,
    principal_arn        TEXT NOT NULL,
    principal_id         TEXT,
    source_arn           TEXT,
    status               TEXT,
    created              TEXT NOT NULL,
    expiration           TEXT,
    mfa_authenticated_at TEXT,
    last_used            TEXT,
    last_used_service    TEXT,
    last_used_region     TEXT,
    attributes           TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS credentials_by_principal ON credentials (principal_arn);
CREATE INDEX IF NOT EXISTS credentials_by_source ON credentials (source_arn);
CREATE TABLE IF NOT EXISTS mfa_devices (
    serial_number TEXT PRIMARY KEY,
    seed          TEXT NOT NULL,
    user_arn      TEXT,
    enabled_at    TEXT,
    last_step     INTEGER
);
"""

_COLUMNS: Final = (
    "access_key_id, kind, secret, session_token, principal_arn, principal_id, source_arn, "
    "status, created, expiration, mfa_authenticated_at, last_used, last_used_service, "
    "last_used_region, attributes"
)

Row = tuple[
    str,
    str,
    str,
    str | None,
    str,
    str | None,
    str | None,
    str | None,
    str,
    str | None,
    str | None,
    str | None,
    str | None,
    str | None,
    str,
]


def _ts(value: datetime) -> str:
    return ensure_utc(value).isoformat(timespec="microseconds")  # fixed width: sorts as text


def _ts_or_none(value: datetime | None) -> str | None:
    return None if value is None else _ts(value)


def _parse_ts(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _to_row(credential: Credential) -> Row:
    if isinstance(credential, AccessKey):
        used = credential.last_used
        return (
            credential.access_key_id, "access-key", credential.secret_access_key.reveal(), None,
            credential.principal_arn, credential.principal_id, None, credential.status.value,
            _ts(credential.created), None, None,
            _ts_or_none(used.date) if used else None, used.service if used else None,
            used.region if used else None, "{}",
        )  # fmt: skip
    return (
        credential.access_key_id, "temporary", credential.secret_access_key.reveal(),
        credential.session_token.reveal(), credential.principal_arn, credential.principal_id,
        credential.source_arn, None, _ts(credential.issued_at), _ts(credential.expiration),
        _ts_or_none(credential.mfa_authenticated_at), None, None, None,
        json.dumps(dict(credential.attributes), sort_keys=True),
    )  # fmt: skip


def _from_row(row: Row) -> Credential:
    (key_id, kind, secret, token, principal_arn, principal_id, source_arn, status, created,
     expiration, mfa_at, used, used_service, used_region, attributes) = row  # fmt: skip
    created_at = _parse_ts(created)
    assert created_at is not None
    if kind == "access-key":
        used_at = _parse_ts(used)
        return AccessKey(
            access_key_id=key_id,
            secret_access_key=secret,
            principal_arn=principal_arn,
            principal_id=principal_id,
            created=created_at,
            status=KeyStatus(status),
            last_used=(
                LastUsed(used_at, used_service, used_region) if used_at is not None else None
            ),
        )
    expires = _parse_ts(expiration)
    assert expires is not None
    assert token is not None
    loaded = json.loads(attributes)
    return TemporaryCredential(
        access_key_id=key_id,
        secret_access_key=secret,
        session_token=token,
        principal_arn=principal_arn,
        principal_id=principal_id,
        source_arn=source_arn,
        issued_at=created_at,
        expiration=expires,
        mfa_authenticated_at=_parse_ts(mfa_at),
        attributes={str(k): str(v) for k, v in loaded.items()},
    )


class SqliteCredentialStore(CredentialStore):
    """A durable store in one SQLite file (WAL journal, `synchronous=FULL`).

    Safe to share between threads (one connection behind a lock) and between processes (SQLite
    locking; writers wait up to `busy_timeout` seconds).
    """

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout: float = 10.0) -> None:
        self.path = Path(path)
        if not self.path.exists():
            # Create the file owner-only before SQLite opens it: it will hold secrets.
            fd = os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(
            self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
        )
        try:
            self._initialise()
        except BaseException:
            self._db.close()
            raise

    def _initialise(self) -> None:
        mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise AccountError(
                f"credential store {self.path}: cannot enable WAL journaling (got `{mode}`)",
                aws_error="ServiceFailure",
            )
        # FULL: a commit is on disk (WAL fsync) before it returns, not just in the OS cache.
        self._db.execute("PRAGMA synchronous=FULL")
        with self._transaction() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, _SCHEMA_VERSION):
                raise AccountError(
                    f"credential store {self.path} has schema version {version}; "
                    f"this policylang reads version {_SCHEMA_VERSION}",
                    aws_error="ServiceFailure",
                )
            if version == 0:
                # One statement at a time: executescript() would commit our transaction early.
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
            db.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def get(self, access_key_id: str) -> Credential | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {_COLUMNS} FROM credentials WHERE access_key_id = ?", (access_key_id,)
            ).fetchone()
        return None if row is None else _from_row(row)

    def put(self, credential: Credential) -> None:
        with self._transaction() as db:
            db.execute(
                f"INSERT OR REPLACE INTO credentials ({_COLUMNS}) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                _to_row(credential),
            )

    def delete(self, access_key_id: str) -> bool:
        with self._transaction() as db:
            cursor = db.execute("DELETE FROM credentials WHERE access_key_id = ?", (access_key_id,))
            return cursor.rowcount > 0

    def list_for_principal(self, principal_arn: str) -> list[Credential]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM credentials WHERE principal_arn = ? OR source_arn = ? "
                "ORDER BY access_key_id",
                (principal_arn, principal_arn),
            ).fetchall()
        return [_from_row(row) for row in rows]

    def delete_for_principal(self, principal_arn: str) -> int:
        with self._transaction() as db:
            cursor = db.execute(
                "DELETE FROM credentials WHERE principal_arn = ? OR source_arn = ?",
                (principal_arn, principal_arn),
            )
            return cursor.rowcount

    def purge_expired(self, now: datetime) -> int:
        # Timestamps are stored as UTC ISO text, so text order is time order.
        with self._transaction() as db:
            cursor = db.execute(
                "DELETE FROM credentials WHERE kind = 'temporary' AND expiration <= ?", (_ts(now),)
            )
            return cursor.rowcount

    def set_status(self, access_key_id: str, status: KeyStatus) -> AccessKey:
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE credentials SET status = ? WHERE access_key_id = ? AND kind = 'access-key'",
                (status.value, access_key_id),
            )
            if cursor.rowcount == 0:
                raise _no_such_key(access_key_id)
        updated = self.get(access_key_id)
        assert isinstance(updated, AccessKey)
        return updated

    def record_last_used(self, access_key_id: str, last_used: LastUsed) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE credentials SET last_used = ?, last_used_service = ?, last_used_region = ? "
                "WHERE access_key_id = ? AND kind = 'access-key'",
                (_ts(last_used.date), last_used.service, last_used.region, access_key_id),
            )

    def get_mfa_device(self, serial_number: str) -> MfaDevice | None:
        with self._lock:
            row = self._db.execute(
                "SELECT serial_number, seed, user_arn, enabled_at, last_step FROM mfa_devices "
                "WHERE serial_number = ?",
                (serial_number,),
            ).fetchone()
        if row is None:
            return None
        serial, seed, user_arn, enabled_at, last_step = row
        return MfaDevice(
            serial_number=serial,
            seed=seed,
            user_arn=user_arn,
            enabled_at=_parse_ts(enabled_at),
            last_step=last_step,
        )

    def put_mfa_device(self, device: MfaDevice) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO mfa_devices "
                "(serial_number, seed, user_arn, enabled_at, last_step) VALUES (?, ?, ?, ?, ?)",
                (
                    device.serial_number,
                    device.seed.reveal(),
                    device.user_arn,
                    _ts_or_none(device.enabled_at),
                    device.last_step,
                ),
            )

    def delete_mfa_device(self, serial_number: str) -> bool:
        with self._transaction() as db:
            cursor = db.execute("DELETE FROM mfa_devices WHERE serial_number = ?", (serial_number,))
            return cursor.rowcount > 0

    def record_mfa_step(self, serial_number: str, step: int) -> bool:
        with self._transaction() as db:
            exists = db.execute(
                "SELECT 1 FROM mfa_devices WHERE serial_number = ?", (serial_number,)
            ).fetchone()
            if exists is None:
                raise _no_such_device(serial_number)
            cursor = db.execute(
                "UPDATE mfa_devices SET last_step = ? "
                "WHERE serial_number = ? AND (last_step IS NULL OR last_step < ?)",
                (step, serial_number, step),
            )
            return cursor.rowcount > 0

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __repr__(self) -> str:
        return f"SqliteCredentialStore({str(self.path)!r})"
