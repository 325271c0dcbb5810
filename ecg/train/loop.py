"""The training loop shared by pretraining, both transfer stages and cross-validation.

`fit` is built from named pieces: per epoch `train_one_epoch` (AdamW over a seeded shuffle;
`ecg.train.epoch`),
`validate` (sensitivity / specificity / G-mean at 0.5), the `ModelSelector`, and
`TrainingCheckpoint`s: `best_path` for the selected epoch, `last_path` after every epoch for
resuming. After training, `finalise` reloads the best epoch and chooses the decision threshold
on validation.

Every random draw of epoch `e` comes from a seed derived from (`seed`, stage, `e`), so a run
resumed from the end of any epoch ends exactly like an uninterrupted one.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ecg.core.device import reproducible_compute
from ecg.core.errors import ECGError
from ecg.core.progress import log as print_line
from ecg.data.files import ECGDataset
from ecg.eval.metrics import binary_metrics
from ecg.eval.threshold import threshold_by_rule
from ecg.train.checkpoint import NO_METRICS, TrainingCheckpoint
from ecg.train.config import FitConfig
from ecg.train.epoch import train_one_epoch, validate
from ecg.train.losses import TaskLoss
from ecg.train.run_state import RunState

EpochCallback = Callable[[dict[str, Any]], None]


def freeze(model: torch.nn.Module, names: tuple[str, ...]) -> None:
    for name in names:
        module = getattr(model, name, None)
        if module is None:
            raise ECGError(f"cannot freeze '{name}': the model has no such layer")
        for p in module.parameters():
            p.requires_grad_(False)


def check_two_classes(train: ECGDataset, val: ECGDataset) -> None:
    for name, data in (("train", train), ("val", val)):
        if len(data) == 0:
            raise ECGError(f"{name} split is empty; cannot train or select a model")
        if len(torch.unique(data.labels)) < 2:
            raise ECGError(
                f"{name} split has a single class ({int(data.labels[0])} only); "
                "cannot train or select a model"
            )


@dataclass
class FitResult:
    best_epoch: int
    epochs_run: int
    targets_met: bool
    threshold: float
    threshold_rule: str
    val: dict[str, float]  # best model at 0.5
    val_at_threshold: dict[str, float]
    single_class: bool
    history: list[dict]
    seconds: float

    def summary(self) -> dict[str, Any]:
        """The figures of the selected epoch (no wall time: results only)."""
        return {
            "best_epoch": self.best_epoch,
            "epochs_run": self.epochs_run,
            "targets_met": self.targets_met,
            "val_acc": self.val["accuracy"],
            **{f"val_{k}": self.val[k] for k in ("loss", "sensitivity", "specificity", "g_mean")},
            "threshold": self.threshold,
            "threshold_rule": self.threshold_rule,
            "val_at_threshold": self.val_at_threshold,
            "single_class": self.single_class,
        }


@reproducible_compute()
def fit(
    model: torch.nn.Module,
    train: ECGDataset,
    val: ECGDataset,
    cfg: FitConfig,
    *,
    seed: int,
    device: torch.device,
    best_path: str | Path,
    last_path: str | Path | None = None,
    resume: bool = False,
    resume_hint: str = "",
    extra: dict[str, Any] | None = None,
    log: Callable[[str], None] = print_line,
    on_epoch: EpochCallback | None = None,
) -> FitResult:
    """Train `model`, keep the selected epoch in `best_path`, return the outcome.

    Every random draw derives from `seed`; `on_epoch` receives each epoch's history row (live
    logging). Checkpoints hold no wall times, so a rerun writes the same bytes.
    """
    check_two_classes(train, val)
    best_path = Path(best_path)
    last_path = None if last_path is None else Path(last_path)
    freeze(model, cfg.frozen)
    model.to(device)
    # AdamW: decoupled weight decay regularises every weight equally; Adam's L2 term would
    # be rescaled by the adaptive step and barely touch rarely-updated weights.
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad],
        lr=cfg.learning_rate,
        weight_decay=cfg.weight_decay,
    )
    loss_fn = TaskLoss(
        alpha=cfg.focal_alpha,
        gamma=cfg.focal_gamma,
        beat_weight=cfg.beat_loss_weight,
        beat_class_weights=cfg.beat_class_weights,
        rhythm_weight=cfg.rhythm_loss_weight,
    ).to(device)
    scheduler = None
    if cfg.lr_schedule == "one_cycle":
        steps = cfg.num_epochs * math.ceil(len(train) / cfg.batch_size)
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=cfg.learning_rate, total_steps=steps, pct_start=0.2
        )
    run = RunState(model, optimizer, cfg, dict(extra or {}), scheduler=scheduler)
    if resume:
        run.resume_from(last_path, log)
    elif last_path is not None:
        run.save_last(last_path, 0, NO_METRICS)

    epoch = run.start - 1
    try:
        for epoch in range(run.start, cfg.num_epochs + 1):
            if run.finished:
                break
            t0 = time.perf_counter()
            train_loss = train_one_epoch(
                model,
                train,
                optimizer,
                loss_fn,
                cfg,
                seed=seed,
                epoch=epoch,
                device=device,
                last_good=last_path or best_path,
                scheduler=scheduler,
            )
            val_metrics, _ = validate(model, val, loss_fn, device=device)
            run.seconds += time.perf_counter() - t0
            row = {
                "epoch": epoch,
                "train_loss": train_loss,
                "val_loss": val_metrics["loss"],
                "val_accuracy": val_metrics["accuracy"],
                "val_sensitivity": val_metrics["sensitivity"],
                "val_specificity": val_metrics["specificity"],
                "val_g_mean": val_metrics["g_mean"],
            }
            run.history.append(row)
            improved = run.selector.consider(
                epoch, val_metrics["sensitivity"], val_metrics["specificity"]
            )
            run.stale = 0 if improved else run.stale + 1
            if improved:
                run.checkpoint(epoch, val_metrics).save(best_path)
            run.finished = run.stale >= cfg.patience or epoch == cfg.num_epochs
            run.save_last(last_path, epoch, val_metrics)
            if on_epoch is not None:
                on_epoch(row)
            log(
                f"stage {cfg.stage} epoch {epoch:3d}  loss {train_loss:.4f}  "
                f"val loss {val_metrics['loss']:.4f} acc {val_metrics['accuracy']:.3f} "
                f"sens {val_metrics['sensitivity']:.3f} spec {val_metrics['specificity']:.3f} "
                f"G {val_metrics['g_mean']:.3f}{'  *best' if improved else ''}"
            )
            if run.stale >= cfg.patience:
                log(f"stage {cfg.stage}: early stop, {run.stale} epochs without a new best")
                break
    except KeyboardInterrupt:
        where = last_path or best_path
        log(
            f"\nstage {cfg.stage}: interrupted in epoch {epoch}; the last complete epoch is "
            f"saved in {where}." + (f" Resume with: {resume_hint}" if resume_hint else "")
        )
        raise
    return finalise(model, val, loss_fn, cfg, run, best_path, device, log=log)


def finalise(model, val, loss_fn, cfg: FitConfig, run: RunState, best_path: Path, device, *, log):
    """Reload the best epoch, choose the threshold on validation, store it."""
    best = TrainingCheckpoint.load(best_path)
    model.load_state_dict(best.model_state_dict)
    model.to(device)
    val_metrics, scores = validate(model, val, loss_fn, device=device)
    labels = val.labels.numpy()
    threshold, rule = threshold_by_rule(
        cfg.threshold_rule, labels, scores, sensitivity_target=cfg.sensitivity_target
    )
    at_threshold = binary_metrics(labels, (scores >= threshold).astype(np.int64))
    predictions = (scores >= 0.5).astype(np.int64)
    single_class = len(np.unique(predictions)) < 2
    best.threshold, best.threshold_rule = threshold, rule
    best.val_at_threshold = at_threshold
    best.history = [dict(h) for h in run.history]
    best.save(best_path)
    selector = run.selector
    if single_class:
        log(
            f"warning: stage {cfg.stage}: the selected model (epoch {selector.best_epoch}) "
            f"predicts only class {int(predictions[0])} on validation at 0.5; saved anyway to "
            f"{best_path}, but it has not learned to separate the classes"
        )
    else:
        log(
            f"stage {cfg.stage}: saved epoch {selector.best_epoch} to {best_path} "
            f"(targets {'met' if selector.targets_met else 'not met'}; threshold "
            f"{threshold:.4f} by {rule})"
        )
    return FitResult(
        best_epoch=selector.best_epoch,
        epochs_run=len(run.history),
        targets_met=selector.targets_met,
        threshold=threshold,
        threshold_rule=rule,
        val=val_metrics,
        val_at_threshold=at_threshold,
        single_class=single_class,
        history=run.history,
        seconds=run.seconds,
    )
