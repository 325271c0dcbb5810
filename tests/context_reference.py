"""The patient-context features as first written, one window at a time: the reference that
`ecg.features.context` (all windows of a record at once) must reproduce bit for bit, so that
the vectorised code computes the very numbers the models were trained on. Frozen: a change of
the features' definition changes this file and the library together, on purpose."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import uniform_filter1d

from ecg.features.layout import CONTEXT_BEAT_FEATURES, CONTEXT_WINDOW_FEATURES

SEGMENT_S = (0.25, 0.40)
CORE_S = (0.10, 0.15)
ALIGN_S = 0.048
GAP_MIN_S = 0.1
WIDTH_SMOOTH_S = 0.02
TYPICAL = (0.8, 1.2)
MAX_TEMPLATE_BEATS = 256
MIN_TYPICAL = 8
MIN_TEMPLATE = 3
EPS = 1e-9
_EPS = EPS
PREMATURE = 0.85
DEVIANT = 0.9
CLIP = 4.0
_NEUTRAL = dict.fromkeys(CONTEXT_WINDOW_FEATURES, 0.0) | {
    "hr_ratio": 1.0,
    "rr_min_ctx": 1.0,
    "rr_max_ctx": 1.0,
    "min_correlation_ctx": 1.0,
    "window_beat_correlation": 1.0,
    "gap_ratio": 1.0,
}


class SampleScale:
    """Sample counts of the durations above at one sampling rate."""

    def __init__(self, fs: float) -> None:
        self.fs = float(fs)
        self.pre, self.post = round(SEGMENT_S[0] * fs), round(SEGMENT_S[1] * fs)
        self.width = self.pre + self.post + 1
        self.core = slice(self.pre - round(CORE_S[0] * fs), self.pre + round(CORE_S[1] * fs) + 1)
        self.core_lo, self.core_hi = round(CORE_S[0] * fs), round(CORE_S[1] * fs)
        self.align = round(ALIGN_S * fs)
        self.gap_min = round(GAP_MIN_S * fs)
        self.smooth = max(1, round(WIDTH_SMOOTH_S * fs))
        # lags in tie-break order: 0, -1, 1, -2, 2, ...
        self.lags = np.array(sorted(range(-self.align, self.align + 1), key=lambda v: (abs(v), v)))


class PaddedSignal:
    """x padded with NaN once, so that segments around any centre can be sliced from it."""

    def __init__(self, x: np.ndarray, margin: int) -> None:
        self.n, self.margin = len(x), margin
        self.padded = np.full(len(x) + 2 * margin, np.nan)
        self.padded[margin : margin + len(x)] = x

    def segments(self, centres: np.ndarray, lo: int, hi: int) -> np.ndarray:
        """[k, hi - lo + 1] samples x[c + lo .. c + hi] of each centre, NaN outside x."""
        return self.padded[centres[:, None] + self.margin + np.arange(lo, hi + 1)]


def compare_to_template(seg: np.ndarray, template: np.ndarray) -> tuple[np.ndarray, ...]:
    """Correlation, ||seg - T|| / ||T|| and peak-to-peak ratio of each row against T, over the
    row's valid samples (both re-centred on them)."""
    valid = ~np.isnan(seg)
    n = np.maximum(valid.sum(1), 1)
    b = np.where(valid, seg, 0.0)
    m = np.where(valid, template[None, :], 0.0)
    b = np.where(valid, b - (b.sum(1) / n)[:, None], 0.0)
    m = np.where(valid, m - (m.sum(1) / n)[:, None], 0.0)
    bb, mm, bm = (b * b).sum(1), (m * m).sum(1), (b * m).sum(1)
    corr = np.clip(bm / np.maximum(np.sqrt(bb * mm), EPS), -1, 1)
    dev = np.sqrt(np.maximum(bb + mm - 2 * bm, 0)) / np.maximum(np.sqrt(mm), EPS)
    p2p_b = np.where(valid, b, -np.inf).max(1) - np.where(valid, b, np.inf).min(1)
    p2p_m = np.where(valid, m, -np.inf).max(1) - np.where(valid, m, np.inf).min(1)
    return corr, dev, p2p_b / np.maximum(p2p_m, EPS)


def template_from_beats(x: PaddedSignal, beats: np.ndarray, rr_prev, rr_next, med, s: SampleScale):
    """T (mean-centred) from the latest typical beats, or None."""
    whole = (beats - s.pre >= 0) & (beats + s.post < x.n)
    typical = np.zeros(len(beats), dtype=bool)
    if np.isfinite(med):
        with np.errstate(invalid="ignore"):
            typical = (
                whole
                & (rr_prev >= TYPICAL[0] * med)
                & (rr_prev <= TYPICAL[1] * med)
                & ~(rr_next < TYPICAL[0] * med)
            )
    chosen = np.flatnonzero(typical)
    if len(chosen) < MIN_TYPICAL:
        chosen = np.flatnonzero(whole)
    if len(chosen) < MIN_TEMPLATE:
        return None
    segs = x.segments(beats[chosen[-MAX_TEMPLATE_BEATS:]], -s.pre, s.post)
    template = np.median(segs - segs.mean(1, keepdims=True), 0)
    return template - template.mean()


def aligned_segments(
    x: PaddedSignal, centres: np.ndarray, template: np.ndarray, s: SampleScale
) -> np.ndarray:
    """Segments [k, width] of `centres`, each at its best-correlating lag (see module doc); a
    lag that would move the QRS core out of x is not taken."""
    ext = x.segments(centres, -s.pre - s.align, s.post + s.align)
    view = np.lib.stride_tricks.sliding_window_view(ext, s.width, axis=1)
    view = view[:, s.lags + s.align]  # [k, lags, width], lags in tie-break order
    best = np.empty((len(centres), s.width))
    inside = ~np.isnan(ext).any(1)
    if inside.any():  # every lag lies in x: plain correlations
        vc = view[inside] - view[inside].mean(-1, keepdims=True)
        tc = template - template.mean()
        norm = np.sqrt((vc * vc).sum(-1)) * np.sqrt((tc * tc).sum())
        corr = np.einsum("kld,d->kl", vc, tc) / np.maximum(norm, EPS)
        best[inside] = view[inside][np.arange(int(inside.sum())), np.argmax(corr, 1)]
    edge = np.flatnonzero(~inside)
    if len(edge):  # near an end of x: correlations over the samples inside, core inside
        cand = view[edge]  # [e, lags, width]
        corr, _, _ = compare_to_template(cand.reshape(-1, s.width), template)
        corr = corr.reshape(len(edge), len(s.lags))
        core_in = ~np.isnan(cand[:, :, s.core]).any(-1)
        corr = np.where(core_in, corr, -np.inf)
        best[edge] = cand[np.arange(len(edge)), np.argmax(corr, 1)]
    return best


def gap_activity(x: np.ndarray, beats: np.ndarray, s: SampleScale) -> np.ndarray:
    """Peak-to-peak of x between consecutive beats' segments [len(beats) - 1]; NaN for a gap
    shorter than GAP_MIN_S."""
    out = np.full(max(len(beats) - 1, 0), np.nan)
    a, b = beats[:-1] + s.post, beats[1:] - s.pre
    ok = np.flatnonzero(b - a >= s.gap_min)
    if len(ok):  # the gaps are disjoint and in order: reduce over [a0, b0, a1, b1, ...]
        edges = np.stack([a[ok], b[ok]], 1).ravel()
        out[ok] = (np.maximum.reduceat(x, edges) - np.minimum.reduceat(x, edges))[::2]
    return out


def nanmedian(a: np.ndarray, axis: int) -> np.ndarray:
    """Median over `axis` ignoring NaN (NaN where all are NaN); sort-based, fully vectorised."""
    s = np.sort(a, axis=axis)  # NaN sorts last
    k = np.sum(~np.isnan(a), axis=axis, keepdims=True)
    lo = np.take_along_axis(s, np.maximum((k - 1) // 2, 0), axis=axis)
    hi = np.take_along_axis(s, k // 2, axis=axis)  # k // 2 < shape whenever shape >= 1
    return np.squeeze((lo + hi) / 2.0, axis=axis)


def qrs_width(core: np.ndarray, smooth: int) -> np.ndarray:
    """RMS spread in time (samples) of the squared slope over the last axis, after a
    `smooth`-sample moving average (without it, noise spreads slope energy over the core and
    a clean median beat reads narrower than every noisy beat)."""
    if smooth > 1:
        core = uniform_filter1d(core, smooth, axis=-1, mode="nearest")
    energy = np.diff(core, axis=-1) ** 2
    t = np.arange(energy.shape[-1], dtype=np.float64)
    total = np.maximum(energy.sum(-1), _EPS)
    centre = (energy * t).sum(-1) / total
    return np.sqrt((energy * (t - centre[..., None]) ** 2).sum(-1) / total)


def window_context(
    x: np.ndarray, beats: np.ndarray, w0: int, fs: float, *, max_beats: int
) -> tuple[np.ndarray, np.ndarray]:
    """(per-beat [max_beats, 6], window [20]) context features, float32.

    `x` the band-passed signal from the start of the history to the window's end; `beats`
    the detected beat indices in `x`; `w0` the window's first sample in `x`.
    """
    s = SampleScale(fs)
    x = np.asarray(x, dtype=np.float64)
    beats = np.sort(np.asarray(beats, dtype=np.int64))
    beats = beats[(beats >= 0) & (beats < len(x))]
    rr = np.diff(beats) / s.fs
    med = float(np.median(rr)) if len(rr) else np.nan
    has_rr = np.isfinite(med) and med > 0
    safe = med if has_rr else 1.0
    rr_prev, rr_next = np.r_[np.nan, rr], np.r_[rr, np.nan]
    signal = PaddedSignal(x, s.pre + s.post + 2 * s.align + 1)
    template = template_from_beats(signal, beats, rr_prev, rr_next, med, s)

    inw = np.flatnonzero(beats >= w0)
    wb = beats[inw]
    has_prev = np.isfinite(rr_prev[inw]) & has_rr
    prev_ratio = np.clip(np.where(has_prev, rr_prev[inw] / safe, 1.0), 0, CLIP)
    next_ok = np.isfinite(rr_next[inw]) & has_rr
    next_ratio = np.clip(np.where(next_ok, rr_next[inw] / safe, 1.0), 0, CLIP)
    k = len(wb)
    corr, dev, amp, wid = np.ones(k), np.zeros(k), np.ones(k), np.ones(k)
    morph = np.zeros(k, dtype=bool)
    out = dict(_NEUTRAL)
    if template is not None and k:
        morph = (wb - s.core_lo >= 0) & (wb + s.core_hi < len(x))
    if morph.any():
        seg = aligned_segments(signal, wb[morph], template, s)
        seg = seg - np.nanmean(seg, 1, keepdims=True)
        c, d, a = compare_to_template(seg, template)
        corr[morph], dev[morph], amp[morph] = c, np.clip(d, 0, CLIP), np.clip(a, 0, CLIP)
        w_beat = qrs_width(np.nan_to_num(seg[:, s.core]), s.smooth)
        w_template = qrs_width(template[None, s.core], s.smooth)[0]
        wid[morph] = np.clip(w_beat / max(w_template, EPS), 0, CLIP)
        if morph.sum() >= MIN_TEMPLATE:
            own = nanmedian(seg, 0)
            out["window_beat_correlation"] = float(compare_to_template(own[None], template)[0][0])
        deviant = morph & (corr < DEVIANT)
        out |= {
            "min_correlation_ctx": float(corr[morph].min()),
            "max_deviation_ctx": float(dev[morph].max()),
            "deviant_share": float(deviant.sum() / morph.sum()),
            "deviant_count": float(deviant.sum()),
            "max_amplitude_ctx": float(np.abs(amp[morph] - 1).max()),
            "max_width_ctx": float((wid[morph] - 1).max()),
        }
    sequence = np.zeros((max_beats, len(CONTEXT_BEAT_FEATURES)), dtype=np.float32)
    rows = np.stack([prev_ratio - 1, next_ratio - 1, corr - 1, dev, amp - 1, wid - 1], 1)
    sequence[: min(k, max_beats)] = rows[:max_beats]

    # RR intervals ending at window beats (the first one's from the history, if any)
    ending = rr[inw[inw >= 1] - 1] if k else np.zeros(0)
    inner = np.diff(wb) / s.fs
    if has_rr and len(inner):
        out["hr_ratio"] = float(np.clip(safe / np.median(inner), 0, CLIP))
    if has_rr and len(ending):
        ratios = np.clip(ending / safe, 0, CLIP)
        premature = int((ending < PREMATURE * med).sum())
        out |= {
            "rr_min_ctx": float(ratios.min()),
            "rr_max_ctx": float(ratios.max()),
            "premature_share": premature / len(ending),
            "premature_count": float(premature),
        }
        if len(ending) >= 2:
            out["rr_msd_ctx"] = float(min(np.abs(np.diff(ending)).mean() / safe, CLIP))
    if template is not None:
        gaps = gap_activity(x, beats, s) / max(float(template.max() - template.min()), EPS)
        in_window = gaps[inw[inw >= 1] - 1] if k else np.zeros(0)
        in_window, everywhere = in_window[np.isfinite(in_window)], gaps[np.isfinite(gaps)]
        if len(in_window):
            median = float(np.median(in_window))
            out["gap_activity"] = min(median, CLIP)
            out["gap_activity_max"] = min(float(in_window.max()), CLIP)
            out["gap_ratio"] = min(median / max(float(np.median(everywhere)), 0.02), CLIP)
    premature = has_prev & (prev_ratio < PREMATURE)
    deviant = morph & (corr < DEVIANT)
    out["abs_log_hr_ratio"] = abs(float(np.log(max(out["hr_ratio"], 0.05))))
    if has_prev.any():
        out["max_abs_log_rr"] = float(
            np.abs(np.log(np.clip(prev_ratio[has_prev], 0.05, None))).max()
        )
    out["deviant_premature"] = float((deviant & premature).sum())
    out["deviant_not_premature"] = float((deviant & ~premature).sum())
    features = np.array([out[name] for name in CONTEXT_WINDOW_FEATURES], dtype=np.float32)
    return sequence, features


def record_context(x, beats, starts, window, fs, *, max_beats, history_s=300.0):
    """Every window of a record, one `window_context` call each."""
    beats = np.sort(np.asarray(beats, dtype=np.int64))
    history = round(history_s * fs)
    sequences = np.zeros((len(starts), max_beats, len(CONTEXT_BEAT_FEATURES)), np.float32)
    features = np.zeros((len(starts), len(CONTEXT_WINDOW_FEATURES)), np.float32)
    for i, start in enumerate(np.asarray(starts, dtype=np.int64)):
        end = int(start) + window
        lo = max(0, end - history)
        past = beats[(beats >= lo) & (beats < end)] - lo
        sequences[i], features[i] = window_context(
            x[lo:end], past, int(start) - lo, fs, max_beats=max_beats
        )
    return sequences, features
