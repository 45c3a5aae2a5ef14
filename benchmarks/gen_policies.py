"""Deterministic generator of realistic IAM policy documents (front-end benchmarks)."""

from __future__ import annotations

import json
import random

_SERVICES = ["s3", "ec2", "iam", "dynamodb", "sqs", "sns", "lambda", "kms", "logs", "sts"]
_VERBS = ["Get", "Put", "List", "Describe", "Create", "Delete", "Update", "Tag"]
_NOUNS = ["Object", "Bucket", "Instances", "Table", "Queue", "Topic", "Function", "Key", "Role"]


def _action(rng: random.Random) -> str:
    service = rng.choice(_SERVICES)
    if rng.random() < 0.15:
        return f"{service}:{rng.choice(_VERBS)}*"
    return f"{service}:{rng.choice(_VERBS)}{rng.choice(_NOUNS)}"


def _resource(rng: random.Random) -> str:
    account = f"{rng.randrange(10**12):012d}"
    roll = rng.random()
    if roll < 0.1:
        return "*"
    if roll < 0.4:
        return f"arn:aws:s3:::bucket-{rng.randrange(1000)}/home/${{aws:username}}/*"
    if roll < 0.6:
        return f"arn:aws:dynamodb:us-east-1:{account}:table/t{rng.randrange(100)}"
    if roll < 0.8:
        return f"arn:aws:iam::{account}:role/app/role-{rng.randrange(500)}"
    return f"arn:aws:sqs:eu-west-1:{account}:queue-{rng.randrange(100)}"


def _condition(rng: random.Random) -> dict[str, object]:
    roll = rng.random()
    if roll < 0.3:
        return {"StringEquals": {"aws:PrincipalTag/team": ["red", "blue"]}}
    if roll < 0.5:
        return {"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "198.51.100.7"]}}
    if roll < 0.7:
        return {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}
    if roll < 0.85:
        return {"NumericLessThan": {"s3:max-keys": 100}}
    return {"DateGreaterThan": {"aws:CurrentTime": "2024-01-01T00:00:00Z"}}


def make_policy(rng: random.Random) -> dict[str, object]:
    """One identity policy with 1-8 statements."""
    statements: list[dict[str, object]] = []
    for index in range(rng.randint(1, 8)):
        statement: dict[str, object] = {
            "Sid": f"S{index}",
            "Effect": "Allow" if rng.random() < 0.8 else "Deny",
        }
        actions = [_action(rng) for _ in range(rng.randint(1, 6))]
        statement["Action" if rng.random() < 0.9 else "NotAction"] = (
            actions if len(actions) > 1 else actions[0]
        )
        resources = [_resource(rng) for _ in range(rng.randint(1, 4))]
        statement["Resource"] = resources if len(resources) > 1 else resources[0]
        if rng.random() < 0.4:
            statement["Condition"] = _condition(rng)
        statements.append(statement)
    return {"Version": "2012-10-17", "Statement": statements}


def make_policy_texts(total_bytes: int, *, seed: int = 1) -> list[str]:
    """Pretty-printed policy documents adding up to about `total_bytes`."""
    rng = random.Random(seed)
    texts: list[str] = []
    size = 0
    while size < total_bytes:
        text = json.dumps(make_policy(rng), indent=2)
        texts.append(text)
        size += len(text)
    return texts


def make_account_dump(total_bytes: int, *, seed: int = 1) -> str:
    """One big JSON document (like a whole-account export) embedding many policies."""
    rng = random.Random(seed)
    policies: list[dict[str, object]] = []
    size = 0
    while size < total_bytes:
        document = make_policy(rng)
        policies.append({"PolicyName": f"p{len(policies)}", "PolicyDocument": document})
        size += len(json.dumps(document, indent=2)) + 40
    return json.dumps({"Policies": policies}, indent=2)
