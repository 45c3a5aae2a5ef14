"""How much shorter the DSL is than IAM JSON, over the golden corpus.

    python3 benchmarks/dsl_size.py

For every tests/golden/roundtrip/NAME.json the script prints the canonical DSL size as a
percentage of the same policy pretty-printed as IAM JSON (`format_iam_json`, indented), in
characters and in lines, and the median over the corpus. The target is a median of at most
45 % of the characters. The script checks that each DSL file parses to the JSON's policy.
"""

from __future__ import annotations

import pathlib
import statistics
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # run from a checkout

from policylang.grammar.dsl_to_ir import parse_dsl
from policylang.grammar.ir_to_dsl import format_dsl
from policylang.grammar.ir_to_json import format_iam_json
from policylang.grammar.json_to_ir import parse_iam_json

GOLDEN = pathlib.Path(__file__).resolve().parents[1] / "tests" / "golden" / "roundtrip"
TARGET = 45.0


def measure() -> list[tuple[str, float, float]]:
    rows = []
    for path in sorted(GOLDEN.glob("*.json")):
        policy = parse_iam_json(path.read_text(encoding="utf-8"), source_name=path.name)
        dsl = format_dsl(policy)
        if parse_dsl(dsl) != policy:
            raise SystemExit(f"{path.name}: the DSL does not parse back to the same policy")
        pretty = format_iam_json(policy, pretty=True)
        chars = 100.0 * len(dsl) / len(pretty)
        lines = 100.0 * len(dsl.splitlines()) / len(pretty.splitlines())
        rows.append((path.stem, chars, lines))
    return rows


def main() -> int:
    rows = measure()
    width = max(len(name) for name, _, _ in rows)
    for name, chars, lines in rows:
        print(f"{name:<{width}}  {chars:5.1f} % chars  {lines:5.1f} % lines")
    median_chars = statistics.median(c for _, c, _ in rows)
    median_lines = statistics.median(ln for _, _, ln in rows)
    print(
        f"\n{len(rows)} policies: median DSL size {median_chars:.1f} % of pretty JSON "
        f"characters, {median_lines:.1f} % of its lines (target <= {TARGET:.0f} %)"
    )
    return 0 if median_chars <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
