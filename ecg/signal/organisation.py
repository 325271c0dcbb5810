"""Whether a window's activity is organised into beats, or is a continuous oscillation as in
ventricular fibrillation and flutter, where a QRS detector counts waves as beats.

The VF filter of Kuo and Dillman (Computers in Cardiology 1978, compared by Amann et al.,
IEEE TBME 2005): a window is filtered at its own mean period by the notch y[i] + y[i-N], with
N = round(pi * sum|y| / sum|y[i] - y[i-1]|); a sinusoid-like oscillation cancels itself
(`leakage` near 0), beats separated by a flat baseline do not (leakage near 1).

It misses slow fibrillation whose rate drifts within the window: a 3.5 Hz oscillation drifting
by +-1.5 Hz leaks 0.42-0.44 (measured at 128-500 Hz), above the threshold; and ventricular
flutter windows that hold some beats too. It only decides whether a heart rate is reported;
the VT/VF alarm is `ecg.signal.ventricular`'s.
"""

from __future__ import annotations

import numpy as np

from ecg.signal.ventricular import ventricular_evidence

FIBRILLATION_LEAKAGE = 0.406  # published threshold: below it, the window is VF-like


def vf_leakage(windows: np.ndarray, fs: float) -> np.ndarray:
    """[N] leakage of each row of `windows` [N, samples] sampled at `fs` Hz (pre-filtered
    1-30 Hz, as published; computed by `ecg.signal.ventricular`)."""
    return np.atleast_1d(ventricular_evidence(np.atleast_2d(windows), fs)["leakage"])


def organised(windows: np.ndarray, fs: float) -> np.ndarray:
    """[N] bool: the window's activity is not a fibrillation-like oscillation."""
    return vf_leakage(windows, fs) >= FIBRILLATION_LEAKAGE
