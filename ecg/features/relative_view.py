"""The patient-relative view of a window for the design's DeepSNN: the window minus the
patient's running dominant beat placed at each detected beat, so what stays is what is
unusual for this patient (an ectopic beat, a changed rhythm, noise), in units of the dominant
beat's height.

Causal like `ecg.features.context`: T comes from the record's past up to the window's end
(at most `HISTORY_S`). Without a dominant beat (fewer than 3 beats of history) the view is
the window over its own peak-to-peak.
"""

from __future__ import annotations

import numpy as np

from ecg.features.beat_template import SEGMENT_S, dominant_beat
from ecg.features.context import HISTORY_S

GAIN = 4.0  # a residual as large as a dominant beat reads like a z-scored R peak
CLIP = 8.0


def relative_view(x: np.ndarray, beats: np.ndarray, w0: int, window: int, fs: float) -> np.ndarray:
    """float32 [window] view of x[w0 : w0 + window]; `x` the band-passed history ending at the
    window's end, `beats` the detected beats in `x`."""
    x = np.asarray(x, dtype=np.float64)
    seg = x[w0 : w0 + window] - np.median(x[w0 : w0 + window])
    template = dominant_beat(x, beats, fs)
    if template is None:
        scale = max(float(np.ptp(seg)), 1e-9)
        return np.clip(GAIN * seg / scale, -CLIP, CLIP).astype(np.float32)
    pre = round(SEGMENT_S[0] * fs)
    residual = seg.copy()
    for b in np.asarray(beats, dtype=np.int64):
        lo, hi = b - pre - w0, b - pre - w0 + len(template)
        a, z = max(lo, 0), min(hi, window)
        if a < z:
            residual[a:z] -= template[a - lo : z - lo]
    scale = max(float(np.ptp(template)), 1e-9)
    return np.clip(GAIN * residual / scale, -CLIP, CLIP).astype(np.float32)


def record_relative_views(
    filtered: np.ndarray, beats: np.ndarray, starts: np.ndarray, window: int, fs: float
) -> np.ndarray:
    """[W, window] views of a record's windows (`filtered` band-passed, all at `fs`)."""
    beats = np.sort(np.asarray(beats, dtype=np.int64))
    history = round(HISTORY_S * fs)
    out = np.empty((len(starts), window), dtype=np.float32)
    for i, start in enumerate(np.asarray(starts, dtype=np.int64)):
        end = int(start) + window
        lo = max(0, end - history)
        past = beats[(beats >= lo) & (beats < end)] - lo
        out[i] = relative_view(filtered[lo:end], past, int(start) - lo, window, fs)
    return out
