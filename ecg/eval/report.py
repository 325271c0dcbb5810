"""Pieces of every evaluation report: CSV text, curve files for `dvc plots`, the per-subject
table, and the per-window cost with an energy estimate."""

from __future__ import annotations

import csv
import io
from typing import Any

import numpy as np

from ecg.eval.metrics import binary_metrics

# Energy per operation, 45 nm CMOS, 32-bit float (Horowitz, ISSCC 2014): an accumulate
# (spike-driven synaptic event) costs an add, a MAC an add plus a multiply.
ENERGY_PJ = {"accumulate": 0.9, "mac": 3.7 + 0.9}


def csv_text(rows: list[dict[str, Any]], fields: list[str]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def curve_csv(x_name: str, x: np.ndarray, y_name: str, y: np.ndarray) -> str:
    rows = [
        {x_name: round(float(a), 5), y_name: round(float(b), 5)} for a, b in zip(x, y, strict=True)
    ]
    return csv_text(rows, [x_name, y_name])


def with_energy(cost: dict[str, float]) -> dict[str, Any]:
    """`cost` (means per window) plus an energy estimate from its SynOps and MACs."""
    energy_nj = (
        cost["synops_per_window"] * ENERGY_PJ["accumulate"]
        + cost["macs_per_window"] * ENERGY_PJ["mac"]
    ) / 1e3
    return {
        "note": "estimate: operation counts per held-out window; energy from "
        "per-operation figures of Horowitz (ISSCC 2014, 45 nm, fp32): accumulate 0.9 pJ, "
        "multiply-accumulate 4.6 pJ; memory access and neuron updates not counted",
        **cost,
        "energy_per_window_nj_estimate": float(energy_nj),
    }


def per_subject(labels: np.ndarray, predictions: np.ndarray, subjects: list[str]) -> list[dict]:
    """One row per subject: windows, arrhythmia share, sensitivity and specificity."""
    subjects_arr = np.asarray(subjects)
    rows = []
    for s in sorted(set(subjects)):
        mask = subjects_arr == s
        m = binary_metrics(labels[mask], predictions[mask])
        rows.append(
            {
                "subject": s,
                "windows": int(mask.sum()),
                "arrhythmia_windows": int(labels[mask].sum()),
                "arrhythmia_share": round(float(labels[mask].mean()), 4),
                "sensitivity": "" if np.isnan(m["sensitivity"]) else round(m["sensitivity"], 4),
                "specificity": "" if np.isnan(m["specificity"]) else round(m["specificity"], 4),
            }
        )
    return rows
