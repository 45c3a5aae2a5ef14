"""The `PolicyLangError` hierarchy: every error carries a stable code, a location and a hint.

Codes are `family.kebab-name` (`json.duplicate-key`, `policy.unknown-element`, …) and never
change once published: tools match on them. Rendering follows ruff and mypy:
`file:line:col: error[code]: message`.
"""

from __future__ import annotations

from policylang.source import Source, Span


class PolicyLangError(Exception):
    """Base class. `code` is stable; `span`/`source` locate it; `path` is a JSON path or field."""

    default_code = "error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        span: Span | None = None,
        source: Source | None = None,
        path: str | None = None,
        hint: str | None = None,
        expected: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.span = span
        self.source = source
        self.path = path
        self.hint = hint
        # Syntax errors: what could have stood here, in words (`,`, `on`, a value, …).
        self.expected = expected

    @property
    def source_name(self) -> str:
        return self.source.name if self.source is not None else "<input>"

    def location(self) -> str:
        if self.span is None:
            return self.source_name
        return f"{self.source_name}:{self.span.line}:{self.span.column}"

    def render(self, *, snippet: bool = False) -> str:
        """One line `file:line:col: error[code]: message (at PATH)`, plus hint and caret."""
        text = f"{self.location()}: error[{self.code}]: {self.message}"
        if self.path:
            text += f" (at {self.path})"
        if snippet and self.span is not None and self.source is not None:
            text += "\n" + self.source.snippet(self.span)
        if self.expected:
            text += f"\n  expected: {join_alternatives(self.expected)}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def __str__(self) -> str:
        return self.render()


class PolicySyntaxError(PolicyLangError):
    """The text is not well-formed: bad JSON, bad DSL, wrong element types."""

    default_code = "syntax.error"


class PolicyValidationError(PolicyLangError):
    """Well-formed text that breaks an IAM rule (per policy kind, sizes, ARN forms)."""

    default_code = "policy.invalid"


class CaseError(PolicyLangError):
    """A malformed simulation case (spec/simulation-case.md): names the field."""

    default_code = "case.invalid"


class AccountError(PolicyLangError):
    """Account data refused with AWS's error name (`NoSuchEntity`, `LimitExceeded`, …)."""

    default_code = "account.invalid"

    def __init__(self, message: str, *, aws_error: str, **kwargs: object) -> None:
        code = kwargs.pop("code", None) or f"account.{kebab_case(aws_error)}"
        super().__init__(message, code=str(code), **kwargs)  # type: ignore[arg-type]
        self.aws_error = aws_error


class AuthError(PolicyLangError):
    """Authentication failure with AWS's error code (`SignatureDoesNotMatch`, …) and status."""

    default_code = "auth.failed"

    def __init__(
        self, message: str, *, aws_error: str, status: int = 403, **kwargs: object
    ) -> None:
        code = kwargs.pop("code", None) or f"auth.{kebab_case(aws_error)}"
        super().__init__(message, code=str(code), **kwargs)  # type: ignore[arg-type]
        self.aws_error = aws_error
        self.status = status


def join_alternatives(words: tuple[str, ...] | list[str]) -> str:
    """`a`, `a or b`, `a, b or c`: how an `expected:` line lists the alternatives."""
    if len(words) <= 1:
        return "".join(words) or "nothing"
    return ", ".join(words[:-1]) + " or " + words[-1]


def kebab_case(name: str) -> str:
    """`SignatureDoesNotMatch` → `signature-does-not-match` (AWS error names → our codes)."""
    out: list[str] = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and not name[i - 1].isupper():
            out.append("-")
        out.append(ch.lower())
    return "".join(out)
