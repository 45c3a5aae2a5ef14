"""Golden DSL ↔ IAM JSON pairs and formatter cases.

roundtrip/NAME.json + NAME.policy: the JSON and the DSL build equal IRs, the DSL file is the
canonical formatting of that IR, and the IR survives IAM JSON printing and re-parsing.
format/NAME.in.policy → NAME.out.policy: `format_dsl(parse_dsl(in)) == out`, and `out` is a
fixed point. Regenerate with `--update-golden` (see conftest.py).
"""

from __future__ import annotations

import pathlib

import pytest

from policylang.grammar.dsl_to_ir import parse_dsl
from policylang.grammar.ir_to_dsl import format_dsl
from policylang.grammar.ir_to_json import format_iam_json
from policylang.grammar.json_to_ir import parse_iam_json

HERE = pathlib.Path(__file__).parent
ROUNDTRIP = sorted((HERE / "roundtrip").glob("*.json"))
FORMAT = sorted((HERE / "format").glob("*.in.policy"))


def _read(path: pathlib.Path) -> str:
    return path.read_text(encoding="utf-8")


def test_corpus_is_large_enough() -> None:
    assert len(ROUNDTRIP) >= 80
    assert all(p.with_suffix(".policy").exists() for p in ROUNDTRIP)


@pytest.mark.parametrize("json_path", ROUNDTRIP, ids=lambda p: p.stem)
def test_roundtrip_pair(json_path: pathlib.Path, update_golden: bool) -> None:
    ir = parse_iam_json(_read(json_path), source_name=json_path.name)
    dsl_path = json_path.with_suffix(".policy")
    formatted = format_dsl(ir)
    if update_golden or not dsl_path.exists():
        dsl_path.write_text(formatted, encoding="utf-8")
    dsl_text = _read(dsl_path)

    assert formatted == dsl_text
    assert parse_dsl(dsl_text, source_name=dsl_path.name) == ir
    assert parse_iam_json(format_iam_json(ir), source_name="printed.json") == ir
    assert parse_iam_json(format_iam_json(ir, pretty=False), source_name="compact.json") == ir


@pytest.mark.parametrize("in_path", FORMAT, ids=lambda p: p.name.removesuffix(".in.policy"))
def test_format_case(in_path: pathlib.Path, update_golden: bool) -> None:
    out_path = in_path.with_name(in_path.name.replace(".in.policy", ".out.policy"))
    formatted = format_dsl(parse_dsl(_read(in_path), source_name=in_path.name))
    if update_golden or not out_path.exists():
        out_path.write_text(formatted, encoding="utf-8")
    expected = _read(out_path)

    assert formatted == expected
    again = parse_dsl(expected, source_name=out_path.name)
    assert format_dsl(again) == expected
    assert again == parse_dsl(_read(in_path), source_name=in_path.name)
    assert again.comments == parse_dsl(_read(in_path)).comments
