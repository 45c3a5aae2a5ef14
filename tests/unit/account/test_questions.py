"""Golden who-can / can / assume-paths questions over the sample environment.

Every answer is also replayed: its simulation case (`Answer.to_case()`) goes through
`policylang.simulate` and must reach the same decision. Principals are written short: `user/x`
and `role/x` for account 222222222222 (prod), `ACCOUNT:user/x` for the others.
"""

from __future__ import annotations

import pathlib
from typing import Any

import pytest

from policylang.account import Environment, assume_paths, can, load_environment, who_can
from policylang.account.questions import Answer
from policylang.simulate import simulate

SAMPLE = pathlib.Path(__file__).parent / "data" / "sample.json"
PROD = "222222222222"
OIDC = "arn:aws:iam::222222222222:oidc-provider/token.actions.githubusercontent.com"


@pytest.fixture(scope="module")
def env() -> Environment:
    return load_environment([SAMPLE])


def short(answer: Answer) -> str:
    if answer.kind in ("service", "federated", "external", "anonymous"):
        return answer.principal
    tail = answer.principal.split(":", 4)[-1]
    return tail.split(":", 1)[1] if tail.startswith(PROD + ":") else tail


def replay(answer: Answer) -> None:
    if answer.question is None:
        return
    simulated = simulate(answer.to_case(name="replay"))
    assert simulated.decision == answer.decision, answer.principal


WHO_CAN = [
    (
        "s3:GetObject",
        "arn:aws:s3:::acme-reports/x.csv",
        None,
        {
            "333333333333:role/DevOps": "conditional",
            "333333333333:user/dev1": "conditional",
            "333333333333:user/dev2": "conditional",
            "333333333333:user/dev3": "conditional",
            "role/Admin": "conditional",
            "role/Auditor": "conditional",
            "role/BreakGlass": "conditional",
            "role/CrossDevAccess": "conditional",
            "role/Deploy": "conditional",
            "role/GitHubDeploy": "conditional",
            "role/OrganizationAccountAccessRole": "conditional",
            "role/SamlAdmins": "conditional",
            "role/service-role/DataPipeline": "conditional",
            "user/alice": "conditional",
            "user/bob": "conditional",
            "user/carol": "conditional",
            "user/contractors/walter": "conditional",
            "user/dave": "conditional",
            "user/frank": "conditional",
            "user/heidi": "conditional",
            "user/peggy": "conditional",
            "user/trent": "conditional",
            "user/victor": "conditional",
        },
    ),
    (
        "s3:GetObject",
        "arn:aws:s3:::acme-reports/x.csv",
        {"aws:SecureTransport": "true"},
        {
            "333333333333:role/DevOps": "allowed",
            "333333333333:user/dev1": "allowed",
            "333333333333:user/dev2": "allowed",
            "333333333333:user/dev3": "allowed",
            "role/Admin": "allowed",
            "role/Auditor": "allowed",
            "role/BreakGlass": "allowed",
            "role/CrossDevAccess": "allowed",
            "role/Deploy": "allowed",
            "role/GitHubDeploy": "allowed",
            "role/OrganizationAccountAccessRole": "allowed",
            "role/SamlAdmins": "allowed",
            "role/service-role/DataPipeline": "allowed",
            "user/alice": "allowed",
            "user/bob": "allowed",
            "user/carol": "allowed",
            "user/contractors/walter": "allowed",
            "user/dave": "conditional",
            "user/frank": "allowed",
            "user/heidi": "conditional",
            "user/peggy": "conditional",
            "user/trent": "allowed",
            "user/victor": "allowed",
        },
    ),
    (
        "s3:GetObject",
        "arn:aws:s3:::acme-reports/x.csv",
        {"aws:SecureTransport": "true", "aws:SourceIp": "203.0.113.9"},
        {
            "333333333333:role/DevOps": "allowed",
            "333333333333:user/dev1": "allowed",
            "333333333333:user/dev2": "allowed",
            "333333333333:user/dev3": "allowed",
            "role/Admin": "allowed",
            "role/Auditor": "allowed",
            "role/BreakGlass": "allowed",
            "role/CrossDevAccess": "allowed",
            "role/Deploy": "allowed",
            "role/GitHubDeploy": "allowed",
            "role/OrganizationAccountAccessRole": "allowed",
            "role/SamlAdmins": "allowed",
            "role/service-role/DataPipeline": "allowed",
            "user/alice": "allowed",
            "user/bob": "allowed",
            "user/carol": "allowed",
            "user/contractors/walter": "allowed",
            "user/dave": "allowed",
            "user/frank": "allowed",
            "user/heidi": "conditional",
            "user/peggy": "allowed",
            "user/trent": "allowed",
            "user/victor": "allowed",
        },
    ),
    ("s3:GetObject", "arn:aws:s3:::acme-reports/x.csv", {"aws:SecureTransport": "false"}, {}),
    (
        "s3:ListBucket",
        "arn:aws:s3:::acme-reports",
        {"aws:SecureTransport": "true"},
        {
            "333333333333:role/DevOps": "allowed",
            "333333333333:user/dev1": "allowed",
            "333333333333:user/dev2": "allowed",
            "333333333333:user/dev3": "allowed",
            "333333333333:user/intern": "allowed",
            "role/Admin": "allowed",
            "role/Auditor": "allowed",
            "role/BreakGlass": "allowed",
            "role/CrossDevAccess": "allowed",
            "role/Deploy": "allowed",
            "role/GitHubDeploy": "allowed",
            "role/OrganizationAccountAccessRole": "allowed",
            "role/SamlAdmins": "allowed",
            "role/service-role/DataPipeline": "allowed",
            "user/alice": "allowed",
            "user/bob": "allowed",
            "user/carol": "allowed",
            "user/contractors/walter": "allowed",
            "user/frank": "allowed",
            "user/heidi": "conditional",
            "user/trent": "allowed",
        },
    ),
    (
        "s3:GetObject",
        "arn:aws:s3:::acme-public/logo.png",
        None,
        {
            "111111111111:user/org-admin": "allowed",
            "333333333333:user/dev1": "allowed",
            "333333333333:user/dev2": "allowed",
            "333333333333:user/dev3": "allowed",
            "role/Admin": "allowed",
            "role/Auditor": "allowed",
            "role/BreakGlass": "allowed",
            "role/ChainTarget": "allowed",
            "role/CrossDevAccess": "allowed",
            "role/Deploy": "allowed",
            "role/GitHubDeploy": "allowed",
            "role/OrganizationAccountAccessRole": "allowed",
            "role/SamlAdmins": "allowed",
            "role/WebServer": "allowed",
            "role/Worker": "allowed",
            "role/aws-service-role/support.amazonaws.com/AWSServiceRoleForSupport": "allowed",
            "role/service-role/DataPipeline": "allowed",
            "role/service-role/LambdaExec": "allowed",
            "user/alice": "allowed",
            "user/bob": "allowed",
            "user/carol": "allowed",
            "user/ci/oscar": "allowed",
            "user/contractors/walter": "allowed",
            "user/dave": "allowed",
            "user/erin": "allowed",
            "user/frank": "allowed",
            "user/grace": "allowed",
            "user/heidi": "conditional",
            "user/ivan": "allowed",
            "user/judy": "allowed",
            "user/peggy": "allowed",
            "user/trent": "allowed",
            "user/victor": "allowed",
        },
    ),
    (
        "s3:GetObject",
        "arn:aws:s3:::acme-public/logo.png",
        {"aws:MultiFactorAuthPresent": "true"},
        {
            "111111111111:user/org-admin": "allowed",
            "333333333333:user/dev1": "allowed",
            "333333333333:user/dev2": "allowed",
            "333333333333:user/dev3": "allowed",
            "role/Admin": "allowed",
            "role/Auditor": "allowed",
            "role/BreakGlass": "allowed",
            "role/ChainTarget": "allowed",
            "role/CrossDevAccess": "allowed",
            "role/Deploy": "allowed",
            "role/GitHubDeploy": "allowed",
            "role/OrganizationAccountAccessRole": "allowed",
            "role/SamlAdmins": "allowed",
            "role/WebServer": "allowed",
            "role/Worker": "allowed",
            "role/aws-service-role/support.amazonaws.com/AWSServiceRoleForSupport": "allowed",
            "role/service-role/DataPipeline": "allowed",
            "role/service-role/LambdaExec": "allowed",
            "user/alice": "allowed",
            "user/bob": "allowed",
            "user/carol": "allowed",
            "user/ci/oscar": "allowed",
            "user/contractors/walter": "allowed",
            "user/dave": "allowed",
            "user/erin": "allowed",
            "user/frank": "allowed",
            "user/grace": "allowed",
            "user/heidi": "allowed",
            "user/ivan": "allowed",
            "user/judy": "allowed",
            "user/peggy": "allowed",
            "user/trent": "allowed",
            "user/victor": "allowed",
        },
    ),
    (
        "s3:PutObject",
        "arn:aws:s3:::acme-uploads/ivan/a.txt",
        None,
        {
            "111111111111:user/org-admin": "allowed",
            "333333333333:user/dev1": "allowed",
            "333333333333:user/dev2": "allowed",
            "333333333333:user/dev3": "allowed",
            "role/Admin": "allowed",
            "role/BreakGlass": "allowed",
            "role/Deploy": "allowed",
            "role/OrganizationAccountAccessRole": "allowed",
            "role/service-role/DataPipeline": "allowed",
            "user/alice": "allowed",
            "user/ivan": "allowed",
        },
    ),
    (
        "s3:PutObject",
        "arn:aws:s3:::acme-uploads/bob/a.txt",
        None,
        {
            "111111111111:user/org-admin": "allowed",
            "333333333333:user/dev1": "allowed",
            "333333333333:user/dev2": "allowed",
            "333333333333:user/dev3": "allowed",
            "role/Admin": "allowed",
            "role/BreakGlass": "allowed",
            "role/Deploy": "allowed",
            "role/OrganizationAccountAccessRole": "allowed",
            "role/service-role/DataPipeline": "allowed",
            "user/alice": "allowed",
        },
    ),
    (
        "sqs:ReceiveMessage",
        "arn:aws:sqs:us-east-1:222222222222:orders",
        None,
        {
            "role/Admin": "allowed",
            "role/BreakGlass": "allowed",
            "role/Deploy": "allowed",
            "role/OrganizationAccountAccessRole": "allowed",
            "role/Worker": "allowed",
            "user/alice": "allowed",
        },
    ),
    (
        "sqs:SendMessage",
        "arn:aws:sqs:us-east-1:222222222222:orders",
        None,
        {
            "role/Admin": "allowed",
            "role/BreakGlass": "allowed",
            "role/Deploy": "allowed",
            "role/OrganizationAccountAccessRole": "allowed",
            "role/WebServer": "allowed",
            "sns.amazonaws.com": "conditional",
            "user/alice": "allowed",
            "user/judy": "allowed",
        },
    ),
    (
        "sqs:SendMessage",
        "arn:aws:sqs:us-east-1:222222222222:orders",
        {"aws:SourceArn": "arn:aws:sns:us-east-1:222222222222:order-events"},
        {
            "role/Admin": "allowed",
            "role/BreakGlass": "allowed",
            "role/Deploy": "allowed",
            "role/OrganizationAccountAccessRole": "allowed",
            "role/WebServer": "allowed",
            "sns.amazonaws.com": "allowed",
            "user/alice": "allowed",
            "user/judy": "allowed",
        },
    ),
    (
        "sts:AssumeRole",
        "arn:aws:iam::222222222222:role/Deploy",
        None,
        {
            "role/Admin": "conditional",
            "role/BreakGlass": "conditional",
            "role/Deploy": "conditional",
            "role/OrganizationAccountAccessRole": "conditional",
            "user/alice": "conditional",
            "user/bob": "conditional",
            "user/carol": "conditional",
            "user/ci/oscar": "conditional",
            "user/contractors/walter": "conditional",
            "user/heidi": "conditional",
            "user/mallory": "conditional",
        },
    ),
    (
        "sts:AssumeRole",
        "arn:aws:iam::222222222222:role/Deploy",
        {"aws:MultiFactorAuthPresent": "true"},
        {
            "role/Admin": "allowed",
            "role/BreakGlass": "allowed",
            "role/Deploy": "allowed",
            "role/OrganizationAccountAccessRole": "allowed",
            "user/alice": "allowed",
            "user/bob": "allowed",
            "user/carol": "allowed",
            "user/ci/oscar": "allowed",
            "user/contractors/walter": "allowed",
            "user/heidi": "allowed",
            "user/mallory": "allowed",
        },
    ),
    ("sts:AssumeRole", "arn:aws:iam::222222222222:role/Admin", None, {"user/alice": "allowed"}),
    (
        "sts:AssumeRole",
        "arn:aws:iam::222222222222:role/Auditor",
        None,
        {"arn:aws:iam::999988887777:root": "conditional"},
    ),
    (
        "sts:AssumeRole",
        "arn:aws:iam::222222222222:role/BreakGlass",
        None,
        {
            "role/Admin": "conditional",
            "role/BreakGlass": "conditional",
            "role/Deploy": "conditional",
            "role/OrganizationAccountAccessRole": "conditional",
            "user/bob": "allowed",
        },
    ),
    (
        "sts:AssumeRole",
        "arn:aws:iam::222222222222:role/WebServer",
        None,
        {"ec2.amazonaws.com": "allowed"},
    ),
    (
        "sts:AssumeRole",
        "arn:aws:iam::222222222222:role/CrossDevAccess",
        None,
        {"333333333333:role/DevOps": "allowed"},
    ),
    (
        "sts:AssumeRole",
        "arn:aws:iam::222222222222:role/OrganizationAccountAccessRole",
        None,
        {"111111111111:user/auditor-bot": "allowed", "111111111111:user/org-admin": "allowed"},
    ),
    (
        "sts:AssumeRole",
        "arn:aws:iam::222222222222:role/ChainTarget",
        None,
        {"role/Deploy": "allowed"},
    ),
    (
        "sts:AssumeRoleWithWebIdentity",
        "arn:aws:iam::222222222222:role/GitHubDeploy",
        None,
        {f"{OIDC}": "conditional"},
    ),
    (
        "sts:AssumeRoleWithSAML",
        "arn:aws:iam::222222222222:role/SamlAdmins",
        None,
        {"arn:aws:iam::222222222222:saml-provider/Okta": "allowed"},
    ),
    (
        "kms:Decrypt",
        "arn:aws:kms:us-east-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        None,
        {
            "role/Admin": "allowed",
            "role/BreakGlass": "allowed",
            "role/ChainTarget": "allowed",
            "role/Deploy": "allowed",
            "role/OrganizationAccountAccessRole": "allowed",
            "user/alice": "allowed",
        },
    ),
    ("iam:CreateUser", "arn:aws:iam::222222222222:user/newbie", None, {}),
    ("iam:CreateUser", "arn:aws:iam::333333333333:user/newbie", None, {}),
    (
        "secretsmanager:GetSecretValue",
        "arn:aws:secretsmanager:us-east-1:222222222222:secret:prod/db-AbCdEf",
        None,
        {
            "role/Admin": "allowed",
            "role/BreakGlass": "allowed",
            "role/Deploy": "allowed",
            "role/OrganizationAccountAccessRole": "allowed",
            "user/alice": "allowed",
            "user/trent": "allowed",
        },
    ),
    ("organizations:LeaveOrganization", "*", None, {"111111111111:user/org-admin": "allowed"}),
    (
        "ec2:RunInstances",
        "*",
        {"aws:RequestedRegion": "us-east-1"},
        {
            "111111111111:user/org-admin": "allowed",
            "333333333333:user/dev1": "allowed",
            "333333333333:user/dev2": "allowed",
            "333333333333:user/dev3": "allowed",
            "role/Admin": "allowed",
            "role/BreakGlass": "allowed",
            "role/Deploy": "allowed",
            "role/OrganizationAccountAccessRole": "allowed",
            "user/alice": "allowed",
        },
    ),
    (
        "ec2:RunInstances",
        "*",
        None,
        {
            "111111111111:user/org-admin": "allowed",
            "333333333333:user/dev1": "conditional",
            "333333333333:user/dev2": "conditional",
            "333333333333:user/dev3": "conditional",
            "role/Admin": "conditional",
            "role/BreakGlass": "conditional",
            "role/Deploy": "conditional",
            "role/OrganizationAccountAccessRole": "conditional",
            "user/alice": "conditional",
        },
    ),
    (
        "logs:PutLogEvents",
        "arn:aws:logs:us-east-1:222222222222:log-group:app",
        None,
        {
            "role/Admin": "allowed",
            "role/BreakGlass": "allowed",
            "role/Deploy": "allowed",
            "role/OrganizationAccountAccessRole": "allowed",
            "role/service-role/LambdaExec": "allowed",
            "user/alice": "allowed",
        },
    ),
    (
        "budgets:ViewBudget",
        "*",
        None,
        {
            "111111111111:user/org-admin": "allowed",
            "333333333333:user/dev1": "allowed",
            "333333333333:user/dev2": "allowed",
            "333333333333:user/dev3": "allowed",
            "role/Admin": "allowed",
            "role/BreakGlass": "allowed",
            "role/Deploy": "allowed",
            "role/OrganizationAccountAccessRole": "allowed",
            "user/alice": "allowed",
            "user/erin": "allowed",
        },
    ),
]

ASSUME_PATHS = [
    (
        "alice",
        [
            ("222222222222:role/Admin", "allowed", 1),
            ("222222222222:role/Deploy", "conditional", 1),
            ("222222222222:role/BreakGlass", "conditional", 2),
            ("222222222222:role/ChainTarget", "conditional", 2),
        ],
    ),
    (
        "bob",
        [
            ("222222222222:role/BreakGlass", "allowed", 1),
            ("222222222222:role/Deploy", "conditional", 1),
            ("222222222222:role/ChainTarget", "conditional", 2),
        ],
    ),
    (
        "carol",
        [
            ("222222222222:role/Deploy", "conditional", 1),
            ("222222222222:role/BreakGlass", "conditional", 2),
            ("222222222222:role/ChainTarget", "conditional", 2),
        ],
    ),
    (
        "oscar",
        [
            ("222222222222:role/Deploy", "conditional", 1),
            ("222222222222:role/BreakGlass", "conditional", 2),
            ("222222222222:role/ChainTarget", "conditional", 2),
        ],
    ),
    (
        "dev1",
        [
            ("333333333333:role/DevOps", "allowed", 1),
            ("222222222222:role/CrossDevAccess", "allowed", 2),
        ],
    ),
    ("intern", []),
    (
        "auditor-bot",
        [
            ("222222222222:role/OrganizationAccountAccessRole", "allowed", 1),
            ("222222222222:role/BreakGlass", "conditional", 2),
            ("222222222222:role/Deploy", "conditional", 2),
            ("222222222222:role/ChainTarget", "conditional", 3),
        ],
    ),
    ("WebServer", []),
    (
        "ec2.amazonaws.com",
        [
            ("222222222222:role/WebServer", "allowed", 1),
            ("222222222222:role/Worker", "allowed", 1),
            ("222222222222:role/service-role/DataPipeline", "allowed", 1),
            ("333333333333:role/DevEc2", "allowed", 1),
        ],
    ),
    (
        "heidi",
        [
            ("222222222222:role/Deploy", "conditional", 1),
            ("222222222222:role/BreakGlass", "conditional", 2),
            ("222222222222:role/ChainTarget", "conditional", 2),
        ],
    ),
    ("grace", []),
    (
        "Deploy",
        [
            ("222222222222:role/BreakGlass", "conditional", 1),
            ("222222222222:role/ChainTarget", "allowed", 1),
        ],
    ),
    (
        "arn:aws:iam::222222222222:oidc-provider/token.actions.githubusercontent.com",
        [("222222222222:role/GitHubDeploy", "conditional", 1)],
    ),
]

CAN = [
    (
        "judy",
        None,
        [
            ("s3:GetObject", "arn:aws:s3:::acme-public/*", "allowed"),
            ("sqs:SendMessage", "arn:aws:sqs:us-east-1:222222222222:orders", "allowed"),
        ],
    ),
    (
        "ivan",
        None,
        [
            ("s3:GetObject", "arn:aws:s3:::acme-public/*", "allowed"),
            ("s3:GetObject", "arn:aws:s3:::acme-uploads/${aws:username}/*", "allowed"),
            ("s3:PutObject", "arn:aws:s3:::acme-uploads/${aws:username}/*", "allowed"),
        ],
    ),
    (
        "trent",
        "secretsmanager",
        [
            (
                "secretsmanager:GetSecretValue",
                "arn:aws:secretsmanager:us-east-1:222222222222:secret:prod/db-*",
                "allowed",
            )
        ],
    ),
    (
        "carol",
        "s3",
        [
            ("s3:GetObject", "arn:aws:s3:::acme-public/*", "allowed"),
            ("s3:GetObject", "arn:aws:s3:::acme-reports", "conditional"),
            ("s3:GetObject", "arn:aws:s3:::acme-reports/*", "conditional"),
            ("s3:ListBucket", "arn:aws:s3:::acme-reports", "conditional"),
            ("s3:ListBucket", "arn:aws:s3:::acme-reports/*", "conditional"),
        ],
    ),
    (
        "intern",
        None,
        [
            ("s3:ListBucket", "arn:aws:s3:::acme-reports", "conditional"),
            ("s3:ListBucket", "arn:aws:s3:::acme-reports/*", "conditional"),
        ],
    ),
    (
        "WebServer",
        None,
        [
            ("s3:GetObject", "arn:aws:s3:::acme-assets/*", "allowed"),
            ("s3:GetObject", "arn:aws:s3:::acme-public/*", "allowed"),
            ("sqs:SendMessage", "arn:aws:sqs:us-east-1:222222222222:orders", "allowed"),
        ],
    ),
    (
        "victor",
        None,
        [
            ("s3:GetObject", "arn:aws:s3:::acme-public/*", "allowed"),
            ("s3:GetObject", "arn:aws:s3:::acme-reports/*", "conditional"),
        ],
    ),
    (
        "Worker",
        "sqs",
        [
            ("sqs:DeleteMessage", "arn:aws:sqs:us-east-1:222222222222:orders", "allowed"),
            ("sqs:ReceiveMessage", "arn:aws:sqs:us-east-1:222222222222:orders", "allowed"),
        ],
    ),
    (
        "erin",
        None,
        [
            ("aws-portal:View*", "*", "allowed"),
            ("budgets:View*", "*", "allowed"),
            ("ce:Get*", "*", "allowed"),
            ("s3:GetObject", "arn:aws:s3:::acme-public/*", "allowed"),
        ],
    ),
    ("grace", None, [("s3:GetObject", "arn:aws:s3:::acme-public/*", "allowed")]),
    (
        "LambdaExec",
        None,
        [("logs:*", "*", "allowed"), ("s3:GetObject", "arn:aws:s3:::acme-public/*", "allowed")],
    ),
]


@pytest.mark.parametrize(("action", "resource", "context", "expected"), WHO_CAN)
def test_who_can(
    env: Environment,
    action: str,
    resource: str,
    context: dict[str, str] | None,
    expected: dict[str, str],
) -> None:
    result = who_can(env, action, resource, context=context)

    assert {short(a): a.status for a in result.answers} == expected
    for answer in result.answers:
        replay(answer)


@pytest.mark.parametrize(("principal", "expected"), ASSUME_PATHS)
def test_assume_paths(env: Environment, principal: str, expected: list[Any]) -> None:
    result = assume_paths(env, principal)

    got = [(r.role.split(":", 4)[-1], r.status, len(r.hops)) for r in result.reachable]
    assert got == expected
    for reach in result.reachable:
        assert reach.hops[-1].target == reach.role
        for hop in reach.hops:
            replay(hop.answer)


@pytest.mark.parametrize(("principal", "service", "expected"), CAN)
def test_can(env: Environment, principal: str, service: str | None, expected: list[Any]) -> None:
    result = can(env, principal, service=service)

    assert sorted((a.action, a.resource, a.status) for a in result.answers) == expected
    for answer in result.answers:
        replay(answer)
