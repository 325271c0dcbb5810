"""What a beat model's readouts say about a recording: each detected beat's AAMI class
(`PREDICTED_CLASSES`: N, S, V, F) and each window's rhythm (`RHYTHM_CLASSES`), the argmax of
the ensemble's mean probabilities (`DeployedModel.readouts`).

Step t of a window's readout is the window's detected beat t, in `beats_in_windows` order.
A window's beats beyond its readout's steps (MAX_BEATS), every beat of an unreadable window
and the beats of the unscored tail get no class, and an unreadable window no rhythm. Where
windows overlap (stride < window) a beat takes its class from the first window that
classifies it, while each window counts its own beats.
"""

from __future__ import annotations

import numpy as np

from ecg.data.beat_labels import PREDICTED_CLASSES

NO_CLASS = -1  # a beat with no class, or an unreadable window's rhythm
ECTOPIC = ("S", "V", "F")  # the beat classes counted per window


def classify_beats(
    beats: np.ndarray,
    starts: np.ndarray,
    window: int,
    readable: np.ndarray,
    beat_probs: np.ndarray,
    rhythm_probs: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Increasing beat samples `beats`, window `starts` and length `window` (one sample
    frame), `readable` [W], `beat_probs` [W, T, C] and `rhythm_probs` [W, R] -> (class per
    beat [len(beats)], rhythm per window [W], classified beats per window and class [W, C]),
    classes as indices (`NO_CLASS`: none)."""
    # The same split as `beats_in_windows`, as indices into `beats`.
    lo = np.searchsorted(beats, starts, "left")
    hi = np.searchsorted(beats, starts + window, "left")
    steps = beat_probs.shape[1]
    labels = beat_probs.argmax(-1)
    beat_class = np.full(len(beats), NO_CLASS, dtype=np.int64)
    counts = np.zeros((len(starts), len(PREDICTED_CLASSES)), dtype=np.int64)
    for w in np.flatnonzero(readable)[::-1]:  # latest first: the first window's class stays
        n = min(int(hi[w] - lo[w]), steps)
        beat_class[lo[w] : lo[w] + n] = labels[w, :n]
        counts[w] = np.bincount(labels[w, :n], minlength=len(PREDICTED_CLASSES))
    rhythm = np.where(readable, rhythm_probs.argmax(-1), NO_CLASS).astype(np.int64)
    return beat_class, rhythm, counts
