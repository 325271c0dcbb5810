"""The design's DeepSNN given a fair chance: the same network (2500-256-128-2, 100 steps) on the
raw window and on the patient-relative view (`ecg.features.relative_view`), cross-validated by
the crossval stage's own procedure and folds.

    python -m benchmarks.deep_cv [--inner_folds 2] [--out metrics/deep_cv.json]

Needs the pipeline's data (`dvc repro preprocess`) and `metrics/cv.json` (its folds). The
protocol is the crossval stage's (`ecg.train.crossval`): per outer subject fold an ensemble
of `inner_folds` members trained on the fold's training subjects, their out-of-fold scores
setting the threshold, the held-out subjects scored by the members' mean. Two differences,
for cost (a DeepSNN fit is ~50x a BeatSNN fit): 2 members per fold instead of 4, and no
synthetic pretraining (the synthetic set has no patient history, hence no relative view);
both views are trained identically, so the comparison between them is fair.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.machine import machine_info
from ecg.core.progress import log
from ecg.core.storage import write_json
from ecg.data.files import ECGDataset, load_all_splits
from ecg.data.mitdb import MITDB
from ecg.eval.cv_report import cv_summary
from ecg.features.relative_view import record_relative_views
from ecg.params import load_params
from ecg.signal.record_windows import condition_record
from ecg.train.crossval import stage_configs
from ecg.train.ensemble import assemble, plan, run_jobs
from ecg.train.members import Recipe


def relative_dataset(data: ECGDataset, raw_dir: Path, beats_file: Path, params) -> ECGDataset:
    """`data` with each window replaced by its patient-relative view."""
    cfg = params.preprocess
    beats = {k: v.numpy() for k, v in torch.load(beats_file, weights_only=True).items()}
    db, views = MITDB(raw_dir), torch.empty_like(data.signals)
    records, starts = np.asarray(data.record_ids), data.start_samples.numpy()
    for rid in sorted(set(records)):
        rows = np.flatnonzero(records == rid)
        record = db.read(rid, lead=cfg.lead)
        rec = condition_record(
            record.signal, record.fs, fs=cfg.fs, window=cfg.window, stride=cfg.stride,
            band=tuple(cfg.bandpass_hz), notch=cfg.notch_hz, name=rid,
        )  # fmt: skip
        at_fs = np.round(starts[rows] * cfg.fs / record.fs).astype(np.int64)
        views[rows] = torch.from_numpy(
            record_relative_views(rec.filtered, beats[rid], at_fs, cfg.window, cfg.fs)
        )
    return ECGDataset(
        views, data.labels, patient_ids=data.patient_ids, record_ids=data.record_ids,
        start_samples=data.start_samples,
    )  # fmt: skip


def cross_validate_view(data: ECGDataset, folds, recipe: Recipe, inner: int, params) -> dict:
    """The crossval stage's figures (`ecg.eval.cv_report.cv_summary`) of one view."""
    subjects, labels = np.asarray(data.patient_ids), data.labels.numpy()
    everyone = np.arange(len(subjects))
    tests = [everyone[np.isin(subjects, held)] for held in folds]
    plans = [
        plan("deep", data, np.setdiff1d(everyone, te), te, inner_folds=inner, seed=params.seed,
             tag=f"fold{f + 1}")
        for f, te in enumerate(tests)
    ]  # fmt: skip
    t0 = time.perf_counter()
    results = run_jobs([j for p in plans for j in p], data, {"deep": recipe}, log=log)
    scores, fold_of, thresholds, start = (
        np.full(len(labels), np.nan),
        np.zeros(len(labels), int),
        [],
        0,
    )
    for f, (p, te) in enumerate(zip(plans, tests, strict=True)):
        ens = assemble(p, results[start : start + len(p)], labels,
                       sensitivity_target=params.transfer.sensitivity_target)  # fmt: skip
        start += len(p)
        scores[te], fold_of[te] = ens.test_scores, f
        thresholds.append(ens.threshold)
    unscored = int(np.isnan(scores).sum())
    if unscored:
        raise SystemExit(f"deep_cv: {unscored} windows have no held-out score")
    summary = cv_summary(
        labels, scores, fold_of, thresholds, list(subjects), bootstrap=params.bootstrap,
        seed=params.seed, sensitivity_target=params.transfer.sensitivity_target,
        specificity_target=params.transfer.specificity_target,
    )  # fmt: skip
    return summary | {"seconds": round(time.perf_counter() - t0, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inner_folds", type=int, default=2)
    parser.add_argument("--epochs", type=int, help="override crossval.stage2.num_epochs")
    parser.add_argument("--out", default="metrics/deep_cv.json")
    parser.add_argument("--raw_dir", default=os.environ.get("MITDB_DIR") or "data/raw/mitdb")
    args = parser.parse_args()
    params = load_params("params.yaml")
    cv = params.crossval
    folds = [
        f["subjects"] for f in json.loads(Path("metrics/cv.json").read_text())["fold_subjects"]
    ]
    raw = load_all_splits("data/mitbih_processed", "ecg")
    views = {
        "raw": raw,
        "relative": relative_dataset(
            raw, Path(args.raw_dir), Path("data/beats/mitdb_beats.pt"), params
        ),  # fmt: skip
    }
    stage2 = stage_configs(cv, params.transfer)[1]
    if args.epochs:
        stage2 = dataclasses.replace(stage2, num_epochs=args.epochs)
    config = params.model_config("deep", dropout=cv.dropout)
    recipe = Recipe(name="deep", model_config=config, pretrained=None, stages=(stage2,))
    out = {
        "machine": machine_info(),
        "model": dataclasses.asdict(config),
        "protocol": f"crossval stage's folds; {args.inner_folds} members per fold, "
        f"out-of-fold threshold; from scratch, {stage2.num_epochs} epochs at "
        f"{stage2.learning_rate} ({stage2.lr_schedule})",
    }
    for name, data in views.items():
        log(f"deep_cv: {name} view")
        out[name] = cross_validate_view(data, folds, recipe, args.inner_folds, params)
        log(f"deep_cv {name}: {json.dumps({k: v for k, v in out[name].items() if 'pooled' in k})}")
    write_json(out, args.out)


if __name__ == "__main__":
    main()
