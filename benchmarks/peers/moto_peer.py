"""moto's IAM access-control evaluator (`moto.iam.access_control.IAMPolicy`) as a peer.

moto authorizes a mocked request with the caller's identity policies only: any statement
DENIED wins, any PERMITTED allows, else the request is denied. It has no permissions
boundaries, SCPs, RCPs or resource-policy combination, treats a statement whose condition
fails as DENIED (so a failed condition on an Allow becomes a deny), supports few condition
operators, and matches `*` in patterns as a regex (so `?` and case rules differ).
"""

from __future__ import annotations

import json
from typing import Any

from benchmarks.peers.cases import CaseWriter
from policylang.policy_set import PolicySet
from policylang.request import Request


def available() -> str | None:
    try:
        import moto.iam.access_control  # noqa: F401
    except ImportError as error:
        return f"moto is not installed ({error})"
    return None


class MotoSet:
    """The identity policies of one set, loaded into moto's IAMPolicy objects."""

    def __init__(self, ps: PolicySet, writer: CaseWriter) -> None:
        from moto.iam.access_control import IAMPolicy, PermissionResult

        self._result = PermissionResult
        self.policies = [IAMPolicy(json.dumps(writer.doc(n))) for n in ps.identity]

    def decide(self, request: Request) -> str:
        context: dict[str, Any] = {
            k: (v if isinstance(v, str) else v[0] if v else "")
            for k, v in request.context.items()
        }
        permitted = False
        for policy in self.policies:
            try:
                result = policy.is_action_permitted(
                    request.action, request.resource.arn, None, context
                )
            except Exception:  # an operator moto does not know
                return "error"
            if result == self._result.DENIED:
                return "explicitDeny"
            if result == self._result.PERMITTED:
                permitted = True
        return "allowed" if permitted else "implicitDeny"
