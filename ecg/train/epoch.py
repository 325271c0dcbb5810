"""One epoch of training and one pass of validation: the pieces `ecg.train.loop.fit`
repeats. Every random draw of epoch `e` comes from a seed derived from (`seed`, stage, `e`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ecg.core.errors import ECGError
from ecg.core.progress import progress
from ecg.data.files import ECGDataset
from ecg.eval.metrics import binary_metrics
from ecg.eval.scoring import predict, scores_from_logits
from ecg.train.config import FitConfig
from ecg.train.losses import TaskLoss


def epoch_seed(seed: int, stage: str, epoch: int) -> int:
    stage_code = {"pretrain": 0, "1": 1, "2": 2}.get(stage, 3)
    return (seed * 1_000_003 + stage_code * 10_007 + epoch) % (2**63)


def task_targets(
    data: ECGDataset, idx: torch.Tensor, device: torch.device
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """The batch's beat slot codes and rhythm classes, where the data has them."""
    beats = None if data.beat_classes is None else data.beat_classes[idx].to(device)
    rhythms = None if data.rhythm_classes is None else data.rhythm_classes[idx].to(device)
    return beats, rhythms


def validate(
    model: torch.nn.Module, data: ECGDataset, loss_fn: TaskLoss, *, device: torch.device
) -> tuple[dict[str, float], np.ndarray]:
    """Metrics at threshold 0.5 plus the window loss, and the scores, on `data`."""
    logits = predict(model, data.inputs, batch_size=256, device=device)
    scores = scores_from_logits(logits)
    labels = data.labels.numpy()
    metrics = binary_metrics(labels, (scores >= 0.5).astype(np.int64))
    loss = float(loss_fn.window(logits, data.labels)) if len(labels) else float("nan")
    metrics["loss"] = loss
    return metrics, scores


def train_one_epoch(
    model: torch.nn.Module,
    data: ECGDataset,
    optimizer: torch.optim.Optimizer,
    loss_fn: TaskLoss,
    cfg: FitConfig,
    *,
    seed: int,
    epoch: int,
    device: torch.device,
    last_good: Path,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
) -> float:
    """One pass over a seeded shuffle of `data` (the learning rate follows `scheduler` batch
    by batch, when there is one); returns the mean training loss."""
    torch.manual_seed(epoch_seed(seed, cfg.stage, epoch))
    gen = torch.Generator().manual_seed(epoch_seed(seed, cfg.stage, epoch) + 1)
    order = torch.randperm(len(data), generator=gen)
    model.train()
    total, count = 0.0, 0
    starts = range(0, len(data), cfg.batch_size)
    with progress(starts, desc=f"stage {cfg.stage} epoch {epoch}", unit="batch") as bar:
        for batch, i in enumerate(bar, start=1):
            idx = order[i : i + cfg.batch_size]
            x, y = data.inputs[idx], data.labels[idx]
            beats, rhythms = task_targets(data, idx, device)
            loss = loss_fn(model(x.to(device)), y.to(device), beats, rhythms)
            if not torch.isfinite(loss):
                raise ECGError(
                    f"stage {cfg.stage}: non-finite loss at epoch {epoch}, batch {batch}; "
                    f"try a lower learning rate (now {cfg.learning_rate:g}); the last good "
                    f"checkpoint is {last_good}"
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            total += loss.item() * len(idx)
            count += len(idx)
    return total / max(count, 1)
