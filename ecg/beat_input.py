"""Detected beats -> the beat models' input, for whole records (the MIT-BIH windows) and
single windows (synthetic data, inference). Reference annotations never enter here: they only
make labels."""

from __future__ import annotations

import numpy as np

from ecg.beats import beat_representation, model_input


def beats_in_windows(beats: np.ndarray, starts: np.ndarray, window: int) -> list[np.ndarray]:
    """Split a record's beat positions into per-window positions relative to each start."""
    beats = np.sort(np.asarray(beats, dtype=np.int64))
    lo = np.searchsorted(beats, starts, "left")
    hi = np.searchsorted(beats, starts + window, "left")
    return [beats[a:b] - s for a, b, s in zip(lo, hi, starts, strict=True)]


def beat_input(windows: np.ndarray, beats: list[np.ndarray], fs: float) -> np.ndarray:
    """Flattened per-beat model input [N, MAX_BEATS * STEP_FEATURES], float32."""
    sequence, features = beat_representation(np.atleast_2d(windows), beats, fs)
    return model_input(sequence, features).astype(np.float32)
