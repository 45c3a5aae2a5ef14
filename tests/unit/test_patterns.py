"""Wildcard matching: globs, actions, Resource ARNs and Arn* condition values."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policylang.patterns import (
    Part,
    compile_arn_condition_pattern,
    compile_parts,
    compile_pattern,
    compile_resource_parts,
    match_action,
    match_pattern,
    match_resource,
)

# ---------------------------------------------------------------------------------------------
# Slow, obviously-correct references


def reference_regex(parts: list[Part]) -> str:
    out = []
    for part in parts:
        for ch in part.text:
            if part.literal:
                out.append(re.escape(ch))
            elif ch == "*":
                out.append(".*")
            elif ch == "?":
                out.append(".")
            else:
                out.append(re.escape(ch))
    return "".join(out)


def reference_glob(parts: list[Part], text: str, ignore_case: bool = False) -> bool:
    if ignore_case:
        parts = [Part(p.text.lower(), p.literal) for p in parts]
        text = text.lower()
    return re.fullmatch(reference_regex(parts), text, re.DOTALL) is not None


def reference_fields(parts: list[Part]) -> list[list[Part]]:
    """Split a part list on the colons of non-literal text, at most six fields."""
    joined = []  # (char, literal)
    for part in parts:
        joined.extend((ch, part.literal) for ch in part.text)
    fields: list[list[Part]] = [[]]
    for ch, literal in joined:
        if ch == ":" and not literal and len(fields) < 6:
            fields.append([])
        else:
            fields[-1].append(Part(ch, literal))
    return fields


def reference_resource(parts: list[Part], text: str) -> bool:
    """Brute force over which text fields each pattern field covers (policy-grammar §3.4)."""
    pfields = reference_fields(parts)
    tfields = text.split(":", 5)

    def ends_with_star(field: list[Part]) -> bool:
        return bool(field) and field[-1].text == "*" and not field[-1].literal

    def go(i: int, t: int) -> bool:
        if i == len(pfields):
            return t == len(tfields)
        if t >= len(tfields):
            return False
        if not reference_glob(pfields[i], tfields[t], ignore_case=(t != 5)):
            return False
        if ends_with_star(pfields[i]):
            if i == len(pfields) - 1:
                return True
            return any(go(i + 1, u) for u in range(t + 1, len(tfields)))
        return go(i + 1, t + 1)

    return go(0, 0)


pattern_text = st.text(alphabet="ab*?", max_size=12)
subject_text = st.text(alphabet="abAB", max_size=16)
parts_strategy = st.lists(
    st.builds(Part, st.text(alphabet="ab*?:", max_size=5), st.booleans()), max_size=5
)

# ---------------------------------------------------------------------------------------------
# Glob


@settings(max_examples=250)
@given(pattern_text, subject_text)
def test_glob_agrees_with_regex_translation(pattern: str, text: str) -> None:
    assert match_pattern(pattern, text) == reference_glob([Part(pattern)], text)


@settings(max_examples=200)
@given(pattern_text, subject_text)
def test_ignore_case_glob_agrees_with_regex_translation(pattern: str, text: str) -> None:
    expected = reference_glob([Part(pattern)], text, ignore_case=True)
    assert match_pattern(pattern, text, ignore_case=True) == expected


@settings(max_examples=250)
@given(parts_strategy, st.text(alphabet="ab*?:", max_size=14))
def test_literal_parts_agree_with_regex_translation(parts: list[Part], text: str) -> None:
    assert compile_parts(tuple(parts))(text) == reference_glob(parts, text)


def test_star_matches_empty_and_anything() -> None:
    assert match_pattern("*", "")
    assert match_pattern("*", "arn:aws:s3:::b/k")
    assert match_pattern("a*", "a")


def test_question_mark_matches_exactly_one_character() -> None:
    assert match_pattern("a?c", "abc")
    assert not match_pattern("a?c", "ac")
    assert not match_pattern("a?c", "abbc")


def test_regex_metacharacters_are_literal() -> None:
    assert match_pattern("a.b[c]", "a.b[c]")
    assert not match_pattern("a.b", "axb")
    assert not match_pattern("[ab]", "a")


def test_substituted_text_is_not_a_wildcard() -> None:
    matcher = compile_parts((Part("home/"), Part("*", literal=True), Part("/*")))
    assert matcher("home/*/x")
    assert not matcher("home/alice/x")


def test_pathological_pattern_answers_without_backtracking() -> None:
    matcher = compile_pattern("*a*a*a*a*a*a*a*b")
    assert not matcher("a" * 10_000)
    assert matcher("a" * 10_000 + "b")


def test_question_marks_inside_middle_segments() -> None:
    assert match_pattern("*a?c*", "xxabcxx")
    assert match_pattern("*a?c?*", "aaacd")
    assert not match_pattern("*a?c?", "aac")


# ---------------------------------------------------------------------------------------------
# Actions


def test_action_match_is_case_insensitive() -> None:
    assert match_action("iam:ListAccessKeys", "IAM:listaccesskeys")
    assert match_action("S3:get*", "s3:GetObject")


def test_action_star_matches_every_action() -> None:
    assert match_action("*", "s3:GetObject")
    assert match_action("*", "weird")


def test_action_wildcard_does_not_reach_the_service_prefix() -> None:
    assert not match_action("s3:*", "s3control:ListJobs")
    assert not match_action("s3*", "s3:GetObject")


def test_action_comma_and_space_are_literal() -> None:
    assert not match_action("s3:GetObject,PutObject", "s3:GetObject")
    assert not match_action("iam: ListUsers", "iam:ListUsers")


def test_action_question_mark() -> None:
    assert match_action("ec2:Describe?nstances", "ec2:DescribeInstances")
    assert not match_action("ec2:Describe?nstances", "ec2:DescribeIinstances")


# ---------------------------------------------------------------------------------------------
# Resource ARNs


@settings(max_examples=250)
@given(
    st.lists(st.builds(Part, st.text(alphabet="aA*?:", max_size=4), st.booleans()), max_size=6),
    st.text(alphabet="aA:", max_size=12),
)
def test_resource_matcher_agrees_with_brute_force(parts: list[Part], text: str) -> None:
    assert compile_resource_parts(tuple(parts))(text) == reference_resource(parts, text)


def test_short_arn_ending_in_star_matches_every_arn_of_the_service() -> None:
    assert match_resource("arn:aws:s3:*", "arn:aws:s3:::bucket/key")
    assert not match_resource("arn:aws:s3:*", "arn:aws:sqs:us-east-1:1:q")


def test_resource_star_inside_a_field_does_not_cross_colons() -> None:
    assert not match_resource("arn:aws:ec2:us*1:instance/x", "arn:aws:ec2:us-east-1:1:instance/x")
    assert match_resource("arn:aws:ec2:*:*:instance/*", "arn:aws:ec2:us-east-1:1:instance/i-1")


def test_resource_field_star_matches_slashes_and_colons() -> None:
    pattern = "arn:aws:s3:::bucket/*/test/*"
    assert match_resource(pattern, "arn:aws:s3:::bucket/1/2/test/3/x.jpg")
    assert match_resource(pattern, "arn:aws:s3:::bucket//test/x")
    assert match_resource(pattern, "arn:aws:s3:::bucket/1/test/")
    assert match_resource("arn:aws:ssm:*:*:parameter/*", "arn:aws:ssm:eu-west-1:1:parameter/a:b")


def test_resource_field_is_case_sensitive_other_fields_are_not() -> None:
    assert not match_resource("arn:aws:iam::1:user/Alice", "arn:aws:iam::1:user/alice")
    assert match_resource("ARN:AWS:IAM::1:user/Alice", "arn:aws:iam::1:user/Alice")


def test_specific_arn_never_matches_the_wildcard_resource() -> None:
    assert not match_resource("arn:aws:s3:::*", "*")
    assert match_resource("*", "*")


def test_resource_field_count_must_line_up() -> None:
    assert not match_resource("arn:aws:fdsasf", "arn:aws:fdsasf:::x")
    assert not match_resource("arn:aws:s3:::b", "arn:aws:s3:::b/k")


# ---------------------------------------------------------------------------------------------
# Arn* condition values


def test_arn_like_is_per_field_unlike_string_like() -> None:
    pattern = "arn:aws:someservice:*:111122223333:finance/*"
    value = "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"
    assert match_pattern(pattern, value)
    matcher = compile_arn_condition_pattern(pattern)
    assert matcher is not None
    assert matcher.match(value) is False


def test_arn_like_is_case_sensitive() -> None:
    matcher = compile_arn_condition_pattern("arn:aws:iam::1:role/App")
    assert matcher is not None
    assert matcher.match("arn:aws:iam::1:role/App") is True
    assert matcher.match("arn:aws:iam::1:role/app") is False


def test_arn_like_on_a_non_arn_context_value_is_invalid() -> None:
    matcher = compile_arn_condition_pattern("arn:aws:iam::*:role/*")
    assert matcher is not None
    assert matcher.match("not-an-arn") is None
    assert matcher.match("arn:aws:iam") is None


@pytest.mark.parametrize("value", ["*", "arn:aws:s3", "role/x", "xarn:aws:s3:::b:c"])
def test_non_arn_policy_value_compiles_to_none(value: str) -> None:
    assert compile_arn_condition_pattern(value) is None
