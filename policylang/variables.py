"""Policy variables: parse `${...}` in policy text and substitute request-context values.

Grammar (policy-grammar.md §4, conditions.md §5): `${key}`, `${key, 'default'}`, and the escapes
`${*}`, `${?}`, `${$}` (literal `*`, `?`, `$`). Recognised only in the 2012-10-17 language; with
`2008-10-17` or no Version the text is used as written. A `${` without a well-formed variable
after it (unterminated, empty name) is literal text **[interp]**.

Substituted text is literal: a template resolves to `Part`s whose substituted pieces are marked
literal, so a `*` that came from a tag value is never a wildcard (conditions.md §5.3).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping

import attrs

from policylang.patterns import Part

ContextValue = str | tuple[str, ...]

# `${` then either an escape character or a key name with an optional quoted default, then `}`.
# Key names are condition keys (`aws:PrincipalTag/cost center` may contain spaces), so only the
# characters that delimit the syntax are excluded.
_VARIABLE = re.compile(r"\$\{(?:([*?$])|([^,'{}$]+?)(?:,\s*'([^']*)')?)\}")

_ESCAPES = {"*": "*", "?": "?", "$": "$"}


@attrs.frozen(slots=True)
class Variable:
    """A `${key}` / `${key, 'default'}` reference. `key` keeps the spelling written."""

    key: str
    default: str | None = None

    @property
    def lookup_key(self) -> str:
        return self.key.lower()


Piece = str | Variable
"""A template piece: raw policy text (wildcards keep their meaning), or a variable."""


@attrs.frozen(slots=True)
class Template:
    """A piece of policy text with its variables located. Build with `parse_template`."""

    pieces: tuple[Piece | Part, ...]

    @property
    def variables(self) -> tuple[Variable, ...]:
        return tuple(p for p in self.pieces if isinstance(p, Variable))

    @property
    def has_variables(self) -> bool:
        return any(isinstance(p, Variable) for p in self.pieces)

    @property
    def is_plain(self) -> bool:
        """True when the text contains no variable and no escape: it is used as written."""
        return all(isinstance(p, str) for p in self.pieces)

    def resolve(self, context: Mapping[str, ContextValue]) -> tuple[Part, ...] | None:
        """The pattern parts with variables replaced; None when a variable does not resolve.

        `context` is keyed by lower-cased key name. Only single-valued keys resolve; a
        multi-valued (or absent) key falls back to the default, if any **[interp]**.
        """
        out: list[Part] = []
        for piece in self.pieces:
            if isinstance(piece, str):
                out.append(Part(piece))
            elif isinstance(piece, Part):
                out.append(piece)
            else:
                value = lookup_variable(piece, context)
                if value is None:
                    return None
                out.append(Part(value, literal=True))
        return tuple(out)

    def resolve_text(self, context: Mapping[str, ContextValue]) -> str | None:
        """The substituted text (for operators without wildcards); None when unresolved."""
        parts = self.resolve(context)
        return None if parts is None else "".join(p.text for p in parts)

    def missing_keys(self, context: Mapping[str, ContextValue]) -> tuple[str, ...]:
        """Lower-cased keys of variables without default whose key is absent from the context."""
        return tuple(
            v.lookup_key
            for v in self.variables
            if v.default is None and lookup_variable(v, context) is None
        )


def lookup_variable(variable: Variable, context: Mapping[str, ContextValue]) -> str | None:
    """The value a variable stands for in `context`, or None when it does not resolve."""
    value = context.get(variable.lookup_key)
    if isinstance(value, str):
        return value
    return variable.default


@functools.lru_cache(maxsize=65536)
def parse_template(text: str, *, enabled: bool = True) -> Template:
    """Locate the variables of `text`; with `enabled=False` (2008 language) the text is plain."""
    if not enabled or "${" not in text:
        return Template((text,))
    pieces: list[Piece | Part] = []
    pos = 0
    start = text.find("${")
    while start >= 0:
        m = _VARIABLE.match(text, start)
        if m is None:
            start = text.find("${", start + 1)
            continue
        if start > pos:
            pieces.append(text[pos:start])
        escape, key, default = m.groups()
        if escape is not None:
            pieces.append(Part(_ESCAPES[escape], literal=True))
        else:
            pieces.append(Variable(key, default))
        pos = m.end()
        start = text.find("${", pos)
    if pos < len(text):
        pieces.append(text[pos:])
    return Template(tuple(pieces))


def has_variables(text: str) -> bool:
    """Does the text contain a variable or escape (2012-10-17 language)?"""
    return not parse_template(text).is_plain


@attrs.frozen(slots=True)
class ResourceTemplate:
    """A Resource/NotResource entry: variables only in the resource field (after the 5th colon).

    `prefix` is the raw `arn:partition:service:region:account:` text (wildcards keep their
    meaning, `${...}` there is plain text); `field` is the resource field's template.
    """

    prefix: str
    field: Template

    def resolve(self, context: Mapping[str, ContextValue]) -> tuple[Part, ...] | None:
        rest = self.field.resolve(context)
        if rest is None:
            return None
        return (Part(self.prefix), *rest) if self.prefix else rest

    def missing_keys(self, context: Mapping[str, ContextValue]) -> tuple[str, ...]:
        return self.field.missing_keys(context)

    @property
    def has_variables(self) -> bool:
        return self.field.has_variables


@functools.lru_cache(maxsize=65536)
def parse_resource_template(text: str, *, enabled: bool = True) -> ResourceTemplate:
    """Split a Resource entry into its fixed prefix and its (variable-bearing) resource field."""
    fields = text.split(":", 5)
    if len(fields) < 6:
        return ResourceTemplate("", Template((text,)))
    prefix = ":".join(fields[:5]) + ":"
    return ResourceTemplate(prefix, parse_template(fields[5], enabled=enabled))
