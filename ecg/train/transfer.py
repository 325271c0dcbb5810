"""The design's training command, outside DVC: one member of the plan through stage 1 and/or
stage 2, with `last.pt` after every epoch so that a run stopped by Ctrl-C resumes exactly.

It trains the very job the pipeline's stages train (same plan, seed, `FitConfig` and loop),
so its `stage2/best_model.pt` holds the same weights as the pipeline's member, and it writes
only under its output folder: `stage{1,2}/best_model.pt`, `last.pt`,
`training_history.json`, and `config.json` of the run.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import torch

from ecg.core.config import as_dict
from ecg.core.errors import ECGError
from ecg.core.storage import load_torch, write_json
from ecg.data.files import ECGDataset, load_windows
from ecg.models.base import ECGModel
from ecg.models.checkpoint import load_model
from ecg.train.config import FitConfig, StageSchedule, TransferConfig
from ecg.train.live import LiveLog
from ecg.train.loop import FitResult, fit
from ecg.train.members import member_record
from ecg.train.plan import MemberJob

# The design's flags, each overriding the top-level params.yaml key of its name.
DESIGN_FLAGS = {"batch_size": int, "weight_decay": float, "dropout": float, "focal_alpha": float,
                "focal_gamma": float, "early_stopping_patience": int,
                "sensitivity_target": float, "specificity_target": float, "seed": int}  # fmt: skip
SCHEDULE_FLAGS = {"num_epochs": int, "learning_rate": float}  # stage<N>.<flag>


def add_design_flags(parser: argparse.ArgumentParser) -> None:
    for flag, kind in {**DESIGN_FLAGS, **SCHEDULE_FLAGS}.items():
        parser.add_argument(f"--{flag}", type=kind)


def params_overrides(args: argparse.Namespace, stages: list[str]) -> dict[str, Any]:
    """Dotted params.yaml keys the flags set (None: not given)."""
    out = {key: getattr(args, key) for key in DESIGN_FLAGS}
    for stage in stages:
        out |= {f"stage{stage}.{k}": getattr(args, k) for k in SCHEDULE_FLAGS}
    return out


def start_windows(data_dir: str | Path, start: Path) -> ECGDataset:
    """Every window, as input of the kind the network in `start` reads (a DeepSNN's view is
    part of its config)."""
    return load_windows(data_dir, load_model(start).input_kind)


def load_for_stage(
    checkpoint: Path, cfg: FitConfig, *, dropout: float, data: ECGDataset
) -> ECGModel:
    """The model to fine-tune, with the stage's `dropout`; one-line errors when it cannot
    train on `data` or in this stage."""
    ckpt = load_torch(checkpoint, what="pretrained model")
    config = ckpt.get("config", {}) if isinstance(ckpt, dict) else {}
    overrides = {"dropout": dropout} if "dropout" in config else {}
    model = load_model(ckpt, name=str(checkpoint), **overrides)
    width = model.config.input_width
    if width != data.inputs.shape[1]:
        raise ECGError(
            f"{checkpoint}: model expects {width} values per window, the data has "
            f"{data.inputs.shape[1]}"
        )
    trainable = [n for n, _ in model.named_parameters() if n.split(".")[0] not in cfg.frozen]
    if not trainable:
        raise ECGError(
            f"{checkpoint}: a {model.arch} model has only {', '.join(cfg.frozen)}, which stage "
            f"{cfg.stage} freezes; run --stage 2 only"
        )
    return model


def train_stages(
    stages: list[str],
    job: MemberJob,
    data: ECGDataset,
    *,
    transfer: TransferConfig,
    schedules: dict[str, StageSchedule],
    pretrained: Path,
    output_dir: Path,
    device: torch.device,
    resume: bool = False,
    resume_hint: str = "",
) -> dict[str, FitResult]:
    """Train `job`'s member through `stages` ("1", "2") starting from `pretrained`."""
    record = member_record(job, data)
    train, val = data.subset(job.train_rows), data.subset(job.val_rows)
    results = {}
    start = pretrained
    run: dict[str, Any] = {"member": record, "transfer": as_dict(transfer), "stages": {}}
    for stage in stages:
        cfg = FitConfig.transfer_stage(transfer, schedules[stage], stage=stage)
        model = load_for_stage(start, cfg, dropout=transfer.dropout, data=train)
        out = output_dir / f"stage{stage}"
        # With both stages, a stage that never started has nothing to resume from.
        resume_here = resume and (len(stages) == 1 or (out / "last.pt").is_file())
        with LiveLog(out / "live", resume=resume_here) as live:
            results[stage] = fit(
                model,
                train,
                val,
                cfg,
                seed=job.seed,
                device=device,
                best_path=out / "best_model.pt",
                last_path=out / "last.pt",
                resume=resume_here,
                resume_hint=resume_hint,
                extra={**record, "pretrained_model": str(start)},
                on_epoch=live.log_epoch,
            )
        history = {"stage": stage, "history": results[stage].history}
        write_json(history, out / "training_history.json")
        run["stages"][stage] = {"fit": as_dict(cfg), "start": str(start)}
        write_json(run, output_dir / "config.json")
        start = out / "best_model.pt"
    return results
