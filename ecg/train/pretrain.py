"""Synthetic pretraining: every network of the comparison starts from a model that has seen
synthetic sinus rhythm and arrhythmia (the design's first step)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ecg.core.storage import atomic_dir
from ecg.data.files import INPUT_FILES, dataset_from_file
from ecg.models.registry import build_model
from ecg.train.config import FitConfig
from ecg.train.live import LiveLog
from ecg.train.loop import fit


def synthetic_pair(folder: Path, input_kind: str) -> tuple[Any, Any]:
    """(train, val) synthetic windows as input of `input_kind`."""
    suffix = INPUT_FILES[input_kind]
    return tuple(dataset_from_file(folder / f"{split}_{suffix}.pt") for split in ("train", "val"))


def pretrain_networks(
    configs: dict[str, Any],
    cfg: FitConfig,
    *,
    seed: int,
    synthetic: dict[str, Path],
    out_dir: Path,
    live_dir: Path,
) -> dict[str, Any]:
    """Pretrain each model of `configs` (name -> config) into `out_dir/<name>.pt`, reading
    `synthetic[input_kind]`; returns each model's selected-epoch figures."""
    figures = {}
    with atomic_dir(out_dir) as tmp:
        for name, config in configs.items():
            torch.manual_seed(seed)
            model = build_model(config)
            kind = model.input_kind
            train, val = synthetic_pair(synthetic[kind], kind)
            with LiveLog(live_dir / name) as live:
                result = fit(
                    model,
                    train,
                    val,
                    cfg,
                    seed=seed,
                    device=torch.device("cpu"),
                    best_path=tmp / f"{name}.pt",
                    log=lambda line, name=name: print(f"pretrain {name}: {line}", flush=True),
                    on_epoch=live.log_epoch,
                )
            figures[name] = result.summary()
    return figures
