"""ANSI/AAMI EC57 beat-by-beat statistics for ventricular (VEB) and supraventricular (SVEB)
ectopic beats.

Per record: the reference code of each detected beat (`BEAT_CLASSES` code or `EXTRA`, from
`ecg.data.beat_labels`; `PADDING` slots are ignored), the predicted class of each detected
beat (0..3 = N, S, V, F) and the missed reference beats per class. The rules:

- reference Q beats are excluded;
- a missed reference beat is a false negative of its class (V or S) and otherwise a
  negative not flagged;
- VEB: TP = ref V predicted V; FN = ref V predicted otherwise, or missed V; FP = ref N or S
  predicted V, plus EXTRA predicted V. Ref F predicted V is neither FP nor TN (EC57 does not
  penalise fusion for VEB);
- SVEB: TP = ref S predicted S; FN = ref S predicted otherwise, or missed S; FP = ref N, V
  or F predicted S, plus EXTRA predicted S;
- TN = reference N/S/V/F beats of other classes, detected or missed, not flagged as the class.

Sensitivity = TP / (TP + FN), positive predictivity `ppv` = TP / (TP + FP), `fpr` =
FP / (FP + TN); None (JSON null) when the denominator is 0. Gross figures come from the
counts summed over records, never from averaged per-record figures.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ecg.core.errors import ECGError
from ecg.data.beat_labels import BEAT_CLASSES, EXTRA, PADDING

N, S, V, F, Q = range(len(BEAT_CLASSES))
# (class, reference codes that are FP when flagged, reference codes that are negatives): F is
# a VEB negative that is no FP when flagged, EXTRA an FP that is no negative.
_RULES = {
    "veb": (V, (N, S, EXTRA), (N, S, F)),
    "sveb": (S, (N, V, F, EXTRA), (N, V, F)),
}
Counts = dict[str, dict[str, int]]
Figures = dict[str, dict[str, float | None]]
RecordBeats = tuple[np.ndarray, np.ndarray, np.ndarray]


def ec57_counts(ref_codes: np.ndarray, pred_classes: np.ndarray, missed: np.ndarray) -> Counts:
    """{"veb"|"sveb": {"tp", "fn", "fp", "tn"}} of one record. `missed` int [..., 5] is
    summed over its leading axes (per-window rows from `window_beat_labels`, say)."""
    ref = np.asarray(ref_codes, dtype=np.int64).ravel()
    pred = np.asarray(pred_classes, dtype=np.int64).ravel()
    missed = np.asarray(missed, dtype=np.int64)
    if ref.shape != pred.shape:
        raise ECGError(f"ref_codes {ref.shape} and pred_classes {pred.shape} differ in shape")
    if missed.shape[-1:] != (len(BEAT_CLASSES),):
        raise ECGError(f"missed must end in {len(BEAT_CLASSES)} classes, got {missed.shape}")
    keep = ref != PADDING
    ref, pred = ref[keep], pred[keep]
    lost = missed.reshape(-1, len(BEAT_CLASSES)).sum(axis=0)
    counts = {}
    for name, (cls, false_pos, negatives) in _RULES.items():
        flagged = pred == cls
        counts[name] = {
            "tp": int((flagged & (ref == cls)).sum()),
            "fn": int((~flagged & (ref == cls)).sum() + lost[cls]),
            "fp": int((flagged & np.isin(ref, false_pos)).sum()),
            "tn": int((~flagged & np.isin(ref, negatives)).sum() + lost[list(negatives)].sum()),
        }
    return counts


def _ratio(num: int, den: int) -> float | None:
    return num / den if den > 0 else None


def ec57_figures(counts: Counts) -> Figures:
    """{"veb"|"sveb": {"sensitivity", "ppv", "fpr"}} from counts; None where undefined."""
    return {
        name: {
            "sensitivity": _ratio(c["tp"], c["tp"] + c["fn"]),
            "ppv": _ratio(c["tp"], c["tp"] + c["fp"]),
            "fpr": _ratio(c["fp"], c["fp"] + c["tn"]),
        }
        for name, c in counts.items()
    }


def ec57_report(per_record: Mapping[str, RecordBeats]) -> dict:
    """{"gross": figures of the summed counts, "per_record": {record: figures},
    "counts": summed counts} from {record: (ref_codes, pred_classes, missed)}."""
    gross: Counts = {name: dict.fromkeys(("tp", "fn", "fp", "tn"), 0) for name in _RULES}
    figures = {}
    for rid, beats in per_record.items():
        counts = ec57_counts(*beats)
        figures[rid] = ec57_figures(counts)
        for name, c in counts.items():
            for key, value in c.items():
                gross[name][key] += value
    return {"gross": ec57_figures(gross), "per_record": figures, "counts": gross}
