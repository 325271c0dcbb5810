"""Each scored window's verdict, one of four, and how the outputs write it.

    normal      readable, of good quality, not VT/VF, below the model's threshold
    arrhythmia  readable, of good quality, not VT/VF, at or above the threshold
    vt_vf       a sustained ventricular rhythm (`ecg.signal.ventricular`): always an alarm,
                whatever the model says and whatever the quality index reads
    unreadable  more than a QRS-length of missing signal, or below the quality gate and
                not VT/VF: neither an alarm nor an all-clear

VT/VF wins over the quality gate because the alarm must never be hidden: the quality index
grades the window by noise, and a lethal rhythm under noise is still a lethal rhythm. A
missing-signal window stays unreadable: the evidence would be read off held samples.

WFDB annotations (`<stem>.snn`), one where a run of windows with the same rhythm starts:
`+` (rhythm change) with aux "(N", "(ARR", "(VT" or "(VF" (VT below 240 /min, else flutter
or fibrillation: `ecg.signal.ventricular.rhythm_label`); an unreadable run is WFDB's noise
annotation `~` with subtype -1 ("unreadable", as in MIT-BIH's .atr files) and aux "(U",
closed by a `~` with subtype 0 (signal readable again) at the sample where the next run's
`+` starts.
"""

from __future__ import annotations

import numpy as np

from ecg.signal.ventricular import rhythm_label

VERDICTS = ("normal", "arrhythmia", "vt_vf", "unreadable")
ALARMS = ("arrhythmia", "vt_vf")
RHYTHM = {"normal": "(N", "arrhythmia": "(ARR", "unreadable": "(U"}


def window_verdicts(
    readable: np.ndarray, good_quality: np.ndarray, vt_vf: np.ndarray, flag: np.ndarray
) -> np.ndarray:
    """Per window (see the module docstring), as an array of `VERDICTS` strings."""
    out = np.where(np.asarray(flag, dtype=bool), "arrhythmia", "normal").astype(object)
    out[~np.asarray(good_quality, dtype=bool)] = "unreadable"
    out[np.asarray(vt_vf, dtype=bool)] = "vt_vf"
    out[~np.asarray(readable, dtype=bool)] = "unreadable"
    return out


def verdict_counts(verdicts: np.ndarray) -> dict[str, int]:
    return {v: int(np.sum(verdicts == v)) for v in VERDICTS}


def rhythm_labels(verdicts: np.ndarray, dominant_hz: np.ndarray) -> list[str]:
    """The annotation's rhythm per window: VT/VF windows say which by their rate."""
    return [rhythm_label(f) if v == "vt_vf" else RHYTHM[v]
            for v, f in zip(verdicts, dominant_hz, strict=True)]  # fmt: skip


def annotation_runs(labels: list[str], starts: np.ndarray) -> list[tuple[int, str, int, str]]:
    """(sample, symbol, subtype, aux) of every annotation, `starts` the windows' samples."""
    out: list[tuple[int, str, int, str]] = []
    for i, label in enumerate(labels):
        if i and label == labels[i - 1]:
            continue
        sample = int(starts[i])
        if i and labels[i - 1] == RHYTHM["unreadable"]:
            out.append((sample, "~", 0, ""))  # the signal is readable again
        if label == RHYTHM["unreadable"]:
            out.append((sample, "~", -1, label))
        else:
            out.append((sample, "+", 0, label))
    return out
