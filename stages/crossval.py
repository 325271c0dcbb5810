"""DVC stage `crossval`: subject-wise cross-validation of the product model beside its
baselines, the de Chazal DS1 -> DS2 benchmark, and the final model trained on every subject
-> metrics/cv.json, metrics/cv_scores.csv, metrics/cv_per_subject.csv, models/final/model.pt."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ecg.core.cli import run_cli, stage_parser
from ecg.core.progress import log
from ecg.core.storage import save_torch, write_json, write_text
from ecg.data.files import dataset_from_file, load_all_splits
from ecg.data.splits import DS1, DS2
from ecg.params import load_params
from ecg.train.crossval import cross_validate, recipes_for
from ecg.train.crossval_config import GBM
from ecg.train.crossval_report import cv_document, cv_outputs, final_checkpoint
from ecg.train.folds import subject_folds


def main(argv: list[str] | None = None) -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("--data_dir", default="data/mitbih_processed")
    parser.add_argument("--synthetic_dir", default="data/synthetic_beats")
    parser.add_argument("--out_dir", default="models/crossval")
    parser.add_argument("--final", default="models/final/model.pt")
    parser.add_argument("--metrics_dir", default="metrics")
    parser.add_argument("--live_dir", default="metrics/live/crossval")
    parser.add_argument("--models", nargs="+", help="override crossval.models")
    args = parser.parse_args(argv)
    params = load_params(args.params, {"crossval.models": args.models, "device": args.device})
    cv, t0, targets = params.crossval, time.perf_counter(), params.transfer
    data = load_all_splits(args.data_dir, "beats")
    synthetic = tuple(
        dataset_from_file(Path(args.synthetic_dir) / f"{s}_beats.pt") for s in ("train", "val")
    )
    folds = subject_folds(data.patient_ids, data.labels.numpy(), k=cv.folds, seed=params.seed)
    records, rows = np.asarray(data.record_ids), np.arange(len(data))
    configs = {m: params.model_config(m, dropout=cv.dropout) for m in cv.models if m != GBM}
    recipes = recipes_for(
        configs, synthetic, cv, params.transfer, width=data.signals.shape[1],
        out_dir=Path(args.out_dir), live_dir=Path(args.live_dir), seed=params.seed, log=log,
    )  # fmt: skip
    evaluations = cross_validate(
        recipes, data, folds, cv=cv, seed=params.seed, log=log, live_root=Path(args.live_dir),
        sensitivity_target=targets.sensitivity_target,
        dechazal=(rows[np.isin(records, DS1)], rows[np.isin(records, DS2)]),
    )  # fmt: skip
    figures, files = cv_outputs(
        evaluations, data, bootstrap=params.bootstrap, seed=params.seed,
        sensitivity_target=targets.sensitivity_target,
        specificity_target=targets.specificity_target,
    )  # fmt: skip
    for name, text in files.items():
        write_text(text, Path(args.metrics_dir) / name)
    final = evaluations[cv.product].final
    checkpoint = final_checkpoint(
        final, data, input=params.preprocess.input_spec(), crossval=figures[cv.product]
    )
    save_torch(checkpoint, args.final)
    document = cv_document(
        figures, data, folds, cv, final_threshold=final.threshold,
        sensitivity_target=targets.sensitivity_target, seconds=time.perf_counter() - t0,
    )  # fmt: skip
    write_json(document, Path(args.metrics_dir) / "cv.json")
    for name, r in figures.items():
        log(
            f"crossval {name}: pooled AUROC {r['pooled_auroc']:.3f}, sensitivity "
            f"{r['pooled_sensitivity']:.3f}, specificity {r['pooled_specificity']:.3f}"
        )


if __name__ == "__main__":
    run_cli(main)
