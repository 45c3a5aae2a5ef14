"""Regenerate sample.json (the sample environment of the account tests).

Run from the repository root: `python3 tests/unit/account/data/build_sample.py`. The output is
authorization-details JSON (three accounts) plus an organization, bundled in one file.
"""

from __future__ import annotations

import pathlib
from typing import Any

from policylang import _json
from policylang.account import (
    Account,
    Organization,
    OrgPolicy,
    export_authorization_details,
    export_organization,
)
from policylang.account.ids import IdGenerator
from policylang.account.model import to_policy
from policylang.ir import PolicyKind

MGMT, PROD, DEV, EXTERNAL = "111111111111", "222222222222", "333333333333", "999988887777"
V = "2012-10-17"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": V, "Statement": list(statements)}


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def trust(principal: Any, action: str = "sts:AssumeRole", **extra: Any) -> dict[str, Any]:
    return doc({"Effect": "Allow", "Principal": principal, "Action": action, **extra})


def aws_managed(account: Account) -> None:
    account.create_policy("AdministratorAccess", doc(allow("*")), aws_managed=True, id=None)
    account.create_policy(
        "ReadOnlyAccess",
        doc(
            allow(
                [
                    "s3:Get*",
                    "s3:List*",
                    "ec2:Describe*",
                    "iam:Get*",
                    "iam:List*",
                    "sqs:Get*",
                    "sqs:List*",
                ]
            )
        ),
        aws_managed=True,
    )


def prod_account() -> Account:
    a = Account(PROD, alias="acme-prod", ids=IdGenerator("prod"))
    aws_managed(a)
    arn = lambda name: f"arn:aws:iam::{PROD}:policy/{name}"  # noqa: E731
    a.create_policy(
        "S3ReadReports",
        doc(
            {
                "Sid": "ReadReports",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:ListBucket"],
                "Resource": ["arn:aws:s3:::acme-reports", "arn:aws:s3:::acme-reports/*"],
            }
        ),
    )
    a.create_policy(
        "DevOpsPower",
        doc(
            {
                "Sid": "AllButIam",
                "Effect": "Allow",
                "NotAction": ["iam:*", "organizations:*"],
                "Resource": "*",
            }
        ),
    )
    a.create_policy("BillingRead", doc(allow(["aws-portal:View*", "ce:Get*"])))
    a.create_policy(
        "DevBoundary",
        doc(allow(["s3:*", "ec2:Describe*", "sts:AssumeRole", "logs:*"])),
        path="/boundaries/",
    )
    a.create_policy(
        "AssumeDeploy", doc(allow("sts:AssumeRole", f"arn:aws:iam::{PROD}:role/Deploy"))
    )
    a.create_policy(
        "RequireMfa",
        doc(
            {
                "Sid": "DenyWithoutMfa",
                "Effect": "Deny",
                "NotAction": ["iam:ChangePassword", "sts:GetSessionToken"],
                "Resource": "*",
                "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
            }
        ),
    )
    a.create_policy_version(
        arn("BillingRead"),
        doc(allow(["aws-portal:View*", "ce:Get*", "budgets:View*"])),
        set_as_default=True,
    )

    groups = {
        "admins": ["arn:aws:iam::aws:policy/AdministratorAccess"],
        "developers": [arn("S3ReadReports"), arn("AssumeDeploy")],
        "analysts": [],
        "billing": [arn("BillingRead")],
        "readonly": ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
        "mfa-required": [arn("RequireMfa")],
    }
    for name, attached in groups.items():
        a.create_group(name)
        for policy_arn in attached:
            a.attach_policy("group", name, policy_arn)
    a.put_inline_policy("group", "developers", "DescribeEc2", doc(allow("ec2:Describe*")))
    a.put_inline_policy(
        "group",
        "analysts",
        "ReportsFromOffice",
        doc(
            {
                "Sid": "OfficeReports",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::acme-reports/*",
                "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
            }
        ),
    )

    users: dict[str, tuple[list[str], dict[str, Any]]] = {
        "alice": (["admins"], {"tags": {"team": "platform"}}),
        "bob": (["developers"], {"tags": {"team": "blue"}}),
        "carol": (
            ["developers"],
            {"boundary": arn("DevBoundary").replace("policy/", "policy/boundaries/")},
        ),
        "dave": (["analysts"], {}),
        "erin": (["billing"], {}),
        "frank": (["readonly"], {}),
        "grace": ([], {}),
        "heidi": (["developers", "mfa-required"], {}),
        "ivan": ([], {}),
        "judy": ([], {"tags": {"team": "blue"}}),
        "mallory": (["developers"], {}),
        "oscar": ([], {"path": "/ci/"}),
        "peggy": (["analysts"], {}),
        "trent": (["readonly"], {}),
        "victor": ([], {}),
        "walter": (["developers"], {"path": "/contractors/", "tags": {"team": "red"}}),
    }
    for name, (member_of, options) in users.items():
        a.create_user(name, **options)
        for group in member_of:
            a.add_user_to_group(group, name)
    a.put_inline_policy(
        "user",
        "ivan",
        "OwnUploads",
        doc(allow(["s3:PutObject", "s3:GetObject"], "arn:aws:s3:::acme-uploads/${aws:username}/*")),
    )
    a.put_inline_policy(
        "user",
        "judy",
        "TeamQueue",
        doc(
            allow(
                "sqs:SendMessage",
                f"arn:aws:sqs:us-east-1:{PROD}:orders",
                Condition={"StringEquals": {"aws:PrincipalTag/team": "blue"}},
            )
        ),
    )
    a.put_inline_policy("user", "mallory", "NoS3", doc(deny("s3:*")))
    a.attach_policy("user", "oscar", arn("AssumeDeploy"))
    a.put_inline_policy(
        "user",
        "trent",
        "DbSecret",
        doc(
            allow(
                "secretsmanager:GetSecretValue",
                f"arn:aws:secretsmanager:us-east-1:{PROD}:secret:prod/db-*",
            )
        ),
    )
    a.put_inline_policy(
        "user",
        "bob",
        "AssumeBreakGlass",
        doc(allow("sts:AssumeRole", f"arn:aws:iam::{PROD}:role/BreakGlass")),
    )
    a.put_inline_policy(
        "user",
        "walter",
        "AssumeBreakGlass",
        doc(allow("sts:AssumeRole", f"arn:aws:iam::{PROD}:role/BreakGlass")),
    )

    web = a.create_role(
        "WebServer",
        trust({"Service": "ec2.amazonaws.com"}),
        create_instance_profile=True,
        description="web tier",
    )
    a.put_inline_policy(
        "role",
        web.name,
        "Assets",
        doc(
            allow("s3:GetObject", "arn:aws:s3:::acme-assets/*"),
            allow("sqs:SendMessage", f"arn:aws:sqs:us-east-1:{PROD}:orders"),
        ),
    )
    a.create_role("Worker", trust({"Service": "ec2.amazonaws.com"}))
    a.create_instance_profile("WorkerProfile")
    a.add_role_to_instance_profile("WorkerProfile", "Worker")
    a.create_instance_profile("EmptyProfile", path="/spare/")
    a.put_inline_policy(
        "role",
        "Worker",
        "Orders",
        doc(
            allow(
                ["sqs:ReceiveMessage", "sqs:DeleteMessage"], f"arn:aws:sqs:us-east-1:{PROD}:orders"
            )
        ),
    )
    a.create_role("LambdaExec", trust({"Service": "lambda.amazonaws.com"}), path="/service-role/")
    a.put_inline_policy("role", "LambdaExec", "Logs", doc(allow("logs:*")))
    a.create_role(
        "Deploy",
        trust(
            {"AWS": f"arn:aws:iam::{PROD}:root"},
            Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}},
        ),
        max_session_duration=7200,
    )
    a.attach_policy("role", "Deploy", arn("DevOpsPower"))
    a.create_role("Admin", trust({"AWS": f"arn:aws:iam::{PROD}:user/alice"}))
    a.attach_policy("role", "Admin", "arn:aws:iam::aws:policy/AdministratorAccess")
    a.create_role(
        "Auditor",
        trust(
            {"AWS": f"arn:aws:iam::{EXTERNAL}:root"},
            Condition={"StringEquals": {"sts:ExternalId": "acme-audit-7"}},
        ),
    )
    a.attach_policy("role", "Auditor", "arn:aws:iam::aws:policy/ReadOnlyAccess")
    a.create_role("CrossDevAccess", trust({"AWS": f"arn:aws:iam::{DEV}:role/DevOps"}))
    a.attach_policy("role", "CrossDevAccess", arn("S3ReadReports"))
    a.create_role(
        "BreakGlass",
        trust(
            {"AWS": f"arn:aws:iam::{PROD}:root"},
            Condition={"StringEquals": {"aws:PrincipalTag/team": "blue"}},
        ),
        tags={"tier": "emergency"},
    )
    a.attach_policy("role", "BreakGlass", "arn:aws:iam::aws:policy/AdministratorAccess")
    a.create_role("ChainTarget", trust({"AWS": f"arn:aws:iam::{PROD}:role/Deploy"}))
    a.put_inline_policy(
        "role",
        "ChainTarget",
        "Decrypt",
        doc(
            allow(
                "kms:Decrypt",
                f"arn:aws:kms:us-east-1:{PROD}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            )
        ),
    )
    a.create_role(
        "GitHubDeploy",
        trust(
            {"Federated": f"arn:aws:iam::{PROD}:oidc-provider/token.actions.githubusercontent.com"},
            "sts:AssumeRoleWithWebIdentity",
            Condition={
                "StringLike": {"token.actions.githubusercontent.com:sub": "repo:acme/site:*"}
            },
        ),
    )
    a.attach_policy("role", "GitHubDeploy", arn("S3ReadReports"))
    a.create_role(
        "SamlAdmins",
        trust({"Federated": f"arn:aws:iam::{PROD}:saml-provider/Okta"}, "sts:AssumeRoleWithSAML"),
    )
    a.attach_policy("role", "SamlAdmins", "arn:aws:iam::aws:policy/ReadOnlyAccess")
    a.create_role(
        "AWSServiceRoleForSupport",
        trust({"Service": "support.amazonaws.com"}),
        path="/aws-service-role/support.amazonaws.com/",
    )
    a.put_inline_policy(
        "role",
        "AWSServiceRoleForSupport",
        "Support",
        doc(allow(["iam:Get*", "s3:GetBucketPolicy"])),
    )
    a.create_role("OrganizationAccountAccessRole", trust({"AWS": f"arn:aws:iam::{MGMT}:root"}))
    a.attach_policy(
        "role", "OrganizationAccountAccessRole", "arn:aws:iam::aws:policy/AdministratorAccess"
    )
    a.create_role(
        "DataPipeline",
        trust({"Service": ["datapipeline.amazonaws.com", "ec2.amazonaws.com"]}),
        path="/service-role/",
    )
    a.put_permissions_boundary(
        "role", "DataPipeline", arn("DevBoundary").replace("policy/", "policy/boundaries/")
    )
    a.put_inline_policy("role", "DataPipeline", "Pipeline", doc(allow(["s3:*", "sqs:*"])))

    a.put_resource_policy(
        "arn:aws:s3:::acme-reports",
        doc(
            {
                "Sid": "VictorReads",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{PROD}:user/victor"},
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::acme-reports/*",
            },
            {
                "Sid": "DevAccountReads",
                "Effect": "Allow",
                "Principal": {"AWS": DEV},
                "Action": ["s3:GetObject", "s3:ListBucket"],
                "Resource": ["arn:aws:s3:::acme-reports", "arn:aws:s3:::acme-reports/*"],
            },
            {
                "Sid": "TlsOnly",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": ["arn:aws:s3:::acme-reports", "arn:aws:s3:::acme-reports/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ),
        tags={"data": "confidential"},
    )
    a.put_resource_policy(
        "arn:aws:s3:::acme-public",
        doc(
            {
                "Sid": "Public",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::acme-public/*",
            }
        ),
    )
    a.put_resource_policy(
        f"arn:aws:sqs:us-east-1:{PROD}:orders",
        doc(
            {
                "Sid": "FromTopic",
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": f"arn:aws:sqs:us-east-1:{PROD}:orders",
                "Condition": {
                    "ArnEquals": {"aws:SourceArn": f"arn:aws:sns:us-east-1:{PROD}:order-events"}
                },
            },
            {
                "Sid": "WorkerReads",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{PROD}:role/Worker"},
                "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage"],
                "Resource": f"arn:aws:sqs:us-east-1:{PROD}:orders",
            },
        ),
    )
    a.put_resource_policy(
        f"arn:aws:kms:us-east-1:{PROD}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        doc(
            {
                "Sid": "EnableIam",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{PROD}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ),
    )
    a.put_resource_policy(
        f"arn:aws:secretsmanager:us-east-1:{PROD}:secret:prod/db-AbCdEf", None, tags={"env": "prod"}
    )
    return a


def dev_account() -> Account:
    a = Account(DEV, alias="acme-dev", ids=IdGenerator("dev"))
    aws_managed(a)
    a.create_policy("Power", doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}))
    a.create_policy("ListOnly", doc(allow("s3:List*")))
    a.create_policy(
        "AssumeCrossDev", doc(allow("sts:AssumeRole", f"arn:aws:iam::{PROD}:role/CrossDevAccess"))
    )
    a.create_group("devs")
    a.attach_policy("group", "devs", f"arn:aws:iam::{DEV}:policy/Power")
    for name in ("dev1", "dev2", "dev3"):
        a.create_user(name)
        a.add_user_to_group("devs", name)
    a.create_user("intern", boundary=f"arn:aws:iam::{DEV}:policy/ListOnly")
    a.add_user_to_group("devs", "intern")
    a.create_role("DevOps", trust({"AWS": f"arn:aws:iam::{DEV}:root"}))
    a.attach_policy("role", "DevOps", f"arn:aws:iam::{DEV}:policy/AssumeCrossDev")
    a.put_inline_policy(
        "role",
        "DevOps",
        "ReadProdReports",
        doc(
            allow(
                ["s3:GetObject", "s3:ListBucket"],
                ["arn:aws:s3:::acme-reports", "arn:aws:s3:::acme-reports/*"],
            )
        ),
    )
    a.create_role("DevEc2", trust({"Service": "ec2.amazonaws.com"}), create_instance_profile=True)
    a.put_inline_policy(
        "role", "DevEc2", "Scratch", doc(allow("s3:*", "arn:aws:s3:::acme-dev-scratch/*"))
    )
    return a


def mgmt_account() -> Account:
    a = Account(MGMT, alias="acme-mgmt", ids=IdGenerator("mgmt"))
    aws_managed(a)
    a.create_user("org-admin")
    a.attach_policy("user", "org-admin", "arn:aws:iam::aws:policy/AdministratorAccess")
    a.create_user("auditor-bot")
    a.put_inline_policy(
        "user",
        "auditor-bot",
        "AssumeOrgAccess",
        doc(allow("sts:AssumeRole", "arn:aws:iam::*:role/OrganizationAccountAccessRole")),
    )
    return a


def organization() -> Organization:
    org = Organization(id="o-acme12345", management_account=MGMT, root_id="r-acme")

    def add(pid: str, name: str, kind: str, content: dict[str, Any], managed: bool = False) -> None:
        ptype = "SERVICE_CONTROL_POLICY" if kind == "scp" else "RESOURCE_CONTROL_POLICY"
        pkind = PolicyKind.SCP if kind == "scp" else PolicyKind.RCP
        org.create_policy(
            OrgPolicy(
                pid, name, ptype, to_policy(content, kind=pkind, where=name), aws_managed=managed
            )
        )  # type: ignore[arg-type]

    add("p-FullAWSAccess", "FullAWSAccess", "scp", doc(allow("*")), True)
    add(
        "p-RCPFullAWSAccess",
        "RCPFullAWSAccess",
        "rcp",
        doc({"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}),
        True,
    )
    add(
        "p-guardrails",
        "Guardrails",
        "scp",
        doc(
            {
                "Sid": "NoLeaving",
                "Effect": "Deny",
                "Action": "organizations:LeaveOrganization",
                "Resource": "*",
            },
            {
                "Sid": "RegionLock",
                "Effect": "Deny",
                "Action": "ec2:RunInstances",
                "Resource": "*",
                "Condition": {
                    "StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}
                },
            },
        ),
    )
    add("p-noiamusers", "DenyIamUsers", "scp", doc(deny(["iam:CreateUser", "iam:CreateAccessKey"])))
    add(
        "p-orgonly",
        "OrgIdentitiesOnly",
        "rcp",
        doc(
            {
                "Sid": "OnlyOurAccounts",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:PrincipalAccount": [MGMT, PROD, DEV]}},
            }
        ),
    )
    org.add_ou("ou-acme-workloads", "Workloads", "r-acme")
    org.add_ou("ou-acme-prod", "Prod", "ou-acme-workloads")
    org.add_ou("ou-acme-dev", "Dev", "ou-acme-workloads")
    org.add_account(MGMT, "r-acme", "management")
    org.add_account(PROD, "ou-acme-prod", "prod")
    org.add_account(DEV, "ou-acme-dev", "dev")
    for node in ("r-acme", "ou-acme-workloads", "ou-acme-prod", "ou-acme-dev", MGMT, PROD, DEV):
        org.attach_policy("p-FullAWSAccess", node)
        org.attach_policy("p-RCPFullAWSAccess", node)
    org.attach_policy("p-guardrails", "ou-acme-workloads")
    org.attach_policy("p-noiamusers", "ou-acme-prod")
    org.attach_policy("p-orgonly", "ou-acme-prod")
    return org


def build() -> dict[str, Any]:
    return {
        "Accounts": [
            export_authorization_details(a) for a in (mgmt_account(), prod_account(), dev_account())
        ],
        "Organization": export_organization(organization()),
    }


if __name__ == "__main__":
    out = pathlib.Path(__file__).with_name("sample.json")
    out.write_text(_json.dumps(build(), pretty=True) + "\n", encoding="utf-8")
    print(f"wrote {out}")
