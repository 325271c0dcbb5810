"""`ecg-snn predict RECORD...`: score recordings, write each one's outputs all or nothing,
print one line per record (or one JSON document); a record that fails is one `error:` line
and the batch goes on."""

from __future__ import annotations

import argparse
import json
import math
import sys
import traceback
from pathlib import Path
from typing import Any

from ecg.core.errors import ECGError
from ecg.core.progress import log, progress
from ecg.core.storage import file_sha256
from ecg.inference.deployed import DeployedModel, load_model
from ecg.inference.model_lookup import find_model
from ecg.inference.naming import record_stems, with_lead
from ecg.inference.outputs import remove_outputs, write_outputs
from ecg.inference.recording import read_recording
from ecg.inference.scoring import score_record

MAINS = ("auto", "50", "60", "off")


def add_parser(commands: Any) -> None:
    p = commands.add_parser(
        "predict",
        help="score recordings (WFDB, EDF, CSV, NumPy) per 10-s window",
        description="Score each RECORD per window and write <name>_windows.csv, <name>.snn "
        "(WFDB rhythm and, for beat models, N/S/V/F beat annotations) and <name>.png into --out.",
    )
    what = "WFDB record path without extension, or a .edf, .csv or .npy file"
    p.add_argument("records", nargs="+", metavar="RECORD", help=what)
    p.add_argument("--model", help="model file (default: see `ecg-snn --version`)")
    p.add_argument("--lead", help="lead name, any case or alias (II, MLII, 'ECG II'); default: "
                   "the model's lead, or the only channel")  # fmt: skip
    p.add_argument("--lead-index", type=int, help="channel by position (0 = first) instead")
    p.add_argument("--fs", type=float, help="rate in Hz of CSV/NumPy files that state none")
    p.add_argument("--mains", choices=MAINS, default="auto",
                   help="mains frequency to notch: auto (measured), 50, 60 or off")  # fmt: skip
    p.add_argument("--out", default="predictions", help="output folder (predictions)")
    p.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    p.add_argument("--no-plot", action="store_true", help="skip the PNG plots (faster)")
    p.add_argument("--zoom", type=int, default=3, help="zoomed strips of the first N flagged "
                   "episodes in the PNG (3)")  # fmt: skip
    p.add_argument("--debug", action="store_true", help="tracebacks of unexpected errors")
    p.set_defaults(run=run)


def summary_line(name: str, summary: dict[str, Any], lead: str, paths: dict[str, Path]) -> str:
    return (
        f"{name} (lead {lead}): {summary['windows']} windows ({summary['duration_s'] / 60:.1f} "
        f"min), {summary['flagged']} flagged ({100 * summary['flagged_share']:.1f}%), "
        f"{summary['unreadable_windows']} unreadable, {summary['low_quality_windows']} of low "
        f"signal quality, {summary['beats']} beats{ectopic_text(summary)}; "
        f"{verdict_text(summary['verdicts'])} -> "
        f"{', '.join(str(p) for p in paths.values())}"
    )


def ectopic_text(summary: dict[str, Any]) -> str:
    """A beat model's ectopic beats, " (S 1, V 3, F 0)"; "" for a model without readouts."""
    if summary["classified_beats"] is None:
        return ""
    return f" (S {summary['s_beats']}, V {summary['v_beats']}, F {summary['f_beats']})"


def verdict_text(counts: dict[str, int]) -> str:
    """The window verdicts of one record, VT/VF first: it is the alarm that matters most."""
    return (f"verdicts: {counts['vt_vf']} VT/VF, {counts['arrhythmia']} arrhythmia, "
            f"{counts['normal']} normal, {counts['unreadable']} unreadable")  # fmt: skip


def score_one(record: str, base: str, stems: list[str], model: DeployedModel,
              args: argparse.Namespace, header: dict[str, str]) -> dict[str, Any]:  # fmt: skip
    """Score `record` into the outputs of `base` named by its lead, appending that stem to
    `stems` once the lead is known (so that a failure can remove what an earlier run left)."""
    recording = read_recording(record, lead=args.lead, lead_index=args.lead_index, fs=args.fs,
                               default_lead=model.input.lead)  # fmt: skip
    stem = with_lead(base, lead=recording.lead, model_lead=model.input.lead)
    stems.append(stem)
    scores = score_record(recording.signal, recording.fs, model, name=record, mains=args.mains)
    mains = f"{scores.mains_hz:g} Hz" if scores.mains_hz else "none"
    header = header | {"record": f"{record}, lead {recording.lead}, {recording.fs:g} Hz "
                       f"({recording.fs_source}), mains notch {mains}"}  # fmt: skip
    paths = write_outputs(scores, recording, Path(args.out), stem, header=header,
                          plot=not args.no_plot, zoom=args.zoom)  # fmt: skip
    return {"record": record, "name": stem, "lead": recording.lead, "fs": recording.fs,
            "summary": scores.summary(), "gaps": scores.gaps, "windows": scores.rows(),
            "outputs": {k: str(v) for k, v in paths.items()}}  # fmt: skip


def run(args: argparse.Namespace) -> int:
    if args.fs is not None and not (math.isfinite(args.fs) and args.fs > 0):
        raise ECGError(f"--fs: must be a positive rate in Hz, got {args.fs:g}")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ECGError(f"--out {out}: exists and is not a folder")
    if args.zoom < 0:
        raise ECGError(f"--zoom: must be 0 or more, got {args.zoom}")
    path = find_model(args.model)
    model = load_model(path)
    header = {"model": f"{path} (sha256 {file_sha256(path)[:12]}), threshold {model.threshold:.4f}"}
    results, failures = [], 0
    records = list(dict.fromkeys(args.records))  # a record given twice is scored once
    pairs = list(zip(records, record_stems(records), strict=True))
    with progress(pairs, desc="predict", unit="record") as items:
        for record, stem in items:
            # Outputs an earlier run of this record and lead left: the lead asked for names
            # them even if the record cannot be read now; a channel asked for by position is
            # known only once read.
            stems = []
            if args.lead_index is None:
                lead = args.lead or ("0" if record.lower().endswith(".npy") else model.input.lead)
                stems.append(with_lead(stem, lead=lead, model_lead=model.input.lead))
            try:
                result = score_one(record, stem, stems, model, args, header)
            except (Exception, KeyboardInterrupt) as err:
                for name in set(stems):  # an earlier run's outputs are stale now
                    remove_outputs(out, name)
                if isinstance(err, KeyboardInterrupt):
                    raise
                failures += 1
                message = str(err) if isinstance(err, ECGError) else (
                    f"{record}: unexpected {type(err).__name__}: {err}"
                    + ("" if args.debug else " (--debug shows the traceback)"))  # fmt: skip
                if args.debug and not isinstance(err, ECGError):
                    traceback.print_exc()
                if not args.json:
                    log(f"error: {message}", error=True)
                results.append({"record": record, "error": message})
                continue
            results.append(result)
            if not args.json:
                log(summary_line(result["name"], result["summary"], result["lead"],
                                 result["outputs"]))  # fmt: skip
    if args.json:
        doc = {"model": str(path), "threshold": model.threshold, "records": results}
        json.dump(doc, sys.stdout, indent=2)
        sys.stdout.write("\n")
    if failures and len(records) > 1 and not args.json:
        log(f"error: {failures} of {len(records)} records failed", error=True)
    return 2 if failures else 0
