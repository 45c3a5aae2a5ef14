from __future__ import annotations

from policylang.errors import AccountError, AuthError, PolicySyntaxError
from policylang.source import Source


def test_positions_are_one_based_lines_and_columns() -> None:
    source = Source("p.json", "{\n  \"a\": 1,\n  \"b\": 2\n}")

    assert source.position(0) == (1, 1)
    assert source.position(4) == (2, 3)
    assert source.position(len(source.text) - 1) == (4, 1)


def test_snippet_puts_a_caret_under_the_span() -> None:
    source = Source("p.json", "line one\n  bad token here\n")
    start = source.text.index("token")

    snippet = source.snippet(source.span(start, start + len("token")))

    assert snippet.splitlines() == ["2 |   bad token here", "          ^^^^^"]


def test_error_renders_like_ruff_and_mypy() -> None:
    source = Source("p.json", '{"Version": 1}')
    error = PolicySyntaxError(
        "Version must be a string",
        code="policy.bad-type",
        source=source,
        span=source.span(12, 13),
        path="Version",
        hint='write "2012-10-17"',
    )

    assert error.render() == (
        'p.json:1:13: error[policy.bad-type]: Version must be a string (at Version)\n'
        '  hint: write "2012-10-17"'
    )


def test_aws_error_names_become_stable_codes() -> None:
    assert AccountError("x", aws_error="NoSuchEntity").code == "account.no-such-entity"
    denied = AuthError("x", aws_error="SignatureDoesNotMatch")
    assert (denied.code, denied.status) == ("auth.signature-does-not-match", 403)
