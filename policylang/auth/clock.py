"""Clocks for authentication: a clock is any `Callable[[], datetime]` returning aware UTC time.

Everything time-dependent in `policylang.auth` (signature skew, presign expiry, token expiry,
TOTP) takes a clock instead of reading the system time, so tests can pin and move time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]
"""Returns the current instant as an aware `datetime` (any zone; compared as instants)."""


def system_clock() -> datetime:
    """The real current time, in UTC."""
    return datetime.now(UTC)


class FixedClock:
    """A settable clock for tests and simulations: returns `now` until moved."""

    __slots__ = ("now",)

    def __init__(self, now: datetime) -> None:
        self.now = ensure_utc(now)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta | float) -> None:
        """Move forward by `delta` (a timedelta or seconds); negative values move back."""
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        self.now = self.now + step

    def set(self, now: datetime) -> None:
        self.now = ensure_utc(now)

    def __repr__(self) -> str:
        return f"FixedClock({self.now.isoformat()})"


def ensure_utc(value: datetime) -> datetime:
    """`value` converted to UTC; naive datetimes are refused (they hide time-zone bugs)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime `{value.isoformat()}`: pass an aware UTC datetime")
    return value.astimezone(UTC)


def format_iso8601(value: datetime) -> str:
    """`2024-05-01T12:00:00Z`: the form of `aws:CurrentTime` and `aws:TokenIssueTime`."""
    v = ensure_utc(value)
    return f"{v.year:04d}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:{v.second:02d}Z"
