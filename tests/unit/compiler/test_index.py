"""The action index returns exactly the statements whose Action/NotAction matches, in order."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from policylang.compiler.index import ActionIndex
from policylang.patterns import compile_action_pattern

PATTERNS = ["*", "s3:*", "s3:Get*", "S3:getobject", "s3:?etObject", "iam:PassRole", "noColon",
            "ec2:Describe*", "sts:*Role*", "*:*", "s3:GetObject,PutObject", "kms:"]
ACTIONS = ["s3:GetObject", "S3:GETOBJECT", "s3:PutObject", "iam:PassRole", "IAM:passrole",
           "ec2:DescribeInstances", "sts:AssumeRole", "noColon", "kms:", "s3:", "*:*", ""]


def brute_force(entries: list[tuple[list[str], bool]], action: str) -> list[int]:
    out = []
    for i, (patterns, negated) in enumerate(entries):
        hit = any(compile_action_pattern(p)(action) for p in patterns)
        if hit != negated:
            out.append(i)
    return out


@settings(max_examples=200)
@given(
    st.lists(
        st.tuples(st.lists(st.sampled_from(PATTERNS), max_size=3), st.booleans()), max_size=8
    ),
    st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=5),
)
def test_lookup_equals_brute_force(
    entries: list[tuple[list[str], bool]], actions: list[str]
) -> None:
    index = ActionIndex(
        list(range(len(entries))), [e[0] for e in entries], [e[1] for e in entries]
    )
    for action in actions:
        expected = brute_force(entries, action)
        assert list(index.lookup(action)) == expected
        assert list(index.lookup(action)) == expected  # memoised answer is the same
        assert list(index.lookup(action, action.lower())) == expected


def test_lookup_visits_only_matching_buckets() -> None:
    index = ActionIndex(["get", "iam", "star", "not-s3"], [["s3:Get*"], ["iam:*"], ["*"], ["s3:*"]],
                        [False, False, False, True])
    assert index.lookup("s3:GetObject") == ("get", "star")
    assert index.lookup("iam:CreateUser") == ("iam", "star", "not-s3")
    assert index.all() == ("get", "iam", "star", "not-s3")
    assert len(index) == 4


def test_memo_is_bounded() -> None:
    from policylang.compiler import index as index_module

    index = ActionIndex(["a"], [["s3:*"]], [False])
    for i in range(index_module._MEMO_LIMIT + 10):
        assert index.lookup(f"s3:Op{i}") == ("a",)
    assert len(index._memo) <= index_module._MEMO_LIMIT
