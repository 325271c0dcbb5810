"""The report of a cross-validated model: pooled and per-fold figures with subject-bootstrap
intervals, the spread of its operating points, per-subject errors, calibration, and the
curve files `dvc plots` draws."""

from __future__ import annotations

from typing import Any

import numpy as np

from ecg.eval.bootstrap import auroc_bootstrap, subject_bootstrap
from ecg.eval.config import BootstrapConfig
from ecg.eval.metrics import auprc, auroc, binary_metrics, pr_curve, roc_curve, score_ties
from ecg.eval.report import curve_csv, per_subject


def cv_summary(
    labels: np.ndarray,
    scores: np.ndarray,
    fold_of: np.ndarray,
    thresholds: list[float],
    subjects: list[str],
    *,
    bootstrap: BootstrapConfig,
    seed: int,
    sensitivity_target: float,
    specificity_target: float,
) -> dict[str, Any]:
    """Figures of held-out `scores`; window i belongs to fold `fold_of[i]`, whose threshold is
    `thresholds[fold_of[i]]` (chosen on that fold's training subjects only)."""
    predictions = (scores >= np.asarray(thresholds)[fold_of]).astype(np.int64)
    pooled = binary_metrics(labels, predictions)
    level, n_boot = bootstrap.confidence_level, bootstrap.samples
    per_fold = []
    for f, threshold in enumerate(thresholds):
        rows = fold_of == f
        m = binary_metrics(labels[rows], predictions[rows])
        per_fold.append(
            {
                "fold": f + 1,
                "windows": int(rows.sum()),
                "threshold": float(threshold),
                "auroc": auroc(labels[rows], scores[rows]),
                "sensitivity": m["sensitivity"],
                "specificity": m["specificity"],
            }
        )
    return {
        "pooled_auroc": auroc(labels, scores),
        "pooled_auroc_ci": auroc_bootstrap(
            labels, scores, subjects, n_boot=n_boot, level=level, seed=seed
        ),
        "per_fold_auroc": [p["auroc"] for p in per_fold],
        "pooled_auprc": auprc(labels, scores),
        "pooled_sensitivity": pooled["sensitivity"],
        "pooled_specificity": pooled["specificity"],
        "pooled_g_mean": pooled["g_mean"],
        "pooled_accuracy": pooled["accuracy"],
        "confidence_intervals": subject_bootstrap(
            labels, predictions, subjects, n_boot=n_boot, level=level, seed=seed
        ),
        "threshold_spread": {
            "min": float(np.min(thresholds)),
            "median": float(np.median(thresholds)),
            "max": float(np.max(thresholds)),
        },
        "targets_met": bool(
            pooled["sensitivity"] >= sensitivity_target
            and pooled["specificity"] >= specificity_target
        ),
        "score_tie_share": score_ties(scores),
        "folds": per_fold,
    }


def subject_table(
    labels: np.ndarray, flags: dict[str, np.ndarray], subjects: list[str]
) -> list[dict[str, Any]]:
    """One row per subject: its windows and, per model, sensitivity and specificity."""
    rows: dict[str, dict[str, Any]] = {}
    for model, predictions in flags.items():
        for row in per_subject(labels, predictions, subjects):
            out = rows.setdefault(
                row["subject"],
                {
                    "subject": row["subject"],
                    "windows": row["windows"],
                    "arrhythmia_windows": row["arrhythmia_windows"],
                },
            )
            out[f"{model}_sensitivity"] = row["sensitivity"]
            out[f"{model}_specificity"] = row["specificity"]
    return [rows[s] for s in sorted(rows)]


def calibration_csv(labels: np.ndarray, scores: np.ndarray, *, bins: int = 10) -> str:
    """Reliability curve: per equal-width probability bin, mean score vs arrhythmia share."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(scores, edges[1:-1]), 0, bins - 1)
    predicted, observed = [], []
    for b in range(bins):
        rows = which == b
        if rows.any():
            predicted.append(float(scores[rows].mean()))
            observed.append(float(labels[rows].mean()))
    return curve_csv("predicted", np.array(predicted), "observed", np.array(observed))


def curve_files(labels: np.ndarray, scores: np.ndarray, model: str) -> dict[str, str]:
    """`roc_<model>.csv`, `precision_recall_<model>.csv`, `calibration_<model>.csv`."""
    fpr, tpr, _ = roc_curve(labels, scores)
    recall, precision, _ = pr_curve(labels, scores)
    return {
        f"roc_{model}.csv": curve_csv("fpr", fpr, "tpr", tpr),
        f"precision_recall_{model}.csv": curve_csv("recall", recall, "precision", precision),
        f"calibration_{model}.csv": calibration_csv(labels, scores),
    }
