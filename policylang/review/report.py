"""Text and JSON renderings of review findings, and the `--fail-on` threshold."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from policylang import _json
from policylang.review.findings import Finding, Severity

__all__ = ["count_by_severity", "exit_status", "format_json", "format_text"]


def format_text(findings: Sequence[Finding], *, show_fix: bool = True) -> str:
    """`file:line:col: severity[code]: message`, then the why, who, and the fix (indented)."""
    lines: list[str] = []
    for f in findings:
        lines.append(f"{f.location()}: {f.severity.value}[{f.code}]: {f.message}")
        where = []
        if f.policy:
            where.append(f.policy)
        if f.principals:
            where.append("held by " + ", ".join(f.principals))
        if where:
            lines.append("  in: " + "; ".join(where))
        lines.append(f"  why: {f.rule.why}")
        if show_fix and f.fix is not None:
            lines.append(f"  fix: {f.fix.description}")
            if f.fix.edit != "replace-statement":
                continue
            if f.fix.dsl:
                lines.extend("    " + line for line in f.fix.dsl.splitlines())
            elif f.fix.json:
                lines.extend("    " + line for line in f.fix.json.splitlines())
    return "\n".join(lines) + ("\n" if lines else "")


def format_json(findings: Sequence[Finding], *, files: int) -> str:
    counts = count_by_severity(findings)
    value: dict[str, Any] = {
        "version": 1,
        "files": files,
        "summary": counts,
        "findings": [f.to_dict() for f in findings],
    }
    return _json.dumps(value, pretty=True) + "\n"


def count_by_severity(findings: Sequence[Finding]) -> dict[str, int]:
    counts = {s.value: 0 for s in Severity}
    for f in findings:
        counts[f.severity.value] += 1
    return counts


def exit_status(findings: Sequence[Finding], fail_on: Severity) -> int:
    """1 when any finding is at or above `fail_on`, else 0."""
    return int(any(f.severity.rank >= fail_on.rank for f in findings))
