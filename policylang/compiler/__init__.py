"""The compiler: PolicySets → indexed, pre-bound statement groups and a fast `decide`.

`compile_policies(policies)` returns a `CompiledPolicySet` whose `decide(request)` gives the
same `EvaluationResult` as the reference `policylang.evaluator.evaluate`, and whose
`decision(request)` gives its decision alone, faster (no explanation is built). A `Compiler` shares
work between many PolicySets; an `Engine` adds a bounded decision cache, atomic policy swaps and
streaming (`decide_many`). Passes, in order: lower.py (IR → compiled statements, using
conditions.py and resources.py), index.py (the action index), build.py (grouping and sharing),
plan.py (the candidates of one action, shared between sets), facts.py (what is derived from
the caller, once per Caller), compiled.py (the decision procedure), engine.py (cache and
embedding API).
"""

from __future__ import annotations

from policylang.compiler.build import Compiler, compile_policies
from policylang.compiler.compiled import CompiledPolicySet
from policylang.compiler.engine import Engine, cache_key

__all__ = ["CompiledPolicySet", "Compiler", "Engine", "cache_key", "compile_policies"]
