"""Batch evaluation: decide a stream of simulation cases (JSON lines), lazily and in bounded memory.

Input: one simulation case (spec/simulation-case.md) per line. Output: one JSON object per input
line, in input order:

    {"line": 7, "name": "alice-reads", "decision": "allowed"}
    {"line": 8, "name": null, "error": {"code": "case.unknown-field", "message": "..."}}

plus `"matched": [{"policy": "identity[0]", "sid": "Read", "effect": "Allow"}, ...]` when asked
for, and `"expect"` when the case states one. Blank lines are skipped. A malformed line is
reported (with its line number), counted, and the run goes on.

How it stays fast: many lines share the same policies (the same principal against many
resources). Each line is decoded once; its `policies` object is keyed by content (a digest of
its canonical JSON and whether the action makes the resource policy a trust policy), and each
distinct PolicySet is loaded, checked and compiled once, kept in a bounded LRU cache. Policy
documents are interned by content too, so a managed policy shared by many principals is parsed
and lowered once. The request's parts (principal, resource, context) are checked once per
distinct content. Every check is `load_case`'s own (on the whole line, or on one part in a stub
case); a malformed line is always re-read whole so that its error has the true line and column.
Decisions are also cached (bounded) by exactly what they depend on (`compiler.cache_key`).

How it stays bounded: lines are read lazily and handled in chunks; only the `Summary` counters
(per action and per principal, so O(distinct names), never O(lines)) grow with the input.

Parallelism: `run_batch(..., workers=N)` hands chunks to N worker processes (each keeps its own
compiled-set cache) with a bounded window of chunks in flight, and writes results in input
order. `policylang.batch_dask` does the same on a Dask cluster.

Extension point: lines are turned into (policies, request) by `CaseLineReader`. Other record
formats — CloudTrail records mapped to requests against a loaded account — implement the
`RecordReader` protocol and are passed as `BatchEvaluator(reader=...)` or
`run_batch(..., reader_factory=...)`; nothing else here assumes the line is a simulation case.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import sys
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import IO, Any, Final, Protocol

import attrs

from policylang._json import dumps, loads
from policylang.compiler import CompiledPolicySet, Compiler, cache_key
from policylang.decision import Decision, EvaluationResult
from policylang.errors import CaseError, PolicyLangError
from policylang.ir import PolicyKind
from policylang.policy_set import NamedPolicy, PolicySet
from policylang.request import Request
from policylang.simulate import load_case
from policylang.source import Source

__all__ = [
    "DEFAULT_CHUNK_LINES",
    "BatchEvaluator",
    "BatchOptions",
    "CaseLineReader",
    "ChunkResult",
    "LineOutcome",
    "ReaderFactory",
    "RecordReader",
    "Summary",
    "decide_lines",
    "evaluate_chunk",
    "iter_chunks",
    "read_lines",
    "run_batch",
]

DEFAULT_CHUNK_LINES: Final = 256
"""Lines per chunk handed to a worker: big enough to amortise the hand-off, small for latency."""

# Actions for which the resource policy is the target role's trust policy (simulation-case.md).
_TRUST_ACTIONS: Final = frozenset(
    {
        "sts:assumerole",
        "sts:assumerolewithsaml",
        "sts:assumerolewithwebidentity",
        "sts:tagsession",
        "sts:setsourceidentity",
    }
)
_DECISION_NAMES: Final = tuple(d.value for d in Decision)
_POLICY_FIELDS: Final = frozenset({"identity", "resource", "boundary", "session", "scp", "rcp"})
_REQUEST_FIELDS: Final = frozenset({"principal", "action", "resource", "context"})
# A request known to be well-formed, whose parts are replaced one at a time to check a part.
_STUB_REQUEST: Final = {
    "principal": {"type": "anonymous"},
    "action": "s3:GetObject",
    "resource": {"arn": "*"},
}
_UNKNOWN: Final = object()


# --------------------------------------------------------------------------- options, summary


@attrs.frozen(slots=True)
class BatchOptions:
    """What a batch run computes.

    `matched`: add the matched statement labels to each output line.
    `set_cache_size`: compiled PolicySets kept (LRU) per evaluator (per worker process).
    `decision_cache_size`: decisions kept (first in, first out; 0 disables).
    `compiler_memo_size`: lowered documents + statement groups kept for sharing between sets.
    `source_name`: the input's name in error messages (`-` is shown as `<stdin>`).
    """

    matched: bool = False
    set_cache_size: int = 1024
    decision_cache_size: int = 65_536
    compiler_memo_size: int = 50_000
    source_name: str = "<input>"


@attrs.define
class Summary:
    """Counts of a run: decisions overall, by action and by principal; errors; expectations.

    Sizes grow with the number of distinct actions and principals, never with the line count.
    """

    lines: int = 0
    errors: int = 0
    expect_failed: int = 0
    decisions: dict[str, int] = attrs.field(factory=lambda: dict.fromkeys(_DECISION_NAMES, 0))
    by_action: dict[str, dict[str, int]] = attrs.field(factory=dict)
    by_principal: dict[str, dict[str, int]] = attrs.field(factory=dict)

    def add(self, action: str, principal: str, decision: str) -> None:
        self.decisions[decision] += 1
        counts = self.by_action.get(action)
        if counts is None:
            counts = self.by_action[action] = dict.fromkeys(_DECISION_NAMES, 0)
        counts[decision] += 1
        counts = self.by_principal.get(principal)
        if counts is None:
            counts = self.by_principal[principal] = dict.fromkeys(_DECISION_NAMES, 0)
        counts[decision] += 1

    def merge(self, other: Summary) -> None:
        """Add another summary's counts to this one (results of another chunk or worker)."""
        self.lines += other.lines
        self.errors += other.errors
        self.expect_failed += other.expect_failed
        for name, count in other.decisions.items():
            self.decisions[name] = self.decisions.get(name, 0) + count
        for mine, theirs in ((self.by_action, other.by_action),
                             (self.by_principal, other.by_principal)):
            for key, counts in theirs.items():
                target = mine.get(key)
                if target is None:
                    mine[key] = dict(counts)
                else:
                    for name, count in counts.items():
                        target[name] = target.get(name, 0) + count

    @property
    def decided(self) -> int:
        return sum(self.decisions.values())

    def to_json_value(self) -> dict[str, Any]:
        """The `--summary-json` document (keys of the maps sorted, for stable diffs)."""
        return {
            "lines": self.lines,
            "decided": self.decided,
            "errors": self.errors,
            "expect_failed": self.expect_failed,
            "decisions": dict(self.decisions),
            "by_action": {k: self.by_action[k] for k in sorted(self.by_action)},
            "by_principal": {k: self.by_principal[k] for k in sorted(self.by_principal)},
        }

    def render_text(self, *, top: int = 10) -> str:
        """A short human summary: totals, then the busiest actions and principals."""
        d = self.decisions
        out = [
            f"{self.lines} lines: {d['allowed']} allowed, {d['explicitDeny']} explicitDeny, "
            f"{d['implicitDeny']} implicitDeny, {self.errors} malformed"
            + (f", {self.expect_failed} expectations failed" if self.expect_failed else "")
        ]
        for title, table in (("action", self.by_action), ("principal", self.by_principal)):
            if not table:
                continue
            busiest = sorted(table.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))[:top]
            out.append(f"by {title} (top {len(busiest)} of {len(table)}):")
            for key, counts in busiest:
                out.append(
                    f"  {key}: {counts['allowed']} allowed, {counts['explicitDeny']} "
                    f"explicitDeny, {counts['implicitDeny']} implicitDeny"
                )
        return "\n".join(out)


# --------------------------------------------------------------------------- reading records


class RecordReader(Protocol):
    """Turns one decoded input record into the policies and request to decide.

    `policies_key` returns a hashable content key for the record's policies (records with equal
    keys must yield equal PolicySets) — the batch compiles each key once; `load` returns the
    PolicySet (only called on a cache miss) and `request` the request; for each record they are
    called in that order (key, load on a miss, request), so a reader may map a record once and
    reuse the mapping for the three calls. Both raise
    `PolicyLangError` for a malformed record. `CaseLineReader` reads simulation cases; a
    CloudTrail reader (records against a loaded account) is the planned second implementation.
    """

    def policies_key(self, record: Mapping[str, Any]) -> object: ...

    def load(self, record: Mapping[str, Any], data: bytes, source_name: str) -> PolicySet: ...

    def request(
        self, record: Mapping[str, Any], data: bytes, source_name: str
    ) -> tuple[Request, str | None, Decision | None]: ...


class CaseLineReader:
    """Reads simulation cases (spec/simulation-case.md), checked exactly as `load_case` does.

    Policy documents are interned by content (with their label and kind): two cases that
    attach the same managed policy get the same `NamedPolicy` object, so a shared `Compiler`
    lowers it once. A PolicySet whose documents have all been seen before is assembled without
    parsing anything; a new document is checked alone by `load_case`, and a malformed one sends
    the whole line through `load_case`, which reports the error with its line and column.
    """

    def __init__(self, *, max_documents: int = 8192, max_parts: int = 16_384) -> None:
        self.max_documents = max_documents
        self.max_parts = max_parts
        self._shapes: dict[tuple[tuple[str, ...], str | None], Decision | None] = {}
        self._actions: set[str] = set()
        self._principals: OrderedDict[str, Any] = OrderedDict()
        self._resources: OrderedDict[str, Any] = OrderedDict()
        self._contexts: OrderedDict[str, Any] = OrderedDict()
        self._documents: OrderedDict[tuple[str, PolicyKind, str | None, str], NamedPolicy] = (
            OrderedDict()
        )

    def policies_key(self, record: Mapping[str, Any]) -> object:
        policies = record.get("policies")
        # Canonical text of the policies object: identical content, identical key. A digest
        # keeps the cache small when policies are large.
        digest = hashlib.blake2b(dumps(policies).encode("utf-8"), digest_size=20).digest()
        return (digest, _is_trust(record))

    def load(self, record: Mapping[str, Any], data: bytes, source_name: str) -> PolicySet:
        policies = record.get("policies")
        slots = _policy_slots(policies, trust=_is_trust(record))
        if slots is None:  # an unexpected shape: load_case reads it (or explains what is wrong)
            return load_case(data, source_name=source_name).policies
        assert isinstance(policies, dict)
        by_label: dict[str, NamedPolicy] = {}
        for label, key in slots.items():
            named = self._documents.get(key)
            if named is None:
                named = self._parse_document(key, _document_at(policies, label))
                if named is None:
                    # A malformed document: read the whole line, so that the error names the
                    # line and column of the original text.
                    return load_case(data, source_name=source_name).policies
                self._documents[key] = named
            else:
                self._documents.move_to_end(key)
            by_label[label] = named
        while len(self._documents) > self.max_documents:
            self._documents.popitem(last=False)
        return _assemble(policies, by_label)

    def _parse_document(self, key: _SlotKey, document: Any) -> NamedPolicy | None:
        """One new document, checked alone by load_case (in a stub case); None if malformed.

        Documents are parsed without regard to their place (simulate applies no save-time
        rules per policy type), so the Policy read here is the one the whole case would give.
        """
        label, kind, policy_type, _text = key
        stub = {"policies": {"identity": [document]}, "request": _STUB_REQUEST}
        try:
            loaded = load_case(dumps(stub).encode("utf-8")).policies.identity[0]
        except PolicyLangError:
            return None
        return NamedPolicy(label=label, policy=loaded.policy, kind=kind, policy_type=policy_type)

    def request(
        self, record: Mapping[str, Any], data: bytes, source_name: str
    ) -> tuple[Request, str | None, Decision | None]:
        fast = self._known_request(record)
        if fast is not None:
            return fast
        # Check everything but the policies (already checked under the same key): the case
        # with an empty `policies` object. On error, re-read the whole line so the error
        # points at the right column of the original text.
        reduced = {k: ({} if k == "policies" else v) for k, v in record.items()}
        try:
            case = load_case(dumps(reduced).encode("utf-8"), source_name=source_name)
        except PolicyLangError:
            load_case(data, source_name=source_name)  # raises with the true position
            raise
        self._remember(record, case.request, case.expect)
        return case.request, case.name, case.expect

    # The request's parts are checked independently by load_case (principal, action, resource,
    # context, and the top-level fields), so each part is remembered once checked, by content,
    # in bounded caches. A line whose parts are all known (or can be checked alone, each with
    # load_case on a stub case) skips the located parse of the whole request.

    def _known_request(
        self, record: Mapping[str, Any]
    ) -> tuple[Request, str | None, Decision | None] | None:
        expect_value = record.get("expect")
        if expect_value is not None and not isinstance(expect_value, str):
            return None
        expect = self._shapes.get((tuple(sorted(record)), expect_value), _UNKNOWN)
        if expect is _UNKNOWN:
            return None
        name = record.get("name")
        if name is not None and not isinstance(name, str):
            return None
        req = record.get("request")
        if not isinstance(req, dict) or not set(req) <= _REQUEST_FIELDS:
            return None
        action = req.get("action")
        if action not in self._actions:
            return None
        caller = self._part(self._principals, "principal", req.get("principal"))
        resource = self._part(self._resources, "resource", req.get("resource"))
        if caller is None or resource is None:
            return None
        context: Mapping[str, Any] | None = {}
        if req.get("context") is not None:
            context = self._part(self._contexts, "context", req.get("context"))
            if context is None:
                return None
        assert isinstance(action, str)
        assert isinstance(expect, Decision | None)
        request = Request(principal=caller, action=action, resource=resource, context=context)
        return request, name, expect

    def _part(self, cache: OrderedDict[str, Any], field: str, value: Any) -> Any:
        """The checked value of one request part, from the cache or checked alone now."""
        if not isinstance(value, dict):
            return None
        key = dumps(value)
        found = cache.get(key)
        if found is not None:
            cache.move_to_end(key)
            return found
        stub = dict(_STUB_REQUEST)
        stub[field] = value
        try:
            checked = load_case(dumps({"policies": {}, "request": stub}).encode("utf-8")).request
        except PolicyLangError:
            return None  # the caller re-reads the whole line and reports the error
        part = {"principal": checked.principal, "resource": checked.resource,
                "context": checked.context}[field]
        cache[key] = part
        if len(cache) > self.max_parts:
            cache.popitem(last=False)
        return part

    def _remember(
        self, record: Mapping[str, Any], request: Request, expect: Decision | None
    ) -> None:
        expect_value = record.get("expect")
        shape = (tuple(sorted(record)), expect_value if isinstance(expect_value, str) else None)
        self._shapes[shape] = expect
        req = record.get("request")
        if not isinstance(req, dict):
            return
        if isinstance(req.get("action"), str) and len(self._actions) < self.max_parts:
            self._actions.add(req["action"])
        for cache, field, part in (
            (self._principals, "principal", request.principal),
            (self._resources, "resource", request.resource),
        ):
            if isinstance(req.get(field), dict):
                cache[dumps(req[field])] = part
                if len(cache) > self.max_parts:
                    cache.popitem(last=False)


def _is_trust(record: Mapping[str, Any]) -> bool:
    request = record.get("request")
    action = request.get("action") if isinstance(request, dict) else None
    return isinstance(action, str) and action.lower() in _TRUST_ACTIONS


_SlotKey = tuple[str, PolicyKind, str | None, str]


def _policy_slots(policies: Any, *, trust: bool) -> dict[str, _SlotKey] | None:
    """label -> content key of every document of a `policies` object of the expected shape.

    None when the shape is not the expected one: then `load_case` reads (and explains) it.
    """
    if not isinstance(policies, dict) or not set(policies) <= _POLICY_FIELDS:
        return None
    slots: dict[str, _SlotKey] = {}

    def add(label: str, doc: Any, kind: PolicyKind, policy_type: str | None = None) -> bool:
        if isinstance(doc, dict):
            text = "o" + dumps(doc)
        elif isinstance(doc, str):
            text = "s" + doc
        else:
            return False
        slots[label] = (label, kind, policy_type, text)
        return True

    for name, kind in (("identity", PolicyKind.IDENTITY), ("session", PolicyKind.SESSION)):
        docs = policies.get(name, [])
        if not isinstance(docs, list):
            return None
        for i, doc in enumerate(docs):
            if not add(f"{name}[{i}]", doc, kind):
                return None
    for name, kind in (("scp", PolicyKind.SCP), ("rcp", PolicyKind.RCP)):
        levels = policies.get(name, [])
        if not isinstance(levels, list):
            return None
        for li, level in enumerate(levels):
            if not isinstance(level, list) or not level:
                return None
            for i, doc in enumerate(level):
                if not add(f"{name}[{li}][{i}]", doc, kind):
                    return None
    resource = policies.get("resource")
    if resource is not None and not add(
        "resource", resource, PolicyKind.TRUST if trust else PolicyKind.RESOURCE, "resource"
    ):
        return None
    boundary = policies.get("boundary")
    if boundary is not None and not add("boundary", boundary, PolicyKind.BOUNDARY):
        return None
    return slots


def _document_at(policies: Mapping[str, Any], label: str) -> Any:
    """The document of a `policies` object at a label such as `scp[1][0]` or `resource`."""
    name, _, rest = label.partition("[")
    value: Any = policies[name]
    for index in rest.rstrip("]").split("][") if rest else ():
        value = value[int(index)]
    return value


def _assemble(policies: Any, by_label: Mapping[str, NamedPolicy]) -> PolicySet:
    """The PolicySet of a well-shaped `policies` object, from its (interned) documents."""
    assert isinstance(policies, dict)
    return PolicySet(
        identity=tuple(
            by_label[f"identity[{i}]"] for i in range(len(policies.get("identity", [])))
        ),
        resource=by_label.get("resource"),
        boundary=by_label.get("boundary"),
        session=tuple(by_label[f"session[{i}]"] for i in range(len(policies.get("session", [])))),
        scp=tuple(
            tuple(by_label[f"scp[{li}][{i}]"] for i in range(len(level)))
            for li, level in enumerate(policies.get("scp", []))
        ),
        rcp=tuple(
            tuple(by_label[f"rcp[{li}][{i}]"] for i in range(len(level)))
            for li, level in enumerate(policies.get("rcp", []))
        ),
    )


# --------------------------------------------------------------------------- one evaluator


@attrs.frozen(slots=True)
class LineOutcome:
    """What one line produced: its output object, and the rendered error when malformed."""

    line: int
    value: dict[str, Any]
    error: str | None = None


class BatchEvaluator:
    """Decides lines one at a time, caching compiled PolicySets by content (bounded LRU).

    One per process: it is not shared between processes (each worker builds its own) and not
    meant for concurrent use from several threads.
    """

    def __init__(
        self, options: BatchOptions | None = None, *, reader: RecordReader | None = None
    ) -> None:
        self.options = options if options is not None else BatchOptions()
        self.reader: RecordReader = reader if reader is not None else CaseLineReader()
        self._sets: OrderedDict[object, CompiledPolicySet] = OrderedDict()
        self._decisions: dict[tuple[object, ...], EvaluationResult] = {}
        self._compiler = Compiler(max_sets=1)
        self.compiled = 0  # distinct PolicySets compiled (cache misses)

    def _compiled(self, record: Mapping[str, Any], data: bytes, name: str) -> CompiledPolicySet:
        key = self.reader.policies_key(record)
        found = self._sets.get(key)
        if found is not None:
            self._sets.move_to_end(key)
            return found
        policies = self.reader.load(record, data, name)
        # The reader interns documents, so the Compiler's identity-keyed memo shares lowered
        # documents and statement groups between sets. That memo only grows: start a new one
        # when it gets large (compiled sets in our cache stay valid; they own their parts).
        stats = self._compiler.stats()
        if stats["groups"] + stats["policies"] > self.options.compiler_memo_size:
            self._compiler = Compiler(max_sets=1)
        compiled = self._compiler.compile(policies)
        self.compiled += 1
        self._sets[key] = compiled
        if len(self._sets) > self.options.set_cache_size:
            self._sets.popitem(last=False)
        return compiled

    def decide(self, compiled: CompiledPolicySet, request: Request) -> EvaluationResult:
        """One decision, through the bounded decision cache."""
        if not self.options.decision_cache_size:
            return compiled.decide(request)
        key = cache_key(compiled, request)
        found = self._decisions.get(key)
        if found is not None:
            return found
        result = compiled.decide(request)
        if len(self._decisions) >= self.options.decision_cache_size:
            del self._decisions[next(iter(self._decisions))]  # first in, first out
        self._decisions[key] = result
        return result

    def evaluate_line(self, line: int, data: bytes, summary: Summary) -> LineOutcome | None:
        """Decide one input line (None for a blank line); count it in `summary`."""
        data = data.strip()
        if not data:
            return None
        summary.lines += 1
        name = self.options.source_name
        case_name: str | None = None
        try:
            record = loads(data, source=Source(name, ""))
            if not isinstance(record, dict):
                # load_case explains a non-object document with its position
                load_case(data, source_name=name)
                raise CaseError("the case must be a JSON object", source=Source(name, ""))
            raw_name = record.get("name")
            case_name = raw_name if isinstance(raw_name, str) else None
            compiled = self._compiled(record, data, name)
            request, case_name, expect = self.reader.request(record, data, name)
            try:
                result = self.decide(compiled, request)
            except PolicyLangError:
                # A policy the decision cannot use (found while deciding). The cached document
                # may come from another line: decide this line's own copy to locate the error.
                if isinstance(self.reader, CaseLineReader):
                    fresh = load_case(data, source_name=name)
                    Compiler(max_sets=1).compile(fresh.policies).decide(fresh.request)
                raise
        except PolicyLangError as error:
            summary.errors += 1
            return LineOutcome(
                line,
                {"line": line, "name": case_name,
                 "error": {"code": error.code, "message": _message(error)}},
                _render_at_line(error, name, line, data),
            )
        except Exception as error:  # a policylang bug: one line, never a traceback
            summary.errors += 1
            text = f"internal error: {type(error).__name__}: {error}"
            return LineOutcome(
                line,
                {"line": line, "name": case_name,
                 "error": {"code": "internal.error", "message": text}},
                f"{name}:{line}: error[internal.error]: {text} (please report this bug)",
            )
        decision = result.decision.value
        value: dict[str, Any] = {"line": line, "name": case_name, "decision": decision}
        if self.options.matched:
            value["matched"] = [
                {"policy": m.policy, "sid": m.sid, "effect": m.effect.value}
                for m in result.matched_statements
            ]
        if expect is not None:
            value["expect"] = expect.value
            if expect is not result.decision:
                summary.expect_failed += 1
        principal = request.principal
        summary.add(request.action, principal.arn or principal.type.value, decision)
        return LineOutcome(line, value)


def _message(error: PolicyLangError) -> str:
    return f"{error.message} (at {error.path})" if error.path else error.message


def _render_at_line(error: PolicyLangError, name: str, line: int, data: bytes) -> str:
    """`file:LINE:col: error[code]: message`, the position moved to the line in the input."""
    where = f"{name}:{line}"
    span = error.span
    source = error.source
    # Only a span into this very line has a meaningful column: not one into a nested policy
    # text, nor into another line that held the same (shared, cached) policy document.
    if (
        span is not None
        and source is not None
        and source.name == name
        and (not source.text or source.text.encode("utf-8").strip() == data)
    ):
        where = f"{name}:{line + span.line - 1}:{span.column}"
    text = f"{where}: error[{error.code}]: {_message(error)}"
    if error.hint:
        text += f"\n  hint: {error.hint}"
    return text


# --------------------------------------------------------------------------- chunks


Chunk = list[tuple[int, bytes]]


@attrs.define
class ChunkResult:
    """One chunk's output: the JSON lines (already encoded), the rendered errors, the counts."""

    output: bytes
    errors: list[str]
    summary: Summary


def evaluate_chunk(evaluator: BatchEvaluator, chunk: Chunk) -> ChunkResult:
    """Decide a chunk of (line number, bytes) pairs."""
    summary = Summary()
    parts: list[str] = []
    errors: list[str] = []
    for line, data in chunk:
        outcome = evaluator.evaluate_line(line, data, summary)
        if outcome is None:
            continue
        parts.append(dumps(outcome.value))
        if outcome.error is not None:
            errors.append(outcome.error)
    text = "\n".join(parts)
    return ChunkResult((text + "\n").encode("utf-8") if parts else b"", errors, summary)


def read_lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    """(1-based line number, bytes) pairs, read lazily."""
    yield from enumerate(stream, 1)


def iter_chunks(
    lines: Iterable[tuple[int, bytes]], size: int = DEFAULT_CHUNK_LINES
) -> Iterator[Chunk]:
    chunk: Chunk = []
    for item in lines:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def decide_lines(
    lines: Iterable[str | bytes], options: BatchOptions | None = None
) -> Iterator[dict[str, Any]]:
    """Decide simulation-case lines in this process, lazily: one output object per non-blank line.

    The in-process equivalent of `policylang batch`; a malformed line yields an object with an
    `error` member instead of a `decision`.
    """
    evaluator = BatchEvaluator(options)
    summary = Summary()
    for number, line in enumerate(lines, 1):
        data = line.encode("utf-8") if isinstance(line, str) else line
        outcome = evaluator.evaluate_line(number, data, summary)
        if outcome is not None:
            yield outcome.value


# --------------------------------------------------------------------------- worker processes

_WORKER: BatchEvaluator | None = None

ReaderFactory = Callable[[], RecordReader]
"""Builds the record reader of one evaluator (one per worker process); must be picklable
where worker processes are spawned rather than forked."""


def _worker_init(options: BatchOptions, reader_factory: ReaderFactory | None) -> None:
    global _WORKER
    _WORKER = BatchEvaluator(
        options, reader=reader_factory() if reader_factory is not None else None
    )


def _worker_chunk(chunk: Chunk) -> ChunkResult:
    assert _WORKER is not None, "worker not initialised"
    return evaluate_chunk(_WORKER, chunk)


class _Progress:
    """A one-line carriage-return progress report on stderr (only on a terminal)."""

    def __init__(self, stream: IO[str] | None, total_bytes: int | None) -> None:
        self.stream = stream
        self.total = total_bytes
        self.start = time.monotonic()
        self.last = 0.0
        self.done_bytes = 0

    def update(self, lines: int, nbytes: int) -> None:
        self.done_bytes += nbytes
        if self.stream is None:
            return
        now = time.monotonic()
        if now - self.last < 0.2:
            return
        self.last = now
        rate = lines / max(now - self.start, 1e-9)
        text = f"\r{lines} lines, {rate:,.0f} lines/s"
        if self.total:
            text += f", {100.0 * min(self.done_bytes / self.total, 1.0):5.1f}%"
        self.stream.write(text)
        self.stream.flush()

    def close(self) -> None:
        if self.stream is not None and self.last:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def _counted(chunks: Iterator[Chunk]) -> Iterator[tuple[Chunk, int]]:
    for chunk in chunks:
        yield chunk, sum(len(d) for _, d in chunk)


def run_batch(
    lines: Iterable[tuple[int, bytes]],
    out: IO[bytes],
    *,
    options: BatchOptions | None = None,
    workers: int = 1,
    chunk_lines: int = DEFAULT_CHUNK_LINES,
    on_error: Callable[[str], None] | None = None,
    progress: IO[str] | None = None,
    total_bytes: int | None = None,
    submit: Callable[[Chunk], Callable[[], ChunkResult]] | None = None,
    window: int | None = None,
    reader_factory: ReaderFactory | None = None,
    start_method: str | None = None,
) -> Summary:
    """Decide every line, writing one JSON line each to `out` in input order; return the counts.

    `workers > 1` uses that many worker processes. `submit` (used by the Dask backend) replaces
    local evaluation: it takes a chunk and returns a function that waits for its `ChunkResult`.
    At most `window` chunks are in flight, so memory stays bounded whatever the input size.
    `on_error` receives each rendered error; `progress` (a terminal) gets a progress line.
    `reader_factory` builds each evaluator's `RecordReader` (default: simulation cases).
    `start_method` is the multiprocessing start method (default: forkserver where available).
    """
    options = options if options is not None else BatchOptions()
    summary = Summary()
    bar = _Progress(progress, total_bytes)
    chunks = _counted(iter_chunks(lines, chunk_lines))

    def finish(result: ChunkResult, nbytes: int) -> None:
        if result.output:
            out.write(result.output)
        if on_error is not None:
            for text in result.errors:
                on_error(text)
        summary.merge(result.summary)
        bar.update(summary.lines, nbytes)

    try:
        if submit is None and workers <= 1:
            evaluator = BatchEvaluator(
                options, reader=reader_factory() if reader_factory is not None else None
            )
            for chunk, nbytes in chunks:
                finish(evaluate_chunk(evaluator, chunk), nbytes)
            return summary
        if submit is not None:
            _pipeline(chunks, submit, finish, window or 8)
            return summary
        # forkserver: workers fork from a clean single-threaded server (forking a process that
        # runs threads, e.g. a Dask client, can deadlock), and start fast; else the default.
        if start_method is None and "forkserver" in multiprocessing.get_all_start_methods():
            start_method = "forkserver"
        context = multiprocessing.get_context(start_method)
        if context.get_start_method() == "forkserver":
            context.set_forkserver_preload(["policylang.batch"])
        with context.Pool(
            workers, initializer=_worker_init, initargs=(options, reader_factory)
        ) as pool:

            def local_submit(chunk: Chunk) -> Callable[[], ChunkResult]:
                return pool.apply_async(_worker_chunk, (chunk,)).get

            _pipeline(chunks, local_submit, finish, window or 4 * workers)
        return summary
    finally:
        bar.close()


def _pipeline(
    chunks: Iterator[tuple[Chunk, int]],
    submit: Callable[[Chunk], Callable[[], ChunkResult]],
    finish: Callable[[ChunkResult, int], None],
    window: int,
) -> None:
    """Keep up to `window` chunks in flight; collect them in submission order."""
    pending: deque[tuple[Callable[[], ChunkResult], int]] = deque()
    for chunk, nbytes in chunks:
        pending.append((submit(chunk), nbytes))
        if len(pending) >= window:
            wait, size = pending.popleft()
            finish(wait(), size)
    while pending:
        wait, size = pending.popleft()
        finish(wait(), size)


def default_workers() -> int:
    """The CPUs this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def stderr_if_terminal() -> IO[str] | None:
    """stderr when it is a terminal (for the progress line), else None."""
    return sys.stderr if sys.stderr.isatty() else None
