"""The patient's running dominant beat T, and window beats aligned to it and compared with it.

T is the elementwise median of the segments (-0.25 .. +0.40 s, each centred on its own mean)
of the latest <= 256 TYPICAL beats of a window's history, whose segment lies in the history,
with RR_prev in [0.8, 1.2] M (M the median RR of the history) and not followed by
RR_next < 0.8 M. With fewer than 8 typical beats, every beat with a whole segment is used;
with fewer than 3, there is no T.

A beat's segment is ALIGNED to T: shifted by the lag within +-48 ms that correlates best with
T (ties: smaller |lag|, then the negative one), because the detector may put identical beats'
fiducials on R or on S. Used by `ecg.features.context`, for many windows at once: every
function here works on rows (one beat, or one window) that do not depend on each other, so a
row's result is the same whichever rows share its call.
"""

from __future__ import annotations

import numpy as np

from ecg.features.template_median import column_medians

SEGMENT_S = (0.25, 0.40)  # before / after each beat
CORE_S = (0.10, 0.15)  # the QRS core that must lie in the history for a morphology
ALIGN_S = 0.048  # +- search for the best-correlating shift against T
GAP_MIN_S = 0.1  # shortest inter-beat gap whose activity is measured
WIDTH_SMOOTH_S = 0.02
TYPICAL = (0.8, 1.2)  # RR_prev band of a template beat, in M
MAX_TEMPLATE_BEATS = 256
MIN_TYPICAL = 8
MIN_TEMPLATE = 3
EPS = 1e-9
_ALIGN_CHUNK = 512  # beats per exact alignment batch: [512, lags, width] is 16 MB
_ROUNDING = 1e-11  # see _clear_lags


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


def compare_to_template(seg: np.ndarray, template: np.ndarray) -> tuple[np.ndarray, ...]:
    """Correlation, ||seg - T|| / ||T|| and peak-to-peak ratio of each row of `seg` against T
    (one [width] template, or one per row), over the row's valid samples (both re-centred on
    them)."""
    template = np.broadcast_to(template, seg.shape)
    whole = ~np.isnan(seg).any(1)
    if whole.all():
        return _compare(seg, template)
    out = tuple(np.empty(len(seg)) for _ in range(3))
    for rows, compare in ((whole, _compare), (~whole, _compare_valid)):
        if rows.any():
            for o, value in zip(out, compare(seg[rows], template[rows]), strict=True):
                o[rows] = value
    return out


def _compare(seg: np.ndarray, template: np.ndarray) -> tuple[np.ndarray, ...]:
    """`_compare_valid` of rows without NaN: the same arithmetic with nothing to mask."""
    n = seg.shape[1]
    b = seg - (seg.sum(1) / n)[:, None]
    m = template - (template.sum(1) / n)[:, None]
    return _scores(b, m, b.max(1) - b.min(1), m.max(1) - m.min(1))


def _compare_valid(seg: np.ndarray, template: np.ndarray) -> tuple[np.ndarray, ...]:
    valid = ~np.isnan(seg)
    n = np.maximum(valid.sum(1), 1)
    b = np.where(valid, seg, 0.0)
    m = np.where(valid, template, 0.0)
    b = np.where(valid, b - (b.sum(1) / n)[:, None], 0.0)
    m = np.where(valid, m - (m.sum(1) / n)[:, None], 0.0)
    p2p_b = np.where(valid, b, -np.inf).max(1) - np.where(valid, b, np.inf).min(1)
    p2p_m = np.where(valid, m, -np.inf).max(1) - np.where(valid, m, np.inf).min(1)
    return _scores(b, m, p2p_b, p2p_m)


def _scores(b, m, p2p_b, p2p_m) -> tuple[np.ndarray, ...]:
    bb, mm, bm = (b * b).sum(1), (m * m).sum(1), (b * m).sum(1)
    corr = np.clip(bm / np.maximum(np.sqrt(bb * mm), EPS), -1, 1)
    dev = np.sqrt(np.maximum(bb + mm - 2 * bm, 0)) / np.maximum(np.sqrt(mm), EPS)
    return corr, dev, p2p_b / np.maximum(p2p_m, EPS)


def centred_segments(x: np.ndarray, beats: np.ndarray, s: SampleScale) -> np.ndarray:
    """[len(beats), width] segment of each beat minus its mean (NaN rows where the segment
    does not lie in x)."""
    whole = (beats - s.pre >= 0) & (beats + s.post < len(x))
    out = np.full((len(beats), s.width), np.nan)
    segs = x[beats[whole, None] + np.arange(-s.pre, s.post + 1)]
    out[whole] = segs - segs.mean(1, keepdims=True)
    return out


def template_members(
    beats: np.ndarray,
    rr: np.ndarray,
    first: np.ndarray,
    stop: np.ndarray,
    lo: np.ndarray,
    end: np.ndarray,
    med: np.ndarray,
    s: SampleScale,
) -> np.ndarray:
    """[W, n_beats] bool: the beats whose segments make window w's T (see module doc).

    Window w's history holds beats first[w] .. stop[w] - 1 and samples lo[w] .. end[w] - 1;
    `rr[j]` is the RR interval from beat j to j + 1 and `med[w]` the history's median RR."""
    count = stop - first
    span = max(int(count.max(initial=0)), 1)
    idx = first[:, None] + np.arange(span)
    valid = np.arange(span) < count[:, None]
    idx = np.where(valid, idx, 0)
    b = beats[idx] if len(beats) else np.zeros_like(idx)
    whole = valid & (b - s.pre >= lo[:, None]) & (b + s.post < end[:, None])
    rr_pad = np.r_[rr, np.nan]
    rr_prev = np.where(idx > first[:, None], rr_pad[idx - 1], np.nan)
    rr_next = np.where(idx < stop[:, None] - 1, rr_pad[idx], np.nan)
    m = med[:, None]
    with np.errstate(invalid="ignore"):
        typical = (
            whole
            & (rr_prev >= TYPICAL[0] * m)
            & (rr_prev <= TYPICAL[1] * m)
            & ~(rr_next < TYPICAL[0] * m)
        )
    chosen = np.where((typical.sum(1) >= MIN_TYPICAL)[:, None], typical, whole)
    latest = np.cumsum(chosen[:, ::-1], axis=1)[:, ::-1] <= MAX_TEMPLATE_BEATS
    chosen &= latest & (chosen.sum(1) >= MIN_TEMPLATE)[:, None]
    members = np.zeros((len(first), len(beats)), dtype=bool)
    rows, cols = np.nonzero(chosen)
    members[rows, idx[rows, cols]] = True
    return members


def templates(segments: np.ndarray, members: np.ndarray) -> np.ndarray:
    """[W, width] T of each window (mean-centred; NaN where a window has no T) from the
    beats' centred segments and `template_members`."""
    t = column_medians(segments, members)
    return t - t.mean(1, keepdims=True)


def aligned_segments(
    ext: np.ndarray, templates: np.ndarray, window: np.ndarray, s: SampleScale
) -> np.ndarray:
    """Segments [k, width] of beats at their best-correlating lag (see module doc), from each
    beat's extended segment `ext` [k, width + 2 * align] (NaN outside its history) and its
    window's T (`templates[window]`, templates [W, width]); a lag that would move the QRS
    core out of the history is not taken.

    The lag is the argmax of the correlations as `_exact_lags` computes them. Most beats'
    best lag is found without them: `_clear_lags` correlates from running sums, and where
    its best lag beats every other by more than both values' rounding-error bounds, the
    exact correlations could not order them otherwise; every other beat is computed
    exactly."""
    clear, lag = _clear_lags(ext, templates, window, s)  # lag: index into s.lags
    rest = np.flatnonzero(~clear)
    for lo in range(0, len(rest), _ALIGN_CHUNK):
        rows = rest[lo : lo + _ALIGN_CHUNK]
        lag[rows] = _exact_lags(ext[rows], templates[window[rows]], s)
    view = np.lib.stride_tricks.sliding_window_view(ext, s.width, axis=1)
    return view[np.arange(len(ext)), s.lags[lag] + s.align]


def _clear_lags(ext: np.ndarray, templates: np.ndarray, window: np.ndarray, s: SampleScale):
    """(clear, lag): each row's best lag by correlations from running sums over the samples
    inside the history (one stretch of `ext`), and whether its lead over every other lag
    exceeds both values' error bounds."""
    n, k = s.width, len(ext)
    inside = ~np.isnan(ext)
    x = np.where(inside, ext, 0.0)
    view = np.lib.stride_tricks.sliding_window_view(x, n, axis=1)
    cross = np.einsum("kld,kd->kl", view, templates[window])
    c1, c2 = (np.cumsum(np.concatenate([np.zeros((k, 1)), v], 1), 1) for v in (x, x * x))
    zero = np.zeros((len(templates), 1))
    t1, t2 = (np.cumsum(np.concatenate([zero, v], 1), 1) for v in (templates, templates**2))
    # each lag's samples inside the history: ext[lo:hi], T[lo - o:hi - o]
    o = np.arange(2 * s.align + 1)
    first, stop = inside.argmax(1)[:, None], ext.shape[1] - inside[:, ::-1].argmax(1)[:, None]
    lo, hi = np.maximum(o, first), np.minimum(o + n, stop)
    m = np.maximum(hi - lo, 1)
    row, w = (np.arange(k) * c1.shape[1])[:, None], (window * t1.shape[1])[:, None]
    c1, c2, t1, t2 = c1.ravel(), c2.ravel(), t1.ravel(), t2.ravel()
    s1, s2 = c1[row + hi] - c1[row + lo], c2[row + hi] - c2[row + lo]
    u1, u2 = t1[w + hi - o] - t1[w + lo - o], t2[w + hi - o] - t2[w + lo - o]
    bb, mm, bm = s2 - s1 * s1 / m, u2 - u1 * u1 / m, cross - s1 * u1 / m
    core_in = (lo <= o + s.core.start) & (hi >= o + s.core.stop)
    order = s.lags + s.align  # tie-break order
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = np.where(core_in, bm / np.maximum(np.sqrt(bb * mm), EPS), -np.inf)[:, order]
        # Either way of computing a correlation errs by at most ~(n + ext's length) * eps
        # times (energy in ext / the lag's), and the same for T; _ROUNDING is ~50 times that.
        energy = c2[row + ext.shape[1]], t2[w + n]  # of each row's ext and T
        bound = (_ROUNDING * (energy[0] / bb + energy[1] / mm))[:, order]
        best = np.argmax(corr, 1)
        rows = np.arange(k)
        lead = corr[rows, best][:, None] - corr - bound[rows, best][:, None] - bound
    lead = np.where(core_in[:, order], lead, np.inf)
    lead[rows, best] = np.inf
    clear = (lead > 0).all(1) & (bound[rows, best] < 1e-3)
    return clear, best


def _exact_lags(ext: np.ndarray, template: np.ndarray, s: SampleScale) -> np.ndarray:
    """The best lag (index into s.lags) of each row, from correlations over whole samples."""
    view = np.lib.stride_tricks.sliding_window_view(ext, s.width, axis=1)
    view = view[:, s.lags + s.align]  # [k, lags, width], lags in tie-break order
    best = np.zeros(len(ext), dtype=np.int64)
    inside = ~np.isnan(ext).any(1)
    if inside.any():  # every lag lies in the history: plain correlations
        vc = view[inside] - view[inside].mean(-1, keepdims=True)
        t = template[inside]
        tc = t - t.mean(1, keepdims=True)
        norm = np.sqrt((vc * vc).sum(-1)) * np.sqrt((tc * tc).sum(1))[:, None]
        corr = np.einsum("kld,kd->kl", vc, tc) / np.maximum(norm, EPS)
        best[inside] = np.argmax(corr, 1)
    edge = np.flatnonzero(~inside)
    if len(edge):  # near an end of the history: correlations over the samples inside it
        cand = view[edge]  # [e, lags, width]
        rows = np.repeat(template[edge], len(s.lags), axis=0)
        corr, _, _ = compare_to_template(cand.reshape(-1, s.width), rows)
        corr = corr.reshape(len(edge), len(s.lags))
        core_in = ~np.isnan(cand[:, :, s.core]).any(-1)
        best[edge] = np.argmax(np.where(core_in, corr, -np.inf), 1)
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
