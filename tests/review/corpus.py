"""The review corpora: `risky/` (each file with the finding codes it must produce) and `good/`
(well-scoped policies that must produce no warning or error).

A sidecar `NAME.expect` lists one expected finding per line as `CODE LINE:COL` (the statement's
position); `# kind: KIND` and `# account-id: ID` lines set review options. Files named
`*.account.json` are account files, reviewed whole like `policylang review --account`.
Shared by tests/review/test_corpus.py and benchmarks/review_false_positives.py.
"""

from __future__ import annotations

import pathlib
from collections import Counter

import attrs

from policylang.cli.review_cmd import load_policy_file
from policylang.ir import PolicyKind
from policylang.review import Finding, Severity, review_account_file, review_policy

HERE = pathlib.Path(__file__).resolve().parent
RISKY = HERE / "risky"
GOOD = HERE / "good"

Key = tuple[str, int, int]  # (code, line, column)


@attrs.frozen
class Expectation:
    findings: Counter[Key]
    kind: PolicyKind | None = None
    account_ids: tuple[str, ...] = ()


def policy_files(directory: pathlib.Path) -> list[pathlib.Path]:
    return sorted(directory.glob("*.json"))


def read_expect(path: pathlib.Path) -> Expectation:
    sidecar = path.with_name(path.name.removesuffix(".json") + ".expect")
    found: Counter[Key] = Counter()
    kind = None
    ids: list[str] = []
    if not sidecar.exists():
        return Expectation(found)
    for raw in sidecar.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            name, _, value = line[1:].partition(":")
            if name.strip() == "kind":
                kind = PolicyKind(value.strip())
            elif name.strip() == "account-id":
                ids.append(value.strip())
            continue
        code, position = line.split()
        row, col = position.split(":")
        found[(code, int(row), int(col))] += 1
    return Expectation(found, kind, tuple(ids))


def review_file(path: pathlib.Path, expect: Expectation) -> list[Finding]:
    if path.name.endswith(".account.json"):
        return review_account_file(path)
    policy = load_policy_file(str(path), expect.kind)
    return review_policy(
        policy, kind=expect.kind, file=str(path), own_accounts=expect.account_ids
    )


def keys(findings: list[Finding], *, minimum: Severity = Severity.INFO) -> Counter[Key]:
    return Counter(
        (f.code, f.line or 0, f.column or 0)
        for f in findings
        if f.severity.rank >= minimum.rank
    )
