"""Condition entries lowered to closures: operator bound, policy values parsed once.

Semantics are those of `policylang.conditions` (conditions.md §3), reused rather than
re-implemented: values are parsed by its `prepare_entry`, compared by its per-family `compare_*`
functions, and entries whose values hold policy variables fall back to its `match_single`.
What changes is when the work happens: the operator family, qualifier and IfExists are
decided at compile time, so the per-request path is a closure with no dispatch. For
`StringEquals`-style operators the OR over policy values becomes a set membership test, which is
the same predicate (string equality never yields an invalid comparison).
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable, Mapping, Sequence

from policylang.compiler.resources import star_glob
from policylang.conditions import (
    PreparedEntry,
    compare_arn,
    compare_binary,
    compare_date,
    compare_number,
    compare_string_like,
    is_nullish,
    match_single,
    parse_ip_address,
    prepare_clause,
)
from policylang.ir import ConditionClause
from policylang.operators import Family, SetQualifier
from policylang.patterns import Part

ContextValue = str | tuple[str, ...]
Context = Mapping[str, ContextValue]
EntryTest = Callable[[Context], bool]
"""A compiled key entry: `test(ctx) -> bool` for a context keyed by lower-cased names."""


def _single_static(entry: PreparedEntry) -> Callable[[str], bool]:
    """`single(op, x, V)` for an entry without variables: OR (or NOR) over parsed values."""
    op = entry.operator
    family = op.family
    positive = entry.positive
    parsed = [v.parsed for v in entry.values]
    negated = op.negated
    if family is Family.STRING and positive in ("StringEquals", "StringEqualsIgnoreCase"):
        # compare_string_equals(_ignore_case) never answers "invalid", so OR == membership
        if positive == "StringEquals":
            members = frozenset(str(p) for p in parsed)
            if negated:
                return lambda x: x not in members
            return members.__contains__
        lowered = frozenset(str(p).lower() for p in parsed)
        if negated:
            return lambda x: x.lower() not in lowered
        return lambda x: x.lower() in lowered
    if family is Family.BOOL:
        # compare_bool is True exactly for the lowered spelling of a valid policy value
        accepted = frozenset(str(p).lower() for p in parsed if isinstance(p, bool))
        if negated:  # pragma: no cover - no negated Bool operator exists
            raise AssertionError("negated Bool")
        return lambda x: x.lower() in accepted
    if family is Family.IP:
        return _ip_test(parsed, negated)
    compare: Callable[[str, object], bool | None]
    if family is Family.STRING:  # StringLike: parsed values are compiled globs
        compare = compare_string_like  # type: ignore[assignment]
        # the same globs, specialised when `*` is their only wildcard (resources.star_glob)
        parsed = [star_glob((Part(v.text),)) for v in entry.values]
    elif family is Family.NUMERIC:
        compare = functools.partial(compare_number, positive)
    elif family is Family.DATE:
        compare = functools.partial(compare_date, positive)
    elif family is Family.BINARY:
        compare = compare_binary  # type: ignore[assignment]
    elif family is Family.ARN:
        compare = compare_arn  # type: ignore[assignment]
    else:  # pragma: no cover - Null entries never reach single()
        raise AssertionError(f"no comparison for {positive}")
    if not parsed:
        return (lambda _x: True) if negated else (lambda _x: False)
    if len(parsed) == 1:
        only = parsed[0]
        if negated:
            return lambda x: compare(x, only) is False
        return lambda x: compare(x, only) is True
    if negated:
        # an invalid comparison poisons the NOR, so every value must say False
        return lambda x: all(compare(x, p) is False for p in parsed)
    return lambda x: any(compare(x, p) is True for p in parsed)


def _ip_test(parsed: Sequence[object], negated: bool) -> Callable[[str], bool]:
    """`IpAddress` / `NotIpAddress` over pre-split networks: (version, network bits, mask).

    The same predicate as OR / NOR of compare_ip: an address of the other version is outside a
    network; an unparsable address, or (for the NOR) an unparsable policy value, is invalid.
    """
    networks = tuple(
        (p.version, int(p.network_address), int(p.netmask))
        for p in parsed
        if isinstance(p, ipaddress.IPv4Network | ipaddress.IPv6Network)
    )
    poisoned = len(networks) != len(parsed)

    def inside(x: str) -> bool | None:
        address = parse_ip_address(x)
        if address is None:
            return None
        version = address.version
        bits = int(address)
        for net_version, network, mask in networks:
            if net_version == version and bits & mask == network:
                return True
        return False

    if negated:
        if not parsed:
            return lambda _x: True
        return lambda x: not poisoned and inside(x) is False
    return lambda x: inside(x) is True


def compile_entry(entry: PreparedEntry) -> EntryTest:
    """The `eval(S, op, IE, key, V)` of conditions.md §3 as a closure."""
    op = entry.operator
    key = entry.lookup_key
    if op.family is Family.NULL:
        wants_absent = frozenset(v.text.lower() == "true" for v in entry.values)

        def null_test(ctx: Context) -> bool:
            value = ctx.get(key)
            absent = value is None or is_nullish(value)
            return absent in wants_absent

        return null_test

    if any(v.template is not None for v in entry.values):

        def single_dynamic(x: str, ctx: Context) -> bool:
            return match_single(entry, x, ctx)

        single: Callable[[str, Context], bool] = single_dynamic
    else:
        static = _single_static(entry)

        def single_static(x: str, ctx: Context) -> bool:
            return static(x)

        single = single_static
        if op.qualifier is None:
            # the common case: a single-valued key, no set qualifier
            when_missing = bool(op.if_exists or op.negated)

            def plain_test(ctx: Context) -> bool:
                value = ctx.get(key)
                if value is None:
                    return when_missing
                if not isinstance(value, str):
                    return False  # multi-valued key without a qualifier (§3.2)
                return static(value)

            return plain_test

    if op.if_exists or op.qualifier is SetQualifier.FOR_ALL_VALUES:
        missing_result = True
    elif op.qualifier is SetQualifier.FOR_ANY_VALUE:
        missing_result = False
    else:
        missing_result = op.negated
    qualifier = op.qualifier

    def test(ctx: Context) -> bool:
        value = ctx.get(key)
        if value is None:
            return missing_result
        if qualifier is None:
            if not isinstance(value, str):
                return False
            return single(value, ctx)
        items: Sequence[str] = (value,) if isinstance(value, str) else value
        if is_nullish(value):
            items = ()
        if qualifier is SetQualifier.FOR_ANY_VALUE:
            return any(single(x, ctx) for x in items)
        return all(single(x, ctx) for x in items)

    return test


class CompiledCondition:
    """A statement's Condition element: AND of its compiled entries, plus the keys it reads.

    `keys` are the entries' lower-cased context keys in order; `variable_keys` the keys of
    variables without a default (both count as missing when absent, conditions.py
    `entry_missing_keys`). `reads` is every key whose value can change the outcome.
    """

    __slots__ = ("keys", "keyset", "matches", "reads", "single_key", "tests", "variable_keys")

    def __init__(
        self, clauses: Sequence[ConditionClause], *, variables_enabled: bool
    ) -> None:
        tests: list[EntryTest] = []
        keys: list[str] = []
        variable_keys: list[str] = []
        reads: set[str] = set()
        for clause in clauses:
            for entry in prepare_clause(clause, variables_enabled=variables_enabled):
                tests.append(compile_entry(entry))
                keys.append(entry.lookup_key)
                reads.add(entry.lookup_key)
                for value in entry.values:
                    if value.template is not None:
                        for var in value.template.variables:
                            reads.add(var.lookup_key)
                            if var.default is None:
                                variable_keys.append(var.lookup_key)
        self.tests: tuple[EntryTest, ...] = tuple(tests)
        self.keys: tuple[str, ...] = tuple(dict.fromkeys(keys))
        self.keyset: frozenset[str] = frozenset(self.keys)
        # the usual shape reads one key: the missing-key test is then one `in`
        self.single_key: str | None = self.keys[0] if len(self.keys) == 1 else None
        self.variable_keys: tuple[str, ...] = tuple(dict.fromkeys(variable_keys))
        self.reads: frozenset[str] = frozenset(reads)
        # `matches(ctx)`: AND of the entry tests; one entry (the usual case) is called directly
        self.matches: EntryTest = self.tests[0] if len(self.tests) == 1 else self._all

    def _all(self, ctx: Context) -> bool:
        for test in self.tests:  # noqa: SIM110 - a plain loop is faster than all(genexpr)
            if not test(ctx):
                return False
        return True

    def missing_keys(self, ctx: Context) -> tuple[str, ...]:
        """Sorted keys the condition referenced and the context lacks (as conditions.py)."""
        missing = {k for k in self.keys if k not in ctx}
        for k in self.variable_keys:
            if not isinstance(ctx.get(k), str):
                missing.add(k)
        return tuple(sorted(missing)) if missing else ()
