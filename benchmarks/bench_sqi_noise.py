"""Signal quality index on MIT-BIH and under NSTDB noise; write metrics/sqi_noise.json.

1. MIT-BIH: every 10 s window of the MLII lead of the 44 non-paced records, resampled
   360 -> 250 Hz and unfiltered, as the preprocess stage scores them: pass rate at the
   threshold overall and per record, mean SQI of windows with and without ectopic beats,
   by rhythm, and for windows the cardiologists marked noisy in MLII (`~` annotations,
   independent of the SQI) against the rest.
2. Noise stress: NSTDB's bw, em and ma noise (channel 0) added to each whole record at
   360 Hz with NSTDB's SNR definition (S from the record's median QRS peak-to-peak over
   annotated beats, N the noise's mean power), at 24, 18, 12, 6 and 0 dB; each record gets
   the noise circularly shifted by its own offset. Scored on the windows that are free of
   annotated noise in the clean record.

Takes the mirror from --mitdb, else $MITDB_DIR (one of them is required); NSTDB from
--nstdb, else $NSTDB_DIR, else <mitdb>/../nstdb-noise.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import wfdb

from ecg.core.cli import run_cli
from ecg.core.errors import ECGError
from ecg.core.storage import write_json
from ecg.data.nstdb import NOISE_RECORDS, load_nstdb_noise
from ecg.signal import sqi as sqi_module
from ecg.signal.conditioning import resample
from ecg.signal.noise import add_noise, qrs_peak_to_peak
from ecg.signal.sqi import sqi, sqi_components
from ecg.signal.windows import segment_windows

ROOT = Path(__file__).resolve().parents[1]

FS = 250
WINDOW = 2500  # 10 s at FS, non-overlapping
PACED = {"102", "104", "107", "217"}
SNRS_DB = (24, 18, 12, 6, 0)
BEATS = set("NLRBAaJSVrFejnE/fQ")
ECTOPIC = set("VAaJSEFje")  # premature, escape and fusion beats
NOISE_SHIFT_S = 97  # per-record circular shift of the noise (record index x this)


def load(mitdb: Path, rid: str) -> dict:
    """MLII in mV at 360 Hz, beats, and a per-sample 'MLII marked noisy' mask."""
    header = wfdb.rdheader(str(mitdb / rid))
    channel = header.sig_name.index("MLII")
    rec = wfdb.rdrecord(str(mitdb / rid), channels=[channel])
    ann = wfdb.rdann(str(mitdb / rid), "atr")
    x = np.asarray(rec.p_signal[:, 0], dtype=np.float64)
    symbols = np.asarray(ann.symbol)
    # '~' annotations: subtype bit `channel` set (or -1, unreadable) = MLII noisy from here.
    noisy = np.zeros(len(x), dtype=bool)
    state, since = False, 0
    for s, sym, sub in zip(ann.sample, symbols, ann.subtype, strict=True):
        if sym != "~":
            continue
        if state:
            noisy[since:s] = True
        state, since = bool(sub == -1 or (sub >> channel) & 1), int(s)
    if state:
        noisy[since:] = True
    rhythm = [
        (int(s), a.rstrip("\x00").strip())
        for s, a in zip(ann.sample, ann.aux_note, strict=True)
        if a and a.startswith("(")
    ]
    return {
        "x": x,
        "fs": float(rec.fs),
        "samples": np.asarray(ann.sample),
        "symbols": symbols,
        "noisy": noisy,
        "rhythm": rhythm,
    }


def windows_of(x: np.ndarray, fs_in: float) -> np.ndarray:
    """Resample the whole signal (as the pipeline does) and cut non-overlapping windows."""
    y = resample(x, fs_in, FS)
    starts = segment_windows(len(y), WINDOW, WINDOW)
    return y[starts[:, None] + np.arange(WINDOW)]


def window_info(rec: dict, n_windows: int) -> dict:
    """Per window (in 360 Hz sample ranges): ectopic beat present, noisy, rhythms."""
    scale = rec["fs"] / FS
    edges = np.round(np.arange(n_windows + 1) * WINDOW * scale).astype(np.int64)
    ect = np.zeros(n_windows, dtype=bool)
    samples, symbols = rec["samples"], rec["symbols"]
    for i in range(n_windows):
        inside = symbols[(samples >= edges[i]) & (samples < edges[i + 1])]
        ect[i] = any(s in ECTOPIC for s in inside)
    noisy = np.array([rec["noisy"][edges[i] : edges[i + 1]].any() for i in range(n_windows)])
    rhythms: list[set[str]] = []
    current = "(N"
    changes = rec["rhythm"]
    j = 0
    for i in range(n_windows):
        present = set()
        while j < len(changes) and changes[j][0] < edges[i]:
            current = changes[j][1]
            j += 1
        present.add(current)
        k = j
        while k < len(changes) and changes[k][0] < edges[i + 1]:
            present.add(changes[k][1])
            k += 1
        rhythms.append(present)
    return {"ectopic": ect, "noisy": noisy, "rhythms": rhythms}


def summary(scores: np.ndarray, threshold: float) -> dict:
    if len(scores) == 0:
        return {"windows": 0, "mean_sqi": None, "pass_rate": None}
    return {
        "windows": int(len(scores)),
        "mean_sqi": round(float(np.mean(scores)), 4),
        "pass_rate": round(float(np.mean(scores >= threshold)), 4),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--mitdb", default=os.environ.get("MITDB_DIR"), help="MIT-BIH mirror (default: $MITDB_DIR)"
    )
    parser.add_argument("--nstdb", default=os.environ.get("NSTDB_DIR"))
    parser.add_argument("--threshold", type=float, default=sqi_module.THRESHOLD)
    parser.add_argument("--out", default=str(ROOT / "metrics" / "sqi_noise.json"))
    args = parser.parse_args(argv)
    if not args.mitdb:
        raise ECGError("no MIT-BIH mirror: pass --mitdb or set MITDB_DIR")
    mitdb = Path(args.mitdb)
    nstdb = Path(args.nstdb) if args.nstdb else mitdb.parent / "nstdb-noise"
    thr = args.threshold

    rids = [r for r in (mitdb / "RECORDS").read_text().split() if r not in PACED]
    noises = {name: load_nstdb_noise(nstdb, name)[0] for name in NOISE_RECORDS}

    all_scores, per_record, info_all = [], {}, []
    comps_all = []
    stress: dict[str, list[np.ndarray]] = {"clean": []}
    stress.update({f"{n}@{s}": [] for n in NOISE_RECORDS for s in SNRS_DB})
    sqi_seconds, n_scored = 0.0, 0
    for idx, rid in enumerate(rids):
        rec = load(mitdb, rid)
        wins = windows_of(rec["x"], rec["fs"])
        t0 = time.perf_counter()
        scores = sqi(wins, FS)
        sqi_seconds += time.perf_counter() - t0
        n_scored += len(wins)
        comps_all.append(sqi_components(wins, FS))
        info = window_info(rec, len(wins))
        all_scores.append(scores)
        info_all.append(info)
        per_record[rid] = summary(scores, thr)

        # Noise stress on this record's annotation-clean windows.
        keep = ~info["noisy"]
        stress["clean"].append(scores[keep])
        beats = rec["samples"][np.isin(rec["symbols"], list(BEATS))]
        qrs_pp = qrs_peak_to_peak(rec["x"], beats, rec["fs"])
        shift = int(idx * NOISE_SHIFT_S * rec["fs"])
        for name, noise in noises.items():
            noise = np.resize(np.roll(noise, -shift), len(rec["x"]))
            for snr in SNRS_DB:
                noisy = add_noise(rec["x"], noise, snr_db=snr, qrs_pp=qrs_pp)
                stress[f"{name}@{snr}"].append(sqi(windows_of(noisy, rec["fs"]), FS)[keep])
        print(f"{rid}: {len(wins)} windows, pass {per_record[rid]['pass_rate']:.1%}", flush=True)

    scores = np.concatenate(all_scores)
    ect = np.concatenate([i["ectopic"] for i in info_all])
    noisy = np.concatenate([i["noisy"] for i in info_all])
    rhythms = [r for i in info_all for r in i["rhythms"]]
    comps = {k: np.concatenate([c[k] for c in comps_all]) for k in comps_all[0]}
    worst = min(per_record, key=lambda r: per_record[r]["pass_rate"])
    by_rhythm = {}
    for label in sorted({r for rs in rhythms for r in rs}):
        mask = np.array([label in rs for rs in rhythms])
        by_rhythm[label] = summary(scores[mask], thr)
    # Which component alone would fail a window (its SNR below SNR50 + 1.7 dB margin).
    margin = sqi_module.WIDTH_DB * np.log(thr / (1 - thr))
    alone = {
        k: round(float(np.mean(comps[k] < v + margin)), 4) for k, v in sqi_module.SNR50_DB.items()
    }
    alone["flat"] = round(float(np.mean(comps["flat"] > sqi_module.FLAT_FRACTION[0])), 4)

    def agg(key: str) -> dict:
        return summary(np.concatenate(stress[key]), thr)

    noise_table = {"clean": agg("clean")}
    monotonic = {}
    for name in NOISE_RECORDS:
        noise_table[name] = {str(s): agg(f"{name}@{s}") for s in SNRS_DB}
        means = [noise_table["clean"]["mean_sqi"]] + [
            noise_table[name][str(s)]["mean_sqi"] for s in SNRS_DB
        ]
        monotonic[name] = bool(all(a > b for a, b in zip(means, means[1:], strict=False)))

    out = {
        "threshold": thr,
        "fs": FS,
        "window_s": WINDOW / FS,
        "sqi": {
            "snr50_db": sqi_module.SNR50_DB,
            "width_db": sqi_module.WIDTH_DB,
            "flat_fraction": list(sqi_module.FLAT_FRACTION),
        },
        "mitdb": {
            "records": len(rids),
            **summary(scores, thr),
            "worst_record": {"record": worst, **per_record[worst]},
            "records_with_no_passing_window": [
                r for r, v in per_record.items() if v["pass_rate"] == 0
            ],
            "ectopic": summary(scores[ect], thr),
            "non_ectopic": summary(scores[~ect], thr),
            "annotated_noisy": summary(scores[noisy], thr),
            "annotated_clean": summary(scores[~noisy], thr),
            "fail_rate_by_component_alone": alone,
            "by_rhythm": by_rhythm,
            "per_record": per_record,
            "sqi_seconds_per_1000_windows": round(1000 * sqi_seconds / n_scored, 4),
        },
        "noise_stress": {
            "snr_db": list(SNRS_DB),
            "windows_per_condition": noise_table["clean"]["windows"],
            "method": "NSTDB SNR: S = (median QRS peak-to-peak)^2 / 8 over annotated beats, "
            "N = mean power of the mean-removed noise channel 0; whole-record gain; "
            "annotation-clean windows of the 44 non-paced records",
            "table": noise_table,
            "mean_decreases_monotonically": monotonic,
        },
    }
    write_json(out, args.out)
    m = out["mitdb"]
    print(
        f"MIT-BIH: {m['windows']} windows, pass {m['pass_rate']:.1%}, worst {worst} "
        f"{per_record[worst]['pass_rate']:.1%}; ectopic {m['ectopic']['mean_sqi']:.3f} vs "
        f"{m['non_ectopic']['mean_sqi']:.3f}"
    )
    for name in NOISE_RECORDS:
        row = " ".join(f"{s}dB:{noise_table[name][str(s)]['mean_sqi']:.3f}" for s in SNRS_DB)
        print(f"{name}: clean {noise_table['clean']['mean_sqi']:.3f} {row}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    run_cli(main)
