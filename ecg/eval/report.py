"""The evaluation report of a model on held-out subjects: point metrics at the stored
threshold with subject-bootstrap intervals, the per-subject table, curve files for
`dvc plots`, and the per-window cost with an energy estimate."""

from __future__ import annotations

import csv
import io
from typing import Any

import numpy as np

from ecg.eval.bootstrap import subject_bootstrap
from ecg.eval.config import BootstrapConfig
from ecg.eval.metrics import binary_metrics, full_report, pr_curve, roc_curve, score_ties

POINT_METRICS = ("accuracy", "sensitivity", "specificity", "ppv", "npv", "f1", "g_mean")
# Energy per operation, 45 nm CMOS, 32-bit float (Horowitz, ISSCC 2014): an accumulate
# (spike-driven synaptic event) costs an add, a MAC an add plus a multiply.
ENERGY_PJ = {"accumulate": 0.9, "mac": 3.7 + 0.9}


def csv_text(rows: list[dict[str, Any]], fields: list[str]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def curve_csv(x_name: str, x: np.ndarray, y_name: str, y: np.ndarray) -> str:
    rows = [
        {x_name: round(float(a), 5), y_name: round(float(b), 5)} for a, b in zip(x, y, strict=True)
    ]
    return csv_text(rows, [x_name, y_name])


def with_energy(cost: dict[str, float]) -> dict[str, Any]:
    """`cost` (means per window) plus an energy estimate from its SynOps and MACs."""
    energy_nj = (
        cost["synops_per_window"] * ENERGY_PJ["accumulate"]
        + cost["macs_per_window"] * ENERGY_PJ["mac"]
    ) / 1e3
    return {
        "note": "estimate: operation counts per window from the test run; energy from "
        "per-operation figures of Horowitz (ISSCC 2014, 45 nm, fp32): accumulate 0.9 pJ, "
        "multiply-accumulate 4.6 pJ; memory access and neuron updates not counted",
        **cost,
        "energy_per_window_nj_estimate": float(energy_nj),
    }


def per_subject(labels: np.ndarray, predictions: np.ndarray, subjects: list[str]) -> list[dict]:
    """One row per subject: windows, arrhythmia share, sensitivity and specificity."""
    subjects_arr = np.asarray(subjects)
    rows = []
    for s in sorted(set(subjects)):
        mask = subjects_arr == s
        m = binary_metrics(labels[mask], predictions[mask])
        rows.append(
            {
                "subject": s,
                "windows": int(mask.sum()),
                "arrhythmia_windows": int(labels[mask].sum()),
                "arrhythmia_share": round(float(labels[mask].mean()), 4),
                "sensitivity": "" if np.isnan(m["sensitivity"]) else round(m["sensitivity"], 4),
                "specificity": "" if np.isnan(m["specificity"]) else round(m["specificity"], 4),
            }
        )
    return rows


def test_report(
    labels: np.ndarray,
    scores: np.ndarray,
    subjects: list[str],
    threshold: float,
    *,
    bootstrap: BootstrapConfig,
    seed: int,
    sensitivity_target: float,
    specificity_target: float,
) -> dict[str, Any]:
    """Everything `metrics/test.json` holds about the scores (not the model's cost)."""
    report = full_report(labels, scores, threshold)
    predictions = (scores >= threshold).astype(np.int64)
    intervals = subject_bootstrap(
        labels,
        predictions,
        subjects,
        n_boot=bootstrap.samples,
        level=bootstrap.confidence_level,
        seed=seed,
    )
    at_half = full_report(labels, scores, 0.5)
    with_arrhythmia = {s for s, y in zip(subjects, labels, strict=True) if y == 1}
    with_normal = {s for s, y in zip(subjects, labels, strict=True) if y == 0}
    return {
        **{k: report[k] for k in (*POINT_METRICS, "auroc", "auprc", "threshold")},
        "targets_met": bool(
            report["sensitivity"] >= sensitivity_target
            and report["specificity"] >= specificity_target
        ),
        "sensitivity_target": sensitivity_target,
        "specificity_target": specificity_target,
        "confusion_matrix": report["confusion_matrix"],
        "confidence_intervals": {
            "level": bootstrap.confidence_level,
            "method": f"percentile bootstrap over subjects, {bootstrap.samples} resamples",
            **intervals,
        },
        "windows": {
            "total": int(len(labels)),
            "arrhythmia": int(labels.sum()),
            "normal": int((labels == 0).sum()),
        },
        "subjects": {
            "total": len(set(subjects)),
            "with_arrhythmia": len(with_arrhythmia),
            "with_normal": len(with_normal),
            "ids": sorted(set(subjects)),
        },
        "score_tie_share": score_ties(scores),
        "at_threshold_0_5": {k: at_half[k] for k in (*POINT_METRICS, "confusion_matrix")},
    }


def plot_files(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, str]:
    """CSV texts for `dvc plots`: ROC, precision-recall, and the confusion matrix."""
    predictions = (scores >= threshold).astype(np.int64)
    fpr, tpr, _ = roc_curve(labels, scores)
    recall, precision, _ = pr_curve(labels, scores)
    names = {0: "normal", 1: "arrhythmia"}
    confusion_rows = [
        {"actual": names[int(a)], "predicted": names[int(p)]}
        for a, p in zip(labels, predictions, strict=True)
    ]
    return {
        "roc.csv": curve_csv("fpr", fpr, "tpr", tpr),
        "precision_recall.csv": curve_csv("recall", recall, "precision", precision),
        "confusion.csv": csv_text(confusion_rows, ["actual", "predicted"]),
    }
