"""`ecg-snn predict RECORD...`: score recordings, write per-record outputs, print summaries."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from ecg.core.errors import ECGError
from ecg.core.progress import log, progress
from ecg.inference.deployed import DEFAULT_MODEL, load_model
from ecg.inference.outputs import write_outputs
from ecg.inference.recording import read_recording
from ecg.inference.scoring import score_record


def add_parser(commands: Any) -> None:
    p = commands.add_parser(
        "predict",
        help="score recordings (WFDB, EDF, CSV, NumPy) per 10-s window",
        description="Score each RECORD per window and write <name>_windows.csv, <name>.snn "
        "(WFDB annotations) and <name>.png into --out.",
    )
    p.add_argument(
        "records",
        nargs="+",
        metavar="RECORD",
        help="WFDB record path without extension (as wfdb.rdrecord takes it), or a .edf, "
        ".csv or .npy file",
    )
    p.add_argument("--model", default=str(DEFAULT_MODEL), help=f"model file ({DEFAULT_MODEL})")
    p.add_argument(
        "--lead",
        help="channel name or index (a CSV: its column header); default: the model's lead, "
        "or the only channel",
    )
    p.add_argument("--fs", type=float, help="sampling rate in Hz (required for CSV and NumPy)")
    p.add_argument("--out", default="predictions", help="output folder (predictions)")
    p.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    p.add_argument("--no-plot", action="store_true", help="skip the PNG plots (faster)")
    p.set_defaults(run=run)


def summary_line(name: str, summary: dict[str, Any], paths: dict[str, Path]) -> str:
    return (
        f"{name}: {summary['windows']} windows ({summary['duration_s'] / 60:.1f} min), "
        f"{summary['flagged']} flagged ({100 * summary['flagged_share']:.1f}%), "
        f"{summary['low_quality_windows']} of low signal quality, {summary['beats']} beats "
        f"-> {', '.join(str(p) for p in paths.values())}"
    )


def run(args: argparse.Namespace) -> int:
    if args.fs is not None and not args.fs > 0:
        raise ECGError(f"--fs: must be a positive rate in Hz, got {args.fs:g}")
    model = load_model(args.model)
    out_dir = Path(args.out)
    results, failures = [], 0
    with progress(args.records, desc="predict", unit="record") as records:
        for record in records:
            t0 = time.perf_counter()
            try:
                recording = read_recording(
                    record, lead=args.lead, fs=args.fs, default_lead=model.input.lead
                )
                scores = score_record(recording.signal, recording.fs, model, name=record)
                paths = write_outputs(scores, recording, out_dir, plot=not args.no_plot)
            except ECGError as err:
                failures += 1
                if not args.json:
                    log(f"error: {err}", error=True)
                results.append({"record": record, "error": str(err)})
                continue
            summary = scores.summary()
            results.append(
                {
                    "record": record,
                    "name": recording.name,
                    "lead": recording.lead,
                    "fs": recording.fs,
                    **summary,
                    "seconds": round(time.perf_counter() - t0, 3),
                    "outputs": {k: str(v) for k, v in paths.items()},
                }
            )
            if not args.json:
                log(summary_line(recording.name, summary, paths))
    if args.json:
        doc = {"model": model.path, "threshold": model.threshold, "records": results}
        json.dump(doc, sys.stdout, indent=2)
        sys.stdout.write("\n")
    if failures and len(args.records) > 1 and not args.json:
        log(f"error: {failures} of {len(args.records)} records failed", error=True)
    return 2 if failures else 0
