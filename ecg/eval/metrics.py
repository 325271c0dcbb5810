"""Clinical classification metrics, threshold choice and subject-bootstrap intervals.

Positive class = Arrhythmia (1). Sensitivity = TP / (TP + FN), specificity = TN / (TN + FP),
G-mean = sqrt(sensitivity * specificity).
"""

from __future__ import annotations

import math

import numpy as np


def _ratio(num: float, den: float) -> float:
    return float(num / den) if den > 0 else float("nan")


def confusion(labels: np.ndarray, predictions: np.ndarray) -> dict[str, int]:
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    return {
        "tp": int(((labels == 1) & (predictions == 1)).sum()),
        "fn": int(((labels == 1) & (predictions == 0)).sum()),
        "tn": int(((labels == 0) & (predictions == 0)).sum()),
        "fp": int(((labels == 0) & (predictions == 1)).sum()),
    }


def binary_metrics(labels: np.ndarray, predictions: np.ndarray) -> dict[str, float]:
    c = confusion(labels, predictions)
    tp, fn, tn, fp = c["tp"], c["fn"], c["tn"], c["fp"]
    sens, spec = _ratio(tp, tp + fn), _ratio(tn, tn + fp)
    ppv = _ratio(tp, tp + fp)
    return {
        "accuracy": _ratio(tp + tn, tp + tn + fp + fn),
        "sensitivity": sens,
        "specificity": spec,
        "ppv": ppv,
        "npv": _ratio(tn, tn + fn),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "g_mean": math.sqrt(sens * spec) if not (math.isnan(sens) or math.isnan(spec)) else 0.0,
    }


def roc_curve(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, ...]:
    """(fpr, tpr, thresholds), one point per distinct score, predicting 1 when score >= t."""
    labels, scores = np.asarray(labels), np.asarray(scores, dtype=np.float64)
    order = np.argsort(-scores, kind="mergesort")
    s, y = scores[order], labels[order]
    last_of_tie = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]
    tp = np.cumsum(y == 1)[last_of_tie]
    fp = np.cumsum(y == 0)[last_of_tie]
    n_pos, n_neg = max(tp[-1], 1), max(fp[-1], 1)
    fpr = np.r_[0.0, fp / n_neg]
    tpr = np.r_[0.0, tp / n_pos]
    thresholds = np.r_[np.inf, s[last_of_tie]]
    return fpr, tpr, thresholds


def auroc(labels: np.ndarray, scores: np.ndarray) -> float:
    labels = np.asarray(labels)
    if labels.min() == labels.max():
        return float("nan")
    fpr, tpr, _ = roc_curve(labels, scores)
    return float(np.trapezoid(tpr, fpr))


def pr_curve(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(recall, precision, thresholds) at each distinct score."""
    fpr, tpr, thresholds = roc_curve(labels, scores)
    n_pos = max(int((np.asarray(labels) == 1).sum()), 1)
    n_neg = max(int((np.asarray(labels) == 0).sum()), 1)
    tp, fp = tpr[1:] * n_pos, fpr[1:] * n_neg
    precision = np.divide(tp, tp + fp, out=np.ones_like(tp), where=(tp + fp) > 0)
    return tpr[1:], precision, thresholds[1:]


def auprc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Average precision: sum over thresholds of precision x recall increment."""
    if np.asarray(labels).max() == 0:
        return float("nan")
    recall, precision, _ = pr_curve(labels, scores)
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def score_ties(scores: np.ndarray) -> float:
    """Share of windows whose score equals another window's score."""
    _, inverse, counts = np.unique(np.asarray(scores), return_inverse=True, return_counts=True)
    return float((counts[inverse] > 1).mean()) if len(scores) else 0.0
