"""Signal conditioning shared by training data and inference: resample, filter, normalise."""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache

import numpy as np
from scipy import signal


def resample(x: np.ndarray, fs_in: float, fs_out: float) -> np.ndarray:
    """Polyphase resampling along the last axis (360 -> 250 Hz is up 25, down 36)."""
    ratio = Fraction(fs_out / fs_in).limit_denominator(1000)
    if ratio == 1:
        return np.asarray(x, dtype=np.float64)
    return signal.resample_poly(x, ratio.numerator, ratio.denominator, axis=-1)


@lru_cache(maxsize=16)
def _filters(fs: float, low: float, high: float, notch: float) -> np.ndarray:
    sos = signal.butter(4, [low, high], btype="bandpass", fs=fs, output="sos")
    if 0 < notch < fs / 2:
        b, a = signal.iirnotch(notch, Q=30.0, fs=fs)
        sos = np.vstack([sos, signal.tf2sos(b, a)])
    return sos


def bandpass_notch(
    x: np.ndarray, fs: float, *, band: tuple[float, float] = (0.5, 40.0), notch: float = 60.0
) -> np.ndarray:
    """Zero-phase 4th-order Butterworth band-pass plus a mains notch (last axis).

    `notch` is in Hz; 0 (or a frequency at or above fs/2, which the signal cannot hold) means
    no notch.
    """
    sos = _filters(float(fs), float(band[0]), float(band[1]), float(notch))
    return signal.sosfiltfilt(sos, x, axis=-1)


def normalise_window(x: np.ndarray) -> np.ndarray:
    """Z-score each window (last axis) from that window alone, as float32.

    Uses only the window itself, so one window at inference time is prepared exactly like
    the training data. A flat window maps to zeros instead of dividing by zero.
    """
    x = np.asarray(x, dtype=np.float64)
    centred = x - x.mean(axis=-1, keepdims=True)
    std = centred.std(axis=-1, keepdims=True)
    return (centred / np.maximum(std, 1e-6)).astype(np.float32)
