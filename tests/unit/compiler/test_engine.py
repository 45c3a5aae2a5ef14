"""Engine: cache keyed on what decisions read, atomic swaps, streaming, resolvers, threads."""

from __future__ import annotations

import threading

from policylang.compiler import Compiler, Engine, cache_key, compile_policies
from policylang.decision import Decision
from policylang.evaluator import evaluate
from policylang.grammar import parse_iam_json
from policylang.ir import PolicyKind
from policylang.policy_set import NamedPolicy, PolicySet
from policylang.request import Caller, PrincipalType, Request, Resource

A = "111122223333"
ALICE = Caller(PrincipalType.USER, f"arn:aws:iam::{A}:user/alice", A, "AIDAALICE", {"team": "blue"})
BOB = Caller(PrincipalType.USER, f"arn:aws:iam::{A}:user/bob", A, "AIDABOB", {"team": "red"})


def identity(text: str, label: str = "identity[0]") -> PolicySet:
    policy = NamedPolicy(label, parse_iam_json(text), PolicyKind.IDENTITY)
    return PolicySet(identity=(policy,))


TEAM_READ = identity("""{"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*",
     "Condition": {"StringEquals": {"aws:PrincipalTag/team": "blue"},
                   "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}]}""")
ALLOW_ALL = identity('{"Version": "2012-10-17", "Statement": '
                     '[{"Effect": "Allow", "Action": "*", "Resource": "*"}]}')


def request(caller: Caller = ALICE, **context: str) -> Request:
    return Request(caller, "s3:GetObject", Resource("arn:aws:s3:::b/k", A),
                   {"aws:SourceIp": "10.1.2.3", **context})


def test_cache_hits_return_the_same_answer() -> None:
    engine = Engine(TEAM_READ)
    first = engine.decide(request())
    second = engine.decide(request())
    assert first == evaluate(TEAM_READ, request())
    assert first.decision is Decision.ALLOWED
    assert second is first
    assert (engine.hits, engine.misses) == (1, 1)


def test_cache_key_ignores_unread_context_but_not_read_keys() -> None:
    engine = Engine(TEAM_READ)
    compiled = engine.compiled_for(request())
    # aws:CurrentTime is read by no statement: it does not split the cache
    assert cache_key(compiled, request(**{"aws:CurrentTime": "2026-01-01T00:00:00Z"})) == \
        cache_key(compiled, request(**{"aws:CurrentTime": "2026-01-02T00:00:00Z"}))
    assert engine.decide(request(**{"aws:CurrentTime": "1"})) is engine.decide(
        request(**{"aws:CurrentTime": "2"}))
    # aws:SourceIp is read: another value is another decision
    outside = Request(ALICE, "s3:GetObject", Resource("arn:aws:s3:::b/k", A),
                      {"aws:SourceIp": "203.0.113.1"})
    assert engine.decide(outside).decision is Decision.IMPLICIT_DENY
    assert engine.decide(outside) == evaluate(TEAM_READ, outside)
    # principal tags are read (aws:PrincipalTag/team): bob is decided on his own tags
    assert engine.decide(request(BOB)).decision is Decision.IMPLICIT_DENY


def test_swap_replaces_policies_and_cache() -> None:
    engine = Engine(TEAM_READ)
    assert engine.decide(request(BOB)).decision is Decision.IMPLICIT_DENY
    engine.swap(ALLOW_ALL)
    assert engine.decide(request(BOB)).decision is Decision.ALLOWED
    engine.swap(compile_policies(TEAM_READ))
    assert engine.decide(request(BOB)).decision is Decision.IMPLICIT_DENY


def test_decide_many_streams_in_order() -> None:
    engine = Engine(TEAM_READ)
    reqs = [request(), request(BOB), request(), request(**{"aws:SourceIp": "1.2.3.4"})]
    results = engine.decide_many(iter(reqs))
    assert next(results) == evaluate(TEAM_READ, reqs[0])  # lazy: one at a time
    assert list(results) == [evaluate(TEAM_READ, r) for r in reqs[1:]]


def test_resolver_engine_shares_compiled_sets() -> None:
    per_caller = {ALICE.arn: TEAM_READ, BOB.arn: ALLOW_ALL}
    compiler = Compiler()
    engine = Engine(lambda r: per_caller[r.principal.arn], compiler=compiler)
    for _ in range(3):
        assert engine.decide(request()).decision is Decision.ALLOWED
        assert engine.decide(request(BOB)).decision is Decision.ALLOWED
        assert engine.decide(request(BOB, **{"aws:SourceIp": "1.2.3.4"})).decision is \
            Decision.ALLOWED
        assert engine.decide(request(**{"aws:SourceIp": "1.2.3.4"})).decision is \
            Decision.IMPLICIT_DENY
    assert compiler.stats()["sets"] == 2
    assert engine.decide_uncached(request()) == engine.decide(request())


def test_cache_is_bounded_and_can_be_disabled() -> None:
    engine = Engine(TEAM_READ, cache_size=8)
    for i in range(50):
        engine.decide(request(**{"aws:SourceIp": f"10.0.0.{i}"}))
    assert len(engine._state.cache) <= 8
    off = Engine(TEAM_READ, cache_size=0)
    assert off.decide(request()) == off.decide(request())
    assert off.hits == 0


def test_concurrent_decisions_and_swaps() -> None:
    engine = Engine(TEAM_READ, cache_size=64)
    allowed_by = {id(TEAM_READ): evaluate(TEAM_READ, request(BOB)),
                  id(ALLOW_ALL): evaluate(ALLOW_ALL, request(BOB))}
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for i in range(300):
                req = request(BOB, **{"aws:SourceIp": f"10.0.{i % 7}.1"})
                result = engine.decide(req)
                assert result in allowed_by.values()
                assert engine.decision(req) in {r.decision for r in allowed_by.values()}
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for i in range(20):
        engine.swap(ALLOW_ALL if i % 2 else TEAM_READ)
    for t in threads:
        t.join()
    assert errors == []


def test_engine_decision_matches_decide_and_uses_the_cache() -> None:
    engine = Engine(TEAM_READ)
    assert engine.decision(request()) is Decision.ALLOWED
    assert engine.decision(request()) is Decision.ALLOWED
    assert (engine.hits, engine.misses) == (1, 1)
    outside = request(**{"aws:SourceIp": "192.0.2.1"})
    assert engine.decision(outside) is evaluate(TEAM_READ, outside).decision
    assert engine.decision(request(BOB)) is Decision.IMPLICIT_DENY


def test_a_cache_that_never_hits_is_bypassed_and_a_repeating_stream_turns_it_back_on() -> None:
    """Every request distinct: after one window of misses the engine stops computing keys for
    most requests (answers unchanged); when the stream starts repeating, the content-sampled
    requests hit and the cache is used for every request again."""
    from policylang.compiler.engine import CacheGate

    window = CacheGate.WINDOW

    def distinct(i: int) -> Request:
        return Request(ALICE, "s3:GetObject", Resource(f"arn:aws:s3:::b/k{i}", A),
                       {"aws:SourceIp": "10.1.2.3"})

    engine = Engine(TEAM_READ)
    for i in range(window):
        assert engine.decision(distinct(i)) is Decision.ALLOWED
    assert engine.misses == window
    assert engine.bypassed == 0
    for i in range(window, 3 * window):
        assert engine.decision(distinct(i)) is Decision.ALLOWED
    skipped = engine.bypassed
    assert 0.7 * 2 * window < skipped < 2 * window  # about seven in eight skipped
    # the same requests again: the sampled ones hit, and the gate opens fully; a stream
    # that keeps repeating settles with the cache open and hitting
    for _ in range(3):
        for i in range(window, 3 * window):
            assert engine.decision(distinct(i)) is Decision.ALLOWED
    hits, bypassed = engine.hits, engine.bypassed
    for i in range(window, 3 * window):
        engine.decision(distinct(i))
    assert engine.bypassed == bypassed  # no request skips the cache any more
    assert engine.hits - hits == 2 * window

    steady = Engine(TEAM_READ)
    for _ in range(window + 10):
        steady.decision(request())
    assert steady.bypassed == 0
    assert steady.hits == window + 9

    fixed = Engine(TEAM_READ, adaptive=False)
    for i in range(2 * window):
        fixed.decision(distinct(i))
    assert fixed.bypassed == 0
    assert fixed.misses == 2 * window
