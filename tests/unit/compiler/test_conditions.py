"""Compiled condition entries agree with policylang.conditions on every operator form."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from policylang.compiler.conditions import CompiledCondition, compile_entry
from policylang.conditions import evaluate_condition, evaluate_entry, prepare_clause
from policylang.ir import ConditionClause, ConditionEntry, ConditionValue
from tests.strategies import CONDITION_KEYS, condition_clauses

SCALARS = ["", "alice", "Alice", "*", "a?c", "203.0.113.9", "2001:db8::1", "not-an-ip", "true",
           "FALSE", "yes", "10", "-1", "1.50", "2e3", "2024-02-29T12:00:00Z", "1700000000",
           "QmluYXJ5", "AAEC", "arn:aws:iam::111122223333:role/app-x",
           "arn:aws:s3:::bucket/home/alice/x", "arn:bad", "${aws:username}", "x\u0130"]
VALUES = st.one_of(
    st.sampled_from(SCALARS),
    st.lists(st.sampled_from(SCALARS), max_size=3).map(tuple),
)
CONTEXTS = st.dictionaries(
    st.sampled_from([k.lower() for k in CONDITION_KEYS] + ["aws:username", "aws:userid"]),
    VALUES,
    max_size=6,
)


@settings(max_examples=300)
@given(condition_clauses(), CONTEXTS, st.booleans())
def test_entries_agree(clause: ConditionClause, ctx: dict[str, str | tuple[str, ...]],
                       variables_enabled: bool) -> None:
    for entry in prepare_clause(clause, variables_enabled=variables_enabled):
        assert compile_entry(entry)(ctx) == evaluate_entry(entry, ctx)


@settings(max_examples=200)
@given(st.lists(condition_clauses(), min_size=1, max_size=3), CONTEXTS)
def test_condition_and_missing_keys_agree(
    clauses: list[ConditionClause], ctx: dict[str, str | tuple[str, ...]]
) -> None:
    compiled = CompiledCondition(clauses, variables_enabled=True)
    expected = evaluate_condition(clauses, ctx, variables_enabled=True)
    assert compiled.matches(ctx) == expected.matched
    assert compiled.missing_keys(ctx) == expected.missing_keys


def test_string_equals_becomes_membership() -> None:
    clause = ConditionClause(
        "StringNotEquals",
        (ConditionEntry("aws:PrincipalTag/Team", (ConditionValue("a"), ConditionValue("b"))),),
    )
    compiled = CompiledCondition([clause], variables_enabled=True)
    assert compiled.reads == {"aws:principaltag/team"}
    assert compiled.matches({"aws:principaltag/team": "c"}) is True
    assert compiled.matches({"aws:principaltag/team": "a"}) is False
    assert compiled.matches({}) is True  # negated operator, missing key
    assert compiled.missing_keys({}) == ("aws:principaltag/team",)


def test_variables_are_read_keys() -> None:
    clause = ConditionClause(
        "StringEquals",
        (ConditionEntry("s3:prefix", (ConditionValue("home/${aws:username}/"),)),),
    )
    compiled = CompiledCondition([clause], variables_enabled=True)
    assert compiled.reads == {"s3:prefix", "aws:username"}
    assert compiled.matches({"s3:prefix": "home/alice/", "aws:username": "alice"}) is True
    assert compiled.missing_keys({"s3:prefix": "x"}) == ("aws:username",)


IP_VALUES = ["10.0.0.0/8", "192.168.1.7", "2001:db8::/32", "::ffff:10.0.0.1", "300.1.1.1/8",
             "not-an-ip", "0.0.0.0/0"]
IP_CONTEXT = ["10.1.2.3", "192.168.1.7", "192.168.1.8", "2001:db8::1", "2001:db9::1",
              "::ffff:10.0.0.1", "not-an-ip", "", "10.1.2.3/32", "010.1.2.3"]


def test_ip_tests_agree_with_the_reference_on_a_grid() -> None:
    """The int-based IpAddress/NotIpAddress test equals compare_ip's OR/NOR for every pair of
    policy lists and context values: mixed versions, invalid policy values, bad addresses."""
    for operator in ("IpAddress", "NotIpAddress", "IpAddressIfExists", "NotIpAddressIfExists"):
        for size in (1, 2, 3):
            for start in range(len(IP_VALUES)):
                values = [IP_VALUES[(start + i) % len(IP_VALUES)] for i in range(size)]
                clause = ConditionClause(operator, (ConditionEntry(
                    "aws:SourceIp", tuple(ConditionValue(v) for v in values), is_list=True),))
                for entry in prepare_clause(clause, variables_enabled=True):
                    test = compile_entry(entry)
                    for value in IP_CONTEXT:
                        ctx = {"aws:sourceip": value}
                        assert test(ctx) == evaluate_entry(entry, ctx), (operator, values, value)


def test_bool_tests_agree_with_the_reference() -> None:
    for policy_values in (["true"], ["FALSE"], ["true", "false"], ["maybe"], ["True", "yes"]):
        clause = ConditionClause("Bool", (ConditionEntry(
            "aws:SecureTransport", tuple(ConditionValue(v) for v in policy_values),
            is_list=True),))
        for entry in prepare_clause(clause, variables_enabled=True):
            test = compile_entry(entry)
            for value in ("true", "TRUE", "false", "False", "", "1", "yes"):
                ctx = {"aws:securetransport": value}
                assert test(ctx) == evaluate_entry(entry, ctx), (policy_values, value)
