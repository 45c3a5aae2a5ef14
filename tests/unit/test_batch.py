"""Batch evaluation (policylang.batch) and the `policylang batch` command."""

from __future__ import annotations

import copy
import io
import json
import pathlib
from typing import Any

import pytest

from policylang.batch import (
    BatchEvaluator,
    BatchOptions,
    CaseLineReader,
    Summary,
    decide_lines,
    read_lines,
    run_batch,
)
from policylang.cli import main
from policylang.simulate import simulate

ROOT = pathlib.Path(__file__).resolve().parents[2]
CONFORMANCE = ROOT / "tests" / "conformance"

ALLOW_S3_READ = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
        {"Sid": "NoSecrets", "Effect": "Deny", "Action": "s3:*",
         "Resource": "arn:aws:s3:::secrets/*"},
    ],
}
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                   "Action": "sts:AssumeRole"}],
}


def _case(
    name: str,
    action: str = "s3:GetObject",
    resource: str = "arn:aws:s3:::reports/q1.csv",
    *,
    user: str = "alice",
    identity: list[Any] | None = None,
    policy_resource: Any = None,
    expect: str | None = None,
) -> dict[str, Any]:
    case: dict[str, Any] = {
        "name": name,
        "policies": {
            "identity": [ALLOW_S3_READ] if identity is None else identity,
            "resource": policy_resource,
        },
        "request": {
            "principal": {"type": "user", "arn": f"arn:aws:iam::111122223333:user/{user}",
                          "account": "111122223333", "id": f"AIDA{user.upper()}"},
            "action": action,
            "resource": {"arn": resource, "account": "111122223333"},
        },
    }
    if expect is not None:
        case["expect"] = expect
    return case


def _line(case: dict[str, Any]) -> str:
    return json.dumps(case)


def _conformance_lines() -> list[str]:
    """Every conformance case as one JSON line (without the corpus-only `source` field)."""
    lines: list[str] = []
    for path in sorted(CONFORMANCE.glob("*/*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        for case in data if isinstance(data, list) else [data]:
            case.pop("source", None)
            lines.append(json.dumps(case))
    return lines


# --------------------------------------------------------------------------- decisions


def test_batch_agrees_with_simulate_on_the_conformance_corpus() -> None:
    lines = _conformance_lines()
    assert len(lines) > 300
    outputs = list(decide_lines(lines, BatchOptions(matched=True)))
    assert len(outputs) == len(lines)
    for line, out in zip(lines, outputs, strict=True):
        answer = simulate(line).to_json_value()
        assert out.get("decision") == answer["decision"], (out, answer["name"])
        assert [m["policy"] for m in out["matched"]] == [
            m["policy"] for m in answer["matched_statements"]
        ]
        assert [m["sid"] for m in out["matched"]] == [
            m["sid"] for m in answer["matched_statements"]
        ]


def test_output_line_shape_and_expectation() -> None:
    lines = [_line(_case("a", expect="allowed")),
             _line(_case("b", resource="arn:aws:s3:::secrets/k", expect="explicitDeny"))]
    out = list(decide_lines(lines, BatchOptions(matched=True)))
    assert out[0] == {
        "line": 1, "name": "a", "decision": "allowed",
        "matched": [{"policy": "identity[0]", "sid": "Read", "effect": "Allow"}],
        "expect": "allowed",
    }
    assert out[1]["decision"] == "explicitDeny"
    assert out[1]["matched"] == [{"policy": "identity[0]", "sid": "NoSecrets", "effect": "Deny"}]
    plain = list(decide_lines(lines[:1]))
    assert "matched" not in plain[0]


def test_each_distinct_policy_set_compiles_once() -> None:
    evaluator = BatchEvaluator()
    summary = Summary()
    other = copy.deepcopy(ALLOW_S3_READ)
    other["Statement"][0]["Sid"] = "Other"
    for i in range(60):
        case = _case(f"c{i}", user=f"u{i % 7}", identity=[ALLOW_S3_READ if i % 3 else other])
        outcome = evaluator.evaluate_line(i + 1, _line(case).encode(), summary)
        assert outcome is not None
        assert outcome.value["decision"] == "allowed"
    assert evaluator.compiled == 2
    assert summary.lines == 60
    assert summary.decisions["allowed"] == 60


def test_trust_actions_key_the_resource_policy_separately() -> None:
    # The same `policies` read as a trust policy (sts:AssumeRole) and as a resource policy.
    evaluator = BatchEvaluator()
    summary = Summary()
    role = "arn:aws:iam::111122223333:role/app"
    assume = _case("assume", "sts:AssumeRole", role, identity=[], policy_resource=TRUST)
    other = _case("get", "iam:GetRole", role, identity=[], policy_resource=TRUST)
    first = evaluator.evaluate_line(1, _line(assume).encode(), summary)
    second = evaluator.evaluate_line(2, _line(other).encode(), summary)
    assert first is not None
    assert second is not None
    assert evaluator.compiled == 2
    assert first.value["decision"] == simulate(_line(assume)).decision.value
    assert second.value["decision"] == simulate(_line(other)).decision.value


def test_documents_are_interned_between_policy_sets() -> None:
    reader = CaseLineReader()
    evaluator = BatchEvaluator(reader=reader)
    summary = Summary()
    extra = {"Version": "2012-10-17",
             "Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}]}
    a = _case("a", identity=[ALLOW_S3_READ])
    b = _case("b", action="s3:PutObject", identity=[ALLOW_S3_READ, extra])
    for n, case in enumerate((a, b), 1):
        outcome = evaluator.evaluate_line(n, _line(case).encode(), summary)
        assert outcome is not None
        assert outcome.value["decision"] == "allowed"
    sets = list(evaluator._sets.values())
    assert len(sets) == 2
    assert sets[0].policies.identity[0] is sets[1].policies.identity[0]


def test_caches_are_bounded() -> None:
    options = BatchOptions(set_cache_size=2, decision_cache_size=3)
    evaluator = BatchEvaluator(options)
    summary = Summary()
    policies = []
    for k in range(5):
        doc = copy.deepcopy(ALLOW_S3_READ)
        doc["Statement"][0]["Sid"] = f"S{k}"
        policies.append(doc)
    for i in range(40):
        deny = i % 4 == 0
        case = _case(f"c{i}", resource="arn:aws:s3:::secrets/x" if deny else f"arn:aws:s3:::b/{i}",
                     identity=[policies[i % 5]])
        outcome = evaluator.evaluate_line(i + 1, _line(case).encode(), summary)
        assert outcome is not None
        assert outcome.value["decision"] == ("explicitDeny" if deny else "allowed")
        assert len(evaluator._sets) <= 2
        assert len(evaluator._cache) <= 3


# --------------------------------------------------------------------------- malformed lines


def test_malformed_lines_are_reported_counted_and_skipped_over() -> None:
    good = _line(_case("good"))
    lines = [good, '{"name": oops}', "", "[1, 2]", good.replace('"request"', '"requets"'), good]
    out = io.BytesIO()
    errors: list[str] = []
    summary = run_batch(
        read_lines(io.BytesIO(("\n".join(lines) + "\n").encode())), out,
        options=BatchOptions(source_name="in.jsonl"), on_error=errors.append,
    )
    records = [json.loads(x) for x in out.getvalue().decode().splitlines()]
    assert [r["line"] for r in records] == [1, 2, 4, 5, 6]  # the blank line 3 is skipped
    assert records[0]["decision"] == "allowed"
    assert records[4]["decision"] == "allowed"
    assert records[1]["error"]["code"] == "json.syntax"
    assert records[2]["error"]["code"].startswith("case.")
    assert records[3]["error"]["code"] == "case.unknown-field"
    assert summary.errors == 3
    assert summary.lines == 5
    assert errors[0].startswith("in.jsonl:2:10: error[json.syntax]:")
    assert errors[1].startswith("in.jsonl:4:")
    assert errors[2].startswith("in.jsonl:5:")


def test_an_error_in_the_policies_is_not_hidden_by_the_cache() -> None:
    # Same policy content as a cached line, but with a duplicate key: still an error.
    good = _line(_case("good"))
    duplicated = good.replace('"Sid": "Read",', '"Sid": "Read", "Sid": "Again",')
    assert duplicated != good
    out = list(decide_lines([good, duplicated, good]))
    assert out[1]["error"]["code"] == "json.duplicate-key"
    assert out[2]["decision"] == "allowed"


def test_request_parts_remembered_from_good_lines_do_not_hide_errors() -> None:
    good = _case("good", expect="allowed")
    lines = [_line(good)]
    for field, value in (("expect", 5), ("expect", "allow"), ("name", 7), ("extra", 1)):
        bad = copy.deepcopy(good)
        bad[field] = value
        lines.append(_line(bad))
    bad_context = copy.deepcopy(good)
    bad_context["request"]["context"] = {"aws:SourceIp": 7}
    lines.append(_line(bad_context))
    bad_action = copy.deepcopy(good)
    bad_action["request"]["action"] = "s3:Get*"
    lines.append(_line(bad_action))
    lines.append(_line(good))
    out = list(decide_lines(lines))
    assert out[0]["decision"] == out[-1]["decision"] == "allowed"
    codes = [o.get("error", {}).get("code") for o in out[1:-1]]
    assert all(code is not None and code.startswith("case.") for code in codes), codes
    # a line whose parts are all known, with a new context, is decided like simulate does
    fresh = copy.deepcopy(good)
    fresh["request"]["context"] = {"aws:SourceIp": "10.0.0.1", "s3:prefix": ["a/", "b/"]}
    both = list(decide_lines([_line(good), _line(fresh)], BatchOptions(matched=True)))
    assert both[1]["decision"] == simulate(_line(fresh)).decision.value


def test_an_error_in_the_request_of_a_cached_set_points_into_the_line() -> None:
    good = _case("good")
    bad = _case("bad")
    bad["request"]["principal"]["type"] = "robot"
    errors: list[str] = []
    run_batch(
        read_lines(io.BytesIO(f"{_line(good)}\n{_line(bad)}\n".encode())), io.BytesIO(),
        options=BatchOptions(source_name="x.jsonl"), on_error=errors.append,
    )
    assert len(errors) == 1
    column = _line(bad).index('"robot"') + 1
    assert errors[0].startswith(f"x.jsonl:2:{column}: error[case.")


def test_a_decision_time_error_in_a_shared_document_keeps_a_true_position() -> None:
    no_resource = {"Version": "2012-10-17",
                   "Statement": [{"Effect": "Allow", "Action": "s3:GetObject"}]}
    first = _line(_case("a", identity=[no_resource]))
    second = _line(_case("a-much-longer-name", identity=[no_resource]))
    errors: list[str] = []
    summary = run_batch(
        read_lines(io.BytesIO(f"{first}\n{second}\n".encode())), io.BytesIO(),
        options=BatchOptions(source_name="x.jsonl"), on_error=errors.append,
    )
    assert summary.errors == 2
    assert errors[0].startswith("x.jsonl:1:")
    column = errors[0].split(":")[2]
    assert errors[1].startswith("x.jsonl:2")
    assert not errors[1].startswith(f"x.jsonl:2:{column}:")  # line 1's column is not line 2's


# --------------------------------------------------------------------------- summary, workers


def test_summary_counts_by_action_and_principal_and_merges() -> None:
    lines = [
        _line(_case("1", user="alice")),
        _line(_case("2", user="bob", resource="arn:aws:s3:::secrets/x")),
        _line(_case("3", user="alice", action="s3:PutObject")),
    ]
    summary = Summary()
    evaluator = BatchEvaluator()
    for n, line in enumerate(lines, 1):
        evaluator.evaluate_line(n, line.encode(), summary)
    assert summary.decisions == {"allowed": 1, "explicitDeny": 1, "implicitDeny": 1}
    assert summary.by_action["s3:GetObject"] == {"allowed": 1, "explicitDeny": 1,
                                                 "implicitDeny": 0}
    alice = "arn:aws:iam::111122223333:user/alice"
    assert summary.by_principal[alice] == {"allowed": 1, "explicitDeny": 0, "implicitDeny": 1}
    total = Summary()
    total.merge(summary)
    total.merge(summary)
    assert total.lines == 6
    assert total.by_principal[alice]["implicitDeny"] == 2
    value = total.to_json_value()
    assert value["decided"] == 6
    assert "3 lines" not in total.render_text()
    assert total.render_text().startswith("6 lines: 2 allowed, 2 explicitDeny, 2 implicitDeny")


def test_two_worker_processes_give_the_same_output_in_order() -> None:
    lines = [
        _line(_case(f"c{i}", user=f"u{i % 5}",
                    resource="arn:aws:s3:::secrets/x" if i % 4 == 0 else f"arn:aws:s3:::b/{i}"))
        for i in range(60)
    ]
    lines[17] = "{broken"
    data = ("\n".join(lines) + "\n").encode()
    one, two = io.BytesIO(), io.BytesIO()
    s1 = run_batch(read_lines(io.BytesIO(data)), one, chunk_lines=7)
    s2 = run_batch(read_lines(io.BytesIO(data)), two, workers=2, chunk_lines=7)
    assert one.getvalue() == two.getvalue()
    assert [json.loads(x)["line"] for x in two.getvalue().splitlines()] == list(range(1, 61))
    assert s1.to_json_value() == s2.to_json_value()
    assert s2.errors == 1


def test_a_custom_record_reader_is_used() -> None:
    # The extension point for other record formats (CloudTrail): a RecordReader.
    class Counting(CaseLineReader):
        def __init__(self) -> None:
            super().__init__()
            self.requests = 0

        def request(self, record: Any, data: bytes, source_name: str) -> Any:
            self.requests += 1
            return super().request(record, data, source_name)

    made: list[Counting] = []

    def factory() -> Counting:
        made.append(Counting())
        return made[-1]

    lines = [_line(_case(f"c{i}")) for i in range(5)]
    summary = run_batch(read_lines(io.BytesIO(("\n".join(lines)).encode())), io.BytesIO(),
                        reader_factory=factory)
    assert summary.decisions["allowed"] == 5
    assert len(made) == 1
    assert made[0].requests == 5


# --------------------------------------------------------------------------- the command


def _write(path: pathlib.Path, lines: list[str]) -> pathlib.Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_cli_writes_decisions_and_summary(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _write(tmp_path / "cases.jsonl",
                 [_line(_case("a")), _line(_case("b", resource="arn:aws:s3:::secrets/z"))])
    out = tmp_path / "out.jsonl"
    summary_path = tmp_path / "summary.json"
    code = main(["batch", str(src), "--out", str(out), "--summary-json", str(summary_path),
                 "--matched"])
    assert code == 0
    records = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["decision"] for r in records] == ["allowed", "explicitDeny"]
    assert records[1]["matched"][0]["sid"] == "NoSecrets"
    summary = json.loads(summary_path.read_text())
    assert summary["decisions"] == {"allowed": 1, "explicitDeny": 1, "implicitDeny": 0}
    err = capsys.readouterr().err
    assert "2 lines: 1 allowed, 1 explicitDeny, 0 implicitDeny, 0 malformed" in err
    assert "\r" not in err  # no progress line when stderr is not a terminal


def test_cli_exit_codes_for_malformed_lines_and_failed_expectations(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = _write(tmp_path / "bad.jsonl", [_line(_case("a")), "{"])
    assert main(["batch", str(bad), "--out", str(tmp_path / "o1")]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:2:2: error[json." in err
    assert "Traceback" not in err
    failing = _write(tmp_path / "exp.jsonl", [_line(_case("a", expect="implicitDeny"))])
    assert main(["batch", str(failing), "--out", str(tmp_path / "o2")]) == 3
    assert "1 expectations failed" in capsys.readouterr().err


def test_cli_reads_stdin_and_writes_stdout(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class _Stdin:
        buffer = io.BytesIO((_line(_case("in")) + "\n").encode())

        def isatty(self) -> bool:
            return False

    monkeypatch.setattr("sys.stdin", _Stdin())
    assert main(["batch", "-", "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out) == {"line": 1, "name": "in", "decision": "allowed"}


def test_cli_missing_file_and_bad_worker_count(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.jsonl"
    assert main(["batch", str(missing)]) == 1
    assert f"{missing}: error[io.unreadable]:" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["batch", str(missing), "--workers", "0"])
    assert exit_info.value.code == 2
    assert "positive integer" in capsys.readouterr().err


def test_cli_caps_the_errors_shown(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _write(tmp_path / "many.jsonl", ["{"] * 5)
    assert main(["batch", str(src), "--out", str(tmp_path / "o"), "--show-errors", "2"]) == 1
    err = capsys.readouterr().err
    assert err.count("error[json.") == 2
    assert "3 more line errors" in err


def test_cli_dask_without_a_scheduler_is_a_clean_error(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("distributed")
    monkeypatch.setattr("policylang.batch_dask.CONNECT_TIMEOUT", "0.5s")
    src = _write(tmp_path / "c.jsonl", [_line(_case("a"))])
    code = main(["batch", str(src), "--out", str(tmp_path / "o"),
                 "--dask", "tcp://127.0.0.1:1"])
    assert code == 1
    err = capsys.readouterr().err
    assert "error[dask.unavailable]" in err
    assert "Traceback" not in err
