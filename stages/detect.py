"""DVC stage `detect`: QRS detection on every record's lead, at the pipeline's sampling
rate -> data/beats/mitdb_beats.pt (beat sample indices per record)."""

from __future__ import annotations

from ecg.core.cli import run_cli, stage_parser
from ecg.core.storage import save_torch, write_json
from ecg.data.detected_beats import detect_records
from ecg.params import load_params


def main(argv: list[str] | None = None) -> None:
    parser = stage_parser(__doc__, device=False)
    parser.add_argument("--raw_dir", default="data/raw/mitdb")
    parser.add_argument("--out", default="data/beats/mitdb_beats.pt")
    parser.add_argument("--metrics", default="metrics/detect.json")
    args = parser.parse_args(argv)
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
