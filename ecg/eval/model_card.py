"""MODEL_CARD.md of the final model, generated from the pipeline's metrics on every run:
what the model is for and not for, what it was trained on, its cross-validated figures with
intervals, the threshold rule, where it fails, and what input it needs."""

from __future__ import annotations

from typing import Any

KINDS = {
    "beat": "BeatSNN: a spiking network, one time step per detected beat",
    "beat_ann": "BeatANN: BeatSNN's non-spiking twin",
    "deep": "DeepSNN: the design's spiking network over the 10-s window (or its beat view)",
    "logreg": "logistic regression on the window features",
}


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _ci(pair: list[float] | None, fmt: str = "{:.3f}") -> str:
    return "" if not pair else f" [{fmt.format(pair[0])}, {fmt.format(pair[1])}]"


def _figures_table(models: dict[str, Any], product: str) -> list[str]:
    lines = [
        "| model | pooled AUROC [95% CI] | sensitivity | specificity | worst fold AUROC "
        "| DS2 AUROC | DS2 sens / spec |",
        "|---|---|---|---|---|---|---|",
    ]
    nan = float("nan")
    for name, m in models.items():
        ds2 = m.get("dechazal") or {}
        mark = " (this model)" if name == product else ""
        lines.append(
            f"| {name}{mark} | {m['pooled_auroc']:.3f}{_ci(m.get('pooled_auroc_ci'))} | "
            f"{m['pooled_sensitivity']:.3f} | {m['pooled_specificity']:.3f} | "
            f"{min(m['per_fold_auroc']):.3f} | {ds2.get('auroc', nan):.3f} | "
            f"{ds2.get('sensitivity', nan):.3f} / {ds2.get('specificity', nan):.3f} |"
        )
    return lines


def _failures(subjects: list[dict[str, str]], product: str, n: int = 5) -> list[str]:
    sens, spec = f"{product}_sensitivity", f"{product}_specificity"
    missed = sorted(
        (
            r
            for r in subjects
            if r.get(sens) not in ("", None) and int(r["arrhythmia_windows"]) >= 5
        ),
        key=lambda r: float(r[sens]),
    )[:n]
    alarms = sorted(
        (r for r in subjects if r.get(spec) not in ("", None)), key=lambda r: float(r[spec])
    )[:n]
    out = ["Lowest held-out sensitivity (subjects with at least 5 arrhythmia windows):", ""]
    out += [
        f"- record {r['subject']}: sensitivity {float(r[sens]):.2f} of "
        f"{r['arrhythmia_windows']} arrhythmia windows"
        for r in missed
    ]
    out += ["", "Lowest held-out specificity (most false alarms):", ""]
    out += [
        f"- record {r['subject']}: specificity {float(r[spec]):.2f} "
        f"({int(r['windows']) - int(r['arrhythmia_windows'])} normal windows)"
        for r in alarms
    ]
    return out


def _missed_by_all(subjects: list[dict[str, str]], models: list[str]) -> str:
    """Subjects whose arrhythmia windows every model mostly misses (sensitivity < 0.5)."""
    hits = [
        r["subject"]
        for r in subjects
        if int(r["arrhythmia_windows"]) >= 5
        and all(r.get(f"{m}_sensitivity") not in ("", None) for m in models)
        and all(float(r[f"{m}_sensitivity"]) < 0.5 for m in models)
    ]
    if not hits:
        return "No subject's arrhythmia windows are missed by every model."
    return (
        f"Missed by every model (sensitivity below 0.5 for {', '.join(models)}): records "
        f"{', '.join(hits)}. Read the per-subject table before trusting a flag-free result "
        "on a similar rhythm."
    )


def _kind_figures(ec57: dict[str, Any], cv_model: dict[str, Any], product: str) -> list[str]:
    """Per-class figures: EC57 beat statistics, rhythm recall, flagged share per class."""
    lines = [
        "EC57 beat by beat (missed QRS = missed beat of its class; Q beats excluded):",
        "",
        "| split | VEB Se | VEB +P | VEB FPR | SVEB Se | SVEB +P | SVEB FPR |",
        "|---|---|---|---|---|---|---|",
    ]
    for split, label in (("cv", "cross-validated"), ("ds2", "DS1 -> DS2")):
        f = ec57.get(split, {}).get(product)
        if f:
            v, s = f["veb"], f["sveb"]
            lines.append(
                f"| {label} | {_pct(v['sensitivity'])} | {_pct(v['ppv'])} | {_pct(v['fpr'])} | "
                f"{_pct(s['sensitivity'])} | {_pct(s['ppv'])} | {_pct(s['fpr'])} |"
            )
    recall = ec57.get("cv", {}).get(product, {}).get("rhythm_recall", {})
    named = ", ".join(
        f"{name} {_pct(r['recall'])} of {r['windows']}"
        for name, r in recall.items()
        if r["windows"]
    )
    flagged = cv_model.get("per_class_sensitivity", {})
    shares = ", ".join(
        f"{name} {_pct(r['sensitivity'])} of {r['windows']}"
        for name, r in flagged.items()
        if r["windows"]
    )
    return [
        *lines,
        "",
        f"Rhythm named correctly (cross-validated windows): {named or 'n/a'}.",
        "",
        f"Windows flagged, by what they hold (cross-validated): {shares or 'n/a'}.",
    ]


def model_card(
    cv: dict[str, Any],
    checkpoint: dict[str, Any],
    subjects: list[dict[str, str]],
    ec57: dict[str, Any],
) -> str:
    """The card's Markdown from metrics/cv.json (`cv`), the final checkpoint's plain entries
    (`checkpoint`: threshold, input, training subjects), metrics/cv_per_subject.csv rows and
    metrics/ec57.json (`ec57`)."""
    product, targets = cv["product"], cv["targets"]
    m = cv["models"][product]
    spec = checkpoint["input"]
    spread = m.get("threshold_spread", {})
    ci = m.get("confidence_intervals", {})
    members = checkpoint.get("members", "?")
    records = len(checkpoint.get("train_records", [])) or "?"
    lines = [
        "# Model card: ecg-snn final model",
        "",
        "_Generated by the pipeline (`dvc repro`, stage `card`) from `metrics/cv.json`, "
        "`metrics/ec57.json`, `metrics/cv_per_subject.csv` and `models/final/model.pt`; "
        "do not edit._",
        "",
        "## Model",
        "",
        f"- Architecture: `{product}` ({KINDS.get(product, product)}), "
        f"an ensemble of {members} members whose probabilities are averaged.",
        f"- Output: per 10-s window, the probability of arrhythmia; flagged at >= "
        f"{checkpoint['threshold']:.4f}. A beat model also names each detected beat's AAMI "
        "class (N, S, V, F) and the window's rhythm (sinus, atrial fibrillation or flutter, "
        "ventricular tachycardia/flutter/fibrillation, AV block, pre-excitation, other); its "
        "flag is derived from both.",
        f"- Threshold rule: from the out-of-fold scores of the training subjects "
        f"({cv['inner_folds']} inner subject folds), sensitivity >= the target with the "
        "highest specificity.",
        "",
        "## Intended use",
        "",
        "Research on arrhythmia screening and on spiking networks: ranking and flagging 10-s "
        "single-lead ECG windows for a person to review. Benchmarking neuromorphic deployments "
        "(NIR export).",
        "",
        "## Out of scope",
        "",
        "- Diagnosis or any clinical decision without a qualified reader. It is not a medical "
        "device and has not been validated prospectively.",
        "- Paced rhythms (paced records were excluded from training), children, leads other "
        "than a limb lead like MLII without revalidation, recordings below "
        f"{2 * max(spec['bandpass_hz']):g} Hz.",
        "",
        "## Training data",
        "",
        f"- MIT-BIH Arrhythmia Database (PhysioNet mitdb 1.0.0): {cv['subjects']} subjects "
        f"({records} records), {cv['windows']} windows of 10 s, {_pct(cv['arrhythmia_share'])} "
        "arrhythmia; paced records excluded.",
        "- Labels: a window is arrhythmia if it holds any S, V or F beat (AAMI classes) or "
        "overlaps any rhythm other than normal sinus rhythm, from the reference annotations. "
        "The model itself sees only beats found by its own QRS detector.",
        f"- Training subjects of the final model: {len(checkpoint.get('train_subjects', []))} "
        "(every subject; the figures below come from models that never saw the scored subject).",
        "",
        "## Cross-validated figures",
        "",
        f"{cv['folds']}-fold subject-wise cross-validation (each subject held out once; each "
        f"fold's threshold from out-of-fold scores of its own training subjects, "
        f"{cv['inner_folds']} inner folds), pooled over held-out windows; 95% intervals by "
        "subject bootstrap. DS2: trained on de Chazal's DS1, tested on DS2.",
        "",
        *_figures_table(cv["models"], product),
        "",
        f"This model: sensitivity {m['pooled_sensitivity']:.3f}"
        f"{_ci(ci.get('sensitivity'))}, specificity {m['pooled_specificity']:.3f}"
        f"{_ci(ci.get('specificity'))}; per-fold AUROC "
        f"{', '.join(f'{a:.3f}' for a in m['per_fold_auroc'])}; fold thresholds "
        f"{spread.get('min', float('nan')):.3f} to {spread.get('max', float('nan')):.3f}. "
        f"Targets (sensitivity >= {targets['sensitivity']} with specificity >= "
        f"{targets['specificity']}) met: {m['targets_met']}.",
        "",
        "## What kind of arrhythmia",
        "",
        *_kind_figures(ec57, m, product),
    ]
    lines += [
        "",
        "## Known failure modes",
        "",
        *_failures(subjects, product),
        "",
        _missed_by_all(subjects, list(cv["models"])),
        "",
        "## Input requirements",
        "",
        f"- One ECG lead (trained on {spec['lead']}), any unit (each window is z-scored), "
        f"sampling rate above {2 * max(spec['bandpass_hz']):g} Hz; resampled to {spec['fs']} "
        f"Hz, band-passed {spec['bandpass_hz'][0]}-{spec['bandpass_hz'][1]} Hz"
        f"{', notch ' + format(spec['notch_hz'], 'g') + ' Hz' if spec['notch_hz'] else ''}.",
        f"- Windows of {spec['window'] / spec['fs']:g} s every {spec['stride'] / spec['fs']:g} s; "
        "a shorter tail is not scored. Patient context uses up to 5 minutes of the same "
        "recording before each window's end; a lone window is its own context.",
        f"- Training used windows with signal quality (SQI) >= {spec['sqi_threshold']}; "
        "scores of noisier windows are reported but were never validated.",
        "",
    ]
    return "\n".join(lines)
