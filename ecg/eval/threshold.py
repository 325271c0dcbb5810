"""The decision threshold: chosen on validation scores, never on the subjects it is judged on."""

from __future__ import annotations

import numpy as np

from ecg.eval.metrics import roc_curve


def choose_threshold(
    labels: np.ndarray, scores: np.ndarray, *, sensitivity_target: float
) -> tuple[float, str]:
    """Threshold reaching `sensitivity_target` with the highest specificity.

    Returns (threshold, rule). Falls back to Youden's J (max sens + spec - 1) when no
    threshold reaches the target, which happens only when the set has no positives.
    Among equally good thresholds the highest is kept (fewest false alarms).
    """
    labels = np.asarray(labels)
    fpr, tpr, thresholds = roc_curve(labels, scores)
    tpr, fpr, thresholds = tpr[1:], fpr[1:], thresholds[1:]
    if (labels == 1).any():
        ok = tpr >= sensitivity_target
        if ok.any():
            spec = np.where(ok, 1 - fpr, -1)
            best = np.flatnonzero(spec == spec.max())[0]
            return float(thresholds[best]), "sensitivity_target"
    return youden_threshold(labels, scores), "youden"


def youden_threshold(labels: np.ndarray, scores: np.ndarray) -> float:
    """The threshold with the largest Youden's J = sensitivity + specificity - 1 (the highest
    such threshold on ties)."""
    fpr, tpr, thresholds = roc_curve(np.asarray(labels), scores)
    j = tpr[1:] - fpr[1:]
    return float(thresholds[1:][np.argmax(j)])


def threshold_by_rule(
    rule: str, labels: np.ndarray, scores: np.ndarray, *, sensitivity_target: float
) -> tuple[float, str]:
    """(threshold, rule applied): `rule` is "sensitivity_target" or "youden"."""
    if rule == "youden":
        return youden_threshold(labels, scores), "youden"
    return choose_threshold(labels, scores, sensitivity_target=sensitivity_target)
