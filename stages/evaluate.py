"""DVC stage `evaluate`: the stage 2 best model on the held-out test subjects, at the
threshold chosen on validation; subject-bootstrap intervals, per-subject table, plots,
spiking statistics."""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from ecg.atomic import write_json, write_text  # noqa: E402
from ecg.beat_model import data_suffix, mean_efficiency, model_from_checkpoint  # noqa: E402
from ecg.config import load_params  # noqa: E402
from ecg.errors import ECGError, run_cli  # noqa: E402
from ecg.metrics import (  # noqa: E402
    binary_metrics,
    full_report,
    pr_curve,
    roc_curve,
    score_ties,
    subject_bootstrap,
)
from ecg.model import DeepSNN  # noqa: E402
from ecg.training import resolve_device, scores_from_logits  # noqa: E402
from stages.train import load_split  # noqa: E402

POINT_METRICS = ("accuracy", "sensitivity", "specificity", "ppv", "npv", "f1", "g_mean")
# Energy per operation, 45 nm CMOS, 32-bit float (Horowitz, ISSCC 2014): an accumulate
# (spike-driven synaptic event) costs an add, a MAC an add plus a multiply.
ENERGY_PJ = {"accumulate": 0.9, "mac": 3.7 + 0.9}


def csv_text(rows: list[dict[str, Any]], fields: list[str]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


@torch.no_grad()
def run_model(
    model: torch.nn.Module, signals: torch.Tensor, *, batch_size: int, device: torch.device
) -> tuple[np.ndarray, dict[str, Any]]:
    """Scores [N] and the run's per-window cost: spikes and synaptic operations for
    DeepSNN, the model's own `efficiency` accounting for the beat-input models."""
    model.eval().to(device)
    deep = model.config.get("arch", "deep") == "deep"
    scores, spikes, synops = [], [], []
    for i in range(0, len(signals), batch_size):
        out = model(signals[i : i + batch_size].to(device))
        scores.append(scores_from_logits(out.logits.float().cpu()))
        if deep:
            spikes.append(model.last_activity.layer_spikes.cpu().numpy())
            synops.append(model.synaptic_operations().cpu().numpy())
    if deep:
        cost = spiking_stats(model, np.concatenate(spikes), np.concatenate(synops))
    else:
        cost = {
            "note": "estimate: operation counts per window from the test run",
            **mean_efficiency(model, signals, device=device),
        }
    return np.concatenate(scores), cost


def curve_csv(x_name: str, x: np.ndarray, y_name: str, y: np.ndarray) -> str:
    rows = [
        {x_name: round(float(a), 5), y_name: round(float(b), 5)} for a, b in zip(x, y, strict=True)
    ]
    return csv_text(rows, [x_name, y_name])


def per_subject(labels, predictions, subjects) -> list[dict[str, Any]]:
    rows = []
    for s in sorted(set(subjects)):
        mask = np.array([p == s for p in subjects])
        m = binary_metrics(labels[mask], predictions[mask])
        rows.append(
            {
                "subject": s,
                "windows": int(mask.sum()),
                "arrhythmia_share": round(float(labels[mask].mean()), 4),
                "sensitivity": "" if np.isnan(m["sensitivity"]) else round(m["sensitivity"], 4),
                "specificity": "" if np.isnan(m["specificity"]) else round(m["specificity"], 4),
            }
        )
    return rows


def spiking_stats(model: DeepSNN, spikes: np.ndarray, synops: np.ndarray) -> dict[str, Any]:
    sizes = [*model.hidden, model.num_classes]
    rates = spikes.mean(0) / (np.array(sizes) * model.num_steps)
    dense_macs = model.dense_macs_per_window
    energy_nj = (synops.mean() * ENERGY_PJ["accumulate"] + dense_macs * ENERGY_PJ["mac"]) / 1e3
    return {
        "note": "estimate: operation counts from the test run; energy from per-operation "
        "figures of Horowitz (ISSCC 2014, 45 nm, fp32): accumulate 0.9 pJ, "
        "multiply-accumulate 4.6 pJ; memory access and neuron updates not counted",
        "num_steps": model.num_steps,
        "encoding": model.encoding,
        "firing_rate_per_layer": {f"lif{i + 1}": float(r) for i, r in enumerate(rates)},
        "spikes_per_window_per_layer": {
            f"lif{i + 1}": float(s) for i, s in enumerate(spikes.mean(0))
        },
        "synaptic_operations_per_window": float(synops.mean()),
        "dense_macs_per_window": int(dense_macs),
        "energy_per_window_nj_estimate": float(energy_nj),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--model", default="models/mitbih_transfer/stage2/best_model.pt")
    parser.add_argument("--data_dir", default="data/mitbih_processed")
    parser.add_argument("--results", default="models/mitbih_transfer/test_results.json")
    parser.add_argument("--metrics_dir", default="metrics")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"])
    args = parser.parse_args()
    params = load_params(args.params, {"device": args.device})
    model_path = Path(args.model)
    if not model_path.is_file():
        raise ECGError(f"{model_path}: model not found (run the stage2 stage first)")
    checkpoint = torch.load(model_path, map_location="cpu", weights_only=True)
    if "threshold" not in checkpoint:
        raise ECGError(f"{model_path}: no decision threshold (not a transfer-stage checkpoint)")
    model = model_from_checkpoint(checkpoint)
    arch = model.config.get("arch", "deep")
    test = load_split(Path(args.data_dir), "test", data_suffix(arch))
    labels = test.labels.numpy()
    subjects = list(test.patient_ids)
    scores, cost = run_model(
        model, test.signals, batch_size=256, device=resolve_device(params.device)
    )
    threshold = float(checkpoint["threshold"])
    report = full_report(labels, scores, threshold)
    predictions = (scores >= threshold).astype(np.int64)
    ev = params.evaluate
    intervals = subject_bootstrap(
        labels,
        predictions,
        subjects,
        n_boot=ev.bootstrap_samples,
        level=ev.confidence_level,
        seed=params.seed,
    )
    at_half = full_report(labels, scores, 0.5)
    subj_arr = {s for s, y in zip(subjects, labels, strict=True) if y == 1}
    subj_norm = {s for s, y in zip(subjects, labels, strict=True) if y == 0}
    results = {
        **{k: report[k] for k in (*POINT_METRICS, "auroc", "auprc", "threshold")},
        "targets_met": bool(
            report["sensitivity"] >= params.sensitivity_target
            and report["specificity"] >= params.specificity_target
        ),
        "sensitivity_target": params.sensitivity_target,
        "specificity_target": params.specificity_target,
        "threshold_rule": checkpoint.get("threshold_rule", "stored"),
        "confusion_matrix": report["confusion_matrix"],
        "confidence_intervals": {
            "level": ev.confidence_level,
            "method": f"percentile bootstrap over subjects, {ev.bootstrap_samples} resamples",
            **intervals,
        },
        "windows": {
            "total": int(len(labels)),
            "arrhythmia": int(labels.sum()),
            "normal": int((labels == 0).sum()),
        },
        "subjects": {
            "total": len(set(subjects)),
            "with_arrhythmia": len(subj_arr),
            "with_normal": len(subj_norm),
            "ids": sorted(set(subjects)),
        },
        "score_tie_share": score_ties(scores),
        "at_threshold_0_5": {k: at_half[k] for k in (*POINT_METRICS, "confusion_matrix")},
        "spiking": cost,
        "arch": arch,
        "model": str(model_path),
    }
    metrics_dir = Path(args.metrics_dir)
    write_json(results, args.results)
    write_json(results, metrics_dir / "test.json")
    rows = per_subject(labels, predictions, subjects)
    write_text(csv_text(rows, list(rows[0])), metrics_dir / "test_per_patient.csv")
    fpr, tpr, _ = roc_curve(labels, scores)
    write_text(curve_csv("fpr", fpr, "tpr", tpr), metrics_dir / "plots" / "roc.csv")
    recall, precision, _ = pr_curve(labels, scores)
    write_text(
        curve_csv("recall", recall, "precision", precision),
        metrics_dir / "plots" / "precision_recall.csv",
    )
    names = {0: "normal", 1: "arrhythmia"}
    write_text(
        csv_text(
            [
                {"actual": names[int(a)], "predicted": names[int(p)]}
                for a, p in zip(labels, predictions, strict=True)
            ],
            ["actual", "predicted"],
        ),
        metrics_dir / "plots" / "confusion.csv",
    )

    def with_ci(name: str) -> str:
        ci = intervals.get(name) or [float("nan"), float("nan")]
        return f"{name} {report[name]:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]"

    print(
        f"test: {with_ci('sensitivity')}, {with_ci('specificity')}, AUROC "
        f"{report['auroc']:.3f} at threshold {threshold:.4f} "
        f"(targets {'met' if results['targets_met'] else 'not met'})"
    )


if __name__ == "__main__":
    run_cli(main)
