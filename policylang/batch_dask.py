"""Batch evaluation on Dask (the optional `dask` extra: `pip install 'policylang[dask]'`).

Three entry points, each deciding exactly as `policylang.batch` does in-process:

* `evaluate_bag(bag)` — a `dask.bag.Bag` of simulation cases: each item is a JSON line (`str`
  or `bytes`), an already-parsed case (a mapping), or a `(line_number, line_or_mapping)` pair.
  Returns a bag of output objects (`{"line", "name", "decision"}` or `{"line", "name",
  "error"}`), one per non-blank item, partition by partition. Without explicit line numbers,
  `line` is the 1-based position of the item in its partition.
* `evaluate_dataframe(df, policies=...)` — a `dask.dataframe.DataFrame` of requests (schema
  below). Returns the frame with `decision` and `error` columns added.
* `chunk_submitter(address)` — what `policylang batch --dask ADDRESS` uses: chunks of lines
  submitted to a running scheduler, at most a window of them in flight, results in input order.

Each partition builds one `BatchEvaluator`, so each distinct PolicySet is compiled once per
partition (not once per row).

DataFrame schema (one row = one request; the columns follow spec/simulation-case.md):

| column | type | meaning |
|---|---|---|
| `principal` | dict or JSON text | `request.principal`: `type`, `arn`, `account`, `id`, `tags`, … |
| `action` | str | `request.action`, e.g. `s3:GetObject` |
| `resource` | dict, JSON text, or an ARN string | `request.resource` (a bare string is the ARN) |
| `context` | dict, JSON text, or null | `request.context` (optional column) |
| `policies` | dict or JSON text | the case's `policies` (optional; else the `policies=` argument) |
| `name` | str or null | echoed back (optional column) |

Dask is imported lazily: importing this module without the extra is fine, calling into it
raises `PolicyLangError` (`dask.missing`) saying how to install it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from policylang._json import dumps
from policylang.batch import (
    BatchEvaluator,
    BatchOptions,
    Chunk,
    ChunkResult,
    Summary,
    evaluate_chunk,
)
from policylang.errors import PolicyLangError
from policylang.source import Source

__all__ = [
    "DATAFRAME_COLUMNS",
    "chunk_submitter",
    "evaluate_bag",
    "evaluate_dataframe",
    "evaluate_partition",
    "evaluate_rows",
]

DATAFRAME_COLUMNS = ("principal", "action", "resource", "context", "policies", "name")
"""The columns `evaluate_dataframe` reads (`principal`, `action`, `resource` are required)."""


def _require(module: str) -> Any:
    """Import a Dask module, or explain how to install the extra."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise PolicyLangError(
            f"`{module}` is not installed ({error})",
            code="dask.missing",
            source=Source("policylang.batch_dask", ""),
            hint="install the extra: pip install 'policylang[dask]' "
            "(and pandas for DataFrames)",
        ) from None


# --------------------------------------------------------------------------- bags


def _as_bytes(item: str | bytes | Mapping[str, Any]) -> bytes:
    if isinstance(item, bytes):
        return item
    if isinstance(item, str):
        return item.encode("utf-8")
    return dumps(dict(item)).encode("utf-8")


def evaluate_partition(
    items: Iterable[Any], options: BatchOptions | None = None
) -> list[dict[str, Any]]:
    """Decide one partition of case items (see `evaluate_bag`) with one fresh evaluator."""
    evaluator = BatchEvaluator(options)
    summary = Summary()
    out: list[dict[str, Any]] = []
    for position, item in enumerate(items, 1):
        if isinstance(item, tuple) and len(item) == 2:
            line, payload = int(item[0]), item[1]
        else:
            line, payload = position, item
        outcome = evaluator.evaluate_line(line, _as_bytes(payload), summary)
        if outcome is not None:
            out.append(outcome.value)
    return out


def evaluate_bag(bag: Any, options: BatchOptions | None = None) -> Any:
    """A bag of output objects for a bag of cases, computed partition by partition (lazy).

    `bag` is a `dask.bag.Bag`; call `.compute()` (or `.to_textfiles`) on the result.
    """
    _require("dask.bag")
    return bag.map_partitions(evaluate_partition, options)


# --------------------------------------------------------------------------- data frames


def _field(value: Any) -> Any:
    """A cell given as JSON text is parsed; dicts and plain values are taken as they are."""
    if isinstance(value, str | bytes) and value[:1] in ("{", b"{", "[", b"["):
        from policylang._json import loads

        return loads(value, source=Source("<dataframe cell>", ""))
    return value


def _is_missing(value: Any) -> bool:
    # pandas gives NaN (a float) or None for an empty cell
    return value is None or (isinstance(value, float) and value != value)


def evaluate_rows(
    rows: Iterable[Mapping[str, Any]],
    policies: Mapping[str, Any] | str | None = None,
    options: BatchOptions | None = None,
) -> Iterator[dict[str, Any]]:
    """Decide rows of the DataFrame schema (module docstring); yield one output object per row.

    Each row becomes a simulation case (so it is checked exactly like a case line); the
    policies come from the row's `policies` cell, else from `policies`.
    """
    evaluator = BatchEvaluator(options)
    summary = Summary()
    fixed = _field(policies) if policies is not None else None
    for number, row in enumerate(rows, 1):
        try:
            request: dict[str, Any] = {
                "principal": _field(row.get("principal")),
                "action": row.get("action"),
            }
            resource = _field(row.get("resource"))
            request["resource"] = {"arn": resource} if isinstance(resource, str) else resource
            context = row.get("context")
            if not _is_missing(context):
                request["context"] = _field(context)
            cell = row.get("policies")
            case_policies = fixed if _is_missing(cell) else _field(cell)
            case: dict[str, Any] = {
                "policies": case_policies if case_policies is not None else {},
                "request": request,
            }
            name = row.get("name")
            if not _is_missing(name):
                case["name"] = name
            data = dumps(case).encode("utf-8")
        except PolicyLangError as error:
            summary.errors += 1
            yield {"line": number, "name": None,
                   "error": {"code": error.code, "message": error.message}}
            continue
        except TypeError as error:  # a cell of a type JSON cannot hold
            summary.errors += 1
            yield {"line": number, "name": None,
                   "error": {"code": "case.not-json", "message": str(error)}}
            continue
        outcome = evaluator.evaluate_line(number, data, summary)
        if outcome is not None:
            yield outcome.value


def _frame_partition(
    frame: Any, policies: Mapping[str, Any] | str | None, options: BatchOptions | None
) -> Any:
    rows = frame.to_dict(orient="records")
    decisions: list[str | None] = []
    errors: list[str | None] = []
    for value in evaluate_rows(rows, policies, options):
        decisions.append(value.get("decision"))
        error = value.get("error")
        errors.append(f"{error['code']}: {error['message']}" if error else None)
    result = frame.copy()
    result["decision"] = decisions
    result["error"] = errors
    return result


def evaluate_dataframe(
    df: Any,
    policies: Mapping[str, Any] | str | None = None,
    options: BatchOptions | None = None,
) -> Any:
    """`df` with two more columns: `decision` (or null) and `error` (`code: message`, or null).

    `df` follows the schema of the module docstring. `policies` (a case `policies` object, or
    its JSON text) applies to rows without a `policies` cell. Lazy: call `.compute()`.
    """
    _require("dask.dataframe")
    pandas = _require("pandas")
    missing = [c for c in ("principal", "action", "resource") if c not in df.columns]
    if missing:
        raise PolicyLangError(
            f"the DataFrame lacks the column(s) {', '.join(missing)}",
            code="dask.missing-column",
            source=Source("<dataframe>", ""),
            hint=f"columns read: {', '.join(DATAFRAME_COLUMNS)}",
        )
    meta = df._meta.copy()
    meta["decision"] = pandas.Series([], dtype=object)
    meta["error"] = pandas.Series([], dtype=object)
    return df.map_partitions(_frame_partition, policies, options, meta=meta)


# --------------------------------------------------------------------------- the CLI backend

CONNECT_TIMEOUT = "5s"
"""How long `chunk_submitter` waits for the scheduler before giving up."""

_CLUSTER_EVALUATOR: dict[BatchOptions, BatchEvaluator] = {}


def _remote_chunk(chunk: Chunk, options: BatchOptions) -> ChunkResult:
    # Runs on a Dask worker: keep one evaluator per options per worker process, so the
    # compiled-set cache lives across the chunks that worker receives.
    evaluator = _CLUSTER_EVALUATOR.get(options)
    if evaluator is None:
        evaluator = _CLUSTER_EVALUATOR[options] = BatchEvaluator(options)
    return evaluate_chunk(evaluator, chunk)


def chunk_submitter(
    address: str, options: BatchOptions, *, window: int | None = None
) -> tuple[Callable[[Chunk], Callable[[], ChunkResult]], int, Callable[[], None]]:
    """Connect to the scheduler at `address`; return (submit, window, close) for `run_batch`."""
    distributed = _require("distributed")
    client = distributed.Client(address, timeout=CONNECT_TIMEOUT)
    if window is None:
        threads = sum(client.nthreads().values()) or 1
        window = 2 * threads + 2

    def submit(chunk: Chunk) -> Callable[[], ChunkResult]:
        future = client.submit(_remote_chunk, chunk, options, pure=False)

        def wait() -> ChunkResult:
            result: ChunkResult = future.result()
            future.release()
            return result

        return wait

    return submit, window, client.close
