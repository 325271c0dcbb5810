"""The beat-synchronous view of a window: what the design's DeepSNN reads, one value per
sample of the window, so that its input keeps the window's size (2500 at 250 Hz).

The window's n samples become n / L slots of L = round(SLOT_S * fs) samples (at 250 Hz: 20
slots of 125); a window that L does not divide is an error. Slot k holds the window's k-th
detected beat (k < n / L; later beats are left out), samples R - pre .. R + L - pre - 1
(pre = round(PRE_S * fs)), minus the patient's running dominant beat T over the same samples,
in units of T's peak-to-peak times GAIN, clipped to +-CLIP. So weight w_ij of the first layer
always sees the same part of a beat, and an ordinary beat reads about 0. A slot is zero where
the window has no k-th beat, or the beat has no T.

T of a beat is the elementwise median of the segments (each centred on its own mean) of the
latest MAX_TEMPLATE_BEATS typical beats among its CANDIDATES predecessors whose segment ends
before its own starts; typical: RR_prev in [0.8, 1.2] M, M the candidates' median RR_prev.
With fewer than MIN_TYPICAL typical beats, the latest candidates make T; with fewer than
MIN_TEMPLATE candidates there is no T. The beat's segment is ALIGNED to T first: shifted by the
lag within +-ALIGN_S that correlates best with T (the detector may put one beat's fiducial on R
and the next one's on S), if that correlation reaches ALIGN_CORRELATION; an unusual beat stays
on its detected peak.

Causal: a slot depends on earlier beats and on the samples up to ALIGN_S past its segment only,
and nothing after the window's end enters (such samples count as missing: 0 in the slot). A
record's window sees the record's past; a window with no record around it (synthetic data, a
lone recording) is its own past, as the first window of a record.
"""

from __future__ import annotations

import numpy as np

from ecg.core.errors import ECGError
from ecg.features.beat_template import EPS, TYPICAL, compare_to_template
from ecg.signal.record_windows import ConditionedRecord

SLOT_S = 0.5  # seconds of signal per beat
PRE_S = 0.25  # of which before the detected beat
ALIGN_S = 0.048  # +- search for the best-correlating shift against T
ALIGN_CORRELATION = 0.9  # a shift that leaves the beat less like T than this is not taken
CANDIDATES = 64  # earlier beats a template is chosen from (about a minute)
MAX_TEMPLATE_BEATS = 32
MIN_TYPICAL = 8
MIN_TEMPLATE = 3
GAIN = 4.0  # a residual as large as T reads like a z-scored R peak
CLIP = 8.0


class _PaddedSignal:
    """x padded with NaN once, so that segments around any centre can be sliced from it."""

    def __init__(self, x: np.ndarray, margin: int) -> None:
        self.n, self.margin = len(x), margin
        self.padded = np.full(len(x) + 2 * margin, np.nan)
        self.padded[margin : margin + len(x)] = x

    def segments(self, centres: np.ndarray, lo: int, hi: int) -> np.ndarray:
        """[k, hi - lo + 1] samples x[c + lo .. c + hi] of each centre, NaN outside x."""
        return self.padded[centres[:, None] + self.margin + np.arange(lo, hi + 1)]


def slot_layout(window: int, fs: float) -> tuple[int, int]:
    """(slots, samples per slot) of a `window`-sample window at `fs` Hz."""
    length = round(SLOT_S * fs)
    if length < 1 or window % length:
        raise ECGError(
            f"preprocess.window: {window} samples is not a whole number of {SLOT_S:g}-s beat "
            f"slots of {length} samples at preprocess.fs {fs:g} Hz"
        )
    return window // length, length


class _Slots:
    """Sample counts of the slot geometry at one rate."""

    def __init__(self, window: int, fs: float) -> None:
        self.count, self.length = slot_layout(window, fs)
        self.pre = round(PRE_S * fs)
        self.post = self.length - self.pre  # samples from R to the segment's end (excl.)
        self.align = round(ALIGN_S * fs)
        # lags in tie-break order: 0, -1, 1, -2, 2, ...
        self.lags = np.array(sorted(range(-self.align, self.align + 1), key=lambda v: (abs(v), v)))


def _template(x: _PaddedSignal, beats: np.ndarray, i: int, s: _Slots) -> np.ndarray | None:
    """T of beat i (mean-centred, [L]) from the beats before it, or None."""
    first = max(i - CANDIDATES, 0)
    cand = np.arange(first, i)
    cand = cand[(beats[cand] - s.pre >= 0) & (beats[cand] + s.post <= beats[i] - s.pre)]
    if len(cand) < MIN_TEMPLATE:
        return None
    chosen = cand
    has_prev = cand >= 1
    if has_prev.sum() >= MIN_TYPICAL:
        rr = (beats[cand[has_prev]] - beats[cand[has_prev] - 1]).astype(np.float64)
        med = float(np.median(rr))
        typical = cand[has_prev][(rr >= TYPICAL[0] * med) & (rr <= TYPICAL[1] * med)]
        if len(typical) >= MIN_TYPICAL:
            chosen = typical
    segs = x.segments(beats[chosen[-MAX_TEMPLATE_BEATS:]], -s.pre, s.post - 1)
    template = np.median(segs - segs.mean(1, keepdims=True), 0)
    return template - template.mean()


def _aligned(x: _PaddedSignal, centre: int, template: np.ndarray, s: _Slots) -> np.ndarray:
    """The segment [L] of the beat at `centre`, at its best-correlating lag (NaN outside x)."""
    ext = x.segments(np.array([centre]), -s.pre - s.align, s.post - 1 + s.align)[0]
    view = np.lib.stride_tricks.sliding_window_view(ext, s.length)[s.lags + s.align]
    corr, _, _ = compare_to_template(view, template)
    best = int(np.argmax(corr))
    return view[best if corr[best] >= ALIGN_CORRELATION else 0]  # row 0: lag 0


def window_view(x: np.ndarray, beats: np.ndarray, w0: int, fs: float) -> np.ndarray:
    """float32 [len(x) - w0] view of the window x[w0:]; `x` the band-passed signal from the
    start of the available past to the window's end, `beats` the detected beats in `x`."""
    x = np.asarray(x, dtype=np.float64)
    s = _Slots(len(x) - w0, fs)
    beats = np.sort(np.asarray(beats, dtype=np.int64))
    beats = beats[(beats >= 0) & (beats < len(x))]
    view = np.zeros((s.count, s.length))
    signal = _PaddedSignal(x, s.length + 2 * s.align)
    in_window = np.flatnonzero(beats >= w0)[: s.count]
    for k, i in enumerate(in_window):
        template = _template(signal, beats, int(i), s)
        if template is None:
            continue
        seg = _aligned(signal, int(beats[i]), template, s)
        seg = seg - np.nanmean(seg)
        residual = (seg - template) * (GAIN / max(float(np.ptp(template)), EPS))
        view[k] = np.clip(np.nan_to_num(residual, nan=0.0), -CLIP, CLIP)
    return view.reshape(-1).astype(np.float32)


def record_views(rec: ConditionedRecord, beats: np.ndarray) -> np.ndarray:
    """Views float32 [W, window] of a conditioned record's windows, from `beats` (detected
    in the whole record, samples at `rec.fs`); window w sees the record up to its end."""
    window = rec.windows.shape[1]
    slot_layout(window, rec.fs)  # the error names the window before any work
    beats = np.sort(np.asarray(beats, dtype=np.int64))
    out = np.zeros((len(rec.starts), window), dtype=np.float32)
    s = _Slots(window, rec.fs)
    for w, start in enumerate(np.asarray(rec.starts, dtype=np.int64)):
        end = int(start) + window
        # The past a template can reach: the CANDIDATES beats before the window's first
        # beat, and the beat before those (its RR); the view is as with the whole past.
        first = int(np.searchsorted(beats, start))
        reach = int(beats[max(first - CANDIDATES - 1, 0)]) - s.pre - s.align if len(beats) else 0
        lo = min(max(reach, 0), int(start))
        past = beats[(beats >= lo) & (beats < end)] - lo
        out[w] = window_view(rec.filtered[lo:end], past, int(start) - lo, rec.fs)
    return out


def lone_views(windows: np.ndarray, beats: list[np.ndarray], fs: float) -> np.ndarray:
    """Views [N, window] of windows with no record around them: each is its own past."""
    windows = np.atleast_2d(windows)
    slot_layout(windows.shape[1], fs)
    out = np.zeros(windows.shape, dtype=np.float32)
    for i, (window, window_beats) in enumerate(zip(windows, beats, strict=True)):
        out[i] = window_view(window, window_beats, 0, fs)
    return out
