"""Where a recording holds no signal: missing samples (NaN or infinite, as WFDB writes an
invalid sample and CSV exports write a dropout) and flat-line runs (an electrode off, a
saturated amplifier, or a gap a recorder filled with a constant).

A flat line is found by exact equality of samples, as recorders write a dropout (a constant,
often 0 or the last value); a dropout that was resampled or filtered before it reached us is
no longer constant and is not found (MIT-BIH record 116's dropouts are found at 360 Hz, not
once resampled: benchmarks/bench_predict.py).

A window with more than `MAX_SCORED_GAP_S` of it is unreadable: the beats and the rhythm in
the gap are unknown, and a filled gap can look like a pause or an ectopic beat to a model.
A shorter gap (a few samples) is filled from the last valid sample and scored, and the CSV
says how much was filled.
"""

from __future__ import annotations

import numpy as np

FLAT_RUN_S = 0.25  # identical consecutive samples for this long are no ECG
MAX_SCORED_GAP_S = 0.1  # about one QRS: a longer gap can hide or invent a beat


def missing_mask(signal: np.ndarray, fs: float) -> np.ndarray:
    """True at every sample that is not finite or lies in a flat-line run."""
    x = np.asarray(signal, dtype=np.float64)
    bad = ~np.isfinite(x)
    held = np.where(bad, np.nan, x)
    same = np.r_[False, held[1:] == held[:-1]]  # NaN never equals: gaps stay apart
    run_min = max(int(round(FLAT_RUN_S * fs)), 2)
    edges = np.diff(np.r_[0, same.astype(np.int8), 0])
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    long = ends - starts + 1 >= run_min  # `same` starts one sample into the run
    marks = np.zeros(len(x) + 1, dtype=np.int64)  # +1 where a long run starts, -1 after it
    np.add.at(marks, starts[long] - 1, 1)
    np.add.at(marks, ends[long], -1)
    return bad | (np.cumsum(marks[:-1]) > 0)


def gap_seconds(mask: np.ndarray, fs: float, start_s: np.ndarray, end_s: np.ndarray) -> np.ndarray:
    """Seconds of `mask` (a recording's missing samples at `fs`) inside each window."""
    total = np.r_[0, np.cumsum(mask, dtype=np.int64)]
    a = np.clip(np.round(np.asarray(start_s) * fs).astype(np.int64), 0, len(mask))
    b = np.clip(np.round(np.asarray(end_s) * fs).astype(np.int64), 0, len(mask))
    return (total[b] - total[a]) / fs


def gap_runs(mask: np.ndarray, fs: float) -> list[tuple[float, float]]:
    """(start, duration) in seconds of every run of missing samples."""
    edges = np.diff(np.r_[0, mask.astype(np.int8), 0])
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [(round(a / fs, 3), round((b - a) / fs, 3)) for a, b in zip(starts, ends, strict=True)]
