"""One member of an ensemble: a network trained by the design's recipe (synthetic
pretraining, stage 1 with fc1 frozen, stage 2 with every layer), or the gradient-boosting
baseline, on some subjects; it scores any rows.

Everything here is plain data (`Recipe`, `Member`), so that members can be trained in worker
processes and sent back.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ecg.data.files import ECGDataset
from ecg.eval.scoring import predict, scores_from_logits
from ecg.models.checkpoint import load_model, model_payload
from ecg.models.registry import build_model
from ecg.train.config import FitConfig
from ecg.train.crossval_config import GBM, GBMConfig
from ecg.train.gbm import fit_gbm, score_gbm
from ecg.train.live import LiveLog
from ecg.train.loop import fit


@dataclass(frozen=True)
class Recipe:
    """How every member of an ensemble is trained."""

    name: str  # an architecture, or "gbm"
    model_config: Any = None  # networks: the config dataclass
    pretrained: str | None = None  # networks: checkpoint to start from (None: from scratch)
    stages: tuple[FitConfig, ...] = ()  # networks: the fits, in order (stage "1", "2")
    gbm: GBMConfig | None = None  # the gradient-boosting baseline


@dataclass(frozen=True)
class Member:
    name: str
    payload: Any  # networks: `model_payload`; gbm: the booster's text model

    def score(self, signals: torch.Tensor) -> np.ndarray:
        """Probability of Arrhythmia per row."""
        if self.name == GBM:
            return score_gbm(self.payload, signals)
        model = load_model(self.payload)
        logits = predict(model, signals, batch_size=512, device=torch.device("cpu"))
        return scores_from_logits(logits)


def train_member(
    recipe: Recipe,
    train: ECGDataset,
    val: ECGDataset,
    *,
    seed: int,
    log: Callable[[str], None],
    live_dir: Path | None = None,
) -> Member:
    """Train one member on `train`; `val` (its inner fold) selects the epoch when the
    recipe's selection mode asks for it. Each stage logs its epochs live under `live_dir`."""
    if recipe.name == GBM:
        return Member(GBM, fit_gbm(train.signals, train.labels, recipe.gbm, seed=seed))
    torch.manual_seed(seed)
    if recipe.pretrained is None:
        model = build_model(recipe.model_config)
    else:
        dropout = getattr(recipe.model_config, "dropout", None)
        model = load_model(recipe.pretrained, **({} if dropout is None else {"dropout": dropout}))
    with tempfile.TemporaryDirectory(prefix="ecg-member-") as tmp:
        for cfg in recipe.stages:
            trainable = any(n.split(".")[0] not in cfg.frozen for n, _ in model.named_parameters())
            if not trainable:  # logistic regression has only fc1: no stage 1
                continue
            live = LiveLog(live_dir / f"stage{cfg.stage}") if live_dir else nullcontext()
            with live:
                fit(
                    model,
                    train,
                    val,
                    dataclasses.replace(cfg, seed=seed),
                    device=torch.device("cpu"),
                    best_path=Path(tmp) / f"stage{cfg.stage}.pt",
                    log=log,
                    on_epoch=live.log_epoch if live_dir else None,
                )
            for p in model.parameters():  # stage 1 froze fc1; the next stage trains it
                p.requires_grad_(True)
    return Member(recipe.name, model_payload(model))
