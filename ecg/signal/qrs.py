"""QRS detection: a Pan-Tompkins-style detector for single-lead ECG at any sampling rate.

The signal is band-passed (zero-phase Butterworth, 5-15 Hz, where QRS energy dominates P/T waves
and baseline wander), differentiated, squared and smoothed by a centred 150 ms moving-window
integrator (MWI).  Local maxima of the MWI at least one refractory period (300 ms) apart are the
candidates; each is scored by the square root of its MWI height (amplitude units, so the adaptive
threshold tolerates beat-to-beat amplitude changes that squaring would exaggerate) and by its
maximum band-passed slope.  Candidates are visited in time order (a plain Python loop over a few
thousand candidates) with Pan-Tompkins' adaptive signal/noise levels: a candidate above
``noise + threshold_frac * (signal - noise)`` is a beat unless it lies within 360 ms of the
previous beat with less than half of its height or slope (a T wave); when a beat arrives within
360 ms of a previous beat with less than half its height or slope, that earlier "beat" was a P
wave or an artefact leading the QRS and is withdrawn.  After 1.66 mean RR intervals without a
beat, a search-back accepts the largest skipped candidate above half the threshold that lies at
least 360 ms after the last beat, so long pauses are only filled by real, if small, complexes.
Each beat is finally placed on the largest absolute deflection of a 3-25 Hz copy within +-75 ms
(the R or QS peak, where the MIT-BIH fiducials sit).  The 300 ms refractory period caps the rate
at 200 bpm: on MIT-BIH it removes many P-wave and ventricular-flutter false positives and costs
the few beats of runs faster than that (39 of ~100k RR intervals are shorter); pass
``refractory_s=0.25`` or less for faster rhythms.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import signal as sps
from scipy.ndimage import maximum_filter1d

__all__ = ["detect_qrs"]


@lru_cache(maxsize=16)
def _bandpass(fs: float, low: float, high: float) -> np.ndarray:
    return sps.butter(2, [low, high], btype="bandpass", fs=fs, output="sos")


def _empty() -> np.ndarray:
    return np.zeros(0, dtype=np.int64)


def detect_qrs(
    signal: np.ndarray,
    fs: float,
    *,
    band: tuple[float, float] = (5.0, 15.0),
    mwi_s: float = 0.15,
    refractory_s: float = 0.3,
    t_wave_s: float = 0.36,
    threshold_frac: float = 0.3,
    t_ratio: float = 0.5,
    p_ratio: float = 0.5,
    searchback_rr: float = 1.66,
    searchback_frac: float = 0.5,
    refine_s: float = 0.075,
    refine_band: tuple[float, float] = (3.0, 25.0),
) -> np.ndarray:
    """Sample indices (int64, sorted, unique) of the QRS complexes in the 1-D `signal`.

    `fs` is the sampling rate in Hz; every duration argument is in seconds, so the defaults hold
    at any rate.  Works on whole records or on short windows (a beat within ~100 ms of either end
    may be missed).  Non-finite samples are treated as zeros.
    """
    x = np.nan_to_num(np.asarray(signal, dtype=np.float64).ravel())
    fs = float(fs)
    n = x.size
    # sosfiltfilt needs a few filter lengths of signal; shorter input holds no usable beat anyway
    if n < max(int(0.5 * fs), 16):
        return _empty()
    bp = sps.sosfiltfilt(_bandpass(fs, band[0], min(band[1], 0.45 * fs)), x)
    der = np.gradient(bp) * fs
    w = max(1, int(round(mwi_s * fs)))
    mwi = np.convolve(der * der, np.ones(w) / w, mode="same")  # centred: no group delay
    peaks, _ = sps.find_peaks(mwi, distance=max(1, int(refractory_s * fs)))
    if peaks.size == 0:
        return _empty()
    amp = np.sqrt(mwi[peaks])
    half = max(1, int(round(refine_s * fs)))
    slope = maximum_filter1d(np.abs(der), 2 * half + 1)[peaks]

    # Learning phase: the signal level starts at 3/4 of the largest candidate of the first 4 s.
    # Starting low lets P waves in and the threshold then settles between P and QRS (record 108);
    # starting at the maximum misses small beats after a big PVC on a lone 10 s window.
    first = amp[peaks < int(4 * fs)]
    spk = 0.75 * float(first.max() if first.size else amp.max())
    if not spk > 1e-9 * fs * float(np.abs(x).max()):
        return _empty()  # flat signal: the "peaks" are floating-point rounding noise
    npk = 0.5 * float(np.median(first)) if first.size else 0.0
    t_wave = int(t_wave_s * fs)

    beats: list[int] = []  # indices into `peaks`
    rr: list[int] = []  # last 8 RR intervals, samples
    spk_before: list[float] = []  # signal level before each beat, to undo a withdrawn beat
    noise: list[int] = []  # rejected candidates since the last beat (search-back pool)

    def threshold() -> float:
        return npk + threshold_frac * (spk - npk)

    def is_t_wave(i: int) -> bool:
        return (
            bool(beats)
            and peaks[i] - peaks[beats[-1]] < t_wave
            and min(amp[i] / amp[beats[-1]], slope[i] / slope[beats[-1]]) < t_ratio
        )

    def accept(i: int, weight: float) -> None:
        nonlocal spk
        spk_before.append(spk)
        spk = weight * amp[i] + (1.0 - weight) * spk
        if beats:
            rr.append(int(peaks[i] - peaks[beats[-1]]))
            del rr[:-8]
        beats.append(i)

    for i in range(peaks.size):
        p = peaks[i]
        # Search-back: a gap of 1.66 mean RR means a beat was probably missed below threshold.
        # Only candidates beyond the T-wave zone qualify, so a pause gets no T wave as a beat.
        while beats and noise:
            last = peaks[beats[-1]]
            if p - last <= searchback_rr * (np.mean(rr) if rr else fs):
                break
            floor = searchback_frac * threshold()
            pool = [j for j in noise if peaks[j] >= last + t_wave and amp[j] > floor]
            if not pool:
                break
            j = max(pool, key=lambda k: amp[k])
            noise = [k for k in noise if k > j]
            accept(j, 0.25)
        if amp[i] > threshold() and not is_t_wave(i):
            if (
                beats
                and p - peaks[beats[-1]] < t_wave
                and min(amp[beats[-1]] / amp[i], slope[beats[-1]] / slope[i]) < p_ratio
            ):
                # The previous "beat" was a P wave or artefact just before this QRS: withdraw it.
                beats.pop()
                spk = spk_before.pop()
                if rr and beats:
                    rr.pop()
            accept(i, 0.125)
            noise = []
        else:
            npk = 0.125 * amp[i] + 0.875 * npk
            noise.append(i)

    if not beats:
        return _empty()
    pos = peaks[np.asarray(beats, dtype=np.int64)]
    # Fiducial: largest |deflection| of a wider-band (3-25 Hz) copy within +-refine_s, i.e. the
    # R (or QS) peak.  On MIT-BIH this agrees with the annotations better than the 5-15 Hz signal
    # or the MWI peak: median error 0, 99% of matched beats within 28 ms.
    wide = sps.sosfiltfilt(_bandpass(fs, refine_band[0], min(refine_band[1], 0.45 * fs)), x)
    env = np.pad(np.abs(wide), half, constant_values=-1.0)  # -1: never pick the padding
    windows = np.lib.stride_tricks.sliding_window_view(env, 2 * half + 1)[pos]
    out = pos - half + np.argmax(windows, axis=1)
    return np.unique(out).astype(np.int64)
