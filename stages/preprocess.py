"""DVC stage `preprocess`: MIT-BIH records -> labelled, SQI-filtered 10-s windows of every
subject in data/mitbih_processed/windows_{ecg,beats,beat_sync}.pt (raw windows, the beat
layout and DeepSNN's beat-synchronous view), and with `augment.copies` > 0 the beat layout of
noisy copies in windows_beats_noisy.pt (NSTDB noise records from --noise_dir, by default
data/raw/nstdb, written by the download stage)."""

from __future__ import annotations

from ecg.core.cli import run_cli, stage_parser
from ecg.core.params_file import ParamsFile
from ecg.core.storage import write_json
from ecg.core.timing import timed
from ecg.data.augment import AugmentConfig
from ecg.data.build import preprocess_mitbih
from ecg.data.config import PreprocessConfig
from ecg.data.detected_beats import read_beats


def load_config(params: ParamsFile) -> dict:
    return {
        "cfg": params.group("preprocess", PreprocessConfig),
        "augment": params.group("augment", AugmentConfig),
        "seed": params.seed(),
    }


def main(argv: list[str] | None = None) -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("--raw_dir", default="data/raw/mitdb")
    parser.add_argument("--out_dir", default="data/mitbih_processed")
    parser.add_argument("--metrics", default="metrics/preprocess.json")
    parser.add_argument(
        "--beats",
        default="data/beats/mitdb_beats.pt",
        help="detected beats (detect stage), for the beat-relative inputs; 'none' to skip",
    )
    parser.add_argument("--noise_dir", default="data/raw/nstdb", help="NSTDB noise records")
    parser.add_argument("--records", nargs="+", help="only these record ids (no exclusions)")
    args = parser.parse_args(argv)
    config = load_config(ParamsFile(args.params))
    beats = None if args.beats == "none" else read_beats(args.beats)
    with timed("preprocess"):
        metrics = preprocess_mitbih(
            args.raw_dir,
            args.out_dir,
            **config,
            records=args.records,
            beats=beats,
            noise_dir=args.noise_dir,
        )
    write_json(metrics, args.metrics)
    print(
        f"preprocess: {metrics['windows_kept']}/{metrics['windows_total']} windows pass SQI "
        f"({metrics['sqi_pass_rate']:.1%}) from {metrics['subjects']} subjects"
    )


if __name__ == "__main__":
    run_cli(main)
