"""Reductions over the windows of a batch, each reducing its own group of values exactly as
the same reduction over that group alone would."""

from __future__ import annotations

import numpy as np


def nanmedian(a: np.ndarray, axis: int) -> np.ndarray:
    """Median over `axis` ignoring NaN (NaN where all are NaN); sort-based, fully vectorised."""
    s = np.sort(a, axis=axis)  # NaN sorts last
    k = np.sum(~np.isnan(a), axis=axis, keepdims=True)
    lo = np.take_along_axis(s, np.maximum((k - 1) // 2, 0), axis=axis)
    hi = np.take_along_axis(s, k // 2, axis=axis)  # k // 2 < shape whenever shape >= 1
    return np.squeeze((lo + hi) / 2.0, axis=axis)


def per_window(
    ufunc: np.ufunc, values: np.ndarray, window: np.ndarray, n: int, empty: float
) -> np.ndarray:
    """`ufunc` (minimum or maximum) reduced over each window's values (`window`: the window
    of each value, sorted), `empty` for a window with none."""
    out = np.full(n, empty)
    if len(values):
        first = np.flatnonzero(np.r_[True, window[1:] != window[:-1]])
        out[window[first]] = ufunc.reduceat(values, first)
    return out


def small_medians(values: np.ndarray, window: np.ndarray, n: int) -> np.ndarray:
    """Median of each window's values (`window` sorted; NaN values and empty windows: NaN)."""
    count = np.bincount(window, minlength=n)
    grid = np.full((n, max(int(count.max(initial=0)), 1)), np.nan)
    grid[window, np.arange(len(window)) - (np.cumsum(count) - count)[window]] = values
    return nanmedian(grid, 1)


def median(values: np.ndarray) -> float:
    """`np.median` of a 1-D array without NaN, for less of its overhead: the same one or two
    middle elements, averaged the same way."""
    n = len(values)
    middle = [(n - 1) // 2, n // 2]
    lower, upper = np.partition(values, middle)[middle]
    return (lower + upper) / 2.0


def group_medians(rows: np.ndarray, window: np.ndarray, n: int) -> np.ndarray:
    """[n, width] `nanmedian` over each window's rows (`window`: the window of each row,
    sorted; NaN for a window with none). Windows with as many rows are sorted together: no
    window's rows are padded to the longest one's."""
    out = np.full((n, rows.shape[1]), np.nan)
    count = np.bincount(window, minlength=n)
    first = np.cumsum(count) - count
    for m in np.unique(count[count > 0]):
        same = np.flatnonzero(count == m)
        out[same] = nanmedian(rows[first[same, None] + np.arange(m)], 1)
    return out
