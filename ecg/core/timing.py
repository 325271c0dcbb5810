"""Wall times of the pipeline's stages, kept apart from their results.

Results (metrics/*.json) must not change when the same run is repeated on another machine;
times always do. So each stage records its time in `metrics/timings/<stage>.json`, which git
ignores and dvc.yaml does not track, and prints it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ecg.core.storage import write_json

TIMINGS_DIR = Path("metrics/timings")


@contextmanager
def timed(stage: str, folder: Path = TIMINGS_DIR) -> Iterator[None]:
    """Time the block; on success write `{stage, seconds}` and print it."""
    t0 = time.perf_counter()
    yield
    seconds = round(time.perf_counter() - t0, 1)
    write_json({"stage": stage, "seconds": seconds}, folder / f"{stage}.json")
    print(f"{stage}: {seconds:.1f} s", flush=True)
