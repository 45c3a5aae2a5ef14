"""The IAM combination rules the naive loop and the Cedar translation share (simplified).

An explicit Deny anywhere wins; every SCP level and every RCP level needs an applicable Allow;
same-account requests are allowed by an identity Allow (inside the boundary, when there is one)
or a resource-policy Allow; cross-account requests need both. This is the textbook summary of
evaluation.md §3 — the real engine has many more rules (service principals, anonymous callers,
root, KMS key policies, session policies, the RCP service list, …), which is exactly what the
agreement column of the benchmark measures.
"""

from __future__ import annotations

from policylang.request import Request


def same_account(request: Request) -> bool:
    return (
        request.principal.account is not None
        and request.principal.account == request.resource.account
    )
