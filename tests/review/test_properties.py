"""Property tests: the reviewer accepts any policy the IR can hold, findings are well-formed,
every fix renders to a statement that parses back, and the SARIF log keeps its structure even
without the schema package."""

from __future__ import annotations

import json

from hypothesis import given, settings

from policylang.grammar.ir_to_json import format_iam_json
from policylang.grammar.json_to_ir import parse_iam_json, policy_from_value
from policylang.ir import Policy, PolicyKind
from policylang.review import RULES, review_policy, to_sarif
from tests.strategies import policies


# Generating policies dominates the cost (~70 ms each): one test checks findings and SARIF.
@settings(max_examples=80)
@given(policies(max_statements=4))
def test_any_policy_reviews_without_error(policy: Policy) -> None:
    text = format_iam_json(policy)
    located = parse_iam_json(text, source_name="dir/gen file.json")
    _check_sarif(located)
    for kind in (None, PolicyKind.IDENTITY, PolicyKind.RESOURCE, PolicyKind.TRUST):
        for finding in review_policy(located, kind=kind):
            assert finding.code in RULES
            assert finding.statement_index is not None
            assert 0 <= finding.statement_index < len(located.statements)
            assert finding.line is not None
            assert finding.line >= 1
            assert finding.fix is not None
            if finding.fix.edit == "replace-statement":
                assert finding.fix.json is not None
                value = json.loads(finding.fix.json)
                policy_from_value({"Version": "2012-10-17", "Statement": [value]})


def _check_sarif(located: Policy) -> None:
    findings = review_policy(located)
    log = to_sarif(findings)
    assert log["version"] == "2.1.0"
    [run] = log["runs"]
    assert run["tool"]["driver"]["name"] == "policylang-review"
    assert len(run["results"]) == len(findings)
    for result in run["results"]:
        assert result["ruleId"] in RULES
        assert result["message"]["text"]
        assert result["level"] in {"error", "warning", "note"}
        physical = result["locations"][0]["physicalLocation"]
        assert physical["artifactLocation"]["uri"] == "dir/gen%20file.json"
        assert physical["region"]["startLine"] >= 1
        assert physical["region"]["startColumn"] >= 1
