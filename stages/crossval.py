"""DVC stage `crossval`: subject-wise k-fold cross-validation of the beat-relative spiking
model beside its ANN twin and logistic regression -> metrics/cv.json."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from ecg.atomic import write_json  # noqa: E402
from ecg.beats import MAX_BEATS, STEP_FEATURES  # noqa: E402
from ecg.config import load_params  # noqa: E402
from ecg.crossval import fold_summary, run_model, subject_folds  # noqa: E402
from ecg.data import ECGDataset, dataset_from_file, read_data_file  # noqa: E402
from ecg.errors import ECGError, run_cli  # noqa: E402
from ecg.training import resolve_device  # noqa: E402


def load_all(data_dir: Path) -> ECGDataset:
    """Every SQI-passing window of every subject, from the three split files."""
    parts = [read_data_file(data_dir / f"{s}_beats.pt") for s in ("train", "val", "test")]
    if any("patient_ids" not in p for p in parts):
        raise ECGError(f"{data_dir}: *_beats.pt must be MIT-BIH-format files")
    return ECGDataset(
        torch.cat([p["signals"] for p in parts]),
        torch.cat([p["labels"] for p in parts]),
        patient_ids=[s for p in parts for s in p["patient_ids"]],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--data_dir", default="data/mitbih_processed")
    parser.add_argument("--synthetic_dir", default="data/synthetic_beats")
    parser.add_argument("--out_dir", default="models/crossval")
    parser.add_argument("--metrics", default="metrics/cv.json")
    parser.add_argument("--models", nargs="+", help="override crossval.models")
    args = parser.parse_args()
    params = load_params(args.params, {"crossval.models": args.models})
    cv = params.crossval
    t0 = time.perf_counter()
    data = load_all(Path(args.data_dir))
    if data.signals.shape[1] != MAX_BEATS * STEP_FEATURES:
        raise ECGError(
            f"{args.data_dir}: beat input has {data.signals.shape[1]} values per "
            f"window, expected {MAX_BEATS * STEP_FEATURES} (rerun preprocess)"
        )
    synthetic = (
        dataset_from_file(Path(args.synthetic_dir) / "train_beats.pt"),
        dataset_from_file(Path(args.synthetic_dir) / "val_beats.pt"),
    )
    labels = data.labels.numpy()
    folds = subject_folds(data.patient_ids, labels, k=cv.folds, seed=params.seed)
    device = resolve_device(params.device)
    results = {}
    for arch in cv.models:
        results[arch], _ = run_model(
            arch,
            data,
            folds,
            synthetic,
            params,
            out_dir=Path(args.out_dir),
            device=device,
            log=lambda line: print(line, flush=True),
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
