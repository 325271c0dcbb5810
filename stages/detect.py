"""DVC stage `detect`: QRS detection on every record's lead, at the pipeline's sampling
rate -> data/beats/mitdb_beats.pt (beat sample indices per record)."""

from __future__ import annotations

from ecg.core.cli import run_cli, stage_parser
from ecg.core.params_file import ParamsFile
from ecg.core.storage import save_torch, write_json
from ecg.core.timing import timed
from ecg.data.config import PreprocessConfig
from ecg.data.detected_beats import detect_records


def load_config(params: ParamsFile) -> PreprocessConfig:
    return params.group("preprocess", PreprocessConfig)


def main(argv: list[str] | None = None) -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("--raw_dir", default="data/raw/mitdb")
    parser.add_argument("--out", default="data/beats/mitdb_beats.pt")
    parser.add_argument("--metrics", default="metrics/detect.json")
    args = parser.parse_args(argv)
    with timed("detect"):
        beats, metrics = detect_records(args.raw_dir, load_config(ParamsFile(args.params)))
    save_torch(beats, args.out)
    write_json(metrics, args.metrics)
    print(f"detect: {metrics['beats']} beats in {metrics['records']} records")


if __name__ == "__main__":
    run_cli(main)
