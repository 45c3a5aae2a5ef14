"""Decisions per second of the reference evaluator on a realistic policy set.

    python3 -m pytest benchmarks/test_evaluator.py --benchmark-only

The set: three identity policies (wildcard actions, a home-directory resource with
`${aws:username}`, tag and IP conditions, an MFA deny), a bucket policy, a permissions boundary,
two SCP levels and one RCP level. Each benchmark evaluates a fixed batch of requests and asserts
every decision.
"""

from __future__ import annotations

from typing import Any

from policylang.decision import Decision
from policylang.evaluator import evaluate
from policylang.grammar import policy_from_value
from policylang.ir import PolicyKind
from policylang.policy_set import NamedPolicy, PolicySet
from policylang.request import Caller, PrincipalType, Request, Resource

A = "111122223333"
B = "444455556666"
V = "2012-10-17"


def _named(label: str, kind: PolicyKind, statements: list[dict[str, Any]]) -> NamedPolicy:
    return NamedPolicy(label, policy_from_value({"Version": V, "Statement": statements}), kind)


IDENTITY = (
    _named(
        "identity[0]",
        PolicyKind.IDENTITY,
        [
            {
                "Sid": "HomeDir",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                "Resource": "arn:aws:s3:::corp-bucket/home/${aws:username}/*",
            },
            {
                "Sid": "ListHome",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": "arn:aws:s3:::corp-bucket",
                "Condition": {"StringLike": {"s3:prefix": ["home/${aws:username}/*"]}},
            },
        ],
    ),
    _named(
        "identity[1]",
        PolicyKind.IDENTITY,
        [
            {
                "Sid": "TeamEc2",
                "Effect": "Allow",
                "Action": ["ec2:Describe*", "ec2:StartInstances", "ec2:StopInstances"],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"},
                    "IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "198.51.100.0/24"]},
                },
            },
            {"Sid": "ReadShared", "Effect": "Allow", "Action": "s3:Get*", "Resource": "*"},
        ],
    ),
    _named(
        "identity[2]",
        PolicyKind.IDENTITY,
        [
            {
                "Sid": "RequireMfa",
                "Effect": "Deny",
                "NotAction": ["iam:*", "sts:GetSessionToken"],
                "Resource": "*",
                "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
            }
        ],
    ),
)
RESOURCE = _named(
    "resource",
    PolicyKind.RESOURCE,
    [
        {
            "Sid": "CrossAccountRead",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{B}:root"},
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::corp-bucket/shared/*",
        },
        {
            "Sid": "TlsOnly",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::corp-bucket", "arn:aws:s3:::corp-bucket/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
    ],
)
BOUNDARY = _named(
    "boundary",
    PolicyKind.BOUNDARY,
    [{"Effect": "Allow", "Action": ["s3:*", "ec2:*", "iam:Get*"], "Resource": "*"}],
)
SCP = (
    (_named("scp[0][0]", PolicyKind.SCP, [{"Effect": "Allow", "Action": "*", "Resource": "*"}]),),
    (
        _named("scp[1][0]", PolicyKind.SCP, [{"Effect": "Allow", "Action": "*", "Resource": "*"}]),
        _named(
            "scp[1][1]",
            PolicyKind.SCP,
            [
                {
                    "Sid": "RegionLock",
                    "Effect": "Deny",
                    "NotAction": ["iam:*", "sts:*", "organizations:*"],
                    "Resource": "*",
                    "Condition": {
                        "StringNotEquals": {"aws:RequestedRegion": ["eu-west-1", "us-east-1"]}
                    },
                }
            ],
        ),
    ),
)
RCP = (
    (
        _named(
            "rcp[0][0]",
            PolicyKind.RCP,
            [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}],
        ),
    ),
)
POLICIES = PolicySet(identity=IDENTITY, resource=RESOURCE, boundary=BOUNDARY, scp=SCP, rcp=RCP)

ALICE = Caller(PrincipalType.USER, f"arn:aws:iam::{A}:user/alice", A, "AIDAALICE", {"team": "blue"})
CTX = {
    "aws:MultiFactorAuthPresent": "true",
    "aws:SecureTransport": "true",
    "aws:RequestedRegion": "eu-west-1",
    "aws:SourceIp": "203.0.113.7",
    "aws:CurrentTime": "2026-01-01T00:00:00Z",
}


def _req(action: str, arn: str, account: str | None = A, **extra: str) -> Request:
    return Request(ALICE, action, Resource(arn, account, {"team": "blue"}), {**CTX, **extra})


CASES = [
    (_req("s3:GetObject", "arn:aws:s3:::corp-bucket/home/alice/a.txt"), Decision.ALLOWED),
    (_req("s3:PutObject", "arn:aws:s3:::corp-bucket/home/bob/a.txt"), Decision.IMPLICIT_DENY),
    (
        _req("s3:ListBucket", "arn:aws:s3:::corp-bucket", **{"s3:prefix": "home/alice/x"}),
        Decision.ALLOWED,
    ),
    (
        _req("ec2:StartInstances", f"arn:aws:ec2:eu-west-1:{A}:instance/i-1"),
        Decision.ALLOWED,
    ),
    (
        _req(
            "ec2:StartInstances",
            f"arn:aws:ec2:eu-west-1:{A}:instance/i-1",
            **{"aws:RequestedRegion": "ap-south-1"},
        ),
        Decision.EXPLICIT_DENY,
    ),
    (
        _req("s3:GetObject", "arn:aws:s3:::corp-bucket/x", **{"aws:SecureTransport": "false"}),
        Decision.EXPLICIT_DENY,
    ),
    (_req("iam:CreateUser", f"arn:aws:iam::{A}:user/eve"), Decision.IMPLICIT_DENY),
    (
        _req("dynamodb:GetItem", f"arn:aws:dynamodb:eu-west-1:{A}:table/t"),
        Decision.IMPLICIT_DENY,
    ),
]


def _run_batch() -> list[Decision]:
    return [evaluate(POLICIES, request).decision for request, _ in CASES]


def test_reference_evaluator_decisions(benchmark: Any) -> None:
    decisions = benchmark(_run_batch)
    assert decisions == [expected for _, expected in CASES]
    stats = getattr(benchmark, "stats", None)
    if stats is not None and stats.stats.mean:
        benchmark.extra_info["decisions_per_second"] = round(len(CASES) / stats.stats.mean)
