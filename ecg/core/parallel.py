"""Work spread over processes, with results that do not depend on how many there are.

Each item is computed independently and results come back in input order, so a stage gives
the same outputs on one core or many. `ECG_WORKERS` sets the number of processes (default:
the CPUs this process may use); 1 runs everything in this process.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

from ecg.core.errors import ECGError

T = TypeVar("T")
R = TypeVar("R")


def worker_count() -> int:
    raw = os.environ.get("ECG_WORKERS", "")
    if raw:
        if not raw.isdigit() or int(raw) < 1:
            raise ECGError(f"ECG_WORKERS={raw!r}: must be a positive integer")
        return int(raw)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def parallel_map(
    fn: Callable[[T], R],
    items: Sequence[T] | Iterable[T],
    *,
    initializer: Callable[..., None] | None = None,
    initargs: tuple[Any, ...] = (),
    workers: int | None = None,
) -> list[R]:
    """`[fn(item) for item in items]`, over `workers` processes (`fn` and `initializer`
    must be module-level functions; `initializer(*initargs)` runs once per process)."""
    items = list(items)
    workers = min(workers or worker_count(), max(len(items), 1))
    if workers == 1:
        if initializer is not None:
            initializer(*initargs)
        return [fn(item) for item in items]
    # spawn, not fork: a forked child of a process whose OpenMP pool has started can hang.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=initializer, initargs=initargs
    ) as pool:
        return list(pool.map(fn, items))
