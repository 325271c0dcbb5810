"""The design's two fine-tuning stages, over every member of the cross-validation plan.

Stage 1 (feature adaptation) trains each network member from its architecture's synthetic-
pretrained model with fc1 frozen; stage 2 (full fine-tuning) continues every layer from the
member's own stage-1 model. A network that is all fc1 (logistic regression) starts stage 2
from pretraining; the gradient-boosting baseline trains in stage 2. Each model reads the
input kind its pretrained network reads. The models reading the beat layout also train on the
noisy copies of their training subjects where preprocess wrote them (`augment.copies` > 0;
DeepSNN does not: its training time would double). Each stage writes one checkpoint per member and a
`config.json` of the run (with each model's input kind), whole or not at all.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ecg.core.config import as_dict
from ecg.core.errors import ECGError
from ecg.core.storage import atomic_dir, write_json
from ecg.data.files import ECGDataset, concat, load_noisy_windows, load_windows
from ecg.models.checkpoint import load_model
from ecg.train.config import FROZEN_IN_STAGE1, FitConfig, StageSchedule, TransferConfig
from ecg.train.gbm import GBMConfig
from ecg.train.members import StageRecipe, train_members
from ecg.train.plan import BOOSTED, CrossvalConfig, MemberJob, member_jobs, with_noisy_rows


def pretrained_kinds(models: list[str], pretrained_dir: Path) -> dict[str, str]:
    """What each model reads: the beat layout for gradient boosting, otherwise what its
    pretrained network reads (a DeepSNN's view is part of its config)."""
    return {
        name: "beats" if name in BOOSTED else load_model(pretrained_dir / f"{name}.pt").input_kind
        for name in models
    }


def trained_kinds(stage_dir: Path, models: list[str]) -> dict[str, str]:
    """What each model's members in `stage_dir` read, as the stage's `config.json` says."""
    path = stage_dir / "config.json"
    try:
        kinds = json.loads(path.read_text()).get("inputs", {})
    except (OSError, ValueError, AttributeError):
        kinds = {}
    missing = [name for name in models if name not in kinds]
    if missing:
        raise ECGError(f"{path}: no input kind of model {missing[0]} (rerun the stage)")
    return {name: kinds[name] for name in models}


def model_inputs(data_dir: Path, kinds: dict[str, str]) -> dict[str, ECGDataset]:
    """Each model's windows, as input of its kind (`kinds`: model -> input kind)."""
    cache: dict[str, ECGDataset] = {}
    out = {}
    for name, kind in kinds.items():
        if kind not in cache:
            cache[kind] = load_windows(data_dir, kind)
        out[name] = cache[kind]
    return out


def augmented(
    inputs: dict[str, ECGDataset], kinds: dict[str, str], jobs: list[MemberJob], noisy: ECGDataset
) -> tuple[dict[str, ECGDataset], list[MemberJob]]:
    """Beat-layout models' windows followed by the noisy copies, and their jobs training on
    the copies of their training subjects (`with_noisy_rows`); other models unchanged."""
    beats = [name for name, kind in kinds.items() if kind == "beats"]
    if not beats:
        return inputs, jobs
    both = concat(inputs[beats[0]], noisy)
    noisy_jobs = [j for j in jobs if j.model in beats]
    extended = iter(with_noisy_rows(noisy_jobs, inputs[beats[0]], noisy))
    jobs = [next(extended) if j.model in beats else j for j in jobs]
    return {name: both if name in beats else data for name, data in inputs.items()}, jobs


def has_stage1(pretrained: Path) -> bool:
    """Whether the network has layers beyond the ones stage 1 freezes."""
    model = load_model(pretrained)
    return any(n.split(".")[0] not in FROZEN_IN_STAGE1 for n, _ in model.named_parameters())


def fine_tune(
    stage: str,
    *,
    cv: CrossvalConfig,
    transfer: TransferConfig,
    schedule: StageSchedule,
    seed: int,
    data_dir: Path,
    pretrained_dir: Path,
    out_dir: Path,
    live_dir: Path,
    stage1_dir: Path | None = None,
    boosted: dict[str, GBMConfig] | None = None,
) -> dict[str, Any]:
    """Run stage "1" or "2" for every member into `out_dir`; returns per-model figures."""
    if stage == "2" and stage1_dir is None:
        raise ValueError("stage 2 starts from stage 1's members: pass stage1_dir")
    kinds = pretrained_kinds(cv.models, pretrained_dir)
    inputs = model_inputs(data_dir, kinds)
    start: dict[str, str] = {}
    for name in cv.models:
        if name in BOOSTED:
            continue
        pretrained = pretrained_dir / f"{name}.pt"
        if has_stage1(pretrained):
            start[name] = str(pretrained if stage == "1" else stage1_dir)
        elif stage == "2":
            start[name] = str(pretrained)
    trained = [m for m in cv.models if m in start or (m in BOOSTED and stage == "2")]
    jobs = member_jobs(inputs[cv.product], cv, seed=seed, models=trained)
    noisy = load_noisy_windows(data_dir)
    if noisy is not None:
        inputs, jobs = augmented(inputs, kinds, jobs, noisy)
    fit = FitConfig.transfer_stage(transfer, schedule, stage=stage)
    recipe = StageRecipe(fit=fit, dropout=transfer.dropout, start=start, boosted=boosted or {})
    with atomic_dir(out_dir) as tmp:
        rows = train_members(jobs, inputs, recipe, out_dir=tmp, live_dir=live_dir)
        run = {
            "stage": stage,
            "seed": seed,
            "fit": as_dict(fit),
            "dropout": transfer.dropout,
            "crossval": as_dict(cv),
            "start": start,
            "inputs": kinds,
            "boosted": {name: as_dict(c) for name, c in (boosted or {}).items()},
            "members": [job.path for job in jobs],
        }
        write_json(run, tmp / "config.json")
    return stage_figures(trained, jobs, rows)


def stage_figures(models: list[str], jobs: list, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per model: members trained, and the mean inner-fold figures of their kept epochs."""
    out: dict[str, Any] = {}
    for name in models:
        mine = [r for job, r in zip(jobs, rows, strict=True) if job.model == name]
        entry: dict[str, Any] = {"members": len(mine)}
        for key in ("val_acc", "val_loss", "val_sensitivity", "val_specificity", "val_g_mean"):
            values = [r[key] for r in mine if key in r]
            if values:
                entry[f"mean_{key}"] = round(float(np.nanmean(values)), 6)
        if mine and "targets_met" in mine[0]:
            entry["targets_met"] = sum(bool(r["targets_met"]) for r in mine)
        out[name] = entry
    return out
