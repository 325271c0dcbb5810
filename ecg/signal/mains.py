"""Which mains frequency a recording carries: 50 Hz (Europe, Asia, Africa, Australia) or
60 Hz (the Americas, MIT-BIH), read from its spectrum. The notch and the signal-quality index
leave out the mains the recording really has."""

from __future__ import annotations

import numpy as np
from scipy.signal import welch

MAINS_HZ = (50.0, 60.0)
PEAK_RATIO = 4.0  # mains band power over its neighbourhood's that counts as hum


def detect_mains(signal: np.ndarray, fs: float) -> float | None:
    """50.0 or 60.0 when that line stands out of the spectrum (the stronger of the two),
    else None (no measurable hum, or a rate too low to hold it)."""
    x = np.asarray(signal, dtype=np.float64)
    x = x[np.isfinite(x)]
    if len(x) < int(2 * fs) or fs / 2 <= max(MAINS_HZ) + 3:
        return None
    freqs, power = welch(x - x.mean(), fs=fs, nperseg=int(2 * fs))  # 0.5-Hz bins
    ratios = {}
    for hz in MAINS_HZ:
        line = power[np.abs(freqs - hz) <= 0.5].max()
        near = power[(np.abs(freqs - hz) > 1.5) & (np.abs(freqs - hz) <= 5.0)]
        ratios[hz] = line / max(float(np.median(near)), 1e-30)
    best = max(ratios, key=ratios.get)
    return best if ratios[best] >= PEAK_RATIO else None
