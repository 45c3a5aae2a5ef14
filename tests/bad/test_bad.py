"""The bad-policy corpus: each `NAME.json` fails with exactly the code, line and column of its
`NAME.expect.json` (`kind` null = structural checks only, as `simulate` applies them)."""

from __future__ import annotations

import json
import pathlib
from typing import Any

import pytest

from policylang.errors import PolicyLangError
from policylang.grammar import parse_iam_json
from policylang.ir import PolicyKind

HERE = pathlib.Path(__file__).parent
CASES = sorted(path.name[: -len(".expect.json")] for path in HERE.glob("*.expect.json"))


def test_the_corpus_is_large_and_complete() -> None:
    assert len(CASES) >= 120
    documents = {
        path.stem for path in HERE.glob("*.json") if not path.name.endswith(".expect.json")
    }
    assert documents == set(CASES)


def _expectation(name: str) -> dict[str, object]:
    expect = json.loads((HERE / f"{name}.expect.json").read_text(encoding="utf-8"))
    assert set(expect) == {"code", "line", "column", "kind"}
    return expect


@pytest.mark.parametrize(
    "located", [True, "statements", False], ids=["located", "statements", "fast"]
)
@pytest.mark.parametrize("name", CASES)
def test_bad_policy_is_rejected_exactly(name: str, located: Any) -> None:
    expect = _expectation(name)
    kind = PolicyKind(expect["kind"]) if expect["kind"] is not None else None
    data = (HERE / f"{name}.json").read_bytes()
    with pytest.raises(PolicyLangError) as caught:
        parse_iam_json(data, source_name=f"{name}.json", kind=kind, located=located)
    error = caught.value
    assert error.span is not None, error.render()
    found = {"code": error.code, "line": error.span.line, "column": error.span.column}
    wanted = {"code": expect["code"], "line": expect["line"], "column": expect["column"]}
    assert found == wanted, error.render()
    # Every message names the file and carries a hint or a path to the field.
    assert error.render().startswith(f"{name}.json:{error.span.line}:{error.span.column}: ")
    assert error.hint or error.path or error.code.startswith("json.")
