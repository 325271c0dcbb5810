"""What the rhythm and atrial beat values (`ecg.features.atrial`) add to a per-beat
classifier on the de Chazal inter-patient benchmark; write metrics/beat_features_gain.json.

Every detected beat (data/beats/mitdb_beats.pt, the detect stage) of the DS1 and DS2 records
gets its step of the beat layout (`record_rows`, exactly as the beat models read it: the
window's t-th beat is step t); its label is the AAMI class of the nearest reference beat
within MATCH_S (beats with none, or of class Q, are left out). A LightGBM (the `model.gbm`
settings of params.yaml) trained on the DS1 beats is scored on the DS2 beats with the
existing 42 values, then with each new group added, then with all of them: VEB and SVEB
sensitivity and positive predictivity of the argmax class and each class's AUROC against
all other beats, once unweighted and once with balanced class weights. The matching is
written here because `ecg.data` has no beat matcher yet.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import lightgbm as lgb
import numpy as np
from sklearn.metrics import roc_auc_score

from benchmarks.machine import machine_info
from ecg.core.cli import run_cli
from ecg.core.errors import ECGError
from ecg.core.params_file import ParamsFile
from ecg.core.storage import write_json
from ecg.data.config import PreprocessConfig
from ecg.data.detected_beats import read_beats
from ecg.data.labels import aami_class
from ecg.data.mitdb import MITDB
from ecg.data.splits import DS1, DS2
from ecg.features.layout import (
    ATRIAL_BEAT_FEATURES,
    BEAT_FEATURES,
    CONTEXT_BEAT_FEATURES,
    MAX_BEATS,
    STEP_FEATURES,
)
from ecg.features.window_input import record_rows
from ecg.signal.record_windows import condition_record
from ecg.train.gbm import GBMConfig

MATCH_S = 0.15
CLASSES = ("N", "S", "V", "F")
NB = len(BEAT_FEATURES) + len(CONTEXT_BEAT_FEATURES)  # the atrial values follow these
GROUPS = {
    "rr": ("rr_local", "rr_long"),
    "p_wave": ("p_correlation", "p_amplitude", "pr_shift"),
    "gap": ("gap_p",),
    "onset": ("onset_slope",),
}


def record_beats(rec_id: str, mitdb: MITDB, beats: np.ndarray, cfg: PreprocessConfig):
    """(steps [k, STEP_FEATURES], labels [k]) of the record's labelled detected beats."""
    record = mitdb.read(rec_id, lead=cfg.lead)
    rec = condition_record(
        record.signal,
        record.fs,
        fs=cfg.fs,
        window=cfg.window,
        stride=cfg.stride,
        band=tuple(cfg.bandpass_hz),
        notch=cfg.notch_hz,
        name=rec_id,
    )
    rows = record_rows(rec, beats).reshape(len(rec.starts), MAX_BEATS, STEP_FEATURES)
    steps, keep = [], []
    for w, start in enumerate(rec.starts):
        inside = np.flatnonzero((beats >= start) & (beats < start + cfg.window))[:MAX_BEATS]
        steps.append(rows[w, : len(inside)])
        keep.append(inside)
    steps, kept = np.concatenate(steps), np.concatenate(keep)
    ref = np.round(record.ann_samples * cfg.fs / record.fs).astype(np.int64)
    cls = np.array([aami_class(s) or "" for s in record.ann_symbols])
    ref, cls = ref[cls != ""], cls[cls != ""]
    at = beats[kept]
    j = np.clip(np.searchsorted(ref, at), 1, len(ref) - 1)
    j = np.where(np.abs(ref[j - 1] - at) <= np.abs(ref[j] - at), j - 1, j)
    label = np.where(np.abs(ref[j] - at) <= MATCH_S * cfg.fs, cls[j], "")
    ok = np.isin(label, CLASSES)
    return steps[ok], np.array([CLASSES.index(c) for c in label[ok]], dtype=np.int64)


def se_ppv(y: np.ndarray, pred: np.ndarray, cls: str) -> dict:
    k = CLASSES.index(cls)
    tp = int(((y == k) & (pred == k)).sum())
    return {
        "Se": round(100 * tp / max(int((y == k).sum()), 1), 1),
        "+P": round(100 * tp / max(int((pred == k).sum()), 1), 1),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mitdb", default=os.environ.get("MITDB_DIR"))
    parser.add_argument("--beats", default="data/beats/mitdb_beats.pt")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--out", default="metrics/beat_features_gain.json")
    args = parser.parse_args(argv)
    if not args.mitdb:
        raise ECGError("no MIT-BIH mirror: pass --mitdb or set MITDB_DIR")
    params = ParamsFile(args.params)
    cfg = params.group("preprocess", PreprocessConfig)
    gbm = GBMConfig(**params.value("model.gbm"))
    detected = read_beats(args.beats)
    mitdb = MITDB(args.mitdb)
    start = time.perf_counter()
    sets = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, ids in (("DS1", DS1), ("DS2", DS2)):
            parts = [record_beats(r, mitdb, detected[r], cfg) for r in ids if r in detected]
            sets[name] = tuple(np.concatenate(p) for p in zip(*parts, strict=True))
    features_s = time.perf_counter() - start

    base = list(range(NB)) + list(range(NB + len(ATRIAL_BEAT_FEATURES), STEP_FEATURES))
    index = {n: NB + i for i, n in enumerate(ATRIAL_BEAT_FEATURES)}
    variants = {"base_42": base}
    for group, names in GROUPS.items():
        variants[f"base+{group}"] = base + [index[n] for n in names]
    variants["base+all"] = base + list(index.values())
    (x1, y1), (x2, y2) = sets["DS1"], sets["DS2"]
    results: dict = {}
    for weighting in ("plain", "balanced"):
        for name, cols in variants.items():
            model = lgb.LGBMClassifier(
                n_estimators=gbm.trees,
                learning_rate=gbm.learning_rate,
                num_leaves=gbm.leaves,
                min_child_samples=gbm.min_child_samples,
                subsample=gbm.subsample,
                subsample_freq=1,
                colsample_bytree=gbm.colsample,
                reg_lambda=gbm.reg_lambda,
                class_weight="balanced" if weighting == "balanced" else None,
                random_state=0,
                n_jobs=1,
                verbose=-1,
            )
            model.fit(x1[:, cols], y1)
            proba = model.predict_proba(x2[:, cols])
            pred = proba.argmax(1)
            results.setdefault(weighting, {})[name] = {
                "features": len(cols),
                "VEB": se_ppv(y2, pred, "V"),
                "SVEB": se_ppv(y2, pred, "S"),
                # the threshold-free ranking of each class against every other beat
                "VEB_auroc": round(roc_auc_score(y2 == 2, proba[:, 2]), 3),
                "SVEB_auroc": round(roc_auc_score(y2 == 1, proba[:, 1]), 3),
            }
            print(weighting, name, results[weighting][name], flush=True)
    write_json(
        {
            "beats": {
                s: {c: int((y == k).sum()) for k, c in enumerate(CLASSES)}
                for s, (_, y) in sets.items()
            },
            "match_s": MATCH_S,
            "groups": {g: list(n) for g, n in GROUPS.items()},
            "results": results,
            "features_seconds": round(features_s, 1),
            "machine": machine_info(),
        },
        args.out,
    )


if __name__ == "__main__":
    run_cli(main)
