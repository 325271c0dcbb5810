"""Noise-stress helpers: noise (such as NSTDB's, `ecg.data.nstdb`) added to clean ECG at a set SNR.

The SNR follows the MIT-BIH Noise Stress Test Database (Moody, Muldrow & Mark 1984): the
signal power is taken from the QRS amplitude, S = (peak-to-peak QRS amplitude)^2 / 8 (the
power of a sinusoid with that peak-to-peak amplitude), and the noise power N is the mean
square of the noise after removing its mean; the noise is scaled so 10*log10(S/N) = SNR.
Used by the SQI tests, the noise benchmarks and the preprocess stage's training
augmentation (`ecg.data.augment`).
"""

from __future__ import annotations

import numpy as np


def qrs_peak_to_peak(
    ecg: np.ndarray, beat_samples: np.ndarray, fs: float, *, half_width_s: float = 0.05
) -> float:
    """Median over beats of max - min of `ecg` within +-`half_width_s` of each beat.

    `beat_samples` are reference beat positions (e.g. from the `.atr` annotations); this is
    for the noise-adding harness only, never for the SQI itself.
    """
    ecg = np.asarray(ecg, dtype=np.float64)
    half = max(1, round(half_width_s * fs))
    beats = np.asarray(beat_samples, dtype=np.int64)
    beats = beats[(beats >= half) & (beats < len(ecg) - half)]
    if beats.size == 0:
        raise ValueError("no beat lies far enough inside the signal to measure its QRS")
    segments = ecg[beats[:, None] + np.arange(-half, half + 1)[None, :]]
    return float(np.median(segments.max(axis=1) - segments.min(axis=1)))


def add_noise(ecg: np.ndarray, noise: np.ndarray, *, snr_db: float, qrs_pp: float) -> np.ndarray:
    """`ecg` + `noise` scaled so that 10*log10(S/N) = `snr_db` (NSTDB's definition).

    S = qrs_pp**2 / 8 and N = mean((noise - mean(noise))**2) over the noise given, which
    must be at least as long as `ecg` (its first len(ecg) samples are used). The noise's own
    mean is removed before scaling so that only its fluctuation is added.
    """
    ecg = np.asarray(ecg, dtype=np.float64)
    noise = np.asarray(noise, dtype=np.float64)
    if noise.shape[-1] < ecg.shape[-1]:
        raise ValueError(f"noise has {noise.shape[-1]} samples, ecg needs {ecg.shape[-1]}")
    if qrs_pp <= 0:
        raise ValueError(f"qrs_pp must be positive, got {qrs_pp}")
    noise = noise[..., : ecg.shape[-1]]
    noise = noise - noise.mean(axis=-1, keepdims=True)
    noise_power = float(np.mean(noise**2))
    if noise_power <= 0:
        raise ValueError("noise is constant; it has no power to scale")
    signal_power = qrs_pp**2 / 8.0
    gain = np.sqrt(signal_power / (noise_power * 10.0 ** (snr_db / 10.0)))
    return ecg + gain * noise
