"""A whole recording conditioned and cut into windows: the one preparation that training
data (`ecg.data.windows`) and inference (`ecg.inference`) share."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecg.core.errors import ECGError
from ecg.signal.conditioning import bandpass_notch, normalise_window, resample
from ecg.signal.windows import segment_windows


@dataclass(frozen=True)
class ConditionedRecord:
    fs: float  # Hz of every array below
    raw: np.ndarray  # [n] resampled, unfiltered (what the QRS detector and the SQI read)
    filtered: np.ndarray  # [n] band-passed and notched over the whole recording
    starts: np.ndarray  # int64 [W] window starts, samples at `fs`
    windows: np.ndarray  # float32 [W, window] z-scored windows of `filtered`

    @property
    def raw_windows(self) -> np.ndarray:
        """[W, window] unfiltered windows (SQI input)."""
        return self.raw[self.starts[:, None] + np.arange(self.windows.shape[1])]


def condition_record(
    signal: np.ndarray,
    fs_in: float,
    *,
    fs: float,
    window: int,
    stride: int,
    band: tuple[float, float],
    notch: float,
    name: str = "recording",
) -> ConditionedRecord:
    """Resample to `fs`, filter the whole recording (so no window has filter edges), cut
    whole windows of `window` samples `stride` apart (a shorter tail is left out), z-score
    each. `ECGError` naming `name` when the signal is shorter than one window."""
    raw = resample(np.asarray(signal, dtype=np.float64), fs_in, fs)
    starts = segment_windows(len(raw), window, stride)
    if len(starts) == 0:
        raise ECGError(
            f"{name}: {len(raw) / fs:.1f} s of signal is shorter than one "
            f"{window / fs:.1f} s window"
        )
    filtered = bandpass_notch(raw, fs, band=band, notch=notch)
    windows = normalise_window(filtered[starts[:, None] + np.arange(window)])
    return ConditionedRecord(float(fs), raw, filtered, starts, windows)
