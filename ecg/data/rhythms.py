"""Rhythm class of each window, from the reference rhythm episodes.

The documented mapping of rhythm annotations (aux notes of `+`, trailing NUL/whitespace
stripped) to `RHYTHM_CLASSES` (codes in that order):

    sinus          `(N`, and signal under no episode
    af             `(AFIB` atrial fibrillation, `(AFL` atrial flutter
    ventricular    `(VT` tachycardia, `(VFL` flutter, `(VF` / `(VFIB` fibrillation
    av_block       `(BI`, `(BII`, `(BIII` first-, second-, third-degree heart block
    preexcitation  `(PREX` (WPW)
    other          every other note: `(B` bigeminy, `(T` trigeminy, `(AB` atrial bigeminy,
                   `(SVTA`, `(NOD` nodal rhythm, `(IVR` idioventricular, `(SBR` sinus
                   bradycardia, `(P` paced, and notes not listed here

A window takes the non-sinus class with the most overlap; a tie goes to ventricular (the
lethal one), otherwise to the lower code. A window without non-sinus overlap is sinus, so a
window is non-sinus exactly when `label_windows` gives it abnormal rhythm share > 0.
"""

from __future__ import annotations

import numpy as np

RHYTHM_CLASSES = ("sinus", "af", "ventricular", "av_block", "preexcitation", "other")
SINUS, AF, VENTRICULAR, AV_BLOCK, PREEXCITATION, OTHER = range(len(RHYTHM_CLASSES))
RHYTHM_NOTES: dict[str, int] = {
    "(N": SINUS,
    "(AFIB": AF,
    "(AFL": AF,
    "(VT": VENTRICULAR,
    "(VFL": VENTRICULAR,
    "(VF": VENTRICULAR,
    "(VFIB": VENTRICULAR,
    "(BI": AV_BLOCK,
    "(BII": AV_BLOCK,
    "(BIII": AV_BLOCK,
    "(PREX": PREEXCITATION,
}
# Tie-break among equal overlaps: earlier wins.
_TIE_ORDER = (VENTRICULAR, AF, AV_BLOCK, PREEXCITATION, OTHER)


def rhythm_class(note: str) -> int:
    """Code in RHYTHM_CLASSES of a rhythm aux note such as `(AFIB`."""
    return RHYTHM_NOTES.get(note.rstrip("\x00").strip(), OTHER)


def window_rhythms(
    starts: np.ndarray, length: int, episodes: list[tuple[int, int, str]]
) -> np.ndarray:
    """Rhythm code int64 [W] of windows [start, start + length); `episodes` as given by
    `ecg.data.labels.rhythm_episodes` (start, exclusive end, note)."""
    starts = np.asarray(starts, dtype=np.int64)
    ends = starts + length
    overlap = np.zeros((len(RHYTHM_CLASSES), len(starts)), dtype=np.int64)
    for a, b, note in episodes:
        overlap[rhythm_class(note)] += np.clip(np.minimum(ends, b) - np.maximum(starts, a), 0, None)
    ranked = overlap[list(_TIE_ORDER)]
    best = np.asarray(_TIE_ORDER)[np.argmax(ranked, axis=0)]  # argmax keeps the first of ties
    return np.where(ranked.max(axis=0, initial=0) > 0, best, SINUS).astype(np.int64)
