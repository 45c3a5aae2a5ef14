"""IAM wildcard matching (`*`, `?`) compiled to matchers that run in time linear in the input.

No regular expressions: a pattern is split on `*` into fixed-length segments (a segment may hold
`?` positions). The first segment is anchored at the start, the last at the end, and the middle
segments are found left to right at their leftmost position. Because every segment has a fixed
length, the leftmost placement is always the best one, so there is no backtracking.

Three matching rules build on the glob (policy-grammar.md §3.3-§3.4, conditions.md §4.7):

* actions: `*`, or `service:pattern`; service compared case-insensitively, action-name glob
  case-insensitive;
* Resource / NotResource ARNs: per colon-separated field; partition, service, region and
  account case-insensitive, the resource field case-sensitive; a `*` does not cross a `:` except
  when it is the last character of a field, where it may swallow the following fields;
* `Arn*` condition operators: exactly six fields on both sides, first `arn`, per-field glob,
  case-sensitive, no swallowing.

A pattern may be built from `Part`s so that text substituted for a policy variable stays literal
(a `*` that came from a tag value is not a wildcard, conditions.md §5.3).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import NamedTuple

Matcher = Callable[[str], bool]
"""A compiled pattern: `matcher(text) -> bool`."""


class Part(NamedTuple):
    """A piece of a pattern. `literal=True`: every character, `*` and `?` included, is literal."""

    text: str
    literal: bool = False


# --------------------------------------------------------------------------------------------
# The glob matcher


class _Segment:
    """A fixed-length run of the pattern between two `*`: literal chunks at fixed offsets.

    `?` positions are the gaps between chunks. `length` counts every character, `?` included.
    """

    __slots__ = ("chunks", "first", "length", "plain")

    def __init__(self, chars: list[str], wild: list[bool]) -> None:
        self.length = len(chars)
        chunks: list[tuple[int, str]] = []
        start = None
        for i, is_wild in enumerate([*wild, True]):
            if not is_wild and start is None:
                start = i
            elif is_wild and start is not None:
                chunks.append((start, "".join(chars[start:i])))
                start = None
        self.chunks: tuple[tuple[int, str], ...] = tuple(chunks)
        # A segment without `?`: one chunk at offset 0 (or empty) and str.find does all the work.
        self.plain: str | None = None
        if not any(wild):
            self.plain = "".join(chars)
        self.first: tuple[int, str] | None = chunks[0] if chunks else None

    def at(self, text: str, pos: int) -> bool:
        """Does the segment match `text` starting exactly at `pos`?"""
        if pos + self.length > len(text):
            return False
        return all(text.startswith(chunk, pos + off) for off, chunk in self.chunks)

    def find(self, text: str, start: int, end: int) -> int:
        """Leftmost position p >= start with the segment inside text[start:end], or -1."""
        if self.plain is not None:
            return text.find(self.plain, start, end)
        last = end - self.length
        if self.first is None:  # only `?`: any position works
            return start if start <= last else -1
        off, chunk = self.first
        pos = start
        while pos <= last:
            hit = text.find(chunk, pos + off, last + off + len(chunk))
            if hit < 0:
                return -1
            cand = hit - off
            if self.at(text, cand):
                return cand
            pos = cand + 1
        return -1


class Glob:
    """A compiled glob. Call it with the text; `ignore_case` lower-cases both sides."""

    __slots__ = ("_exact", "_first", "_last", "_middle", "_star", "ends_with_star", "ignore_case")

    def __init__(self, parts: Sequence[Part], ignore_case: bool = False) -> None:
        self.ignore_case = ignore_case
        segments: list[_Segment] = []
        chars: list[str] = []
        wild: list[bool] = []
        stars = 0
        last_was_star = False
        for part in parts:
            text = part.text.lower() if ignore_case else part.text
            for ch in text:
                last_was_star = False
                if part.literal:
                    chars.append(ch)
                    wild.append(False)
                elif ch == "*":
                    segments.append(_Segment(chars, wild))
                    chars, wild = [], []
                    stars += 1
                    last_was_star = True
                elif ch == "?":
                    chars.append("?")
                    wild.append(True)
                else:
                    chars.append(ch)
                    wild.append(False)
        segments.append(_Segment(chars, wild))
        self.ends_with_star = last_was_star
        self._star = stars > 0
        self._exact: _Segment | None = None if stars else segments[0]
        self._first = segments[0]
        self._last = segments[-1]
        self._middle = tuple(s for s in segments[1:-1] if s.length)

    def __call__(self, text: str) -> bool:
        if self.ignore_case:
            text = text.lower()
        if self._exact is not None:
            return self._exact.length == len(text) and self._exact.at(text, 0)
        first, last = self._first, self._last
        end = len(text) - last.length
        if end < first.length or not first.at(text, 0) or not last.at(text, end):
            return False
        pos = first.length
        for seg in self._middle:
            hit = seg.find(text, pos, end)
            if hit < 0:
                return False
            pos = hit + seg.length
        return True

    @property
    def is_match_all(self) -> bool:
        """True for `*` (and `**`...): matches every text."""
        return (
            self._star and self._first.length == 0 and self._last.length == 0 and (not self._middle)
        )


def _always(_text: str) -> bool:
    return True


def _never(_text: str) -> bool:
    return False


def has_wildcard(pattern: str) -> bool:
    """Does the text contain a wildcard character (`*` or `?`)?"""
    return "*" in pattern or "?" in pattern


@functools.lru_cache(maxsize=65536)
def compile_parts(parts: tuple[Part, ...], *, ignore_case: bool = False) -> Matcher:
    """Compile a pattern made of parts (literal parts carry no wildcards). Cached."""
    if not any(has_wildcard(p.text) and not p.literal for p in parts):
        exact = "".join(p.text for p in parts)
        if ignore_case:
            exact = exact.lower()
            return lambda text: text.lower() == exact
        return exact.__eq__
    glob = Glob(parts, ignore_case)
    if glob.is_match_all:
        return _always
    return glob


@functools.lru_cache(maxsize=65536)
def compile_pattern(pattern: str, *, ignore_case: bool = False) -> Matcher:
    """Compile an IAM glob (`*` any run incl. empty, `?` one character). Cached."""
    return compile_parts((Part(pattern),), ignore_case=ignore_case)


def match_pattern(pattern: str, text: str, *, ignore_case: bool = False) -> bool:
    """One-shot `compile_pattern(pattern)(text)`."""
    return compile_pattern(pattern, ignore_case=ignore_case)(text)


# --------------------------------------------------------------------------------------------
# Actions


@functools.lru_cache(maxsize=65536)
def compile_action_pattern(pattern: str) -> Matcher:
    """Matcher for one Action/NotAction entry against a request action `service:Operation`.

    `*` matches every action. Otherwise the service prefix (no wildcards) is compared
    case-insensitively and the action name globbed case-insensitively. An entry without a colon
    (invalid, e.g. `s3GetObject`) matches nothing.
    """
    if pattern == "*":
        return _always
    service, sep, name = pattern.partition(":")
    if not sep:
        return _never
    service = service.lower()
    name_matcher = compile_pattern(name, ignore_case=True)

    def match(action: str) -> bool:
        svc, colon, rest = action.partition(":")
        return bool(colon) and svc.lower() == service and name_matcher(rest)

    return match


def match_action(pattern: str, action: str) -> bool:
    """One-shot `compile_action_pattern(pattern)(action)`."""
    return compile_action_pattern(pattern)(action)


# --------------------------------------------------------------------------------------------
# ARNs


def split_arn_fields(text: str) -> list[str]:
    """Split an ARN (or ARN pattern) into at most six fields; the sixth keeps its colons."""
    return text.split(":", 5)


def _split_parts(parts: Sequence[Part]) -> list[list[Part]]:
    """Split a part list into ARN fields on the colons of non-literal parts (at most six)."""
    fields: list[list[Part]] = [[]]
    for part in parts:
        if part.literal or len(fields) == 6:
            fields[-1].append(part)
            continue
        pieces = part.text.split(":", 6 - len(fields))
        fields[-1].append(Part(pieces[0]))
        for piece in pieces[1:]:
            fields.append([Part(piece)])
    return fields


_RESOURCE_FIELD = 5


class ResourceMatcher:
    """A Resource/NotResource ARN pattern (policy-grammar.md §3.4).

    Pattern field i is matched against text field t with a glob (`*` stays inside the field;
    the text's resource field may contain colons, which its `*` then matches). A pattern field
    whose last character is a wildcard `*` may also swallow the following text fields whole.
    Text fields 0-4 (arn, partition, service, region, account) are compared case-insensitively,
    the resource field case-sensitively.
    """

    __slots__ = ("_fields", "_insensitive", "_sensitive", "_swallows")

    def __init__(self, parts: Sequence[Part]) -> None:
        fields = _split_parts(parts)
        self._fields = len(fields)
        self._sensitive = tuple(compile_parts(tuple(f)) for f in fields)
        self._insensitive = tuple(compile_parts(tuple(f), ignore_case=True) for f in fields)
        self._swallows = tuple(_ends_with_star(f) for f in fields)

    def __call__(self, text: str) -> bool:
        tfields = split_arn_fields(text)
        n_text = len(tfields)
        n_pat = self._fields
        # The text fields where pattern field i may start (fields before them all matched).
        starts = {0}
        for i in range(n_pat):
            nxt: set[int] = set()
            for t in starts:
                if t >= n_text:
                    continue
                matcher = self._sensitive[i] if t == _RESOURCE_FIELD else self._insensitive[i]
                if not matcher(tfields[t]):
                    continue
                if self._swallows[i]:
                    if i == n_pat - 1:
                        return True  # the last field's trailing `*` swallows the rest
                    nxt.update(range(t + 1, n_text))
                else:
                    nxt.add(t + 1)
            starts = nxt
            if not starts:
                return False
        return n_text in starts


def _ends_with_star(field: Sequence[Part]) -> bool:
    for part in reversed(field):
        if part.text:
            return not part.literal and part.text.endswith("*")
    return False


@functools.lru_cache(maxsize=65536)
def compile_resource_parts(parts: tuple[Part, ...]) -> Matcher:
    """Compile a Resource/NotResource entry made of parts (see `ResourceMatcher`). Cached."""
    if len(parts) == 1 and not parts[0].literal and parts[0].text == "*":
        return _always
    return ResourceMatcher(parts)


def compile_resource_pattern(pattern: str) -> Matcher:
    """Compile a Resource/NotResource entry (`*` or an ARN pattern). Cached."""
    return compile_resource_parts((Part(pattern),))


def match_resource(pattern: str, arn: str) -> bool:
    """One-shot `compile_resource_pattern(pattern)(arn)`."""
    return compile_resource_pattern(pattern)(arn)


class ArnConditionMatcher:
    """An `Arn*` condition value (conditions.md §4.7): six fields, per-field glob, exact case.

    Call `match(text)`; it returns None when the context value is not a six-field ARN (the
    comparison is then invalid: neither ArnLike nor ArnNotLike holds).
    """

    __slots__ = ("_fields",)

    def __init__(self, fields: Sequence[Sequence[Part]]) -> None:
        self._fields = tuple(compile_parts(tuple(f)) for f in fields)

    def match(self, text: str) -> bool | None:
        tfields = text.split(":", 5)
        if len(tfields) != 6 or tfields[0] != "arn":
            return None
        return all(m(f) for m, f in zip(self._fields, tfields, strict=True))


@functools.lru_cache(maxsize=65536)
def compile_arn_condition_parts(parts: tuple[Part, ...]) -> ArnConditionMatcher | None:
    """Compile an `Arn*` condition value; None when it is not a six-field `arn:` pattern."""
    fields = _split_parts(parts)
    if len(fields) != 6 or fields[0] != [Part("arn")]:
        return None
    return ArnConditionMatcher(fields)


def compile_arn_condition_pattern(pattern: str) -> ArnConditionMatcher | None:
    """Compile an `Arn*` condition value given as plain text. Cached."""
    return compile_arn_condition_parts((Part(pattern),))
