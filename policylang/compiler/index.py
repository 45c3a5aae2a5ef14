"""The action index of a compiled statement group: which statements can apply to an action.

A request names one action; most statements name a few actions of one service. The index
buckets statements by what their Action element can match:

* exact lower-cased names (`s3:getobject`) in a dict,
* wildcard names under their lower-cased service prefix (`s3` → `Get*`),
* `"*"` statements, which match every action,
* NotAction statements, checked one by one (they match most actions).

`lookup(action)` merges the buckets back into statement order (explanations and missing-key
lists follow the order of the policies). Results are memoised per lower-cased action in a
bounded dict: a service sees a small vocabulary of actions, so after warm-up a lookup is one
dict access. `all()` returns every statement (the index disabled, for tests).

Resources are not indexed here: after the action lookup the candidates of a typical group are
few, and each statement's resource matcher starts with a prefix comparison (see lower.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from policylang.patterns import compile_action_pattern, has_wildcard

T = TypeVar("T")

_MEMO_LIMIT = 4096


class ActionIndex(Generic[T]):
    """Statements of one group, bucketed by the actions they can match.

    `items[i]` is the i-th statement (any object); `actions[i]` its Action/NotAction entries and
    `negated[i]` whether they are NotAction.
    """

    __slots__ = ("_all", "_by_service", "_exact", "_memo", "_not_action", "_star")

    def __init__(
        self,
        items: Sequence[T],
        actions: Sequence[Sequence[str]],
        negated: Sequence[bool],
    ) -> None:
        self._all: tuple[T, ...] = tuple(items)
        self._exact: dict[str, list[int]] = {}
        self._by_service: dict[str, list[tuple[int, Callable[[str], bool]]]] = {}
        self._star: list[int] = []
        self._not_action: list[tuple[int, tuple[Callable[[str], bool], ...]]] = []
        self._memo: dict[str, tuple[T, ...]] = {}
        for i, (patterns, neg) in enumerate(zip(actions, negated, strict=True)):
            if neg:
                self._not_action.append(
                    (i, tuple(compile_action_pattern(p) for p in patterns))
                )
                continue
            for pattern in patterns:
                if pattern == "*":
                    self._star.append(i)
                    continue
                service, sep, name = pattern.partition(":")
                if not sep:
                    continue  # matches nothing (patterns.compile_action_pattern)
                if has_wildcard(name):
                    self._by_service.setdefault(service.lower(), []).append(
                        (i, compile_action_pattern(pattern))
                    )
                else:
                    # `service:name` without wildcards matches exactly its lower-cased text
                    self._exact.setdefault(pattern.lower(), []).append(i)

    def lookup(self, action: str, lowered: str | None = None) -> tuple[T, ...]:
        """The statements whose Action/NotAction matches `action`, in statement order.

        `lowered` is `action.lower()` when the caller has it already.
        """
        key = action.lower() if lowered is None else lowered
        found = self._memo.get(key)
        if found is not None:
            return found
        hits: set[int] = set(self._star)
        hits.update(self._exact.get(key, ()))
        service, sep, _ = action.partition(":")
        if sep:
            for i, matcher in self._by_service.get(service.lower(), ()):
                if i not in hits and matcher(action):
                    hits.add(i)
        for i, matchers in self._not_action:
            if not any(m(action) for m in matchers):
                hits.add(i)
        result = tuple(self._all[i] for i in sorted(hits))
        if len(self._memo) >= _MEMO_LIMIT:
            self._memo.clear()  # bounded; an adversarial action stream only costs re-lookups
        # keyed by the lower-cased action: every matcher above is case-insensitive
        self._memo[key] = result
        return result

    def all(self) -> tuple[T, ...]:
        """Every statement, in order (the index disabled)."""
        return self._all

    def __len__(self) -> int:
        return len(self._all)
