"""Golden-file options: `--update-golden` rewrites expected outputs instead of comparing.

Run `python3 -m pytest tests/golden tests/bad_dsl --update-golden` after an intended change and
review the diff. (The option lives here, not in tests/conftest.py; `POLICYLANG_UPDATE_GOLDEN=1`
does the same when the tests are run from another directory.)
"""

from __future__ import annotations

import contextlib
import os

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    # Another conftest may already define it; one definition is enough.
    with contextlib.suppress(ValueError):
        parser.addoption(
            "--update-golden",
            action="store_true",
            default=False,
            help="rewrite golden files (DSL goldens, bad-DSL error texts) from current output",
        )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    """Whether golden files should be rewritten rather than compared."""
    try:
        flag = bool(request.config.getoption("--update-golden"))
    except ValueError:
        flag = False
    return flag or os.environ.get("POLICYLANG_UPDATE_GOLDEN") == "1"
