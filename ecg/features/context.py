"""Patient context of a window: its beats against the record's recent past, as a monitor
knows its patient.

Everything is a function of one stretch of signal `x` that ENDS at the window's end: the
band-passed ECG (any unit, any rate `fs`) from the start of the available history, at most
`HISTORY_S` = 300 s before the window's end, with the window included; the beats detected in
it; and `w0`, the index in `x` where the window starts. Nothing after the window's end can
enter. A lone 10-s recording, or the first window of a record, is the same call with `x` the
window itself (`w0 = 0`): the window is its own history.

From the history:

- M, the median RR interval of all beats in `x` (no RR: every RR ratio is 1).
- The running dominant beat T (`ecg.features.beat_template`): the median of the latest
  typical beats' segments (-0.25 .. +0.40 s); with fewer than 3 beats there is no T and the
  morphology features are neutral. Each window beat's segment is aligned to T first.

Per window beat (`CONTEXT_BEAT_FEATURES`, 0 for an ordinary beat; ratios clipped to [0, 4]):
RR_prev / M - 1, RR_next / M - 1 (the next beat is inside the window, so this stays causal),
correlation with T - 1, ||beat - T|| / ||T||, peak-to-peak / T's - 1 and QRS width / T's - 1
(the width of `ecg.features.beat_features`). A beat has a morphology when T exists and its
QRS core (-0.10 .. +0.15 s) lies in `x`; the part of a segment past the window's end is
missing and left out of every statistic.

Per window (`CONTEXT_WINDOW_FEATURES`): M / median RR of the window (heart rate against the
usual), the shortest and longest RR ending at a window beat / M, the share and count of those
RRs < 0.85 M (premature), the lowest correlation and largest deviation against T, the share
and count of beats correlating < 0.9 with T (deviant), the window's own median beat against
T, mean |successive RR difference| / M, the largest |amplitude ratio - 1| and width ratio - 1,
and inter-beat "gap activity" (peak-to-peak of the signal from +0.40 s after a beat to 0.25 s
before the next, over T's peak-to-peak: the median and largest in the window and the median
against the history's). Four more combine them: |log heart-rate ratio|, the largest
|log RR_prev / M|, and the counts of deviant beats that are and are not premature.

No feature summarises the patient's history as a whole (ectopy burden, usual heart rate):
such features let a model recognise patients instead of rhythms (pooled AUROC 0.961 with
them, 0.968 without, gradient boosting, 5-fold subject CV).
"""

from __future__ import annotations

import numpy as np

from ecg.features.beat_features import qrs_width
from ecg.features.beat_template import (
    EPS,
    MIN_TEMPLATE,
    SampleScale,
    aligned_segments,
    centred_segments,
    compare_to_template,
    gap_activity,
    template_members,
    templates,
)
from ecg.features.grouped import group_medians, median, per_window, small_medians
from ecg.features.layout import CONTEXT_BEAT_FEATURES, CONTEXT_WINDOW_FEATURES

HISTORY_S = 300.0
PREMATURE = 0.85  # RR < 0.85 M
DEVIANT = 0.9  # correlation with T below this
CLIP = 4.0
_CHUNK = 256  # windows per batch: bounds the [windows, beats] arrays

# The value of each window feature for an ordinary window: no T, no RR, no beat.
_NEUTRAL = dict.fromkeys(CONTEXT_WINDOW_FEATURES, 0.0) | {
    "hr_ratio": 1.0,
    "rr_min_ctx": 1.0,
    "rr_max_ctx": 1.0,
    "min_correlation_ctx": 1.0,
    "window_beat_correlation": 1.0,
    "gap_ratio": 1.0,
}


def window_context(
    x: np.ndarray, beats: np.ndarray, w0: int, fs: float, *, max_beats: int
) -> tuple[np.ndarray, np.ndarray]:
    """(per-beat [max_beats, 6], window [20]) context features, float32.

    `x` the band-passed signal from the start of the history to the window's end; `beats`
    the detected beat indices in `x`; `w0` the window's first sample in `x`.
    """
    x = np.asarray(x, dtype=np.float64)
    one = np.zeros(1, dtype=np.int64)
    sequence, features = history_context(
        x, beats, one, one + w0, one + len(x), fs, max_beats=max_beats
    )
    return sequence[0], features[0]


def record_context(
    x: np.ndarray, beats: np.ndarray, starts: np.ndarray, window: int, fs: float, *, max_beats: int
) -> tuple[np.ndarray, np.ndarray]:
    """Context of every window of a record: per-beat [W, max_beats, 6] and window [W, 20].

    `x` the band-passed record, `beats` its detected beats, `starts` the windows' first
    samples; window w sees x from max(0, end - HISTORY_S) to its end only.
    """
    starts = np.asarray(starts, dtype=np.int64)
    end = starts + window
    lo = np.maximum(end - round(HISTORY_S * fs), 0)
    return history_context(x, beats, lo, starts, end, fs, max_beats=max_beats)


def lone_context(
    windows: np.ndarray, beats: list[np.ndarray], fs: float, *, max_beats: int
) -> tuple[np.ndarray, np.ndarray]:
    """`window_context` of each window [N, L] with no record around it (its own history)."""
    windows = np.atleast_2d(np.asarray(windows, dtype=np.float64))
    n, length = windows.shape
    starts = np.arange(n, dtype=np.int64) * length
    kept = [np.sort(np.asarray(b, dtype=np.int64).reshape(-1)) for b in beats]
    kept = [b[(b >= 0) & (b < length)] + s for b, s in zip(kept, starts, strict=True)]
    flat = np.concatenate(kept) if kept else np.zeros(0, dtype=np.int64)
    return history_context(
        windows.reshape(-1), flat, starts, starts, starts + length, fs, max_beats=max_beats
    )


def history_context(
    x: np.ndarray,
    beats: np.ndarray,
    lo: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    fs: float,
    *,
    max_beats: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Context of windows x[start:end], each with its history x[lo:end] (lo <= start): the
    same numbers as `window_context(x[lo:end], beats in it - lo, start - lo)` for each."""
    s = SampleScale(fs)
    x = np.asarray(x, dtype=np.float64)
    beats = np.sort(np.asarray(beats, dtype=np.int64).reshape(-1))
    beats = beats[(beats >= 0) & (beats < len(x))]
    record = _Record(x, beats, s)
    n = len(start)
    sequence = np.zeros((n, max_beats, len(CONTEXT_BEAT_FEATURES)), np.float32)
    features = np.zeros((n, len(CONTEXT_WINDOW_FEATURES)), np.float32)
    for a in range(0, n, _CHUNK):
        part = slice(a, a + _CHUNK)
        bounds = (np.asarray(v[part], dtype=np.int64) for v in (lo, start, end))
        sequence[part], features[part] = _windows(record, *bounds, max_beats)
    return sequence, features


class _Record:
    """What every window's history reads from the whole signal, computed once."""

    def __init__(self, x: np.ndarray, beats: np.ndarray, s: SampleScale) -> None:
        self.beats, self.s = beats, s
        self.rr = np.r_[np.diff(beats) / s.fs, np.nan]  # rr[j]: beat j to j + 1
        self.segments = centred_segments(x, beats, s)
        self.gaps = np.r_[gap_activity(x, beats, s), np.nan]  # gaps[j]: after beat j
        self.margin = s.pre + s.post + 2 * s.align + 1
        self.padded = np.full(len(x) + 2 * self.margin, np.nan)
        self.padded[self.margin : self.margin + len(x)] = x


def _windows(rec: _Record, lo, start, end, max_beats: int) -> tuple[np.ndarray, np.ndarray]:
    """`history_context` of one batch of windows: every step of `window_context` (the
    reference in tests/context_reference.py), for all windows at once."""
    s, beats, rr = rec.s, rec.beats, rec.rr
    n = len(start)
    first = np.searchsorted(beats, lo)  # history beats: first .. stop - 1
    stop = np.searchsorted(beats, end)
    in_window = np.searchsorted(beats, start)  # window beats: in_window .. stop - 1
    med = np.full(n, np.nan)
    for w in np.flatnonzero(stop - first >= 2):
        med[w] = median(rr[first[w] : stop[w] - 1])
    has_rr = np.isfinite(med) & (med > 0)
    safe = np.where(has_rr, med, 1.0)

    # the running dominant beat of each window's history
    b0, b1 = int(first.min(initial=0)), int(stop.max(initial=0))
    members = template_members(beats[b0:b1], rr[b0:b1], first - b0, stop - b0, lo, end, med, s)
    template = templates(rec.segments[b0:b1], members)
    has_t = members.any(1)

    # the window's beats: one entry per (window, beat), in window then time order
    k = stop - in_window
    pw = np.repeat(np.arange(n), k)  # window of each entry
    rank = np.arange(len(pw)) - np.repeat(np.cumsum(k) - k, k)  # the beat's place in it
    pj = in_window[pw] + rank  # the beat
    pb = beats[pj]
    after_first = pj > first[pw]  # not the history's first beat: RR_prev is known
    has_prev = after_first & has_rr[pw]
    rr_prev = rr[pj - 1]
    prev_ratio = np.clip(np.where(has_prev, rr_prev / safe[pw], 1.0), 0, CLIP)
    next_ok = (pj < stop[pw] - 1) & has_rr[pw]
    next_ratio = np.clip(np.where(next_ok, rr[pj] / safe[pw], 1.0), 0, CLIP)
    corr, dev, amp, wid = (np.full(len(pw), v) for v in (1.0, 0.0, 1.0, 1.0))
    morph = has_t[pw] & (pb - s.core_lo >= lo[pw]) & (pb + s.core_hi < end[pw])
    out = {name: np.full(n, value) for name, value in _NEUTRAL.items()}

    mi = np.flatnonzero(morph)
    if len(mi):
        mw = pw[mi]
        where = pb[mi, None] + np.arange(-s.pre - s.align, s.post + s.align + 1)
        ext = rec.padded[where + rec.margin]
        ext[(where < lo[mw, None]) | (where >= end[mw, None])] = np.nan
        seg = aligned_segments(ext, template, mw, s)
        seg = seg - np.nanmean(seg, 1, keepdims=True)
        c, d, a = compare_to_template(seg, template[mw])
        corr[mi], dev[mi], amp[mi] = c, np.clip(d, 0, CLIP), np.clip(a, 0, CLIP)
        w_beat = qrs_width(np.nan_to_num(seg[:, s.core]), s.smooth)
        w_template = qrs_width(np.nan_to_num(template[:, s.core]), s.smooth)
        wid[mi] = np.clip(w_beat / np.maximum(w_template[mw], EPS), 0, CLIP)
        n_morph = np.bincount(mw, minlength=n)
        deviant = corr[mi] < DEVIANT
        n_deviant = np.bincount(mw, weights=deviant, minlength=n)
        some = n_morph > 0
        found = {
            "min_correlation_ctx": per_window(np.minimum, corr[mi], mw, n, 1.0),
            "max_deviation_ctx": per_window(np.maximum, dev[mi], mw, n, 0.0),
            "deviant_share": n_deviant / np.maximum(n_morph, 1),
            "deviant_count": n_deviant,
            "max_amplitude_ctx": per_window(np.maximum, np.abs(amp[mi] - 1), mw, n, 0.0),
            "max_width_ctx": per_window(np.maximum, wid[mi] - 1, mw, n, 0.0),
        }
        for name, value in found.items():
            out[name] = np.where(some, value, out[name])
        own_ok = n_morph >= MIN_TEMPLATE
        if own_ok.any():  # the window's own median beat against T
            ws = np.flatnonzero(own_ok)
            own = group_medians(seg, mw, n)[ws]
            out["window_beat_correlation"][ws] = compare_to_template(own, template[ws])[0]

    sequence = np.zeros((n, max_beats, len(CONTEXT_BEAT_FEATURES)), np.float32)
    rows = np.stack([prev_ratio - 1, next_ratio - 1, corr - 1, dev, amp - 1, wid - 1], 1)
    keep = rank < max_beats
    sequence[pw[keep], rank[keep]] = rows[keep]

    # RR intervals ending at window beats (the first one's from the history, if any)
    inner = rank >= 1
    median_inner = small_medians(rr_prev[inner], pw[inner], n)
    ok = has_rr & (np.bincount(pw[inner], minlength=n) > 0)
    out["hr_ratio"] = np.where(ok, np.clip(safe / median_inner, 0, CLIP), 1.0)
    ew = pw[after_first]  # window of each RR ending at one of its beats
    ending = rr_prev[after_first]
    n_end = np.bincount(ew, minlength=n)
    ok = has_rr & (n_end > 0)
    ratios = np.clip(ending / safe[ew], 0, CLIP)
    premature = np.bincount(ew, weights=ending < PREMATURE * med[ew], minlength=n)
    rr_found = {
        "rr_min_ctx": per_window(np.minimum, ratios, ew, n, 1.0),
        "rr_max_ctx": per_window(np.maximum, ratios, ew, n, 1.0),
        "premature_share": premature / np.maximum(n_end, 1),
        "premature_count": premature,
    }
    for name, value in rr_found.items():
        out[name] = np.where(ok, value, out[name])
    out["rr_msd_ctx"] = np.where(ok & (n_end >= 2), _rr_msd(rr, stop, n_end, safe), 0.0)

    # inter-beat activity against T's peak-to-peak
    scale = np.maximum(template.max(1) - template.min(1), EPS)  # NaN: no T
    gap = rec.gaps[pj - 1][after_first] / scale[ew]
    finite = np.isfinite(gap)
    n_gap = np.bincount(ew[finite], minlength=n)
    ok = has_t & (n_gap > 0)
    median_gap = small_medians(np.where(finite, gap, np.nan), ew, n)
    largest = per_window(np.maximum, np.where(finite, gap, -np.inf), ew, n, -np.inf)
    usual = np.full(n, np.nan)
    for w in np.flatnonzero(ok):
        g = rec.gaps[first[w] : stop[w] - 1] / scale[w]
        usual[w] = median(g[np.isfinite(g)])
    out["gap_activity"] = np.where(ok, np.minimum(median_gap, CLIP), 0.0)
    out["gap_activity_max"] = np.where(ok, np.minimum(largest, CLIP), 0.0)
    gap_ratio = np.minimum(median_gap / np.maximum(usual, 0.02), CLIP)
    out["gap_ratio"] = np.where(ok, gap_ratio, 1.0)

    premature_beat = has_prev & (prev_ratio < PREMATURE)
    deviant_beat = morph & (corr < DEVIANT)
    out["abs_log_hr_ratio"] = np.abs(np.log(np.maximum(out["hr_ratio"], 0.05)))
    log_rr = np.abs(np.log(np.clip(prev_ratio[has_prev], 0.05, None)))
    out["max_abs_log_rr"] = per_window(np.maximum, log_rr, pw[has_prev], n, 0.0)
    both = deviant_beat & premature_beat
    out["deviant_premature"] = np.bincount(pw[both], minlength=n).astype(np.float64)
    only = deviant_beat & ~premature_beat
    out["deviant_not_premature"] = np.bincount(pw[only], minlength=n).astype(np.float64)
    features = np.stack([out[name] for name in CONTEXT_WINDOW_FEATURES], 1).astype(np.float32)
    return sequence, features


def _rr_msd(rr: np.ndarray, stop: np.ndarray, n_end: np.ndarray, safe: np.ndarray) -> np.ndarray:
    """Mean |successive difference| of the RRs ending at each window's beats / M, clipped;
    windows with the same count are averaged together (the same sums as one at a time)."""
    out = np.zeros(len(stop))
    for m in np.unique(n_end[n_end >= 2]):
        ws = np.flatnonzero(n_end == m)
        ending = rr[(stop[ws] - 1 - m)[:, None] + np.arange(m)]
        out[ws] = np.minimum(np.abs(np.diff(ending, axis=1)).mean(1) / safe[ws], CLIP)
    return out
