"""IR → IAM JSON: canonical key order, written forms kept, numbers verbatim."""

from __future__ import annotations

import json

from policylang.grammar import format_iam_json, parse_iam_json, policy_to_value
from policylang.ir import (
    ActionSpec,
    ConditionClause,
    ConditionEntry,
    ConditionValue,
    Effect,
    Policy,
    PrincipalEntry,
    PrincipalSpec,
    ResourceSpec,
    Statement,
    ValueKind,
    Values,
)

SCRAMBLED = """{"Statement": [{"Condition": {"NumericLessThan": {"n": [1.50, 2E3]},
  "Bool": {"b": true}}, "Resource": "*", "NotAction": ["s3:x"], "Principal": {"AWS": "*"},
  "Effect": "Deny", "Sid": "S"}], "Id": "i", "Version": "2012-10-17"}"""


def test_canonical_key_order_and_verbatim_numbers() -> None:
    text = format_iam_json(parse_iam_json(SCRAMBLED), pretty=False)
    assert text == (
        '{"Version":"2012-10-17","Id":"i","Statement":[{"Sid":"S","Effect":"Deny",'
        '"Principal":{"AWS":"*"},"NotAction":["s3:x"],"Resource":"*","Condition":'
        '{"NumericLessThan":{"n":[1.50,2E3]},"Bool":{"b":true}}}]}'
    )


def test_pretty_output_is_two_space_json() -> None:
    text = format_iam_json(parse_iam_json(SCRAMBLED))
    assert text.startswith('{\n  "Version": "2012-10-17",\n  "Id": "i",\n  "Statement": [\n')
    assert json.loads(text) == json.loads(SCRAMBLED)


def test_value_form_uses_python_numbers() -> None:
    value = policy_to_value(parse_iam_json(SCRAMBLED))
    condition = value["Statement"][0]["Condition"]
    assert condition["NumericLessThan"]["n"] == [1.5, 2000.0]
    assert condition["Bool"]["b"] is True


def test_ir_built_by_hand_is_written_faithfully() -> None:
    policy = Policy(
        statements=(
            Statement(
                effect=Effect.ALLOW,
                action=ActionSpec(Values(("sts:AssumeRole",), is_list=False)),
                principal=PrincipalSpec(
                    (PrincipalEntry("Service", Values(("ec2.amazonaws.com",), is_list=True)),)
                ),
                condition=(
                    ConditionClause(
                        "StringEquals",
                        (
                            ConditionEntry(
                                "sts:ExternalId", (ConditionValue("x\u00e9\n"),), is_list=False
                            ),
                            ConditionEntry(
                                "n", (ConditionValue("-0", ValueKind.NUMBER),), is_list=True
                            ),
                        ),
                    ),
                ),
            ),
            Statement(
                effect=Effect.DENY,
                action=ActionSpec(Values(("*",), is_list=True), negated=True),
                resource=ResourceSpec(Values((), is_list=True)),
                principal=PrincipalSpec(is_wildcard=True, negated=True),
                condition=(),
            ),
        ),
        version=None,
    )
    text = format_iam_json(policy, pretty=False)
    assert text == (
        '{"Statement":[{"Effect":"Allow","Principal":{"Service":["ec2.amazonaws.com"]},'
        '"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"x\u00e9\\n",'
        '"n":[-0]}}},{"Effect":"Deny","NotPrincipal":"*","NotAction":["*"],"Resource":[],'
        '"Condition":{}}]}'
    )
    assert parse_iam_json(text) == policy


def test_single_statement_object_form_is_kept() -> None:
    text = '{"Statement": {"Effect": "Allow", "Action": "s3:x"}}'
    assert format_iam_json(parse_iam_json(text), pretty=False) == (
        '{"Statement":{"Effect":"Allow","Action":"s3:x"}}'
    )


def test_a_number_value_that_is_not_json_is_written_as_a_string() -> None:
    policy = Policy(
        statements=(
            Statement(
                effect=Effect.ALLOW,
                action=ActionSpec(Values(("s3:x",), is_list=False)),
                condition=(
                    ConditionClause(
                        "NumericEquals",
                        (ConditionEntry("k", (ConditionValue("12abc", ValueKind.NUMBER),)),),
                    ),
                ),
            ),
        ),
    )
    text = format_iam_json(policy, pretty=False)
    assert json.loads(text)["Statement"][0]["Condition"] == {"NumericEquals": {"k": "12abc"}}
