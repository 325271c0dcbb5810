"""DVC stage `synthesize`: synthetic sinus-rhythm vs. arrhythmia ECG windows for pretraining,
written to data/synthetic/{train,val}_ecg.pt, and the same windows' beat-relative inputs
(from detected beats: the beat layout and DeepSNN's beat-synchronous view) to
data/synthetic_beats/{train,val}_{beats,beat_sync}.pt."""

from __future__ import annotations

from ecg.core.cli import run_cli, stage_parser
from ecg.core.params_file import ParamsFile
from ecg.core.storage import write_json
from ecg.core.timing import timed
from ecg.data.config import PreprocessConfig, SynthesizeConfig
from ecg.data.synthetic_set import write_synthetic_set


def load_config(params: ParamsFile) -> tuple[int, SynthesizeConfig, PreprocessConfig]:
    syn = params.group("synthesize", SynthesizeConfig)
    return params.seed(), syn, params.group("preprocess", PreprocessConfig)


def main(argv: list[str] | None = None) -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("--out_dir", default="data/synthetic")
    parser.add_argument("--beats_dir", default="data/synthetic_beats")
    parser.add_argument("--metrics", default="metrics/synthesize.json")
    args = parser.parse_args(argv)
    seed, syn, pre = load_config(ParamsFile(args.params))
    with timed("synthesize"):
        metrics = write_synthetic_set(
            syn, pre, seed=seed, out_dir=args.out_dir, beats_dir=args.beats_dir
        )
    write_json(metrics, args.metrics)
    tr, va = metrics["splits"]["train"], metrics["splits"]["val"]
    print(
        f"synthesize: train {tr['windows']} / val {va['windows']} windows "
        f"({tr['per_class']['arrhythmia']} / {va['per_class']['arrhythmia']} arrhythmia)"
    )


if __name__ == "__main__":
    run_cli(main)
