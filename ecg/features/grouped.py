"""Reductions over the windows of a batch, each reducing its own group of values exactly as
the same reduction over that group alone would."""

from __future__ import annotations

import numpy as np

from ecg.features.beat_features import nanmedian


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
