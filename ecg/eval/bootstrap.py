"""Confidence intervals that respect patients: resample subjects, not windows."""

from __future__ import annotations

import numpy as np

from ecg.eval.metrics import confusion


def subject_bootstrap(
    labels: np.ndarray,
    predictions: np.ndarray,
    subjects: list[str],
    *,
    n_boot: int,
    level: float,
    seed: int,
) -> dict[str, list[float]]:
    """Percentile intervals of sensitivity, specificity and G-mean, resampling subjects.

    Windows of one patient are correlated, so resampling windows would give intervals far
    too narrow; whole subjects are drawn with replacement instead.
    """
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    names = sorted(set(subjects))
    idx = np.array([names.index(s) for s in subjects])
    per = np.zeros((len(names), 4))  # tp, fn, tn, fp per subject
    for k in range(len(names)):
        c = confusion(labels[idx == k], predictions[idx == k])
        per[k] = c["tp"], c["fn"], c["tn"], c["fp"]
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(names), size=(n_boot, len(names)))
    tot = per[draws].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        sens = tot[:, 0] / (tot[:, 0] + tot[:, 1])
        spec = tot[:, 2] / (tot[:, 2] + tot[:, 3])
    gmean = np.sqrt(sens * spec)
    lo, hi = 100 * (1 - level) / 2, 100 * (1 + level) / 2

    def interval(x: np.ndarray) -> list[float]:
        x = x[np.isfinite(x)]
        return [float(np.percentile(x, lo)), float(np.percentile(x, hi))] if len(x) else []

    return {"sensitivity": interval(sens), "specificity": interval(spec), "g_mean": interval(gmean)}
