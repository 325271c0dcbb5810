"""DVC stage `evaluate`: every model's ensembles from their stage-2 members, out-of-fold
thresholds, cross-validated and DS2 figures with subject-bootstrap intervals, per-subject
table and curves (metrics/cv*.json|csv, metrics/plots/cv), EC57 beat statistics
(metrics/ec57.json), and the final model users get
(models/final/model.pt)."""

from __future__ import annotations

from pathlib import Path

from ecg.core.cli import run_cli, stage_parser
from ecg.core.config import as_dict
from ecg.core.params_file import ParamsFile
from ecg.core.progress import log
from ecg.core.storage import save_torch, write_json, write_text
from ecg.core.timing import timed
from ecg.data.config import PreprocessConfig
from ecg.eval.config import BootstrapConfig
from ecg.train.crossval_report import evaluate_models
from ecg.train.plan import CrossvalConfig


def load_config(params: ParamsFile) -> dict:
    return {
        "cv": params.group("crossval", CrossvalConfig),
        "seed": params.seed(),
        "sensitivity_target": params.number("sensitivity_target"),
        "specificity_target": params.number("specificity_target"),
        "bootstrap": params.group("bootstrap", BootstrapConfig),
        "input_spec": as_dict(params.group("preprocess", PreprocessConfig).input_spec()),
    }


def main(argv: list[str] | None = None) -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("--metrics_dir", default="metrics")
    parser.add_argument("--final", default="models/final/model.pt")
    args = parser.parse_args(argv)
    config = load_config(ParamsFile(args.params))
    with timed("evaluate"):
        document, ec57, files, final = evaluate_models(
            **config, data_dir=Path("data/mitbih_processed"),
            members_dir=Path("models/stage2"),
        )  # fmt: skip
    for name, text in files.items():
        write_text(text, Path(args.metrics_dir) / name)
    save_torch(final, args.final)
    write_json(document, Path(args.metrics_dir) / "cv.json")
    write_json(ec57, Path(args.metrics_dir) / "ec57.json")
    for name, r in document["models"].items():
        log(
            f"evaluate {name}: pooled AUROC {r['pooled_auroc']:.3f}, sensitivity "
            f"{r['pooled_sensitivity']:.3f}, specificity {r['pooled_specificity']:.3f}"
        )


if __name__ == "__main__":
    run_cli(main)
