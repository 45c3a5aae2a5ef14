"""`policylang.simulate`: the strict case reader, the answer shape, explanations."""

from __future__ import annotations

import copy
import importlib
import json
import pathlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policylang.decision import Decision
from policylang.errors import CaseError, PolicyLangError
from policylang.ir import PolicyKind
from policylang.request import PrincipalType
from policylang.simulate import (
    Case,
    SimulationResult,
    load_case,
    render_answer_text,
    simulate,
)

EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "cross-account-read.json"

ALLOW_ALL = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
DENY_ALL = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}],
}
RCP_FULL = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}],
}


def text_of(case: dict[str, Any]) -> str:
    return json.dumps(case, indent=2)


def error_of(case: Any) -> PolicyLangError:
    with pytest.raises(PolicyLangError) as info:
        load_case(case)
    return info.value


def line_of(text: str, needle: str) -> tuple[int, int]:
    """1-based line and column of the first `needle` in `text`."""
    offset = text.index(needle)
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


# --------------------------------------------------------------------------- the answer


def test_bundled_example_is_allowed_and_meets_its_expectation() -> None:
    result = simulate(EXAMPLE)

    assert result.decision is Decision.ALLOWED
    assert result.expectation_held is True


def test_answer_has_exactly_the_spec_shape() -> None:
    answer = simulate(EXAMPLE).to_json_value()

    assert list(answer) == [
        "name",
        "decision",
        "matched_statements",
        "missing_context_keys",
        "details",
        "expect",
        "expect_met",
    ]
    assert answer["name"] == "cross-account-read-needs-both-sides"
    assert answer["decision"] == "allowed"
    assert list(answer["details"]) == ["scp", "rcp", "boundary", "session", "resource", "identity"]
    for matched in answer["matched_statements"]:
        assert set(matched) == {"policy", "sid", "effect", "span"}
        assert set(matched["span"]) == {"line", "column"}


def test_matched_statement_spans_point_into_the_case_file() -> None:
    text = EXAMPLE.read_text()
    answer = simulate(EXAMPLE).to_json_value()

    by_sid = {m["sid"]: m for m in answer["matched_statements"]}
    assert by_sid["ReadReports"]["policy"] == "identity[0]"
    assert by_sid["CrossAccountRead"]["policy"] == "resource"
    lines = text.splitlines()
    for sid, matched in by_sid.items():
        line, column = matched["span"]["line"], matched["span"]["column"]
        # The span starts at the statement's `{`, and the statement is the one with that Sid.
        assert lines[line - 1][column - 1] == "{"
        statement_text = "\n".join(lines[line - 1 :])[column - 1 :]
        assert statement_text[: statement_text.index("}")].count(f'"Sid": "{sid}"') == 1


def test_answer_without_expect_has_no_expect_fields(user_case: dict[str, Any]) -> None:
    answer = simulate(user_case).to_json_value()

    assert "expect" not in answer
    assert answer["decision"] == "allowed"
    assert answer["name"] == "alice-reads-her-bucket"


def test_unnamed_case_echoes_a_null_name(user_case: dict[str, Any]) -> None:
    del user_case["name"]

    assert simulate(user_case).to_json_value()["name"] is None


def test_failed_expectation_is_reported_not_raised(user_case: dict[str, Any]) -> None:
    user_case["expect"] = "explicitDeny"

    result = simulate(user_case)

    assert result.expectation_held is False
    assert result.to_json_value()["expect_met"] is False


def test_explicit_deny_lists_only_the_deny(user_case: dict[str, Any]) -> None:
    user_case["policies"]["identity"].append(DENY_ALL)

    answer = simulate(user_case).to_json_value()

    assert answer["decision"] == "explicitDeny"
    assert [m["effect"] for m in answer["matched_statements"]] == ["Deny"]
    assert answer["matched_statements"][0]["policy"] == "identity[1]"


def test_missing_context_keys_are_reported(user_case: dict[str, Any]) -> None:
    user_case["policies"]["identity"] = [
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "s3:GetObject",
                    "Resource": "*",
                    "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
                }
            ],
        }
    ]

    answer = simulate(user_case).to_json_value()

    assert answer["decision"] == "implicitDeny"
    assert [k.lower() for k in answer["missing_context_keys"]] == ["aws:sourceip"]


def test_every_input_form_gives_the_same_decision(user_case: dict[str, Any]) -> None:
    text = text_of(user_case)
    forms: list[Any] = [user_case, text, text.encode(), load_case(user_case)]

    decisions = {simulate(form).decision for form in forms}

    assert decisions == {Decision.ALLOWED}


def test_a_path_given_as_str_or_pathlike_is_read(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "case.json"
    path.write_text(EXAMPLE.read_text())

    assert simulate(str(path)).decision is Decision.ALLOWED
    assert simulate(path).case.source is not None
    assert simulate(path).case.source.name == str(path)  # type: ignore[union-attr]


def test_mapping_cases_have_no_positions(user_case: dict[str, Any]) -> None:
    answer = simulate(user_case).to_json_value()

    assert answer["matched_statements"][0]["span"] is None


# --------------------------------------------------------------------------- the policy set


def test_policy_labels_and_kinds_follow_the_case_layout(user_case: dict[str, Any]) -> None:
    user_case["policies"] = {
        "identity": [ALLOW_ALL, ALLOW_ALL],
        "resource": RCP_FULL,
        "boundary": ALLOW_ALL,
        "session": [ALLOW_ALL],
        "scp": [[ALLOW_ALL, ALLOW_ALL], [ALLOW_ALL]],
        "rcp": [[RCP_FULL], [RCP_FULL]],
    }

    case = load_case(user_case)

    labels = [(p.label, p.kind) for p in case.policies.all_policies()]
    assert labels == [
        ("identity[0]", PolicyKind.IDENTITY),
        ("identity[1]", PolicyKind.IDENTITY),
        ("resource", PolicyKind.RESOURCE),
        ("boundary", PolicyKind.BOUNDARY),
        ("session[0]", PolicyKind.SESSION),
        ("scp[0][0]", PolicyKind.SCP),
        ("scp[0][1]", PolicyKind.SCP),
        ("scp[1][0]", PolicyKind.SCP),
        ("rcp[0][0]", PolicyKind.RCP),
        ("rcp[1][0]", PolicyKind.RCP),
    ]
    assert case.policies.resource is not None
    assert case.policies.resource.policy_type == "resource"


def test_resource_policy_of_assume_role_is_a_trust_policy(user_case: dict[str, Any]) -> None:
    user_case["request"]["action"] = "sts:AssumeRole"
    user_case["request"]["resource"] = {"arn": "arn:aws:iam::111122223333:role/ops"}
    user_case["policies"]["resource"] = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "111122223333"}, "Action": "sts:AssumeRole"}
        ],
    }

    case = load_case(user_case)

    assert case.policies.resource is not None
    assert case.policies.resource.kind is PolicyKind.TRUST
    assert case.request.resource.account == "111122223333"  # taken from the role ARN


def test_old_version_identity_policy_is_evaluated_not_rejected(user_case: dict[str, Any]) -> None:
    user_case["policies"]["identity"] = [{**ALLOW_ALL, "Version": "2008-10-17"}]

    assert simulate(user_case).decision is Decision.ALLOWED


def test_policy_given_as_json_text_is_parsed(user_case: dict[str, Any]) -> None:
    user_case["policies"]["identity"] = [json.dumps(ALLOW_ALL)]

    assert simulate(user_case).decision is Decision.ALLOWED


def test_policy_text_spans_are_mapped_back_into_the_case_file(user_case: dict[str, Any]) -> None:
    policy = (
        '{"Version": "2012-10-17",\n "Statement": '
        '[{"Sid": "Inner", "Effect": "Allow", "Action": "*", "Resource": "*"}]}'
    )
    user_case["policies"]["identity"] = [policy]
    text = text_of(user_case)

    answer = simulate(text).to_json_value()

    # The statement's `{` in the file: the JSON string escapes the newline as `\n`.
    line, column = line_of(text, '{\\"Sid\\"')
    assert answer["matched_statements"][0]["span"] == {"line": line, "column": column}


def test_dsl_policy_in_a_case_is_parsed(user_case: dict[str, Any]) -> None:
    user_case["policies"]["identity"] = [
        "@sid ReadIt\nallow s3:GetObject\n  on arn:aws:s3:::bucket/*\n"
    ]
    text = text_of(user_case)

    answer = simulate(text).to_json_value()

    assert answer["decision"] == "allowed"
    assert answer["matched_statements"][0]["sid"] == "ReadIt"
    assert answer["matched_statements"][0]["span"] == dict(
        zip(("line", "column"), line_of(text, "@sid"), strict=True)
    )


def test_dsl_error_points_into_the_case_file(user_case: dict[str, Any]) -> None:
    user_case["policies"]["session"] = ["allow s3:GetObject\n  onn x"]
    text = text_of(user_case)

    error = error_of(text)

    assert error.path == "policies.session[0]"
    assert error.span is not None
    line, column = line_of(text, "onn x")
    # Somewhere in `onn x` (where exactly is the DSL parser's business), in file columns.
    assert error.span.line == line
    assert column <= error.span.column <= column + 4


def test_dsl_policy_without_the_dsl_front_end_is_a_clear_error(
    user_case: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The module, not the `simulate` function the package facade may re-export under its name.
    module = importlib.import_module("policylang.case")
    monkeypatch.setattr(module, "_dsl_parser", lambda: None)
    user_case["policies"]["identity"] = ["allow s3:GetObject on *"]

    error = error_of(user_case)

    assert isinstance(error, CaseError)
    assert error.code == "case.dsl-unavailable"
    assert error.path == "policies.identity[0]"


# --------------------------------------------------------------------------- strictness


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda c: c.update(nmae="x"), "nmae"),
        (lambda c: c["policies"].update(identities=[]), "policies.identities"),
        (lambda c: c["request"].update(conditions={}), "request.conditions"),
        (lambda c: c["request"]["principal"].update(tag={}), "request.principal.tag"),
        (lambda c: c["request"]["resource"].update(region="x"), "request.resource.region"),
    ],
)
def test_unknown_fields_anywhere_are_errors_naming_the_path(
    user_case: dict[str, Any], mutate: Any, path: str
) -> None:
    mutate(user_case)
    text = text_of(user_case)

    with pytest.raises(CaseError) as info:
        load_case(text, source_name="case.json")

    error = info.value
    assert error.code == "case.unknown-field"
    assert error.path == path
    field = path.rsplit(".", 1)[-1]
    assert error.span is not None
    assert (error.span.line, error.span.column) == line_of(text, f'"{field}"')
    assert error.render().startswith(f"case.json:{error.span.line}:{error.span.column}: error[")


def test_unknown_field_gets_a_did_you_mean_hint(user_case: dict[str, Any]) -> None:
    user_case["request"]["actoin"] = "s3:GetObject"
    del user_case["request"]["action"]

    error = error_of(user_case)

    assert error.code == "case.unknown-field"
    assert error.hint is not None
    assert "`action`" in error.hint


def test_errors_in_a_mapping_case_name_the_field_without_a_position(
    user_case: dict[str, Any],
) -> None:
    user_case["request"]["principal"]["arm"] = "x"

    error = error_of(user_case)

    assert error.path == "request.principal.arm"
    assert error.span is None


def test_role_caller_is_reserved_and_the_hint_suggests_a_session(
    user_case: dict[str, Any],
) -> None:
    user_case["request"]["principal"] = {
        "type": "role",
        "arn": "arn:aws:iam::111122223333:role/ops",
        "account": "111122223333",
    }

    error = error_of(user_case)

    assert error.code == "case.role-caller"
    assert error.path == "request.principal.type"
    assert "assumed-role" in (error.hint or "")
    assert "arn:aws:sts::111122223333:assumed-role/ops/SESSION" in (error.hint or "")


@pytest.mark.parametrize(
    ("principal", "code"),
    [
        (
            {"type": "admin", "arn": "arn:aws:iam::111122223333:user/a"},
            "case.invalid-principal-type",
        ),
        ({"type": "user", "arn": "arn:aws:iam::111122223333:role/a"}, "case.invalid-arn"),
        ({"type": "user", "arn": "alice"}, "case.invalid-arn"),
        ({"type": "user"}, "case.invalid-arn"),
        ({"type": "root", "arn": "arn:aws:iam::1111:root"}, "case.invalid-arn"),
        (
            {"type": "assumed-role", "arn": "arn:aws:sts::111122223333:assumed-role/ops"},
            "case.invalid-arn",
        ),
        (
            {"type": "assumed-role", "arn": "arn:aws:iam::111122223333:role/ops"},
            "case.invalid-arn",
        ),
        ({"type": "service", "arn": "arn:aws:iam::111122223333:root"}, "case.invalid-arn"),
        (
            {"type": "service", "arn": "ec2.amazonaws.com", "account": "111122223333"},
            "case.invalid-principal",
        ),
        ({"type": "anonymous", "arn": "arn:aws:iam::111122223333:root"}, "case.invalid-principal"),
        (
            {"type": "federated", "arn": "arn:aws:iam::111122223333:user/bob"},
            "case.invalid-arn",
        ),
        (
            {
                "type": "user",
                "arn": "arn:aws:iam::111122223333:user/alice",
                "account": "444455556666",
            },
            "case.account-mismatch",
        ),
        (
            {"type": "user", "arn": "arn:aws:iam::111122223333:user/a", "tags": []},
            "case.wrong-type",
        ),
        (
            {"type": "user", "arn": "arn:aws:iam::111122223333:user/a", "tags": {"k": 1}},
            "case.wrong-type",
        ),
        ({"type": 3}, "case.wrong-type"),
    ],
)
def test_bad_principals_are_errors(
    user_case: dict[str, Any], principal: dict[str, Any], code: str
) -> None:
    user_case["request"]["principal"] = principal

    error = error_of(user_case)

    assert isinstance(error, CaseError)
    assert error.code == code
    assert (error.path or "").startswith("request.principal")


@pytest.mark.parametrize(
    ("principal", "ptype", "account"),
    [
        (
            {"type": "user", "arn": "arn:aws:iam::111122223333:user/dev/alice"},
            PrincipalType.USER,
            "111122223333",
        ),
        (
            {"type": "root", "arn": "arn:aws:iam::111122223333:root"},
            PrincipalType.ROOT,
            "111122223333",
        ),
        (
            {"type": "assumed-role", "arn": "arn:aws:sts::111122223333:assumed-role/ops/s1"},
            PrincipalType.ASSUMED_ROLE,
            "111122223333",
        ),
        (
            {"type": "federated", "arn": "arn:aws:sts::111122223333:federated-user/bob"},
            PrincipalType.FEDERATED,
            "111122223333",
        ),
        (
            {"type": "federated", "arn": "cognito-identity.amazonaws.com"},
            PrincipalType.FEDERATED,
            None,
        ),
        (
            {
                "type": "federated",
                "arn": "arn:aws:iam::111122223333:oidc-provider/token.example.com",
            },
            PrincipalType.FEDERATED,
            "111122223333",
        ),
        (
            {"type": "service", "arn": "ec2.amazonaws.com", "account": None},
            PrincipalType.SERVICE,
            None,
        ),
        ({"type": "anonymous"}, PrincipalType.ANONYMOUS, None),
        (
            {"type": "anonymous", "arn": None, "account": None, "id": None},
            PrincipalType.ANONYMOUS,
            None,
        ),
    ],
)
def test_good_principals_are_read_with_their_account(
    user_case: dict[str, Any], principal: dict[str, Any], ptype: PrincipalType, account: str | None
) -> None:
    user_case["request"]["principal"] = principal

    caller = load_case(user_case).request.principal

    assert caller.type is ptype
    assert caller.account == account


@pytest.mark.parametrize(
    ("request_patch", "code", "path"),
    [
        ({"action": None}, "case.missing-field", "request.action"),
        ({"action": 5}, "case.wrong-type", "request.action"),
        ({"action": "GetObject"}, "case.invalid-action", "request.action"),
        ({"action": "s3:Get*"}, "case.invalid-action", "request.action"),
        ({"resource": None}, "case.missing-field", "request.resource"),
        ({"resource": {"account": "111122223333"}}, "case.missing-field", "request.resource.arn"),
        ({"resource": {"arn": "bucket/key"}}, "case.invalid-arn", "request.resource.arn"),
        ({"resource": {"arn": "arn:aws:s3"}}, "case.invalid-arn", "request.resource.arn"),
        ({"resource": {"arn": "arn:nope:s3:::b/k"}}, "case.invalid-arn", "request.resource.arn"),
        (
            {"resource": {"arn": "arn:aws:s3:::b/k", "account": "12"}},
            "case.invalid-account",
            "request.resource.account",
        ),
        ({"principal": None}, "case.missing-field", "request.principal"),
        ({"context": []}, "case.wrong-type", "request.context"),
        (
            {"context": {"aws:MultiFactorAuthPresent": True}},
            "case.invalid-context-value",
            "request.context.aws:MultiFactorAuthPresent",
        ),
        (
            {"context": {"aws:MultiFactorAuthAge": 30}},
            "case.invalid-context-value",
            "request.context.aws:MultiFactorAuthAge",
        ),
        (
            {"context": {"s3:prefix": ["a", 1]}},
            "case.invalid-context-value",
            "request.context.s3:prefix",
        ),
        (
            {"context": {"s3:prefix": {"a": "b"}}},
            "case.invalid-context-value",
            "request.context.s3:prefix",
        ),
        (
            {"context": {"SourceIp": "1.2.3.4"}},
            "case.invalid-context-key",
            "request.context.SourceIp",
        ),
        ({"context": {"aws:": "x"}}, "case.invalid-context-key", "request.context.aws:"),
        (
            {"context": {"aws:SourceIp": "1.2.3.4", "aws:sourceip": "1.2.3.5"}},
            "case.duplicate-key",
            "request.context.aws:sourceip",
        ),
    ],
)
def test_bad_requests_are_errors(
    user_case: dict[str, Any], request_patch: dict[str, Any], code: str, path: str
) -> None:
    for key, value in request_patch.items():
        if value is None:
            del user_case["request"][key]
        else:
            user_case["request"][key] = value

    error = error_of(user_case)

    assert (error.code, error.path) == (code, path)


@pytest.mark.parametrize(
    ("policies", "code", "path"),
    [
        ({"identity": ALLOW_ALL}, "case.wrong-type", "policies.identity"),
        ({"identity": [None]}, "case.wrong-type", "policies.identity[0]"),
        ({"identity": [3]}, "case.wrong-type", "policies.identity[0]"),
        ({"resource": [ALLOW_ALL]}, "case.wrong-type", "policies.resource"),
        ({"session": ALLOW_ALL}, "case.wrong-type", "policies.session"),
        ({"scp": [ALLOW_ALL]}, "case.wrong-type", "policies.scp[0]"),
        ({"scp": ALLOW_ALL}, "case.wrong-type", "policies.scp"),
        ({"rcp": [[RCP_FULL], []]}, "case.empty-level", "policies.rcp[1]"),
        ({"permissions_boundary": None}, "case.unknown-field", "policies.permissions_boundary"),
    ],
)
def test_bad_policy_layouts_are_errors(
    user_case: dict[str, Any], policies: dict[str, Any], code: str, path: str
) -> None:
    user_case["policies"] = policies

    error = error_of(user_case)

    assert (error.code, error.path) == (code, path)


def test_a_malformed_policy_keeps_its_own_error_and_gains_the_case_path(
    user_case: dict[str, Any],
) -> None:
    bad = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allw", "Action": "*", "Resource": "*"}],
    }
    user_case["policies"]["identity"] = [ALLOW_ALL, bad]
    text = text_of(user_case)

    error = error_of(text)

    assert not isinstance(error, CaseError)  # the policy's own error class and code
    assert error.code.startswith("policy.")
    assert (error.path or "").startswith("policies.identity[1]")
    assert error.span is not None
    assert error.span.line == line_of(text, '"Allw"')[0]


def test_a_malformed_policy_given_as_text_points_into_the_case_file(
    user_case: dict[str, Any],
) -> None:
    user_case["policies"]["identity"] = [
        '{"Statement": [{"Effect": "Allw", "Action": "*", "Resource": "*"}]}'
    ]
    text = text_of(user_case)

    error = error_of(text)

    assert (error.path or "").startswith("policies.identity[0]")
    assert error.span is not None
    assert (error.span.line, error.span.column) == line_of(text, '\\"Allw\\"')


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "json.empty"),
        ("{", "json.syntax"),
        ('{"name": "a", "name": "b"}', "json.duplicate-key"),
        ("[]", "case.wrong-type"),
        ("{}", "case.missing-field"),
        ('{"policies": {}, "request": 3}', "case.wrong-type"),
    ],
)
def test_malformed_documents_are_errors(text: str, code: str) -> None:
    with pytest.raises(PolicyLangError) as info:
        load_case(text.encode())

    assert info.value.code == code


@pytest.mark.parametrize("expect", ["allow", "Allowed", "deny", 1])
def test_expect_must_be_a_decision_value(user_case: dict[str, Any], expect: Any) -> None:
    user_case["expect"] = expect

    error = error_of(user_case)

    assert error.path == "expect"
    assert error.code in ("case.invalid-expect", "case.wrong-type")


def test_case_object_is_accepted_as_is(user_case: dict[str, Any]) -> None:
    case = load_case(user_case)

    result = simulate(case)

    assert isinstance(case, Case)
    assert isinstance(result, SimulationResult)
    assert result.case is case


# --------------------------------------------------------------------------- derived values


def test_account_is_taken_from_the_principal_arn_when_absent(user_case: dict[str, Any]) -> None:
    del user_case["request"]["principal"]["account"]

    assert load_case(user_case).request.principal.account == "111122223333"


def test_s3_resource_without_account_stays_without_account(user_case: dict[str, Any]) -> None:
    del user_case["request"]["resource"]["account"]

    assert load_case(user_case).request.resource.account is None


def test_context_values_keep_lists_as_tuples(user_case: dict[str, Any]) -> None:
    user_case["request"]["context"] = {"s3:prefix": ["a/", "b/"], "aws:SourceIp": "10.0.0.1"}

    context = load_case(user_case).request.context

    assert context == {"s3:prefix": ("a/", "b/"), "aws:SourceIp": "10.0.0.1"}


# --------------------------------------------------------------------------- explanations


def test_explain_lists_statements_context_and_the_request() -> None:
    answer = simulate(EXAMPLE).to_json_value(explain=True)

    explain = answer["explain"]
    assert explain["request"]["same_account"] is False
    matched = {(s["policy"], s["index"]) for s in explain["statements"] if s["matched"]}
    assert matched == {(m["policy"], i) for m in answer["matched_statements"] for i in [0]}
    context = {c["key"]: c for c in explain["context"]}
    assert context["aws:SecureTransport"]["origin"] == "given"
    assert context["aws:PrincipalArn"] == {
        "key": "aws:PrincipalArn",
        "value": "arn:aws:iam::111122223333:user/alice",
        "origin": "derived",
    }
    assert context["aws:PrincipalTag/team"]["value"] == "blue"
    assert context["aws:ResourceAccount"]["value"] == "444455556666"


def test_given_context_key_is_not_overridden_by_a_derived_one(user_case: dict[str, Any]) -> None:
    user_case["request"]["context"] = {"aws:principalarn": "arn:aws:iam::111122223333:role/x"}

    context = simulate(user_case).resolved_context()

    arns = [c for c in context if c.key.lower() == "aws:principalarn"]
    assert [(c.value, c.origin) for c in arns] == [("arn:aws:iam::111122223333:role/x", "given")]


def test_denial_names_the_deciding_set(user_case: dict[str, Any]) -> None:
    user_case["policies"]["scp"] = [[DENY_ALL]]

    result = simulate(user_case)

    assert result.decision is Decision.EXPLICIT_DENY
    assert result.deciding_set == "scp"
    assert result.to_json_value(explain=True)["explain"]["deciding_set"] == "scp"


def test_text_rendering_says_the_decision_and_the_statements() -> None:
    result = simulate(EXAMPLE)

    text = result.render_text(explain=True)

    assert text.splitlines()[0] == "cross-account-read-needs-both-sides: ALLOWED"
    assert "'ReadReports'" in text
    assert "aws:PrincipalArn = arn:aws:iam::111122223333:user/alice  (derived)" in text
    assert "expect    allowed: held" in text
    short = render_answer_text(result.to_json_value())
    assert short.splitlines()[0] == text.splitlines()[0]
    assert "statements" not in short


# --------------------------------------------------------------------------- properties

# `x_` keeps generated names clear of every real field name.
_KEYS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12).map(
    lambda name: "x_" + name
)


def _object_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths of the case's own objects (policy documents excluded: they have their own rules)."""
    if not isinstance(value, dict):
        return []
    out = [path]
    for key, item in value.items():
        if key in ("policies", "context", "tags"):
            continue
        out.extend(_object_paths(item, (*path, key)))
    return out


@given(data=st.data(), key=_KEYS)
def test_any_unknown_field_is_an_error_never_a_decision(data: st.DataObject, key: str) -> None:
    case = {
        "name": "n",
        "policies": {"identity": [ALLOW_ALL]},
        "request": {
            "principal": {"type": "user", "arn": "arn:aws:iam::111122223333:user/a"},
            "action": "s3:GetObject",
            "resource": {"arn": "arn:aws:s3:::b/k"},
        },
    }
    target_path = data.draw(st.sampled_from([*_object_paths(case), ("policies",)]))
    broken = copy.deepcopy(case)
    node: Any = broken
    for part in target_path:
        node = node[part]
    node[key] = "x"

    with pytest.raises(CaseError) as info:
        load_case(json.dumps(broken))

    assert info.value.code == "case.unknown-field"
    assert (info.value.path or "").endswith(key)


@given(st.text(max_size=60))
def test_any_text_is_a_decision_or_a_policylang_error(text: str) -> None:
    outcome: Any
    try:
        outcome = simulate(("{" + text).encode()).decision
    except PolicyLangError as error:
        outcome = error.code

    assert outcome in set(Decision) or outcome.startswith(("json.", "case."))


def test_session_name_is_taken_from_the_session_arn(user_case: dict[str, Any]) -> None:
    user_case["request"]["principal"] = {
        "type": "assumed-role",
        "arn": "arn:aws:sts::111122223333:assumed-role/ops/build-42",
    }

    assert load_case(user_case).request.principal.session_name == "build-42"


def test_session_name_contradicting_the_arn_is_an_error(user_case: dict[str, Any]) -> None:
    user_case["request"]["principal"] = {
        "type": "assumed-role",
        "arn": "arn:aws:sts::111122223333:assumed-role/ops/build-42",
        "session_name": "other",
    }

    error = error_of(user_case)

    assert (error.code, error.path) == (
        "case.session-name-mismatch",
        "request.principal.session_name",
    )


def test_read_only_mappings_and_tuples_are_accepted(user_case: dict[str, Any]) -> None:
    from types import MappingProxyType

    user_case["policies"]["identity"] = (MappingProxyType(ALLOW_ALL),)

    assert simulate(MappingProxyType(user_case)).decision is Decision.ALLOWED


def test_a_mapping_that_is_not_json_is_a_case_error(user_case: dict[str, Any]) -> None:
    user_case["request"]["context"] = {1: "x"}

    error = error_of(user_case)

    assert error.code == "case.not-json"


def test_an_evaluator_error_is_located_in_the_case_file(user_case: dict[str, Any]) -> None:
    user_case["policies"]["identity"] = [{"Statement": [{"Effect": "Allow", "Action": "*"}]}]
    text = text_of(user_case)

    with pytest.raises(PolicyLangError) as info:
        simulate(text, source_name="case.json")

    error = info.value
    assert error.code == "policy.missing-resource"
    assert error.path == "policies.identity[0]"
    assert error.span is not None
    assert error.render().startswith(f"case.json:{error.span.line}:{error.span.column}:")


def test_explain_checks_every_element_of_every_statement() -> None:
    statements = simulate(EXAMPLE).statements()

    by_sid = {s.sid: s for s in statements}
    deny = by_sid["DenyOutsideTheOrg"]
    assert (deny.applies, deny.principal, deny.action, deny.resource, deny.condition) == (
        False,
        True,
        True,
        True,
        False,
    )
    assert [(c.operator, c.key, c.value, c.holds) for c in deny.conditions] == [
        ("StringNotEquals", "aws:PrincipalOrgID", "o-exampleorg1", False)
    ]
    read = by_sid["ReadReports"]
    assert (read.applies, read.matched, read.principal) == (True, True, None)


def test_explain_reports_an_absent_condition_key_as_none(user_case: dict[str, Any]) -> None:
    user_case["policies"]["identity"] = [
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "s3:PutObject",
                    "Resource": "arn:aws:s3:::other/*",
                    "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
                }
            ],
        }
    ]

    (info,) = simulate(user_case).statements()

    assert (info.applies, info.action, info.resource, info.condition) == (
        False,
        False,
        False,
        False,
    )
    assert info.conditions[0].value is None
