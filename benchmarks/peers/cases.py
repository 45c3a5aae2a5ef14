"""The seeded workload of benchmarks/workloads.py as simulation-case JSON lines.

`case_lines(workload, requests)` turns each request and the PolicySet that decides it into one
simulation case (spec/simulation-case.md), policies as IAM JSON objects. The batch benchmark and
the peers read the same cases, so every engine answers the very same questions.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from policylang.grammar import policy_to_value
from policylang.policy_set import NamedPolicy, PolicySet
from policylang.request import Request


class CaseWriter:
    """Converts requests to case objects, converting each policy document once."""

    def __init__(self) -> None:
        self._docs: dict[int, tuple[NamedPolicy, dict[str, Any]]] = {}

    def doc(self, named: NamedPolicy) -> dict[str, Any]:
        found = self._docs.get(id(named))
        if found is None:
            found = self._docs[id(named)] = (named, policy_to_value(named.policy))
        return found[1]

    def policies(self, ps: PolicySet) -> dict[str, Any]:
        return {
            "identity": [self.doc(n) for n in ps.identity],
            "resource": self.doc(ps.resource) if ps.resource is not None else None,
            "boundary": self.doc(ps.boundary) if ps.boundary is not None else None,
            "session": [self.doc(n) for n in ps.session],
            "scp": [[self.doc(n) for n in level] for level in ps.scp],
            "rcp": [[self.doc(n) for n in level] for level in ps.rcp],
        }

    def case(self, ps: PolicySet, request: Request, name: str | None = None) -> dict[str, Any]:
        return {"name": name, "policies": self.policies(ps), "request": request_value(request)}


def request_value(request: Request) -> dict[str, Any]:
    p = request.principal
    principal: dict[str, Any] = {"type": p.type.value, "arn": p.arn, "account": p.account,
                                 "id": p.id, "tags": dict(p.tags)}
    if p.session_name is not None:
        principal["session_name"] = p.session_name
    return {
        "principal": principal,
        "action": request.action,
        "resource": {"arn": request.resource.arn, "account": request.resource.account,
                     "tags": dict(request.resource.tags)},
        "context": {k: (v if isinstance(v, str) else list(v)) for k, v in request.context.items()},
    }


def case_lines(workload: Any, requests: Iterable[Request]) -> Iterator[str]:
    """One JSON line per request (workload: a benchmarks.workloads.Workload)."""
    writer = CaseWriter()
    for i, request in enumerate(requests):
        yield json.dumps(writer.case(workload.policy_set(request), request, f"r{i}"),
                         separators=(",", ":"))
