"""Policy variables: parsing, defaults, escapes, the 2008 rule, literal substitution."""

from __future__ import annotations

from policylang.patterns import Part, compile_parts, compile_resource_parts
from policylang.variables import (
    Variable,
    has_variables,
    parse_resource_template,
    parse_template,
)

CTX = {"aws:username": "alice", "aws:principaltag/team": "blue", "aws:tagkeys": ("a", "b")}


def test_variable_is_substituted_from_the_context() -> None:
    template = parse_template("home/${aws:username}/*")
    assert template.resolve_text(CTX) == "home/alice/*"


def test_variable_key_is_case_insensitive() -> None:
    assert parse_template("${AWS:UserName}").resolve_text(CTX) == "alice"


def test_default_is_used_when_key_is_absent() -> None:
    template = parse_template("${aws:PrincipalTag/dept, 'company-wide'}")
    assert template.variables == (Variable("aws:PrincipalTag/dept", "company-wide"),)
    assert template.resolve_text(CTX) == "company-wide"
    assert template.missing_keys(CTX) == ()


def test_default_is_ignored_when_key_is_present() -> None:
    assert parse_template("${aws:PrincipalTag/team, 'x'}").resolve_text(CTX) == "blue"


def test_missing_variable_without_default_does_not_resolve() -> None:
    template = parse_template("a/${aws:userid}/b")
    assert template.resolve(CTX) is None
    assert template.missing_keys(CTX) == ("aws:userid",)


def test_multi_valued_key_does_not_resolve() -> None:
    assert parse_template("${aws:TagKeys}").resolve(CTX) is None


def test_escapes_are_literal_characters() -> None:
    parts = parse_template("a${*}b${?}c${$}").resolve(CTX)
    assert parts is not None
    assert "".join(p.text for p in parts) == "a*b?c$"
    matcher = compile_parts(parts)
    assert matcher("a*b?c$")
    assert not matcher("axbyc$")


def test_substituted_value_is_literal_not_a_wildcard() -> None:
    parts = parse_template("home/${aws:username}").resolve({"aws:username": "*"})
    assert parts == (Part("home/"), Part("*", literal=True))
    matcher = compile_parts(parts)
    assert matcher("home/*")
    assert not matcher("home/bob")


def test_pattern_text_around_variables_keeps_its_wildcards() -> None:
    parts = parse_template("home/${aws:username}/*").resolve(CTX)
    assert parts is not None
    assert compile_parts(parts)("home/alice/docs/x")


def test_version_2008_makes_variables_literal_text() -> None:
    template = parse_template("home/${aws:username}", enabled=False)
    assert not template.has_variables
    assert template.resolve_text(CTX) == "home/${aws:username}"


def test_version_2008_escape_wildcards_are_still_wildcards() -> None:
    parts = parse_template("a${*}", enabled=False).resolve(CTX)
    assert parts is not None
    assert compile_parts(parts)("a${xyz}")


def test_unterminated_variable_is_literal() -> None:
    assert parse_template("a/${aws:username").resolve_text(CTX) == "a/${aws:username"
    assert parse_template("${}").resolve_text(CTX) == "${}"
    assert not has_variables("a/${aws:username")


def test_several_variables_in_one_value() -> None:
    template = parse_template("${aws:username}-${aws:PrincipalTag/team}")
    assert template.resolve_text(CTX) == "alice-blue"


def test_resource_template_substitutes_only_in_the_resource_field() -> None:
    template = parse_resource_template("arn:aws:s3:::bucket/${aws:username}/*")
    parts = template.resolve(CTX)
    assert parts is not None
    matcher = compile_resource_parts(parts)
    assert matcher("arn:aws:s3:::bucket/alice/x")
    assert not matcher("arn:aws:s3:::bucket/bob/x")


def test_resource_template_leaves_variables_before_the_fifth_colon_alone() -> None:
    template = parse_resource_template("arn:aws:iam::${aws:PrincipalAccount}:user/x")
    assert not template.has_variables


def test_resource_template_with_unresolved_variable_resolves_to_none() -> None:
    template = parse_resource_template("arn:aws:s3:::b/${aws:userid}")
    assert template.resolve(CTX) is None
    assert template.missing_keys(CTX) == ("aws:userid",)
