"""The batch's fast path (policylang.batch) answers exactly as the straightforward one.

The straightforward path reads each line alone with `load_case`, compiles its policies with
`compile_policies` and decides with `decide`; its output line and rendered error are built here,
independently of the batch. The batch (caches by content, the canonical JSON fast decoder, the
plain-value checks of policylang.case, the decision-only path, worker processes)
must write the very same bytes, and report every malformed line with the same code, line and
column.
"""

from __future__ import annotations

import copy
import io
import json
import pathlib
import random
from typing import Any

import pytest

from policylang import batch as batch_module
from policylang._json import NOT_CANONICAL, loads, loads_canonical
from policylang.batch import BatchEvaluator, BatchOptions, Summary, read_lines, run_batch
from policylang.case import (
    checked_case_fields,
    checked_context,
    checked_principal,
    checked_request,
    checked_resource,
    load_case,
)
from policylang.compiler import compile_policies
from policylang.compiler import engine as engine_module
from policylang.errors import PolicyLangError
from policylang.source import Source

ROOT = pathlib.Path(__file__).resolve().parents[2]
NAME = "cases.jsonl"

ALLOW = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "Read", "Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"],
         "Resource": "*"},
        {"Sid": "NoSecrets", "Effect": "Deny", "Action": "s3:*",
         "Resource": "arn:aws:s3:::secrets/*"},
        {"Sid": "Tls", "Effect": "Deny", "Action": "*", "Resource": "*",
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    ],
}
BUCKET = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "Partner", "Effect": "Allow",
                   "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
                   "Action": "s3:GetObject", "Resource": "arn:aws:s3:::shared/*"}],
}
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                   "Action": "sts:AssumeRole"}],
}
NUMBERS = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
                   "Condition": {"NumericLessThan": {"s3:max-keys": 10},
                                 "StringEquals": {"s3:x": 1.5}}}],
}
SCP_ALL = {"Version": "2012-10-17",
           "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
PRINCIPALS = [
    {"type": "user", "arn": "arn:aws:iam::111122223333:user/alice", "account": "111122223333",
     "id": "AIDAALICE", "tags": {"team": "red"}},
    {"type": "user", "arn": "arn:aws:iam::111122223333:user/path/bob"},
    {"type": "assumed-role", "arn": "arn:aws:sts::111122223333:assumed-role/app/s1",
     "session_name": "s1"},
    {"type": "assumed-role", "arn": "arn:aws:sts::444455556666:assumed-role/partner/x"},
    {"type": "root", "arn": "arn:aws:iam::111122223333:root", "tags": None},
    {"type": "service", "arn": "lambda.amazonaws.com", "id": None},
    {"type": "anonymous"},
    {"type": "federated", "arn": "arn:aws:sts::111122223333:federated-user/carol"},
    {"type": "federated", "arn": "accounts.google.com"},
    {"type": "federated", "arn": "arn:aws:iam::111122223333:oidc-provider/example.com"},
]
RESOURCES = [
    {"arn": "arn:aws:s3:::reports/q1.csv"},
    {"arn": "arn:aws:s3:::secrets/key", "account": "111122223333"},
    {"arn": "arn:aws:s3:::shared/doc.txt", "account": "111122223333", "tags": {"c": "d"}},
    {"arn": "*"},
    {"arn": "arn:aws:kms:eu-west-1:111122223333:key/abc", "tags": None},
    {"arn": "arn:aws:iam::111122223333:role/app"},
]
CONTEXTS: list[Any] = [
    None,
    {},
    {"aws:SecureTransport": "true", "aws:SourceIp": "10.0.0.1"},
    {"aws:SecureTransport": "false"},
    {"s3:prefix": ["a/", "b/"], "s3:max-keys": "5", "s3:x": "1.5"},
    {"aws:PrincipalTag/team": "red", "aws:userid": "x"},
]


def _good_case(rng: random.Random, i: int) -> dict[str, Any]:
    principal = copy.deepcopy(rng.choice(PRINCIPALS))
    resource = copy.deepcopy(rng.choice(RESOURCES))
    action = rng.choice(["s3:GetObject", "s3:ListBucket", "s3:PutObject", "sts:AssumeRole",
                         "kms:Decrypt", "iam:GetRole", "STS:assumerole"])
    identity: list[Any] = rng.choice([[ALLOW], [ALLOW, NUMBERS], [], [json.dumps(SCP_ALL)]])
    policies: dict[str, Any] = {"identity": identity}
    if rng.random() < 0.4:
        policies["resource"] = TRUST if action.lower() == "sts:assumerole" else BUCKET
    if rng.random() < 0.2:
        policies["scp"] = [[SCP_ALL], [SCP_ALL, ALLOW]]
    if rng.random() < 0.1:
        policies["boundary"] = SCP_ALL
    request: dict[str, Any] = {"principal": principal, "action": action, "resource": resource}
    context = rng.choice(CONTEXTS)
    if context is not None or rng.random() < 0.5:
        request["context"] = copy.deepcopy(context)
    case: dict[str, Any] = {"policies": policies, "request": request}
    if rng.random() < 0.7:
        case["name"] = f"c{i}" if rng.random() < 0.9 else None
    if rng.random() < 0.3:
        case["expect"] = rng.choice(["allowed", "explicitDeny", "implicitDeny", None])
    return case


def _spoil(case: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """One mistake somewhere in a good case (every one must be reported, never decided)."""
    bad = copy.deepcopy(case)
    req = bad["request"]
    mistakes = [
        lambda: bad.__setitem__("extra", 1),
        lambda: bad.__setitem__("expect", "allow"),
        lambda: bad.__setitem__("expect", 3),
        lambda: bad.__setitem__("name", ["x"]),
        lambda: bad.pop("request"),
        lambda: bad.__setitem__("policies", []),
        lambda: bad["policies"].__setitem__("identity", {}),
        lambda: bad["policies"].__setitem__("scp", [[]]),
        lambda: bad["policies"].__setitem__("resource", [BUCKET]),
        lambda: bad["policies"].__setitem__("identity", [{"Version": "2012-10-17"}]),
        lambda: bad["policies"].__setitem__("identity", [{"Statement": [{"Effect": "Allow"}]}]),
        lambda: bad["policies"].__setitem__("identity", ["{not json"]),
        lambda: req.__setitem__("action", "s3:Get*"),
        lambda: req.__setitem__("action", 7),
        lambda: req.__setitem__("verb", "x"),
        lambda: req["principal"].__setitem__("type", "robot"),
        lambda: req["principal"].__setitem__("type", "role"),
        lambda: req["principal"].__setitem__("arn", "arn:aws:iam::12:user/x"),
        lambda: req["principal"].__setitem__("account", "999999999999"),
        lambda: req["principal"].__setitem__("session_name", "other"),
        lambda: req["principal"].__setitem__("tags", {"a": 1}),
        lambda: req["principal"].__setitem__("nick", "x"),
        lambda: req["resource"].__setitem__("arn", "bucket"),
        lambda: req["resource"].__setitem__("account", "12"),
        lambda: req["resource"].__setitem__("tags", ["x"]),
        lambda: req.__setitem__("context", {"SourceIp": "1"}),
        lambda: req.__setitem__("context", {"aws:a": "1", "AWS:A": "2"}),
        lambda: req.__setitem__("context", {"aws:a": 1}),
        lambda: req.__setitem__("context", {"aws:a b": "1"}),
        lambda: req.__setitem__("context", ["x"]),
    ]
    rng.choice(mistakes)()
    return bad


def _lines(seed: int, n: int) -> list[str]:
    """Good and bad lines, compact and spaced, repeated so that the caches are hit."""
    rng = random.Random(seed)
    goods = [_good_case(rng, i) for i in range(n // 3)]
    out: list[str] = []
    for i in range(n):
        case = rng.choice(goods)
        if rng.random() < 0.2:
            case = _spoil(case, rng)
        spaced = rng.random() < 0.2
        text = json.dumps(case) if spaced else json.dumps(case, separators=(",", ":"))
        roll = rng.random()
        if roll < 0.03:
            text = text[: rng.randrange(1, len(text))]  # truncated: bad JSON
        elif roll < 0.05:
            text = text.replace('"request"', '"request": 1, "request"', 1)  # duplicate key
        elif roll < 0.06:
            text = ""
        elif roll < 0.07:
            text = "[1, 2]"
        elif roll < 0.08:
            text = text.replace("s3:max-keys\":10", "s3:max-keys\":10.0", 1)
        elif roll < 0.09:
            text = text.replace("10", "18446744073709551616", 1)
        elif roll < 0.10:
            text = text.replace('"c', '"\\u00e9c', 1)
        out.append(f"{text}   " if i % 17 == 0 else text)
    return out


def _straightforward(lines: list[str], *, matched: bool) -> tuple[bytes, list[str]]:
    """Each line alone: load_case, compile_policies, decide; output and errors built here."""
    out: list[bytes] = []
    errors: list[str] = []
    for number, line in enumerate(lines, 1):
        data = line.encode("utf-8").strip()
        if not data:
            continue
        name: str | None = None
        try:
            record = loads(data, source=Source(NAME, ""))
            if isinstance(record, dict) and isinstance(record.get("name"), str):
                name = record["name"]
        except PolicyLangError:
            pass
        try:
            case = load_case(data, source_name=NAME)
            result = compile_policies(case.policies).decide(case.request)
        except PolicyLangError as error:
            message = f"{error.message} (at {error.path})" if error.path else error.message
            value: dict[str, Any] = {
                "line": number, "name": name, "error": {"code": error.code, "message": message}
            }
            where = f"{NAME}:{number}"
            if error.span is not None and error.source is not None and error.source.name == NAME:
                where = f"{NAME}:{number + error.span.line - 1}:{error.span.column}"
            text = f"{where}: error[{error.code}]: {message}"
            if error.hint:
                text += f"\n  hint: {error.hint}"
            errors.append(text)
        else:
            value = {"line": number, "name": case.name, "decision": result.decision.value}
            if matched:
                value["matched"] = [
                    {"policy": m.policy, "sid": m.sid, "effect": m.effect.value}
                    for m in result.matched_statements
                ]
            if case.expect is not None:
                value["expect"] = case.expect.value
        out.append(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode() + b"\n")
    return b"".join(out), errors


def _batch(lines: list[str], **kwargs: Any) -> tuple[bytes, list[str], Summary]:
    out = io.BytesIO()
    errors: list[str] = []
    data = ("\n".join(lines) + "\n").encode("utf-8")
    options = BatchOptions(source_name=NAME, matched=kwargs.pop("matched", False),
                           **kwargs.pop("options", {}))
    summary = run_batch(read_lines(io.BytesIO(data)), out, options=options,
                        on_error=errors.append, **kwargs)
    return out.getvalue(), errors, summary


@pytest.mark.parametrize("matched", [False, True])
def test_the_fast_path_writes_what_each_line_alone_gives(matched: bool) -> None:
    lines = _lines(seed=1, n=400)
    expected, expected_errors = _straightforward(lines, matched=matched)
    got, errors, summary = _batch(lines, matched=matched)
    assert summary.errors == len(expected_errors) > 40
    assert summary.decided > 200
    assert got.decode() == expected.decode()
    assert errors == expected_errors


def test_small_caches_and_two_workers_write_the_same_bytes() -> None:
    lines = _lines(seed=2, n=300)
    expected, expected_errors = _straightforward(lines, matched=False)
    small = {"set_cache_size": 2, "decision_cache_size": 3}
    got, errors, _ = _batch(lines, options=small)
    assert got == expected
    assert errors == expected_errors
    for chunk_lines in (1, 7, 64):
        got, errors, _ = _batch(lines, workers=2, chunk_lines=chunk_lines, start_method="fork")
        assert got == expected, chunk_lines
        assert errors == expected_errors


def test_the_conformance_corpus_through_two_workers_matches_each_case_alone() -> None:
    lines: list[str] = []
    for path in sorted((ROOT / "tests" / "conformance").glob("*/*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        for case in data if isinstance(data, list) else [data]:
            case.pop("source", None)
            lines.append(json.dumps(case, separators=(",", ":"), ensure_ascii=False))
    assert len(lines) > 300
    expected, expected_errors = _straightforward(lines, matched=True)
    got, errors, _ = _batch(lines * 2, matched=True, workers=2, chunk_lines=50,
                            start_method="fork")
    first = got.splitlines(keepends=True)[: len(lines)]
    assert b"".join(first) == expected
    assert errors[: len(expected_errors)] == expected_errors


def test_valid_compact_lines_with_object_policies_never_call_load_case(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = random.Random(3)
    cases = [_good_case(rng, i) for i in range(200)]
    lines = [json.dumps(c, separators=(",", ":")) for c in cases
             if all(isinstance(d, dict) for d in c["policies"]["identity"])]
    calls: list[object] = []

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return load_case(*args, **kwargs)

    monkeypatch.setattr(batch_module, "load_case", counting)
    evaluator = BatchEvaluator()
    summary = Summary()
    for number, line in enumerate(lines, 1):
        outcome = evaluator.evaluate_line(number, line.encode(), summary)
        assert outcome is not None
        assert "decision" in outcome.value
    assert len(lines) > 100
    assert calls == []


# --------------------------------------------------------------------------- building blocks


def test_loads_canonical_only_takes_text_that_reencodes_to_itself() -> None:
    assert loads_canonical(b'{"a":[1,2.5,"x"],"b":null}') == {"a": [1, 2.5, "x"], "b": None}
    assert loads_canonical('{"é":"ü"}'.encode()) == {"é": "ü"}
    for text in (b'{"a":1,"a":2}', b'{"a": 1}', b'{"a":1.50}', b'{"a":"\\u00e9"}',
                 b'"\\ud800"', b"18446744073709551616", b"NaN", b"-0", b"{", b"\xff",
                 b'\xef\xbb\xbf{"a":1}', b'{"a":1e400}'):
        assert loads_canonical(text) is NOT_CANONICAL, text


def _stub(**request: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"principal": {"type": "anonymous"}, "action": "s3:GetObject",
                            "resource": {"arn": "*"}}
    base.update(request)
    return {"policies": {}, "request": base}


def _strict(case: dict[str, Any]) -> Any:
    try:
        return load_case(json.dumps(case).encode())
    except PolicyLangError:
        return None


PRINCIPAL_VARIANTS: list[Any] = [
    *PRINCIPALS,
    {"type": "user"}, {"type": "user", "arn": "arn:aws:iam::111122223333:user/"},
    {"type": "user", "arn": "arn:aws:iam::111122223333:user/a/"},
    {"type": "user", "arn": "arn:aws:sts::111122223333:user/a"},
    {"type": "user", "arn": "arn:aws:iam:eu-west-1:111122223333:user/a"},
    {"type": "user", "arn": "arn:aws-cn:iam::111122223333:user/a", "account": "111122223333"},
    {"type": "user", "arn": "arn:aws:iam::111122223333:user/a", "account": "111122223334"},
    {"type": "user", "arn": "arn:aws:iam::111122223333:user/a", "account": None},
    {"type": "user", "arn": "arn:aws:iam::11112222333x:user/a"},
    {"type": "root", "arn": "arn:aws:iam::111122223333:root/x"},
    {"type": "root", "arn": "arn:aws:sts::111122223333:root"},
    {"type": "assumed-role", "arn": "arn:aws:sts::111122223333:assumed-role/r"},
    {"type": "assumed-role", "arn": "arn:aws:sts::111122223333:assumed-role/r//"},
    {"type": "assumed-role", "arn": "arn:aws:sts::111122223333:assumed-role/r/s",
     "session_name": "t"},
    {"type": "assumed-role", "arn": "arn:aws:iam::111122223333:assumed-role/r/s"},
    {"type": "federated"}, {"type": "federated", "arn": "bad name"},
    {"type": "federated", "arn": "accounts.google.com", "account": "111122223333"},
    {"type": "federated", "arn": "arn:aws:sts::111122223333:federated-user/"},
    {"type": "federated", "arn": "arn:aws:sts::111122223333:federated-user/d",
     "session_name": "d"},
    {"type": "federated", "arn": "arn:aws:sts::111122223333:federated-user/d",
     "session_name": "e"},
    {"type": "federated", "arn": "arn:aws:iam::111122223333:saml-provider/x"},
    {"type": "federated", "arn": "arn:aws:iam::111122223333:user/x"},
    {"type": "federated", "arn": "a:federated-user/b"},
    {"type": "service", "arn": "arn:aws:iam::111122223333:root"},
    {"type": "service", "arn": "svc*"}, {"type": "service"},
    {"type": "service", "arn": "ec2.amazonaws.com", "account": "111122223333"},
    {"type": "service", "arn": "ec2.amazonaws.com", "session_name": "x", "id": "y"},
    {"type": "anonymous", "arn": None, "account": None, "session_name": None},
    {"type": "anonymous", "id": "x"}, {"type": "anonymous", "tags": {}},
    {"type": "role", "arn": "arn:aws:iam::111122223333:role/r"}, {"type": "User"},
    {"type": 3}, {"arn": "x"}, {"type": "user", "arn": 5}, "user", None, [],
]


@pytest.mark.parametrize("principal", PRINCIPAL_VARIANTS)
def test_checked_principal_accepts_only_what_load_case_accepts(principal: Any) -> None:
    strict = _strict(_stub(principal=principal))
    fast = checked_principal(principal)
    assert fast == (strict.request.principal if strict is not None else None)


@pytest.mark.parametrize("resource", [
    *RESOURCES, {"arn": "arn:aws:s3:::b", "account": "111122223333"}, {}, {"arn": None},
    {"arn": "arn:aws:s3:::"}, {"arn": "arn:x:s3:::b"}, {"arn": "arn:aws:::b/c"},
    {"arn": "*", "account": None}, {"arn": "*", "tags": {"a": None}}, {"arn": "*", "x": 1},
    {"arn": "arn:aws:sqs:us-east-1:12345678901:q"}, "arn:aws:s3:::b", None,
])
def test_checked_resource_accepts_only_what_load_case_accepts(resource: Any) -> None:
    strict = _strict(_stub(resource=resource))
    assert checked_resource(resource) == (strict.request.resource if strict else None)


@pytest.mark.parametrize("context", [
    *CONTEXTS, {"aws:a": []}, {"aws:a": ["x", 1]}, {":a": "x"}, {"aws:": "x"}, {"aws": "x"},
    {"aws:a\u00a0b": "x"}, {"aws:a\u2028": "x"}, {"aws:a": None}, {"aws:a": "x", "aws:A": "y"},
    "x", 3,
])
def test_checked_context_accepts_only_what_load_case_accepts(context: Any) -> None:
    strict = _strict(_stub(context=context))
    expected = dict(strict.request.context) if strict is not None else None
    fast = checked_context(context)
    assert fast == expected


@pytest.mark.parametrize("case", [
    {"policies": {}, "request": {}}, {"name": None, "policies": {}, "request": {}},
    {"name": "n", "expect": "allowed", "policies": {}, "request": {}},
    {"expect": None, "policies": {}, "request": {}}, {"expect": "Allowed", "policies": {},
                                                      "request": {}},
    {"policies": {}}, {"request": {}}, {"name": 1, "policies": {}, "request": {}},
    {"policies": {}, "request": {}, "source": "x"},
])
def test_checked_case_fields_match_load_case(case: dict[str, Any]) -> None:
    full = dict(case)
    if "request" in full:
        full["request"] = _stub()["request"]
    strict = _strict(full)
    fields = checked_case_fields(full)
    assert fields == ((strict.name, strict.expect) if strict is not None else None)
    if strict is not None:
        assert checked_request(full["request"]) == strict.request


class _DyingReader(batch_module.CaseLineReader):
    """A reader whose process dies on the case named `die` (a crash the parent must report)."""

    def request(self, record: Any, data: bytes, source_name: str) -> Any:
        if record.get("name") == "die":
            import os

            os._exit(3)
        return super().request(record, data, source_name)


def test_a_worker_that_dies_is_a_clean_error_not_a_hang() -> None:
    lines = [json.dumps(_good_case(random.Random(4), i)) for i in range(20)]
    case = json.loads(lines[5])
    case["name"] = "die"
    lines[5] = json.dumps(case)
    with pytest.raises(PolicyLangError) as info:
        _batch(lines, workers=2, chunk_lines=4, start_method="fork",
               reader_factory=_DyingReader)
    assert info.value.code == "batch.worker-died"
    assert "exit code 3" in info.value.message


def test_number_spellings_and_deep_nesting_are_read_as_load_case_reads_them() -> None:
    base = _good_case(random.Random(5), 0)
    base["policies"] = {"identity": [NUMBERS]}
    compact = json.dumps(base, separators=(",", ":"))
    spaced = json.dumps(base)
    lines = [compact, spaced]
    for old, new in (("10", "10.0"), ("10", "1e1"), ("1.5", "1.50"),
                     ("10", "18446744073709551616")):
        lines += [compact.replace(old, new, 1), spaced.replace(old, new, 1)]
    for depth in (150, 254, 255, 256, 300):
        deep = copy.deepcopy(base)
        deep["policies"]["identity"][0]["Statement"][0]["Condition"] = {
            "StringEquals": {"s3:x": json.loads("[" * depth + "]" * depth)}}
        lines += [json.dumps(deep, separators=(",", ":")), json.dumps(deep)]
    lines = lines + lines
    expected, expected_errors = _straightforward(lines, matched=True)
    got, errors, _ = _batch(lines, matched=True)
    assert got == expected
    assert errors == expected_errors
    assert any(b"json.too-deep" in line for line in got.splitlines())
    assert b"internal.error" not in got


def test_one_hot_principal_and_lines_without_one_keep_input_order() -> None:
    # Every line of one principal (one class: the other worker must take its chunks), then
    # lines that name no principal at all (CloudTrail-like: spread by line number), and blanks.
    rng = random.Random(6)
    hot = _good_case(rng, 0)
    lines = []
    for i in range(120):
        case = copy.deepcopy(hot)
        case["name"] = f"hot{i}"
        case["request"]["resource"] = {"arn": f"arn:aws:s3:::reports/{i}"}
        lines.append(json.dumps(case, separators=(",", ":")))
    lines += ['{"name": "x", "policies": {}}', "", "{}", "[]"] * 10
    expected, expected_errors = _straightforward(lines, matched=False)
    for chunk_lines in (3, 16):
        got, errors, summary = _batch(lines, workers=2, chunk_lines=chunk_lines,
                                      start_method="fork")
        assert got == expected
        assert errors == expected_errors
        assert summary.lines == 150


def _documents() -> list[Any]:
    """Policy documents: every bad one of tests/bad that is a JSON object, and those of the
    conformance cases."""
    docs: list[Any] = []
    for path in sorted((ROOT / "tests" / "bad").glob("*.json")):
        if path.name.endswith(".expect.json"):
            continue
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            continue
        if isinstance(doc, dict):
            docs.append(doc)
    for path in sorted((ROOT / "tests" / "conformance").glob("*/*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        for case in data if isinstance(data, list) else [data]:
            policies = case.get("policies", {})
            docs += [d for d in policies.get("identity", []) if isinstance(d, dict)]
            if isinstance(policies.get("resource"), dict):
                docs.append(policies["resource"])
    return docs


def test_documents_read_alone_are_what_load_case_reads_in_a_case() -> None:
    read = 0
    for doc in _documents():
        try:
            text = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
            batch_module.dumps(doc)
        except (TypeError, RecursionError):
            continue  # too deep for the encoder: such lines take load_case (tested above)
        fast = batch_module._parse_object(text)
        stub = _stub()
        stub["policies"] = {"identity": [doc]}
        strict = _strict(stub)
        assert fast == (strict.policies.identity[0].policy if strict is not None else None), doc
        read += fast is not None
    assert read > 200


@pytest.mark.parametrize("matched", [False, True])
def test_bypassing_a_cache_that_does_not_pay_changes_no_answer(
    monkeypatch: pytest.MonkeyPatch, matched: bool
) -> None:
    monkeypatch.setattr(batch_module, "_GATE_WINDOW", 8)
    monkeypatch.setattr(batch_module, "_GATE_SAMPLE_WINDOW", 4)
    monkeypatch.setattr(batch_module, "_DECISION_BREAK_EVEN", 0.9)
    monkeypatch.setattr(batch_module, "_EXPLAINED_BREAK_EVEN", 0.9)
    keys: list[object] = []
    real_key = engine_module.cache_key

    def counting_key(compiled: Any, request: Any) -> tuple[object, ...]:
        keys.append(request)
        return real_key(compiled, request)

    monkeypatch.setattr(engine_module, "cache_key", counting_key)
    lines = _lines(seed=7, n=300)
    expected, expected_errors = _straightforward(lines, matched=matched)
    got, errors, summary = _batch(lines, matched=matched)
    assert got == expected
    assert errors == expected_errors
    assert 0 < len(keys) < summary.decided  # some lines were decided without the cache
