"""The beat layout: what the beat models read, one row per window of MAX_BEATS steps.

Step t holds, for detected beat t of the window (zeros for padding beyond the window's beats),
its window-relative vector (`BEAT_FEATURES`, `ecg.features.beat_features`), its patient-
context vector (`CONTEXT_BEAT_FEATURES`, `ecg.features.context`) and its rhythm and atrial
evidence against the patient's recent beats (`ATRIAL_BEAT_FEATURES`, `ecg.features.atrial`),
followed by the window's
features, the same at every step: window-relative (`WINDOW_FEATURES`) and patient-context
(`CONTEXT_WINDOW_FEATURES`). The window features are standardised with fixed physiological
constants (never fitted to data), written beside each name in `WINDOW_TABLE` and
`CONTEXT_WINDOW_TABLE` and gathered as `WINDOW_CENTRE`, `WINDOW_SCALE`, so that an ordinary
sinus window maps to about 0 and ectopy to O(1), and every value is clipped to [-8, 8].

The names and sizes are defined here, importing nothing above `ecg.core`, so that the model
configs can check against them cheaply.
"""

from __future__ import annotations

from typing import NamedTuple

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
CONTEXT_BEAT_FEATURES: tuple[str, ...] = (
    "c_rr_prev",
    "c_rr_next",
    "c_correlation",
    "c_deviation",
    "c_amplitude",
    "c_width",
)
ATRIAL_BEAT_FEATURES: tuple[str, ...] = (
    "rr_local",
    "rr_long",
    "p_correlation",
    "p_amplitude",
    "pr_shift",
    "gap_p",
    "onset_slope",
)


class WindowFeature(NamedTuple):
    """A window feature and its fixed standardisation: `(value - centre) / scale`."""

    name: str
    centre: float
    scale: float


WINDOW_TABLE: tuple[WindowFeature, ...] = (  # window-relative
    WindowFeature("rr_min_ratio", 1, 1),
    WindowFeature("rr_max_ratio", 1, 1),
    WindowFeature("rr_cv", 0, 0.2),
    WindowFeature("rr_msd_ratio", 0, 0.2),
    WindowFeature("min_correlation", 1, 1),
    WindowFeature("max_deviation", 0, 1),
    WindowFeature("heart_rate", 75, 25),
    WindowFeature("beat_count", 12, 6),
    WindowFeature("abnormal_fraction", 0, 1),
)
CONTEXT_WINDOW_TABLE: tuple[WindowFeature, ...] = (  # patient-context
    WindowFeature("hr_ratio", 1, 0.3),
    WindowFeature("rr_min_ctx", 1, 0.3),
    WindowFeature("rr_max_ctx", 1, 0.3),
    WindowFeature("premature_share", 0, 0.3),
    WindowFeature("premature_count", 0, 3),
    WindowFeature("min_correlation_ctx", 1, 0.3),
    WindowFeature("max_deviation_ctx", 0, 1),
    WindowFeature("deviant_share", 0, 0.3),
    WindowFeature("deviant_count", 0, 3),
    WindowFeature("window_beat_correlation", 1, 0.3),
    WindowFeature("rr_msd_ctx", 0, 0.2),
    WindowFeature("max_amplitude_ctx", 0, 1),
    WindowFeature("max_width_ctx", 0, 1),
    WindowFeature("gap_activity", 0.1, 0.1),
    WindowFeature("gap_ratio", 1, 0.5),
    WindowFeature("gap_activity_max", 0.1, 0.2),
    WindowFeature("abs_log_hr_ratio", 0, 0.3),
    WindowFeature("max_abs_log_rr", 0, 0.3),
    WindowFeature("deviant_premature", 0, 3),
    WindowFeature("deviant_not_premature", 0, 3),
)
WINDOW_FEATURES: tuple[str, ...] = tuple(f.name for f in WINDOW_TABLE)
CONTEXT_WINDOW_FEATURES: tuple[str, ...] = tuple(f.name for f in CONTEXT_WINDOW_TABLE)
STEP_BEAT = len(BEAT_FEATURES) + len(CONTEXT_BEAT_FEATURES) + len(ATRIAL_BEAT_FEATURES)  # 20
STEP_WINDOW = len(WINDOW_FEATURES) + len(CONTEXT_WINDOW_FEATURES)  # 29, at every step
STEP_FEATURES = STEP_BEAT + STEP_WINDOW  # 49
CLIP = 8.0

# (value - centre) / scale of the window features, in the order WINDOW_FEATURES +
# CONTEXT_WINDOW_FEATURES.
WINDOW_CENTRE = np.array([f.centre for f in WINDOW_TABLE + CONTEXT_WINDOW_TABLE], np.float32)
WINDOW_SCALE = np.array([f.scale for f in WINDOW_TABLE + CONTEXT_WINDOW_TABLE], np.float32)


class LayoutParts(NamedTuple):
    beats: np.ndarray  # [N, T, 7] window-relative beat vectors (0 on padding)
    context_beats: np.ndarray  # [N, T, 6] patient-context beat vectors (0 on padding)
    window: np.ndarray  # [N, 9] window-relative features, raw values
    context_window: np.ndarray  # [N, 20] patient-context window features, raw values
    atrial_beats: np.ndarray  # [N, T, 7] rhythm and atrial beat vectors (0 on padding)


def model_input(parts: LayoutParts) -> np.ndarray:
    """The stored rows float32 [N, T * STEP_FEATURES] of the five parts."""
    beats = np.asarray(parts.beats, dtype=np.float32)
    n, t = beats.shape[:2]
    shapes = {
        "beats": (n, t, len(BEAT_FEATURES)),
        "context_beats": (n, t, len(CONTEXT_BEAT_FEATURES)),
        "window": (n, len(WINDOW_FEATURES)),
        "context_window": (n, len(CONTEXT_WINDOW_FEATURES)),
        "atrial_beats": (n, t, len(ATRIAL_BEAT_FEATURES)),
    }
    for name, shape in shapes.items():
        got = np.shape(getattr(parts, name))
        if got != shape:
            raise ECGError(f"model_input: {name} must be {list(shape)}, got {list(got)}")
    present = beats[:, :, :1] != 0
    window = np.concatenate([parts.window, parts.context_window], axis=1).astype(np.float32)
    scaled = (window - WINDOW_CENTRE) / WINDOW_SCALE
    steps = np.concatenate(
        [
            beats,
            np.where(present, parts.context_beats, 0.0).astype(np.float32),
            np.where(present, parts.atrial_beats, 0.0).astype(np.float32),
            np.broadcast_to(scaled[:, None, :], (n, t, STEP_WINDOW)),
        ],
        axis=2,
    )
    return np.ascontiguousarray(np.clip(steps, -CLIP, CLIP).reshape(n, -1), dtype=np.float32)


def split_model_input(signals: np.ndarray) -> LayoutParts:
    """Inverse of `model_input` (up to the [-8, 8] clip): the five parts, window features
    back in raw units."""
    x = np.asarray(signals, dtype=np.float32)
    if x.ndim != 2 or x.shape[1] % STEP_FEATURES:
        raise ECGError(
            f"split_model_input: signals must be [N, T * {STEP_FEATURES}], got {list(x.shape)}"
        )
    steps = x.reshape(x.shape[0], -1, STEP_FEATURES)
    nb, nc = len(BEAT_FEATURES), len(BEAT_FEATURES) + len(CONTEXT_BEAT_FEATURES)
    window = steps[:, 0, STEP_BEAT:] * WINDOW_SCALE + WINDOW_CENTRE
    return LayoutParts(
        beats=steps[:, :, :nb].copy(),
        context_beats=steps[:, :, nb:nc].copy(),
        window=window[:, : len(WINDOW_FEATURES)],
        context_window=window[:, len(WINDOW_FEATURES) :],
        atrial_beats=steps[:, :, nc:STEP_BEAT].copy(),
    )
