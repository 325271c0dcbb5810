"""Subject folds: every subject in exactly one fold, folds balanced in windows and arrhythmia
share. The same rule makes the outer cross-validation folds and the inner folds that give an
ensemble its members and out-of-fold scores."""

from __future__ import annotations

import math

import numpy as np

from ecg.core.errors import ECGError

_FOLD_TRIALS = 500


def subject_folds(
    subjects: list[str], labels: np.ndarray, *, k: int, seed: int, key: str = "crossval.folds"
) -> list[list[str]]:
    """`k` disjoint subject folds covering every subject once, balanced in windows and
    arrhythmia share (best of seeded greedy assignments)."""
    names = sorted(set(subjects))
    if len(names) < k:
        raise ECGError(f"{key} = {k}: only {len(names)} subjects to split into folds")
    index = {s: i for i, s in enumerate(names)}
    idx = np.array([index[s] for s in subjects])
    n = np.bincount(idx, minlength=len(names)).astype(float)
    a = np.bincount(idx, weights=np.asarray(labels, dtype=float), minlength=len(names))
    rng = np.random.default_rng(seed)
    best, best_score = None, math.inf
    for _ in range(_FOLD_TRIALS):
        # Largest subjects first into the emptiest fold; the seeded shuffle breaks ties and
        # varies the start, and the trial with the most even folds wins.
        order = rng.permutation(len(names))
        order = order[np.argsort(-n[order] * rng.uniform(0.8, 1.2, len(names)), kind="stable")]
        fold_of = np.zeros(len(names), dtype=int)
        size = np.zeros(k)
        for i in order:
            f = int(np.argmin(size))
            fold_of[i] = f
            size[f] += n[i]
        share = np.array([a[fold_of == f].sum() / max(n[fold_of == f].sum(), 1) for f in range(k)])
        score = size.std() / size.mean() + share.std()
        if score < best_score:
            best, best_score = fold_of.copy(), score
    return [[names[i] for i in np.flatnonzero(best == f)] for f in range(k)]


def fold_summary(folds: list[list[str]], subjects: list[str], labels: np.ndarray):
    subjects_arr = np.array(subjects)
    return [
        {
            "fold": f + 1,
            "subjects": fold,
            "windows": int(np.isin(subjects_arr, fold).sum()),
            "arrhythmia_share": round(float(labels[np.isin(subjects_arr, fold)].mean()), 4),
        }
        for f, fold in enumerate(folds)
    ]
