"""`policylang review --account FILE --report OUT`: the account review report (HTML, Markdown).

The browser test renders the HTML in headless Chromium and checks the trust-graph picture is
in the rendered DOM and the screenshot is not blank. It skips only when Chromium is absent;
CI must install the Debian packages `chromium` and `graphviz` (for `dot`).
"""

from __future__ import annotations

import pathlib
import re
import shutil
import struct
import subprocess
import zlib

import pytest

from policylang.account import load_environment
from policylang.cli import main
from policylang.review import account_report
from policylang.review.account_report import (
    SENSITIVE_ACTIONS,
    build_account_report,
    principal_reach,
    render_html,
    render_markdown,
)

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
ACCOUNT = HERE / "risky" / "passrole-group-vendor-trust.account.json"
SAMPLE = REPO / "tests" / "unit" / "account" / "data" / "sample.json"
MONTH = REPO / "tests" / "activity" / "data" / "month.jsonl.gz"


def test_reach_is_decided_by_the_engine() -> None:
    env = load_environment([ACCOUNT])
    reach = principal_reach(env)
    assert [r.name for r in reach] == ["user/bob", "role/worker", "role/vendor"]
    bob = reach[0]
    # bob's group policy allows iam:PassRole and ec2:RunInstances on `*`.
    assert bob.allowed == ("iam:PassRole", "ec2:RunInstances")
    assert bob.sensitive == 2
    assert all(r.sensitive == 0 for r in reach[1:])


def test_markdown_report(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "review.md"
    code = main(["review", "--account", str(ACCOUNT), "--report", str(out)])
    _, err = capsys.readouterr()
    assert code == 1  # an error finding (PL202)
    assert f"report written to {out}" in err
    text = out.read_text()
    assert text.startswith("# Account review: passrole-group-vendor-trust.account.json\n")
    assert "| 1 | `user/bob` | 2 | iam:PassRole, ec2:RunInstances |" in text
    assert "```mermaid\nflowchart LR" in text
    # grouped by severity, then by who holds the policy
    errors = text.index("### Errors (1)")
    warnings = text.index("### Warnings (1)")
    assert errors < text.index("#### group/deployers, user/bob") < warnings
    assert warnings < text.index("#### role/vendor") < text.index("PL303 third-party")
    assert f"`{ACCOUNT}:43:11`" in text  # location in the account file
    assert "Fix: require the ExternalId agreed with the third party" in text


def test_html_report_is_self_contained(tmp_path: pathlib.Path) -> None:
    report = build_account_report([ACCOUNT])
    page = render_html(report)
    assert page.startswith("<!DOCTYPE html>")
    assert "<style>" in page
    for external in ("<script", "<link", " src=", "@import", "url("):
        assert external not in page
    hrefs = re.findall(r'href="([^"]*)"', page)
    assert hrefs
    assert all(h.startswith("#") for h in hrefs)
    assert 'class="finding error"' in page
    assert "PL202" in page
    assert "PL303" in page
    if shutil.which("dot"):
        assert page.count("<svg") == 1
        assert "user bob" in page
    else:
        assert '<pre class="mermaid"' in page


def test_html_without_graphviz_falls_back_to_mermaid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(account_report, "render_svg", lambda dot: None)
    page = render_html(build_account_report([ACCOUNT]))
    assert "<svg" not in page
    assert '<pre class="mermaid" id="trust-graph">flowchart LR' in page
    assert "Graphviz (`dot`) is not installed" in page


def test_unused_access_summary_from_cloudtrail(tmp_path: pathlib.Path) -> None:
    report = build_account_report([SAMPLE], cloudtrail=[MONTH])
    assert report.unused is not None
    text = render_markdown(report)
    assert "## Unused access" in text
    assert re.search(r"\| `user/alice` \| 64 \| iam:GetUser, .*\| kms \| s3:GetObject \| kms:\* \|",
                     text)
    page = render_html(report)
    assert '<h2 id="unused">Unused access</h2>' in page
    assert '<a href="#unused">' in page


def test_large_account_gets_a_focused_graph(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(account_report, "FULL_GRAPH_LIMIT", 1)
    report = build_account_report([ACCOUNT])
    assert "the graph shows the 2 with the widest reach" in report.graph_note
    labels = {n.label for n in report.graph.nodes}
    assert labels == {"user bob", "group deployers", "role worker", "lambda.amazonaws.com"}
    edges = {(e.kind, e.label) for e in report.graph.edges}
    assert edges == {("member", ""), ("assume", "trusted (trust policy)")}


def test_report_argument_errors(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["review", "--account", str(ACCOUNT), "--report", str(tmp_path / "x.pdf")]) == 2
    assert "use a .html or .md file name" in capsys.readouterr().err
    assert main(["review", str(ACCOUNT), "--report", str(tmp_path / "x.md")]) == 2
    assert "--report needs --account FILE" in capsys.readouterr().err
    assert main(["review", "--account", str(ACCOUNT), "--from-cloudtrail", "x"]) == 2
    assert "--from-cloudtrail needs --report" in capsys.readouterr().err
    missing = tmp_path / "none.json"
    assert main(["review", "--account", str(missing), "--report", str(tmp_path / "x.md")]) == 1
    err = capsys.readouterr().err
    assert str(missing) in err
    assert "Traceback" not in err


def test_measure_lists_the_sensitive_actions() -> None:
    text = render_markdown(build_account_report([ACCOUNT]))
    assert all(action in text for action, _ in SENSITIVE_ACTIONS)


# ---------------------------------------------------------------------------- the browser


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _chromium_args(exe: str, profile: pathlib.Path) -> list[str]:
    return [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", f"--user-data-dir={profile}", "--window-size=1280,1600"]


def _png_pixels(data: bytes) -> tuple[int, int, int, list[bytes]]:
    """(width, height, bytes per pixel, rows) of an 8-bit RGB/RGBA PNG, unfiltered."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, bpp = 8, b"", 0, 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8
            assert colour in (2, 6)
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if kind == 1:
                line[x] = (line[x] + a) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + b) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[x] = (line[x] + pred) & 0xFF
        rows.append(bytes(line))
        prev = line
    return width, height, bpp, rows


def test_html_report_renders_the_picture_in_chromium(tmp_path: pathlib.Path) -> None:
    exe = _chromium()
    if exe is None:
        pytest.skip("chromium is not installed (CI: apt-get install -y chromium graphviz)")
    assert shutil.which("dot"), "graphviz is not installed (CI: apt-get install -y graphviz)"
    page = tmp_path / "review.html"
    assert main(["review", "--account", str(ACCOUNT), "--report", str(page)]) == 1
    url = page.as_uri()
    dom = subprocess.run(
        [*_chromium_args(exe, tmp_path / "p1"), "--dump-dom", url],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout
    # The picture is in the rendered DOM: an <svg> inside the graph block, with its nodes.
    graph = dom[dom.index('id="trust-graph"'):]
    svg = graph[graph.index("<svg"):graph.index("</svg>")]
    assert svg.count('class="node"') >= 5
    for label in ("user bob", "group deployers", "role vendor", "role worker"):
        assert label in svg
    shot = tmp_path / "shot.png"
    subprocess.run(
        [*_chromium_args(exe, tmp_path / "p2"), f"--screenshot={shot}", url],
        capture_output=True, timeout=120, check=True,
    )
    width, height, bpp, rows = _png_pixels(shot.read_bytes())
    assert (width, height) == (1280, 1600)
    # Not blank: many pixels differ from the page background, with several distinct colours.
    background = rows[0][:bpp]
    inked = sum(1 for row in rows[::8] for x in range(0, len(row), bpp * 8)
                if row[x:x + bpp] != background)
    colours = {row[x:x + 3] for row in rows[::16] for x in range(0, len(row), bpp * 4)}
    assert inked > 500
    assert len(colours) > 20
