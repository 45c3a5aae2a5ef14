"""Condition operators (conditions.md): every family, missing keys, set qualifiers, variables."""

from __future__ import annotations

from decimal import Decimal

import pytest

from policylang.conditions import (
    ConditionOutcome,
    evaluate_condition,
    parse_date,
    parse_number,
)
from policylang.errors import PolicyValidationError
from policylang.ir import ConditionClause, ConditionEntry, ConditionValue, ValueKind

Ctx = dict[str, str | tuple[str, ...]]


def clause(operator: str, key: str, *values: str) -> ConditionClause:
    entry = ConditionEntry(key, tuple(ConditionValue(v) for v in values), is_list=True)
    return ConditionClause(operator, (entry,))


def holds(operator: str, key: str, values: list[str], ctx: Ctx, *, variables: bool = True) -> bool:
    outcome = evaluate_condition([clause(operator, key, *values)], ctx, variables_enabled=variables)
    return outcome.matched


# ---------------------------------------------------------------------------------------------
# Combination rules (§2)


def test_absent_or_empty_condition_is_true() -> None:
    assert evaluate_condition(None, {}, variables_enabled=True) == ConditionOutcome(True)
    assert evaluate_condition((), {}, variables_enabled=True).matched
    empty_body = ConditionClause("StringEquals", ())
    assert evaluate_condition([empty_body], {}, variables_enabled=True).matched


def test_values_of_one_key_are_ored() -> None:
    assert holds("StringEquals", "aws:username", ["bob", "alice"], {"aws:username": "alice"})


def test_negated_operator_values_are_nored() -> None:
    ctx: Ctx = {"aws:requestedregion": "eu-west-1"}
    assert not holds("StringNotEquals", "aws:RequestedRegion", ["eu-west-1", "eu-central-1"], ctx)
    assert holds("StringNotEquals", "aws:RequestedRegion", ["us-east-1", "eu-central-1"], ctx)


def test_keys_and_operators_are_anded() -> None:
    clauses = [
        ConditionClause(
            "StringEquals",
            (
                ConditionEntry("a:x", (ConditionValue("1"),)),
                ConditionEntry("a:y", (ConditionValue("2"),)),
            ),
        ),
        clause("Bool", "a:z", "true"),
    ]
    ctx: Ctx = {"a:x": "1", "a:y": "2", "a:z": "true"}
    assert evaluate_condition(clauses, ctx, variables_enabled=True).matched
    ctx["a:y"] = "3"
    assert not evaluate_condition(clauses, ctx, variables_enabled=True).matched


def test_empty_value_list_positive_false_negated_true() -> None:
    ctx: Ctx = {"a:x": "1"}
    assert not holds("StringEquals", "a:x", [], ctx)
    assert holds("StringNotEquals", "a:x", [], ctx)


def test_unknown_operator_with_entries_raises() -> None:
    with pytest.raises(PolicyValidationError) as info:
        evaluate_condition([clause("StringEqualz", "a:x", "1")], {}, variables_enabled=True)
    assert info.value.code == "condition.unknown-operator"


def test_unknown_operator_with_empty_body_tests_nothing() -> None:
    assert evaluate_condition([ConditionClause("a", ())], {}, variables_enabled=True).matched


def test_condition_key_names_are_case_insensitive() -> None:
    assert holds("IpAddress", "AWS:SourceIP", ["10.0.0.0/8"], {"aws:sourceip": "10.1.2.3"})


# ---------------------------------------------------------------------------------------------
# Missing keys (§3)


def test_positive_operator_on_missing_key_is_false() -> None:
    assert not holds("StringEquals", "aws:SourceVpce", ["vpce-1"], {})


def test_negated_operator_on_missing_key_is_true() -> None:
    assert holds("StringNotEquals", "aws:SourceVpce", ["vpce-1"], {})
    assert holds("ArnNotEquals", "aws:PrincipalArn", ["arn:aws:iam::1:user/ops"], {})
    assert holds("NotIpAddress", "aws:SourceIp", ["10.0.0.0/8"], {})


def test_ifexists_on_missing_key_is_true() -> None:
    assert holds("StringEqualsIfExists", "a:x", ["v"], {})
    assert holds("BoolIfExists", "aws:MultiFactorAuthPresent", ["false"], {})


def test_ifexists_on_negated_operator_changes_nothing_for_missing_key() -> None:
    assert holds("StringNotEqualsIfExists", "a:x", ["v"], {})


def test_ifexists_on_present_key_compares_normally() -> None:
    assert not holds("StringEqualsIfExists", "a:x", ["v"], {"a:x": "w"})
    assert holds(
        "BoolIfExists",
        "aws:MultiFactorAuthPresent",
        ["false"],
        {"aws:multifactorauthpresent": "false"},
    )


def test_bool_false_does_not_match_missing_key() -> None:
    assert not holds("Bool", "aws:MultiFactorAuthPresent", ["false"], {})


def test_missing_keys_are_reported_lower_cased_and_sorted() -> None:
    clauses = [
        clause("StringEquals", "aws:Zed", "1"),
        clause("StringNotEqualsIfExists", "aws:Alpha", "1"),
        clause("StringEquals", "aws:Present", "${aws:PrincipalTag/team}"),
    ]
    outcome = evaluate_condition(clauses, {"aws:present": "x"}, variables_enabled=True)
    assert outcome.missing_keys == ("aws:alpha", "aws:principaltag/team", "aws:zed")


# ---------------------------------------------------------------------------------------------
# Set qualifiers (§3.1 truth table)

TAGS = ["env", "team"]


@pytest.mark.parametrize(
    ("request_value", "plain", "any_eq", "all_eq", "any_ne", "all_ne"),
    [
        (None, False, False, True, False, True),
        ((), False, False, True, False, True),
        (("env",), False, True, True, False, False),
        (("env", "cost"), False, True, False, True, False),
        (("cost",), False, False, False, True, True),
    ],
)
def test_set_qualifier_truth_table(
    request_value: tuple[str, ...] | None,
    plain: bool,
    any_eq: bool,
    all_eq: bool,
    any_ne: bool,
    all_ne: bool,
) -> None:
    ctx: Ctx = {} if request_value is None else {"aws:tagkeys": request_value}
    assert holds("StringEquals", "aws:TagKeys", TAGS, ctx) is plain
    assert holds("ForAnyValue:StringEquals", "aws:TagKeys", TAGS, ctx) is any_eq
    assert holds("ForAllValues:StringEquals", "aws:TagKeys", TAGS, ctx) is all_eq
    assert holds("ForAnyValue:StringNotEquals", "aws:TagKeys", TAGS, ctx) is any_ne
    assert holds("ForAllValues:StringNotEquals", "aws:TagKeys", TAGS, ctx) is all_ne


def test_multi_valued_key_with_unqualified_negated_operator_is_false() -> None:
    assert not holds("StringNotEquals", "aws:TagKeys", ["x"], {"aws:tagkeys": ("a",)})


def test_set_qualifier_on_single_valued_key_is_a_one_element_set() -> None:
    ctx: Ctx = {"aws:username": "alice"}
    assert holds("ForAnyValue:StringEquals", "aws:username", ["alice"], ctx)
    assert not holds("ForAllValues:StringEquals", "aws:username", ["bob"], ctx)


def test_for_all_values_on_empty_string_is_true() -> None:
    assert holds("ForAllValues:StringEquals", "a:x", ["v"], {"a:x": ""})
    assert not holds("ForAnyValue:StringEquals", "a:x", ["v"], {"a:x": ""})


def test_for_any_value_ifexists_on_missing_key_is_true() -> None:
    assert holds("ForAnyValue:StringEqualsIfExists", "aws:TagKeys", TAGS, {})


# ---------------------------------------------------------------------------------------------
# String family


def test_string_equals_is_case_sensitive_and_star_is_literal() -> None:
    assert not holds("StringEquals", "a:x", ["Alice"], {"a:x": "alice"})
    assert holds("StringEquals", "a:x", ["a*"], {"a:x": "a*"})
    assert not holds("StringEquals", "a:x", ["a*"], {"a:x": "abc"})


def test_string_equals_ignore_case_uses_lower_not_casefold() -> None:
    assert holds("StringEqualsIgnoreCase", "a:x", ["ALICE"], {"a:x": "alice"})
    assert not holds("StringEqualsIgnoreCase", "a:x", ["ss"], {"a:x": "ß"})
    assert holds("StringNotEqualsIgnoreCase", "a:x", ["bob"], {"a:x": "ALICE"})


def test_string_like_wildcards_cross_slashes_and_colons() -> None:
    ctx: Ctx = {"a:x": "home/alice/a:b"}
    assert holds("StringLike", "a:x", ["home/*"], ctx)
    assert holds("StringLike", "a:x", ["home/?lice/*"], ctx)
    assert not holds("StringNotLike", "a:x", ["home/*"], ctx)
    assert holds("StringNotLike", "a:x", ["work/*"], ctx)


def test_json_number_and_boolean_values_compare_as_their_text() -> None:
    value = ConditionValue("10", ValueKind.NUMBER)
    clauses = [ConditionClause("StringEquals", (ConditionEntry("a:x", (value,)),))]
    assert evaluate_condition(clauses, {"a:x": "10"}, variables_enabled=True).matched


# ---------------------------------------------------------------------------------------------
# Numeric family


@pytest.mark.parametrize(
    ("operator", "context_value", "expected"),
    [
        ("NumericEquals", "10", True),
        ("NumericEquals", "10.0", True),
        ("NumericNotEquals", "11", True),
        ("NumericLessThan", "9.5", True),
        ("NumericLessThan", "10", False),
        ("NumericLessThanEquals", "10", True),
        ("NumericGreaterThan", "10.000001", True),
        ("NumericGreaterThanEquals", "-1", False),
    ],
)
def test_numeric_operators_compare_exact_decimals(
    operator: str, context_value: str, expected: bool
) -> None:
    assert holds(operator, "s3:max-keys", ["10"], {"s3:max-keys": context_value}) is expected


def test_numeric_invalid_comparison_is_false_for_positive_and_negated() -> None:
    assert not holds("NumericEquals", "a:n", ["abc"], {"a:n": "1"})
    assert not holds("NumericNotEquals", "a:n", ["abc"], {"a:n": "1"})
    assert not holds("NumericNotEquals", "a:n", ["2"], {"a:n": "lots"})


def test_numeric_invalid_value_poisons_the_nor() -> None:
    assert not holds("NumericNotEquals", "a:n", ["2", "junk"], {"a:n": "1"})


def test_parse_number() -> None:
    assert parse_number("3.5") == Decimal("3.5")
    assert parse_number("-1") == Decimal(-1)
    assert parse_number("1e5") is None
    assert parse_number("NaN") is None
    assert parse_number("") is None


def test_numeric_values_are_not_variable_substituted() -> None:
    assert not holds("NumericEquals", "a:n", ["${a:m}"], {"a:n": "1", "a:m": "1"})


# ---------------------------------------------------------------------------------------------
# Date family


def test_date_iso_forms_compare_by_instant() -> None:
    ctx: Ctx = {"aws:currenttime": "2026-01-01T12:00:00Z"}
    assert holds("DateGreaterThan", "aws:CurrentTime", ["2025-12-31T23:59:59Z"], ctx)
    assert holds("DateLessThan", "aws:CurrentTime", ["2026-01-01T13:00:00+00:30"], ctx)
    assert holds("DateEquals", "aws:CurrentTime", ["2026-01-01T13:00:00+01:00"], ctx)
    assert holds("DateNotEquals", "aws:CurrentTime", ["2026-01-01"], ctx)
    assert holds("DateGreaterThanEquals", "aws:CurrentTime", ["2026-01-01"], ctx)


def test_date_epoch_policy_value_against_iso_context() -> None:
    ctx: Ctx = {"aws:currenttime": "2023-11-14T22:13:20Z"}
    assert holds("DateEquals", "aws:CurrentTime", ["1700000000"], ctx)
    assert holds("DateLessThan", "aws:EpochTime", ["2023-11-15"], {"aws:epochtime": "1700000000"})


def test_parse_date_formats() -> None:
    base = parse_date("2016-12-13T02:00:00Z")
    assert base is not None
    assert parse_date("2016-12-13t2:00:00Z") == base
    assert parse_date("2016-12-13T02:00Z") == base
    assert parse_date("2016-12-13T02:00:00.5Z") == base + 500_000_000
    assert parse_date("2016-12-13T02:00:00") == base  # no TZD: UTC
    assert parse_date("2016-12-13T04:00:00+02") == base
    assert parse_date("2016") == 2016 * 10**9  # no `-`/`T`: an epoch value
    assert parse_date("1970-01") == 0
    assert parse_date("0") == 0


@pytest.mark.parametrize(
    "text",
    [
        "sdfdsf",
        "234-13",
        "2016-12-13t2:00:00.593194+1",
        "2016-12-13T02:00:00.1234567890Z",
        "2016-12-32",
        "2016-12-13T24:00:00Z",
        "9223372036854775808",
        "",
    ],
)
def test_parse_date_rejects_bad_values(text: str) -> None:
    assert parse_date(text) is None


def test_date_invalid_comparison_is_false_for_negated() -> None:
    ctx: Ctx = {"aws:currenttime": "garbage"}
    assert not holds("DateNotEquals", "aws:CurrentTime", ["2020-01-01"], ctx)


# ---------------------------------------------------------------------------------------------
# Bool, Binary, IP, ARN, Null


def test_bool_is_case_insensitive_and_strict_about_literals() -> None:
    assert holds("Bool", "aws:SecureTransport", ["TRUE"], {"aws:securetransport": "true"})
    assert not holds("Bool", "aws:SecureTransport", ["false"], {"aws:securetransport": "yes"})
    assert not holds("Bool", "aws:SecureTransport", ["maybe"], {"aws:securetransport": "true"})


def test_bool_accepts_variables() -> None:
    ctx: Ctx = {"aws:securetransport": "true", "a:flag": "True"}
    assert holds("Bool", "aws:SecureTransport", ["${a:flag}"], ctx)


def test_binary_equals_compares_decoded_bytes() -> None:
    assert holds("BinaryEquals", "a:b", ["QmluYXJ5"], {"a:b": "QmluYXJ5"})
    assert not holds("BinaryEquals", "a:b", ["QmluYXJ5"], {"a:b": "QmluYXJ6"})
    assert not holds("BinaryEquals", "a:b", ["not base64!"], {"a:b": "QmluYXJ5"})


def test_ip_address_v4_and_v6() -> None:
    assert holds("IpAddress", "aws:SourceIp", ["203.0.113.0/24"], {"aws:sourceip": "203.0.113.7"})
    assert holds("IpAddress", "aws:SourceIp", ["203.0.113.7"], {"aws:sourceip": "203.0.113.7"})
    assert holds("IpAddress", "aws:SourceIp", ["203.0.113.9/24"], {"aws:sourceip": "203.0.113.7"})
    v6: Ctx = {"aws:sourceip": "2001:db8:1234:5678::1"}
    assert holds("IpAddress", "aws:SourceIp", ["2001:DB8:1234:5678::/64"], v6)
    assert not holds("IpAddress", "aws:SourceIp", ["203.0.113.0/24"], v6)
    assert holds("NotIpAddress", "aws:SourceIp", ["203.0.113.0/24"], v6)


def test_ip_unparseable_values_are_invalid_for_both_operators() -> None:
    assert not holds("IpAddress", "aws:SourceIp", ["10.0.0.0/8"], {"aws:sourceip": "nope"})
    assert not holds("NotIpAddress", "aws:SourceIp", ["10.0.0.0/8"], {"aws:sourceip": "nope"})
    assert not holds("NotIpAddress", "aws:SourceIp", ["bad"], {"aws:sourceip": "10.0.0.1"})


def test_arn_equals_and_arn_like_both_honour_wildcards() -> None:
    ctx: Ctx = {"aws:sourcearn": "arn:aws:sns:us-east-1:111122223333:topic"}
    for op in ("ArnEquals", "ArnLike"):
        assert holds(op, "aws:SourceArn", ["arn:aws:sns:*:111122223333:*"], ctx)
    for op in ("ArnNotEquals", "ArnNotLike"):
        assert not holds(op, "aws:SourceArn", ["arn:aws:sns:*:111122223333:*"], ctx)
        assert holds(op, "aws:SourceArn", ["arn:aws:sns:*:999999999999:*"], ctx)


def test_arn_operators_on_non_arn_context_value_are_false_both_ways() -> None:
    ctx: Ctx = {"aws:sourcearn": "not-an-arn"}
    assert not holds("ArnLike", "aws:SourceArn", ["arn:aws:sns:*:*:*"], ctx)
    assert not holds("ArnNotLike", "aws:SourceArn", ["arn:aws:sns:*:*:*"], ctx)


def test_arn_policy_value_that_is_not_an_arn_never_matches() -> None:
    ctx: Ctx = {"aws:sourcearn": "arn:aws:sns:us-east-1:1:t"}
    assert not holds("ArnLike", "aws:SourceArn", ["*"], ctx)
    assert holds("ArnNotLike", "aws:SourceArn", ["*"], ctx)


def test_null_operator() -> None:
    assert holds("Null", "aws:TokenIssueTime", ["true"], {})
    assert not holds("Null", "aws:TokenIssueTime", ["false"], {})
    assert holds("Null", "aws:TagKeys", ["false"], {"aws:tagkeys": ("a",)})
    assert holds("Null", "aws:TagKeys", ["true"], {"aws:tagkeys": ()})
    assert holds("Null", "a:x", ["true"], {"a:x": ""})
    assert holds("Null", "a:x", ["TRUE"], {})


# ---------------------------------------------------------------------------------------------
# Policy variables in values (§5)


def test_variable_in_string_value_is_substituted() -> None:
    ctx: Ctx = {"s3:prefix": "home/alice/", "aws:username": "alice"}
    assert holds("StringLike", "s3:prefix", ["home/${aws:username}/*"], ctx)


def test_substituted_value_is_not_a_wildcard_in_string_like() -> None:
    ctx: Ctx = {"s3:prefix": "home/bob", "aws:username": "*"}
    assert not holds("StringLike", "s3:prefix", ["home/${aws:username}"], ctx)


def test_unresolved_variable_matches_nothing_for_positive_operator() -> None:
    assert not holds("StringEquals", "a:x", ["${aws:PrincipalTag/team}"], {"a:x": ""})


def test_unresolved_variable_makes_negated_operator_true() -> None:
    ctx: Ctx = {"s3:existingobjecttag/team": "blue"}
    assert holds("StringNotEquals", "s3:ExistingObjectTag/Team", ["${aws:PrincipalTag/Team}"], ctx)


def test_variables_are_literal_in_2008_language() -> None:
    ctx: Ctx = {"a:x": "alice", "aws:username": "alice"}
    assert not holds("StringEquals", "a:x", ["${aws:username}"], ctx, variables=False)
    assert holds(
        "StringEquals", "a:x", ["${aws:username}"], {"a:x": "${aws:username}"}, variables=False
    )


def test_variable_in_arn_value() -> None:
    ctx: Ctx = {
        "aws:principalarn": "arn:aws:iam::111122223333:role/App",
        "aws:principalaccount": "111122223333",
    }
    pattern = "arn:aws:iam::${aws:PrincipalAccount}:role/*"
    assert holds("ArnLike", "aws:PrincipalArn", [pattern], ctx)
