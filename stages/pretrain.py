"""DVC stage `pretrain`: the main pipeline's model (`model.arch`) on synthetic ECG, with the
focal loss, selected by validation G-mean -> models/deep_focal_model.pt.

A raw-waveform model (DeepSNN) reads data/synthetic; a beat-input model (BeatSNN, BeatANN,
logistic regression) reads the same windows' beat layout in data/synthetic_beats.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ecg.core.cli import run_cli, stage_parser
from ecg.core.config import as_dict
from ecg.core.device import resolve_device
from ecg.core.storage import write_json
from ecg.data.files import dataset_from_file
from ecg.models.registry import build_model
from ecg.params import load_params
from ecg.train.config import FitConfig
from ecg.train.live import LiveLog
from ecg.train.loop import fit
from ecg.train.transfer import DATA_SUFFIX


def main(argv: list[str] | None = None) -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("--data_dir", help="default: data/synthetic, or data/synthetic_beats")
    parser.add_argument("--output", default="models/deep_focal_model.pt")
    parser.add_argument("--metrics", default="metrics/pretrain.json")
    parser.add_argument("--live_dir", default="metrics/live/pretrain")
    parser.add_argument("--num_epochs", type=int, help="override pretrain.num_epochs")
    args = parser.parse_args(argv)
    params = load_params(
        args.params, {"pretrain.num_epochs": args.num_epochs, "device": args.device}
    )
    arch = params.model.arch
    config = params.model_config(arch, dropout=params.pretrain.dropout)
    torch.manual_seed(params.seed)
    model = build_model(config)
    suffix = DATA_SUFFIX[model.input_kind]
    data_dir = Path(
        args.data_dir or ("data/synthetic" if suffix == "ecg" else "data/synthetic_beats")
    )
    train = dataset_from_file(data_dir / f"train_{suffix}.pt")
    val = dataset_from_file(data_dir / f"val_{suffix}.pt")
    with LiveLog(args.live_dir) as live:
        result = fit(
            model,
            train,
            val,
            FitConfig.for_pretraining(params.pretrain, seed=params.seed),
            device=resolve_device(params.device),
            best_path=args.output,
            extra={"model_params": as_dict(config)},
            on_epoch=live.log_epoch,
        )
    encoding = getattr(config, "encoding", "beat events")
    write_json({**result.summary(), "arch": arch, "encoding": encoding}, args.metrics)


if __name__ == "__main__":
    run_cli(main)
