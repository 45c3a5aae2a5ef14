"""DSL → IR (`parse_dsl`) and IR → DSL (`format_dsl`): shapes, operators, `unless`, spans."""

from __future__ import annotations

import re

import pytest

from policylang.errors import PolicyLangError, PolicySyntaxError, PolicyValidationError
from policylang.grammar import _lark
from policylang.grammar.dsl_to_ir import parse_dsl
from policylang.grammar.ir_to_dsl import WORD_RE, format_dsl, format_value
from policylang.ir import (
    ConditionClause,
    ConditionEntry,
    ConditionValue,
    Effect,
    Policy,
    Statement,
    ValueKind,
)


def one(text: str) -> Statement:
    policy = parse_dsl(text)
    assert len(policy.statements) == 1
    return policy.statements[0]


def cond(text: str) -> tuple[ConditionClause, ...]:
    statement = one(f"allow s3:* on *\n  when {text}\n")
    assert statement.condition is not None
    return statement.condition


def entry(key: str, *values: str, is_list: bool = False) -> ConditionEntry:
    return ConditionEntry(key, tuple(ConditionValue(v) for v in values), is_list)


def test_defaults_of_a_minimal_statement() -> None:
    policy = parse_dsl("allow s3:GetObject\n")

    assert policy.version == "2012-10-17"
    assert policy.id is None
    assert policy.statement_is_list
    statement = policy.statements[0]
    assert statement.effect is Effect.ALLOW
    assert statement.action.values.items == ("s3:GetObject",)
    assert not statement.action.values.is_list
    assert statement.resource is None
    assert statement.principal is None
    assert statement.condition is None
    assert statement.sid is None


@pytest.mark.parametrize(
    ("text", "items", "is_list"),
    [
        ("allow a:b", ("a:b",), False),
        ("allow [a:b]", ("a:b",), True),
        ("allow a:b, c:d", ("a:b", "c:d"), True),
        ("allow [a:b, c:d,]", ("a:b", "c:d"), True),
    ],
)
def test_list_shapes_are_kept(text: str, items: tuple[str, ...], is_list: bool) -> None:
    values = one(text).action.values

    assert values.items == items
    assert values.is_list is is_list


def test_not_elements_use_star_except() -> None:
    statement = one("deny * except iam:*, sts:* on * except arn:aws:s3:::b by * except aws 1\n")

    assert statement.action.negated
    assert statement.action.values.items == ("iam:*", "sts:*")
    assert statement.resource is not None
    assert statement.resource.negated
    assert statement.principal is not None
    assert statement.principal.negated
    assert statement.principal.entries[0].kind == "AWS"


def test_star_principal_and_aws_star_differ() -> None:
    star = one("allow s3:* on * by *").principal
    aws_star = one("allow s3:* on * by aws *").principal

    assert star is not None
    assert aws_star is not None
    assert star.is_wildcard
    assert not aws_star.is_wildcard
    assert star != aws_star


def test_principal_kinds_keep_their_order() -> None:
    text = "allow sts:AssumeRole by service x, canonical [c], federated f, aws a"
    principal = one(text).principal

    assert principal is not None
    assert [e.kind for e in principal.entries] == ["Service", "CanonicalUser", "Federated", "AWS"]
    assert principal.entries[1].values.is_list


@pytest.mark.parametrize(
    ("test", "operator", "expected"),
    [
        ("k:a == v", "StringEquals", entry("k:a", "v")),
        ("k:a in [v, w]", "StringEquals", entry("k:a", "v", "w", is_list=True)),
        ("k:a in v", "StringEquals", entry("k:a", "v")),
        ("k:a != v", "StringNotEquals", entry("k:a", "v")),
        ("k:a not in [v]", "StringNotEquals", entry("k:a", "v", is_list=True)),
        ("k:a nocase == v", "StringEqualsIgnoreCase", entry("k:a", "v")),
        ("k:a nocase not in [v]", "StringNotEqualsIgnoreCase", entry("k:a", "v", is_list=True)),
        ("k:a like v*", "StringLike", entry("k:a", "v*")),
        ("k:a not like [v*]", "StringNotLike", entry("k:a", "v*", is_list=True)),
        ("k:a num < 3", "NumericLessThan", entry("k:a", "3")),
        ("k:a num >= [3]", "NumericGreaterThanEquals", entry("k:a", "3", is_list=True)),
        ("k:a date <= 2025-01-01", "DateLessThanEquals", entry("k:a", "2025-01-01")),
        ("k:a date != 2025-01-01", "DateNotEquals", entry("k:a", "2025-01-01")),
        ("k:a ip in 10.0.0.0/8", "IpAddress", entry("k:a", "10.0.0.0/8")),
        ("k:a ip not in [::1]", "NotIpAddress", entry("k:a", "::1", is_list=True)),
        ("k:a arn == x", "ArnEquals", entry("k:a", "x")),
        ("k:a arn not like x", "ArnNotLike", entry("k:a", "x")),
        ("k:a bin == QUJD", "BinaryEquals", entry("k:a", "QUJD")),
        ("k:a", "Bool", entry("k:a", "true")),
        ("k:a is true", "Bool", entry("k:a", "true")),
        ("k:a is false", "Bool", entry("k:a", "false")),
        ("k:a is null", "Null", entry("k:a", "true")),
        ("k:a is not null", "Null", entry("k:a", "false")),
        ("k:a if exists", "BoolIfExists", entry("k:a", "true")),
        ("all k:a in [x]", "ForAllValues:StringEquals", entry("k:a", "x", is_list=True)),
        ("any k:a like x if exists", "ForAnyValue:StringLikeIfExists", entry("k:a", "x")),
        ("Foo:Bar(k:a, [x])", "Foo:Bar", None),
    ],
)
def test_readable_tests_map_to_iam_operators(
    test: str, operator: str, expected: ConditionEntry | None
) -> None:
    if operator == "Foo:Bar":
        with pytest.raises(PolicySyntaxError) as info:
            cond(test)
        assert info.value.code == "condition.unknown-operator"
        return
    clauses = cond(test)

    assert len(clauses) == 1
    assert clauses[0].operator == operator
    assert clauses[0].entries == (expected,)


@pytest.mark.parametrize(
    ("test", "operator", "value"),
    [
        ("unless k:a", "BoolIfExists", "false"),
        ("unless k:a is false", "BoolIfExists", "true"),
        ("unless k:a if exists", "Bool", "false"),
        ("unless k:a is false if exists", "Bool", "true"),
        ("unless k:a is null", "Null", "false"),
        ("unless k:a is not null", "Null", "true"),
        ("unless k:a == v", "StringNotEquals", "v"),
        ("unless k:a != v if exists", "StringEquals", "v"),
        ("unless k:a like v", "StringNotLike", "v"),
        ("unless k:a ip in v", "NotIpAddress", "v"),
        ("unless k:a ip not in v", "IpAddress", "v"),
        ("unless k:a arn like v", "ArnNotLike", "v"),
        ("unless k:a num < 3", "NumericGreaterThanEqualsIfExists", "3"),
        ("unless k:a date >= 3 if exists", "DateLessThan", "3"),
        ("unless k:a nocase in [v]", "StringNotEqualsIgnoreCase", "v"),
    ],
)
def test_unless_compiles_to_the_exact_negation(test: str, operator: str, value: str) -> None:
    statement = one(f"deny * on *\n  {test}\n")

    assert statement.condition is not None
    clause = statement.condition[0]
    assert clause.operator == operator
    assert clause.entries[0].values[0].text == value


@pytest.mark.parametrize(
    "test",
    [
        "k:a == v if exists",
        "k:a num < [1, 2]",
        "k:a bin == QUJD",
        "all k:a in [x]",
        "StringEquals(k:a, x)",
    ],
)
def test_unless_refuses_what_iam_cannot_negate(test: str) -> None:
    with pytest.raises(PolicyValidationError) as info:
        parse_dsl(f"deny * on *\n  unless {test}\n")

    assert info.value.code == "policy.unless-not-expressible"


def test_tests_are_grouped_per_operator_in_first_appearance_order() -> None:
    clauses = cond("a:x == 1 and b:y like 2 and c:z == 3")

    assert [c.operator for c in clauses] == ["StringEquals", "StringLike"]
    assert [e.key for e in clauses[0].entries] == ["a:x", "c:z"]


def test_json_literals_keep_their_kind_and_text() -> None:
    clauses = cond("k:a num in [(1.50), 1.50, (-0), (1E+2)] and k:b is (false)")

    values = clauses[0].entries[0].values
    assert [(v.text, v.kind) for v in values] == [
        ("1.50", ValueKind.NUMBER),
        ("1.50", ValueKind.STRING),
        ("-0", ValueKind.NUMBER),
        ("1E+2", ValueKind.NUMBER),
    ]
    assert clauses[1].entries[0].values[0].kind is ValueKind.BOOLEAN


def test_empty_condition_and_empty_operator_bodies() -> None:
    assert one("allow s3:* when {}").condition == ()
    assert cond("Whatever() and StringEquals()") == (
        ConditionClause("Whatever", ()),
        ConditionClause("StringEquals", ()),
    )


def test_settings_version_id_and_statement_object() -> None:
    policy = parse_dsl('version none\nid "a b"\nstatement object\n@sid ""\nallow s3:*\n')

    assert policy.version is None
    assert policy.id == "a b"
    assert not policy.statement_is_list
    assert policy.statements[0].sid == ""


def test_quoted_and_bare_values_are_the_same_value() -> None:
    assert one('allow "s3:GetObject"') == one("allow s3:GetObject")


def test_dollar_rules() -> None:
    values = one('allow s3:* on a/$$x, "${aws:username} $$", b/${aws:userid}').resource
    assert values is not None

    assert values.values.items == ("a/$x", "${aws:username} $", "b/${aws:userid}")


def test_keywords_are_plain_values_where_only_a_value_fits() -> None:
    statement = one("allow on, when on by, except when k:x in [allow, and, is]")

    assert statement.action.values.items == ("on", "when")
    assert statement.resource is not None
    assert statement.resource.values.items == ("by", "except")


def test_spans_point_into_the_text() -> None:
    policy = parse_dsl("@sid A\nallow s3:GetObject\n  on arn:aws:s3:::b/*\n", source_name="f")
    statement = policy.statements[0]

    assert statement.span is not None
    assert (statement.span.line, statement.span.column) == (1, 1)
    assert statement.resource is not None
    span = statement.resource.values.item_spans[0]
    assert span is not None
    assert (span.line, span.column, span.end_column) == (3, 6, 22)
    assert policy.source is not None
    assert policy.source.name == "f"


def test_comments_are_attached_and_excluded_from_equality() -> None:
    text = "# head\n\n# about a\nallow a:b  # trailing\n\n# tail\n"
    policy = parse_dsl(text)

    assert policy.comments == ("# head",)
    assert policy.statements[0].comments == ("# about a",)
    assert policy.statements[0].trailing_comment == "# trailing"
    assert policy.trailing_comments == ("# tail",)
    assert policy == parse_dsl("allow a:b")


def test_hash_inside_a_value_is_an_error_not_a_comment() -> None:
    with pytest.raises(PolicySyntaxError) as info:
        parse_dsl("allow s3:* on a/b#c")

    assert info.value.code == "syntax.unexpected-character"
    assert info.value.span is not None
    assert info.value.span.column == 18


def test_errors_carry_the_source_name() -> None:
    with pytest.raises(PolicyLangError) as info:
        parse_dsl("allow s3:* on *\n  when k:a ==\n", source_name="p.policy")

    assert info.value.render().startswith("p.policy:3:1: error[syntax.unexpected-end]")


def test_keyword_glued_to_a_word_is_refused() -> None:
    with pytest.raises(PolicySyntaxError) as info:
        parse_dsl("allow s3:* on * when k:a number < 1")

    assert "did you mean `num`" in (info.value.hint or "")


def test_word_pattern_matches_the_grammar() -> None:
    terminal = next(t for t in _lark.dsl_parser().terminals if t.name == "WORD")
    lark_word = re.compile(terminal.pattern.to_regexp())
    samples = ["s3:*", "a=b", "=a", "@x", "x@y", "${a b}", "${aws:x}/y", "$$", "$a", "a#b", "*"]

    for sample in samples:
        assert bool(lark_word.fullmatch(sample)) == bool(WORD_RE.fullmatch(sample)), sample


@pytest.mark.parametrize(
    ("value", "printed"),
    [
        ("s3:GetObject", "s3:GetObject"),
        ("", '""'),
        ("a b", '"a b"'),
        ("x$y", "x$$y"),
        ("${aws:username}", "${aws:username}"),
        ("${a, 'b'}", "\"${a, 'b'}\""),
        ("café", '"café"'),
        ("=x", '"=x"'),
        ('q"', '"q\\""'),
    ],
)
def test_format_value_quotes_only_when_needed(value: str, printed: str) -> None:
    assert format_value(value) == printed


def test_format_is_canonical_and_idempotent() -> None:
    text = (
        "allow s3:GetObject ,s3:PutObject when aws:SecureTransport is true on * "
        "when s3:prefix in home/"
    )
    formatted = format_dsl(parse_dsl(text))

    assert formatted == (
        "allow s3:GetObject, s3:PutObject\n"
        "  on *\n"
        "  when aws:SecureTransport\n"
        "   and s3:prefix == home/\n"
    )
    assert format_dsl(parse_dsl(formatted)) == formatted


def test_bool_if_exists_false_prints_as_unless() -> None:
    policy = Policy(
        (
            Statement(
                Effect.DENY,
                one("deny *").action,
                condition=(
                    ConditionClause(
                        "BoolIfExists", (entry("aws:MultiFactorAuthPresent", "false"),)
                    ),
                ),
            ),
        )
    )

    assert format_dsl(policy) == "deny *\n  unless aws:MultiFactorAuthPresent\n"


def test_kind_applies_the_save_time_rules_with_dsl_positions() -> None:
    from policylang.ir import PolicyKind

    text = "allow s3:GetObject\n  on *\n  by aws 111122223333\n"
    assert parse_dsl(text).statements[0].principal is not None
    with pytest.raises(PolicyLangError) as info:
        parse_dsl(text, source_name="id.policy", kind=PolicyKind.IDENTITY)

    assert info.value.code == "policy.principal-forbidden"
    assert info.value.span is not None
    assert info.value.span.line == 3
