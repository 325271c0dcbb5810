"""DVC stage `preprocess`: MIT-BIH records -> labelled, SQI-filtered, subject-wise split
10-s windows in data/mitbih_processed/{train,val,test}_{ecg,beats}.pt."""

from __future__ import annotations

from ecg.core.cli import run_cli, stage_parser
from ecg.core.storage import write_json
from ecg.data.build import preprocess_mitbih
from ecg.data.detected_beats import read_beats
from ecg.params import load_params


def main(argv: list[str] | None = None) -> None:
    parser = stage_parser(__doc__, device=False)
    parser.add_argument("--raw_dir", default="data/raw/mitdb")
    parser.add_argument("--out_dir", default="data/mitbih_processed")
    parser.add_argument("--metrics", default="metrics/preprocess.json")
    parser.add_argument(
        "--beats",
        default="data/beats/mitdb_beats.pt",
        help="detected beats (detect stage), for the beat models' input; 'none' to skip",
    )
    parser.add_argument("--records", nargs="+", help="only these record ids (no exclusions)")
    parser.add_argument("--split", help="override preprocess.split")
    parser.add_argument("--sqi_threshold", type=float, help="override preprocess.sqi_threshold")
    args = parser.parse_args(argv)
    params = load_params(
        args.params,
        {"preprocess.split": args.split, "preprocess.sqi_threshold": args.sqi_threshold},
    )
    beats = None if args.beats == "none" else read_beats(args.beats)
    metrics = preprocess_mitbih(
        args.raw_dir,
        args.out_dir,
        params.preprocess,
        seed=params.seed,
        records=args.records,
        beats=beats,
    )
    write_json(metrics, args.metrics)
    s = metrics["splits"]
    print(
        f"preprocess: {metrics['windows_kept']}/{metrics['windows_total']} windows pass SQI "
        f"({metrics['sqi_pass_rate']:.1%}); train/val/test = "
        f"{s['train']['windows']}/{s['val']['windows']}/{s['test']['windows']} windows, "
        f"{s['train']['n_subjects']}/{s['val']['n_subjects']}/{s['test']['n_subjects']} subjects "
        f"({metrics['seconds']:.1f} s)"
    )


if __name__ == "__main__":
    run_cli(main)
