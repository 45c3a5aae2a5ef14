"""Source text and positions: `Source` (name + text) and `Span` (offsets, 1-based line/column)."""

from __future__ import annotations

import bisect
from functools import cached_property

import attrs


@attrs.frozen(slots=True)
class Span:
    """A region of a source text. Offsets are 0-based characters; line and column are 1-based."""

    start: int
    end: int
    line: int
    column: int
    end_line: int
    end_column: int

    def as_dict(self) -> dict[str, int]:
        return {"line": self.line, "column": self.column}


@attrs.define(slots=False)
class Source:
    """A named text (a file, stdin or a string) that spans point into."""

    name: str
    text: str

    @cached_property
    def _line_starts(self) -> list[int]:
        starts = [0]
        find = self.text.find
        i = find("\n")
        while i != -1:
            starts.append(i + 1)
            i = find("\n", i + 1)
        return starts

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a character offset."""
        starts = self._line_starts
        index = bisect.bisect_right(starts, offset) - 1
        return index + 1, offset - starts[index] + 1

    def span(self, start: int, end: int) -> Span:
        line, column = self.position(start)
        end_line, end_column = self.position(end)
        return Span(start, end, line, column, end_line, end_column)

    def line_text(self, line: int) -> str:
        starts = self._line_starts
        if not 1 <= line <= len(starts):
            return ""
        begin = starts[line - 1]
        stop = starts[line] - 1 if line < len(starts) else len(self.text)
        return self.text[begin:stop].rstrip("\r")

    def snippet(self, span: Span) -> str:
        """The span's first line with a caret line under it, for error messages."""
        text = self.line_text(span.line)
        width = max(1, (span.end_column - span.column) if span.end_line == span.line else 1)
        width = min(width, max(1, len(text) - span.column + 1))
        gutter = f"{span.line} | "
        return f"{gutter}{text}\n{' ' * len(gutter)}{' ' * (span.column - 1)}{'^' * width}"
