"""Score `ecg.signal.qrs.detect_qrs` on the 44 non-paced MIT-BIH records (metrics/bench_qrs.json).

Each record's MLII lead is run through the detector twice: at its native 360 Hz and after
`ecg.signal.conditioning.resample` to 250 Hz (the rate the pipeline uses; detections are mapped
back to 360 Hz for scoring).  Detections are matched to the reference beat annotations with
`wfdb.processing.compare_annotations` at a 150 ms tolerance; the gross figures sum TP/FN/FP over
records.  The whole record is scored, including the ventricular flutter episodes of record 207
(between its `[` and `]` annotations), where the reference has no beats; as ANSI/AAMI EC57
excludes those episodes from QRS scoring, the gross figures are also given without them.
`--xqrs` times `wfdb.processing.xqrs_detect` on a few records beside this detector. The mirror
comes from --mitdb, else $MITDB_DIR; one of them is required.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from wfdb.processing import compare_annotations, xqrs_detect

from benchmarks.machine import machine_info
from ecg.core.cli import run_cli
from ecg.core.errors import ECGError
from ecg.core.storage import write_json
from ecg.data.labels import AAMI_CLASSES
from ecg.data.mitdb import MITDB
from ecg.signal.conditioning import resample
from ecg.signal.qrs import detect_qrs

ROOT = Path(__file__).resolve().parents[1]
EXCLUDED = {"102", "104", "107", "217"}  # paced (102, 104 also lack MLII)
EVAL_RECORDS = [r for r in MITDB.RECORDS if r not in EXCLUDED]
BEAT_SYMBOLS = frozenset().union(*AAMI_CLASSES.values())  # N L R e j A a J S V E F / f Q
TOLERANCE_S = 0.15
XQRS_RECORDS = ("100", "108", "203")
TARGET = 0.995
DETECTORS: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
    "detect_qrs": detect_qrs,
    "xqrs_detect": lambda x, fs: xqrs_detect(x, fs, verbose=False),
}


def score(ref: np.ndarray, test: np.ndarray, fs: float) -> tuple[int, int, int]:
    """(TP, FN, FP) of `test` against `ref` (sample indices at `fs`), 150 ms tolerance."""
    if ref.size == 0 or test.size == 0:  # compare_annotations divides by zero on these
        return 0, int(ref.size), int(test.size)
    cmp = compare_annotations(ref, test, int(TOLERANCE_S * fs))
    return int(cmp.tp), int(cmp.fn), int(cmp.fp)


def ratios(tp: int, fn: int, fp: int) -> dict[str, float | None]:
    return {
        "sensitivity": tp / (tp + fn) if tp + fn else None,
        "ppv": tp / (tp + fp) if tp + fp else None,
    }


def vf_mask(samples: np.ndarray, symbols: list[str], n: int) -> np.ndarray:
    """Boolean mask over the record: inside a ventricular flutter/fibrillation episode."""
    mask = np.zeros(n, dtype=bool)
    start = None
    for s, sym in zip(samples, symbols, strict=True):
        if sym == "[":
            start = int(s)
        elif sym == "]" and start is not None:
            mask[start : int(s) + 1] = True
            start = None
    if start is not None:
        mask[start:] = True
    return mask


@dataclass(frozen=True)
class Case:
    record_id: str
    signal: np.ndarray  # MLII, mV
    fs: float
    ref: np.ndarray  # reference beat samples
    vf: np.ndarray  # [n] bool: inside a VF/flutter episode


def load_case(mitdb: str | Path, record_id: str) -> Case:
    rec = MITDB(mitdb).read(record_id)  # the MLII lead, wherever it sits
    beat = np.array([s in BEAT_SYMBOLS for s in rec.ann_symbols], dtype=bool)
    vf = vf_mask(rec.ann_samples, rec.ann_symbols, rec.signal.size)
    return Case(record_id, rec.signal, rec.fs, rec.ann_samples[beat], vf)


def timed(fn: Callable[..., np.ndarray], *args: object) -> tuple[np.ndarray, float]:
    t0 = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t0


def gross(rows: list[dict], tp: str = "tp", fn: str = "fn", fp: str = "fp") -> dict:
    t = {k: int(sum(r[key] for r in rows)) for k, key in (("tp", tp), ("fn", fn), ("fp", fp))}
    return {**t, **ratios(t["tp"], t["fn"], t["fp"])}


def run_rate(records: list[Case], fs_out: float) -> dict:
    rows = []
    for rec in records:
        x = rec.signal if fs_out == rec.fs else resample(rec.signal, rec.fs, fs_out)
        det, seconds = timed(detect_qrs, x, fs_out)
        # back to the annotation rate: nearest original sample
        det = np.unique(np.clip(np.round(det * rec.fs / fs_out), 0, rec.signal.size - 1))
        det = det.astype(np.int64)
        tp, fn, fp = score(rec.ref, det, rec.fs)
        fp_vf = int(rec.vf[det].sum())
        # without the VF episodes: drop detections inside them (the reference has no beats)
        tp2, fn2, fp2 = score(rec.ref[~rec.vf[rec.ref]], det[~rec.vf[det]], rec.fs)
        rows.append(
            {
                "record": rec.record_id,
                "beats": int(rec.ref.size),
                "tp": tp,
                "fn": fn,
                "fp": fp,
                **ratios(tp, fn, fp),
                "fp_in_vf_episodes": fp_vf,
                "tp_no_vf": tp2,
                "fn_no_vf": fn2,
                "fp_no_vf": fp2,
                "seconds": round(seconds, 4),
                "record_minutes": round(x.size / fs_out / 60, 2),
            }
        )
    total = gross(rows)
    worst = sorted(rows, key=lambda r: -(r["fn"] + r["fp"]))[:8]
    secs = [r["seconds"] for r in rows]
    return {
        "fs": fs_out,
        "gross": total,
        "gross_excluding_vf_episodes": gross(rows, "tp_no_vf", "fn_no_vf", "fp_no_vf"),
        "meets_target": bool(total["sensitivity"] >= TARGET and total["ppv"] >= TARGET),
        "worst_records": [
            {k: r[k] for k in ("record", "fn", "fp", "sensitivity", "ppv")} for r in worst
        ],
        "mean_seconds_per_record": round(float(np.mean(secs)), 4),
        "max_seconds_per_record": round(float(np.max(secs)), 4),
        "records": rows,
    }


def run_xqrs(records: list[Case]) -> list[dict]:
    out = []
    for rec in records:
        if rec.record_id not in XQRS_RECORDS:
            continue
        row = {"record": rec.record_id}
        for name, fn in DETECTORS.items():
            det, seconds = timed(fn, rec.signal, rec.fs)
            tp, fn_, fp = score(rec.ref, np.asarray(det, dtype=np.int64), rec.fs)
            row[name] = {"tp": tp, "fn": fn_, "fp": fp, **ratios(tp, fn_, fp), "seconds": seconds}
        out.append(row)
    return out


def fmt(v: float | None) -> str:
    return "n/a" if v is None else f"{100 * v:.3f}%"


def summary(res: dict) -> str:
    g, v = res["gross"], res["gross_excluding_vf_episodes"]
    worst = ", ".join(f"{w['record']} ({w['fn']} FN, {w['fp']} FP)" for w in res["worst_records"])
    return (
        f"{res['fs']:g} Hz: Se {fmt(g['sensitivity'])} +P {fmt(g['ppv'])} "
        f"(TP {g['tp']} FN {g['fn']} FP {g['fp']}); without VF episodes "
        f"Se {fmt(v['sensitivity'])} +P {fmt(v['ppv'])}; "
        f"{res['mean_seconds_per_record']:.3f} s/record (max {res['max_seconds_per_record']:.3f})"
        f"\n  worst: {worst}"
    )


def detector_line(name: str, r: dict) -> str:
    return f"{name} Se {fmt(r['sensitivity'])} +P {fmt(r['ppv'])} {r['seconds']:.2f} s"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--mitdb", default=os.environ.get("MITDB_DIR"), help="MIT-BIH mirror (default: $MITDB_DIR)"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "metrics" / "bench_qrs.json")
    parser.add_argument("--records", nargs="*", default=EVAL_RECORDS, help="subset (default: 44)")
    parser.add_argument("--xqrs", action="store_true", help=f"also time xqrs on {XQRS_RECORDS}")
    args = parser.parse_args(argv)
    if not args.mitdb:
        raise ECGError("no MIT-BIH mirror: pass --mitdb or set MITDB_DIR")

    records = [load_case(args.mitdb, rid) for rid in args.records]

    result = {
        "detector": "ecg.signal.qrs.detect_qrs (defaults)",
        "records": [r.record_id for r in records],
        "tolerance_s": TOLERANCE_S,
        "target": {"sensitivity": TARGET, "ppv": TARGET},
        "machine": {
            **machine_info(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scipy": __import__("scipy").__version__,
        },
        "rates": {},
    }
    for fs in (360.0, 250.0):
        res = run_rate(records, fs)
        result["rates"][f"{fs:g}"] = res
        print(summary(res))
    if args.xqrs:
        result["xqrs_comparison"] = run_xqrs(records)
        for row in result["xqrs_comparison"]:
            print(f"  {row['record']}: " + "; ".join(detector_line(k, row[k]) for k in DETECTORS))
    write_json(result, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    run_cli(main)
