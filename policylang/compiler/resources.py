"""Resource / NotResource entries lowered to matchers, variables planned at compile time.

Matching semantics are `patterns.compile_resource_parts` and variable resolution is
`variables.parse_resource_template` (the reference's own functions). The lowering adds one fast
path: when the first five ARN fields of a pattern hold no wildcard (the usual
`arn:aws:s3:::bucket/*` or `arn:aws:dynamodb:eu-west-1:111122223333:table/x`), the pattern
matches exactly the ARNs that start with that prefix (ASCII case-insensitively) and whose
resource field matches the field's glob — a slice comparison and one glob instead of the
general per-field state machine.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from policylang.patterns import Part, compile_parts, compile_resource_parts, has_wildcard
from policylang.variables import ResourceTemplate, parse_resource_template

ContextValue = str | tuple[str, ...]
Context = Mapping[str, ContextValue]
ArnMatcher = Callable[[str], bool]


def star_glob(parts: tuple[Part, ...]) -> ArnMatcher:
    """`patterns.compile_parts(parts)`, specialised when the pattern's only wildcard is `*`.

    The usual resource fields (`bucket/*`, `*`, `table/team-*`, `*.log`) become `startswith`
    / `endswith` tests; other patterns keep the reference glob. Same language either way: `*`
    matches any run (including empty), everything else is literal and anchored.
    """
    if any(p.literal for p in parts):
        return compile_parts(parts)
    text = "".join(p.text for p in parts)
    if "?" in text or "*" not in text:
        return compile_parts(parts)
    segments = text.split("*")
    head, tail, middle = segments[0], segments[-1], [s for s in segments[1:-1] if s]
    if not middle:
        if not tail:
            return (lambda s: s.startswith(head)) if head else _always
        if not head:
            return lambda s: s.endswith(tail)
        least = len(head) + len(tail)
        return lambda s: len(s) >= least and s.startswith(head) and s.endswith(tail)
    return compile_parts(parts)  # several stars in a row of literals: the reference glob


def _always(_text: str) -> bool:
    return True


def _split_prefix(parts: tuple[Part, ...]) -> tuple[str, tuple[Part, ...]] | None:
    """(`arn:p:s:r:a:` prefix, resource-field parts) when the fast path applies, else None."""
    if not parts or parts[0].literal:
        return None
    head = parts[0].text
    fields = head.split(":", 5)
    if len(fields) < 6:
        return None
    prefix = head[: len(head) - len(fields[5])]
    if has_wildcard(prefix) or not prefix.isascii():
        return None
    return prefix, (Part(fields[5]), *parts[1:])


def static_matcher(parts: tuple[Part, ...]) -> ArnMatcher:
    """A matcher for a fully resolved entry, equivalent to `compile_resource_parts(parts)`."""
    split = _split_prefix(parts)
    if split is None:
        return compile_resource_parts(parts)
    prefix, field_parts = split
    lowered = prefix.lower()
    size = len(prefix)
    field = star_glob(field_parts)

    def match(arn: str) -> bool:
        # startswith is `arn[:size] == prefix` without building the slice
        return (arn.startswith(prefix) or arn[:size].lower() == lowered) and field(arn[size:])

    return match


class ResourceEntry:
    """One Resource/NotResource entry: a static matcher, or a template resolved per request.

    `match(arn, ctx)` returns True/False, or None when a variable of the entry does not resolve
    (the caller decides what an unresolved entry means for Resource versus NotResource).
    """

    __slots__ = ("_field_cache", "_prefix", "_prefix_lower", "reads", "static", "template")

    def __init__(self, text: str, *, variables_enabled: bool) -> None:
        template: ResourceTemplate = parse_resource_template(text, enabled=variables_enabled)
        self.static: ArnMatcher | None = None
        self.template: ResourceTemplate | None = None
        self.reads: frozenset[str] = frozenset()
        self._prefix = template.prefix
        self._prefix_lower = template.prefix.lower()
        self._field_cache: bool = False
        if not template.has_variables:
            parts = template.resolve({})
            assert parts is not None  # no variables: always resolves
            self.static = static_matcher(parts)
        else:
            self.template = template
            self.reads = frozenset(v.lookup_key for v in template.field.variables)
            # the fixed prefix can be checked before substituting (see static_matcher)
            self._field_cache = not has_wildcard(template.prefix) and template.prefix.isascii()

    def match(self, arn: str, ctx: Context) -> bool | None:
        if self.static is not None:
            return self.static(arn)
        template = self.template
        assert template is not None
        rest = template.field.resolve(ctx)
        if rest is None:
            return None
        if self._field_cache:
            size = len(self._prefix)
            head = arn[:size]
            if head != self._prefix and head.lower() != self._prefix_lower:
                return False
            return compile_parts((Part(""), *rest))(arn[size:])
        return compile_resource_parts((Part(template.prefix), *rest))(arn)

    def missing_keys(self, ctx: Context) -> tuple[str, ...]:
        return () if self.template is None else self.template.missing_keys(ctx)
