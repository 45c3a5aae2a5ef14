"""The request being decided: who (`Caller`), what action, on what (`Resource`), in what context.

Also derives the implicit context keys of spec/simulation-case.md ("Derived context keys"):
only the listed keys, only when absent, never overriding a key given explicitly.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

import attrs

ContextValue = str | tuple[str, ...]
"""A context value: a single string, or a tuple of strings for a multi-valued key."""


class PrincipalType(enum.Enum):
    USER = "user"
    ROLE = "role"
    ASSUMED_ROLE = "assumed-role"
    FEDERATED = "federated"
    SERVICE = "service"
    ROOT = "root"
    ANONYMOUS = "anonymous"


_EMPTY: Mapping[str, str] = MappingProxyType({})


def _frozen_map(value: Mapping[str, str] | None) -> Mapping[str, str]:
    return MappingProxyType(dict(value)) if value else _EMPTY


def _frozen_context(value: Mapping[str, ContextValue] | None) -> Mapping[str, ContextValue]:
    if not value:
        return MappingProxyType({})
    return MappingProxyType(
        {k: (v if isinstance(v, str) else tuple(v)) for k, v in value.items()}
    )


@attrs.frozen(slots=True)
class Caller:
    """The principal making the request (spec/simulation-case.md, "Principals")."""

    type: PrincipalType
    arn: str | None = None
    account: str | None = None
    id: str | None = None
    tags: Mapping[str, str] = attrs.field(default=_EMPTY, converter=_frozen_map)
    session_name: str | None = None

    @property
    def is_federated_user_session(self) -> bool:
        """A GetFederationToken session (as opposed to an identity-provider caller)."""
        return (
            self.type is PrincipalType.FEDERATED
            and self.arn is not None
            and self.arn.startswith("arn:")
            and ":federated-user/" in self.arn
            and self.arn.split(":", 5)[2] == "sts"
        )

    @property
    def is_identity_provider(self) -> bool:
        """An AssumeRoleWithWebIdentity / AssumeRoleWithSAML caller with no AWS credentials."""
        return self.type is PrincipalType.FEDERATED and not self.is_federated_user_session

    @property
    def role_arn(self) -> str | None:
        """For an assumed-role session, the role's ARN (without path; the session ARN has none)."""
        if self.type is not PrincipalType.ASSUMED_ROLE or not self.arn:
            return None
        parts = self.arn.split(":", 5)
        if len(parts) != 6 or not parts[5].startswith("assumed-role/"):
            return None
        role_name = parts[5].split("/")[1] if parts[5].count("/") >= 1 else ""
        return f"arn:{parts[1]}:iam::{parts[4]}:role/{role_name}"


@attrs.frozen(slots=True)
class Resource:
    arn: str
    account: str | None = None
    tags: Mapping[str, str] = attrs.field(default=_EMPTY, converter=_frozen_map)


@attrs.frozen(slots=True)
class Request:
    principal: Caller
    action: str
    resource: Resource
    context: Mapping[str, ContextValue] = attrs.field(
        factory=dict, converter=_frozen_context
    )


PRINCIPAL_TYPE_VALUE = {
    PrincipalType.USER: "User",
    PrincipalType.ROLE: "AssumedRole",
    PrincipalType.ASSUMED_ROLE: "AssumedRole",
    PrincipalType.ROOT: "Account",
    PrincipalType.ANONYMOUS: "Anonymous",
}
"""The aws:PrincipalType value of each caller type (federated users: `FederatedUser`)."""


def derive_context(request: Request) -> dict[str, ContextValue]:
    """The request context keyed by lower-cased key name, with the derivable keys added.

    Derived only when absent: aws:PrincipalArn, aws:PrincipalAccount, aws:userid, aws:username,
    aws:PrincipalType, aws:PrincipalTag/*, aws:ResourceAccount, aws:ResourceTag/*. Nothing is
    derived for service principals and identity-provider callers.
    """
    ctx: dict[str, ContextValue] = {k.lower(): v for k, v in request.context.items()}
    p = request.principal
    derived: dict[str, ContextValue] = {}
    if p.type is PrincipalType.ANONYMOUS:
        derived["aws:principalaccount"] = "anonymous"
        derived["aws:userid"] = "anonymous"
        derived["aws:principaltype"] = "Anonymous"
    elif p.type is not PrincipalType.SERVICE and not p.is_identity_provider:
        principal_arn = p.role_arn if p.type is PrincipalType.ASSUMED_ROLE else p.arn
        if principal_arn:
            derived["aws:principalarn"] = principal_arn
        if p.account:
            derived["aws:principalaccount"] = p.account
        if p.id:
            derived["aws:userid"] = p.id
        if p.type is PrincipalType.USER and p.arn:
            derived["aws:username"] = p.arn.rsplit("/", 1)[-1]
        if p.type is PrincipalType.FEDERATED:
            derived["aws:principaltype"] = "FederatedUser"
        else:
            derived["aws:principaltype"] = PRINCIPAL_TYPE_VALUE[p.type]
        for tag_key, tag_value in p.tags.items():
            derived[f"aws:principaltag/{tag_key.lower()}"] = tag_value
    if request.resource.account:
        derived["aws:resourceaccount"] = request.resource.account
    for tag_key, tag_value in request.resource.tags.items():
        derived[f"aws:resourcetag/{tag_key.lower()}"] = tag_value
    for key, value in derived.items():
        ctx.setdefault(key, value)
    return ctx
