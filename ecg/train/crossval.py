"""Subject-wise k-fold cross-validation of the beat models, with the transfer recipe.

Per model: pretrain once on synthetic beats; per fold: stage 1 (fc1 frozen) and stage 2
(everything) on the training subjects, model selection and the decision threshold on the
fold's validation subjects, scoring on its held-out subjects. Every subject is held out
exactly once, so the pooled held-out scores cover the whole database.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ecg.core.errors import ECGError
from ecg.data.files import ECGDataset
from ecg.eval.bootstrap import subject_bootstrap
from ecg.eval.config import BootstrapConfig
from ecg.eval.metrics import auroc, binary_metrics, score_ties
from ecg.eval.scoring import mean_cost, predict, scores_from_logits
from ecg.models.checkpoint import load_model
from ecg.models.registry import build_model
from ecg.train.config import CrossvalConfig, FitConfig, TransferConfig
from ecg.train.live import LiveLog
from ecg.train.loop import fit

_FOLD_TRIALS = 500


def subject_folds(subjects: list[str], labels: np.ndarray, *, k: int, seed: int) -> list[list[str]]:
    """`k` disjoint subject folds covering every subject once, balanced in windows and
    arrhythmia share (best of seeded greedy assignments)."""
    names = sorted(set(subjects))
    if len(names) < k:
        raise ECGError(f"crossval.folds = {k}: only {len(names)} subjects to split into folds")
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
    model_config: Any,
    data: ECGDataset,
    folds: list[list[str]],
    synthetic: tuple[ECGDataset, ECGDataset],
    *,
    cv: CrossvalConfig,
    transfer: TransferConfig,
    bootstrap: BootstrapConfig,
    seed: int,
    out_dir: Path,
    live_dir: Path,
    device: torch.device,
    log: Callable[[str], None],
) -> tuple[dict[str, Any], np.ndarray]:
    """Pretrain, then stage 1 and 2 per fold; pooled and per-fold held-out figures.

    Every training run logs its epochs live under `live_dir/<arch>/` (`pretrain`,
    `fold<k>/stage<n>`), and its log lines name the model and fold.
    """
    t0 = time.perf_counter()
    out_dir, live_dir = out_dir / arch, live_dir / arch
    torch.manual_seed(seed)
    model = build_model(model_config)
    pretrained = out_dir / "pretrained.pt"
    pretrain_cfg = dataclasses.replace(
        FitConfig.for_transfer(transfer, cv.pretrain, stage="pretrain", seed=seed),
        selection="g_mean",
        patience=cv.pretrain.num_epochs,
        threshold_rule="youden",
    )
    with LiveLog(live_dir / "pretrain") as live:
        fit(
            model,
            synthetic[0],
            synthetic[1],
            pretrain_cfg,
            device=device,
            best_path=pretrained,
            log=lambda line: log(f"crossval {arch} pretrain: {line}"),
            on_epoch=live.log_epoch,
        )

    subjects = np.array(data.patient_ids)
    labels = data.labels.numpy()
    scores = np.full(len(labels), np.nan)
    predictions = np.zeros(len(labels), dtype=np.int64)
    per_fold, eff = [], []
    for f, held_out in enumerate(folds):
        val_subjects = validation_subjects(folds, f, subjects, seed=seed)
        test = np.isin(subjects, held_out)
        val = np.isin(subjects, val_subjects)
        train = ~(test | val)
        fold_seed = seed + 1000 * (f + 1)
        fold_dir = out_dir / f"fold{f + 1}"
        start = pretrained
        # Stage 1 freezes fc1; logistic regression has nothing else to train, so it goes
        # straight to stage 2.
        stages = (
            [("2", cv.stage2, ())]
            if arch == "logreg"
            else [("1", cv.stage1, ("fc1",)), ("2", cv.stage2, ())]
        )
        for stage, schedule, frozen in stages:
            model = load_model(start)
            with LiveLog(live_dir / f"fold{f + 1}" / f"stage{stage}") as live:
                result = fit(
                    model,
                    _subset(data, train),
                    _subset(data, val),
                    FitConfig.for_transfer(
                        transfer, schedule, stage=stage, seed=fold_seed, frozen=frozen
                    ),
                    device=device,
                    best_path=fold_dir / f"stage{stage}.pt",
                    log=lambda line, f=f: log(f"crossval {arch} fold {f + 1}: {line}"),
                    on_epoch=live.log_epoch,
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
            mean_cost(model, data.signals[torch.as_tensor(np.flatnonzero(test))], device=device)
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
        n_boot=bootstrap.samples,
        level=bootstrap.confidence_level,
        seed=seed,
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
            pooled["sensitivity"] >= transfer.sensitivity_target
            and pooled["specificity"] >= transfer.specificity_target
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
