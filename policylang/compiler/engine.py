"""`Engine`: compile once, decide many requests, with a bounded decision cache.

An engine decides against either one PolicySet (a service that authorizes callers against a
fixed set) or a resolver `request -> PolicySet` (a service with many principals and resources:
the resolver picks the caller's identity policies and the target's resource policy; a shared
`Compiler` compiles each combination once and reuses every lowered document and indexed group).

The cache key is exactly what the decision reads: the compiled set, the caller's type, ARN,
account and unique id, the action, the resource's ARN and account, the request-context entries
whose keys the set's statements read (plus the principal/resource tags when the set reads
derived tag keys). Context keys no statement reads (a timestamp, a request id) do not split the
cache. Results are immutable `EvaluationResult`s shared between hits: treat them (and their
`details` mapping) as read-only.

Thread safety: `decide` reads the engine state once (one attribute), so a concurrent `swap`
takes effect atomically between decisions; cache updates are single dict operations.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from policylang.compiler.build import Compiler
from policylang.compiler.compiled import CompiledPolicySet, principal_facts
from policylang.decision import Decision, EvaluationResult
from policylang.policy_set import PolicySet
from policylang.request import Request

Resolver = Callable[[Request], PolicySet]
_T = TypeVar("_T", EvaluationResult, Decision)
Policies = PolicySet | CompiledPolicySet | Resolver


class _State:
    """What one generation of the engine decides with; replaced whole by `swap`."""

    __slots__ = ("cache", "fixed", "resolver")

    def __init__(
        self, fixed: CompiledPolicySet | None, resolver: Resolver | None, cache: DecisionCache
    ) -> None:
        self.fixed = fixed
        self.resolver = resolver
        self.cache = cache


class CacheGate:
    """Whether looking up the decision cache pays for itself, judged over windows of lookups.

    A lookup costs the cache key (about a third of an uncached decision-only call). When fewer
    than `threshold` of a window of lookups hit (a stream whose requests rarely repeat), the
    gate starts skipping: requests are decided without the cache, except a sample of them
    chosen by content (the resource ARN's hash, so a request that comes back is sampled
    again), which still go through it. When the sample's hit ratio reaches `threshold`, the
    stream repeats again and every request uses the cache; the next `warmup` lookups are not
    judged, since they refill what was not stored while skipping (give the cache's size).
    Sampling by content keeps a skipping gate from locking itself out: the sampled requests
    keep the cache populated, and their repeats are the evidence. Counters are updated
    without a lock: a race only shifts a window by a request.
    """

    __slots__ = (
        "hits", "looked", "sample_window", "skipping", "threshold", "warming", "warmup", "window"
    )

    WINDOW = 4096
    SAMPLE_WINDOW = 512
    SAMPLE_MASK = 7  # one request in eight (by content) while skipping

    def __init__(
        self,
        threshold: float,
        *,
        window: int = WINDOW,
        sample_window: int = SAMPLE_WINDOW,
        warmup: int = 65_536,
    ) -> None:
        self.threshold = threshold
        self.window = window
        self.sample_window = sample_window
        self.warmup = warmup
        self.looked = 0
        self.hits = 0
        self.skipping = False
        self.warming = 0  # lookups left before windows are judged again

    def bypass(self, token: str) -> bool:
        """Decide this request without the cache? `token`: the resource ARN."""
        return self.skipping and hash(token) & self.SAMPLE_MASK != 0

    def record(self, hit: bool) -> None:
        """Count one lookup; at the end of a window, switch mode if the hit ratio says so."""
        if self.warming:
            self.warming -= 1
            return
        self.looked += 1
        if hit:
            self.hits += 1
        if self.looked >= (self.sample_window if self.skipping else self.window):
            paying = self.hits >= self.threshold * self.looked
            if self.skipping and paying:
                self.skipping = False
                self.warming = self.warmup
            elif not self.skipping and not paying:
                self.skipping = True
            self.looked = self.hits = 0


Key = tuple[object, ...]


class DecisionCache:
    """Bounded caches of explained results and of decisions, keyed by `cache_key`, each behind
    a `CacheGate` (when `adaptive`). Used by the `Engine` (one per policy generation) and by
    the batch evaluator (one per process).

    First in, first out. OrderedDict, not dict: evicting a plain dict's oldest key over and
    over makes finding the next oldest slower each time (the dict keeps the holes until it
    resizes), which once cost 40 µs per eviction. `decision` is answered by a cached explained
    result too. Counters: `hits`, `misses` (lookups) and `bypassed` (decided without a lookup).
    """

    __slots__ = (
        "bypassed", "decision_gate", "decisions", "explained", "explained_gate", "hits",
        "misses", "size",
    )

    def __init__(
        self,
        size: int,
        *,
        adaptive: bool = True,
        explained_break_even: float = 0.15,
        decision_break_even: float = 0.3,
        window: int = CacheGate.WINDOW,
        sample_window: int = CacheGate.SAMPLE_WINDOW,
    ) -> None:
        self.size = size
        self.explained: OrderedDict[Key, EvaluationResult] = OrderedDict()
        self.decisions: OrderedDict[Key, Decision] = OrderedDict()
        self.explained_gate: CacheGate | None = None
        self.decision_gate: CacheGate | None = None
        if adaptive:
            self.explained_gate = CacheGate(
                explained_break_even, window=window, sample_window=sample_window, warmup=size
            )
            self.decision_gate = CacheGate(
                decision_break_even, window=window, sample_window=sample_window, warmup=size
            )
        self.hits = 0
        self.misses = 0
        self.bypassed = 0

    def decide(self, compiled: CompiledPolicySet, request: Request) -> EvaluationResult:
        """`compiled.decide(request)`, through the cache of explained results."""
        return self._through(
            compiled, request, self.explained_gate, self.explained, compiled.decide, None
        )

    def decision(self, compiled: CompiledPolicySet, request: Request) -> Decision:
        """`compiled.decision(request)`, through the caches."""
        return self._through(
            compiled, request, self.decision_gate, self.decisions, compiled.decision,
            self.explained,
        )

    def _through(
        self,
        compiled: CompiledPolicySet,
        request: Request,
        gate: CacheGate | None,
        cache: OrderedDict[Key, _T],
        compute: Callable[[Request], _T],
        explained: dict[Key, EvaluationResult] | None,
    ) -> _T:
        """`compute(request)` through `cache` (and, for decisions, the explained results)."""
        if not self.size:
            return compute(request)
        if gate is not None and gate.bypass(request.resource.arn):
            self.bypassed += 1
            return compute(request)
        key = cache_key(compiled, request)
        found: object = cache.get(key)
        if found is None and explained is not None:
            result = explained.get(key)
            if result is not None:
                found = result.decision
        if gate is not None:
            gate.record(found is not None)
        if found is not None:
            self.hits += 1
            return found  # type: ignore[return-value]
        self.misses += 1
        value = compute(request)
        if len(cache) >= self.size:
            # another thread may have evicted it first
            with contextlib.suppress(KeyError):
                cache.popitem(last=False)
        cache[key] = value
        return value

    def clear(self) -> None:
        self.explained.clear()
        self.decisions.clear()

    def __len__(self) -> int:
        return len(self.explained) + len(self.decisions)


class Engine:
    """Decide requests against compiled policies.

    `policies`: a PolicySet, an already compiled set, or a resolver `request -> PolicySet`.
    A resolver should return the same PolicySet object for the same principal and resource
    (compiled sets are memoised by object identity; a fresh object is compiled afresh).
    `cache_size`: maximum number of cached decisions (0 disables the cache).
    `compiler`: share one `Compiler` between engines to share compiled documents.
    `adaptive`: stop consulting the cache for a while when its hit ratio is too low to pay
    for the cache keys (`bypassed` counts the requests decided that way).
    """

    def __init__(
        self,
        policies: Policies,
        *,
        cache_size: int = 65_536,
        compiler: Compiler | None = None,
        adaptive: bool = True,
    ) -> None:
        self.compiler = compiler if compiler is not None else Compiler()
        self.cache_size = cache_size
        self.adaptive = adaptive
        self._retired = [0, 0, 0]  # hits, misses, bypassed of the generations swapped out
        self._state = self._make_state(policies)

    @property
    def hits(self) -> int:
        return self._retired[0] + self._state.cache.hits

    @property
    def misses(self) -> int:
        return self._retired[1] + self._state.cache.misses

    @property
    def bypassed(self) -> int:
        return self._retired[2] + self._state.cache.bypassed

    def _make_state(self, policies: Policies) -> _State:
        # break-even hit ratios (DecisionCache defaults): the key costs about a sixth of an
        # explained decision and a third of a decision-only one (benchmarks/bench_engine.py)
        cache = DecisionCache(self.cache_size, adaptive=self.adaptive)
        if isinstance(policies, CompiledPolicySet):
            return _State(policies, None, cache)
        if isinstance(policies, PolicySet):
            return _State(self.compiler.compile(policies), None, cache)
        return _State(None, policies, cache)

    def swap(self, policies: Policies) -> None:
        """Replace the policies (compiled before the swap); the cache starts empty."""
        state = self._make_state(policies)
        old = self._state.cache
        self._retired = [self._retired[0] + old.hits, self._retired[1] + old.misses,
                         self._retired[2] + old.bypassed]
        self._state = state

    def compiled_for(self, request: Request) -> CompiledPolicySet:
        """The compiled set that decides `request`."""
        state = self._state
        if state.fixed is not None:
            return state.fixed
        assert state.resolver is not None
        return self.compiler.compile(state.resolver(request))

    def decide(self, request: Request) -> EvaluationResult:
        """The decision for one request (== `evaluator.evaluate` on the same policies)."""
        state = self._state
        compiled = state.fixed
        if compiled is None:
            compiled = self.compiler.compile(state.resolver(request))  # type: ignore[misc]
        return state.cache.decide(compiled, request)

    def decision(self, request: Request) -> Decision:
        """Only the decision for one request (== `decide(request).decision`), through the
        cache: a cached explained result answers too, and decisions are cached on their own."""
        state = self._state
        compiled = state.fixed
        if compiled is None:
            compiled = self.compiler.compile(state.resolver(request))  # type: ignore[misc]
        return state.cache.decision(compiled, request)

    def decide_uncached(self, request: Request) -> EvaluationResult:
        """The decision without consulting or filling the cache."""
        return self.compiled_for(request).decide(request)

    def decide_many(self, requests: Iterable[Request]) -> Iterator[EvaluationResult]:
        """Decide a stream of requests lazily, in order."""
        decide = self.decide
        for request in requests:
            yield decide(request)

    def clear_cache(self) -> None:
        self._state.cache.clear()


def cache_key(compiled: CompiledPolicySet, request: Request) -> tuple[object, ...]:
    """Everything `compiled.decide(request)` depends on, as a hashable tuple.

    The compiled set (its serial number), the caller (type, ARN, account, unique id, and its
    tags when the set reads principal tags), the action, the resource (ARN, account, and its
    tags when the set reads resource tags), and the request-context entries the set reads:
    which of them are present (as spelled, in order) and their values.
    """
    facts = principal_facts(request.principal)
    resource = request.resource
    context = request.context
    read: tuple[str, ...] = ()
    values: object = None
    if context:
        read, getter = compiled.projection(tuple(context))
        if getter is not None:
            values = getter(context)
    return (
        compiled.serial,
        facts.tagged_key if compiled.reads_principal_tags else facts.key,
        request.action,
        resource.arn,
        resource.account,
        tuple(resource.tags.items()) if compiled.reads_resource_tags else None,
        read,
        values,
    )
