"""Training loop shared by pretraining and both transfer stages.

Per epoch: AdamW steps over a seeded shuffle, validation sensitivity / specificity / G-mean
at the 0.5 probability threshold, model selection, an atomic `last.pt` for resuming. After
training, the decision threshold is chosen on validation and stored in the best checkpoint.

Every random draw of epoch `e` comes from a seed derived from (`seed`, stage, `e`), so a run
resumed from the end of any epoch ends exactly like an uninterrupted one.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from ecg.atomic import save_torch
from ecg.augment import augment_batch
from ecg.config import AugmentConfig, Params, PretrainConfig, StageConfig
from ecg.data import ECGDataset
from ecg.errors import ECGError
from ecg.losses import FocalLoss
from ecg.metrics import binary_metrics, choose_threshold


def resolve_device(name: str) -> torch.device:
    """`auto` picks cuda, then mps, then cpu."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ECGError("device: cuda requested but no CUDA device is available")
    return torch.device(name)


def epoch_seed(seed: int, stage: str, epoch: int) -> int:
    stage_code = {"pretrain": 0, "1": 1, "2": 2}.get(stage, 3)
    return (seed * 1_000_003 + stage_code * 10_007 + epoch) % (2**63)


@dataclass(frozen=True)
class FitConfig:
    stage: str  # "pretrain", "1" or "2"
    num_epochs: int
    learning_rate: float
    weight_decay: float
    batch_size: int
    focal_alpha: float
    focal_gamma: float
    patience: int
    sensitivity_target: float
    specificity_target: float
    seed: int
    augment: AugmentConfig | None = None
    frozen: tuple[str, ...] = ()  # module names whose parameters stay fixed

    @classmethod
    def for_pretraining(
        cls, pre: PretrainConfig, *, seed: int, num_epochs: int | None = None
    ) -> FitConfig:
        """Synthetic pretraining from the `pretrain` group: every epoch runs and the model is
        selected by G-mean alone, since the clinical targets are top-level params of the
        MIT-BIH stages and must not rerun pretraining."""
        epochs = num_epochs or pre.num_epochs
        return cls(
            stage="pretrain",
            num_epochs=epochs,
            learning_rate=pre.learning_rate,
            weight_decay=pre.weight_decay,
            batch_size=pre.batch_size,
            focal_alpha=pre.focal_alpha,
            focal_gamma=pre.focal_gamma,
            patience=epochs,
            sensitivity_target=math.inf,
            specificity_target=math.inf,
            seed=seed,
        )

    @classmethod
    def from_params(
        cls,
        params: Params,
        *,
        stage: str,
        schedule: StageConfig,
        seed: int,
        frozen: tuple[str, ...] = (),
        augment: AugmentConfig | None = None,
        select_by_targets: bool = True,
    ) -> FitConfig:
        """The shared top-level params plus one stage's epochs and learning rate.

        `select_by_targets=False` selects by G-mean alone and trains every epoch (used for
        synthetic pretraining, which must not depend on the clinical targets).
        """
        return cls(
            stage=stage,
            num_epochs=schedule.num_epochs,
            learning_rate=schedule.learning_rate,
            weight_decay=params.weight_decay,
            batch_size=params.batch_size,
            focal_alpha=params.focal_alpha,
            focal_gamma=params.focal_gamma,
            patience=params.early_stopping_patience if select_by_targets else schedule.num_epochs,
            sensitivity_target=params.sensitivity_target if select_by_targets else math.inf,
            specificity_target=params.specificity_target if select_by_targets else math.inf,
            seed=seed,
            augment=augment,
            frozen=frozen,
        )


class ModelSelector:
    """Which epoch's model to keep.

    Until some epoch meets both targets, the best G-mean wins; once one does, only
    target-meeting epochs can win, ranked by sensitivity (then specificity).
    """

    def __init__(self, *, sensitivity_target: float, specificity_target: float) -> None:
        self.sensitivity_target = sensitivity_target
        self.specificity_target = specificity_target
        self.best_epoch = 0
        self.best_key: tuple[float, ...] = (-math.inf,)
        self.targets_met = False

    def consider(self, epoch: int, sensitivity: float, specificity: float) -> bool:
        """Record an epoch's validation figures; True if it is the new best."""
        sens = 0.0 if math.isnan(sensitivity) else sensitivity
        spec = 0.0 if math.isnan(specificity) else specificity
        met = sens >= self.sensitivity_target and spec >= self.specificity_target
        if met:
            key = (1.0, sens, spec)
        elif self.targets_met:
            return False
        else:
            key = (0.0, math.sqrt(sens * spec))
        if key > self.best_key:
            self.best_key, self.best_epoch, self.targets_met = key, epoch, met
            return True
        return False

    def state_dict(self) -> dict[str, Any]:
        return {
            "best_epoch": self.best_epoch,
            "best_key": list(self.best_key),
            "targets_met": self.targets_met,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best_epoch = int(state["best_epoch"])
        self.best_key = tuple(float(v) for v in state["best_key"])
        self.targets_met = bool(state["targets_met"])


@torch.no_grad()
def predict(
    model: torch.nn.Module, signals: torch.Tensor, *, batch_size: int, device: torch.device
) -> torch.Tensor:
    """Logits [N, 2] in eval mode."""
    model.eval()
    out = [
        model(signals[i : i + batch_size].to(device)).logits.float().cpu()
        for i in range(0, len(signals), batch_size)
    ]
    return torch.cat(out) if out else torch.zeros(0, 2)


def scores_from_logits(logits: torch.Tensor) -> np.ndarray:
    """Probability of Arrhythmia: softmax of the time-averaged output membrane."""
    return torch.softmax(logits, dim=1)[:, 1].numpy().astype(np.float64)


def validate(
    model: torch.nn.Module,
    data: ECGDataset,
    loss_fn: FocalLoss,
    *,
    batch_size: int,
    device: torch.device,
) -> tuple[dict[str, float], np.ndarray]:
    logits = predict(model, data.signals, batch_size=batch_size, device=device)
    scores = scores_from_logits(logits)
    labels = data.labels.numpy()
    metrics = binary_metrics(labels, (scores >= 0.5).astype(np.int64))
    metrics["loss"] = float(loss_fn(logits, data.labels)) if len(labels) else float("nan")
    return metrics, scores


def _checkpoint(
    model,
    optimizer,
    cfg: FitConfig,
    epoch: int,
    val: dict[str, float],
    history: list[dict],
    *,
    threshold: float,
    targets_met: bool,
    extra: dict[str, Any],
) -> dict[str, Any]:
    return {
        "model_state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "optimizer_state_dict": optimizer.state_dict(),
        "config": dict(model.config),
        "training_config": {k: v for k, v in asdict(cfg).items() if k != "augment"}
        | {"augment": asdict(cfg.augment) if cfg.augment else None, "frozen": list(cfg.frozen)},
        "val_acc": val["accuracy"],
        "val_loss": val["loss"],
        "val_sensitivity": val["sensitivity"],
        "val_specificity": val["specificity"],
        "val_g_mean": val["g_mean"],
        "threshold": float(threshold),
        "history": [dict(h) for h in history],
        "targets_met": bool(targets_met),
        "epoch": int(epoch),
        "stage": cfg.stage,
        **extra,
    }


def freeze(model: torch.nn.Module, names: tuple[str, ...]) -> None:
    for name in names:
        module = getattr(model, name, None)
        if module is None:
            raise ECGError(f"cannot freeze '{name}': the model has no such layer")
        for p in module.parameters():
            p.requires_grad_(False)


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
        """The figures a stage writes to its metrics JSON."""
        return {
            "best_epoch": self.best_epoch,
            "epochs_run": self.epochs_run,
            "targets_met": self.targets_met,
            "val_accuracy": self.val["accuracy"],
            "val_sensitivity": self.val["sensitivity"],
            "val_specificity": self.val["specificity"],
            "val_g_mean": self.val["g_mean"],
            "val_loss": self.val["loss"],
            "threshold": self.threshold,
            "threshold_rule": self.threshold_rule,
            "val_at_threshold": self.val_at_threshold,
            "single_class": self.single_class,
            "train_seconds": round(self.seconds, 1),
        }


def fit(
    model: torch.nn.Module,
    train: ECGDataset,
    val: ECGDataset,
    cfg: FitConfig,
    *,
    device: torch.device,
    best_path: str | Path,
    last_path: str | Path | None = None,
    resume: bool = False,
    resume_hint: str = "",
    extra: dict[str, Any] | None = None,
    log: Callable[[str], None] = tqdm.write,
) -> FitResult:
    """Train `model`, keep the selected epoch in `best_path`, return the outcome."""
    extra = extra or {}
    for name, data in (("train", train), ("val", val)):
        if len(torch.unique(data.labels)) < 2:
            raise ECGError(
                f"{name} split has a single class ({int(data.labels[0])} only); "
                "cannot train or select a model"
            )
    freeze(model, cfg.frozen)
    model.to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    # AdamW: decoupled weight decay regularises every weight equally; Adam's L2 term would
    # be rescaled by the adaptive step and barely touch rarely-updated weights.
    optimizer = torch.optim.AdamW(params, lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    loss_fn = FocalLoss(alpha=cfg.focal_alpha, gamma=cfg.focal_gamma)
    selector = ModelSelector(
        sensitivity_target=cfg.sensitivity_target, specificity_target=cfg.specificity_target
    )
    history: list[dict] = []
    start, stale, seconds = 1, 0, 0.0
    finished = False

    if resume:
        if last_path is None or not Path(last_path).is_file():
            raise ECGError(f"--resume: no checkpoint to resume from at {last_path}")
        state = torch.load(last_path, map_location="cpu", weights_only=True)
        model.load_state_dict(state["model_state_dict"])
        optimizer.load_state_dict(state["optimizer_state_dict"])
        selector.load_state_dict(state["selector"])
        history, stale = list(state["history"]), int(state["stale_epochs"])
        start, finished = int(state["epoch"]) + 1, bool(state["finished"])
        seconds = float(state.get("seconds", 0.0))
        log(f"stage {cfg.stage}: resuming after epoch {state['epoch']} from {last_path}")

    def snapshot(epoch: int, val_metrics: dict[str, float]) -> dict[str, Any]:
        # The threshold is chosen after training; 0.5 stands until then.
        return _checkpoint(
            model,
            optimizer,
            cfg,
            epoch,
            val_metrics,
            history,
            threshold=0.5,
            targets_met=selector.targets_met,
            extra=extra,
        )

    def save_last(epoch: int, done: bool, val_metrics: dict[str, float]) -> None:
        if last_path is None:
            return
        ckpt = snapshot(epoch, val_metrics) | {
            "selector": selector.state_dict(),
            "stale_epochs": stale,
            "finished": done,
            "seconds": seconds,
        }
        save_torch(ckpt, last_path)

    n = len(train)
    epoch = start - 1
    if start == 1 and not finished:
        save_last(
            0,
            False,
            {k: float("nan") for k in ("accuracy", "loss", "sensitivity", "specificity", "g_mean")},
        )
    try:
        for epoch in range(start, cfg.num_epochs + 1):
            if finished:
                break
            t0 = time.perf_counter()
            torch.manual_seed(epoch_seed(cfg.seed, cfg.stage, epoch))
            gen = torch.Generator().manual_seed(epoch_seed(cfg.seed, cfg.stage, epoch) + 1)
            order = torch.randperm(n, generator=gen)
            model.train()
            total, count = 0.0, 0
            bar = tqdm(
                range(0, n, cfg.batch_size),
                desc=f"stage {cfg.stage} epoch {epoch}",
                unit="batch",
                leave=False,
            )
            for batch, i in enumerate(bar, start=1):
                idx = order[i : i + cfg.batch_size]
                x, y = train.signals[idx], train.labels[idx]
                if cfg.augment is not None:
                    x = augment_batch(x, cfg=cfg.augment, generator=gen)
                loss = loss_fn(model(x.to(device)).logits, y.to(device))
                if not torch.isfinite(loss):
                    raise ECGError(
                        f"stage {cfg.stage}: non-finite loss at epoch {epoch}, batch {batch}; "
                        f"try a lower learning rate (now {cfg.learning_rate:g}); the last good "
                        f"checkpoint is {last_path or best_path}"
                    )
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total += loss.item() * len(idx)
                count += len(idx)
                bar.set_postfix(loss=f"{total / count:.4f}")
            bar.close()
            val_metrics, _ = validate(model, val, loss_fn, batch_size=256, device=device)
            seconds += time.perf_counter() - t0
            history.append(
                {
                    "epoch": epoch,
                    "train_loss": total / max(count, 1),
                    "val_loss": val_metrics["loss"],
                    "val_acc": val_metrics["accuracy"],
                    "val_sensitivity": val_metrics["sensitivity"],
                    "val_specificity": val_metrics["specificity"],
                    "val_g_mean": val_metrics["g_mean"],
                    "seconds": round(time.perf_counter() - t0, 2),
                }
            )
            improved = selector.consider(
                epoch, val_metrics["sensitivity"], val_metrics["specificity"]
            )
            if improved:
                stale = 0
                save_torch(
                    snapshot(epoch, val_metrics),
                    best_path,
                )
            else:
                stale += 1
            done = stale >= cfg.patience or epoch == cfg.num_epochs
            save_last(epoch, done, val_metrics)
            log(
                f"stage {cfg.stage} epoch {epoch:3d}  loss {history[-1]['train_loss']:.4f}  "
                f"val loss {val_metrics['loss']:.4f} acc {val_metrics['accuracy']:.3f} "
                f"sens {val_metrics['sensitivity']:.3f} spec {val_metrics['specificity']:.3f} "
                f"G {val_metrics['g_mean']:.3f}{'  *best' if improved else ''}"
            )
            if stale >= cfg.patience:
                log(f"stage {cfg.stage}: early stop, {stale} epochs without a new best")
                break
    except KeyboardInterrupt:
        where = last_path or best_path
        log(
            f"\nstage {cfg.stage}: interrupted in epoch {epoch}; the last complete epoch is "
            f"saved in {where}." + (f" Resume with: {resume_hint}" if resume_hint else "")
        )
        raise

    return _finalise(
        model,
        val,
        loss_fn,
        cfg,
        selector,
        history,
        best_path,
        device,
        seconds,
        epochs_run=len(history),
        log=log,
    )


def _finalise(
    model, val, loss_fn, cfg, selector, history, best_path, device, seconds, *, epochs_run, log
) -> FitResult:
    """Reload the best epoch, choose the threshold on validation, store it."""
    best = torch.load(best_path, map_location="cpu", weights_only=True)
    model.load_state_dict(best["model_state_dict"])
    model.to(device)
    val_metrics, scores = validate(model, val, loss_fn, batch_size=256, device=device)
    labels = val.labels.numpy()
    threshold, rule = choose_threshold(labels, scores, sensitivity_target=cfg.sensitivity_target)
    at_threshold = binary_metrics(labels, (scores >= threshold).astype(np.int64))
    predictions = (scores >= 0.5).astype(np.int64)
    single_class = len(np.unique(predictions)) < 2
    best |= {
        "threshold": threshold,
        "threshold_rule": rule,
        "val_at_threshold": at_threshold,
        "history": [dict(h) for h in history],
    }
    save_torch(best, best_path)
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
        epochs_run=epochs_run,
        targets_met=selector.targets_met,
        threshold=threshold,
        threshold_rule=rule,
        val=val_metrics,
        val_at_threshold=at_threshold,
        single_class=single_class,
        history=history,
        seconds=seconds,
    )
