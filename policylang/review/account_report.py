"""The account review report: findings, widest reach, trust graph, unused access (HTML or MD).

`build_account_report(paths, cloudtrail=...)` reviews every policy of the account files,
measures each principal's reach with the engine, draws the trust graph and (with CloudTrail
logs) summarises unused access; `render_html` / `render_markdown` write one self-contained
document (inline CSS and SVG, no external assets).

Reach measure. For each sensitive action of `SENSITIVE_ACTIONS` (privilege escalation, role
passing, credential creation, code injection, data reads), `who_can` decides with the evaluator
who may perform it on a placeholder resource of each loaded account (a resource no policy
names specifically, so only grants on `*`/wildcards count): the principal's *sensitive* count
is the number of those actions allowed, plus those allowed under conditions. Ties are broken by
the number of distinct Action patterns its identity policies allow (static, from the IR).

The graph. Small environments (at most `FULL_GRAPH_LIMIT` users and roles) get the whole graph
of `policylang.account.graph.build_graph`. Larger ones get a focused graph that stays readable
and cheap: the principals with the widest reach, their groups, and the roles each can assume in
one step (trust and identity policies evaluated by `assume_edges`).
"""

from __future__ import annotations

import datetime
import html
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import attrs

from policylang.account import Environment, Role, load_environment, who_can
from policylang.account.graph import Edge, Graph, Node, build_graph, render_svg, to_dot, to_mermaid
from policylang.account.questions import TrustIndex, all_principals, answer_for, assume_edges
from policylang.account.resolve import Principal, build_question, find_principal, identity_policies
from policylang.activity import UnusedReport, requests_from_cloudtrail, unused_access
from policylang.errors import PolicyLangError
from policylang.ir import Effect
from policylang.review.account import review_account_file
from policylang.review.findings import Finding, Severity
from policylang.review.report import count_by_severity

__all__ = [
    "FULL_GRAPH_LIMIT",
    "SENSITIVE_ACTIONS",
    "AccountReport",
    "Reach",
    "build_account_report",
    "principal_reach",
    "render_html",
    "render_markdown",
]

FULL_GRAPH_LIMIT = 150
FOCUS_PRINCIPALS = 12
MAX_GRAPH_NODES = 80

# (action, placeholder resource; `{a}` is the account id). The resources name nothing real.
SENSITIVE_ACTIONS: tuple[tuple[str, str], ...] = (
    ("iam:PassRole", "arn:aws:iam::{a}:role/policylang-review-any-role"),
    ("iam:CreatePolicyVersion", "arn:aws:iam::{a}:policy/policylang-review-any-policy"),
    ("iam:AttachRolePolicy", "arn:aws:iam::{a}:role/policylang-review-any-role"),
    ("iam:PutUserPolicy", "arn:aws:iam::{a}:user/policylang-review-any-user"),
    ("iam:CreateAccessKey", "arn:aws:iam::{a}:user/policylang-review-any-user"),
    ("iam:UpdateAssumeRolePolicy", "arn:aws:iam::{a}:role/policylang-review-any-role"),
    ("iam:AddUserToGroup", "arn:aws:iam::{a}:group/policylang-review-any-group"),
    ("lambda:UpdateFunctionCode", "arn:aws:lambda:us-east-1:{a}:function:policylang-review"),
    ("ec2:RunInstances", "arn:aws:ec2:us-east-1:{a}:instance/i-0policylangreview"),
    ("s3:GetObject", "arn:aws:s3:::policylang-review-any-bucket/any-object"),
    ("secretsmanager:GetSecretValue",
     "arn:aws:secretsmanager:us-east-1:{a}:secret:policylang-review-AbCdEf"),
    ("kms:Decrypt", "arn:aws:kms:us-east-1:{a}:key/policylang-review-any-key"),
)


@attrs.frozen
class Reach:
    """One principal's reach (see the module docstring for the measure)."""

    principal: str  # ARN
    name: str  # `user/alice`, `role/deploy`
    allowed: tuple[str, ...]  # sensitive actions allowed on any resource
    conditional: tuple[str, ...]  # … allowed only under conditions
    patterns: int  # distinct Action patterns its identity Allow statements name
    findings: int  # review findings (warning or error) in policies it holds

    @property
    def sensitive(self) -> int:
        return len(self.allowed) + len(self.conditional)


@attrs.frozen
class AccountReport:
    title: str
    generated: str
    files: tuple[str, ...]
    findings: tuple[Finding, ...]
    reach: tuple[Reach, ...]  # widest first
    principals: int
    graph: Graph
    graph_note: str
    svg: str | None  # inline SVG text, None without Graphviz
    mermaid: str
    unused: UnusedReport | None = None
    catalogue: str | None = None  # catalogue version when PL6xx ran


def _short(arn: str) -> str:
    """`arn:aws:iam::A:user/path/alice` → `user/alice`."""
    resource = arn.split(":", 5)[-1]
    kind, _, rest = resource.partition("/")
    return f"{kind}/{rest.rsplit('/', 1)[-1]}" if rest else resource


def _holder_name(holder: str) -> str:
    """`user/alice (via group/devs)` → `user/alice`."""
    return holder.split(" (via ", 1)[0]


def _patterns(env: Environment, principal: Principal) -> int:
    found: set[str] = set()
    for doc, _, _ in identity_policies(env, principal):
        for s in doc.statements:
            if s.effect is Effect.ALLOW:
                items = s.action.values.items
                found.update(("NotAction " if s.action.negated else "") + a.lower() for a in items)
    return len(found)


def principal_reach(
    env: Environment,
    findings: Sequence[Finding] = (),
    *,
    actions: Sequence[tuple[str, str]] = SENSITIVE_ACTIONS,
) -> list[Reach]:
    """Every user and role with its reach, widest first (see the module docstring)."""
    allowed: dict[str, list[str]] = {}
    conditional: dict[str, list[str]] = {}
    for account_id in sorted(env.accounts):
        for action, template in actions:
            result = who_can(env, action, template.format(a=account_id))
            for answer in result.answers:
                target = allowed if answer.status == "allowed" else conditional
                bucket = target.setdefault(answer.principal, [])
                if action not in bucket:
                    bucket.append(action)
    counted: dict[str, int] = {}
    for finding in findings:
        if finding.severity is Severity.INFO:
            continue
        for holder in {_holder_name(h) for h in finding.principals}:
            counted[holder] = counted.get(holder, 0) + 1
    out = []
    for principal in all_principals(env):
        arn = principal.display
        name = _short(arn)
        out.append(
            Reach(
                arn,
                name,
                tuple(allowed.get(arn, ())),
                tuple(a for a in conditional.get(arn, ()) if a not in allowed.get(arn, ())),
                _patterns(env, principal),
                counted.get(name, 0),
            )
        )
    out.sort(key=lambda r: (-len(r.allowed), -r.sensitive, -r.patterns, -r.findings, r.name))
    return out


def _focused_graph(env: Environment, focus: Sequence[Reach]) -> Graph:
    """The focus principals, their groups and the roles they assume in one step (evaluated)."""
    wanted = {r.principal for r in focus}
    nodes: dict[str, Node] = {}
    edges: list[Edge] = []
    index = TrustIndex(env)
    for principal in all_principals(env):
        if principal.display not in wanted or principal.arn is None:
            continue
        kind = "user" if principal.user is not None else "role"
        nodes[principal.arn] = Node(principal.arn, _short(principal.arn).replace("/", " "), kind)
        account = env.accounts.get(principal.account or "")
        if principal.user is not None and account is not None:
            for group in account.groups_of(principal.user.name):
                nodes.setdefault(group.arn, Node(group.arn, f"group {group.name}", "group"))
                edges.append(Edge(principal.arn, group.arn, "member"))
        for role, answer in assume_edges(env, index, principal):
            if len(nodes) >= MAX_GRAPH_NODES and role.arn not in nodes:
                break
            nodes.setdefault(role.arn, Node(role.arn, f"role {role.name}", "role"))
            edges.append(Edge(principal.arn, role.arn, "assume", "sts:AssumeRole",
                              answer.status == "conditional"))
        if principal.role is not None:
            _trusted_by(env, index, principal.role, nodes, edges)
    return Graph(tuple(nodes.values()), tuple(edges))


def _trusted_by(env: Environment, index: TrustIndex, role: Role, nodes: dict[str, Node],
                edges: list[Edge]) -> None:
    """Edges into a focus role from whom its trust policy names: users and roles of the
    environment are evaluated (`sts:AssumeRole`); services, providers and accounts are drawn
    as the trust policy names them (their side is not modelled)."""
    for key, pairs in sorted(index.roles.items()):
        if all(r.arn != role.arn for _, r in pairs) or len(nodes) >= MAX_GRAPH_NODES:
            continue
        kind, _, value = key.partition(":")
        who: Principal | None = None
        if kind == "arn" or kind == "role":
            target = value
            if kind == "role":
                account_id, _, name = value.partition(":")
                found = env.accounts.get(account_id)
                entity = found.roles.get(name) if found is not None else None
                target = entity.arn if entity is not None else ""
            try:
                who = find_principal(env, target) if target else None
            except PolicyLangError:  # names someone outside the environment
                who = None
        if who is not None and who.arn is not None:
            answer = answer_for(build_question(env, who, "sts:AssumeRole", role.arn, None))
            if answer.status == "denied":
                continue
            node_kind = "user" if who.user is not None else "role"
            nodes.setdefault(who.arn, Node(who.arn, _short(who.arn).replace("/", " "),
                                           node_kind))
            edges.append(Edge(who.arn, role.arn, "assume", "sts:AssumeRole",
                              answer.status == "conditional"))
            continue
        node_kind = {"svc": "service", "fed": "federated"}.get(kind, "external")
        label = value if kind in ("svc", "fed", "arn") else (
            "anyone (*)" if kind == "*" else f"account {value}" if kind == "acct" else value)
        node_id = f"trust:{key}"
        nodes.setdefault(node_id, Node(node_id, label, node_kind))
        edges.append(Edge(node_id, role.arn, "assume", "trusted (trust policy)", False))


def _inline_svg(svg: bytes) -> str:
    """Graphviz output without the XML prolog and DOCTYPE, ready to inline in HTML."""
    text = svg.decode("utf-8", "replace")
    start = text.find("<svg")
    return text[start:] if start >= 0 else text


def build_account_report(
    paths: Sequence[str | Path],
    *,
    cloudtrail: Sequence[str | Path] = (),
    title: str | None = None,
    env: Environment | None = None,
) -> AccountReport:
    """Review the account files and gather everything the report shows."""
    env = env or load_environment(list(paths))
    findings: list[Finding] = []
    for path in paths:
        findings.extend(review_account_file(path, env=env if len(paths) == 1 else None))
    reach = principal_reach(env, findings)
    total = len(reach)
    if total <= FULL_GRAPH_LIMIT:
        graph = build_graph(env)
        note = "the whole trust and access graph (assume edges evaluated; dashed: conditional)"
    else:
        focus = [r for r in reach if r.sensitive or r.patterns][:FOCUS_PRINCIPALS]
        graph = _focused_graph(env, focus)
        note = (f"{total} users and roles: the graph shows the {len(focus)} with the widest reach, "
                "their groups and the roles each can assume in one step (evaluated; dashed: "
                "conditional). `policylang graph` draws the whole account.")
    svg_bytes = render_svg(to_dot(graph))
    unused = None
    if cloudtrail:
        unused = unused_access(env, requests_from_cloudtrail(cloudtrail, env),
                               include_inactive=False)
    from policylang.review.known import load_catalogue

    catalogue = load_catalogue()
    return AccountReport(
        title=title or "Account review: " + ", ".join(Path(p).name for p in paths),
        generated=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        files=tuple(str(p) for p in paths),
        findings=tuple(findings),
        reach=tuple(reach),
        principals=total,
        graph=graph,
        graph_note=note,
        svg=_inline_svg(svg_bytes) if svg_bytes else None,
        mermaid=to_mermaid(graph),
        unused=unused,
        catalogue=catalogue.version if catalogue is not None else None,
    )


# --------------------------------------------------------------------------------------------
# Grouping shared by both renderings

_ORDER = (Severity.ERROR, Severity.WARNING, Severity.INFO)
_TITLE = {Severity.ERROR: "Errors", Severity.WARNING: "Warnings", Severity.INFO: "Notes"}
TOP_REACH = 25


def _who(finding: Finding) -> str:
    names = sorted({_holder_name(h) for h in finding.principals})
    if not names:
        return finding.policy or "(not attached)"
    if len(names) <= 3:
        return ", ".join(names)
    return ", ".join(names[:3]) + f" and {len(names) - 3} more"


def _grouped(findings: Iterable[Finding]) -> list[tuple[Severity, list[tuple[str, list[Finding]]]]]:
    out = []
    for severity in _ORDER:
        groups: dict[str, list[Finding]] = {}
        for f in findings:
            if f.severity is severity:
                groups.setdefault(_who(f), []).append(f)
        if groups:
            out.append((severity, sorted(groups.items())))
    return out


def _measure_text() -> str:
    names = ", ".join(a for a, _ in SENSITIVE_ACTIONS)
    return (
        "Reach = the number of sensitive actions the principal may perform on any resource, "
        "each decided by the evaluator with who-can on a placeholder resource no policy names "
        f"(so only grants on `*` or wildcards count): {names}. Conditional = allowed only under "
        "conditions. Patterns = distinct Action patterns its identity policies allow (static)."
    )


# --------------------------------------------------------------------------------------------
# HTML

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0;
color:#1d2530;background:#f6f7f9}
main{max-width:1200px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{margin-top:32px;border-bottom:2px solid #d9dde3;
padding-bottom:4px}h3{margin:20px 0 8px}h4{margin:14px 0 6px;font-size:14px}
.meta{color:#5b6573}.cards{display:flex;gap:12px;margin:16px 0}
.card{background:#fff;border:1px solid #d9dde3;border-radius:6px;padding:10px 16px;min-width:110px}
.card b{display:block;font-size:22px}.error b{color:#b42318}.warning b{color:#b54708}
.info b{color:#175cd3}
table{border-collapse:collapse;background:#fff;width:100%;margin:8px 0}
th,td{border:1px solid #d9dde3;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eef1f5}code,pre{font:12px/1.4 ui-monospace,Menlo,Consolas,monospace}
pre{background:#fff;border:1px solid #d9dde3;padding:8px;overflow:auto;white-space:pre-wrap}
.finding{background:#fff;border:1px solid #d9dde3;border-left:4px solid #98a2b3;border-radius:4px;
padding:8px 12px;margin:8px 0}.finding.error{border-left-color:#b42318}
.finding.warning{border-left-color:#f79009}.finding.info{border-left-color:#2e90fa}
.badge{display:inline-block;border-radius:3px;padding:0 6px;font-weight:600;color:#fff;
background:#98a2b3;margin-right:6px}.badge.error{background:#b42318}
.badge.warning{background:#dc6803}.badge.info{background:#1570ef}
.loc{color:#5b6573}.graph{background:#fff;border:1px solid #d9dde3;padding:8px;overflow:auto}
.graph svg{max-width:100%;height:auto}.note{color:#5b6573;font-style:italic}
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _finding_html(f: Finding) -> str:
    sev = f.severity.value
    parts = [
        f'<div class="finding {sev}" id="f-{_e(f.code)}-{f.line or 0}-{f.column or 0}">',
        f'<span class="badge {sev}">{_e(f.code)}</span><b>{_e(f.rule.name)}</b>: '
        f"{_e(f.message)}",
        f'<div class="loc">{_e(f.location())}'
        + (f" · {_e(f.policy)}" if f.policy else "")
        + (f" · statement {_e(f.sid)}" if f.sid else "")
        + "</div>",
        f"<div>Why: {_e(f.rule.why)}</div>",
    ]
    if f.principals and len(f.principals) > 3:
        parts.append(f"<details><summary>held by {len(f.principals)} principals</summary>"
                     f"<div>{_e(', '.join(f.principals))}</div></details>")
    if f.fix is not None:
        body = f.fix.dsl or f.fix.json
        parts.append(f"<div>Fix: {_e(f.fix.description)}</div>")
        if body and f.fix.edit == "replace-statement":
            parts.append(f"<details><summary>suggested statement</summary><pre>{_e(body)}</pre>"
                         "</details>")
    parts.append("</div>")
    return "\n".join(parts)


def render_html(report: AccountReport) -> str:
    """One self-contained HTML page (inline CSS, inline SVG; no scripts, no external assets)."""
    counts = count_by_severity(report.findings)
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(report.title)}</title><style>{_CSS}</style></head><body><main>",
        f"<h1>{_e(report.title)}</h1>",
        f'<div class="meta">generated {_e(report.generated)} from {_e(", ".join(report.files))}'
        f" · {report.principals} users and roles"
        + (f" · action catalogue {_e(report.catalogue)}" if report.catalogue else
           " · no action catalogue (PL6xx not checked)")
        + "</div>",
        '<div class="cards">'
        + "".join(
            f'<div class="card {s.value}"><b>{counts[s.value]}</b>{_TITLE[s]}</div>' for s in _ORDER
        )
        + f'<div class="card"><b>{len(report.graph.nodes)}</b>graph nodes</div></div>',
        '<nav><a href="#reach">Widest reach</a> · <a href="#graph">Trust graph</a> · '
        '<a href="#findings">Findings</a>'
        + (' · <a href="#unused">Unused access</a>' if report.unused else "")
        + "</nav>",
    ]
    out.append('<h2 id="reach">Principals with the widest reach</h2>')
    out.append(f'<p class="note">{_e(_measure_text())}</p>')
    out.append("<table><thead><tr><th>#</th><th>principal</th><th>reach</th>"
               "<th>sensitive actions allowed</th><th>conditional</th><th>patterns</th>"
               "<th>findings</th></tr></thead><tbody>")
    for i, r in enumerate(report.reach[:TOP_REACH], 1):
        out.append(
            f"<tr><td>{i}</td><td><code>{_e(r.name)}</code></td><td>{r.sensitive}</td>"
            f"<td>{_e(', '.join(r.allowed)) or '—'}</td><td>{_e(', '.join(r.conditional)) or '—'}"
            f"</td><td>{r.patterns}</td><td>{r.findings}</td></tr>"
        )
    out.append("</tbody></table>")
    out.append('<h2 id="graph">Trust graph</h2>')
    out.append(f'<p class="note">{_e(report.graph_note)}</p>')
    if report.svg is not None:
        out.append(f'<div class="graph" id="trust-graph">{report.svg}</div>')
    else:
        out.append('<p class="note">Graphviz (`dot`) is not installed, so no picture: the graph '
                   "is given as Mermaid source (paste it into a Mermaid renderer, or install "
                   "graphviz and run the report again).</p>")
        out.append(f'<pre class="mermaid" id="trust-graph">{_e(report.mermaid)}</pre>')
    out.append('<h2 id="findings">Findings</h2>')
    if not report.findings:
        out.append("<p>No findings.</p>")
    for severity, groups in _grouped(report.findings):
        out.append(f"<h3>{_TITLE[severity]} ({sum(len(g) for _, g in groups)})</h3>")
        for who, items in groups:
            out.append(f"<h4>{_e(who)}</h4>")
            out.extend(_finding_html(f) for f in items)
    if report.unused is not None:
        out.extend(_unused_html(report.unused))
    out.append("</main></body></html>")
    return "\n".join(out) + "\n"


def _unused_html(unused: UnusedReport) -> list[str]:
    t = unused.tally
    out = [
        '<h2 id="unused">Unused access</h2>',
        f"<p>Activity {_e(unused.first_event)} … {_e(unused.last_event)}: {t.total} records"
        + (f", {sum(t.unmapped.values())} not mapped" if t.unmapped else "") + ".</p>",
        "<p>Roles never assumed: "
        + (_e(", ".join(_short(r) for r in unused.roles_never_assumed)) or "none") + "</p>",
        "<table><thead><tr><th>principal</th><th>records</th><th>used actions</th>"
        "<th>services granted, never used</th><th>actions never used</th>"
        "<th>patterns never used</th><th>roles never assumed</th></tr></thead><tbody>",
    ]
    for p in unused.principals:
        out.append(
            f"<tr><td><code>{_e(_short(p.principal))}</code></td><td>{p.records}</td>"
            f"<td>{_e(', '.join(p.used_actions))}</td><td>{_e(', '.join(p.unused_services))}</td>"
            f"<td>{_e(', '.join(p.unused_actions))}</td><td>{_e(', '.join(p.unused_patterns))}"
            f"</td><td>{_e(', '.join(_short(r) for r in p.never_assumed))}</td></tr>"
        )
    out.append("</tbody></table>")
    return out


# --------------------------------------------------------------------------------------------
# Markdown


def _md(text: object) -> str:
    return re.sub(r"([|<>])", r"\\\1", str(text)).replace("\n", " ")


def render_markdown(report: AccountReport) -> str:
    """The same report as Markdown; the graph as a Mermaid block (Markdown viewers render it)."""
    counts = count_by_severity(report.findings)
    out = [
        f"# {report.title}",
        "",
        f"Generated {report.generated} from {', '.join(report.files)}; {report.principals} users "
        f"and roles; {counts['error']} errors, {counts['warning']} warnings, {counts['info']} "
        "notes"
        + (f"; action catalogue {report.catalogue}." if report.catalogue
           else "; no action catalogue (PL6xx not checked)."),
        "",
        "## Principals with the widest reach",
        "",
        _measure_text(),
        "",
        "| # | principal | reach | sensitive actions allowed | conditional | patterns | findings |",
        "|---|---|---|---|---|---|---|",
    ]
    for i, r in enumerate(report.reach[:TOP_REACH], 1):
        out.append(f"| {i} | `{r.name}` | {r.sensitive} | {_md(', '.join(r.allowed)) or '—'} | "
                   f"{_md(', '.join(r.conditional)) or '—'} | {r.patterns} | {r.findings} |")
    out += ["", "## Trust graph", "", report.graph_note, "", "```mermaid",
            report.mermaid.rstrip("\n"), "```", "", "## Findings", ""]
    if not report.findings:
        out.append("No findings.")
    for severity, groups in _grouped(report.findings):
        out.append(f"### {_TITLE[severity]} ({sum(len(g) for _, g in groups)})")
        out.append("")
        for who, items in groups:
            out.append(f"#### {who}")
            out.append("")
            for f in items:
                out.append(f"- **{f.code} {f.rule.name}**: {f.message}  ")
                out.append(f"  `{f.location()}`" + (f" · {f.policy}" if f.policy else ""))
                if f.fix is not None:
                    out.append(f"  Fix: {f.fix.description}")
                    body = f.fix.dsl or f.fix.json
                    if body and f.fix.edit == "replace-statement":
                        lang = "" if f.fix.dsl else "json"
                        out += ["", f"  ```{lang}", *("  " + line for line in body.splitlines()),
                                "  ```"]
            out.append("")
    if report.unused is not None:
        u = report.unused
        out += ["## Unused access", "",
                f"Activity {u.first_event} … {u.last_event}: {u.tally.total} records.", "",
                "Roles never assumed: "
                + (", ".join(_short(r) for r in u.roles_never_assumed) or "none"), "",
                "| principal | records | used actions | services never used | actions never used "
                "| patterns never used | roles never assumed |",
                "|---|---|---|---|---|---|---|"]
        for p in u.principals:
            out.append(
                f"| `{_short(p.principal)}` | {p.records} | {_md(', '.join(p.used_actions))} | "
                f"{_md(', '.join(p.unused_services))} | {_md(', '.join(p.unused_actions))} | "
                f"{_md(', '.join(p.unused_patterns))} | "
                f"{_md(', '.join(_short(r) for r in p.never_assumed))} |"
            )
        out.append("")
    return "\n".join(out) + "\n"
