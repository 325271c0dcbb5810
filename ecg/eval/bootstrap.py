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


def auroc_bootstrap(
    labels: np.ndarray,
    scores: np.ndarray,
    subjects: list[str],
    *,
    n_boot: int,
    level: float,
    seed: int,
) -> list[float]:
    """Percentile interval of AUROC, resampling subjects with replacement.

    A resample weighs each window by how often its subject was drawn; the weighted AUROC is
    the Mann-Whitney statistic with ties counted half, over tie groups of equal scores.
    """
    labels = np.asarray(labels)
    scores = np.asarray(scores, dtype=np.float64)
    names, idx = np.unique(np.asarray(subjects), return_inverse=True)
    order = np.argsort(scores, kind="mergesort")
    s, y, subj = scores[order], labels[order] == 1, idx[order]
    group = np.r_[0, np.cumsum(np.diff(s) != 0)]  # tie group of each sorted window
    rng = np.random.default_rng(seed)
    values = []
    for start in range(0, n_boot, 256):
        draws = rng.integers(0, len(names), size=(min(256, n_boot - start), len(names)))
        counts = np.stack([np.bincount(d, minlength=len(names)) for d in draws])  # [b, S]
        w = counts[:, subj].astype(np.float64)  # [b, N] window weights
        pos, neg = np.where(y, w, 0.0), np.where(y, 0.0, w)
        n_groups = group[-1] + 1
        gpos = np.zeros((len(w), n_groups))
        gneg = np.zeros((len(w), n_groups))
        np.add.at(gpos, (slice(None), group), pos)
        np.add.at(gneg, (slice(None), group), neg)
        below = np.cumsum(gneg, axis=1) - gneg  # negative weight strictly below each group
        total = gpos.sum(1) * gneg.sum(1)
        with np.errstate(invalid="ignore", divide="ignore"):
            auc = (gpos * (below + 0.5 * gneg)).sum(1) / total
        values.append(auc[np.isfinite(auc)])
    values = np.concatenate(values)
    lo, hi = 100 * (1 - level) / 2, 100 * (1 + level) / 2
    return (
        [float(np.percentile(values, lo)), float(np.percentile(values, hi))] if len(values) else []
    )
