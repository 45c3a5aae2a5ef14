PY ?= python3

install:   ; $(PY) -m pip install -e '.[dev]'
fmt:       ; ruff format . && ruff check --fix .
lint:      ; ruff check .
type:      ; mypy
test:      ; $(PY) -m pytest -q
bench:     ; $(PY) -m pytest benchmarks --benchmark-only -q
check: lint type test
.PHONY: install fmt lint type test bench check
