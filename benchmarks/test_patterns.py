"""Wildcard matching speed: a pathological glob on a long ARN next to an everyday match.

    python3 -m pytest benchmarks/test_patterns.py --benchmark-only

The matcher is linear in the input (no backtracking), so `*a*a*a*a*a*a*a*b` against a
10,000-character ARN that never matches costs about as much as a few scans of the text.
Every benchmark asserts its answer, never its time.
"""

from __future__ import annotations

from typing import Any

from policylang.patterns import (
    compile_action_pattern,
    compile_pattern,
    compile_resource_pattern,
)

LONG_ARN = "arn:aws:s3:::bucket/" + "a" * (10_000 - len("arn:aws:s3:::bucket/"))
PATHOLOGICAL = "*a*a*a*a*a*a*a*b"


def test_pathological_glob_on_long_arn(benchmark: Any) -> None:
    matcher = compile_pattern(PATHOLOGICAL)
    assert len(LONG_ARN) == 10_000
    assert benchmark(matcher, LONG_ARN) is False


def test_pathological_glob_on_long_arn_that_matches(benchmark: Any) -> None:
    matcher = compile_pattern(PATHOLOGICAL)
    assert benchmark(matcher, LONG_ARN + "b") is True


def test_pathological_glob_near_miss_scans_the_whole_arn(benchmark: Any) -> None:
    # Six `a`s (two in `arn:aws`) and the final `b` are there, the seventh `a` is not: every
    # middle segment is
    # searched once, left to right, so the text is scanned once (a backtracking regex would
    # try O(n^7) splits here).
    text = "arn:aws:s3:::buckets/" + "x" * (10_000 - 26) + "aaaab"
    assert len(text) == 10_000
    assert benchmark(compile_pattern(PATHOLOGICAL), text) is False


def test_pathological_resource_pattern_on_long_arn(benchmark: Any) -> None:
    matcher = compile_resource_pattern("arn:aws:s3:::" + PATHOLOGICAL)
    assert benchmark(matcher, LONG_ARN) is False


def test_normal_resource_match(benchmark: Any) -> None:
    matcher = compile_resource_pattern("arn:aws:s3:::corp-bucket/home/*/reports/*.csv")
    assert benchmark(matcher, "arn:aws:s3:::corp-bucket/home/alice/reports/2026/q1.csv") is True


def test_normal_action_match(benchmark: Any) -> None:
    matcher = compile_action_pattern("s3:Get*")
    assert benchmark(matcher, "s3:GetObjectVersion") is True


def test_compile_pattern_uncached(benchmark: Any) -> None:
    def compile_fresh() -> bool:
        compile_pattern.cache_clear()
        return compile_pattern("arn:aws:s3:::bucket/*/x?y/*")("arn:aws:s3:::bucket/a/xzy/b")

    assert benchmark(compile_fresh) is True
