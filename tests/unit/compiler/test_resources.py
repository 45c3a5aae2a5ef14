"""Lowered Resource entries match exactly as the reference's matchers do."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from policylang.compiler.resources import ResourceEntry, star_glob, static_matcher
from policylang.patterns import Part, compile_parts, compile_resource_parts
from policylang.variables import parse_resource_template

FIELD = st.text("aAsS3*?:/-İK", max_size=6)
PATTERNS = st.one_of(
    st.builds(lambda a, b, c, d: f"arn:{a}:s3:{b}:{c}:{d}", FIELD, FIELD, FIELD, FIELD),
    st.sampled_from([
        "*", "arn:aws:s3:::bucket/*", "arn:aws:s3:::*", "arn:aws:s3:*", "ARN:AWS:S3:::b*",
        "arn:aws:iam::*:role/*", "arn:aws:s3:::bucket", "arn:aws:s3:::a:b", "arn:aws",
        "arn:aws:s3:::home/${aws:username}/*", "arn:aws:s3:::${*}/x", "arn:aws:s3:::${aws:x, 'd'}",
    ]),
)
ARNS = st.one_of(
    st.builds(lambda a, b, c, d: f"arn:{a}:s3:{b}:{c}:{d}", FIELD, FIELD, FIELD, FIELD),
    st.sampled_from([
        "arn:aws:s3:::bucket/x", "ARN:AWS:S3:::bucket/x", "arn:aws:s3:::bucket", "*",
        "arn:aws:s3:::home/alice/x", "arn:aws:s3:::home/a*b/x", "arn:aws:s3:::*/x", "arn:aws",
        "arn:aws:s3:::a:b:c", "arn:aws:s3:::d",
    ]),
)
CONTEXTS = st.dictionaries(
    st.sampled_from(["aws:username", "aws:x"]),
    st.one_of(st.sampled_from(["alice", "a*b", "", "x:y"]), st.just(("a", "b"))),
)


@settings(max_examples=250)
@given(PATTERNS, ARNS)
def test_static_matcher_equals_reference(pattern: str, arn: str) -> None:
    parts = (Part(pattern),)
    assert static_matcher(parts)(arn) == compile_resource_parts(parts)(arn)


@settings(max_examples=250)
@given(st.text("ab*?/", max_size=8), st.text("ab*?/", max_size=8))
def test_star_glob_equals_reference_glob(pattern: str, text: str) -> None:
    parts = (Part(pattern),)
    assert star_glob(parts)(text) == compile_parts(parts)(text)


@settings(max_examples=250)
@given(PATTERNS, ARNS, CONTEXTS, st.booleans())
def test_entry_equals_reference_resolution(
    pattern: str, arn: str, ctx: dict[str, str | tuple[str, ...]], enabled: bool
) -> None:
    entry = ResourceEntry(pattern, variables_enabled=enabled)
    template = parse_resource_template(pattern, enabled=enabled)
    parts = template.resolve(ctx)
    expected = None if parts is None else compile_resource_parts(parts)(arn)
    assert entry.match(arn, ctx) == expected
    assert entry.missing_keys(ctx) == template.missing_keys(ctx)


def test_variable_entry_reads_its_keys() -> None:
    entry = ResourceEntry("arn:aws:s3:::b/${aws:username}/${aws:PrincipalTag/Team}/*",
                          variables_enabled=True)
    assert entry.reads == {"aws:username", "aws:principaltag/team"}
    assert entry.match("arn:aws:s3:::b/alice/blue/x", {"aws:username": "alice"}) is None
    assert entry.match(
        "arn:aws:s3:::b/alice/blue/x",
        {"aws:username": "alice", "aws:principaltag/team": "blue"},
    ) is True
    # substituted text is literal: a `*` from a tag value is not a wildcard
    assert entry.match(
        "arn:aws:s3:::b/alice/blue/x", {"aws:username": "*", "aws:principaltag/team": "blue"}
    ) is False
