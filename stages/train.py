"""Two-stage transfer learning of the synthetic-pretrained model on MIT-BIH.

Stage 1 (feature adaptation): fc1 frozen, the rest trained. Stage 2 (full fine-tuning):
everything trained, starting from stage 1's best model. DVC runs `--stage 1` and `--stage 2`
as separate stages; defaults come from params.yaml, flags override them. Metrics go to
`--metrics_dir` (default: beside the models, `<output_dir>/metrics`).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from ecg.core.cli import run_cli, stage_parser
from ecg.core.device import resolve_device
from ecg.core.storage import write_json
from ecg.data.files import load_split
from ecg.params import Params, load_params
from ecg.train.transfer import data_suffix, load_for_stage, run_stage

# The design's flags that override a top-level params.yaml key of the same name.
SHARED = ("batch_size", "weight_decay", "dropout", "focal_alpha", "focal_gamma", "seed")
SHARED += ("early_stopping_patience", "sensitivity_target", "specificity_target")
INTEGER = {"batch_size", "seed", "early_stopping_patience", "num_epochs"}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = stage_parser(__doc__)
    p.add_argument("--stage", choices=["both", "1", "2"], default="both")
    p.add_argument(
        "--pretrained_model",
        help="default: models/deep_focal_model.pt, or for "
        "--stage 2 <output_dir>/stage1/best_model.pt",
    )
    p.add_argument("--data_dir", default="data/mitbih_processed")
    p.add_argument("--output_dir", default="models/mitbih_transfer")
    p.add_argument("--metrics_dir", help="default: <output_dir>/metrics")
    for flag in (*SHARED, "num_epochs", "learning_rate"):  # the last two: stageN.<flag>
        p.add_argument(f"--{flag}", type=int if flag in INTEGER else float)
    p.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument(
        "--resume", action="store_true", help="continue from <output_dir>/stageN/last.pt"
    )
    return p.parse_args(argv)


def resolve_params(args: argparse.Namespace) -> Params:
    overrides = {key: getattr(args, key) for key in (*SHARED, "device", "augment")}
    for stage in ("1", "2") if args.stage == "both" else (args.stage,):
        overrides[f"stage{stage}.num_epochs"] = args.num_epochs
        overrides[f"stage{stage}.learning_rate"] = args.learning_rate
    return load_params(args.params, overrides)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    params = resolve_params(args)
    out = Path(args.output_dir)
    metrics_dir = Path(args.metrics_dir) if args.metrics_dir else out / "metrics"
    stages = ["1", "2"] if args.stage == "both" else [args.stage]
    default = out / "stage1/best_model.pt" if args.stage == "2" else "models/deep_focal_model.pt"
    pretrained = Path(args.pretrained_model or default)
    suffix = data_suffix(pretrained)
    train = load_split(args.data_dir, "train", suffix)
    val = load_split(args.data_dir, "val", suffix)
    command = ["python", "-m", "stages.train", *(argv if argv is not None else sys.argv[1:])]
    for stage in stages:
        cfg = params.fit_config(stage)
        model = load_for_stage(pretrained, cfg, dropout=params.dropout, data=train)
        stage_dir = out / f"stage{stage}"
        # With --stage both, a stage that never started has nothing to resume from.
        resume = args.resume and (args.stage != "both" or (stage_dir / "last.pt").is_file())
        hint = [*command, "--resume"] if "--resume" not in command else command
        result = run_stage(
            model,
            train,
            val,
            cfg,
            out_dir=stage_dir,
            live_dir=metrics_dir / f"live/stage{stage}",
            device=resolve_device(params.device),
            seed=params.seed,
            resume=resume,
            resume_hint=shlex.join(hint),
            record={"pretrained_model": str(pretrained), "data_dir": args.data_dir},
        )
        write_json({"stage": int(stage), **result.summary()}, metrics_dir / f"stage{stage}.json")
        pretrained = stage_dir / "best_model.pt"


if __name__ == "__main__":
    run_cli(main)
