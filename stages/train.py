"""The design's training command: one ensemble member by two-stage transfer learning, outside
DVC (`--stage 1|2|both`, resumable with `--resume`), writing only under --output_dir.

Stage 1 freezes fc1, stage 2 trains every layer from stage 1's best model. Defaults: params.yaml,
whose top-level keys the design's flags override (--num_epochs/--learning_rate: the stages run).
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from ecg.core.cli import DEVICES, run_cli, stage_parser
from ecg.core.device import resolve_device
from ecg.core.errors import ECGError
from ecg.core.params_file import ParamsFile
from ecg.models.registry import model_class
from ecg.train.config import StageSchedule, TransferConfig
from ecg.train.plan import FINAL, CrossvalConfig, member_jobs
from ecg.train.transfer import add_design_flags, params_overrides, start_windows, train_stages


def main(argv: list[str] | None = None) -> None:
    p = stage_parser(__doc__)
    p.add_argument("--stage", choices=["both", "1", "2"], default="both")
    p.add_argument("--model", help="architecture (default: crossval.product)")
    p.add_argument("--ensemble", default=FINAL, help="fold1..foldK, dechazal, final (product)")
    p.add_argument("--member", type=int, default=1, help="member of that ensemble (of the plan)")
    p.add_argument("--pretrained_model", help="default: models/pretrained/<model>.pt")
    p.add_argument("--data_dir", default="data/mitbih_processed")
    p.add_argument("--output_dir", default="models/mitbih_transfer")
    p.add_argument("--device", choices=DEVICES, default="auto")
    p.add_argument("--resume", action="store_true", help="continue from <stage>/last.pt")
    add_design_flags(p)
    args = p.parse_args(argv)
    stages = ["1", "2"] if args.stage == "both" else [args.stage]
    params = ParamsFile(args.params, params_overrides(args, stages))
    cv = params.group("crossval", CrossvalConfig)
    model = model_class(args.model or cv.product, where="--model: ").arch
    out = Path(args.output_dir)
    start = out / "stage1/best_model.pt" if stages == ["2"] else f"models/pretrained/{model}.pt"
    pretrained = Path(args.pretrained_model or start)
    data = start_windows(args.data_dir, pretrained)
    jobs = [j for j in member_jobs(data, cv, seed=params.seed(), models=[model])
            if (j.ensemble, j.member) == (args.ensemble, args.member)]  # fmt: skip
    if not jobs:
        raise ECGError(f"--ensemble {args.ensemble} --member {args.member}: no such member")
    command = ["python", "-m", "stages.train", *(sys.argv[1:] if argv is None else argv)]
    train_stages(
        stages, jobs[0], data, transfer=params.top_level(TransferConfig),
        schedules={s: params.group(f"stage{s}", StageSchedule) for s in stages},
        pretrained=pretrained, output_dir=out,
        device=resolve_device(args.device), resume=args.resume,
        resume_hint=shlex.join(command + ["--resume"] * ("--resume" not in command)),
    )  # fmt: skip


if __name__ == "__main__":
    run_cli(main)
