"""What a decision says: `Decision` plus its explanation (matched statements, missing keys)."""

from __future__ import annotations

import enum
from collections.abc import Mapping

import attrs

from policylang.ir import Effect
from policylang.source import Span


class Decision(enum.Enum):
    """The IAM policy simulator's three values."""

    ALLOWED = "allowed"
    EXPLICIT_DENY = "explicitDeny"
    IMPLICIT_DENY = "implicitDeny"


@attrs.frozen(slots=True)
class MatchedStatement:
    """A statement that determined the outcome: its policy label, index, Sid, effect, position."""

    policy: str
    index: int
    sid: str | None
    effect: Effect
    span: Span | None = attrs.field(default=None, eq=False)
    source: str | None = attrs.field(default=None, eq=False)


@attrs.frozen(slots=True)
class EvaluationResult:
    """The answer for one request.

    `details` maps each policy set (`scp`, `rcp`, `boundary`, `session`, `resource`, `identity`)
    to its own decision value, or None where that set was not involved. `deciding_set` names the
    gate that produced a denial (None when allowed).
    """

    decision: Decision
    matched_statements: tuple[MatchedStatement, ...] = ()
    missing_context_keys: tuple[str, ...] = ()
    details: Mapping[str, str | None] = attrs.field(factory=dict)
    deciding_set: str | None = None

    @property
    def allowed(self) -> bool:
        return self.decision is Decision.ALLOWED
