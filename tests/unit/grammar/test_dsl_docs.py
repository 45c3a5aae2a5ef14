"""Every example in docs/dsl.md parses and survives formatting.

```policy blocks must parse; formatting them must give text that parses to the same policy and
is a fixed point of the formatter. ```policy-error blocks must fail with a PolicyLangError;
```account blocks must parse as account files.
"""

from __future__ import annotations

import pathlib
import re

import pytest

from policylang.errors import PolicyLangError
from policylang.grammar.account_decl import parse_account_dsl
from policylang.grammar.dsl_to_ir import parse_dsl
from policylang.grammar.ir_to_dsl import format_dsl
from policylang.grammar.ir_to_json import format_iam_json
from policylang.grammar.json_to_ir import parse_iam_json

DOC = pathlib.Path(__file__).resolve().parents[3] / "docs" / "dsl.md"
BLOCK = re.compile(r"^```(policy|policy-error|account)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def _blocks(kind: str) -> list[tuple[int, str]]:
    text = DOC.read_text(encoding="utf-8")
    return [
        (text.count("\n", 0, m.start()) + 1, m.group(2))
        for m in BLOCK.finditer(text)
        if m.group(1) == kind
    ]


def test_the_guide_has_examples() -> None:
    assert len(_blocks("policy")) >= 12
    assert _blocks("policy-error")


@pytest.mark.parametrize(("line", "example"), _blocks("policy"), ids=lambda x: str(x)[:12])
def test_example_parses_and_round_trips(line: int, example: str) -> None:
    policy = parse_dsl(example, source_name=f"docs/dsl.md@{line}")
    formatted = format_dsl(policy)

    again = parse_dsl(formatted)
    assert again == policy
    assert format_dsl(again) == formatted
    assert parse_iam_json(format_iam_json(policy)) == policy


@pytest.mark.parametrize(("line", "example"), _blocks("policy-error"), ids=lambda x: str(x)[:12])
def test_error_example_fails(line: int, example: str) -> None:
    with pytest.raises(PolicyLangError):
        parse_dsl(example, source_name=f"docs/dsl.md@{line}")


@pytest.mark.parametrize(("line", "example"), _blocks("account"), ids=lambda x: str(x)[:12])
def test_account_example_parses(line: int, example: str) -> None:
    accounts = parse_account_dsl(example, source_name=f"docs/dsl.md@{line}")

    assert accounts
    assert all(a.account_id for a in accounts)
