"""Cutting a signal into fixed windows, and assigning beat positions to them."""

from __future__ import annotations

import numpy as np


def segment_windows(n_samples: int, window: int, stride: int) -> np.ndarray:
    """Start indices of every whole window of `window` samples, `stride` apart."""
    if n_samples < window:
        return np.zeros(0, dtype=np.int64)
    return np.arange(0, n_samples - window + 1, stride, dtype=np.int64)


def beats_in_windows(beats: np.ndarray, starts: np.ndarray, window: int) -> list[np.ndarray]:
    """Split a record's beat positions into per-window positions relative to each start."""
    beats = np.sort(np.asarray(beats, dtype=np.int64))
    lo = np.searchsorted(beats, starts, "left")
    hi = np.searchsorted(beats, starts + window, "left")
    return [beats[a:b] - s for a, b, s in zip(lo, hi, starts, strict=True)]
