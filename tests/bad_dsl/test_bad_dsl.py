"""Malformed DSL: every snippet in cases/ fails with its golden error text.

cases/NAME.policy is the input; cases/NAME.error is the expected rendering
(`NAME.policy:LINE:COL: error[CODE]: MESSAGE` and the hint line). A Hypothesis test feeds
mutated DSL to the parser and checks that only `PolicyLangError` ever escapes.
"""

from __future__ import annotations

import pathlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policylang.errors import PolicyLangError
from policylang.grammar.dsl_to_ir import parse_dsl
from policylang.grammar.ir_to_dsl import format_dsl

CASES = sorted((pathlib.Path(__file__).parent / "cases").glob("*.policy"))


def test_enough_cases() -> None:
    assert len(CASES) >= 80


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_bad_snippet(path: pathlib.Path, update_golden: bool) -> None:
    text = path.read_text(encoding="utf-8")
    with pytest.raises(PolicyLangError) as info:
        parse_dsl(text, source_name=path.name)
    error = info.value
    rendered = error.render() + "\n"
    golden = path.with_suffix(".error")
    if update_golden or not golden.exists():
        golden.write_text(rendered, encoding="utf-8")

    assert rendered == golden.read_text(encoding="utf-8")
    assert error.span is not None
    assert error.source is not None
    assert error.source.name == path.name
    assert error.code.count(".") == 1


SEEDS = [
    "@sid A\nallow s3:GetObject, s3:PutObject on arn:aws:s3:::acme/* by aws 111122223333\n",
    "deny * except iam:* on *\n  when aws:SourceIp ip not in [10.0.0.0/8]\n"
    "   and any aws:TagKeys like [a*] if exists\n  unless aws:MultiFactorAuthPresent\n",
    'version none\nid "x y"\nstatement object\nallow [s3:*] on [] by {} when {}\n',
    "allow s3:* on * when s3:max-keys num <= (10) and Foo() and Bool(k:x, [true])\n",
]
# Fragments that are likely to break the text in interesting places.
FRAGMENTS = [
    " ", "\n", ",", "[", "]", "(", ")", "{", "}", '"', "'", "#", "$", "${", "$$", "@sid",
    "allow", "deny", "on", "by", "when", "unless", "and", "except", "*", "==", "!=", "in",
    "not", "like", "is", "null", "if exists", "all", "any", "num", "ip", "aws", "service",
    "version", "statement object", "(1)", "é", "\t", "\\", "=", "<", ">=", ";",
]


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 6)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        piece = draw(st.sampled_from(FRAGMENTS) | st.text(max_size=3))
        if action == "insert":
            text = text[:i] + piece + text[i:]
        elif action == "delete":
            text = text[:i] + text[j:]
        else:
            text = text[:i] + piece + text[j:]
    return text


@settings(max_examples=300)
@given(mutated())
def test_mutated_text_raises_only_policylang_errors(text: str) -> None:
    failure: PolicyLangError | None = None
    try:
        policy = parse_dsl(text, source_name="fuzz.policy")
    except PolicyLangError as error:
        failure = error
    if failure is not None:
        assert failure.code
        assert failure.render().startswith("fuzz.policy")
        return
    # What parses must format and parse back to the same policy.
    assert parse_dsl(format_dsl(policy)) == policy
