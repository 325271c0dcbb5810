"""Subject-wise k-fold cross-validation of the beat models, with the transfer recipe.

Per model: pretrain once on synthetic beats; per fold: stage 1 (fc1 frozen) and stage 2
(everything) on the training subjects, model selection and the decision threshold on the
fold's validation subjects, scoring on its held-out subjects. Every subject is held out
exactly once, so the pooled held-out scores cover the whole database.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ecg.beat_model import (
    beat_model_config,
    build_model,
    mean_efficiency,
    model_from_checkpoint,
)
from ecg.config import Params
from ecg.data import ECGDataset
from ecg.metrics import auroc, binary_metrics, score_ties, subject_bootstrap
from ecg.training import FitConfig, fit, predict, scores_from_logits

_FOLD_TRIALS = 500


def subject_folds(subjects: list[str], labels: np.ndarray, *, k: int, seed: int) -> list[list[str]]:
    """`k` disjoint subject folds covering every subject once, balanced in windows and
    arrhythmia share (best of seeded greedy assignments)."""
    names = sorted(set(subjects))
    if len(names) < k:
        raise ValueError(f"{len(names)} subjects cannot make {k} folds")
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


def validation_subjects(
    folds: list[list[str]],
    held_out: int,
    subjects: np.ndarray,
    *,
    seed: int,
    share: float = 0.2,
    min_subjects: int = 4,
) -> list[str]:
    """Seeded draw of non-held-out subjects until `share` of their windows (and at least
    `min_subjects`). Drawing across all other folds, not taking one whole fold, keeps one
    hard fold from setting every threshold."""
    pool = sorted(s for f, fold in enumerate(folds) if f != held_out for s in fold)
    counts = np.array([(subjects == s).sum() for s in pool], dtype=float)
    order = np.random.default_rng([seed, held_out]).permutation(len(pool))
    cum = np.cumsum(counts[order]) / counts.sum()
    k = max(int(np.searchsorted(cum, share)) + 1, min_subjects)
    return sorted(pool[i] for i in order[:k])


def _subset(data: ECGDataset, mask: np.ndarray) -> ECGDataset:
    idx = torch.as_tensor(np.flatnonzero(mask))
    ids = None if data.patient_ids is None else [data.patient_ids[i] for i in idx.tolist()]
    return ECGDataset(data.signals[idx], data.labels[idx], patient_ids=ids)


def run_model(
    arch: str,
    data: ECGDataset,
    folds: list[list[str]],
    synthetic: tuple[ECGDataset, ECGDataset],
    params: Params,
    *,
    out_dir: Path,
    device: torch.device,
    log: Callable[[str], None],
) -> dict[str, Any]:
    """Pretrain, then stage 1 and 2 per fold; pooled and per-fold held-out figures."""
    cv = params.crossval
    t0 = time.perf_counter()
    out_dir = out_dir / arch
    torch.manual_seed(params.seed)
    model = build_model(beat_model_config(arch, params.beat_model))
    pretrained = out_dir / "pretrained.pt"
    fit(
        model,
        synthetic[0],
        synthetic[1],
        FitConfig.from_params(
            params,
            stage="pretrain",
            schedule=cv.pretrain,
            seed=params.seed,
            select_by_targets=False,
        ),
        device=device,
        best_path=pretrained,
        log=log,
    )

    subjects = np.array(data.patient_ids)
    labels = data.labels.numpy()
    scores = np.full(len(labels), np.nan)
    predictions = np.zeros(len(labels), dtype=np.int64)
    per_fold, eff = [], []
    for f, held_out in enumerate(folds):
        val_subjects = validation_subjects(folds, f, subjects, seed=params.seed)
        test = np.isin(subjects, held_out)
        val = np.isin(subjects, val_subjects)
        train = ~(test | val)
        seed = params.seed + 1000 * (f + 1)
        fold_dir = out_dir / f"fold{f + 1}"
        start = pretrained
        # Stage 1 freezes fc1; logistic regression has nothing else to train, so it goes
        # straight to stage 2.
        stages = (
            [("2", cv.stage2, ())]
            if arch == "logreg"
            else [("1", cv.stage1, ("fc1",)), ("2", cv.stage2, ())]
        )
        for stage, cfg, frozen in stages:
            model = model_from_checkpoint(start)
            result = fit(
                model,
                _subset(data, train),
                _subset(data, val),
                FitConfig.from_params(params, stage=stage, schedule=cfg, seed=seed, frozen=frozen),
                device=device,
                best_path=fold_dir / f"stage{stage}.pt",
                log=log,
            )
            start = fold_dir / f"stage{stage}.pt"
        logits = predict(
            model,
            data.signals[torch.as_tensor(np.flatnonzero(test))],
            batch_size=512,
            device=device,
        )
        fold_scores = scores_from_logits(logits)
        scores[test] = fold_scores
        predictions[test] = (fold_scores >= result.threshold).astype(np.int64)
        m = binary_metrics(labels[test], predictions[test])
        per_fold.append(
            {
                "fold": f + 1,
                "held_out_subjects": held_out,
                "val_subjects": val_subjects,
                "windows": int(test.sum()),
                "arrhythmia_share": float(labels[test].mean()),
                "threshold": result.threshold,
                "auroc": auroc(labels[test], fold_scores),
                "sensitivity": m["sensitivity"],
                "specificity": m["specificity"],
                "val_sensitivity_at_threshold": result.val_at_threshold["sensitivity"],
                "val_specificity_at_threshold": result.val_at_threshold["specificity"],
            }
        )
        eff.append(
            mean_efficiency(
                model, data.signals[torch.as_tensor(np.flatnonzero(test))], device=device
            )
        )
        log(
            f"crossval {arch} fold {f + 1}: AUROC {per_fold[-1]['auroc']:.3f} sens "
            f"{m['sensitivity']:.3f} spec {m['specificity']:.3f}"
        )

    pooled = binary_metrics(labels, predictions)
    ci = subject_bootstrap(
        labels,
        predictions,
        list(subjects),
        n_boot=params.evaluate.bootstrap_samples,
        level=params.evaluate.confidence_level,
        seed=params.seed,
    )
    return {
        "arch": arch,
        "pooled_auroc": auroc(labels, scores),
        "per_fold_auroc": [p["auroc"] for p in per_fold],
        "pooled_sensitivity": pooled["sensitivity"],
        "pooled_specificity": pooled["specificity"],
        "pooled_g_mean": pooled["g_mean"],
        "pooled_accuracy": pooled["accuracy"],
        "score_tie_share": score_ties(scores),
        "targets_met": bool(
            pooled["sensitivity"] >= params.sensitivity_target
            and pooled["specificity"] >= params.specificity_target
        ),
        "confidence_intervals": ci,
        "efficiency_per_window": {k: float(np.mean([e[k] for e in eff])) for k in eff[0]},
        "folds": per_fold,
        "seconds": round(time.perf_counter() - t0, 1),
    }, scores


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
