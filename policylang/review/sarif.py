"""SARIF 2.1.0 output: one run, the rule catalogue as `tool.driver.rules`, one result per
finding with a physical location (file, line, column) and, in account mode, a logical one.

The suggested fix travels in `result.properties.fix` rather than SARIF's `fixes`: a `fixes`
replacement must be text for the file's own format and indentation, which the reviewer does not
know for DSL files and policies embedded in account files."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from policylang._version import __version__
from policylang.review.findings import RULES, Finding, Severity

__all__ = ["SARIF_SCHEMA", "SARIF_VERSION", "to_sarif"]

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def _rules() -> list[dict[str, Any]]:
    return [
        {
            "id": rule.code,
            "name": rule.name,
            "shortDescription": {"text": rule.summary},
            "fullDescription": {"text": rule.why},
            "defaultConfiguration": {"level": _LEVEL[rule.severity]},
        }
        for rule in RULES.values()
    ]


def _result(finding: Finding, index: dict[str, int]) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": _uri(finding.file)}}
    if finding.line is not None and finding.column is not None:
        region: dict[str, int] = {"startLine": finding.line, "startColumn": finding.column}
        if finding.end_line is not None and finding.end_column is not None:
            region["endLine"] = finding.end_line
            region["endColumn"] = finding.end_column
        physical["region"] = region
    location: dict[str, Any] = {"physicalLocation": physical}
    if finding.policy:
        location["logicalLocations"] = [{"name": finding.policy, "kind": "object"}]
    result: dict[str, Any] = {
        "ruleId": finding.code,
        "ruleIndex": index[finding.code],
        "level": _LEVEL[finding.severity],
        "message": {"text": finding.message},
        "locations": [location],
    }
    # Stable across edits elsewhere in the file: code, file, policy, statement (Sid or index).
    anchor = finding.sid if finding.sid else f"#{finding.statement_index}"
    key = "\0".join((finding.code, finding.file, finding.policy or "", anchor))
    result["partialFingerprints"] = {
        "policylangFinding/v1": hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    }
    props: dict[str, Any] = {}
    if finding.statement_index is not None:
        props["statementIndex"] = finding.statement_index
    if finding.sid:
        props["sid"] = finding.sid
    if finding.principals:
        props["principals"] = list(finding.principals)
    if finding.fix is not None:
        props["fix"] = finding.fix.to_dict()
    if props:
        result["properties"] = props
    return result


def _uri(path: str) -> str:
    # SARIF wants a URI reference; relative paths stay relative, with forward slashes.
    from urllib.parse import quote

    return quote(path.replace("\\", "/"), safe="/:._-~")


def to_sarif(findings: Sequence[Finding]) -> dict[str, Any]:
    """The SARIF 2.1.0 log (a JSON-ready dict)."""
    index = {code: i for i, code in enumerate(RULES)}
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "policylang-review",
                        "version": __version__,
                        "rules": _rules(),
                    }
                },
                "results": [_result(f, index) for f in findings],
                "columnKind": "unicodeCodePoints",
            }
        ],
    }
