"""Scoring real recordings with the final model: where the time of one 30-min record goes,
100 records in one call, and agreement when the same records come at other sampling rates.

    python -m benchmarks.bench_predict [--model PATH] [--out metrics/bench_predict.json]

Needs MITDB_DIR (the MIT-BIH mirror) and a trained final model (`dvc repro`).

- Record 100 (650,000 samples at 360 Hz), best of 5 after a warm-up, split into reading,
  conditioning (resample + filter + cut), QRS detection, features (window + patient
  context), the model, and SQI; model loading excluded. Target: < 0.5 s on 2 cores.
- `ecg-snn predict` on 100 record paths (the usable records, repeated) in one process,
  without plots.
- Every usable record scored at 360 Hz and resampled to 128, 250 and 500 Hz: AUROC of each
  against the reference labels, share of windows whose flag agrees, largest |dp|. The final
  model was trained on these subjects, so the AUROCs are in-sample: they compare the rates
  with each other, they are not a result.
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np

from benchmarks.machine import machine_info
from ecg.cli.main import main as ecg_snn
from ecg.core.cli import run_cli
from ecg.core.errors import ECGError
from ecg.core.storage import write_json
from ecg.data.labels import label_windows
from ecg.data.mitdb import MITDB
from ecg.data.record import hold_invalid
from ecg.eval.metrics import auroc
from ecg.inference import load_model, score_record
from ecg.inference.recording import read_recording
from ecg.inference.scoring import condition, mains_frequency, model_rows, probabilities
from ecg.signal.conditioning import resample
from ecg.signal.gaps import missing_mask
from ecg.signal.organisation import organised
from ecg.signal.qrs import detect_qrs
from ecg.signal.sqi import sqi

EXCLUDED = ("102", "104", "107", "217")  # paced: not scored by the pipeline either
OTHER_RATES = (128, 250, 500)  # Hz: MIT-BIH's 360 Hz records resampled to these


def phase_times(path: Path, model, repeats: int = 5) -> dict[str, float]:
    """Best-of-`repeats` seconds of each phase of scoring one record."""
    best: dict[str, float] = {}
    for round_ in range(repeats + 1):  # round 0 warms caches up and is not counted
        times = {}
        t0 = time.perf_counter()
        rec = read_recording(path, default_lead=model.input.lead)
        times["read"] = time.perf_counter() - t0
        t = time.perf_counter()
        missing_mask(rec.signal, rec.fs)
        x = hold_invalid(rec.signal, "100")
        mains = mains_frequency(x, rec.fs, model, "auto")
        times["gaps_and_mains"] = time.perf_counter() - t
        t = time.perf_counter()
        cond = condition(x, rec.fs, model, "100", notch_hz=mains or 0.0)
        times["condition"] = time.perf_counter() - t
        t = time.perf_counter()
        beats = detect_qrs(cond.raw, cond.fs)
        times["detect"] = time.perf_counter() - t
        t = time.perf_counter()
        rows = model_rows(cond, beats, model)
        times["features"] = time.perf_counter() - t
        t = time.perf_counter()
        probabilities(model, rows)
        times["model"] = time.perf_counter() - t
        t = time.perf_counter()
        sqi(cond.raw_windows, cond.fs, mains_hz=mains)
        times["sqi"] = time.perf_counter() - t
        t = time.perf_counter()
        organised(cond.raw_windows, cond.fs)
        times["organisation"] = time.perf_counter() - t
        times["total"] = time.perf_counter() - t0
        if round_ and (not best or times["total"] < best["total"]):
            best = times
    t = time.perf_counter()
    score_record(rec.signal, rec.fs, model)
    best["score_record_api"] = time.perf_counter() - t
    return {k: round(v, 4) for k, v in best.items()} | {"windows": int(len(rows))}


def batch_call(paths: list[Path], model_path: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as out:
        argv = ["predict", *map(str, paths), "--model", model_path, "--out", out, "--no-plot"]
        t0 = time.perf_counter()
        with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
            code = ecg_snn(argv)
        seconds = time.perf_counter() - t0
    return {
        "records": len(paths),
        "exit_code": code,
        "seconds": round(seconds, 2),
        "seconds_per_record": round(seconds / len(paths), 3),
    }


def rate_agreement(db: MITDB, records: list[str], model) -> dict[str, object]:
    labels, scores = [], {fs: [] for fs in (360, *OTHER_RATES)}
    for rid in records:
        rec = db.read(rid, lead=model.input.lead)
        base = score_record(rec.signal, rec.fs, model, name=rid)
        starts = np.round(base.start_s * rec.fs).astype(np.int64)
        window = int(round(model.input.window / model.input.fs * rec.fs))
        lab = label_windows(
            starts, window, rec.ann_samples, rec.ann_symbols, rec.ann_aux, len(rec.signal)
        )
        labels.append(lab.labels)
        scores[360].append(base.probability)
        for fs in OTHER_RATES:
            other = score_record(resample(rec.signal, rec.fs, fs), fs, model, name=rid)
            n = min(len(other.probability), len(base.probability))
            scores[fs].append(np.pad(other.probability[:n], (0, len(base.probability) - n)))
    y = np.concatenate(labels)
    p = {fs: np.concatenate(v) for fs, v in scores.items()}
    # Unreadable windows (missing or flat signal) have no probability: compare the others.
    readable = np.all([np.isfinite(v) for v in p.values()], axis=0)
    out: dict[str, object] = {"windows": int(len(y)), "records": len(records)}
    out |= {f"unreadable_{fs}hz": int((~np.isfinite(v)).sum()) for fs, v in p.items()}
    y, p = y[readable], {fs: v[readable] for fs, v in p.items()}
    flag = {fs: v >= model.threshold for fs, v in p.items()}
    out["windows_compared"] = int(len(y))
    for fs in (360, *OTHER_RATES):
        out[f"auroc_{fs}hz"] = round(auroc(y, p[fs]), 4)
    for fs in OTHER_RATES:
        out[f"flag_agreement_{fs}hz_vs_360hz"] = round(float((flag[fs] == flag[360]).mean()), 4)
        out[f"max_abs_probability_diff_{fs}hz"] = round(float(np.abs(p[fs] - p[360]).max()), 4)
        out[f"mean_abs_probability_diff_{fs}hz"] = round(float(np.abs(p[fs] - p[360]).mean()), 5)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="models/final/model.pt")
    parser.add_argument("--out", default="metrics/bench_predict.json")
    parser.add_argument(
        "--mitdb", default=os.environ.get("MITDB_DIR"), help="MIT-BIH mirror (default: $MITDB_DIR)"
    )
    parser.add_argument("--quick", action="store_true", help="5 records for the rate check")
    args = parser.parse_args(argv)
    if not args.mitdb:
        raise ECGError("no MIT-BIH mirror: pass --mitdb or set MITDB_DIR")
    model = load_model(args.model)
    db = MITDB(args.mitdb)
    records = [r for r in MITDB.RECORDS if r not in EXCLUDED]
    paths = [Path(args.mitdb) / r for r in records]
    result = {
        "machine": machine_info(),
        "model": args.model,
        "members": len(model.scorer.members),
        "record_100": phase_times(Path(args.mitdb) / "100", model),
        "batch": batch_call((paths * 3)[:100], args.model),
        "rates": rate_agreement(db, records[:5] if args.quick else records, model),
    }
    write_json(result, args.out)
    r = result["record_100"]
    print(f"record 100: {r['total']:.3f} s ({', '.join(f'{k} {v:.3f}' for k, v in r.items())})")
    print(f"batch: {result['batch']}")
    print(f"rates: {result['rates']}")


if __name__ == "__main__":
    run_cli(main)
