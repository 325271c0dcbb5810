"""Progress display that suits both a terminal and a log file.

On a terminal, a tqdm bar. Anywhere else (output redirected, `dvc repro > log`, CI) a bar's
carriage-return updates would write a line per batch into the log, so there is no bar: with
`lines=True` one plain line per item (records, files), otherwise nothing (batches: their
epoch gets its own summary line). Use it as a context manager, so that the bar is gone
before an error message is printed:

    with progress(record_ids, desc="detect", unit="record", lines=True) as records:
        for record_id in records: ...
"""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Iterable, Iterator
from typing import Any

from tqdm import tqdm


def interactive() -> bool:
    """A bar only on a terminal, and only in the main process: bars of worker processes
    sharing one terminal overwrite each other."""
    return sys.stderr.isatty() and multiprocessing.parent_process() is None


class _Lines:
    """Iterates `items`, printing "desc: i/n units" to stderr after each (or nothing)."""

    def __init__(self, items: Iterable[Any], desc: str, unit: str, total: int | None, on: bool):
        self.items, self.desc, self.unit, self.on = items, desc, unit, on
        self.total = total if total is not None else getattr(items, "__len__", lambda: None)()

    def __iter__(self) -> Iterator[Any]:
        for i, item in enumerate(self.items, start=1):
            yield item
            if self.on:
                total = "?" if self.total is None else self.total
                print(f"{self.desc}: {i}/{total} {self.unit}s", file=sys.stderr, flush=True)

    def __enter__(self) -> _Lines:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def progress(
    items: Iterable[Any], *, desc: str, unit: str, total: int | None = None, lines: bool = False
) -> tqdm | _Lines:
    """A bar over `items` on a terminal; elsewhere one line per item when `lines`."""
    if interactive():
        return tqdm(items, desc=desc, unit=unit, total=total, leave=False)
    return _Lines(items, desc, unit, total, lines)


def log(message: str, *, error: bool = False) -> None:
    """Print a line (an `error` to stderr) without breaking a bar that is on screen. Outside
    a bar the line goes out in one write, so lines of parallel workers never run together."""
    stream = sys.stderr if error else sys.stdout
    if interactive():
        tqdm.write(message, file=stream)
    else:
        stream.write(message + "\n")
        stream.flush()
