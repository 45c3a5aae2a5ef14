"""Generate a large, realistic `aws iam get-account-authorization-details` dump.

`generate(principals=5000, seed=7)` returns one response dict (4/5 users, 1/5 roles) with
groups, customer- and AWS-managed policies, permissions boundaries, instance profiles and
resource policies. Half of the documents are URL-encoded strings, as the raw API returns them;
the rest are JSON objects, as the AWS CLI prints them. Deterministic for a given seed.

Command line: `python3 benchmarks/gen_authz_details.py [PRINCIPALS] > dump.json`.
"""

from __future__ import annotations

import json
import random
import sys
import urllib.parse
from typing import Any

ACCOUNT = "123456789012"
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
SERVICES = ["s3", "ec2", "sqs", "sns", "dynamodb", "logs", "kms", "lambda", "cloudwatch", "ssm"]
VERBS = ["Get*", "List*", "Describe*", "Put*", "Delete*", "Create*", "Update*"]


def _id(rng: random.Random, prefix: str) -> str:
    return prefix + "".join(rng.choice(ALPHABET) for _ in range(17))


def _doc(statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": statements}


def _encode(rng: random.Random, document: dict[str, Any]) -> Any:
    if rng.random() < 0.5:
        return urllib.parse.quote(json.dumps(document, separators=(",", ":")), safe="")
    return document


def _identity_doc(rng: random.Random, index: int) -> dict[str, Any]:
    statements = []
    for k in range(rng.randint(1, 3)):
        service = rng.choice(SERVICES)
        statement: dict[str, Any] = {
            "Sid": f"S{index}x{k}",
            "Effect": "Allow" if rng.random() < 0.9 else "Deny",
            "Action": [f"{service}:{rng.choice(VERBS)}" for _ in range(rng.randint(1, 3))],
            "Resource": f"arn:aws:{service}:*:{ACCOUNT}:*"
            if service != "s3"
            else f"arn:aws:s3:::bucket-{rng.randrange(200)}/*",
        }
        if rng.random() < 0.2:
            statement["Condition"] = {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}
        statements.append(statement)
    return _doc(statements)


def generate(principals: int = 5000, seed: int = 7) -> dict[str, Any]:
    """One GAAD response with `principals` users and roles in account 123456789012."""
    rng = random.Random(seed)
    n_roles = principals // 5
    n_users = principals - n_roles
    n_groups = max(1, min(400, principals // 25))
    n_policies = max(1, min(1200, principals // 6))
    date = "2024-01-01T00:00:00Z"

    policies: list[dict[str, Any]] = []
    policy_arns: list[str] = []
    for i in range(n_policies):
        name = f"policy-{i:05d}"
        arn = f"arn:aws:iam::{ACCOUNT}:policy/{name}"
        policy_arns.append(arn)
        versions = [
            {
                "Document": _encode(rng, _identity_doc(rng, i)),
                "VersionId": f"v{v}",
                "IsDefaultVersion": v == 1,
                "CreateDate": date,
            }
            for v in (1, 2)[: rng.randint(1, 2)]
        ]
        policies.append(
            {
                "PolicyName": name,
                "PolicyId": _id(rng, "ANPA"),
                "Arn": arn,
                "Path": "/",
                "DefaultVersionId": "v1",
                "AttachmentCount": 0,
                "PermissionsBoundaryUsageCount": 0,
                "IsAttachable": True,
                "CreateDate": date,
                "UpdateDate": date,
                "PolicyVersionList": versions,
            }
        )
    readonly = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    policies.append(
        {
            "PolicyName": "ReadOnlyAccess",
            "PolicyId": _id(rng, "ANPA"),
            "Arn": readonly,
            "Path": "/",
            "DefaultVersionId": "v1",
            "IsAttachable": True,
            "PolicyVersionList": [
                {
                    "Document": _doc(
                        [
                            {
                                "Effect": "Allow",
                                "Action": ["s3:Get*", "s3:List*", "ec2:Describe*"],
                                "Resource": "*",
                            }
                        ]
                    ),
                    "VersionId": "v1",
                    "IsDefaultVersion": True,
                }
            ],
        }
    )
    boundary = policy_arns[0]

    groups = []
    for g in range(n_groups):
        attached = rng.sample(policy_arns, k=min(len(policy_arns), rng.randint(1, 4)))
        groups.append(
            {
                "Path": "/",
                "GroupName": f"group-{g:04d}",
                "GroupId": _id(rng, "AGPA"),
                "Arn": f"arn:aws:iam::{ACCOUNT}:group/group-{g:04d}",
                "CreateDate": date,
                "GroupPolicyList": [
                    {"PolicyName": "inline", "PolicyDocument": _encode(rng, _identity_doc(rng, g))}
                ]
                if rng.random() < 0.5
                else [],
                "AttachedManagedPolicies": [
                    {"PolicyName": a.rsplit("/", 1)[-1], "PolicyArn": a} for a in attached
                ],
            }
        )

    users = []
    for u in range(n_users):
        name = f"user-{u:05d}"
        entry: dict[str, Any] = {
            "Path": "/",
            "UserName": name,
            "UserId": _id(rng, "AIDA"),
            "Arn": f"arn:aws:iam::{ACCOUNT}:user/{name}",
            "CreateDate": date,
            "GroupList": [
                f"group-{g:04d}"
                for g in sorted(rng.sample(range(n_groups), k=min(n_groups, rng.randint(0, 3))))
            ],
            "AttachedManagedPolicies": [
                {"PolicyName": a.rsplit("/", 1)[-1], "PolicyArn": a}
                for a in rng.sample(policy_arns, k=min(len(policy_arns), rng.randint(0, 2)))
            ],
            "Tags": [{"Key": "team", "Value": f"team-{u % 17}"}],
        }
        if rng.random() < 0.3:
            entry["UserPolicyList"] = [
                {"PolicyName": "own", "PolicyDocument": _encode(rng, _identity_doc(rng, u))}
            ]
        if rng.random() < 0.1:
            entry["PermissionsBoundary"] = {
                "PermissionsBoundaryType": "Policy",
                "PermissionsBoundaryArn": boundary,
            }
        users.append(entry)

    roles = []
    for r in range(n_roles):
        name = f"role-{r:05d}"
        kind = r % 4
        if kind == 0:
            principal: dict[str, Any] = {"Service": "ec2.amazonaws.com"}
        elif kind == 1:
            principal = {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
        elif kind == 2:
            principal = {"AWS": f"arn:aws:iam::{ACCOUNT}:user/user-{rng.randrange(n_users):05d}"}
        else:
            principal = {"AWS": f"arn:aws:iam::{ACCOUNT}:role/role-{rng.randrange(n_roles):05d}"}
        trust = _doc([{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}])
        arn = f"arn:aws:iam::{ACCOUNT}:role/{name}"
        core = {
            "Path": "/",
            "RoleName": name,
            "RoleId": _id(rng, "AROA"),
            "Arn": arn,
            "CreateDate": date,
            "AssumeRolePolicyDocument": _encode(rng, trust),
        }
        profiles = []
        if kind == 0:
            profiles.append(
                {
                    "Path": "/",
                    "InstanceProfileName": name,
                    "InstanceProfileId": _id(rng, "AIPA"),
                    "Arn": f"arn:aws:iam::{ACCOUNT}:instance-profile/{name}",
                    "CreateDate": date,
                    "Roles": [core],
                }
            )
        roles.append(
            {
                **core,
                "InstanceProfileList": profiles,
                "RolePolicyList": [
                    {"PolicyName": "work", "PolicyDocument": _encode(rng, _identity_doc(rng, r))}
                ],
                "AttachedManagedPolicies": [{"PolicyName": "ReadOnlyAccess", "PolicyArn": readonly}]
                if r % 10 == 0
                else [],
                "Tags": [],
                "RoleLastUsed": {},
            }
        )

    resources = [
        {
            "ResourceArn": f"arn:aws:s3:::bucket-{b}",
            "Policy": _doc(
                [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/role-{b:05d}"},
                        "Action": "s3:GetObject",
                        "Resource": f"arn:aws:s3:::bucket-{b}/*",
                    }
                ]
            ),
        }
        for b in range(min(50, n_roles))
    ]
    return {
        "UserDetailList": users,
        "GroupDetailList": groups,
        "RoleDetailList": roles,
        "Policies": policies,
        "ResourcePolicies": resources,
        "IsTruncated": False,
    }


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    json.dump(generate(count), sys.stdout)
    sys.stdout.write("\n")
