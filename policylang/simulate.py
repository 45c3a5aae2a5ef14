"""The simulation answer (spec/simulation-case.md): evaluate a case, explain the decision.

In: a `Case` (policylang/case.py reads and checks one, strictly) or anything `load_case`
accepts. `simulate` evaluates it and returns a `SimulationResult`, whose `to_json_value()` is
the answer of the spec; `explain` adds per-statement checks (`StatementInfo`, `ConditionCheck`)
and the resolved context (`ResolvedContextKey`); `render_answer_text` renders an answer for
people.

INVARIANT: a malformed case is a `PolicyLangError`, never a decision. Nothing here decides
anything: the decision procedure is `evaluator.evaluate` (spec/evaluation.md §3). The reader's
names (`Case`, `CaseInput`, `load_case`) are re-exported here, where callers have always
imported them.

Errors: the reader's `case.*` codes (see policylang/case.py); a policy the evaluator rejects
keeps its own error and code, with the case path and its position in the case file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import attrs

from policylang.case import Case as Case
from policylang.case import CaseInput as CaseInput
from policylang.case import load_case as load_case
from policylang.conditions import Context, evaluate_entry, prepare_clause
from policylang.decision import Decision, EvaluationResult, MatchedStatement
from policylang.errors import PolicyLangError
from policylang.evaluator import evaluate, evaluate_set, match_principal
from policylang.ir import ActionSpec, PolicyKind, ResourceSpec, Statement, Values
from policylang.policy_set import NamedPolicy
from policylang.request import ContextValue, Request, derive_context
from policylang.source import Span

__all__ = [
    "DETAIL_SETS",
    "Case",
    "CaseInput",
    "ConditionCheck",
    "ResolvedContextKey",
    "SimulationResult",
    "StatementInfo",
    "load_case",
    "render_answer_text",
    "simulate",
]

DETAIL_SETS: Final = ("scp", "rcp", "boundary", "session", "resource", "identity")
"""The policy sets of the answer's `details`, in the spec's order."""

# Derived keys in AWS's spelling, for the explanation (derive_context lower-cases keys).
_DERIVED_SPELLING: Final = {
    "aws:principalarn": "aws:PrincipalArn",
    "aws:principalaccount": "aws:PrincipalAccount",
    "aws:userid": "aws:userid",
    "aws:username": "aws:username",
    "aws:principaltype": "aws:PrincipalType",
    "aws:resourceaccount": "aws:ResourceAccount",
}


# --------------------------------------------------------------------------- the answer


@attrs.frozen(slots=True)
class ConditionCheck:
    """One condition key of a statement: the operator, the key's value in the request, result.

    `value` is None when the request does not carry the key.
    """

    operator: str
    key: str
    value: ContextValue | None
    holds: bool


@attrs.frozen(slots=True)
class StatementInfo:
    """One statement of one policy, for `--explain` (evaluation.md §10.1, "additionally").

    `matched`: it is one of the statements that decided the outcome. `applies`: principal,
    action, resource and condition all match the request. Each element check is True/False,
    or None where the element plays no part (no Principal outside resource policies and RCPs,
    no Resource in a trust policy, no Condition).
    """

    policy: str
    index: int
    sid: str | None
    effect: str
    span: Span | None
    matched: bool
    applies: bool = False
    principal: bool | None = None
    action: bool = False
    resource: bool | None = None
    condition: bool | None = None
    conditions: tuple[ConditionCheck, ...] = ()


@attrs.frozen(slots=True)
class ResolvedContextKey:
    """A context key as the evaluator saw it; `origin` is `given` or `derived`."""

    key: str
    value: ContextValue
    origin: str


@attrs.frozen(slots=True)
class SimulationResult:
    """The answer to one case (`to_json_value()` is the spec's answer object)."""

    case: Case
    evaluation: EvaluationResult

    @property
    def name(self) -> str | None:
        return self.case.name

    @property
    def decision(self) -> Decision:
        return self.evaluation.decision

    @property
    def expectation_held(self) -> bool | None:
        """True/False when the case has `expect`, None when it does not."""
        if self.case.expect is None:
            return None
        return self.case.expect is self.evaluation.decision

    @property
    def deciding_set(self) -> str | None:
        return self.evaluation.deciding_set

    def details(self) -> dict[str, str | None]:
        """Each policy set's own result, in the spec's key order (None: not involved)."""
        given = self.evaluation.details
        out: dict[str, str | None] = {name: given.get(name) for name in DETAIL_SETS}
        for name, value in given.items():
            out.setdefault(name, value)
        return out

    def matched_statements(self) -> list[dict[str, Any]]:
        return [self._statement_value(m) for m in self.evaluation.matched_statements]

    def _statement_value(self, matched: MatchedStatement) -> dict[str, Any]:
        span = self.case.statement_span(matched.policy, matched.span)
        return {
            "policy": matched.policy,
            "sid": matched.sid,
            "effect": matched.effect.value,
            "span": span.as_dict() if span is not None else None,
        }

    def statements(self) -> list[StatementInfo]:
        """Every statement of every policy in the case: what matched, and what decided."""
        matched = {(m.policy, m.index) for m in self.evaluation.matched_statements}
        request = self.case.request
        ctx = derive_context(request)
        out: list[StatementInfo] = []
        for named in self.case.policies.all_policies():
            for index, statement in enumerate(named.policy.statements):
                out.append(
                    _check_statement(
                        named,
                        index,
                        statement,
                        request,
                        ctx,
                        span=self.case.statement_span(named.label, statement.span),
                        matched=(named.label, index) in matched,
                    )
                )
        return out

    def resolved_context(self) -> list[ResolvedContextKey]:
        """The request context: keys given by the case, then keys derived from it."""
        request = self.case.request
        out = [ResolvedContextKey(k, v, "given") for k, v in request.context.items()]
        given = {k.lower() for k in request.context}
        for key, value in derive_context(request).items():
            if key not in given:
                out.append(ResolvedContextKey(_derived_spelling(key, request), value, "derived"))
        return out

    def to_json_value(self, *, explain: bool = False) -> dict[str, Any]:
        """The answer of spec/simulation-case.md; `explain` adds an `explain` object."""
        answer: dict[str, Any] = {
            "name": self.case.name,
            "decision": self.evaluation.decision.value,
            "matched_statements": self.matched_statements(),
            "missing_context_keys": list(self.evaluation.missing_context_keys),
            "details": self.details(),
        }
        if self.case.expect is not None:
            answer["expect"] = self.case.expect.value
            answer["expect_met"] = self.expectation_held
        if explain:
            answer["explain"] = {
                "deciding_set": self.evaluation.deciding_set,
                "request": _request_value(self.case.request),
                "statements": [_statement_info_value(s) for s in self.statements()],
                "context": [
                    {
                        "key": c.key,
                        "value": c.value if isinstance(c.value, str) else list(c.value),
                        "origin": c.origin,
                    }
                    for c in self.resolved_context()
                ],
            }
        return answer

    def render_text(self, *, explain: bool = False) -> str:
        """A human-readable rendering of the answer (`policylang simulate --format text`)."""
        return render_answer_text(self.to_json_value(explain=explain))


_STAR_ACTION: Final = ActionSpec(Values(("*",)))
_STAR_RESOURCE: Final = ResourceSpec(Values(("*",)))
_WITH_PRINCIPAL: Final = frozenset({PolicyKind.RESOURCE, PolicyKind.TRUST, PolicyKind.RCP})


def _check_statement(
    named: NamedPolicy,
    index: int,
    statement: Statement,
    request: Request,
    ctx: Context,
    *,
    span: Span | None,
    matched: bool,
) -> StatementInfo:
    """Check each element of one statement against the request, through the evaluator itself.

    Action and resource are checked by evaluating variants of the statement with the other
    elements made neutral, so the explanation cannot disagree with the evaluator's matching.
    (The NotPrincipal + permissions-boundary rule of evaluation.md §5.3 is not shown here.)
    """
    with_principal = named.kind in _WITH_PRINCIPAL

    def applies(variant: Statement, *, principal: bool = False) -> bool:
        single = attrs.evolve(named, policy=attrs.evolve(named.policy, statements=(variant,)))
        result = evaluate_set((single,), request, ctx, with_principal=principal)
        return bool(result.allows or result.denies)

    bare = attrs.evolve(statement, condition=None, principal=None)
    resource_neutral = _STAR_RESOURCE if statement.resource is not None else None
    action_ok = applies(attrs.evolve(bare, resource=resource_neutral))
    resource_ok = (
        applies(attrs.evolve(bare, action=_STAR_ACTION)) if statement.resource is not None else None
    )
    principal_ok: bool | None = None
    if with_principal:
        spec = statement.principal
        if spec is None:
            principal_ok = False  # ignored in resource policies (evaluation.md §2.1)
        elif spec.negated:
            principal_ok = (
                match_principal(attrs.evolve(spec, negated=False), request.principal) is None
            )
        else:
            principal_ok = match_principal(spec, request.principal) is not None
    checks: list[ConditionCheck] = []
    for clause in statement.condition or ():
        for entry in prepare_clause(clause, variables_enabled=named.policy.variables_enabled):
            checks.append(
                ConditionCheck(
                    operator=clause.operator,
                    key=entry.key,
                    value=ctx.get(entry.lookup_key),
                    holds=evaluate_entry(entry, ctx),
                )
            )
    condition_ok = all(c.holds for c in checks) if statement.condition is not None else None
    return StatementInfo(
        policy=named.label,
        index=index,
        sid=statement.sid,
        effect=statement.effect.value,
        span=span,
        matched=matched,
        applies=applies(statement, principal=with_principal),
        principal=principal_ok,
        action=action_ok,
        resource=resource_ok,
        condition=condition_ok,
        conditions=tuple(checks),
    )


def _statement_info_value(info: StatementInfo) -> dict[str, Any]:
    return {
        "policy": info.policy,
        "index": info.index,
        "sid": info.sid,
        "effect": info.effect,
        "span": info.span.as_dict() if info.span is not None else None,
        "matched": info.matched,
        "applies": info.applies,
        "principal": info.principal,
        "action": info.action,
        "resource": info.resource,
        "condition": info.condition,
        "conditions": [
            {
                "operator": c.operator,
                "key": c.key,
                "value": c.value if c.value is None or isinstance(c.value, str) else list(c.value),
                "holds": c.holds,
            }
            for c in info.conditions
        ],
    }


def _derived_spelling(key: str, request: Request) -> str:
    if key in _DERIVED_SPELLING:
        return _DERIVED_SPELLING[key]
    for prefix, spelled, tags in (
        ("aws:principaltag/", "aws:PrincipalTag/", request.principal.tags),
        ("aws:resourcetag/", "aws:ResourceTag/", request.resource.tags),
    ):
        if key.startswith(prefix):
            suffix = key[len(prefix) :]
            original = next((t for t in tags if t.lower() == suffix), suffix)
            return spelled + original
    return key


def _request_value(request: Request) -> dict[str, Any]:
    p = request.principal
    same = p.account is not None and p.account == request.resource.account
    return {
        "principal": {"type": p.type.value, "arn": p.arn, "account": p.account},
        "action": request.action,
        "resource": {"arn": request.resource.arn, "account": request.resource.account},
        "same_account": same,
    }


# --------------------------------------------------------------------------- public functions


def simulate(case: Case | CaseInput, *, source_name: str | None = None) -> SimulationResult:
    """Evaluate one simulation case (a `Case` or anything `load_case` accepts).

    Raises:
        PolicyLangError: if the case is malformed (never a deny in disguise).
    """
    loaded = case if isinstance(case, Case) else load_case(case, source_name=source_name)
    try:
        evaluation = evaluate(loaded.policies, loaded.request)
    except PolicyLangError as error:
        # A policy the evaluator cannot use (e.g. an identity statement without Resource):
        # report it where the user wrote it, like the reader's own errors.
        _locate_in_case(error, loaded)
        raise
    return SimulationResult(loaded, evaluation)


def _locate_in_case(error: PolicyLangError, case: Case) -> None:
    """Give an error raised about one of the case's policies the case path and position."""
    for named in case.policies.all_policies():
        if error.source is None or named.policy.source is not error.source:
            continue
        path = f"policies.{named.label}"
        if not error.path:
            error.path = path
        elif not error.path.startswith(path):
            error.path = f"{path}.{error.path}"
        if named.label in case.span_maps and error.span is not None and case.source is not None:
            error.span = case.statement_span(named.label, error.span)
            error.source = case.source
        elif named.label in case.unlocated:
            error.span = None
        return


# --------------------------------------------------------------------------- text rendering


_DECISION_WORDS: Final = {
    "allowed": "ALLOWED",
    "explicitDeny": "DENIED (explicit deny)",
    "implicitDeny": "DENIED (implicit deny: no applicable Allow)",
}


def render_answer_text(answer: Mapping[str, Any]) -> str:
    """Render an answer (`SimulationResult.to_json_value()`) for people; explains if it can.

    Works from the JSON value alone, so an answer read back from a file renders the same way.
    """
    decision = str(answer.get("decision"))
    lines = [f"{answer.get('name') or '<unnamed case>'}: {_DECISION_WORDS.get(decision, decision)}"]
    explain = answer.get("explain")
    if isinstance(explain, Mapping):
        request = explain["request"]
        principal = request["principal"]
        who = principal["type"] + (f" {principal['arn']}" if principal["arn"] else "")
        lines.append(f"  request   {who}")
        resource = request["resource"]
        where = resource["arn"]
        if resource["account"]:
            scope = "same account" if request["same_account"] else "cross-account"
            where += f" (account {resource['account']}, {scope})"
        lines.append(f"            {request['action']} on {where}")
    details = answer.get("details") or {}
    gates = "  ".join(f"{k}={v}" for k, v in details.items() if v is not None)
    lines.append(f"  gates     {gates or '(no policy set involved)'}")
    if isinstance(explain, Mapping) and explain.get("deciding_set"):
        lines.append(f"  decided   by the {explain['deciding_set']} policies")
    matched = answer.get("matched_statements") or []
    label = "  matched   "
    for m in matched:
        lines.append(label + _statement_text(m["policy"], m["sid"], m["effect"], m["span"]))
        label = "            "
    if not matched:
        lines.append("  matched   no statement")
    missing = answer.get("missing_context_keys") or []
    if missing:
        lines.append(f"  missing   {', '.join(missing)} (not in the request context)")
    if "expect" in answer:
        verdict = "held" if answer.get("expect_met") else "NOT MET"
        lines.append(f"  expect    {answer['expect']}: {verdict}")
    if isinstance(explain, Mapping):
        lines.append("  statements (* = decided the outcome):")
        for s in explain["statements"]:
            mark = "*" if s["matched"] else " "
            where = f"{s['policy']} #{s['index']}"
            lines.append(f"    {mark} " + _statement_text(where, s["sid"], s["effect"], s["span"]))
            if "applies" in s:
                lines.append("        " + _checks_text(s))
            for c in s.get("conditions", ()):
                value = c["value"]
                shown = (
                    "(absent)"
                    if value is None
                    else value
                    if isinstance(value, str)
                    else "[" + ", ".join(value) + "]"
                )
                verdict = "holds" if c["holds"] else "fails"
                lines.append(f"          {c['operator']} {c['key']}: {shown} -> {verdict}")
        if not explain["statements"]:
            lines.append("      (no statements)")
        lines.append("  context:")
        for c in explain["context"]:
            value = c["value"] if isinstance(c["value"], str) else "[" + ", ".join(c["value"]) + "]"
            suffix = "  (derived)" if c["origin"] == "derived" else ""
            lines.append(f"    {c['key']} = {value}{suffix}")
        if not explain["context"]:
            lines.append("    (empty)")
    return "\n".join(lines)


def _checks_text(statement: Mapping[str, Any]) -> str:
    words = {True: "yes", False: "no"}
    parts = [
        f"{element} {words[statement[element]]}"
        for element in ("principal", "action", "resource", "condition")
        if statement.get(element) is not None
    ]
    applies = "applies" if statement["applies"] else "does not apply"
    return f"{applies}: " + ", ".join(parts)


def _statement_text(policy: str, sid: Any, effect: Any, span: Any) -> str:
    text = f"{policy} {effect}"
    if sid:
        text += f" {sid!r}"
    if isinstance(span, Mapping):
        text += f" at line {span['line']}, column {span['column']}"
    return text
