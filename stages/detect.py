"""DVC stage `detect`: QRS detection on every record's lead, at the pipeline's sampling
rate -> data/beats/mitdb_beats.pt (beat sample indices per record)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ecg.atomic import save_torch, write_json  # noqa: E402
from ecg.config import load_params  # noqa: E402
from ecg.detection import detect_records  # noqa: E402
from ecg.errors import run_cli  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--raw_dir", default="data/raw/mitdb")
    parser.add_argument("--out", default="data/beats/mitdb_beats.pt")
    parser.add_argument("--metrics", default="metrics/detect.json")
    args = parser.parse_args()
    params = load_params(args.params)
    beats, metrics = detect_records(args.raw_dir, params.preprocess)
    save_torch(beats, args.out)
    write_json(metrics, args.metrics)
    print(
        f"detect: {metrics['beats']} beats in {metrics['records']} records "
        f"({metrics['seconds_per_record']:.2f} s per record)"
    )


if __name__ == "__main__":
    run_cli(main)
