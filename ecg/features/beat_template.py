"""The patient's running dominant beat T, and window beats aligned to it and compared with it.

T is the elementwise median of the segments (-0.25 .. +0.40 s, each centred on its own mean)
of the latest <= 256 TYPICAL beats of `x`, whose segment lies in `x`, with RR_prev in
[0.8, 1.2] M (M the median RR of `x`) and not followed by RR_next < 0.8 M. With fewer than 8
typical beats, every beat with a whole segment is used; with fewer than 3, there is no T.

A beat's segment is ALIGNED to T: shifted by the lag within +-48 ms that correlates best with
T (ties: smaller |lag|, then the negative one), because the detector may put identical beats'
fiducials on R or on S. Used by `ecg.features.context`.
"""

from __future__ import annotations

import numpy as np

SEGMENT_S = (0.25, 0.40)  # before / after each beat
CORE_S = (0.10, 0.15)  # the QRS core that must lie in x for a morphology
ALIGN_S = 0.048  # +- search for the best-correlating shift against T
GAP_MIN_S = 0.1  # shortest inter-beat gap whose activity is measured
WIDTH_SMOOTH_S = 0.02
TYPICAL = (0.8, 1.2)  # RR_prev band of a template beat, in M
MAX_TEMPLATE_BEATS = 256
MIN_TYPICAL = 8
MIN_TEMPLATE = 3
EPS = 1e-9


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


def dominant_beat(x: np.ndarray, beats: np.ndarray, fs: float) -> np.ndarray | None:
    """The running dominant beat T of `x` (mean-centred, -0.25 .. +0.40 s), or None."""
    s = SampleScale(fs)
    beats = np.sort(np.asarray(beats, dtype=np.int64))
    rr = np.diff(beats) / s.fs
    med = float(np.median(rr)) if len(rr) else np.nan
    signal = PaddedSignal(np.asarray(x, dtype=np.float64), s.pre + s.post + 2 * s.align + 1)
    return template_from_beats(signal, beats, np.r_[np.nan, rr], np.r_[rr, np.nan], med, s)
