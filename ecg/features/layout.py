"""The beat layout: what the beat models read, one row per window. Its names and sizes are
defined here, importing nothing above `ecg.core`, so that the configs can check against
them cheaply; the features themselves are computed in `ecg.features.beat_features`.

`model_input` flattens the sequence into the stored "signals": per step (beat) the beat vector
followed by the window's 9 features, standardised with the fixed constants FEATURE_CENTRE /
FEATURE_SCALE (not fitted to any data), broadcast to every step including padding.
"""

from __future__ import annotations

import numpy as np

from ecg.core.errors import ECGError

MAX_BEATS = 32  # a 10-s window at up to ~190 bpm
BEAT_FEATURES: tuple[str, ...] = (
    "present",
    "rr_prev",
    "rr_next",
    "correlation",
    "deviation",
    "amplitude",
    "width",
)
WINDOW_FEATURES: tuple[str, ...] = (
    "rr_min_ratio",
    "rr_max_ratio",
    "rr_cv",
    "rr_msd_ratio",
    "min_correlation",
    "max_deviation",
    "heart_rate",
    "beat_count",
    "abnormal_fraction",
)
STEP_FEATURES = len(BEAT_FEATURES) + len(WINDOW_FEATURES)  # 16

# model_input's standardisation of the window features: (value - centre) / scale. Fixed
# physiological constants, so an ordinary sinus window maps to ~0 and ectopy to O(1).
FEATURE_CENTRE = np.array([1.0, 1.0, 0.0, 0.0, 1.0, 0.0, 75.0, 12.0, 0.0], dtype=np.float32)
FEATURE_SCALE = np.array([1.0, 1.0, 0.2, 0.2, 1.0, 1.0, 25.0, 6.0, 1.0], dtype=np.float32)


def model_input(sequence: np.ndarray, features: np.ndarray) -> np.ndarray:
    """Flattened per-step input float32 [N, T * STEP_FEATURES]: step t holds beat t's vector
    followed by the window's standardised features (the same at every step)."""
    seq = np.asarray(sequence, dtype=np.float32)
    feats = np.asarray(features, dtype=np.float32)
    if seq.ndim != 3 or seq.shape[2] != len(BEAT_FEATURES):
        raise ECGError(
            f"model_input: sequence must be [N, T, {len(BEAT_FEATURES)}], got {seq.shape}"
        )
    if feats.shape != (seq.shape[0], len(WINDOW_FEATURES)):
        raise ECGError(
            f"model_input: features must be [{seq.shape[0]}, {len(WINDOW_FEATURES)}], "
            f"got {feats.shape}"
        )
    scaled = (feats - FEATURE_CENTRE) / FEATURE_SCALE
    steps = np.concatenate(
        [seq, np.broadcast_to(scaled[:, None, :], (*seq.shape[:2], scaled.shape[1]))], axis=2
    )
    return np.ascontiguousarray(steps.reshape(seq.shape[0], -1))


def split_model_input(signals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of `model_input`: (sequence [N, T, len(BEAT_FEATURES)], raw features [N, 9])."""
    x = np.asarray(signals, dtype=np.float32)
    if x.ndim != 2 or x.shape[1] % STEP_FEATURES:
        raise ECGError(
            f"split_model_input: signals must be [N, T * {STEP_FEATURES}], got {x.shape}"
        )
    steps = x.reshape(x.shape[0], -1, STEP_FEATURES)
    nb = len(BEAT_FEATURES)
    return steps[:, :, :nb].copy(), steps[:, 0, nb:] * FEATURE_SCALE + FEATURE_CENTRE
