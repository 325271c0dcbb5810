"""Beat-relative representation of an ECG window: each beat compared with the window's own beats.

A network over raw samples learns what *this training set's* patients look like and does not
transfer to new patients. Prematurity ("this beat came early for this rhythm") and deviance
("this beat does not look like this patient's other beats") do transfer, so every quantity here
is a ratio to the window's own median RR interval or a comparison with the window's own median
beat. Everything is computed from the window and its DETECTED beats alone (never reference
annotations), so training and inference see the same thing.

Beat segments run from -0.25 s to +0.4 s around each detected beat; parts that fall outside
the window are missing (NaN) and every morphology statistic uses only the samples present in
both the beat and the median beat. A beat has a morphology only when its QRS core
(-0.1 s .. +0.15 s) lies inside the window, and a window compares morphologies only when it
has at least 3 such beats. The median beat is the elementwise median of those beats' segments
(each first centred on its own mean).

Per beat (`BEAT_FEATURES`, centred so that an ordinary beat is ~0; zero rows pad to MAX_BEATS):

    present       1 for a detected beat, 0 for padding
    rr_prev       RR to the previous beat / median RR - 1 (0 for the first beat)
    rr_next       RR to the next beat / median RR - 1 (0 for the last beat)
    correlation   Pearson correlation with the median beat - 1 (0 without morphology)
    deviation     ||beat - median|| / ||median||, both centred (0 without morphology)
    amplitude     peak-to-peak / median beat's peak-to-peak - 1 (0 without morphology)
    width         QRS width / median beat's QRS width - 1 (0 without morphology); the width is
                  the RMS spread in time of the squared slope (after a 20 ms moving average)
                  within the QRS core

Per window (`WINDOW_FEATURES`, raw values):

    rr_min_ratio       shortest RR / median RR (1.0 with < 2 beats)
    rr_max_ratio       longest RR / median RR (1.0 with < 2 beats)
    rr_cv              std / mean of the RR intervals (0.0 with < 2 beats)
    rr_msd_ratio       mean |successive RR difference| / median RR (0.0 with < 3 beats)
    min_correlation    lowest beat correlation with the median beat (1.0 without morphology)
    max_deviation      largest normalised deviation from the median beat (0.0 without morphology)
    heart_rate         60 / median RR in bpm with >= 3 beats; with fewer, beat count * 60 /
                       window length in s (a 10-s window with 2 beats reads 12 bpm)
    beat_count         detected beats in the window (all of them, even beyond MAX_BEATS)
    abnormal_fraction  share of the beats with a morphology whose correlation with the median
                       beat is below 0.9 (0.0 without morphology)

Ratios (RR, deviation, amplitude, width) are clipped to [0, 4] and rr_cv / rr_msd_ratio to
[0, 4], so a missed beat or a flat median cannot produce a huge input. With 2 beats the single
RR interval is its own median, so the RR ratios are neutral too. Windows with more than
MAX_BEATS beats keep every beat in the window features but only the first MAX_BEATS in the
sequence. Non-finite samples are treated as zeros. All features are unchanged when a window is
scaled by a positive factor.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.ndimage import uniform_filter1d

from ecg.core.errors import ECGError
from ecg.features.grouped import nanmedian
from ecg.features.layout import BEAT_FEATURES, MAX_BEATS, WINDOW_FEATURES
from ecg.signal.qrs import detect_qrs

SEGMENT_S = (0.25, 0.4)  # segment: seconds before / after the detected beat
CORE_S = (0.1, 0.15)  # QRS core that must lie inside the window for a beat's morphology
MIN_MORPHOLOGY_BEATS = 3  # beats with a morphology needed to compare shapes in a window
ABNORMAL_CORRELATION = 0.9  # abnormal_fraction counts beats correlating below this
RATIO_CLIP = 4.0
WIDTH_SMOOTH_S = 0.02  # moving average before the slope-based QRS width
_EPS = 1e-9
_CHUNK = 256  # windows per vectorised chunk: bounds memory to tens of MB


def detect_beats(windows: np.ndarray, fs: float) -> list[np.ndarray]:
    """`detect_qrs` on every window: the `beats` argument of `beat_representation`."""
    return [np.asarray(detect_qrs(w, fs), dtype=np.int64) for w in np.asarray(windows)]


def beat_representation(
    windows: np.ndarray, beats: Sequence[np.ndarray], fs: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per-beat `sequence` float32 [N, MAX_BEATS, len(BEAT_FEATURES)] and window `features`
    float32 [N, len(WINDOW_FEATURES)].

    `windows` [N, L]; `beats[i]` are the sample indices (0 <= idx < L, unique, any order) of
    the beats detected in window i; `fs` is the sampling rate in Hz.
    """
    x = np.asarray(windows)
    if x.ndim != 2:
        raise ECGError(f"beat_representation: windows must be [N, L], got shape {x.shape}")
    n, length = x.shape
    if len(beats) != n:
        raise ECGError(f"beat_representation: {n} windows but {len(beats)} beat arrays")
    if not fs > 0:
        raise ECGError(f"beat_representation: fs must be > 0, got {fs!r}")
    idx, count = _pack(beats, length)
    sequence = np.zeros((n, MAX_BEATS, len(BEAT_FEATURES)), dtype=np.float32)
    features = np.empty((n, len(WINDOW_FEATURES)), dtype=np.float32)
    for lo in range(0, n, _CHUNK):
        hi = min(lo + _CHUNK, n)
        k = max(int(count[lo:hi].max(initial=0)), 1)
        win = np.nan_to_num(x[lo:hi].astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        seq, feats = _chunk(win, idx[lo:hi, :k], count[lo:hi], float(fs))
        keep = min(k, MAX_BEATS)
        sequence[lo:hi, :keep] = seq[:, :keep]
        features[lo:hi] = feats
    return sequence, features


def _pack(beats: Sequence[np.ndarray], length: int) -> tuple[np.ndarray, np.ndarray]:
    """Left-packed, sorted beat indices [N, K] (padded with `length`) and counts [N]."""
    arrays = [np.asarray(b).reshape(-1) for b in beats]
    count = np.fromiter((a.size for a in arrays), dtype=np.int64, count=len(arrays))
    k = max(int(count.max(initial=0)), 1)
    idx = np.full((len(arrays), k), length, dtype=np.int64)
    if count.sum():
        flat = np.concatenate(arrays)
        if flat.dtype.kind not in "iu" and not np.array_equal(flat, np.round(flat)):
            raise ECGError("beat_representation: beat indices must be whole sample numbers")
        flat = flat.astype(np.int64)
        if flat.min() < 0 or flat.max() >= length:
            raise ECGError(
                f"beat_representation: beat indices must lie in [0, {length}), "
                f"found {flat.min()}..{flat.max()}"
            )
        rows = np.repeat(np.arange(len(arrays)), count)
        cols = np.arange(flat.size) - np.repeat(np.cumsum(count) - count, count)
        idx[rows, cols] = flat
        idx.sort(axis=1)
        if ((np.diff(idx, axis=1) == 0) & (idx[:, 1:] < length)).any():
            raise ECGError("beat_representation: duplicate beat indices in a window")
    return idx, count


def _masked_mean(a: np.ndarray, mask: np.ndarray, axis: int) -> np.ndarray:
    return np.where(mask, a, 0.0).sum(axis) / np.maximum(mask.sum(axis), 1)


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


def _chunk(
    win: np.ndarray, idx: np.ndarray, count: np.ndarray, fs: float
) -> tuple[np.ndarray, np.ndarray]:
    n, length = win.shape
    k = idx.shape[1]
    present = np.arange(k) < count[:, None]
    rows = np.arange(n)

    # ---- rhythm: RR intervals relative to the window's median RR
    rr = np.diff(idx, axis=1).astype(np.float64) / fs  # [n, k-1]
    rr_ok = present[:, 1:]
    n_rr = rr_ok.sum(1)
    rr = np.where(rr_ok, rr, np.nan)
    med_rr = nanmedian(rr, 1) if k > 1 else np.full(n, np.nan)
    has_rr = n_rr >= 1
    safe_med = np.where(has_rr, med_rr, 1.0)
    ratio = np.clip(np.where(rr_ok, rr / safe_med[:, None], 1.0), 0.0, RATIO_CLIP)
    rr_min = np.where(has_rr, np.where(rr_ok, ratio, np.inf).min(1, initial=np.inf), 1.0)
    rr_max = np.where(has_rr, np.where(rr_ok, ratio, -np.inf).max(1, initial=-np.inf), 1.0)
    rr0 = np.where(rr_ok, rr, 0.0)
    mean_rr = rr0.sum(1) / np.maximum(n_rr, 1)
    var_rr = np.where(rr_ok, (rr0 - mean_rr[:, None]) ** 2, 0.0).sum(1) / np.maximum(n_rr, 1)
    rr_cv = np.where(has_rr, np.sqrt(var_rr) / np.maximum(mean_rr, _EPS), 0.0)
    succ_ok = rr_ok[:, 1:] if k > 2 else np.zeros((n, 0), dtype=bool)
    succ = np.abs(np.diff(rr0, axis=1)) if k > 2 else np.zeros((n, 0))
    rr_msd = np.where(n_rr >= 2, _masked_mean(succ, succ_ok, 1) / safe_med if k > 2 else 0.0, 0.0)
    window_s = length / fs
    heart_rate = np.where(count >= 3, 60.0 / safe_med, count * 60.0 / window_s)

    # ---- morphology: each beat against the window's median beat
    pre, post = round(SEGMENT_S[0] * fs), round(SEGMENT_S[1] * fs)
    core_lo, core_hi = round(CORE_S[0] * fs), round(CORE_S[1] * fs)
    width = pre + post + 1
    padded = np.full((n, pre + length + post), np.nan)
    padded[:, pre : pre + length] = win
    start = np.where(present, idx, 0)  # segment of beat at i spans padded[i : i + width]
    seg = padded[rows[:, None, None], start[:, :, None] + np.arange(width)]  # [n, k, width]
    eligible = present & (idx >= core_lo) & (idx + core_hi < length)
    seg[~eligible] = np.nan
    valid = ~np.isnan(seg)
    seg = seg - _masked_mean(seg, valid, 2)[:, :, None]
    median = nanmedian(seg, 1)  # [n, width]
    morph_ok = eligible & (eligible.sum(1) >= MIN_MORPHOLOGY_BEATS)[:, None]
    med = np.broadcast_to(median[:, None, :], seg.shape)
    valid &= ~np.isnan(med)
    b = np.where(valid, seg, 0.0)
    m = np.where(valid, med, 0.0)
    b = np.where(valid, b - _masked_mean(b, valid, 2)[:, :, None], 0.0)
    m = np.where(valid, m - _masked_mean(m, valid, 2)[:, :, None], 0.0)
    bb, mm, bm = (b * b).sum(2), (m * m).sum(2), (b * m).sum(2)
    corr = np.clip(bm / np.maximum(np.sqrt(bb * mm), _EPS), -1.0, 1.0)
    dev = np.sqrt(np.maximum(bb + mm - 2.0 * bm, 0.0)) / np.maximum(np.sqrt(mm), _EPS)
    p2p_b = np.where(valid, b, -np.inf).max(2) - np.where(valid, b, np.inf).min(2)
    p2p_m = np.where(valid, m, -np.inf).max(2) - np.where(valid, m, np.inf).min(2)
    amp = np.where(morph_ok, p2p_b, 1.0) / np.maximum(np.where(morph_ok, p2p_m, 1.0), _EPS)
    core = slice(pre - core_lo, pre + core_hi + 1)  # fully inside the window when eligible
    smooth = max(1, round(WIDTH_SMOOTH_S * fs))
    w_b = qrs_width(np.where(morph_ok[:, :, None], seg[:, :, core], 0.0), smooth)
    w_m = qrs_width(np.nan_to_num(median[:, core]), smooth)[:, None]
    wid = w_b / np.maximum(w_m, _EPS)

    corr = np.where(morph_ok, corr, 1.0)
    dev = np.where(morph_ok, np.clip(dev, 0.0, RATIO_CLIP), 0.0)
    amp = np.where(morph_ok, np.clip(amp, 0.0, RATIO_CLIP), 1.0)
    wid = np.where(morph_ok, np.clip(wid, 0.0, RATIO_CLIP), 1.0)
    n_morph = morph_ok.sum(1)
    min_corr = np.where(morph_ok, corr, 1.0).min(1)
    max_dev = np.where(morph_ok, dev, 0.0).max(1)
    abnormal = (morph_ok & (corr < ABNORMAL_CORRELATION)).sum(1) / np.maximum(n_morph, 1)

    # ---- outputs
    rr_prev = np.ones((n, k))
    rr_next = np.ones((n, k))
    rr_prev[:, 1:] = ratio
    rr_next[:, :-1] = ratio
    seq = np.stack(
        [
            np.ones((n, k)),
            rr_prev - 1.0,
            rr_next - 1.0,
            corr - 1.0,
            dev,
            amp - 1.0,
            wid - 1.0,
        ],
        axis=2,
    )
    seq[~present] = 0.0
    feats = np.stack(
        [
            rr_min,
            rr_max,
            np.clip(rr_cv, 0.0, RATIO_CLIP),
            np.clip(rr_msd, 0.0, RATIO_CLIP),
            min_corr,
            max_dev,
            heart_rate,
            count.astype(np.float64),
            abnormal,
        ],
        axis=1,
    )
    return seq, feats
