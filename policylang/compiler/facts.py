"""What decisions need from a caller, derived once per Caller object.

`derive_key(request, key)` gives the value `request.derive_context` would derive for one
lower-cased key, so a decision derives only the keys its statements read; `PrincipalFacts`
holds the caller-derived keys, the principal-matching key and the service-linked-role name
test, memoised per Caller by `principal_facts`.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Mapping

from policylang.compiler.lower import CallerKey, caller_key
from policylang.request import (
    PRINCIPAL_TYPE_VALUE,
    Caller,
    ContextValue,
    PrincipalType,
    Request,
    Resource,
)

# Keys request.derive_context can add (only when absent from the request's context).
_DERIVED_KEYS = frozenset(
    {
        "aws:principalarn",
        "aws:principalaccount",
        "aws:userid",
        "aws:username",
        "aws:principaltype",
        "aws:resourceaccount",
    }
)


def is_derivable(key: str) -> bool:
    """Can `derive_context` supply this (lower-cased) key?"""
    return (
        key in _DERIVED_KEYS
        or key.startswith("aws:principaltag/")
        or key.startswith("aws:resourcetag/")
    )


def derive_key(request: Request, key: str) -> ContextValue | None:
    """The value `derive_context(request)` derives for one lower-cased key, or None.

    Mirrors request.derive_context rule by rule (tested key by key against it). For duplicate
    tag keys differing only in case the last one wins, as in derive_context.
    """
    if key == "aws:resourceaccount":
        return request.resource.account or None
    if key.startswith("aws:resourcetag/"):
        tag = key[len("aws:resourcetag/") :]
        found: str | None = None
        for tag_key, tag_value in request.resource.tags.items():
            if tag_key.lower() == tag:
                found = tag_value
        return found
    p = request.principal
    t = p.type
    if t is PrincipalType.ANONYMOUS:
        if key == "aws:principalaccount" or key == "aws:userid":
            return "anonymous"
        if key == "aws:principaltype":
            return "Anonymous"
        return None
    if t is PrincipalType.SERVICE or p.is_identity_provider:
        return None
    if key == "aws:principalarn":
        return (p.role_arn if t is PrincipalType.ASSUMED_ROLE else p.arn) or None
    if key == "aws:principalaccount":
        return p.account or None
    if key == "aws:userid":
        return p.id or None
    if key == "aws:username":
        return p.arn.rsplit("/", 1)[-1] if t is PrincipalType.USER and p.arn else None
    if key == "aws:principaltype":
        return "FederatedUser" if t is PrincipalType.FEDERATED else PRINCIPAL_TYPE_VALUE[t]
    if key.startswith("aws:principaltag/"):
        tag = key[len("aws:principaltag/") :]
        found = None
        for tag_key, tag_value in p.tags.items():
            if tag_key.lower() == tag:
                found = tag_value
        return found
    return None


class PrincipalFacts:
    """What decisions need from a Caller, computed once per Caller object (`principal_facts`).

    `values`: the principal-derived context keys of derive_context; `twins`: two tag keys
    differ only in case; `key`: what principal matching reads (type, ARN, account, id);
    `tagged_key`: `key` plus the tags (for cache keys of sets that read principal tags);
    `slr_name`: the caller's role name marks a service-linked role (`AWSServiceRoleFor…`),
    the half of the service-linked-role test that depends on the caller alone.
    """

    __slots__ = ("_selected", "key", "slr_name", "tagged_key", "twins", "values")

    def __init__(self, caller: Caller) -> None:
        values: dict[str, ContextValue] = {}
        probe = Request(caller, "", Resource(""))
        for key in ("aws:principalarn", "aws:principalaccount", "aws:userid", "aws:username",
                    "aws:principaltype"):
            value = derive_key(probe, key)
            if value is not None:
                values[key] = value
        for tag_key in caller.tags:
            key = "aws:principaltag/" + tag_key.lower()
            value = derive_key(probe, key)
            if value is not None:
                values[key] = value
        self.values = values
        self.twins = has_case_twins(caller.tags)
        self.key: CallerKey = caller_key(caller)
        self.tagged_key: tuple[object, ...] = (*self.key, tuple(caller.tags.items()))
        self.slr_name = _role_name_is_service_linked(caller)
        self._selected: dict[tuple[str, ...], dict[str, ContextValue]] = {}

    def selected(self, reads: tuple[str, ...]) -> dict[str, ContextValue]:
        """`values` restricted to `reads`, in the order of `reads` (memoised per tuple)."""
        found = self._selected.get(reads)
        if found is None:
            values = self.values
            found = {k: values[k] for k in reads if k in values}
            if len(self._selected) >= 64:
                self._selected.clear()
            self._selected[reads] = found
        return found


_PRINCIPAL_MEMO: dict[int, tuple[weakref.ref[Caller], PrincipalFacts]] = {}
_PRINCIPAL_MEMO_LIMIT = 65_536


def principal_facts(caller: Caller) -> PrincipalFacts:
    """`PrincipalFacts` of a caller, memoised per Caller object.

    A service keeps one Caller per authenticated principal, so the derivation (tags, the role
    ARN of a session) runs once per principal rather than once per request. The memo holds a
    weak reference and is keyed by id(): an entry whose object died is never returned.
    """
    entry = _PRINCIPAL_MEMO.get(id(caller))
    if entry is not None and entry[0]() is caller:
        return entry[1]
    facts = PrincipalFacts(caller)
    if len(_PRINCIPAL_MEMO) >= _PRINCIPAL_MEMO_LIMIT:
        _PRINCIPAL_MEMO.clear()
    with contextlib.suppress(TypeError):  # a Caller subclass without weakref support
        _PRINCIPAL_MEMO[id(caller)] = (weakref.ref(caller), facts)
    return facts


def principal_values(caller: Caller) -> dict[str, ContextValue]:
    """The principal-derived keys derive_context adds for this caller (memoised)."""
    return principal_facts(caller).values


def has_case_twins(tags: Mapping[str, str]) -> bool:
    """Do two tag keys differ only in case? (Then evaluator.tag_variants applies.)"""
    return len(tags) > 1 and len({k.lower() for k in tags}) != len(tags)


def _role_name_is_service_linked(caller: Caller) -> bool:
    """The name half of evaluator._is_service_linked_role (`AWSServiceRoleFor…`)."""
    name = _session_role_name(caller) or (caller.arn or "").rsplit("/", 1)[-1]
    return name.startswith("AWSServiceRoleFor")


def _session_role_name(caller: Caller) -> str | None:
    if caller.type is not PrincipalType.ASSUMED_ROLE or not caller.arn:
        return None
    fields = caller.arn.split(":", 5)
    if len(fields) != 6 or fields[0] != "arn" or not fields[5].startswith("assumed-role/"):
        return None
    pieces = fields[5].split("/")
    return pieces[1] if len(pieces) >= 3 else None
