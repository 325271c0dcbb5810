"""One transfer stage of the design: load the previous stage's model, check it fits the data
and the stage, fine-tune it (stage 1: fc1 frozen; stage 2: every layer)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from ecg.core.errors import ECGError
from ecg.core.progress import log as print_line
from ecg.core.storage import write_json
from ecg.data.files import ECGDataset
from ecg.models.base import ECGModel
from ecg.models.checkpoint import load_model, read_checkpoint
from ecg.models.registry import model_class
from ecg.train.config import FitConfig
from ecg.train.live import LiveLog
from ecg.train.loop import FitResult, fit
from ecg.train.run_state import training_config

# The data file each input kind reads: raw windows or the beat layout.
DATA_SUFFIX = {"waveform": "ecg", "beats": "beats"}


def data_suffix(checkpoint: str | Path) -> str:
    """`ecg` or `beats`: which split files the model in `checkpoint` reads."""
    name, ckpt = read_checkpoint(checkpoint)
    arch = ckpt["config"].get("arch", "deep")
    return DATA_SUFFIX[model_class(arch, where=f"{name}: ").input_kind]


def load_for_stage(
    checkpoint: str | Path, cfg: FitConfig, *, dropout: float, data: ECGDataset
) -> ECGModel:
    """The model to fine-tune, with the stage's `dropout`; one-line errors when it cannot
    train on `data` or in this stage."""
    _, ckpt = read_checkpoint(checkpoint)
    overrides = {"dropout": dropout} if "dropout" in ckpt["config"] else {}
    model = load_model(checkpoint, **overrides)
    width = model.config.input_width
    if width != data.signals.shape[1]:
        raise ECGError(
            f"{checkpoint}: model expects {width} values per window, the data has "
            f"{data.signals.shape[1]}"
        )
    trainable = [n for n, _ in model.named_parameters() if n.split(".")[0] not in cfg.frozen]
    if not trainable:
        raise ECGError(
            f"{checkpoint}: a {model.arch} model has only {', '.join(cfg.frozen)}, which stage "
            f"{cfg.stage} freezes; run --stage 2 only"
        )
    if cfg.augment is not None and model.input_kind != "waveform":
        raise ECGError(
            f"augment: true applies to raw-waveform models only; a {model.arch} model reads "
            "beat features (set augment: false)"
        )
    return model


def run_stage(
    model: ECGModel,
    train: ECGDataset,
    val: ECGDataset,
    cfg: FitConfig,
    *,
    out_dir: Path,
    live_dir: Path,
    device: torch.device,
    seed: int,
    resume: bool = False,
    resume_hint: str = "",
    record: dict[str, Any] | None = None,
    log: Callable[[str], None] = print_line,
) -> FitResult:
    """Fine-tune `model` into `out_dir`: `best_model.pt`, `last.pt` for resuming,
    `training_history.json` and `config.json` (the FitConfig plus `record`), with live
    per-epoch metrics in `live_dir`. The checkpoint records the training subjects, so
    evaluation can refuse an overlap."""
    torch.manual_seed(seed)
    with LiveLog(live_dir, resume=resume) as live:
        result = fit(
            model,
            train,
            val,
            cfg,
            device=device,
            best_path=out_dir / "best_model.pt",
            last_path=out_dir / "last.pt",
            resume=resume,
            resume_hint=resume_hint,
            extra={
                **(record or {}),
                "train_subjects": sorted(set(train.patient_ids or [])),
                "val_subjects": sorted(set(val.patient_ids or [])),
            },
            on_epoch=live.log_epoch,
            log=log,
        )
    history = {"stage": cfg.stage, "history": result.history}
    write_json(history, out_dir / "training_history.json")
    write_json({**(record or {}), "fit": training_config(cfg)}, out_dir / "config.json")
    return result
