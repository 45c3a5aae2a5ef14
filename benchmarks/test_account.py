"""Account benchmarks: load a 5,000-principal authorization-details dump; ask who-can over it.

Run: `python3 -m pytest benchmarks/test_account.py --benchmark-only`. Each benchmark checks its
answer (a benchmark that checks nothing could be timing a bug), never its time.
"""

from __future__ import annotations

import json
import pathlib
import sys
from typing import Any

import pytest

from policylang.account import Environment, load_environment, who_can

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from gen_authz_details import ACCOUNT, generate

pytestmark = pytest.mark.benchmark(group="account")

PRINCIPALS = 5000


@pytest.fixture(scope="module")
def dump_file(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    path = tmp_path_factory.mktemp("gaad") / "dump.json"
    path.write_text(json.dumps(generate(PRINCIPALS)), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def environment(dump_file: pathlib.Path) -> Environment:
    return load_environment([dump_file])


def test_load_5000_principal_dump(benchmark: Any, dump_file: pathlib.Path) -> None:
    env = benchmark.pedantic(load_environment, args=([dump_file],), rounds=2, iterations=1)

    account = env.accounts[ACCOUNT]
    assert len(account.users) + len(account.roles) == PRINCIPALS
    assert sum(p.role is not None for p in account.instance_profiles.values()) == PRINCIPALS // 20


def test_who_can_over_5000_principals(benchmark: Any, environment: Environment) -> None:
    result = benchmark.pedantic(
        who_can,
        args=(environment, "s3:GetObject", "arn:aws:s3:::bucket-3/key"),
        rounds=2,
        iterations=1,
    )

    principals = result.principals()
    # role-00003 is named by bucket-3's policy; roles with ReadOnlyAccess may read any bucket.
    assert f"arn:aws:iam::{ACCOUNT}:role/role-00003" in principals
    assert f"arn:aws:iam::{ACCOUNT}:role/role-00010" in principals
    assert all(a.status in ("allowed", "conditional") for a in result.answers)
