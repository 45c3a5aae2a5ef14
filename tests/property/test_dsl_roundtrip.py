"""DSL round trips on generated IR (shared/design/dsl.md §9).

* IR → DSL → IR is the identity (the IR records every shape the DSL must keep, so no
  normalisation is needed beyond what the IR itself ignores: spans and comments' positions).
* Formatting is canonical: format(parse(format(x))) == format(x).
* JSON → IR → DSL → IR → JSON gives back the same JSON text.
* Comments attached to statements and the document survive a format/parse cycle.
"""

from __future__ import annotations

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from policylang.grammar.dsl_to_ir import parse_dsl
from policylang.grammar.ir_to_dsl import format_dsl, format_value
from policylang.grammar.ir_to_json import format_iam_json
from policylang.grammar.json_to_ir import parse_iam_json
from policylang.ir import Policy
from tests.strategies import policies, texts


# Generating policies is the slow part (~0.1 s each on a busy machine), so counts stay modest.
@settings(max_examples=100)
@given(policies())
def test_ir_to_dsl_to_ir_is_identity(policy: Policy) -> None:
    text = format_dsl(policy)

    parsed = parse_dsl(text, source_name="generated.policy")

    assert parsed == policy
    assert format_dsl(parsed) == text


@settings(max_examples=50)
@given(policies())
def test_json_to_dsl_to_json_is_identity(policy: Policy) -> None:
    json_text = format_iam_json(policy)
    from_json = parse_iam_json(json_text, source_name="generated.json")

    through_dsl = parse_dsl(format_dsl(from_json), source_name="generated.policy")

    assert through_dsl == from_json
    assert format_iam_json(through_dsl) == json_text


_COMMENT = texts(max_size=20).map(lambda t: ("# " + t.replace("\n", " ").replace("\r", " ")))


@settings(max_examples=50)
@given(policies(max_statements=3), st.data())
def test_comments_survive_formatting(policy: Policy, data: st.DataObject) -> None:
    comment_lists = st.lists(_COMMENT, max_size=2).map(
        lambda cs: tuple(c.rstrip() for c in cs)
    )
    statements = tuple(
        attrs.evolve(
            s,
            comments=data.draw(comment_lists),
            trailing_comment=data.draw(st.none() | _COMMENT.map(str.rstrip)),
        )
        for s in policy.statements
    )
    policy = attrs.evolve(
        policy,
        statements=statements,
        comments=data.draw(comment_lists),
        trailing_comments=data.draw(comment_lists),
    )
    text = format_dsl(policy)

    parsed = parse_dsl(text)

    assert parsed == policy
    assert [s.comments for s in parsed.statements] == [s.comments for s in statements]
    assert [s.trailing_comment for s in parsed.statements] == [
        s.trailing_comment for s in statements
    ]
    assert parsed.comments == policy.comments
    assert parsed.trailing_comments == policy.trailing_comments
    assert format_dsl(parsed) == text


@settings(max_examples=300)
@given(texts(max_size=30))
def test_any_string_value_round_trips(value: str) -> None:
    text = f"allow s3:GetObject on {format_value(value)}\n"

    parsed = parse_dsl(text)

    assert parsed.statements[0].resource is not None
    assert parsed.statements[0].resource.values.items == (value,)
