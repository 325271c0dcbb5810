"""DVC stage `crossval`: subject-wise k-fold cross-validation of the beat-relative spiking
model beside its ANN twin and logistic regression -> metrics/cv.json."""

from __future__ import annotations

import time
from pathlib import Path

from ecg.core.cli import run_cli, stage_parser
from ecg.core.device import resolve_device
from ecg.core.errors import ECGError
from ecg.core.progress import log
from ecg.core.storage import write_json
from ecg.data.files import dataset_from_file, load_all_splits
from ecg.params import load_params
from ecg.train.crossval import fold_summary, run_model, subject_folds


def main(argv: list[str] | None = None) -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("--data_dir", default="data/mitbih_processed")
    parser.add_argument("--synthetic_dir", default="data/synthetic_beats")
    parser.add_argument("--out_dir", default="models/crossval")
    parser.add_argument("--metrics", default="metrics/cv.json")
    parser.add_argument("--live_dir", default="metrics/live/crossval")
    parser.add_argument("--models", nargs="+", help="override crossval.models")
    args = parser.parse_args(argv)
    params = load_params(args.params, {"crossval.models": args.models, "device": args.device})
    cv, t0 = params.crossval, time.perf_counter()
    data = load_all_splits(Path(args.data_dir), "beats")
    synthetic = tuple(
        dataset_from_file(Path(args.synthetic_dir) / f"{s}_beats.pt") for s in ("train", "val")
    )
    labels = data.labels.numpy()
    folds = subject_folds(data.patient_ids, labels, k=cv.folds, seed=params.seed)
    results = {}
    for arch in cv.models:
        config = params.model_config(arch, dropout=cv.dropout)
        if config.input_width != data.signals.shape[1]:
            raise ECGError(
                f"{args.data_dir}: beat input has {data.signals.shape[1]} values per window, "
                f"{arch} expects {config.input_width} (rerun preprocess)"
            )
        results[arch], _ = run_model(
            arch,
            config,
            data,
            folds,
            synthetic,
            cv=cv,
            transfer=params.transfer,
            bootstrap=params.bootstrap,
            seed=params.seed,
            out_dir=Path(args.out_dir),
            live_dir=Path(args.live_dir),
            device=resolve_device(params.device),
            log=log,
        )
    write_json(
        {
            "folds": cv.folds,
            "windows": int(len(labels)),
            "subjects": len(set(data.patient_ids)),
            "arrhythmia_share": round(float(labels.mean()), 4),
            "threshold_rule": f"per fold, on its validation subjects: sensitivity >= "
            f"{params.sensitivity_target} with the highest specificity",
            "fold_subjects": fold_summary(folds, data.patient_ids, labels),
            "models": results,
            "seconds": round(time.perf_counter() - t0, 1),
        },
        args.metrics,
    )
    for arch, r in results.items():
        print(
            f"crossval {arch}: pooled AUROC {r['pooled_auroc']:.3f}, sensitivity "
            f"{r['pooled_sensitivity']:.3f}, specificity {r['pooled_specificity']:.3f} "
            f"(per-fold AUROC {min(r['per_fold_auroc']):.3f}-{max(r['per_fold_auroc']):.3f})"
        )


if __name__ == "__main__":
    run_cli(main)
