"""Batch evaluation: decide a stream of simulation cases (JSON lines), lazily and in bounded memory.

Input: one simulation case (spec/simulation-case.md) per line. Output: one JSON object per input
line, in input order:

    {"line": 7, "name": "alice-reads", "decision": "allowed"}
    {"line": 8, "name": null, "error": {"code": "case.unknown-field", "message": "..."}}

plus `"matched": [{"policy": "identity[0]", "sid": "Read", "effect": "Allow"}, ...]` when asked
for, and `"expect"` when the case states one. Blank lines are skipped. A malformed line is
reported (with its line number), counted, and the run goes on.

How it stays fast (the per-line path does every check `load_case` does, and no more):

* decoding: a line that is compact canonical JSON (what `json.dumps(..., separators=(",",
  ":"))`, orjson or `jq -c` write) is decoded by the C decoder and accepted when it re-encodes
  to the very same bytes (so it held no duplicate key and no odd spelling); any other line is
  decoded by the strict `loads`.
* the top-level fields and the request (principal, action, resource, context) are checked
  from their plain values by `policylang.case.checked_*`, which apply load_case's own rules and
  only ever accept; whatever they do not accept goes through `load_case`, which reports the
  error with its line and column. One `Caller` is kept per distinct principal (the compiler
  memoises its facts per Caller object).
* policies: the `policies` object is keyed by content (a digest of its canonical JSON and
  whether the action makes the resource policy a trust policy); each distinct PolicySet is
  assembled, checked and compiled once, kept in a bounded LRU cache. Its fields (the identity
  list, the SCP levels, ...) and its documents are interned by text, so a managed policy
  shared by many principals is parsed and lowered once and the sets of one principal share
  their identity list.
* deciding: `CompiledPolicySet.decision` (the decision only) unless `matched` is asked for,
  through a bounded decision cache keyed by exactly what the decision depends on
  (`compiler.cache_key`).

A malformed line is always re-read whole by `load_case` so that its error has the true line
and column; a decision-time error is located the same way.

How it stays bounded: lines are read lazily and handled in chunks; only
the `Summary` counters (per action and per principal, so O(distinct names), never O(lines))
grow with the input.

Parallelism: `run_batch(..., workers=N)` starts N worker processes, each with its own caches.
The parent only reads, hands out and writes: it sorts the lines of a window into one class per
worker by the principal's raw text (nothing is decoded), so that a principal's documents,
identity list and compiled sets are mostly built by one worker (each worker's caches then hold
half the principals and hit more often); a worker with room takes a chunk of its own class, or
any other when there is none, so the load stays balanced whatever the lines cost. Output is
written in input order; a bounded number of windows is read ahead. A worker process that dies
is reported (`batch.worker-died`), never waited for. `policylang.batch_dask` does the same on a
Dask cluster (chunks, no affinity).

Extension point: lines are turned into (policies, request) by `CaseLineReader`. Other record
formats — CloudTrail records mapped to requests against a loaded account — implement the
`RecordReader` protocol and are passed as `BatchEvaluator(reader=...)` or
`run_batch(..., reader_factory=...)`; nothing else here assumes the line is a simulation case.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import queue as _queue
import sys
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import IO, Any, Final, Protocol

import attrs

from policylang._json import NOT_CANONICAL, dumps, dumps_bytes, loads, loads_canonical
from policylang.case import (
    checked_case_fields,
    checked_principal,
    checked_request,
    load_case,
)
from policylang.compiler import CompiledPolicySet, Compiler
from policylang.compiler.engine import DecisionCache
from policylang.decision import Decision, EvaluationResult
from policylang.errors import CaseError, PolicyLangError
from policylang.grammar.json_to_ir import parse_iam_json
from policylang.ir import Policy, PolicyKind
from policylang.policy_set import NamedPolicy, PolicySet
from policylang.request import Caller, Request
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
"""Lines per chunk handed to a worker: big enough to amortise the hand-off, small enough that
the last chunks of a run keep every worker busy."""

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
_ABSENT: Final = object()
# The decision cache's gates (compiler.engine.DecisionCache, CacheGate). Break-even: roughly
# what a key costs over what a decision-only (explained) call costs, with some margin.
_DECISION_BREAK_EVEN: Final = 0.2
_EXPLAINED_BREAK_EVEN: Final = 0.1
_GATE_WINDOW: Final = 4096
_GATE_SAMPLE_WINDOW: Final = 512
# A request known to be well-formed, whose parts are replaced one at a time to check a part.
_STUB_REQUEST: Final = {
    "principal": {"type": "anonymous"},
    "action": "s3:GetObject",
    "resource": {"arn": "*"},
}
# Lines that are not compact JSON before the fast decoder is only tried every _RETRY-th line.
_CANONICAL_PATIENCE: Final = 16
_CANONICAL_RETRY: Final = 256


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
    parsing anything; a new document object is read by the unlocated IAM JSON reader (a policy
    given as text by `load_case` in a stub case), and a malformed one sends the whole line
    through `load_case`, which reports the error with its line and column.
    """

    def __init__(self, *, max_documents: int = 8192, max_parts: int = 16_384) -> None:
        self.max_documents = max_documents
        self.max_parts = max_parts
        self._principals: OrderedDict[str, Caller] = OrderedDict()
        # first in, first out; OrderedDict: deleting a plain dict's oldest key again and again
        # makes finding the next oldest ever slower (the dict keeps the holes until it resizes)
        self._parsed: OrderedDict[str, Policy] = OrderedDict()  # document text -> Policy
        # (field, trust, text) -> the field's interned documents (first in, first out)
        self._fields: OrderedDict[tuple[str, bool, str], Any] = OrderedDict()
        self._documents: OrderedDict[tuple[str, PolicyKind, str | None, str], NamedPolicy] = (
            OrderedDict()
        )

    def policies_key(self, record: Mapping[str, Any]) -> object:
        policies = record.get("policies")
        # Canonical text of the policies object: identical content, identical key. A digest
        # keeps the cache small when policies are large.
        digest = hashlib.blake2b(dumps_bytes(policies), digest_size=20).digest()
        return (digest, _is_trust(record))

    def load(self, record: Mapping[str, Any], data: bytes, source_name: str) -> PolicySet:
        built = self._interned_set(record.get("policies"), trust=_is_trust(record))
        if built is None:
            # An unexpected shape or a malformed document: load_case reads the whole line, so
            # that the error names the line and column of the original text.
            return load_case(data, source_name=source_name).policies
        return built

    def _interned_set(self, policies: Any, *, trust: bool) -> PolicySet | None:
        """The PolicySet of a well-shaped `policies` object from interned documents, or None.

        Each field (the identity list, the SCP levels, the resource policy, ...) is looked up
        by its text first: the sets of one principal share its identity list, the sets of one
        resource its resource policy and RCPs.
        """
        if not isinstance(policies, dict) or not policies.keys() <= _POLICY_FIELDS:
            return None
        parts: dict[str, Any] = {}
        for name in ("identity", "session", "scp", "rcp", "resource", "boundary"):
            value = policies.get(name, _ABSENT)
            if value is _ABSENT:
                parts[name] = None if name in ("resource", "boundary") else ()
                continue
            if value is None and name in ("resource", "boundary"):
                parts[name] = None
                continue
            key = (name, trust and name == "resource", dumps(value))
            part = self._fields.get(key)
            if part is None:
                part = self._field(name, value, trust=trust)
                if part is None:
                    return None
                self._fields[key] = part
                if len(self._fields) > self.max_documents:
                    self._fields.popitem(last=False)
            parts[name] = part
        while len(self._documents) > self.max_documents:
            self._documents.popitem(last=False)
        return PolicySet(**parts)

    def _field(self, name: str, value: Any, *, trust: bool) -> Any:
        """One field of `policies` from interned documents (None when malformed)."""
        document = self._document
        if name in ("resource", "boundary"):
            if name == "boundary":
                return document("boundary", PolicyKind.BOUNDARY, None, value)
            kind = PolicyKind.TRUST if trust else PolicyKind.RESOURCE
            return document("resource", kind, "resource", value)
        if not isinstance(value, list):
            return None
        if name in ("identity", "session"):
            kind = PolicyKind.IDENTITY if name == "identity" else PolicyKind.SESSION
            out: list[NamedPolicy] = []
            for i, doc in enumerate(value):
                named = document(f"{name}[{i}]", kind, None, doc)
                if named is None:
                    return None
                out.append(named)
            return tuple(out)
        kind = PolicyKind.SCP if name == "scp" else PolicyKind.RCP
        levels: list[tuple[NamedPolicy, ...]] = []
        for li, level in enumerate(value):
            if not isinstance(level, list) or not level:
                return None
            out = []
            for i, doc in enumerate(level):
                named = document(f"{name}[{li}][{i}]", kind, None, doc)
                if named is None:
                    return None
                out.append(named)
            levels.append(tuple(out))
        return tuple(levels)

    def _document(
        self, label: str, kind: PolicyKind, policy_type: str | None, doc: Any
    ) -> NamedPolicy | None:
        """The interned NamedPolicy of one document (parsed on first sight); None if malformed."""
        if isinstance(doc, dict):
            text = dumps(doc)
            key = (label, kind, policy_type, "o" + text)
        elif isinstance(doc, str):
            text = doc
            key = (label, kind, policy_type, "s" + text)
        else:
            return None
        named = self._documents.get(key)
        if named is not None:
            self._documents.move_to_end(key)
            return named
        # The parse depends on the text only: the same document in another place (another
        # label or kind) is parsed once.
        policy = self._parsed.get(key[3])
        if policy is None:
            policy = _parse_object(text) if isinstance(doc, dict) else _parse_text(doc)
            if policy is None:
                return None
            self._parsed[key[3]] = policy
            if len(self._parsed) > self.max_documents:
                self._parsed.popitem(last=False)
        named = NamedPolicy(label=label, policy=policy, kind=kind, policy_type=policy_type)
        self._documents[key] = named
        return named

    def request(
        self, record: Mapping[str, Any], data: bytes, source_name: str
    ) -> tuple[Request, str | None, Decision | None]:
        # The top-level fields and the request's parts are checked from their plain values
        # with load_case's own rules (policylang.case `checked_*`). Whatever they do not accept
        # goes through load_case: the case with an empty `policies` object (the policies were
        # checked under their key), and on error the whole line, so that the error points at
        # the right column of the original text.
        fields = checked_case_fields(record)
        if fields is not None:
            request = checked_request(record.get("request"), principal_of=self._caller)
            if request is not None:
                return request, fields[0], fields[1]
        reduced = {k: ({} if k == "policies" else v) for k, v in record.items()}
        try:
            case = load_case(dumps(reduced).encode("utf-8"), source_name=source_name)
        except PolicyLangError:
            load_case(data, source_name=source_name)  # raises with the true position
            raise
        return case.request, case.name, case.expect

    def _caller(self, value: Any) -> Caller | None:
        """The checked principal, one `Caller` per distinct content (the compiler memoises
        facts per Caller object), in a bounded cache."""
        if not isinstance(value, dict):
            return None
        key = dumps(value)
        cache = self._principals
        found = cache.get(key)
        if found is not None:
            cache.move_to_end(key)
            return found
        caller = checked_principal(value)
        if caller is not None:
            cache[key] = caller
            if len(cache) > self.max_parts:
                cache.popitem(last=False)
        return caller


def _is_trust(record: Mapping[str, Any]) -> bool:
    request = record.get("request")
    action = request.get("action") if isinstance(request, dict) else None
    return isinstance(action, str) and action.lower() in _TRUST_ACTIONS


def _parse_object(text: str) -> Policy | None:
    """A policy document given as a JSON object (its compact text), read as `load_case` reads
    it (well-formedness only, no save-time rules of a policy type: simulation-case.md); None
    when malformed. The fast unlocated reader builds the same IR as the located one (spans
    aside, which take no part in a decision); errors are left to `load_case` on the line.
    """
    try:
        return parse_iam_json(text, kind=None, located=False)
    except PolicyLangError:
        return None


def _parse_text(text: str) -> Policy | None:
    """A policy given as a string (IAM JSON or DSL text): checked alone by load_case, in a stub
    case; None when malformed."""
    stub = {"policies": {"identity": [text]}, "request": _STUB_REQUEST}
    try:
        return load_case(dumps(stub).encode("utf-8")).policies.identity[0].policy
    except PolicyLangError:
        return None


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
        self._compiler = Compiler(max_sets=1)
        self.compiled = 0  # distinct PolicySets compiled (cache misses)
        self._canonical_misses = 0
        # the decision cache pays for its keys only when requests repeat (CacheGate)
        self._cache = DecisionCache(
            self.options.decision_cache_size,
            explained_break_even=_EXPLAINED_BREAK_EVEN,
            decision_break_even=_DECISION_BREAK_EVEN,
            window=_GATE_WINDOW,
            sample_window=_GATE_SAMPLE_WINDOW,
        )

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
        """One explained decision, through the bounded decision cache."""
        return self._cache.decide(compiled, request)

    def decision(self, compiled: CompiledPolicySet, request: Request) -> Decision:
        """Only the decision (`decide(...).decision`, computed without the explanation)."""
        return self._cache.decision(compiled, request)

    def _decode(self, data: bytes, name: str) -> tuple[Any, bool]:
        """The line's JSON value, and whether its `policies` keep their exact text.

        Compact canonical lines take the fast decoder, and re-encoding any part gives its text
        back. Other lines take the strict `loads`; a number in their policies may then be spelt
        otherwise in the line (`1.50`, `1e2`) than when re-encoded, which the policy reader
        would see. After a run of non-compact lines (spaced output of some tool) the fast
        decoder is tried only now and then, so such input pays almost nothing for it.
        """
        misses = self._canonical_misses
        if misses < _CANONICAL_PATIENCE or not misses % _CANONICAL_RETRY:
            record = loads_canonical(data)
            if record is not NOT_CANONICAL:
                self._canonical_misses = 0
                return record, True
        self._canonical_misses = misses + 1
        record = loads(data, source=Source(name, ""))
        return record, _plain(record)

    def evaluate_line(self, line: int, data: bytes, summary: Summary) -> LineOutcome | None:
        """Decide one input line (None for a blank line); count it in `summary`."""
        data = data.strip()
        if not data:
            return None
        summary.lines += 1
        name = self.options.source_name
        case_name: str | None = None
        try:
            record, exact = self._decode(data, name)
            if not isinstance(record, dict):
                # load_case explains a non-object document with its position
                load_case(data, source_name=name)
                raise CaseError("the case must be a JSON object", source=Source(name, ""))
            raw_name = record.get("name")
            case_name = raw_name if isinstance(raw_name, str) else None
            if exact or not isinstance(self.reader, CaseLineReader):
                compiled = self._compiled(record, data, name)
                request, case_name, expect = self.reader.request(record, data, name)
            else:
                # A non-compact line with numbers (or very deep): the whole line read by
                # load_case, which keeps their text, and compiled apart (not cached by content).
                case = load_case(data, source_name=name)
                compiled = Compiler(max_sets=1).compile(case.policies)
                request, case_name, expect = case.request, case.name, case.expect
            try:
                if self.options.matched:
                    result: EvaluationResult | None = self.decide(compiled, request)
                    assert result is not None
                    decided = result.decision
                else:
                    result = None
                    decided = self.decision(compiled, request)
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
        decision = decided.value
        value: dict[str, Any] = {"line": line, "name": case_name, "decision": decision}
        if result is not None:
            value["matched"] = [
                {"policy": m.policy, "sid": m.sid, "effect": m.effect.value}
                for m in result.matched_statements
            ]
        if expect is not None:
            value["expect"] = expect.value
            if expect is not decided:
                summary.expect_failed += 1
        principal = request.principal
        summary.add(request.action, principal.arn or principal.type.value, decision)
        return LineOutcome(line, value)


def _plain(value: Any) -> bool:
    """Whether a decoded JSON value holds no number and nests at most `_PLAIN_DEPTH` deep.

    Such a value re-encodes to its own text (numbers may be spelt otherwise, `1.50`), and the
    encoder takes it (it refuses very deep nesting, which load_case explains).
    """
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        kind = type(item)
        if kind is dict or kind is list:
            if depth >= _PLAIN_DEPTH:
                return False
            items = item.values() if kind is dict else item
            stack.extend((child, depth + 1) for child in items)
        elif kind is int or kind is float:
            return False
    return True


_PLAIN_DEPTH: Final = 200


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
    parts: list[bytes] = []
    errors: list[str] = []
    for line, data in chunk:
        outcome = evaluator.evaluate_line(line, data, summary)
        if outcome is None:
            continue
        parts.append(dumps_bytes(outcome.value))
        if outcome.error is not None:
            errors.append(outcome.error)
    return ChunkResult(b"\n".join(parts) + b"\n" if parts else b"", errors, summary)


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

ReaderFactory = Callable[[], RecordReader]
"""Builds the record reader of one evaluator (one per worker process); must be picklable
where worker processes are spawned rather than forked."""


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

    `workers > 1` uses that many worker processes (see "local workers" below: each keeps 2
    chunks in flight, and at most 4 windows of 2 x `workers` x `chunk_lines` lines are read
    ahead). `submit` (used by the Dask backend) replaces local evaluation: it takes a chunk and
    returns a function that waits for its `ChunkResult`, with at most `window` chunks in flight
    (default 8). Either way memory stays bounded whatever the input size.
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
        with _Workers(context, workers, options, reader_factory) as pool:
            for output, errors, part_summary, nbytes in pool.run(lines, chunk_lines):
                if output:
                    out.write(output)
                if on_error is not None:
                    for text in errors:
                        on_error(text)
                summary.merge(part_summary)
                bar.update(summary.lines, nbytes)
        return summary
    finally:
        bar.close()


# --------------------------------------------------------------------------- local workers
# Each worker keeps its own caches (documents, identity lists, compiled sets, decisions), and
# most of what they hold belongs to one principal. So a line preferably goes to "its" worker:
# the parent reads a window of lines, sorts them into one class per worker by the principal's
# raw text (nothing is decoded; a new principal joins the class with the fewest lines so far,
# and stays there), and cuts each class into chunks. A worker that
# has room (at most `_QUEUED` chunks in flight) gets the next chunk of its own class, or, when
# there is none, any other chunk: the load stays balanced whatever each line costs, and a
# principal's documents are seldom read twice. Results come back tagged; each window is
# written in input order once complete. Which worker decides a line never changes its output.

_QUEUED: Final = 2
"""Chunks in flight per worker: one being decided, one waiting (no idle gap between them)."""
_WINDOWS: Final = 3
"""Windows read ahead of the one being written (bounded memory; enough for balance)."""
_STICKY_LIMIT: Final = 100_000
"""Principals remembered with their class (then forgotten and learnt again)."""


@attrs.frozen(slots=True)
class _PartResult:
    """A worker's answer for one chunk, compactly: one blob of output, the output length of
    each line (0 for a blank line), the rendered errors by line number, the counts."""

    blob: bytes
    lengths: list[int]
    errors: list[tuple[int, str]]
    summary: Summary


def _evaluate_part(evaluator: BatchEvaluator, part: Chunk) -> _PartResult:
    """Decide (line number, bytes) pairs; one output length per pair, in order."""
    summary = Summary()
    pieces: list[bytes] = []
    lengths: list[int] = []
    errors: list[tuple[int, str]] = []
    for line, data in part:
        outcome = evaluator.evaluate_line(line, data, summary)
        if outcome is None:
            lengths.append(0)
            continue
        text = dumps_bytes(outcome.value) + b"\n"
        pieces.append(text)
        lengths.append(len(text))
        if outcome.error is not None:
            errors.append((line, outcome.error))
    return _PartResult(b"".join(pieces), lengths, errors, summary)


def _worker_loop(
    worker: int,
    tasks: Any,
    results: Any,
    options: BatchOptions,
    reader_factory: ReaderFactory | None,
) -> None:
    """A worker process: decide each (chunk id, chunk) it is sent, until it is sent None."""
    evaluator = BatchEvaluator(
        options, reader=reader_factory() if reader_factory is not None else None
    )
    while True:
        task = tasks.get()
        if task is None:
            break
        chunk_id, chunk = task
        results.put((worker, chunk_id, _evaluate_part(evaluator, chunk)))


def _principal_key(data: bytes) -> bytes | None:
    """The raw text of a case line's principal object (up to its first `}`), or None.

    Searched from the end: the request usually follows the (long) policies. A wrong guess
    (another `"principal"` string) only costs cache hits, never a wrong answer.
    """
    start = data.rfind(b'"principal"')
    if start < 0:
        return None
    end = data.find(b"}", start)
    return data[start:end] if end > 0 else None


@attrs.define
class _Window:
    """Lines read together: where each went (chunk id, position), and the chunks' results."""

    route: list[tuple[int, int]]
    chunks: list[int]
    nbytes: int


class _Workers:
    """N worker processes, each with its own task queue (so that a chunk can go to the worker
    of its class) and one result queue; a worker that dies is an error, not a hang."""

    def __init__(
        self,
        context: Any,
        workers: int,
        options: BatchOptions,
        reader_factory: ReaderFactory | None,
    ) -> None:
        self.count = workers
        self.tasks = [context.Queue() for _ in range(workers)]
        self.results = context.Queue()
        self.processes = [
            context.Process(
                target=_worker_loop,
                args=(w, self.tasks[w], self.results, options, reader_factory),
                daemon=True,
            )
            for w in range(workers)
        ]
        self.in_flight = [0] * workers
        self.sticky: dict[bytes, int] = {}  # principal text -> its class (worker)
        self.assigned = [0] * workers  # lines given to each class so far
        self.pending: list[deque[tuple[int, Chunk]]] = [deque() for _ in range(workers)]
        self.done: dict[int, _PartResult] = {}
        self.next_id = 0

    def __enter__(self) -> _Workers:
        for process in self.processes:
            process.start()
        return self

    def __exit__(self, *exc: object) -> None:
        failed = exc[0] is not None
        for w, process in enumerate(self.processes):
            if failed:
                process.terminate()
            else:
                self.tasks[w].put(None)
        for process in self.processes:
            process.join(timeout=None if not failed else 5)
        for queue in (*self.tasks, self.results):
            queue.close()
            if failed:  # a dead reader never drains its pipe: do not wait for the feeder
                queue.cancel_join_thread()
            else:
                queue.join_thread()

    def run(
        self, lines: Iterable[tuple[int, bytes]], chunk_lines: int
    ) -> Iterator[tuple[bytes, list[str], Summary, int]]:
        """(output, errors, summary, input bytes) of each window of lines, in input order."""
        window_lines = chunk_lines * self.count * _QUEUED
        windows: deque[_Window] = deque()
        batch: Chunk = []
        for item in lines:
            batch.append(item)
            if len(batch) >= window_lines:
                windows.append(self._split(batch, chunk_lines))
                batch = []
                self._dispatch()
                if len(windows) > _WINDOWS:
                    yield self._finish(windows.popleft())
        if batch:
            windows.append(self._split(batch, chunk_lines))
            self._dispatch()
        while windows:
            yield self._finish(windows.popleft())

    def _split(self, batch: Chunk, chunk_lines: int) -> _Window:
        """Sort a window's lines into classes, cut them into pending chunks; its route."""
        count = self.count
        classes: list[Chunk] = [[] for _ in range(count)]
        where: list[tuple[int, int]] = []
        nbytes = 0
        assigned = self.assigned
        sticky = self.sticky
        for item in batch:
            data = item[1]
            nbytes += len(data)
            key = _principal_key(data)
            if key is None:
                group = item[0] % count
            else:
                found = sticky.get(key)
                if found is None:
                    # a new principal joins the class that has had the fewest lines so far
                    found = sticky[key] = assigned.index(min(assigned))
                group = found
            assigned[group] += 1
            where.append((group, len(classes[group])))
            classes[group].append(item)
        if len(sticky) > _STICKY_LIMIT:
            sticky.clear()
        ids: list[list[int]] = []
        chunk_ids: list[int] = []
        for group, members in enumerate(classes):
            own: list[int] = []
            for start in range(0, len(members), chunk_lines):
                chunk_id = self.next_id
                self.next_id += 1
                own.append(chunk_id)
                self.pending[group].append((chunk_id, members[start : start + chunk_lines]))
            ids.append(own)
            chunk_ids.extend(own)
        route = [
            (ids[group][position // chunk_lines], position % chunk_lines)
            for group, position in where
        ]
        return _Window(route, chunk_ids, nbytes)

    def _dispatch(self) -> None:
        """Give each worker with room a chunk: of its own class if any, else another's."""
        for worker in range(self.count):
            while self.in_flight[worker] < _QUEUED:
                queue = self.pending[worker]
                if not queue:
                    queue = max(self.pending, key=len)
                    if not queue:
                        return
                chunk_id, chunk = queue.popleft()
                self.tasks[worker].put((chunk_id, chunk))
                self.in_flight[worker] += 1

    def _finish(self, window: _Window) -> tuple[bytes, list[str], Summary, int]:
        """Wait for a window's chunks (dispatching more meanwhile); merge them in order."""
        for chunk_id in window.chunks:
            while chunk_id not in self.done:
                self._receive()
        results = {chunk_id: self.done.pop(chunk_id) for chunk_id in window.chunks}
        summary = Summary()
        errors: list[tuple[int, str]] = []
        offsets: dict[int, list[int]] = {}
        for chunk_id, result in results.items():
            summary.merge(result.summary)
            errors.extend(result.errors)
            starts = [0]
            for length in result.lengths:
                starts.append(starts[-1] + length)
            offsets[chunk_id] = starts
        errors.sort()
        pieces: list[bytes] = []
        for chunk_id, position in window.route:
            starts = offsets[chunk_id]
            start, end = starts[position], starts[position + 1]
            if end > start:
                pieces.append(results[chunk_id].blob[start:end])
        return b"".join(pieces), [text for _, text in errors], summary, window.nbytes

    def _receive(self) -> None:
        """One result from any worker; a worker that died is an error, not a hang."""
        while True:
            try:
                worker, chunk_id, result = self.results.get(timeout=1.0)
            except _queue.Empty:
                dead = [p for p in self.processes if not p.is_alive()]
                if dead:
                    raise PolicyLangError(
                        f"a batch worker process exited unexpectedly (exit code "
                        f"{dead[0].exitcode})",
                        code="batch.worker-died",
                        source=Source("<batch>", ""),
                        hint="out of memory? try fewer --workers or a smaller --cache-size",
                    ) from None
                continue
            self.done[chunk_id] = result
            self.in_flight[worker] -= 1
            self._dispatch()
            return


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
