"""The Python examples of docs/engine.md run as written (in order, one namespace), and the
`policylang batch` options the page shows exist."""

from __future__ import annotations

import pathlib
import re

from policylang.cli import build_parser

DOC = pathlib.Path(__file__).resolve().parents[3] / "docs" / "engine.md"


def test_python_examples_run() -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 2
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), namespace)
    assert "engine" in namespace


def test_batch_options_shown_exist() -> None:
    text = DOC.read_text(encoding="utf-8")
    shown = {o for line in re.findall(r"policylang batch[^\n]*(?:\\\n[^\n]*)?", text)
             for o in re.findall(r"\s(--[a-z-]+)", line)}
    assert shown >= {"--workers", "--matched", "--dask", "--cloudtrail", "--account"}
    batch = build_parser()._subparsers._group_actions[0].choices["batch"]  # type: ignore[union-attr]
    known = {o for action in batch._actions for o in action.option_strings}
    assert shown <= known, shown - known
