"""Whether a window's activity is organised into beats, or is a continuous oscillation as in
ventricular fibrillation and flutter, where a QRS detector counts waves as beats.

The VF filter of Kuo and Dillman (Computers in Cardiology 1978, compared by Amann et al.,
IEEE TBME 2005): a window is filtered at its own mean period by the notch y[i] + y[i-N], with
N = round(pi * sum|y| / sum|y[i] - y[i-1]|); a sinusoid-like oscillation cancels itself
(`leakage` near 0), beats separated by a flat baseline do not (leakage near 1).

It misses slow fibrillation whose rate drifts within the window: a 3.5 Hz oscillation drifting
by +-1.5 Hz leaks 0.42-0.44 (measured at 128-500 Hz), above the threshold; and ventricular
flutter windows that hold some beats too. It only decides whether a heart rate is reported;
telling VT/VF from noise is a job for a detector of its own.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, sosfiltfilt

BAND_HZ = (1.0, 30.0)  # the filter's pre-filter, as published
FIBRILLATION_LEAKAGE = 0.406  # published threshold: below it, the window is VF-like


def vf_leakage(windows: np.ndarray, fs: float) -> np.ndarray:
    """[N] leakage of each row of `windows` [N, samples] sampled at `fs` Hz."""
    x = np.atleast_2d(np.asarray(windows, dtype=np.float64))
    sos = butter(2, BAND_HZ, btype="band", fs=fs, output="sos")
    y = sosfiltfilt(sos, x, axis=1)
    out = np.ones(len(y))
    for i, row in enumerate(y):
        slope = np.abs(np.diff(row)).sum()
        if slope == 0:
            continue  # a flat window holds no oscillation
        n = int(np.floor(np.pi * np.abs(row).sum() / slope + 0.5))
        if not 0 < n < len(row):
            continue
        a, b = row[n:], row[:-n]
        out[i] = np.abs(a + b).sum() / (np.abs(a).sum() + np.abs(b).sum())
    return out


def organised(windows: np.ndarray, fs: float) -> np.ndarray:
    """[N] bool: the window's activity is not a fibrillation-like oscillation."""
    return vf_leakage(windows, fs) >= FIBRILLATION_LEAKAGE
