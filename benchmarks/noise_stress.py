"""The product's window verdicts under NSTDB noise, and on VT/VF, per cross-validation fold;
writes metrics/noise_stress.json, metrics/noise_stress.png and metrics/ventricular.json.

    python -m benchmarks.noise_stress [--mitdb DIR] [--nstdb DIR] [--models DIR]
                                      [--cv metrics/cv.json] [--out-dir metrics] [--quick]

Each fold's held-out records (MLII, 360 Hz; the fold's subjects from the cv report) are
scored by that fold's stage-2 ensemble (`<models>/stage2/<product>/fold<k>/member*.pt`, the
fold's threshold from the cv report, the input description of `<models>/final/model.pt`)
through `ecg.inference.score_record`, exactly as `ecg-snn predict` scores a recording, so
every window gets its verdict (normal, arrhythmia, vt_vf, unreadable).

1. Noise stress (NSTDB protocol as `benchmarks/bench_sqi_noise.py` applies it): channel 0 of
   NSTDB's bw, em and ma noise added to each whole record at 24, 18, 12, 6, 0 and -6 dB,
   S = (median QRS peak-to-peak over annotated beats)^2 / 8, N = the noise's mean power,
   each record with the noise circularly shifted by its own offset. Only the SECOND half of
   each noise record is used (`ecg.data.nstdb.BENCHMARK_HALF`, repeated to the record's
   length): the training augmentation (`ecg.data.augment`) adds the first half only. Per
   level, pooled over the folds: unreadable share, and among readable windows sensitivity
   (an alarm: verdict arrhythmia or vt_vf), specificity and AUROC (score: 1 for vt_vf,
   else the ensemble's probability); the clean records are the reference. Target (issue):
   em at 12 dB, sensitivity >= 0.95, specificity >= 0.85 among readable windows, <= 20% unreadable.
2. VT/VF (metrics/ventricular.json): clean windows of the held-out records that overlap a
   `(VT` or `(VFL` rhythm episode, and synthetic VF and sustained VT (60 s recordings at
   250 Hz, `ecg.data.synthetic_waveforms`, scored by each fold's ensemble in turn): share
   flagged (an alarm), share called vt_vf, share unreadable. Target: >= 99% flagged and
   <= 5% unreadable.

Takes MIT-BIH from --mitdb, else $MITDB_DIR; NSTDB from --nstdb, else $NSTDB_DIR, else
<mitdb>/../nstdb-noise. --models defaults to ./models and --cv to ./metrics/cv.json (what
`dvc repro` writes); --quick scores one record per fold at 12 dB only (a smoke test).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from ecg.core.cli import run_cli
from ecg.core.errors import ECGError
from ecg.core.storage import atomic_path, load_torch, write_json
from ecg.data.labels import NORMAL_RHYTHM, aami_class, label_windows, rhythm_episodes
from ecg.data.mitdb import MITDB
from ecg.data.nstdb import BENCHMARK_HALF, NOISE_RECORDS, load_nstdb_noise, noise_half
from ecg.data.synthetic_waveforms import ventricular_fibrillation, ventricular_tachycardia
from ecg.eval.metrics import auroc
from ecg.inference import load_model, score_record
from ecg.inference.deployed import DeployedModel
from ecg.inference.verdicts import ALARMS
from ecg.models.checkpoint import load_model as load_member
from ecg.models.ensemble import MeanEnsemble
from ecg.signal.noise import add_noise, qrs_peak_to_peak

ROOT = Path(__file__).resolve().parents[1]
SNRS_DB = (24, 18, 12, 6, 0, -6)
NOISE_SHIFT_S = 97  # per-record circular shift of the noise (record index x this)
VENTRICULAR = ("(VT", "(VFL")
SYNTHETIC = {"vf": ventricular_fibrillation, "vt": ventricular_tachycardia}
SYNTHETIC_RECORDINGS, SYNTHETIC_S, SYNTHETIC_FS = 20, 60.0, 250.0  # per fold and kind
TARGET = {"noise": "em", "snr_db": 12, "sensitivity": 0.95, "specificity": 0.85,
          "unreadable": 0.20, "vt_vf_flagged": 0.99, "vt_vf_unreadable": 0.05}  # fmt: skip


def fold_models(models: Path, cv: dict) -> list[tuple[list[str], DeployedModel]]:
    """(held-out subjects, ensemble) of every outer fold of the product."""
    product = cv["product"]
    final = load_model(models / "final" / "model.pt")
    out = []
    for entry, result in zip(cv["fold_subjects"], cv["models"][product]["folds"], strict=True):
        folder = models / "stage2" / product / f"fold{entry['fold']}"
        paths = sorted(folder.glob("member*.pt"))
        if not paths:
            raise ECGError(f"{folder}: no member checkpoints (run dvc repro)")
        members, subjects = [], set(entry["subjects"])
        for path in paths:
            ckpt = load_torch(path, what="member checkpoint")
            if set(ckpt.get("test_subjects", subjects)) != subjects:
                raise ECGError(f"{path}: held out other subjects than {cv['path']} says")
            members.append(load_member(ckpt, name=str(path)))
        model = DeployedModel(MeanEnsemble(members).eval(), float(result["threshold"]),
                              final.input, str(folder))  # fmt: skip
        out.append((sorted(subjects), model))
    return out


def window_truth(rec, starts_s: np.ndarray, window_s: float) -> tuple[np.ndarray, np.ndarray]:
    """(label, overlaps a VT/VFL episode) per scored window, in the record's sample frame."""
    starts = np.round(starts_s * rec.fs).astype(np.int64)
    length = int(round(window_s * rec.fs))
    n = len(rec.signal)
    lab = label_windows(starts, length, rec.ann_samples, rec.ann_symbols, rec.ann_aux, n)
    ventricular = np.zeros(len(starts), dtype=bool)
    for a, b, rhythm in rhythm_episodes(rec.ann_samples, rec.ann_symbols, rec.ann_aux, n):
        if rhythm in VENTRICULAR:
            ventricular |= (starts < b) & (starts + length > a)
    return lab.labels, ventricular


def summarise(y: np.ndarray, verdict: np.ndarray, prob: np.ndarray) -> dict:
    readable = verdict != "unreadable"
    alarm = np.isin(verdict, ALARMS)
    score = np.where(verdict == "vt_vf", 1.0, np.nan_to_num(prob, nan=0.0))
    pos, neg = readable & (y == 1), readable & (y == 0)

    def share(mask: np.ndarray, of: np.ndarray) -> float | None:
        return round(float(mask[of].mean()), 4) if of.any() else None

    both = pos.any() and neg.any()
    return {
        "windows": int(len(y)),
        "unreadable_share": round(float((~readable).mean()), 4),
        "sensitivity": share(alarm, pos),
        "specificity": share(~alarm, neg),
        "auroc": round(auroc(y[readable], score[readable]), 4) if both else None,
        "vt_vf_share_of_normal": share(verdict == "vt_vf", neg),
    }


def vt_vf_summary(verdict: np.ndarray) -> dict:
    n = len(verdict)
    return {
        "windows": int(n),
        "flagged_share": round(float(np.isin(verdict, ALARMS).mean()), 4) if n else None,
        "vt_vf_share": round(float((verdict == "vt_vf").mean()), 4) if n else None,
        "unreadable_share": round(float((verdict == "unreadable").mean()), 4) if n else None,
    }


def plot(table: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = ("sensitivity", "specificity", "unreadable_share", "auroc")
    titles = ("sensitivity (readable)", "specificity (readable)", "unreadable share", "AUROC")
    targets = (TARGET["sensitivity"], TARGET["specificity"], TARGET["unreadable"], None)
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.8))
    for ax, key, title, target in zip(axes, keys, titles, targets, strict=True):
        for name in NOISE_RECORDS:
            levels = [int(s) for s in table[name]]
            ax.plot(levels, [table[name][str(s)][key] for s in levels], "o-", label=name)
        ax.axhline(table["clean"][key], color="k", ls="--", lw=0.8, label="clean")
        if target is not None:
            ax.axhline(target, color="tab:red", ls=":", lw=0.8, label="target (em 12 dB)")
        ax.set_title(title)
        ax.set_xlabel("SNR (dB)")
        ax.invert_xaxis()
    axes[0].legend(fontsize=8)
    fig.suptitle("Held-out folds under NSTDB noise: each window scored by its fold's ensemble")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mitdb", default=os.environ.get("MITDB_DIR"))
    parser.add_argument("--nstdb", default=os.environ.get("NSTDB_DIR"))
    parser.add_argument("--models", default=str(ROOT / "models"))
    parser.add_argument("--cv", default=str(ROOT / "metrics" / "cv.json"))
    parser.add_argument("--out-dir", default=str(ROOT / "metrics"))
    parser.add_argument("--quick", action="store_true", help="one record per fold, 12 dB")
    args = parser.parse_args(argv)
    if not args.mitdb:
        raise ECGError("no MIT-BIH mirror: pass --mitdb or set MITDB_DIR")
    mitdb = MITDB(args.mitdb)
    nstdb = Path(args.nstdb) if args.nstdb else Path(args.mitdb).parent / "nstdb-noise"
    cv = json.loads(Path(args.cv).read_text()) | {"path": args.cv}
    folds = fold_models(Path(args.models), cv)
    snrs = (12,) if args.quick else SNRS_DB
    # the half training never sees (both NSTDB and MIT-BIH are 360 Hz)
    noises = {
        name: noise_half(load_nstdb_noise(nstdb, name)[0], BENCHMARK_HALF) for name in NOISE_RECORDS
    }
    usable = [r for r in mitdb.RECORDS if r not in mitdb.PACED]
    conditions = ["clean"] + [f"{n}@{s}" for n in NOISE_RECORDS for s in snrs]
    pooled: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {c: [] for c in conditions}
    ventricular: list[np.ndarray] = []
    synthetic: dict[str, list[np.ndarray]] = {k: [] for k in SYNTHETIC}
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    for k, (subjects, model) in enumerate(folds, start=1):
        records = [r for r in usable if mitdb.subject(r) in subjects][: 1 if args.quick else None]
        window_s = model.input.window / model.input.fs
        for rid in records:
            rec = mitdb.read(rid)
            beats = rec.ann_samples[[aami_class(s) is not None for s in rec.ann_symbols]]
            qrs_pp = qrs_peak_to_peak(rec.signal, beats, rec.fs)
            shift = int(usable.index(rid) * NOISE_SHIFT_S * rec.fs)
            for cond in conditions:
                x = rec.signal
                if cond != "clean":
                    name, snr = cond.split("@")
                    noise = np.resize(np.roll(noises[name], -shift), len(x))
                    x = add_noise(x, noise, snr_db=float(snr), qrs_pp=qrs_pp)
                s = score_record(x, rec.fs, model, name=rid)
                y, vent = window_truth(rec, s.start_s, window_s)
                pooled[cond].append((y, s.verdict, s.probability))
                if cond == "clean":
                    ventricular.append(s.verdict[vent])
            print(f"fold {k} record {rid}: {time.perf_counter() - t0:.0f} s", flush=True)
        for kind, make in SYNTHETIC.items():
            x = make(SYNTHETIC_RECORDINGS, rng, SYNTHETIC_FS, SYNTHETIC_S)
            for row in x:
                synthetic[kind].append(score_record(row, SYNTHETIC_FS, model).verdict)

    def cat(cond: str, i: int) -> np.ndarray:
        return np.concatenate([p[i] for p in pooled[cond]])

    table: dict = {"clean": summarise(cat("clean", 0), cat("clean", 1), cat("clean", 2))}
    for name in NOISE_RECORDS:
        table[name] = {str(s): summarise(cat(f"{name}@{s}", 0), cat(f"{name}@{s}", 1),
                                         cat(f"{name}@{s}", 2)) for s in snrs}  # fmt: skip
    at = table[TARGET["noise"]].get(str(TARGET["snr_db"]))
    targets = {
        "em_12db_sensitivity": at["sensitivity"] >= TARGET["sensitivity"],
        "em_12db_specificity": at["specificity"] >= TARGET["specificity"],
        "em_12db_unreadable": at["unreadable_share"] <= TARGET["unreadable"],
    }
    out_dir = Path(args.out_dir)
    write_json({
        "method": "NSTDB noise (channel 0, second half of each noise record) added to each "
        "whole held-out record at each SNR "
        "(S = median QRS peak-to-peak^2 / 8, N = noise power), scored by the fold's ensemble "
        "through score_record; sensitivity, specificity and AUROC among readable windows",
        "models": args.models, "cv": args.cv, "product": cv["product"],
        "fold_thresholds": [m.threshold for _, m in folds], "quick": args.quick,
        "snr_db": list(snrs), "table": table, "target": TARGET, "targets_met": targets,
        "seconds": round(time.perf_counter() - t0, 1),
    }, out_dir / "noise_stress.json")  # fmt: skip
    if not args.quick:
        plot(table, out_dir / "noise_stress.png")

    vent = {"mitdb_vt_vfl": vt_vf_summary(np.concatenate(ventricular) if ventricular
                                          else np.zeros(0, dtype=object))}  # fmt: skip
    for kind, verdicts in synthetic.items():
        vent[f"synthetic_{kind}"] = vt_vf_summary(np.concatenate(verdicts))
    vent_targets = {
        key: {"flagged": v["flagged_share"] is not None
              and v["flagged_share"] >= TARGET["vt_vf_flagged"],
              "unreadable": v["unreadable_share"] is not None
              and v["unreadable_share"] <= TARGET["vt_vf_unreadable"]}
        for key, v in vent.items()
    }  # fmt: skip
    write_json({
        "method": "clean held-out windows overlapping a (VT or (VFL episode, and synthetic VF "
        "and VT recordings, scored by each fold's ensemble: flagged = arrhythmia or vt_vf",
        "rhythms": list(VENTRICULAR), "normal_rhythm": NORMAL_RHYTHM, "quick": args.quick,
        "synthetic": {"recordings_per_fold": SYNTHETIC_RECORDINGS, "seconds": SYNTHETIC_S,
                      "fs": SYNTHETIC_FS},
        "results": vent, "target": {k: TARGET[k] for k in ("vt_vf_flagged", "vt_vf_unreadable")},
        "targets_met": vent_targets,
    }, out_dir / "ventricular.json")  # fmt: skip
    print(json.dumps({"em@12": at, "targets_met": targets, "ventricular": vent}, indent=1))


if __name__ == "__main__":
    run_cli(main)
