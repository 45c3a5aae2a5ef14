"""Shared test configuration: Hypothesis profiles and small fixtures used across test areas.

Hypothesis profiles: `dev` (default, quick) and `ci` (more examples, no deadline), chosen with
`CI=true` or `HYPOTHESIS_PROFILE=...`. Example counts stay moderate: the whole suite must run
in a few minutes on two cores.
"""

from __future__ import annotations

import os
import pathlib
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "dev",
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "ci",
    max_examples=300,
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE")
    or ("ci" if os.environ.get("CI", "").lower() == "true" else "dev")
)

REPO = pathlib.Path(__file__).resolve().parents[1]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite golden files (DSL goldens, bad-DSL error texts) from current output",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    """Whether golden files should be rewritten rather than compared (never in CI by default)."""
    flag = bool(request.config.getoption("--update-golden"))
    return flag or os.environ.get("POLICYLANG_UPDATE_GOLDEN") == "1"


@pytest.fixture
def repo_root() -> pathlib.Path:
    """The repository root (examples/, tests/, pyproject.toml)."""
    return REPO


@pytest.fixture
def allow_all_policy() -> dict[str, Any]:
    """An identity policy that allows everything (a fresh copy per test)."""
    return {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "All", "Effect": "Allow", "Action": "*", "Resource": "*"}],
    }


@pytest.fixture
def user_case(allow_all_policy: dict[str, Any]) -> dict[str, Any]:
    """A minimal valid simulation case: user alice reads an S3 object in her own account."""
    return {
        "name": "alice-reads-her-bucket",
        "policies": {"identity": [allow_all_policy]},
        "request": {
            "principal": {
                "type": "user",
                "arn": "arn:aws:iam::111122223333:user/alice",
                "account": "111122223333",
                "id": "AIDAEXAMPLEALICE1234",
            },
            "action": "s3:GetObject",
            "resource": {"arn": "arn:aws:s3:::bucket/key", "account": "111122223333"},
        },
    }


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """In CI a skip is a failure: every optional tool a test needs is installed there, so a skip
    would mean a feature went untested."""
    outcome = yield
    report = outcome.get_result()
    in_ci = os.environ.get("CI", "").lower() == "true"
    if in_ci and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where nothing may be skipped: {report.longrepr}"
