"""Window labels from MIT-BIH reference annotations (AAMI EC57 beat classes + rhythm).

A window is Arrhythmia (1) if it holds any S, V or F beat, or overlaps any rhythm episode
other than normal sinus rhythm `(N`; otherwise Normal (0). Q beats (paced, fusion of paced,
unclassifiable) make no window abnormal by themselves.

Rhythm episodes start at a `+` annotation whose aux note names the rhythm (`(AFIB`, `(B`,
`(VT`, ...) and last until the next `+` annotation or the end of the record. Signal before
the first rhythm annotation is taken as normal sinus rhythm.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

AAMI_CLASSES: dict[str, frozenset[str]] = {
    "N": frozenset("NLRej"),
    "S": frozenset("AaJS"),
    "V": frozenset("VE"),
    "F": frozenset("F"),
    "Q": frozenset("/fQ"),
}
ABNORMAL_CLASSES = ("S", "V", "F")
NORMAL_RHYTHM = "(N"
RHYTHM_CHANGE = "+"


def aami_class(symbol: str) -> str | None:
    """AAMI class of a beat symbol, or None for non-beat annotations."""
    for name, symbols in AAMI_CLASSES.items():
        if symbol in symbols:
            return name
    return None


def rhythm_episodes(
    ann_samples: np.ndarray, symbols: list[str], aux: list[str], n_samples: int
) -> list[tuple[int, int, str]]:
    """(start, end, rhythm) for every episode; `end` is exclusive."""
    changes = [
        (int(s), note)
        for s, sym, note in zip(ann_samples, symbols, aux, strict=True)
        if sym == RHYTHM_CHANGE and note.startswith("(")
    ]
    episodes = []
    for i, (start, rhythm) in enumerate(changes):
        end = changes[i + 1][0] if i + 1 < len(changes) else n_samples
        if end > start:
            episodes.append((start, end, rhythm))
    return episodes


class WindowLabels(NamedTuple):
    labels: np.ndarray  # int64 [W]
    confidence: np.ndarray  # float32 [W]
    abnormal_beats: np.ndarray  # int64 [W]
    beats: np.ndarray  # int64 [W], all AAMI-classified beats
    abnormal_rhythm_share: np.ndarray  # float32 [W], fraction of the window


def label_windows(
    starts: np.ndarray,
    length: int,
    ann_samples: np.ndarray,
    symbols: list[str],
    aux: list[str],
    n_samples: int,
) -> WindowLabels:
    """Label windows [start, start + length) given in the annotations' sample frame.

    `segment_confidence` says how strongly a window carries its label: for Arrhythmia the
    larger of the abnormal share of its beats and the share of its duration under an
    abnormal rhythm; for Normal the share of its beats that are AAMI class N (so Q beats
    lower it), and 0 for a window without beats.
    """
    starts = np.asarray(starts, dtype=np.int64)
    ends = starts + length
    ann_samples = np.asarray(ann_samples, dtype=np.int64)
    classes = np.array([aami_class(s) or "" for s in symbols])

    def count(mask: np.ndarray) -> np.ndarray:
        pos = np.sort(ann_samples[mask])
        return np.searchsorted(pos, ends, "left") - np.searchsorted(pos, starts, "left")

    beats = count(classes != "")
    normal = count(classes == "N")
    abnormal = count(np.isin(classes, ABNORMAL_CLASSES))

    overlap = np.zeros(len(starts), dtype=np.int64)
    for a, b, rhythm in rhythm_episodes(ann_samples, symbols, aux, n_samples):
        if rhythm != NORMAL_RHYTHM:
            overlap += np.clip(np.minimum(ends, b) - np.maximum(starts, a), 0, None)
    rhythm_share = np.minimum(overlap / length, 1.0)

    labels = ((abnormal > 0) | (overlap > 0)).astype(np.int64)
    beat_share = np.divide(abnormal, beats, out=np.zeros(len(starts)), where=beats > 0)
    normal_share = np.divide(normal, beats, out=np.zeros(len(starts)), where=beats > 0)
    confidence = np.where(labels == 1, np.maximum(beat_share, rhythm_share), normal_share)
    return WindowLabels(
        labels=labels,
        confidence=confidence.astype(np.float32),
        abnormal_beats=abnormal.astype(np.int64),
        beats=beats.astype(np.int64),
        abnormal_rhythm_share=rhythm_share.astype(np.float32),
    )
