"""Direct vs rate encoding of DeepSNN: validation quality after the same synthetic
pretraining budget, to choose `model.encoding`. Writes metrics/encoding_comparison.json.

    python -m benchmarks.compare_encodings [--epochs 3] [--n_train 4000]
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import torch

from benchmarks.machine import machine_info
from ecg.core.params_file import ParamsFile
from ecg.core.storage import write_json
from ecg.data.config import PreprocessConfig
from ecg.data.files import ECGDataset
from ecg.data.synthetic import generate
from ecg.eval.metrics import auroc
from ecg.eval.scoring import predict, scores_from_logits
from ecg.models.deep_snn import DeepSNN
from ecg.params import model_config
from ecg.train.config import FitConfig, PretrainConfig
from ecg.train.loop import fit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--n_train", type=int, default=4000)
    parser.add_argument("--n_val", type=int, default=1000)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--out", default="metrics/encoding_comparison.json")
    args = parser.parse_args()
    params = ParamsFile(args.params)
    pre = params.group("preprocess", PreprocessConfig)
    pt = params.group("pretrain", PretrainConfig)
    config = model_config(params, "deep", dropout=pt.dropout)
    cfg = FitConfig.pretraining(dataclasses.replace(pt, num_epochs=args.epochs))
    train = ECGDataset(
        *map(torch.from_numpy, generate(args.n_train, seed=1, fs=pre.fs, window=pre.window))
    )
    val = ECGDataset(
        *map(torch.from_numpy, generate(args.n_val, seed=2, fs=pre.fs, window=pre.window))
    )
    results = {}
    for encoding in ("direct", "rate"):
        torch.manual_seed(0)
        model = DeepSNN(dataclasses.replace(config, encoding=encoding))
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            result = fit(
                model,
                train,
                val,
                cfg,
                seed=0,
                device=torch.device("cpu"),
                best_path=Path(tmp) / "best.pt",
            )
        seconds = time.perf_counter() - t0
        scores = scores_from_logits(
            predict(model, val.inputs, batch_size=256, device=torch.device("cpu"))
        )
        results[encoding] = {
            "val_auroc": auroc(val.labels.numpy(), scores),
            "val_g_mean": result.val["g_mean"],
            "val_accuracy": result.val["accuracy"],
            "best_epoch": result.best_epoch,
            "train_seconds": round(seconds, 1),
        }
        print(encoding, results[encoding], flush=True)
    write_json(
        {
            "task": f"DeepSNN pretraining on synthetic ECG, {args.epochs} epochs, "
            f"{args.n_train} train / {args.n_val} val windows, seed 0, CPU",
            "results": results,
            "better_by_val_auroc": max(results, key=lambda k: results[k]["val_auroc"]),
            "machine": machine_info(),
            "note": "ties resolved in favour of direct (one fc1 product per window, not per step)",
        },
        args.out,
    )


if __name__ == "__main__":
    main()
