"""DVC stage `pretrain`: the `model.arch` network on synthetic ECG with FocalLoss ->
models/deep_focal_model.pt, the starting point of the MIT-BIH transfer learning.

`model.arch: deep` (DeepSNN) reads the raw synthetic windows; the beat-input models (`beat`,
`beat_ann`, `logreg`) read their beat-relative input from data/synthetic_beats."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from ecg.atomic import write_json  # noqa: E402
from ecg.beat_model import beat_model_config, build_model, data_suffix  # noqa: E402
from ecg.config import as_dict, load_params  # noqa: E402
from ecg.data import dataset_from_file  # noqa: E402
from ecg.errors import run_cli  # noqa: E402
from ecg.model import DeepSNN  # noqa: E402
from ecg.training import FitConfig, fit, resolve_device  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--data_dir", help="default: data/synthetic, or data/synthetic_beats")
    parser.add_argument("--output", default="models/deep_focal_model.pt")
    parser.add_argument("--metrics", default="metrics/pretrain.json")
    parser.add_argument("--num_epochs", type=int, help="override pretrain.num_epochs")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"])
    args = parser.parse_args()
    params = load_params(
        args.params, {"pretrain.num_epochs": args.num_epochs, "device": args.device}
    )
    pre, m = params.pretrain, params.model
    suffix = data_suffix(m.arch)
    data_dir = Path(
        args.data_dir or ("data/synthetic" if suffix == "ecg" else "data/synthetic_beats")
    )
    train = dataset_from_file(data_dir / f"train_{suffix}.pt")
    val = dataset_from_file(data_dir / f"val_{suffix}.pt")

    torch.manual_seed(params.seed)
    if m.arch == "deep":
        model = DeepSNN(
            input_size=train.signals.shape[1],
            hidden=tuple(m.hidden),
            beta=m.beta,
            threshold=m.threshold,
            num_steps=m.num_steps,
            encoding=m.encoding,
            rate_gain=m.rate_gain,
            surrogate_slope=m.surrogate_slope,
            dropout=pre.dropout,
        )
    else:
        model = build_model(beat_model_config(m.arch, params.beat_model))
    cfg = FitConfig.for_pretraining(pre, seed=params.seed)
    result = fit(
        model,
        train,
        val,
        cfg,
        device=resolve_device(params.device),
        best_path=args.output,
        extra={"model_params": as_dict(m)},
    )
    write_json(
        {
            **result.summary(),
            "arch": m.arch,
            "encoding": m.encoding if m.arch == "deep" else "beat events",
        },
        args.metrics,
    )


if __name__ == "__main__":
    run_cli(main)
