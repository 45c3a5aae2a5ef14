"""Facts the review rules rely on: data actions, escalation actions, condition-key shapes.

Written from AWS's documentation (service authorization reference, global condition keys) and
the published privilege-escalation research (Rhino Security Labs' IAM escalation methods and
later additions); the lists are data, not code, so they can grow without touching the rules.
Action names are compared case-insensitively (`match_action`), as IAM does.
"""

from __future__ import annotations

# Data-plane actions: they read or change the data a resource holds (PL110).
DATA_ACTIONS: frozenset[str] = frozenset(
    {
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:DeleteObjectVersion",
        "kms:Decrypt",
        "kms:Encrypt",
        "kms:ReEncryptFrom",
        "kms:GenerateDataKey",
        "kms:GenerateDataKeyWithoutPlaintext",
        "secretsmanager:GetSecretValue",
        "secretsmanager:PutSecretValue",
        "ssm:GetParameter",
        "ssm:GetParameters",
        "ssm:GetParametersByPath",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:BatchGetItem",
        "dynamodb:BatchWriteItem",
        "dynamodb:Query",
        "dynamodb:Scan",
        "sqs:SendMessage",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sns:Publish",
        "kinesis:PutRecord",
        "kinesis:PutRecords",
        "kinesis:GetRecords",
        "lambda:InvokeFunction",
        "rds-db:connect",
        "glacier:InitiateJob",
    }
)

# A placeholder ARN per service for suggested fixes.
RESOURCE_TEMPLATES: dict[str, str] = {
    "s3": "arn:aws:s3:::BUCKET/PREFIX/*",
    "kms": "arn:aws:kms:REGION:ACCOUNT_ID:key/KEY_ID",
    "secretsmanager": "arn:aws:secretsmanager:REGION:ACCOUNT_ID:secret:NAME-*",
    "ssm": "arn:aws:ssm:REGION:ACCOUNT_ID:parameter/APP/*",
    "dynamodb": "arn:aws:dynamodb:REGION:ACCOUNT_ID:table/TABLE",
    "sqs": "arn:aws:sqs:REGION:ACCOUNT_ID:QUEUE",
    "sns": "arn:aws:sns:REGION:ACCOUNT_ID:TOPIC",
    "kinesis": "arn:aws:kinesis:REGION:ACCOUNT_ID:stream/STREAM",
    "lambda": "arn:aws:lambda:REGION:ACCOUNT_ID:function:FUNCTION",
    "iam": "arn:aws:iam::ACCOUNT_ID:role/PATH/*",
    "sts": "arn:aws:iam::ACCOUNT_ID:role/ROLE_NAME",
}
GENERIC_RESOURCE = "arn:aws:SERVICE:REGION:ACCOUNT_ID:RESOURCE"

PASS_ROLE = "iam:PassRole"

# Actions that start compute running with a passed role (PL202): action -> what runs.
COMPUTE_WITH_PASSED_ROLE: dict[str, str] = {
    "lambda:CreateFunction": "a Lambda function",
    "ec2:RunInstances": "an EC2 instance (instance profile)",
    "ec2:AssociateIamInstanceProfile": "an existing EC2 instance",
    "glue:CreateDevEndpoint": "a Glue development endpoint",
    "glue:CreateJob": "a Glue job",
    "cloudformation:CreateStack": "a CloudFormation stack",
    "cloudformation:UpdateStack": "a CloudFormation stack",
    "cloudformation:CreateStackSet": "a CloudFormation stack set",
    "datapipeline:CreatePipeline": "a Data Pipeline",
    "sagemaker:CreateNotebookInstance": "a SageMaker notebook",
    "sagemaker:CreateTrainingJob": "a SageMaker training job",
    "sagemaker:CreateProcessingJob": "a SageMaker processing job",
    "ecs:RunTask": "an ECS task",
    "ecs:RegisterTaskDefinition": "an ECS task definition",
    "codebuild:CreateProject": "a CodeBuild project",
    "states:CreateStateMachine": "a Step Functions state machine",
    "apprunner:CreateService": "an App Runner service",
    "batch:SubmitJob": "an AWS Batch job",
}

# PL203: writing permission policies or removing/replacing a boundary.
POLICY_WRITE: frozenset[str] = frozenset(
    {
        "iam:CreatePolicyVersion",
        "iam:SetDefaultPolicyVersion",
        "iam:AttachUserPolicy",
        "iam:AttachGroupPolicy",
        "iam:AttachRolePolicy",
        "iam:PutUserPolicy",
        "iam:PutGroupPolicy",
        "iam:PutRolePolicy",
        "iam:DeleteUserPermissionsBoundary",
        "iam:DeleteRolePermissionsBoundary",
        "iam:PutUserPermissionsBoundary",
        "iam:PutRolePermissionsBoundary",
    }
)

# PL204: credentials that let the caller sign in as another user.
USER_CREDENTIALS: frozenset[str] = frozenset(
    {
        "iam:CreateAccessKey",
        "iam:CreateLoginProfile",
        "iam:UpdateLoginProfile",
        "iam:CreateServiceSpecificCredential",
        "iam:ResetServiceSpecificCredential",
    }
)

TRUST_WRITE: frozenset[str] = frozenset({"iam:UpdateAssumeRolePolicy"})  # PL205
GROUP_WRITE: frozenset[str] = frozenset({"iam:AddUserToGroup"})  # PL206

# PL207: run new code inside compute that already has a role.
CODE_IN_COMPUTE: frozenset[str] = frozenset(
    {
        "lambda:UpdateFunctionCode",
        "lambda:UpdateFunctionConfiguration",
        "glue:UpdateDevEndpoint",
        "ssm:SendCommand",
        "ssm:StartSession",
        "ec2:ModifyInstanceAttribute",
        "ecs:ExecuteCommand",
        "codebuild:StartBuild",
    }
)

ASSUME_ROLE = "sts:AssumeRole"

# Action service prefix -> the ARN services its resources use, where they differ from the
# prefix (a Resource ARN of another service cannot name a resource of the action).
RESOURCE_SERVICES: dict[str, tuple[str, ...]] = {
    "sts": ("iam", "sts"),
    "ssm": ("ssm", "ec2"),
    "ec2": ("ec2", "iam", "elastic-inference"),
    "ecs": ("ecs", "iam"),
    "glacier": ("glacier", "s3"),
}

# Condition keys (lower case) whose presence in a positive operator names who may call: a
# principal-`*` grant with one of them is scoped (PL301).
PRINCIPAL_SCOPING_KEYS: frozenset[str] = frozenset(
    {
        "aws:principalorgid",
        "aws:principalorgpaths",
        "aws:principalaccount",
        "aws:principalarn",
        "aws:principalservicename",
        "aws:principalisawsservice",
        "aws:userid",
        "aws:username",
        "aws:sourcevpc",
        "aws:sourcevpce",
        "aws:sourcevpcarn",
        "aws:vpceaccount",
        "aws:vpceorgid",
        "aws:vpceorgpaths",
        "aws:sourceip",
        "aws:vpcsourceip",
        "aws:sourceaccount",
        "aws:sourcearn",
        "aws:sourceowner",
        "aws:sourceorgid",
        "aws:sourceorgpaths",
        "sts:externalid",
        "kms:callerAccount".lower(),
    }
)

ORG_KEYS: frozenset[str] = frozenset({"aws:principalorgid", "aws:principalorgpaths"})

SOURCE_KEYS: frozenset[str] = frozenset(
    {
        "aws:sourceaccount",
        "aws:sourcearn",
        "aws:sourceowner",
        "aws:sourceorgid",
        "aws:sourceorgpaths",
    }
)

# Multi-valued keys (conditions.md §8 and service references): need ForAnyValue/ForAllValues.
MULTI_VALUED_KEYS: frozenset[str] = frozenset(
    {
        "aws:tagkeys",
        "aws:calledvia",
        "aws:principalorgpaths",
        "aws:principalservicenameslist",
        "aws:resourceorgpaths",
        "aws:sourceorgpaths",
        "aws:vpceorgpaths",
        "sts:transitivetagkeys",
        "dynamodb:attributes",
        "dynamodb:leadingkeys",
        "kms:encryptioncontextkeys",
        "kms:grantoperations",
        "ec2:resourcetag",
        "organizations:serviceprincipal",
        "cognito-identity.amazonaws.com:amr",
    }
)

# Single-valued keys (conditions.md §8): a set operator on them is a mistake.
SINGLE_VALUED_KEYS: frozenset[str] = frozenset(
    {
        "aws:currenttime",
        "aws:epochtime",
        "aws:securetransport",
        "aws:requestedregion",
        "aws:useragent",
        "aws:referer",
        "aws:viaawsservice",
        "aws:calledviafirst",
        "aws:calledvialast",
        "aws:sourceip",
        "aws:vpcsourceip",
        "aws:sourcevpc",
        "aws:sourcevpce",
        "aws:sourcevpcarn",
        "aws:vpceaccount",
        "aws:vpceorgid",
        "aws:principalarn",
        "aws:principalaccount",
        "aws:principalorgid",
        "aws:principaltype",
        "aws:principalisawsservice",
        "aws:principalservicename",
        "aws:userid",
        "aws:username",
        "aws:multifactorauthpresent",
        "aws:multifactorauthage",
        "aws:tokenissuetime",
        "aws:federatedprovider",
        "aws:sourceidentity",
        "aws:resourceaccount",
        "aws:resourceorgid",
        "aws:sourcearn",
        "aws:sourceaccount",
        "aws:sourceowner",
        "aws:sourceorgid",
        "aws:ec2instancesourcevpc",
        "aws:ec2instancesourceprivateipv4",
        "sts:externalid",
        "sts:rolesessionname",
        "sts:sourceidentity",
        "iam:passedtoservice",
        "iam:permissionsboundary",
        "iam:policyarn",
        "iam:awsservicename",
        "s3:x-amz-acl",
        "s3:x-amz-server-side-encryption",
        "kms:viaservice",
        "kms:calleraccount",
    }
)

# Tag keys with a per-tag suffix are single-valued (one value per tag key).
SINGLE_VALUED_PREFIXES: tuple[str, ...] = (
    "aws:principaltag/",
    "aws:resourcetag/",
    "aws:requesttag/",
    "iam:resourcetag/",
)

MFA_KEY = "aws:multifactorauthpresent"
GITHUB_OIDC = "token.actions.githubusercontent.com"
WEB_IDENTITY_PROVIDERS: tuple[str, ...] = (
    "cognito-identity.amazonaws.com",
    "accounts.google.com",
    "graph.facebook.com",
    "www.amazon.com",
)


def is_single_valued(key: str) -> bool:
    low = key.lower()
    return low in SINGLE_VALUED_KEYS or low.startswith(SINGLE_VALUED_PREFIXES)


def is_multi_valued(key: str) -> bool:
    low = key.lower()
    return low in MULTI_VALUED_KEYS or low.endswith(":amr")
