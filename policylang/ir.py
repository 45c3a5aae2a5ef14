"""The policy IR: immutable attrs classes shared by the IAM JSON and DSL front ends.

Structure only, no behaviour. Every node keeps its source span, excluded from equality, and
whatever a lossless round trip needs: whether a value was written as a single string or a list,
how the principal was written, Sid, Version, statement order, number text of condition values.
`NotX` elements are the same field as `X` with `negated=True`.
"""

from __future__ import annotations

import enum

import attrs

from policylang.source import Source, Span


class PolicyKind(enum.Enum):
    """What a policy document is attached as; each kind has its own save-time rules."""

    IDENTITY = "identity"
    RESOURCE = "resource"
    TRUST = "trust"
    BOUNDARY = "boundary"
    SESSION = "session"
    SCP = "scp"
    RCP = "rcp"


class Effect(enum.Enum):
    ALLOW = "Allow"
    DENY = "Deny"


class ValueKind(enum.Enum):
    """The JSON type a condition value was written as (its text is kept either way)."""

    STRING = "string"
    NUMBER = "number"
    BOOLEAN = "boolean"


@attrs.frozen(slots=True)
class Values:
    """A string-or-list element: `items` in order, `is_list` records `"x"` versus `["x"]`."""

    items: tuple[str, ...]
    is_list: bool = True
    span: Span | None = attrs.field(default=None, eq=False, repr=False)
    item_spans: tuple[Span | None, ...] = attrs.field(default=(), eq=False, repr=False)


@attrs.frozen(slots=True)
class ActionSpec:
    """`Action` (negated=False) or `NotAction` (negated=True)."""

    values: Values
    negated: bool = False
    span: Span | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(slots=True)
class ResourceSpec:
    """`Resource` or `NotResource`."""

    values: Values
    negated: bool = False
    span: Span | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(slots=True)
class PrincipalEntry:
    """One `kind: values` pair of a principal map (AWS, Service, Federated, CanonicalUser)."""

    kind: str
    values: Values
    span: Span | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(slots=True)
class PrincipalSpec:
    """`Principal` or `NotPrincipal`. `is_wildcard` means the bare string `"*"` was written."""

    entries: tuple[PrincipalEntry, ...] = ()
    is_wildcard: bool = False
    negated: bool = False
    span: Span | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(slots=True)
class ConditionValue:
    """One condition value: its text (JSON numbers and booleans keep their exact text)."""

    text: str
    kind: ValueKind = ValueKind.STRING
    span: Span | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(slots=True)
class ConditionEntry:
    """`key: value-or-list` inside one operator block."""

    key: str
    values: tuple[ConditionValue, ...]
    is_list: bool = False
    span: Span | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(slots=True)
class ConditionClause:
    """One operator block: the operator's exact text (e.g. `ForAnyValue:StringLikeIfExists`)."""

    operator: str
    entries: tuple[ConditionEntry, ...]
    span: Span | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(slots=True)
class Statement:
    effect: Effect
    action: ActionSpec
    resource: ResourceSpec | None = None
    principal: PrincipalSpec | None = None
    condition: tuple[ConditionClause, ...] | None = None  # None: no Condition element; (): `{}`
    sid: str | None = None
    span: Span | None = attrs.field(default=None, eq=False, repr=False)
    comments: tuple[str, ...] = attrs.field(default=(), eq=False, repr=False)
    # DSL: a comment after the statement's last line (`comments` are printed above it).
    trailing_comment: str | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(slots=True)
class Policy:
    """A policy document. `version` None means no Version element (the 2008 language)."""

    statements: tuple[Statement, ...]
    version: str | None = "2012-10-17"
    id: str | None = None
    statement_is_list: bool = True
    span: Span | None = attrs.field(default=None, eq=False, repr=False)
    source: Source | None = attrs.field(default=None, eq=False, repr=False)
    comments: tuple[str, ...] = attrs.field(default=(), eq=False, repr=False)
    # DSL comments after the last statement (`comments` holds the file's header comments).
    trailing_comments: tuple[str, ...] = attrs.field(default=(), eq=False, repr=False)

    @property
    def variables_enabled(self) -> bool:
        """Policy variables are recognised only in the 2012-10-17 language."""
        return self.version == "2012-10-17"
