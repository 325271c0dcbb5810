"""DVC stage `card`: models/final/MODEL_CARD.md from the figures of this run
(metrics/cv.json, metrics/ec57.json, metrics/cv_per_subject.csv) and the final model."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from ecg.core.cli import run_cli, stage_parser
from ecg.core.errors import ECGError
from ecg.core.storage import load_torch, write_text
from ecg.eval.model_card import model_card


def read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise ECGError(f"{path}: cannot read metrics ({err})") from None


def main(argv: list[str] | None = None) -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("--metrics_dir", default="metrics")
    parser.add_argument("--model", default="models/final/model.pt")
    parser.add_argument("--out", default="models/final/MODEL_CARD.md")
    args = parser.parse_args(argv)
    metrics = Path(args.metrics_dir)
    ckpt = load_torch(args.model, what="model file")
    plain = {k: v for k, v in ckpt.items() if k not in ("members", "config")}
    plain["members"] = len(ckpt.get("members", [])) or 1
    with open(metrics / "cv_per_subject.csv", newline="") as f:
        subjects = list(csv.DictReader(f))
    card = model_card(
        read_json(metrics / "cv.json"), plain, subjects, read_json(metrics / "ec57.json")
    )
    write_text(card, args.out)
    print(f"card: {args.out}")


if __name__ == "__main__":
    run_cli(main)
