"""What the evaluate stage writes from the ensembles: `metrics/cv.json`, `metrics/ec57.json`
(what kind of arrhythmia, beat by beat), the held-out scores of every window, the per-subject
table, curve files for `dvc plots`, and the final model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from ecg.core.storage import load_torch
from ecg.data.files import ECGDataset
from ecg.eval.class_report import (
    beat_statistics,
    class_sensitivity,
    published_rows,
    rhythm_recall,
)
from ecg.eval.config import BootstrapConfig
from ecg.eval.cv_report import curve_files, cv_summary, subject_table
from ecg.eval.metrics import auroc, binary_metrics
from ecg.eval.report import csv_text, with_energy
from ecg.eval.scoring import mean_cost
from ecg.models.checkpoint import ensemble_payload, load_model
from ecg.train.evaluation import Ensemble, Evaluation, evaluate_members
from ecg.train.fine_tune import model_inputs, trained_kinds
from ecg.train.folds import fold_summary
from ecg.train.plan import BOOSTED, CrossvalConfig, member_jobs, outer_folds


def _cost(name: str, ensemble: Ensemble, signals: torch.Tensor) -> dict[str, float]:
    """Per-window cost of one member on held-out windows (each member costs the same)."""
    if name in BOOSTED:
        return {"note": "gradient-boosted trees: no multiply-accumulate count"}
    model = load_model(ensemble.members[0])
    per_member = mean_cost(model, signals, device=torch.device("cpu"))
    return {"members": len(ensemble.members), **with_energy(per_member)}


def dechazal_summary(ensemble: Ensemble, data: ECGDataset) -> dict[str, Any]:
    labels = data.labels.numpy()[ensemble.test_rows]
    m = binary_metrics(labels, (ensemble.test_scores >= ensemble.threshold).astype(int))
    return {
        "train": "DS1 (inner-fold ensemble, out-of-fold threshold)",
        "test": "DS2",
        "windows": int(len(labels)),
        "auroc": auroc(labels, ensemble.test_scores),
        "sensitivity": m["sensitivity"],
        "specificity": m["specificity"],
        "threshold": ensemble.threshold,
    }


def cv_outputs(
    evaluations: dict[str, Evaluation],
    data: ECGDataset,
    *,
    inputs: dict[str, ECGDataset],
    bootstrap: BootstrapConfig,
    seed: int,
    sensitivity_target: float,
    specificity_target: float,
) -> tuple[dict[str, Any], dict[str, str]]:
    """(per-model figures for cv.json, {file name: CSV text} for the tables and curves);
    `inputs`: each model's windows (what its cost is measured on)."""
    labels, n = data.labels.numpy(), len(data)
    subjects = list(data.patient_ids)
    figures: dict[str, Any] = {}
    files: dict[str, str] = {}
    columns: dict[str, Any] = {
        "subject": subjects,
        "record": data.record_ids,
        "start_sample": data.start_samples.tolist(),
        "label": labels.tolist(),
    }
    flags = {}
    for name, ev in evaluations.items():
        scores, fold_of, thresholds = ev.held_out(n)
        summary = cv_summary(
            labels,
            scores,
            fold_of,
            thresholds,
            subjects,
            bootstrap=bootstrap,
            seed=seed,
            sensitivity_target=sensitivity_target,
            specificity_target=specificity_target,
        )
        held = inputs[name].inputs[torch.as_tensor(ev.folds[0].test_rows)]
        summary["cost_per_window"] = _cost(name, ev.folds[0], held)
        if ev.dechazal is not None:
            summary["dechazal"] = dechazal_summary(ev.dechazal, data)
        figures[name] = summary
        flags[name] = (scores >= np.asarray(thresholds)[fold_of]).astype(np.int64)
        if data.beat_classes is not None:  # written by preprocess; absent in some tests
            summary["per_class_sensitivity"] = class_sensitivity(
                flags[name], *_class_arrays(data)[:2], data.rhythm_classes.numpy()
            )
        columns["fold"] = (fold_of + 1).tolist()
        columns[f"{name}_score"] = np.round(scores, 6).tolist()
        columns[f"{name}_flag"] = flags[name].tolist()
        files |= {f"plots/cv/{k}": v for k, v in curve_files(labels, scores, name).items()}
    rows = [
        dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)
    ]
    files["cv_scores.csv"] = csv_text(rows, list(columns))
    table = subject_table(labels, flags, subjects)
    files["cv_per_subject.csv"] = csv_text(table, list(table[0]))
    return figures, files


def _class_arrays(data: ECGDataset) -> tuple[np.ndarray, np.ndarray, list[str]]:
    return data.beat_classes.numpy(), data.missed_beats.numpy(), list(data.record_ids)


def _class_figures(ensembles: list[Ensemble], data: ECGDataset) -> dict[str, Any]:
    """EC57 figures and rhythm recall of a beat model's ensembles on their test rows."""
    rows = np.concatenate([e.test_rows for e in ensembles])
    codes, missed, records = _class_arrays(data)
    beats = np.concatenate([e.test_beats for e in ensembles])
    rhythms = np.concatenate([e.test_rhythms for e in ensembles])
    figures = beat_statistics(beats, codes[rows], missed[rows], [records[i] for i in rows])
    figures["rhythm_recall"] = rhythm_recall(rhythms, data.rhythm_classes.numpy()[rows])
    return figures


def ec57_document(evaluations: dict[str, Evaluation], data: ECGDataset) -> dict[str, Any]:
    """metrics/ec57.json: every model with per-beat classes, cross-validated (held-out folds)
    and DS1 -> DS2, beside the published inter-patient rows."""
    document: dict[str, Any] = {
        "protocol": "EC57 beat by beat against the reference beats within 150 ms of a "
        "detected QRS; missed reference beats count as missed beats of their class; Q beats "
        "excluded; only windows that pass the quality gate are scored",
        "published_ds2": published_rows(),
        "cv": {},
        "ds2": {},
    }
    if data.beat_classes is None:
        return document
    for name, ev in evaluations.items():
        if ev.folds and ev.folds[0].test_beats is not None:
            document["cv"][name] = _class_figures(ev.folds, data)
        if ev.dechazal is not None and ev.dechazal.test_beats is not None:
            document["ds2"][name] = _class_figures([ev.dechazal], data)
    return document


def final_checkpoint(ensemble: Ensemble, data: ECGDataset, **meta: Any) -> dict[str, Any]:
    """The final model: every member, the out-of-fold threshold and what it was trained on."""
    members = [load_torch(path, what="member checkpoint") for path in ensemble.members]
    return ensemble_payload(
        [{k: m[k] for k in ("config", "model_state_dict")} for m in members],
        threshold=ensemble.threshold,
        threshold_rule=ensemble.threshold_rule,
        train_subjects=sorted(set(data.patient_ids)),
        train_records=sorted(set(data.record_ids)),
        **meta,
    )


def cv_document(
    figures: dict[str, Any],
    data: ECGDataset,
    folds: list[list[str]],
    cv: CrossvalConfig,
    *,
    final_threshold: float,
    sensitivity_target: float,
    specificity_target: float,
) -> dict[str, Any]:
    """metrics/cv.json."""
    labels = data.labels.numpy()
    return {
        "folds": cv.folds,
        "inner_folds": cv.inner_folds,
        "windows": int(len(labels)),
        "subjects": len(set(data.patient_ids)),
        "arrhythmia_share": round(float(labels.mean()), 4),
        "threshold_rule": "per fold, from the out-of-fold scores of its training subjects "
        f"({cv.inner_folds} inner subject folds): sensitivity >= {sensitivity_target} with "
        "the highest specificity",
        "targets": {"sensitivity": sensitivity_target, "specificity": specificity_target},
        "fold_subjects": fold_summary(folds, data.patient_ids, labels),
        "product": cv.product,
        "final_threshold": final_threshold,
        "energy": energy_table(figures),
        "models": figures,
    }


def energy_table(figures: dict[str, Any], twin: str = "beat_ann") -> dict[str, Any]:
    """Estimated energy per window and member of every model, and how many times less than
    the ANN twin (BeatSNN's layers with ReLU) each one needs; beside each, its pooled AUROC."""
    table: dict[str, Any] = {}
    reference = figures.get(twin, {}).get("cost_per_window", {})
    for name, summary in figures.items():
        cost = summary["cost_per_window"]
        if "energy_per_window_nj_estimate" not in cost:
            continue  # gradient-boosted trees: no operation count
        row = {
            "energy_nj": cost["energy_per_window_nj_estimate"],
            "synops": cost["synops_per_window"],
            "macs": cost["macs_per_window"],
            "pooled_auroc": summary["pooled_auroc"],
        }
        if reference and row["energy_nj"] > 0:
            row[f"times_less_than_{twin}"] = (
                reference["energy_per_window_nj_estimate"] / row["energy_nj"]
            )
        table[name] = row
    return table


def evaluate_models(
    cv: CrossvalConfig,
    *,
    seed: int,
    sensitivity_target: float,
    specificity_target: float,
    bootstrap: BootstrapConfig,
    input_spec: dict[str, Any],
    data_dir: Path,
    members_dir: Path,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, str], dict[str, Any]]:
    """(metrics/cv.json, metrics/ec57.json, {file name: CSV text}, the final model's
    checkpoint) from the stage-2 members of every model."""
    inputs = model_inputs(data_dir, trained_kinds(members_dir, cv.models))
    data = inputs[cv.product]
    jobs = member_jobs(data, cv, seed=seed)
    evaluations = evaluate_members(jobs, inputs, members_dir, sensitivity_target=sensitivity_target)
    figures, files = cv_outputs(
        evaluations, data, inputs=inputs, bootstrap=bootstrap, seed=seed,
        sensitivity_target=sensitivity_target, specificity_target=specificity_target,
    )  # fmt: skip
    final = evaluations[cv.product].final
    checkpoint = final_checkpoint(final, data, input=input_spec, crossval=figures[cv.product])
    document = cv_document(
        figures, data, outer_folds(data, cv, seed=seed), cv, final_threshold=final.threshold,
        sensitivity_target=sensitivity_target, specificity_target=specificity_target,
    )  # fmt: skip
    return document, ec57_document(evaluations, data), files, checkpoint
