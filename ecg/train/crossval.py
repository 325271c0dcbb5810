"""Subject-wise cross-validation of the models side by side, the de Chazal DS1 -> DS2
benchmark, and the final model trained on every subject.

Per model and per outer fold, an `ecg.train.ensemble` on the fold's training subjects: its
members' out-of-fold scores set the fold's threshold, and the mean of its members scores the
held-out subjects, who play no part in anything the fold's model is or does. Every subject is
held out exactly once, so the pooled held-out scores cover the whole database. All models go
through the same folds and the same procedure; every member job of every model runs in one
pool of workers.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ecg.core.errors import ECGError
from ecg.data.files import ECGDataset
from ecg.models.registry import build_model
from ecg.train.config import FitConfig, TransferConfig
from ecg.train.crossval_config import GBM, CrossvalConfig
from ecg.train.ensemble import Ensemble, assemble, plan, run_jobs
from ecg.train.live import LiveLog
from ecg.train.loop import fit
from ecg.train.members import Recipe


def stage_configs(cv: CrossvalConfig, transfer: TransferConfig) -> tuple[FitConfig, ...]:
    """Stage 1 (fc1 frozen) and stage 2 of every network member."""
    return tuple(
        dataclasses.replace(
            FitConfig.for_transfer(transfer, schedule, stage=stage, seed=0, frozen=frozen),
            batch_size=cv.batch_size,
            selection=cv.selection,
            lr_schedule=cv.lr_schedule,
        )
        for stage, schedule, frozen in (("1", cv.stage1, ("fc1",)), ("2", cv.stage2, ()))
    )


def pretrain(
    model_config: Any,
    synthetic: tuple[ECGDataset, ECGDataset],
    cv: CrossvalConfig,
    transfer: TransferConfig,
    *,
    path: Path,
    live_dir: Path,
    seed: int,
    log: Callable[[str], None],
) -> Path:
    """The synthetic-ECG starting point of one architecture's members."""
    torch.manual_seed(seed)
    model = build_model(model_config)
    cfg = dataclasses.replace(
        FitConfig.for_transfer(transfer, cv.pretrain, stage="pretrain", seed=seed),
        batch_size=cv.batch_size,
        selection="g_mean",
        patience=cv.pretrain.num_epochs,
        threshold_rule="youden",
        lr_schedule=cv.lr_schedule,
    )
    with LiveLog(live_dir) as live:
        fit(
            model,
            synthetic[0],
            synthetic[1],
            cfg,
            device=torch.device("cpu"),
            best_path=path,
            log=lambda line: log(f"crossval {model_config.arch} pretrain: {line}"),
            on_epoch=live.log_epoch,
        )
    return path


@dataclass
class Evaluation:
    """What one model's cross-validation produced."""

    folds: list[Ensemble]  # one per outer fold
    dechazal: Ensemble | None  # trained on DS1, scored on DS2
    final: Ensemble | None  # trained on every subject (the product only)

    def held_out(self, n: int) -> tuple[np.ndarray, np.ndarray, list[float]]:
        """(scores [n], fold of each window [n], threshold of each fold)."""
        scores, fold_of = np.full(n, np.nan), np.zeros(n, dtype=np.int64)
        for f, ensemble in enumerate(self.folds):
            scores[ensemble.test_rows] = ensemble.test_scores
            fold_of[ensemble.test_rows] = f
        return scores, fold_of, [e.threshold for e in self.folds]


def cross_validate(
    recipes: dict[str, Recipe],
    data: ECGDataset,
    folds: list[list[str]],
    *,
    cv: CrossvalConfig,
    seed: int,
    sensitivity_target: float,
    dechazal: tuple[np.ndarray, np.ndarray] | None,
    live_root: Path,
    log: Callable[[str], None],
) -> dict[str, Evaluation]:
    """Every model's outer-fold ensembles (and DS1 -> DS2 ensemble), plus the final ensemble
    of `cv.product` on every subject."""
    t0 = time.perf_counter()
    subjects = np.asarray(data.patient_ids)
    everyone = np.arange(len(subjects))
    sets: list[tuple[str, str, np.ndarray, np.ndarray]] = []  # (model, tag, train, test)
    for name in recipes:
        for f, held in enumerate(folds):
            test = np.isin(subjects, held)
            sets.append((name, f"fold{f + 1}", everyone[~test], everyone[test]))
        if dechazal is not None:
            sets.append((name, "dechazal", *dechazal))
    if cv.product in recipes:
        sets.append((cv.product, "final", everyone, everyone[:0]))
    plans = [
        plan(name, data, train, test, inner_folds=cv.inner_folds, seed=seed, tag=tag)
        for name, tag, train, test in sets
    ]
    jobs = [job for p in plans for job in p]
    results = run_jobs(jobs, data, recipes, live_root=live_root, log=log)
    labels = data.labels.numpy()
    out = {name: Evaluation([], None, None) for name in recipes}
    start = 0
    for (name, tag, _, _), jobs_of in zip(sets, plans, strict=True):
        ensemble = assemble(
            jobs_of,
            results[start : start + len(jobs_of)],
            labels,
            sensitivity_target=sensitivity_target,
        )
        start += len(jobs_of)
        if tag == "dechazal":
            out[name].dechazal = ensemble
        elif tag == "final":
            out[name].final = ensemble
        else:
            out[name].folds.append(ensemble)
    log(f"crossval: {len(jobs)} members in {time.perf_counter() - t0:.0f} s")
    return out


def network_recipe(
    name: str,
    model_config: Any,
    cv: CrossvalConfig,
    transfer: TransferConfig,
    pretrained: Path | None,
) -> Recipe:
    return Recipe(
        name=name,
        model_config=model_config,
        pretrained=None if pretrained is None else str(pretrained),
        stages=stage_configs(cv, transfer),
    )


def gbm_recipe(cv: CrossvalConfig) -> Recipe:
    return Recipe(name=GBM, gbm=cv.gbm)


def recipes_for(
    configs: dict[str, Any],
    synthetic: tuple[ECGDataset, ECGDataset],
    cv: CrossvalConfig,
    transfer: TransferConfig,
    *,
    width: int,
    out_dir: Path,
    live_dir: Path,
    seed: int,
    log: Callable[[str], None],
) -> dict[str, Recipe]:
    """The recipe of every model of `cv.models` (`configs`: a network's config by name),
    pretraining each network on synthetic ECG first when `cv.pretrained`."""
    recipes = {}
    for name in cv.models:
        if name == GBM:
            recipes[name] = gbm_recipe(cv)
            continue
        config = configs[name]
        if config.input_width != width:
            raise ECGError(
                f"beat input has {width} values per window, {name} expects "
                f"{config.input_width} (rerun preprocess)"
            )
        start = None
        if cv.pretrained:
            start = pretrain(
                config,
                synthetic,
                cv,
                transfer,
                path=out_dir / name / "pretrained.pt",
                live_dir=live_dir / name / "pretrain",
                seed=seed,
                log=log,
            )
        recipes[name] = network_recipe(name, config, cv, transfer, start)
    return recipes
