"""Third-party parsers stay behind their boundary; package modules import only lower layers."""

from __future__ import annotations

import ast
import pathlib

PKG = pathlib.Path(__file__).parents[2] / "policylang"
ONLY_IN = {"lark": "grammar/", "orjson": "_json.py"}


def imported_roots(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_third_party_parsers_stay_behind_their_boundary() -> None:
    offenders = []
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG).as_posix()
        for lib, home in ONLY_IN.items():
            if lib in imported_roots(path) and not rel.startswith(home):
                offenders.append(f"{rel} imports {lib}; only {home} may")

    assert offenders == []


def test_cli_is_not_imported_by_the_library() -> None:
    offenders = []
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG).as_posix()
        if rel.startswith("cli/") or rel == "__main__.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            module = node.module or "" if isinstance(node, ast.ImportFrom) else ""
            if module.startswith("policylang.cli"):
                offenders.append(rel)

    assert offenders == []
