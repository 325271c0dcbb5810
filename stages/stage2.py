"""DVC stage `stage2`: full fine-tuning of every ensemble member from its stage-1 model (a
network with nothing but fc1 from pretraining), and the gradient-boosting baseline ->
models/stage2/<model>/<ensemble>/member<j>.pt, metrics/stage2.json."""

from __future__ import annotations

from pathlib import Path

from ecg.core.cli import run_cli, stage_parser
from ecg.core.params_file import ParamsFile
from ecg.core.storage import write_json
from ecg.core.timing import timed
from ecg.train.config import StageSchedule, TransferConfig
from ecg.train.fine_tune import fine_tune
from ecg.train.gbm import GBMConfig
from ecg.train.plan import BOOSTED, CrossvalConfig


def load_config(params: ParamsFile) -> dict:
    cv = params.group("crossval", CrossvalConfig)
    return {
        "seed": params.seed(),
        "cv": cv,
        "transfer": params.top_level(TransferConfig),
        "schedule": params.group("stage2", StageSchedule),
        "boosted": {
            name: params.group(f"model.{name}", GBMConfig) for name in BOOSTED if name in cv.models
        },
    }


def main(argv: list[str] | None = None) -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("--metrics", default="metrics/stage2.json")
    args = parser.parse_args(argv)
    config = load_config(ParamsFile(args.params))
    with timed("stage2"):
        figures = fine_tune(
            "2",
            **config,
            data_dir=Path("data/mitbih_processed"),
            pretrained_dir=Path("models/pretrained"),
            stage1_dir=Path("models/stage1"),
            out_dir=Path("models/stage2"),
            live_dir=Path("metrics/live/stage2"),
        )
    write_json(figures, args.metrics)


if __name__ == "__main__":
    run_cli(main)
