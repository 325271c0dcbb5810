"""The beat-layout rows of windows, identical in training and inference: window-relative
features from each window and its own detected beats, patient context from the record's
past (`ecg.features.context`, `ecg.features.atrial`)."""

from __future__ import annotations

import numpy as np

from ecg.features.atrial import lone_atrial, record_atrial
from ecg.features.beat_features import beat_representation
from ecg.features.context import lone_context, record_context
from ecg.features.layout import MAX_BEATS, LayoutParts, model_input
from ecg.signal.record_windows import ConditionedRecord
from ecg.signal.windows import beats_in_windows


def record_rows(rec: ConditionedRecord, beats: np.ndarray) -> np.ndarray:
    """Rows [W, MAX_BEATS * STEP_FEATURES] of a conditioned record's windows, from `beats`
    (detected in the whole record, samples at `rec.fs`)."""
    windows, starts, fs = rec.windows, rec.starts, rec.fs
    window = windows.shape[1]
    sequence, features = beat_representation(windows, beats_in_windows(beats, starts, window), fs)
    ctx_sequence, ctx_features = record_context(
        rec.filtered, beats, starts, window, fs, max_beats=MAX_BEATS
    )
    atrial = record_atrial(rec.filtered, beats, starts, window, fs, max_beats=MAX_BEATS)
    return model_input(LayoutParts(sequence, ctx_sequence, features, ctx_features, atrial))


def lone_rows(windows: np.ndarray, beats: list[np.ndarray], fs: float) -> np.ndarray:
    """Rows of windows with no record around them (synthetic data, a lone 10-s recording):
    each window is its own history."""
    windows = np.atleast_2d(windows)
    sequence, features = beat_representation(windows, beats, fs)
    ctx_sequence, ctx_features = lone_context(windows, beats, fs, max_beats=MAX_BEATS)
    atrial = lone_atrial(windows, beats, fs, max_beats=MAX_BEATS)
    return model_input(LayoutParts(sequence, ctx_sequence, features, ctx_features, atrial))
