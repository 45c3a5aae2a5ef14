"""The conformance corpus loader: strict, so that a typo in a case fails loudly.

Case files live in `tests/conformance/<area>/*.json`; a file holds one case (an object) or a
list of cases. Each case is a simulation case (spec/simulation-case.md) plus two corpus-only
fields: `expect` (required here) and `source` (required: the spec section the case encodes).
The product's own reader rejects unknown fields, so `source` is checked and then removed —
by blanking its characters in the text, which keeps every line and column of the file intact
for error messages.

Problems with the corpus itself (bad JSON, unknown or missing top-level fields, duplicate
names) are collected in `Corpus.problems`; a test asserts there are none. Everything inside
`policies` and `request` is checked by `policylang.simulate` itself, per case.
"""

from __future__ import annotations

import pathlib
from typing import Any

import attrs

from policylang._json import (
    JsonArray,
    JsonNode,
    JsonObject,
    JsonString,
    node_to_value,
    parse_located,
)
from policylang.errors import PolicyLangError
from policylang.source import Source

DECISIONS = ("allowed", "explicitDeny", "implicitDeny")
SPEC_FILES = ("conditions.md", "evaluation.md", "policy-grammar.md", "simulation-case.md")
"""A case's `source` starts with the spec file it encodes (then the section, free text)."""
CASE_FIELDS = ("name", "policies", "request", "expect", "source")
REQUIRED_FIELDS = ("name", "policies", "request", "expect", "source")


@attrs.frozen
class ConformanceCase:
    """One corpus case: `document`/`text` are the case without `source`, ready for simulate."""

    id: str
    area: str
    name: str
    expect: str
    source: str
    path: pathlib.Path
    text: str = attrs.field(repr=False)
    document: dict[str, Any] = attrs.field(repr=False)


@attrs.frozen
class Corpus:
    cases: tuple[ConformanceCase, ...]
    problems: tuple[str, ...]
    files: tuple[pathlib.Path, ...]

    @property
    def areas(self) -> dict[str, int]:
        """Number of cases per area."""
        counts: dict[str, int] = {}
        for case in self.cases:
            counts[case.area] = counts.get(case.area, 0) + 1
        return dict(sorted(counts.items()))


def load_corpus(root: pathlib.Path) -> Corpus:
    """Every case under `root/<area>/**/*.json`, checked; problems are collected, not raised."""
    cases: list[ConformanceCase] = []
    problems: list[str] = []
    seen: dict[str, str] = {}
    files = tuple(sorted(p for p in root.rglob("*.json") if p.is_file()))
    for path in files:
        rel = path.relative_to(root)
        if len(rel.parts) < 2:
            problems.append(f"{rel}: case files belong in an area directory: <area>/{rel}")
            continue
        area = rel.parent.as_posix()
        try:
            found = _load_file(path, rel.as_posix(), area)
        except PolicyLangError as error:
            problems.append(error.render())
            continue
        except OSError as error:
            problems.append(f"{rel}: cannot read: {error.strerror or error}")
            continue
        for case in found:
            where = f"{rel.as_posix()}"
            if case.id in seen:
                problems.append(
                    f"{where}: duplicate case name `{case.name}` in area `{area}` "
                    f"(also in {seen[case.id]})"
                )
                continue
            seen[case.id] = where
            cases.append(case)
    return Corpus(tuple(cases), tuple(problems), files)


class CorpusError(PolicyLangError):
    default_code = "corpus.invalid"


def _load_file(path: pathlib.Path, name: str, area: str) -> list[ConformanceCase]:
    source = Source(name, "")
    root = parse_located(path.read_bytes(), source=source)
    if isinstance(root, JsonObject):
        objects: list[JsonNode] = [root]
    elif isinstance(root, JsonArray):
        objects = list(root.items)
        if not objects:
            raise CorpusError("the file holds an empty list of cases", source=source)
    else:
        raise CorpusError(
            "a case file holds a case object or a list of them",
            span=root.span,
            source=source,
        )
    return [_case(node, source, path, area, index) for index, node in enumerate(objects)]


def _case(
    node: JsonNode, source: Source, path: pathlib.Path, area: str, index: int
) -> ConformanceCase:
    where = f"[{index}]" if source.text.lstrip().startswith("[") else ""
    if not isinstance(node, JsonObject):
        raise CorpusError("a case must be a JSON object", span=node.span, source=source, path=where)
    for pair in node.pairs:
        if pair.key not in CASE_FIELDS:
            raise CorpusError(
                f"unknown field `{pair.key}` (allowed: {', '.join(CASE_FIELDS)})",
                code="corpus.unknown-field",
                span=pair.key_span,
                source=source,
                path=_join(where, pair.key),
            )
    for field in REQUIRED_FIELDS:
        if node.get(field) is None:
            raise CorpusError(
                f"missing field `{field}`: every corpus case has a name, an `expect` and the "
                "`source` (spec section) it encodes",
                code="corpus.missing-field",
                span=node.span,
                source=source,
                path=where or None,
            )
    strings: dict[str, str] = {}
    for field in ("name", "expect", "source"):
        pair = node.get(field)
        assert pair is not None
        if not isinstance(pair.value, JsonString) or not pair.value.value.strip():
            raise CorpusError(
                f"`{field}` must be a non-empty string",
                code="corpus.wrong-type",
                span=pair.value.span,
                source=source,
                path=_join(where, field),
            )
        strings[field] = pair.value.value
    if not strings["source"].startswith(SPEC_FILES):
        source_pair = node.get("source")
        assert source_pair is not None
        raise CorpusError(
            f"`source` must start with the spec file the case encodes ({', '.join(SPEC_FILES)})"
            f", not `{strings['source']}`",
            code="corpus.invalid-source",
            span=source_pair.value.span,
            source=source,
            path=_join(where, "source"),
            hint='e.g. "evaluation.md §4.2 cross-account needs both sides"',
        )
    if strings["expect"] not in DECISIONS:
        expect_pair = node.get("expect")
        assert expect_pair is not None
        raise CorpusError(
            f"`expect` must be one of {', '.join(DECISIONS)}, not `{strings['expect']}`",
            code="corpus.invalid-expect",
            span=expect_pair.value.span,
            source=source,
            path=_join(where, "expect"),
        )
    text = _without_source_field(source.text, node)
    document = {p.key: node_to_value(p.value) for p in node.pairs if p.key != "source"}
    return ConformanceCase(
        id=f"{area}/{strings['name']}",
        area=area,
        name=strings["name"],
        expect=strings["expect"],
        source=strings["source"],
        path=path,
        text=text,
        document=document,
    )


def _without_source_field(text: str, case: JsonObject) -> str:
    """The text of `case` alone with its `source` pair blanked; positions stay where they were.

    Everything outside the case object (other cases of a list file) is blanked too, so the
    result is one JSON object whose lines and columns match the file.
    """
    pair = case.get("source")
    assert pair is not None
    start, end = pair.key_span.start, pair.value.span.end
    after = end
    while after < len(text) and text[after] in " \t\r\n":
        after += 1
    if after < len(text) and text[after] == ",":
        end = after + 1  # `"source": "...",` followed by more pairs
    else:
        before = start - 1
        while before >= 0 and text[before] in " \t\r\n":
            before -= 1
        if text[before] == ",":
            start = before  # the last pair: drop the comma before it
    case_start, case_end = case.span.start, case.span.end

    def blank(part: str) -> str:
        return "".join(ch if ch in "\r\n" else " " for ch in part)

    return (
        blank(text[:case_start])
        + text[case_start:start]
        + blank(text[start:end])
        + text[end:case_end]
        + blank(text[case_end:])
    )


def _join(where: str, field: str) -> str:
    return f"{where}.{field}" if where else field
