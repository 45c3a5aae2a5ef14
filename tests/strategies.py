"""Hypothesis strategies for the policy IR, shared by every test area.

Two families:

* `policies()` — any *structurally* well-formed policy (what `parse_iam_json(kind=None)`
  accepts and `format_iam_json` can write back exactly): every element form (Action/NotAction,
  Resource/NotResource/absent, Principal/NotPrincipal as `"*"` or a map, Condition absent/`{}`/
  full), single-vs-list forms, all operator families with ForAnyValue:/ForAllValues:/IfExists,
  number and boolean condition values with their JSON text, policy variables, Version
  2012-10-17/2008-10-17/absent, Sid and Id present or not, unicode text.
* `identity_policies()` — policies that also pass `validate_policy(kind=PolicyKind.IDENTITY)`
  (Version 2012-10-17, no Principal, well-formed actions/resources/dates, unique alphanumeric
  Sids).

Smaller building blocks (`action_patterns`, `resource_arns`, `condition_clauses`, …) are public
too. Every strategy produces IR values without spans.

Import as `from tests.strategies import policies` (tests run with --import-mode=importlib and
the repository root on sys.path) or load the file by path.
"""

from __future__ import annotations

import functools

from hypothesis import strategies as st

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
from policylang.operators import BASE_OPERATORS, Family, all_operator_names

__all__ = [
    "action_patterns",
    "actions",
    "all_operators",
    "condition_blocks",
    "condition_clauses",
    "condition_keys",
    "condition_values",
    "date_texts",
    "identity_policies",
    "identity_statements",
    "json_number_texts",
    "operator_names",
    "policies",
    "policy_variables",
    "principal_specs",
    "resource_arns",
    "resources",
    "statements",
    "texts",
    "values_of",
]

SERVICES = ("s3", "ec2", "iam", "sts", "dynamodb", "sqs", "kms", "lambda", "logs", "my-svc.x")
ACCOUNTS = ("111122223333", "444455556666", "123456789012", "*")
REGIONS = ("", "us-east-1", "eu-west-3", "*")
CONDITION_KEYS = (
    "aws:SourceIp",
    "aws:PrincipalTag/team",
    "aws:RequestTag/env",
    "aws:TagKeys",
    "aws:CurrentTime",
    "aws:EpochTime",
    "aws:MultiFactorAuthPresent",
    "aws:SecureTransport",
    "aws:PrincipalArn",
    "aws:SourceArn",
    "s3:prefix",
    "s3:max-keys",
    "sts:ExternalId",
    "ec2:ResourceTag/Name",
    "AWS:sourceip",
)
VARIABLES = (
    "${aws:username}",
    "${aws:userid}",
    "${aws:PrincipalTag/team}",
    "${aws:PrincipalTag/team, 'none'}",
    "${*}",
    "${?}",
    "${$}",
)


@functools.cache
def texts(
    *, min_size: int = 0, max_size: int = 12, latin1: bool = False
) -> st.SearchStrategy[str]:
    """Arbitrary text including unicode, quotes and backslashes (no lone surrogates).

    `latin1=True` keeps to IAM's character set (TAB, LF, CR, U+0020-U+00FF).
    """
    if latin1:
        alphabet = st.one_of(
            st.sampled_from("\t\n\r"), st.characters(min_codepoint=0x20, max_codepoint=0xFF)
        )
        return st.text(alphabet, min_size=min_size, max_size=max_size)
    return st.text(
        st.characters(blacklist_categories=("Cs",)), min_size=min_size, max_size=max_size
    )


@functools.cache
def policy_variables() -> st.SearchStrategy[str]:
    return st.sampled_from(VARIABLES)


@functools.cache
def _word() -> st.SearchStrategy[str]:
    return st.text("abcdefghijklmnopqrstuvwxyzABCXYZ0123456789-_", min_size=1, max_size=8)


# --------------------------------------------------------------------------- actions


_ACTIONS = [
    "*",
    "s3:GetObject",
    "s3:Get*",
    "s3:*",
    "s3:List?ucket",
    "S3:getobject",
    "iam:PassRole",
    "iam:*AccessKey*",
    "sts:AssumeRole",
    "sts:TagSession",
    "ec2:Describe*",
    "dynamodb:Query",
    "kms:Decrypt",
    "lambda:InvokeFunction",
    "my-svc.x:Do",
    "logs:*",
]


@functools.cache
def action_patterns() -> st.SearchStrategy[str]:
    """A well-formed action: `*` or `service:Name` with `*`/`?` wildcards in the name."""
    generated = st.builds(
        lambda service, name: f"{service}:{name}",
        st.sampled_from(SERVICES),
        st.text("abcdefgGLPtUX*?", min_size=1, max_size=8),
    )
    return st.one_of(st.sampled_from(_ACTIONS), generated)


def values_of(
    items: st.SearchStrategy[str], *, min_size: int = 1, max_size: int = 3
) -> st.SearchStrategy[Values]:
    """A string-or-list element: one bare string (`is_list=False`) or a list."""
    single = items.map(lambda item: Values((item,), is_list=False))
    many = st.lists(items, min_size=min_size, max_size=max_size).map(
        lambda xs: Values(tuple(xs), is_list=True)
    )
    return st.one_of(single, many)


def actions(items: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[ActionSpec]:
    """`Action` or `NotAction` (never empty: a policy needs actions)."""
    return st.builds(
        ActionSpec, values_of(items or action_patterns()), negated=st.booleans()
    )


# --------------------------------------------------------------------------- resources


def _arn_samples(variables: bool) -> list[str]:
    arns = ["*"]
    for account in ACCOUNTS:
        arns += [
            f"arn:aws:iam::{account}:user/alice",
            f"arn:aws:iam::{account}:role/path/app-*",
            f"arn:aws:iam::{account}:policy/p?",
            f"arn:aws:dynamodb:us-east-1:{account}:table/orders",
            f"arn:aws-cn:lambda:*:{account}:function:f:prod",
            f"arn:aws-us-gov:sqs:eu-west-3:{account}:queue-1",
            f"arn:aws:ec2::{account}:instance/*",
        ]
    arns += ["arn:aws:s3:::bucket", "arn:aws:s3:::bucket/*", "arn:aws:s3:::b/a?c/*"]
    if variables:
        arns += [f"arn:aws:s3:::bucket/home/{v}/*" for v in VARIABLES]
        arns += ["arn:aws:iam::111122223333:user/${aws:username}"]
    return arns


_ARNS = _arn_samples(True)
_ARNS_NO_VARIABLES = _arn_samples(False)


@functools.cache
def resource_arns(*, variables: bool = True) -> st.SearchStrategy[str]:
    """`*` or a six-field ARN that IAM accepts (wildcards, paths, variables in the resource)."""
    generated = st.builds(
        lambda name, tail: f"arn:aws:s3:::{name}{tail}",
        _word(),
        st.sampled_from(["", "/*", "*", ":q", "/${aws:userid}"] if variables else ["", "/*"]),
    )
    return st.one_of(st.sampled_from(_ARNS if variables else _ARNS_NO_VARIABLES), generated)


def resources(
    items: st.SearchStrategy[str] | None = None, *, empty: bool = False
) -> st.SearchStrategy[ResourceSpec]:
    return st.builds(
        ResourceSpec,
        values_of(items or resource_arns(), min_size=0 if empty else 1),
        negated=st.booleans(),
    )


# --------------------------------------------------------------------------- principals

_PRINCIPAL_VALUES = {
    "AWS": st.sampled_from(
        [
            "*",
            "111122223333",
            "arn:aws:iam::111122223333:root",
            "arn:aws:iam::111122223333:user/alice",
            "arn:aws:iam::444455556666:role/path/app",
            "arn:aws:sts::111122223333:assumed-role/app/session",
            "AROAEXAMPLEID1234567",
        ]
    ),
    "Service": st.sampled_from(["ec2.amazonaws.com", "lambda.amazonaws.com", "s3.amazonaws.com"]),
    "Federated": st.sampled_from(
        [
            "arn:aws:iam::111122223333:saml-provider/corp",
            "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com",
            "cognito-identity.amazonaws.com",
            "accounts.google.com",
        ]
    ),
    "CanonicalUser": st.just("79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"),
}


@st.composite
def principal_specs(draw: st.DrawFn, *, negated: bool | None = None) -> PrincipalSpec:
    """`"*"` or a map of principal types (unique keys, in any order) to string-or-list values."""
    is_negated = draw(st.booleans()) if negated is None else negated
    if draw(st.integers(0, 4)) == 0:
        return PrincipalSpec((), is_wildcard=True, negated=is_negated)
    kinds = draw(st.lists(st.sampled_from(list(_PRINCIPAL_VALUES)), unique=True, max_size=4))
    entries = tuple(
        PrincipalEntry(kind, draw(values_of(_PRINCIPAL_VALUES[kind]))) for kind in kinds
    )
    return PrincipalSpec(entries, is_wildcard=False, negated=is_negated)


# --------------------------------------------------------------------------- conditions


@functools.cache
def operator_names(families: tuple[Family, ...] | None = None) -> st.SearchStrategy[str]:
    """Canonical operator spellings, optionally restricted to some families."""
    names = [
        name
        for name in all_operator_names()
        if families is None or BASE_OPERATORS[_base(name)][0] in families
    ]
    return st.sampled_from(sorted(names))


_OPERATORS = st.sampled_from(sorted(all_operator_names()))


def all_operators() -> list[str]:
    return sorted(all_operator_names())


def _base(name: str) -> str:
    base = name.split(":", 1)[-1]
    return base[: -len("IfExists")] if base.endswith("IfExists") and base != "IfExists" else base


@functools.cache
def condition_keys() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(CONDITION_KEYS), _word().map(lambda w: f"svc:{w}"))


_NUMBERS = ["0", "10", "-1", "-0", "1.50", "3.5", "2e3", "1E-2", "-4.25e+10", "123456789012"]
_DATES = [
    "2024",
    "2024-02",
    "2024-02-29",
    "2024-02-29T12:00Z",
    "2024-02-29T12:00:59Z",
    "2024-02-29T12:00:59.123Z",
    "2016-12-13t2:00:00.593194+23",
    "2024-01-01T00:00:00+05:30",
    "1700000000",
    "0",
]


@functools.cache
def json_number_texts() -> st.SearchStrategy[str]:
    """JSON number texts as written (`10`, `-0`, `1.50`, `2e3`, `1E-2`)."""
    return st.one_of(st.sampled_from(_NUMBERS), st.integers(-(10**6), 10**6).map(str))


@functools.cache
def date_texts() -> st.SearchStrategy[str]:
    """Date values IAM accepts: ISO 8601 profiles or epoch seconds."""
    return st.sampled_from(_DATES)


@functools.cache
def _value_for(family: Family, latin1: bool = False) -> st.SearchStrategy[ConditionValue]:
    string = lambda items: items.map(lambda text: ConditionValue(text, ValueKind.STRING))  # noqa: E731
    number = json_number_texts().map(lambda text: ConditionValue(text, ValueKind.NUMBER))
    boolean = st.sampled_from(["true", "false"]).map(
        lambda text: ConditionValue(text, ValueKind.BOOLEAN)
    )
    if family is Family.STRING:
        return st.one_of(
            string(st.one_of(texts(latin1=latin1), policy_variables())), number, boolean
        )
    if family is Family.NUMERIC:
        return st.one_of(number, string(json_number_texts()))
    if family is Family.DATE:
        return st.one_of(
            string(date_texts()),
            st.integers(0, 2**40).map(lambda n: ConditionValue(str(n), ValueKind.NUMBER)),
        )
    if family is Family.BOOL or family is Family.NULL:
        return st.one_of(boolean, string(st.sampled_from(["true", "false", "True", "FALSE"])))
    if family is Family.IP:
        return string(st.sampled_from(["203.0.113.0/24", "198.51.100.7", "2001:db8::/32"]))
    if family is Family.ARN:
        return string(st.one_of(resource_arns(), st.just("arn:aws:iam::*:role/app-*")))
    return string(st.sampled_from(["QmluYXJ5", "AAEC"]))  # BINARY


def condition_values(
    family: Family | None = None, *, latin1: bool = False
) -> st.SearchStrategy[ConditionValue]:
    if family is None:
        return st.sampled_from(list(Family)).flatmap(lambda f: _value_for(f, latin1))
    return _value_for(family, latin1)


@st.composite
def condition_clauses(
    draw: st.DrawFn, *, operator: str | None = None, latin1: bool = False
) -> ConditionClause:
    """One operator block with 0-3 keys (unique), single or list values of that family."""
    name = operator or draw(operator_names())
    family = BASE_OPERATORS[_base(name)][0]
    keys = draw(st.lists(condition_keys(), unique=True, max_size=2))
    entries = []
    for key in keys:
        if draw(st.booleans()):
            value = draw(_value_for(family, latin1))
            entries.append(ConditionEntry(key, (value,), is_list=False))
        else:
            values = draw(st.lists(_value_for(family, latin1), max_size=2))
            entries.append(ConditionEntry(key, tuple(values), is_list=True))
    return ConditionClause(name, tuple(entries))


@st.composite
def condition_blocks(
    draw: st.DrawFn, *, latin1: bool = False
) -> tuple[ConditionClause, ...] | None:
    """None (no Condition), `()` (`"Condition": {}`) or clauses with unique operator names."""
    roll = draw(st.integers(0, 5))
    if roll == 0:
        return None
    if roll == 1:
        return ()
    names = draw(st.lists(_OPERATORS, unique=True, min_size=1, max_size=2))
    clauses = [draw(condition_clauses(operator=name, latin1=latin1)) for name in names]
    if draw(st.integers(0, 9)) == 0:
        # Unknown operators are accepted by IAM when their body is empty.
        clauses.append(ConditionClause("NotAnOperator", ()))
    return tuple(clauses)


# --------------------------------------------------------------------------- statements


@st.composite
def statements(draw: st.DrawFn) -> Statement:
    """A structurally valid statement using every element form."""
    resource = draw(st.one_of(st.none(), resources(empty=True)))
    principal = draw(st.one_of(st.none(), principal_specs()))
    return Statement(
        effect=draw(st.sampled_from(Effect)),
        action=draw(actions()),
        resource=resource,
        principal=principal,
        condition=draw(condition_blocks()),
        sid=draw(st.one_of(st.none(), st.just(""), _word(), texts(max_size=6))),
    )


@st.composite
def policies(draw: st.DrawFn, *, max_statements: int = 3) -> Policy:
    """A structurally valid policy (`parse_iam_json(kind=None)` accepts its JSON)."""
    body = draw(st.lists(statements(), min_size=1, max_size=max_statements))
    is_list = len(body) != 1 or draw(st.booleans())
    return Policy(
        statements=tuple(body),
        version=draw(st.sampled_from(["2012-10-17", "2008-10-17", None])),
        id=draw(st.one_of(st.none(), texts(max_size=8))),
        statement_is_list=is_list,
    )


# --------------------------------------------------------------------------- valid identity


@st.composite
def identity_statements(draw: st.DrawFn, *, sid: str | None = None) -> Statement:
    """A statement valid in an identity policy (no Principal, Resource present)."""
    return Statement(
        effect=draw(st.sampled_from(Effect)),
        action=draw(actions()),
        resource=draw(resources()),
        principal=None,
        condition=draw(condition_blocks(latin1=True)),
        sid=sid,
    )


@st.composite
def identity_policies(draw: st.DrawFn, *, max_statements: int = 3) -> Policy:
    """A policy that `validate_policy(kind=IDENTITY)` accepts (unique alphanumeric Sids)."""
    count = draw(st.integers(1, max_statements))
    sids = draw(
        st.lists(
            st.one_of(st.none(), st.from_regex(r"[A-Za-z0-9]{1,8}", fullmatch=True)),
            min_size=count,
            max_size=count,
        )
    )
    seen: set[str] = set()
    unique: list[str | None] = []
    for sid in sids:
        unique.append(None if sid is None or sid in seen else sid)
        if sid is not None:
            seen.add(sid)
    body = tuple(draw(identity_statements(sid=sid)) for sid in unique)
    return Policy(
        statements=body,
        version="2012-10-17",
        id=draw(st.one_of(st.none(), texts(latin1=True, max_size=8))),
        statement_is_list=len(body) != 1 or draw(st.booleans()),
    )
