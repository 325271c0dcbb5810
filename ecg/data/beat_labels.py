"""Per-beat AAMI labels for detected beats, matched one-to-one to the reference annotations.

A detected beat takes the AAMI class of the reference beat it is matched to (codes index
`BEAT_CLASSES`), or `EXTRA` when no reference beat lies within the tolerance. Matching is
greedy on the whole record, closest pairs first (ties: the earlier detection, then the
earlier reference beat, in samples), so no reference beat is taken twice. Non-beat
annotations are ignored.
"""

from __future__ import annotations

import numpy as np

from ecg.core.errors import ECGError
from ecg.data.labels import aami_class

BEAT_CLASSES = ("N", "S", "V", "F", "Q")
# What the beat models' readout predicts: Q beats (paced, unclassifiable) are not learned, as
# they make no window abnormal and EC57 leaves them out.
PREDICTED_CLASSES = BEAT_CLASSES[:4]
PADDING = -2  # a slot with no beat
EXTRA = -1  # a detected beat with no reference beat within the tolerance


def _reference_beats(
    ref_samples: np.ndarray, ref_symbols: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sample, class code, index into the annotations) of every AAMI-classified beat."""
    classes = [aami_class(s) for s in ref_symbols]
    if len(classes) != len(ref_samples):
        raise ECGError("ref_samples and ref_symbols differ in length")
    keep = np.array([c is not None for c in classes], dtype=bool)
    codes = np.array([BEAT_CLASSES.index(c) for c in classes if c is not None], dtype=np.int64)
    samples = np.asarray(ref_samples, dtype=np.int64)[keep]
    return samples, codes, np.flatnonzero(keep).astype(np.int64)


def match_beats(
    detected: np.ndarray, ref_samples: np.ndarray, ref_symbols: list[str], tolerance: int
) -> tuple[np.ndarray, np.ndarray]:
    """(class code or EXTRA, matched annotation index or -1) per detected beat, in input order.

    A pair matches when |detected - reference| <= `tolerance` samples (same sample frame).
    """
    if tolerance < 0:
        raise ECGError(f"tolerance must be >= 0 samples, got {tolerance}")
    detected = np.asarray(detected, dtype=np.int64)
    samples, codes, index = _reference_beats(ref_samples, ref_symbols)
    order = np.argsort(samples, kind="stable")
    samples, codes, index = samples[order], codes[order], index[order]
    lo = np.searchsorted(samples, detected - tolerance, "left")
    hi = np.searchsorted(samples, detected + tolerance, "right")
    pairs = [
        (abs(int(d) - int(samples[j])), int(d), int(samples[j]), i, j)
        for i, d in enumerate(detected)
        for j in range(lo[i], hi[i])
    ]
    beat_code = np.full(len(detected), EXTRA, dtype=np.int64)
    ref_index = np.full(len(detected), -1, dtype=np.int64)
    taken: set[int] = set()
    for *_, i, j in sorted(pairs):
        if ref_index[i] < 0 and j not in taken:
            taken.add(j)
            beat_code[i], ref_index[i] = codes[j], index[j]
    return beat_code, ref_index


def window_beat_labels(
    detected: np.ndarray,
    starts: np.ndarray,
    length: int,
    ref_samples: np.ndarray,
    ref_symbols: list[str],
    tolerance: int,
    max_beats: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Per window [start, start + length): slot codes int64 [W, max_beats] and missed
    reference beats per class int64 [W, len(BEAT_CLASSES)].

    Slot t is the t-th detected beat in the window, in sample order (as
    `ecg.signal.windows.beats_in_windows`), PADDING beyond. A reference beat in the window
    is missed when no slot of that window carries it: never detected, matched to a
    detection outside the window, or beyond `max_beats`.
    """
    if length < 1 or max_beats < 1:
        raise ECGError(f"length and max_beats must be >= 1, got {length} and {max_beats}")
    detected = np.sort(np.asarray(detected, dtype=np.int64))
    starts = np.asarray(starts, dtype=np.int64)
    beat_code, ref_index = match_beats(detected, ref_samples, ref_symbols, tolerance)
    samples, codes, index = _reference_beats(ref_samples, ref_symbols)

    slots = np.full((len(starts), max_beats), PADDING, dtype=np.int64)
    missed = np.zeros((len(starts), len(BEAT_CLASSES)), dtype=np.int64)
    lo = np.searchsorted(detected, starts, "left")
    hi = np.searchsorted(detected, starts + length, "left")
    for w, (a, b, s) in enumerate(zip(lo, hi, starts, strict=True)):
        kept = slice(a, min(b, a + max_beats))
        slots[w, : kept.stop - a] = beat_code[kept]
        carried = set(ref_index[kept].tolist())
        inside = (samples >= s) & (samples < s + length)
        for code, ann in zip(codes[inside], index[inside], strict=True):
            if int(ann) not in carried:
                missed[w, code] += 1
    return slots, missed
