"""DVC stage `pretrain`: every network of `crossval.models` on synthetic ECG, focal loss,
selected by validation G-mean -> models/pretrained/<model>.pt, metrics/pretrain.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ecg.core.cli import run_cli, stage_parser
from ecg.core.params_file import ParamsFile
from ecg.core.storage import write_json
from ecg.core.timing import timed
from ecg.params import network_configs
from ecg.train.config import FitConfig, PretrainConfig
from ecg.train.pretrain import pretrain_networks


def load_config(params: ParamsFile) -> tuple[int, FitConfig, dict[str, Any]]:
    """(seed, the pretraining fit, config of every network to pretrain)."""
    pre = params.group("pretrain", PretrainConfig)
    configs = network_configs(params, dropout=pre.dropout)
    return params.seed(), FitConfig.pretraining(pre), configs


def main(argv: list[str] | None = None) -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("--out_dir", default="models/pretrained")
    parser.add_argument("--metrics", default="metrics/pretrain.json")
    args = parser.parse_args(argv)
    seed, fit, configs = load_config(ParamsFile(args.params))
    with timed("pretrain"):
        figures = pretrain_networks(
            configs,
            fit,
            seed=seed,
            synthetic={
                "waveform": Path("data/synthetic"),
                "beats": Path("data/synthetic_beats"),
                "beat_sync": Path("data/synthetic_beats"),
            },
            out_dir=Path(args.out_dir),
            live_dir=Path("metrics/live/pretrain"),
        )
    write_json(figures, args.metrics)


if __name__ == "__main__":
    run_cli(main)
