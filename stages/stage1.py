"""DVC stage `stage1`: feature adaptation of every ensemble member (every outer fold, DS1 ->
DS2 and the final model) from its synthetic-pretrained network, fc1 frozen ->
models/stage1/<model>/<ensemble>/member<j>.pt, metrics/stage1.json."""

from __future__ import annotations

from pathlib import Path

from ecg.core.cli import run_cli, stage_parser
from ecg.core.params_file import ParamsFile
from ecg.core.storage import write_json
from ecg.core.timing import timed
from ecg.train.config import StageSchedule, TransferConfig
from ecg.train.fine_tune import fine_tune
from ecg.train.plan import CrossvalConfig


def load_config(params: ParamsFile) -> dict:
    return {
        "seed": params.seed(),
        "cv": params.group("crossval", CrossvalConfig),
        "transfer": params.top_level(TransferConfig),
        "schedule": params.group("stage1", StageSchedule),
    }


def main(argv: list[str] | None = None) -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("--metrics", default="metrics/stage1.json")
    args = parser.parse_args(argv)
    config = load_config(ParamsFile(args.params))
    with timed("stage1"):
        figures = fine_tune(
            "1",
            **config,
            data_dir=Path("data/mitbih_processed"),
            pretrained_dir=Path("models/pretrained"),
            out_dir=Path("models/stage1"),
            live_dir=Path("metrics/live/stage1"),
        )
    write_json(figures, args.metrics)


if __name__ == "__main__":
    run_cli(main)
