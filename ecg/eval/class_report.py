"""What kind of arrhythmia a model finds: EC57 beat statistics of a beat model's per-beat
classes, its rhythm recall, and, for every model, the share of flagged windows among the
windows of each beat class and rhythm.

Everything is computed from the held-out windows only (each scored by the ensemble that never
saw its subject), from arrays the preprocess stage wrote (`ecg.data.files`). The published
inter-patient rows (DS1 -> DS2, verified from the papers) sit beside the figures.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ecg.data.beat_labels import BEAT_CLASSES
from ecg.data.rhythms import RHYTHM_CLASSES
from ecg.eval.ec57 import ec57_report

# Se / +P (%) of VEB and SVEB on DS2, as the papers report them.
PUBLISHED = {
    "de Chazal 2004": {"veb": (77.7, 81.9), "sveb": (75.9, 38.5)},
    "Mar 2011": {"veb": (86.8, 75.9), "sveb": (83.2, 33.5)},
    "Zhang 2014": {"veb": (85.5, 92.7), "sveb": (79.1, 36.0)},
    "Garcia 2017": {"veb": (87.3, 59.4), "sveb": (62.0, 53.0)},
}
ECTOPIC = ("S", "V", "F")


def published_rows() -> dict[str, Any]:
    """The published rows as fractions, shaped like ours."""
    return {
        paper: {
            kind: {"sensitivity": se / 100, "ppv": ppv / 100} for kind, (se, ppv) in rows.items()
        }
        for paper, rows in PUBLISHED.items()
    }


def beat_statistics(
    beat_probs: np.ndarray,
    beat_codes: np.ndarray,
    missed: np.ndarray,
    record_ids: list[str],
) -> dict[str, Any]:
    """EC57 VEB / SVEB figures, gross and per record, of held-out windows: `beat_probs`
    [n, T, classes] (the predicted class is the most probable), `beat_codes` [n, T] the
    reference codes, `missed` [n, 5] reference beats no slot carries, `record_ids` [n]."""
    predicted = beat_probs.argmax(-1)
    records = np.asarray(record_ids)
    per_record = {
        rid: (beat_codes[records == rid], predicted[records == rid], missed[records == rid])
        for rid in sorted(set(record_ids))
    }
    report = ec57_report(per_record)
    return {**report["gross"], "counts": report["counts"], "per_record": report["per_record"]}


def rhythm_recall(rhythm_probs: np.ndarray, rhythms: np.ndarray) -> dict[str, Any]:
    """Per rhythm class: its windows and the share the model names correctly."""
    predicted = rhythm_probs.argmax(-1)
    out = {}
    for k, name in enumerate(RHYTHM_CLASSES):
        mine = rhythms == k
        recall = float((predicted[mine] == k).mean()) if mine.any() else None
        out[name] = {"windows": int(mine.sum()), "recall": recall}
    return out


def class_sensitivity(
    flags: np.ndarray, beat_codes: np.ndarray, missed: np.ndarray, rhythms: np.ndarray
) -> dict[str, Any]:
    """Share of windows flagged among those holding a reference beat of each ectopic class
    (detected or not) and among those of each non-sinus rhythm."""
    groups = {}
    for name in ECTOPIC:
        code = BEAT_CLASSES.index(name)
        groups[f"{name}_beats"] = (beat_codes == code).any(1) | (missed[:, code] > 0)
    for k, name in enumerate(RHYTHM_CLASSES[1:], start=1):
        groups[name] = rhythms == k
    return {
        name: {
            "windows": int(mine.sum()),
            "sensitivity": float(flags[mine].mean()) if mine.any() else None,
        }
        for name, mine in groups.items()
    }
