"""What synthetic pretraining adds: the pipeline's cross-validation of the beat models, with
members that start from the synthetic-pretrained network and from scratch, side by side.

    python -m benchmarks.pretraining_gain [--models beat beat_ann] [--out PATH]

Both arms run the pipeline's own stage 1 and stage 2 (`ecg.train.fine_tune`) and its
evaluation (`ecg.train.crossval_report.evaluate_models`) into a temporary folder, with
params.yaml's folds, seeds, schedules and transfer keys (`crossval.models` narrowed to
--models). Only the start differs: the pipeline's pretrained networks (models/pretrained),
or the same networks freshly initialised with the seed pretraining starts from, i.e. the
very weights pretraining began with. As in the pipeline, stage 1 keeps fc1 frozen, from
scratch at its random init. Needs the pipeline's data and pretrained networks, up to date
with params.yaml (`dvc repro preprocess pretrain`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from benchmarks.machine import machine_info
from ecg.core.cli import run_cli
from ecg.core.config import as_dict
from ecg.core.errors import ECGError
from ecg.core.params_file import ParamsFile
from ecg.core.storage import save_torch, write_json
from ecg.data.config import PreprocessConfig
from ecg.eval.config import BootstrapConfig
from ecg.models.checkpoint import load_model, model_payload
from ecg.models.configs import CONFIGS
from ecg.models.registry import build_model
from ecg.train.config import StageSchedule, TransferConfig
from ecg.train.crossval_report import evaluate_models
from ecg.train.fine_tune import fine_tune
from ecg.train.plan import CrossvalConfig

KEYS = ("pooled_auroc", "pooled_auroc_ci", "pooled_sensitivity", "pooled_specificity")


def load_config(params: ParamsFile, models: list[str]) -> dict[str, Any]:
    """The stages' own settings, with `crossval.models` narrowed to `models`."""
    cv = params.group("crossval", CrossvalConfig)
    product = cv.product if cv.product in models else models[0]
    return {
        "cv": dataclasses.replace(cv, models=list(models), product=product),
        "seed": params.seed(),
        "transfer": params.top_level(TransferConfig),
        "schedules": {s: params.group(f"stage{s}", StageSchedule) for s in ("1", "2")},
        "sensitivity_target": params.number("sensitivity_target"),
        "specificity_target": params.number("specificity_target"),
        "bootstrap": params.group("bootstrap", BootstrapConfig),
        "input_spec": as_dict(params.group("preprocess", PreprocessConfig).input_spec()),
    }


def scratch_networks(models: list[str], pretrained: Path, out_dir: Path, seed: int) -> None:
    """`out_dir/<model>.pt`: each pretrained network's config, at the weights pretraining
    started from (`ecg.train.pretrain` seeds the same way)."""
    for name in models:
        config = load_model(pretrained / f"{name}.pt", arch=name).config
        torch.manual_seed(seed)
        save_torch(model_payload(build_model(config)), out_dir / f"{name}.pt")


def cross_validate(start: Path, out: Path, cfg: dict[str, Any], data_dir: Path) -> dict:
    """stage 1, stage 2 and the evaluation of every member from the networks in `start`."""
    cv, seed = cfg["cv"], cfg["seed"]
    for stage in ("1", "2"):
        fine_tune(
            stage,
            cv=cv,
            transfer=cfg["transfer"],
            schedule=cfg["schedules"][stage],
            seed=seed,
            data_dir=data_dir,
            pretrained_dir=start,
            out_dir=out / f"stage{stage}",
            live_dir=out / "live" / f"stage{stage}",
            stage1_dir=out / "stage1",
        )
    document, _, _, _ = evaluate_models(
        cv,
        seed=seed,
        sensitivity_target=cfg["sensitivity_target"],
        specificity_target=cfg["specificity_target"],
        bootstrap=cfg["bootstrap"],
        input_spec=cfg["input_spec"],
        data_dir=data_dir,
        members_dir=out / "stage2",
    )
    figures = document["models"]
    return {
        m: {k: figures[m][k] for k in KEYS} | {"per_fold_auroc": figures[m]["per_fold_auroc"]}
        for m in cv.models
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["beat", "beat_ann"], choices=list(CONFIGS))
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--data_dir", default="data/mitbih_processed")
    parser.add_argument("--pretrained_dir", default="models/pretrained")
    parser.add_argument("--out", default="metrics/pretraining_gain.json")
    args = parser.parse_args(argv)
    models = list(dict.fromkeys(args.models))
    pretrained, data_dir = Path(args.pretrained_dir), Path(args.data_dir)
    missing = [m for m in models if not (pretrained / f"{m}.pt").is_file()]
    if missing:
        raise ECGError(
            f"{pretrained}: no pretrained {', '.join(missing)} (add to crossval.models and "
            "run `dvc repro pretrain`)"
        )
    cfg = load_config(ParamsFile(args.params), models)
    s1, s2 = cfg["schedules"]["1"], cfg["schedules"]["2"]
    result: dict = {
        "machine": machine_info(),
        "models": models,
        "protocol": f"pipeline's cross-validation ({cfg['cv'].folds} folds x "
        f"{cfg['cv'].inner_folds} members, out-of-fold thresholds): stage 1 {s1.num_epochs} "
        f"epochs (fc1 frozen), stage 2 {s2.num_epochs} epochs; from the pretrained network or "
        "from its initial weights",
    }
    with tempfile.TemporaryDirectory(prefix="pretraining-") as tmp:
        scratch = Path(tmp) / "scratch_init"
        scratch.mkdir()
        scratch_networks(models, pretrained, scratch, cfg["seed"])
        for key, start in (("pretrained", pretrained), ("from_scratch", scratch)):
            t0 = time.perf_counter()
            figures = cross_validate(start, Path(tmp) / key, cfg, data_dir)
            result[key] = figures | {"seconds": round(time.perf_counter() - t0, 1)}
            print(f"{key}: {figures}", flush=True)
    result["gain"] = {
        m: {
            k: round(result["pretrained"][m][k] - result["from_scratch"][m][k], 4)
            for k in ("pooled_auroc", "pooled_sensitivity", "pooled_specificity")
        }
        for m in models
    }
    write_json(result, args.out)
    print(json.dumps(result["gain"]))


if __name__ == "__main__":
    run_cli(main)
