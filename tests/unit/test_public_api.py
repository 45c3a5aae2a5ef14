from __future__ import annotations

import types

import policylang


def test_all_is_sorted_and_complete() -> None:
    public = {
        name
        for name, value in vars(policylang).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    public -= {"annotations"}

    assert sorted(policylang.__all__) == list(policylang.__all__)
    assert set(policylang.__all__) == public
