"""What a beat model's readouts say about a recording: each detected beat's AAMI class
(`PREDICTED_CLASSES`: N, S, V, F) and each window's rhythm (`RHYTHM_CLASSES`), the argmax of
the ensemble's mean probabilities (`DeployedModel.readouts`).

Step t of a window's readout is the window's detected beat t, in `beats_in_windows` order.
A window's beats beyond its readout's steps (MAX_BEATS), every beat of a window not
classified (unreadable or VT/VF: `ecg.inference.scoring`) and the beats of the unscored tail
get no class, and such a window no rhythm. Where
windows overlap (stride < window) a beat takes its class from the first window that
classifies it, while each window counts its own beats.
"""

from __future__ import annotations

import numpy as np

from ecg.data.beat_labels import PREDICTED_CLASSES
from ecg.data.rhythms import RHYTHM_CLASSES

NO_CLASS = -1  # a beat with no class, or an unreadable window's rhythm
# What a beat model's readouts add per window (`readout_rows`): the rhythm's name
# (`RHYTHM_CLASSES`) and the S, V and F beats among the window's classified beats.
READOUT_COLUMNS = ("rhythm", "s_beats", "v_beats", "f_beats")
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


def beat_readouts(
    beats: np.ndarray,
    starts: np.ndarray,
    window: int,
    classified: np.ndarray,
    beat_probs: np.ndarray | None,
    rhythm_probs: np.ndarray | None,
) -> dict[str, np.ndarray]:
    """`RecordScores`' beat classes, rhythms and counts (none for a model without readouts);
    `classified` [W]: the windows whose beats get classes."""
    if beat_probs is None or rhythm_probs is None:
        return {}
    beat_class, rhythm, counts = classify_beats(
        beats, starts, window, classified, beat_probs, rhythm_probs
    )
    return {"beat_class": beat_class, "rhythm": rhythm, "beat_counts": counts}


def readout_rows(
    rhythm: np.ndarray | None, beat_counts: np.ndarray | None, windows: int
) -> list[dict[str, int | str | None]]:
    """Per window, keys `READOUT_COLUMNS`: None where the window has no class or the model
    reads out no rhythm and beats."""
    if rhythm is None or beat_counts is None:
        return [dict.fromkeys(READOUT_COLUMNS) for _ in range(windows)]
    codes = [PREDICTED_CLASSES.index(c) for c in ECTOPIC]
    return [
        dict.fromkeys(READOUT_COLUMNS) if r == NO_CLASS else
        {"rhythm": RHYTHM_CLASSES[r]} | dict(zip(READOUT_COLUMNS[1:],
                                                 (int(n[c]) for c in codes), strict=True))
        for r, n in zip(rhythm, beat_counts, strict=True)
    ]  # fmt: skip


def readout_summary(beat_counts: np.ndarray | None) -> dict[str, int | None]:
    """Classified beats, and S, V and F beats, over all windows (None: no readouts)."""
    keys = ("classified_beats", *READOUT_COLUMNS[1:])
    if beat_counts is None:
        return dict.fromkeys(keys)
    totals = beat_counts.sum(0)
    values = [totals.sum()] + [totals[PREDICTED_CLASSES.index(c)] for c in ECTOPIC]
    return {k: int(v) for k, v in zip(keys, values, strict=True)}
