"""`policylang review`: least-privilege findings with stable codes (catalogue: `findings`).

Entry points: `review_policy(policy, kind=..., file=...)` for one parsed policy,
`review_file(path)` for a policy file, `review_account_file(path)` for every policy of an
account file; renderers `format_text`, `format_json`, `to_sarif`.
"""

from __future__ import annotations

from policylang.review.account import review_account_file
from policylang.review.findings import RULES, Finding, Fix, Rule, Severity
from policylang.review.report import count_by_severity, exit_status, format_json, format_text
from policylang.review.rules import DSL_AVAILABLE, infer_kind, review_policy
from policylang.review.sarif import to_sarif

__all__ = [
    "DSL_AVAILABLE",
    "RULES",
    "Finding",
    "Fix",
    "Rule",
    "Severity",
    "count_by_severity",
    "exit_status",
    "format_json",
    "format_text",
    "infer_kind",
    "review_account_file",
    "review_policy",
    "to_sarif",
]
