"""Rhythm and atrial evidence of each beat against the patient's own recent beats.

Supraventricular ectopic beats have a normal QRS: what tells them apart is that they come
early for THIS patient's recent rhythm and that their P wave is missing, reshaped or early.
Pre-excitation (short PR, slurred QRS upstroke) and AV block (P waves without a QRS) are read
from the same P-wave and QRS-onset evidence.

Every value of beat j is a function of the beats up to j and of the signal from HISTORY_S
before beat j to HORIZON_S after it, nothing later (`beat_atrial`); a window's beat closer
than HORIZON_S to the window's end gets the neutral 0 for the values read from the signal.
Per beat (`ATRIAL_BEAT_FEATURES`, 0 for an ordinary beat or without enough history):

    rr_local       RR_prev / mean of the LOCAL_RR RR intervals before it - 1
    rr_long        RR_prev / median of the RR intervals ending in the HISTORY_S before it - 1
    p_correlation  correlation of the beat's P segment (P_S before the fiducial, linear trend
                   removed) with the running dominant P segment - 1
    p_amplitude    RMS of that segment / the dominant one's - 1
    pr_shift       (P peak to fiducial) - the dominant beat's, in units of PR_UNIT_S
    gap_p          best match (correlation, where the peak-to-peak is 0.5-2x the dominant
                   P's) of the dominant P segment starting inside the RR interval ending at
                   the beat, from GAP_S[0] after the previous beat to GAP_S[1] before this one
    onset_slope    QRS upstroke: the area of |slope| / its largest within ONSET_S, up to
                   where it first reaches 80 % of the largest (a slurred upstroke, a delta
                   wave, adds area), in seconds - the dominant beat's, in ONSET_UNIT_S

The dominant segment is the elementwise median of the latest TEMPLATE_BEATS typical beats
before beat j (RR_prev within 0.85-1.15 of its local mean, not followed by an RR below 0.85
of it); with fewer than MIN_TYPICAL there is none and the signal values are 0. Ratios are clipped to
[0, 4], shifts to [-4, 4]. Every duration is in seconds, so the values do not depend on fs.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import uniform_filter1d

from ecg.features.layout import ATRIAL_BEAT_FEATURES

HISTORY_S = 300.0
HORIZON_S = 0.05  # signal read after a beat's fiducial (the QRS onset search)
LOCAL_RR = 8
MIN_RR = 3  # RR intervals needed for a local or long-run reference
P_S = (0.30, 0.08)  # the P segment: from 0.30 s to 0.08 s before the fiducial
ONSET_S = (0.12, HORIZON_S)  # the QRS onset search, around the fiducial
GAP_S = (0.35, 0.25)  # inter-beat stretch searched for a P wave without its QRS
TYPICAL = (0.85, 1.15)
TEMPLATE_BEATS = 16
MIN_TYPICAL = 3
PR_UNIT_S = 0.04
ONSET_UNIT_S = 0.01
SLOPE_SMOOTH_S = 0.008
CLIP = 4.0
EPS = 1e-9


class _Scale:
    """Sample counts of the durations above at one sampling rate."""

    def __init__(self, fs: float) -> None:
        self.fs = float(fs)
        self.pre = round(P_S[0] * fs)  # segment: -pre .. +post around the fiducial
        self.post = round(HORIZON_S * fs)
        self.p = slice(0, self.pre - round(P_S[1] * fs) + 1)
        self.onset = slice(self.pre - round(ONSET_S[0] * fs), self.pre + self.post + 1)
        self.gap = (round(GAP_S[0] * fs), round(GAP_S[1] * fs))
        self.smooth = max(1, round(SLOPE_SMOOTH_S * fs))
        self.history = round(HISTORY_S * fs)


def beat_atrial(x: np.ndarray, beats: np.ndarray, fs: float) -> np.ndarray:
    """[len(beats), 7] float32 values of each beat of `x` (sorted beat samples)."""
    s = _Scale(fs)
    x = np.nan_to_num(np.asarray(x, dtype=np.float64))
    beats = np.asarray(beats, dtype=np.int64)
    n = len(beats)
    out = np.zeros((n, len(ATRIAL_BEAT_FEATURES)))
    if n < 2:
        return out.astype(np.float32)
    rr_prev = np.r_[np.nan, np.diff(beats) / s.fs]
    local = _local_mean(rr_prev)
    out[:, 0] = _ratio(rr_prev, local) - 1
    out[:, 1] = _ratio(rr_prev, _long_median(rr_prev, beats, s.history)) - 1

    whole = (beats - s.pre >= 0) & (beats + s.post < len(x))
    seg = np.zeros((n, s.pre + s.post + 1))
    seg[whole] = x[beats[whole, None] + np.arange(-s.pre, s.post + 1)]
    p_seg = _detrend(seg[:, s.p])
    with np.errstate(invalid="ignore"):
        rr_next = np.r_[rr_prev[1:], np.nan]
        typical = (
            whole
            & (rr_prev >= TYPICAL[0] * local)
            & (rr_prev <= TYPICAL[1] * local)
            & ~(rr_next < TYPICAL[0] * local)
        )
    template, has_t = _running_median(seg, typical)
    ok = whole & has_t
    if not ok.any():
        return out.astype(np.float32)
    t_p = _detrend(template[:, s.p])
    corr = _correlation(p_seg, t_p)
    p2p_t = np.ptp(t_p, 1)
    amp = np.clip(p_seg.std(1) / np.maximum(t_p.std(1), EPS), 0, CLIP)
    # the P peak in the dominant P's polarity
    rows = np.arange(n)
    sign = np.sign(t_p[rows, np.abs(t_p).argmax(1)])[:, None]
    pr = (s.p.stop - np.argmax(sign * p_seg, 1)) - (s.p.stop - np.argmax(sign * t_p, 1))
    onset = _upstroke(seg[:, s.onset], s) - _upstroke(template[:, s.onset], s)
    gap = _gap_match(x, beats, t_p, p2p_t, ok, s)
    out[ok, 2] = corr[ok] - 1
    out[ok, 3] = amp[ok] - 1
    out[ok, 4] = np.clip(pr[ok] / s.fs / PR_UNIT_S, -CLIP, CLIP)
    out[ok, 5] = gap[ok]
    out[ok, 6] = np.clip(onset[ok] / s.fs / ONSET_UNIT_S, -CLIP, CLIP)
    return out.astype(np.float32)


def record_atrial(
    x: np.ndarray, beats: np.ndarray, starts: np.ndarray, window: int, fs: float, *, max_beats: int
) -> np.ndarray:
    """[W, max_beats, 7]: the values of each window's beats (step t the window's t-th beat) in
    the record `x`; a beat closer than HORIZON_S to its window's end keeps only its RR values,
    so nothing after a window's end enters."""
    beats = np.sort(np.asarray(beats, dtype=np.int64).reshape(-1))
    beats = beats[(beats >= 0) & (beats < len(x))]
    values = beat_atrial(x, beats, fs)
    starts = np.asarray(starts, dtype=np.int64)
    out = np.zeros((len(starts), max_beats, len(ATRIAL_BEAT_FEATURES)), np.float32)
    lo = np.searchsorted(beats, starts)
    hi = np.minimum(np.searchsorted(beats, starts + window), lo + max_beats)
    post = _Scale(fs).post
    for w in range(len(starts)):
        rows = values[lo[w] : hi[w]].copy()
        rows[beats[lo[w] : hi[w]] + post >= starts[w] + window, 2:] = 0.0
        out[w, : len(rows)] = rows
    return out


def lone_atrial(
    windows: np.ndarray, beats: list[np.ndarray], fs: float, *, max_beats: int
) -> np.ndarray:
    """`record_atrial` of each window [N, L] with no record around it (its own history)."""
    windows = np.atleast_2d(np.asarray(windows, dtype=np.float64))
    out = np.zeros((len(windows), max_beats, len(ATRIAL_BEAT_FEATURES)), np.float32)
    for w, (x, b) in enumerate(zip(windows, beats, strict=True)):
        out[w] = record_atrial(x, b, np.zeros(1, np.int64), len(x), fs, max_beats=max_beats)[0]
    return out


def _ratio(rr: np.ndarray, ref: np.ndarray) -> np.ndarray:
    ok = np.isfinite(rr) & np.isfinite(ref) & (ref > 0)
    return np.where(ok, np.clip(rr / np.where(ok, ref, 1.0), 0, CLIP), 1.0)


def _local_mean(rr_prev: np.ndarray) -> np.ndarray:
    """Mean of the up to LOCAL_RR RR intervals before each beat's RR_prev (NaN: < MIN_RR)."""
    n = len(rr_prev)
    c = np.r_[0.0, np.cumsum(np.nan_to_num(rr_prev))]
    j = np.arange(n)
    a = np.maximum(j - LOCAL_RR, 1)  # rr_prev[a .. j - 1]
    count = np.maximum(j - a, 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count >= MIN_RR, (c[np.maximum(j, a)] - c[a]) / count, np.nan)


def _long_median(rr_prev: np.ndarray, beats: np.ndarray, history: int) -> np.ndarray:
    """Median of the RR intervals ending in the `history` samples before each beat, RR_prev
    left out (NaN: < MIN_RR)."""
    first = np.maximum(np.searchsorted(beats, beats - history), 1)
    out = np.full(len(beats), np.nan)
    for j in np.flatnonzero(np.arange(len(beats)) - first >= MIN_RR):
        out[j] = np.median(rr_prev[first[j] : j])
    return out


def _detrend(seg: np.ndarray) -> np.ndarray:
    """Each row minus its least-squares line."""
    t = np.linspace(-1, 1, seg.shape[1])
    centred = seg - seg.mean(1, keepdims=True)
    return centred - np.outer(centred @ t / (t @ t), t)


def _running_median(seg: np.ndarray, typical: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Elementwise median of the latest TEMPLATE_BEATS typical rows before each row, and
    whether there were MIN_TYPICAL of them."""
    before = np.r_[0, np.cumsum(typical)][:-1]  # typical rows before row j
    rows = seg[typical]
    out = np.zeros_like(seg)
    done: dict[int, np.ndarray] = {}  # beats after the same typical ones share a median
    for j in np.flatnonzero(before >= MIN_TYPICAL):
        c = int(before[j])
        if c not in done:
            done[c] = np.median(rows[max(c - TEMPLATE_BEATS, 0) : c], 0)
        out[j] = done[c]
    return out, before >= MIN_TYPICAL


def _correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean(1, keepdims=True)
    b = b - b.mean(1, keepdims=True)
    norm = np.sqrt((a * a).sum(1) * (b * b).sum(1))
    return np.clip((a * b).sum(1) / np.maximum(norm, EPS), -1, 1)


def _upstroke(seg: np.ndarray, s: _Scale) -> np.ndarray:
    """Area (samples) of |slope| / its largest, from the start of `seg` to where it first
    reaches 80 % of the largest (the first steep deflection, however the beat's later ones
    compare)."""
    slope = np.abs(np.diff(uniform_filter1d(seg, s.smooth, axis=1), axis=1))
    scaled = slope / np.maximum(slope.max(1, keepdims=True), EPS)
    peak = np.argmax(scaled >= 0.8, 1)
    return np.where(np.arange(slope.shape[1]) < peak[:, None], scaled, 0.0).sum(1)


def _gap_match(x, beats, t_p, p2p_t, ok, s: _Scale) -> np.ndarray:
    """Best correlation of the dominant P segment inside each beat's preceding gap, among
    the positions whose peak-to-peak is 0.5-2x the dominant P's (0: none)."""
    out = np.zeros(len(beats))
    width = t_p.shape[1]
    for j in np.flatnonzero(ok[1:]) + 1:
        a, b = beats[j - 1] + s.gap[0], beats[j] - s.gap[1]
        if b - a < width:
            continue
        view = np.lib.stride_tricks.sliding_window_view(x[a:b], width)
        p2p = np.ptp(view, 1)
        fit = (p2p >= 0.5 * p2p_t[j]) & (p2p <= 2 * p2p_t[j])
        if fit.any():
            corr = _correlation(_detrend(view[fit]), t_p[j][None, :])
            out[j] = max(corr.max(), 0.0)
    return out
