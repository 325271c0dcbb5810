"""DVC stage `evaluate`: the stage 2 best model on the held-out test subjects, at the
threshold chosen on validation; subject-bootstrap intervals, per-subject table, plots and the
model's per-window cost. Refuses a model that was trained on any of the test subjects."""

from __future__ import annotations

from pathlib import Path

from ecg.core.cli import run_cli, stage_parser
from ecg.core.device import resolve_device
from ecg.core.errors import ECGError
from ecg.core.storage import load_torch, write_json, write_text
from ecg.data.files import load_split
from ecg.eval.report import csv_text, per_subject, plot_files, test_report, with_energy
from ecg.eval.scoring import mean_cost, predict, scores_from_logits
from ecg.models.checkpoint import load_model
from ecg.params import load_params
from ecg.train.transfer import DATA_SUFFIX


def main(argv: list[str] | None = None) -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("--model", default="models/mitbih_transfer/stage2/best_model.pt")
    parser.add_argument("--data_dir", default="data/mitbih_processed")
    parser.add_argument("--results", default="models/mitbih_transfer/test_results.json")
    parser.add_argument("--metrics_dir", default="metrics")
    args = parser.parse_args(argv)
    params = load_params(args.params, {"device": args.device})
    checkpoint = load_torch(args.model, what="model (run the stage2 stage first)")
    if not isinstance(checkpoint, dict) or "threshold" not in checkpoint:
        raise ECGError(f"{args.model}: no decision threshold (not a transfer-stage checkpoint)")
    model = load_model(args.model)
    test = load_split(Path(args.data_dir), "test", DATA_SUFFIX[model.input_kind])
    subjects = list(test.patient_ids)
    leaked = sorted(set(checkpoint.get("train_subjects", [])) & set(subjects))
    if leaked:
        raise ECGError(
            f"{args.model}: was trained on test subjects {', '.join(leaked[:5])}; "
            "its test figures would not be honest"
        )
    device = resolve_device(params.device)
    labels = test.labels.numpy()
    scores = scores_from_logits(predict(model, test.signals, batch_size=256, device=device))
    threshold = float(checkpoint["threshold"])
    results = test_report(
        labels,
        scores,
        subjects,
        threshold,
        bootstrap=params.bootstrap,
        seed=params.seed,
        sensitivity_target=params.sensitivity_target,
        specificity_target=params.specificity_target,
    )
    results |= {
        "threshold_rule": checkpoint.get("threshold_rule", "stored"),
        "cost": with_energy(mean_cost(model, test.signals, device=device)),
        "arch": model.arch,
        "model": str(args.model),
    }
    metrics_dir = Path(args.metrics_dir)
    write_json(results, args.results)
    write_json(results, metrics_dir / "test.json")
    rows = per_subject(labels, (scores >= threshold).astype(int), subjects)
    write_text(csv_text(rows, list(rows[0])), metrics_dir / "test_per_patient.csv")
    for name, text in plot_files(labels, scores, threshold).items():
        write_text(text, metrics_dir / "plots" / name)
    ci = results["confidence_intervals"]
    print(
        f"test: sensitivity {results['sensitivity']:.3f} {ci['sensitivity']}, specificity "
        f"{results['specificity']:.3f} {ci['specificity']}, AUROC {results['auroc']:.3f} at "
        f"threshold {threshold:.4f} (targets {'met' if results['targets_met'] else 'not met'})"
    )


if __name__ == "__main__":
    run_cli(main)
