"""A durable store keeps every acknowledged write through a SIGKILL, and reopens cleanly.

A child process writes credentials in a loop and reports each id on a pipe only after `put`
returned (committed). The parent kills it with SIGKILL at an arbitrary moment — most likely in
the middle of a write — then reopens the store and looks for every acknowledged credential.
"""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from policylang.auth.credentials import AccessKey, TemporaryCredential
from policylang.auth.store import SqliteCredentialStore

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2024, 5, 1, 12, tzinfo=UTC)

CHILD = textwrap.dedent(
    """
    import hashlib, sys
    from datetime import UTC, datetime, timedelta
    from policylang.auth.credentials import AccessKey, TemporaryCredential
    from policylang.auth.store import SqliteCredentialStore

    path, start = sys.argv[1], int(sys.argv[2])
    now = datetime(2024, 5, 1, 12, tzinfo=UTC)
    store = SqliteCredentialStore(path)
    i = start
    while True:
        secret = hashlib.sha256(f"secret-{i}".encode()).hexdigest()[:40]
        if i % 2:
            credential = TemporaryCredential(
                access_key_id=f"ASIA{i:016d}", secret_access_key=secret,
                session_token="token-" + secret, principal_arn="arn:aws:sts::1:assumed-role/R/s",
                issued_at=now, expiration=now + timedelta(hours=1),
            )
        else:
            credential = AccessKey(
                access_key_id=f"AKIA{i:016d}", secret_access_key=secret,
                principal_arn="arn:aws:iam::1:user/u", created=now,
            )
        store.put(credential)
        # Acknowledge only after put() returned, i.e. after COMMIT.
        sys.stdout.write(credential.access_key_id + "\\n")
        sys.stdout.flush()
        i += 1
    """
)


def run_child_until_killed(path: Path, start: int, acks_before_kill: int) -> list[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), str(start)],
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    assert child.stdout is not None
    acknowledged: list[str] = []
    try:
        while len(acknowledged) < acks_before_kill:
            line = child.stdout.readline()
            assert line, f"child exited early with {child.poll()}"
            acknowledged.append(line.strip())
        os.kill(child.pid, signal.SIGKILL)
        # Lines already in the pipe were acknowledged before the kill: they count too.
        acknowledged.extend(line.strip() for line in child.stdout if line.strip())
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    return acknowledged


def expected_secret(key_id: str) -> str:
    return hashlib.sha256(f"secret-{int(key_id[4:])}".encode()).hexdigest()[:40]


@pytest.mark.parametrize("rounds", [(37, 120, 5)], ids=["three-kills"])
def test_acknowledged_credentials_survive_sigkill(tmp_path: Path, rounds: tuple[int, ...]) -> None:
    path = tmp_path / "store.db"
    acknowledged: list[str] = []
    for round_number, acks in enumerate(rounds):
        acknowledged += run_child_until_killed(path, 10_000 * (round_number + 1), acks)

        # Reopening must work after every crash, and must show every acknowledged write.
        with SqliteCredentialStore(path) as store:
            missing = [key_id for key_id in acknowledged if store.get(key_id) is None]
            assert missing == []
            for key_id in acknowledged:
                credential = store.get(key_id)
                assert credential is not None
                assert credential.secret_access_key.reveal() == expected_secret(key_id)
                if key_id.startswith("ASIA"):
                    assert isinstance(credential, TemporaryCredential)
                    assert credential.session_token.reveal() == "token-" + expected_secret(key_id)
                else:
                    assert isinstance(credential, AccessKey)

    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        db.close()
    assert len(acknowledged) >= sum(rounds)


def test_store_is_writable_after_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    run_child_until_killed(path, 1, 10)

    with SqliteCredentialStore(path) as store:
        store.put(
            AccessKey(
                access_key_id="AKIAAFTERCRASH000000",
                secret_access_key="s" * 40,
                principal_arn="arn:aws:iam::1:user/u",
                created=NOW,
            )
        )
    with SqliteCredentialStore(path) as reopened:
        assert reopened.get("AKIAAFTERCRASH000000") is not None
