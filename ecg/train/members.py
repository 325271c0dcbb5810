"""One training stage of every ensemble member, and scoring a member from its checkpoint.

A stage runs every `MemberJob` of the plan as an independent job in a pool of worker
processes (`ecg.core.parallel`; each on one thread, seeded by the job, so the results do not
depend on how many workers there are). A network member starts from its `start` checkpoint
(the synthetic-pretrained model, or its own stage-1 model), trains with the stage's one
`FitConfig`, and its selected epoch is written as a training checkpoint under the design's
names, recording the subjects it trained, validated and was held out on. The gradient-boosting
baseline has no two-stage recipe: it trains in stage 2.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ecg.core.errors import ECGError
from ecg.core.parallel import parallel_map
from ecg.core.progress import log as print_line
from ecg.core.storage import load_torch, save_torch
from ecg.data.files import ECGDataset
from ecg.eval.scoring import Readouts, predict_outputs, scores_from_logits
from ecg.models.checkpoint import load_model
from ecg.models.configs import BOOSTED, GBM
from ecg.train.beat_gbm import beat_gbm_readouts, fit_beat_gbm
from ecg.train.config import FitConfig
from ecg.train.gbm import GBMConfig, fit_gbm, score_gbm
from ecg.train.live import LiveLog
from ecg.train.loop import fit
from ecg.train.plan import MemberJob


@dataclass(frozen=True)
class StageRecipe:
    """What every member of one stage does."""

    fit: FitConfig
    dropout: float  # of the networks while training
    start: dict[str, str]  # network -> folder (or file) its members start from
    boosted: dict[str, GBMConfig] = field(default_factory=dict)  # stage 2: boosted baselines


def start_checkpoint(recipe: StageRecipe, job: MemberJob) -> Path:
    """A folder holds one checkpoint per member; a file is every member's start."""
    start = Path(recipe.start[job.model])
    return start / job.path if start.is_dir() else start


def member_record(job: MemberJob, data: ECGDataset) -> dict[str, Any]:
    """What a member checkpoint says about where it came from (for leakage checks)."""
    subjects, records = np.asarray(data.patient_ids), np.asarray(data.record_ids)

    def names(ids: np.ndarray, rows: np.ndarray) -> list[str]:
        return sorted({str(i) for i in ids[rows]})

    return {
        "model": job.model,
        "ensemble": job.ensemble,
        "member": job.member,
        "member_seed": job.seed,
        "train_subjects": names(subjects, job.train_rows),
        "val_subjects": names(subjects, job.val_rows),
        "test_subjects": names(subjects, job.test_rows),
        "train_records": names(records, job.train_rows),
        "test_records": names(records, job.test_rows),
    }


def train_member(
    job: MemberJob,
    data: ECGDataset,
    recipe: StageRecipe,
    *,
    out_path: Path,
    live_dir: Path | None,
    log: Callable[[str], None],
) -> dict[str, Any]:
    """Train `job`'s member for one stage into `out_path`; its summary figures."""
    record = member_record(job, data)
    train, val = data.subset(job.train_rows), data.subset(job.val_rows)
    if job.model in BOOSTED:
        boosters = _fit_boosted(job, train, recipe)
        save_torch({**boosters, "stage": recipe.fit.stage, **record}, out_path)
        return {"member": job.path}
    start = start_checkpoint(recipe, job)
    ckpt = load_torch(start, what="start checkpoint (run the stage before this one)")
    config = ckpt.get("config", {}) if isinstance(ckpt, dict) else {}
    overrides = {"dropout": recipe.dropout} if "dropout" in config else {}
    model = load_model(ckpt, name=str(start), **overrides)
    with LiveLog(live_dir) if live_dir else nullcontext() as live:
        result = fit(
            model,
            train,
            val,
            recipe.fit,
            seed=job.seed,
            device=torch.device("cpu"),
            best_path=out_path,
            extra={**record, "pretrained_model": str(start)},
            log=log,
            on_epoch=live.log_epoch if live_dir else None,
        )
    return {"member": job.path, **result.summary()}


def _fit_boosted(job: MemberJob, train: ECGDataset, recipe: StageRecipe) -> dict[str, str]:
    if job.model == GBM:
        cfg = recipe.boosted[GBM]
        return {"booster": fit_gbm(train.inputs, train.labels, cfg, seed=job.seed)}
    if train.beat_classes is None or train.rhythm_classes is None:
        raise ECGError(f"{job.model}: the data has no beat labels (rerun the preprocess stage)")
    return fit_beat_gbm(
        train.inputs,
        train.beat_classes,
        train.rhythm_classes,
        recipe.boosted[job.model],
        class_weights=recipe.fit.beat_class_weights,
        seed=job.seed,
    )


def member_outputs(
    ckpt: dict[str, Any], *, name: str
) -> Callable[[torch.Tensor], tuple[np.ndarray, Readouts | None]]:
    """Probability of Arrhythmia per row and, for a model with beat and rhythm readouts,
    their class probabilities (else None), by a loaded stage-2 member checkpoint of any
    model (the model is built once, for every set of rows it scores)."""
    if "booster" in ckpt:
        return lambda inputs: (score_gbm(ckpt["booster"], inputs), None)
    if "beat_booster" in ckpt:

        def boosted(inputs: torch.Tensor) -> tuple[np.ndarray, Readouts]:
            beats, rhythms, scores = beat_gbm_readouts(ckpt, inputs)
            return scores, (beats, rhythms)

        return boosted
    model = load_model(ckpt, name=name)

    def network(inputs: torch.Tensor) -> tuple[np.ndarray, Readouts | None]:
        logits, readouts = predict_outputs(
            model, inputs, batch_size=512, device=torch.device("cpu")
        )
        return scores_from_logits(logits), readouts

    return network


# --- the pool ------------------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _init(inputs: dict[str, ECGDataset], recipe: StageRecipe, out: str, live: str) -> None:
    _WORKER.update(inputs=inputs, recipe=recipe, out=Path(out), live=Path(live))


def _run(job: MemberJob) -> dict[str, Any]:
    w = _WORKER
    member = job.path.removesuffix(".pt")
    return train_member(
        job,
        w["inputs"][job.model],
        w["recipe"],
        out_path=w["out"] / job.path,
        live_dir=None if job.model in BOOSTED else w["live"] / member,
        log=lambda line: print_line(f"stage {w['recipe'].fit.stage} {member}: {line}"),
    )


def train_members(
    jobs: list[MemberJob],
    inputs: dict[str, ECGDataset],
    recipe: StageRecipe,
    *,
    out_dir: Path,
    live_dir: Path,
) -> list[dict[str, Any]]:
    """Train every job (`inputs`: each model's windows) into `out_dir/<job.path>`."""
    # Tensors sent to spawned workers move to shared memory in place; the workers get a
    # copy, so the caller's numpy views stay valid.
    shared = {name: data.subset(np.arange(len(data))) for name, data in inputs.items()}
    args = (shared, recipe, str(out_dir), str(live_dir))
    return parallel_map(_run, jobs, initializer=_init, initargs=args)
