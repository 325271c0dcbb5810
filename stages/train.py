"""Two-stage transfer learning of the synthetic-pretrained DeepSNN on MIT-BIH.

Stage 1 (feature adaptation): fc1 frozen, the rest trained. Stage 2 (full fine-tuning):
everything trained, starting from stage 1's best model. DVC runs `--stage 1` and
`--stage 2` as separate stages; defaults come from params.yaml, flags override them.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from ecg.atomic import write_json, write_text  # noqa: E402
from ecg.beat_model import data_suffix, input_width, model_from_checkpoint  # noqa: E402
from ecg.config import Params, as_dict, load_params  # noqa: E402
from ecg.data import ECGDataset, read_data_file  # noqa: E402
from ecg.errors import ECGError, run_cli  # noqa: E402
from ecg.model import read_checkpoint  # noqa: E402
from ecg.training import FitConfig, fit, resolve_device  # noqa: E402

HISTORY_FIELDS = (
    "epoch",
    "train_loss",
    "val_loss",
    "val_acc",
    "val_sensitivity",
    "val_specificity",
    "val_g_mean",
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--stage", choices=["both", "1", "2"], default="both")
    p.add_argument("--params", default="params.yaml")
    p.add_argument(
        "--pretrained_model",
        default=None,
        help="default: models/deep_focal_model.pt (stage 1 / both), "
        "<output_dir>/stage1/best_model.pt (stage 2)",
    )
    p.add_argument("--data_dir", default="data/mitbih_processed")
    p.add_argument("--output_dir", default="models/mitbih_transfer")
    p.add_argument("--metrics_dir", default="metrics")
    p.add_argument("--batch_size", type=int)
    p.add_argument("--num_epochs", type=int, help="default: stage{1,2}.num_epochs")
    p.add_argument("--learning_rate", type=float, help="default: stage{1,2}.learning_rate")
    p.add_argument("--weight_decay", type=float)
    p.add_argument("--dropout", type=float)
    p.add_argument("--focal_alpha", type=float)
    p.add_argument("--focal_gamma", type=float)
    p.add_argument("--early_stopping_patience", type=int)
    p.add_argument("--sensitivity_target", type=float)
    p.add_argument("--specificity_target", type=float)
    p.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"])
    p.add_argument("--seed", type=int)
    p.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument(
        "--resume", action="store_true", help="continue from <output_dir>/stage{N}/last.pt"
    )
    return p.parse_args(argv)


def resolve_params(args: argparse.Namespace) -> Params:
    overrides: dict[str, Any] = {
        key: getattr(args, key)
        for key in (
            "batch_size",
            "weight_decay",
            "dropout",
            "focal_alpha",
            "focal_gamma",
            "early_stopping_patience",
            "sensitivity_target",
            "specificity_target",
            "device",
            "seed",
            "augment",
        )
    }
    for stage in ("1", "2") if args.stage == "both" else (args.stage,):
        overrides[f"stage{stage}.num_epochs"] = args.num_epochs
        overrides[f"stage{stage}.learning_rate"] = args.learning_rate
    return load_params(args.params, overrides)


def load_split(data_dir: Path, split: str, suffix: str = "ecg") -> ECGDataset:
    """A MIT-BIH split: raw windows (`ecg`) or the beat models' input (`beats`)."""
    path = data_dir / f"{split}_{suffix}.pt"
    data = read_data_file(path)
    if "patient_ids" not in data:
        raise ECGError(
            f"{path}: synthetic-format file; the transfer stages need the MIT-BIH "
            "format written by the preprocess stage"
        )
    return ECGDataset(
        data["signals"],
        data["labels"],
        patient_ids=data["patient_ids"],
        segment_confidence=data["segment_confidence"],
        sqi_scores=data["sqi_scores"],
    )


def history_csv(history: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(
        buf, fieldnames=HISTORY_FIELDS, extrasaction="ignore", lineterminator="\n"
    )
    writer.writeheader()
    for row in history:
        writer.writerow({k: (round(v, 6) if isinstance(v, float) else v) for k, v in row.items()})
    return buf.getvalue()


def run_stage(
    stage: str,
    params: Params,
    args: argparse.Namespace,
    pretrained: Path,
    train: ECGDataset,
    val: ECGDataset,
) -> Path:
    out_dir = Path(args.output_dir) / f"stage{stage}"
    stage_cfg = params.stage1 if stage == "1" else params.stage2
    # Architecture comes from the checkpoint; dropout is a fine-tuning choice.
    _, ckpt = read_checkpoint(pretrained)
    overrides = {"dropout": params.dropout} if "dropout" in ckpt["config"] else {}
    model = model_from_checkpoint(pretrained, **overrides)
    if input_width(model.config) != train.signals.shape[1]:
        raise ECGError(
            f"{pretrained}: model expects {input_width(model.config)} values per window, "
            f"the data has {train.signals.shape[1]}"
        )
    if stage == "1" and all(name.startswith("fc1.") for name, _ in model.named_parameters()):
        raise ECGError(
            f"{pretrained}: a {model.config['arch']} model has only fc1, which stage 1 "
            "freezes; run --stage 2 only"
        )
    cfg = FitConfig.from_params(
        params,
        stage=stage,
        schedule=stage_cfg,
        seed=params.seed,
        frozen=("fc1",) if stage == "1" else (),
        augment=params.augmentation if params.augment else None,
    )
    torch.manual_seed(params.seed)
    resume_hint = (
        f"python stages/train.py --stage {stage} --resume --output_dir "
        f"{args.output_dir} --pretrained_model {pretrained}"
    )
    # With --stage both, a stage that never started has nothing to resume from.
    resume = args.resume and (args.stage != "both" or (out_dir / "last.pt").is_file())
    result = fit(
        model,
        train,
        val,
        cfg,
        device=resolve_device(params.device),
        best_path=out_dir / "best_model.pt",
        last_path=out_dir / "last.pt",
        resume=resume,
        resume_hint=resume_hint,
        extra={"pretrained_model": str(pretrained)},
    )
    write_json({"stage": int(stage), "history": result.history}, out_dir / "training_history.json")
    metrics_dir = Path(args.metrics_dir)
    write_json({"stage": int(stage), **result.summary()}, metrics_dir / f"stage{stage}.json")
    write_text(history_csv(result.history), metrics_dir / f"stage{stage}_history.csv")
    update_run_config(Path(args.output_dir) / "config.json", stage, params, cfg, pretrained, args)
    return out_dir / "best_model.pt"


def update_run_config(
    path: Path,
    stage: str,
    params: Params,
    cfg: FitConfig,
    pretrained: Path,
    args: argparse.Namespace,
) -> None:
    """Resolved configuration of the run; each stage fills in its own section."""
    config = json.loads(path.read_text()) if path.is_file() else {}
    config["shared"] = {
        k: v for k, v in as_dict(params).items() if not isinstance(v, dict) or k == "augmentation"
    }
    config["data_dir"] = args.data_dir
    config[f"stage{stage}"] = {
        "pretrained_model": str(pretrained),
        "num_epochs": cfg.num_epochs,
        "learning_rate": cfg.learning_rate,
        "frozen": list(cfg.frozen),
    }
    write_json(config, path)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    params = resolve_params(args)
    data_dir = Path(args.data_dir)
    stages = ["1", "2"] if args.stage == "both" else [args.stage]
    pretrained = (
        Path(args.pretrained_model)
        if args.pretrained_model
        else (
            Path(args.output_dir) / "stage1" / "best_model.pt"
            if args.stage == "2"
            else Path("models/deep_focal_model.pt")
        )
    )
    # The checkpoint's architecture decides the input: raw windows or detected-beat input.
    _, ckpt = read_checkpoint(pretrained)
    suffix = data_suffix(ckpt["config"].get("arch", "deep"))
    train, val = load_split(data_dir, "train", suffix), load_split(data_dir, "val", suffix)
    for stage in stages:
        pretrained = run_stage(stage, params, args, pretrained, train, val)


def cli() -> None:
    run_cli(main)


if __name__ == "__main__":
    cli()
