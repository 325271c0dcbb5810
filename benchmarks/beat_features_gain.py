"""What the rhythm and atrial beat values (`ecg.features.atrial`) add to the per-beat
LightGBM on the de Chazal inter-patient benchmark; write metrics/beat_features_gain.json.

The DS1 and DS2 records' windows are built as the preprocess stage builds them
(`windows_from_record` with the detect stage's beats, data/beats/mitdb_beats.pt), and only
the windows passing the SQI gate (`preprocess.sqi_threshold`) are kept, as in training and
evaluation. The per-beat LightGBM (`ecg.train.beat_gbm`, the `model.beat_gbm` settings) is
trained on the DS1 windows' beats and scored on DS2's with the existing 42 values, then with
each new group added, then with all of them; a left-out value is zeroed, which LightGBM
ignores as a constant feature. Three beat weightings: none, balanced on DS1's class counts,
and `beat_class_weights`. Reported per run: EC57 VEB and SVEB gross sensitivity, ppv and fpr
of the argmax class (`ecg.eval.ec57`, missed reference beats counted), and each class's
AUROC against the other N/S/V/F detected beats.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from benchmarks.machine import machine_info
from ecg.core.cli import run_cli
from ecg.core.errors import ECGError
from ecg.core.params_file import ParamsFile
from ecg.core.storage import write_json
from ecg.data.beat_labels import BEAT_CLASSES, EXTRA, PREDICTED_CLASSES
from ecg.data.config import PreprocessConfig
from ecg.data.detected_beats import read_beats
from ecg.data.mitdb import MITDB
from ecg.data.splits import DS1, DS2
from ecg.data.windows import windows_from_record
from ecg.eval.class_report import beat_statistics
from ecg.features.layout import ATRIAL_BEAT_FEATURES, MAX_BEATS, STEP_BEAT, STEP_FEATURES
from ecg.train.beat_gbm import beat_gbm_readouts, fit_beat_gbm
from ecg.train.gbm import GBMConfig

GROUPS = {
    "rr": ("rr_local", "rr_long"),
    "p_wave": ("p_correlation", "p_amplitude", "pr_shift"),
    "gap": ("gap_p",),
    "onset": ("onset_slope",),
}
BASE = STEP_FEATURES - len(ATRIAL_BEAT_FEATURES)
ATRIAL = STEP_BEAT - len(ATRIAL_BEAT_FEATURES)  # the atrial values end each beat's part
S, V = PREDICTED_CLASSES.index("S"), PREDICTED_CLASSES.index("V")


def gated_windows(ids: tuple[str, ...], mitdb: MITDB, beats: dict, cfg: PreprocessConfig):
    """(beat rows, slot codes, missed beats, rhythms, record ids) of the records' windows
    passing the SQI gate."""
    parts = []
    for rid in (r for r in ids if r in beats):
        w = windows_from_record(mitdb.read(rid, lead=cfg.lead), cfg, beats=beats[rid])
        ok = w.sqi >= cfg.sqi_threshold
        arrays = (w.beat_input, w.beat_classes, w.missed_beats, w.rhythms)
        parts.append((*(a[ok] for a in arrays), np.full(int(ok.sum()), rid)))
    return tuple(np.concatenate(p) for p in zip(*parts, strict=True))


def only(rows: np.ndarray, atrial: tuple[str, ...]) -> torch.Tensor:
    """The rows with every atrial value not in `atrial` zeroed."""
    steps = rows.reshape(len(rows), MAX_BEATS, STEP_FEATURES).copy()
    dropped = [i for i, n in enumerate(ATRIAL_BEAT_FEATURES) if n not in atrial]
    steps[:, :, [ATRIAL + i for i in dropped]] = 0
    return torch.as_tensor(steps.reshape(len(rows), -1))


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
    gbm = params.group("model.beat_gbm", GBMConfig)
    detected, mitdb = read_beats(args.beats), MITDB(args.mitdb)
    start = time.perf_counter()
    sets = {
        name: gated_windows(ids, mitdb, detected, cfg) for name, ids in (("DS1", DS1), ("DS2", DS2))
    }
    features_s = time.perf_counter() - start

    (x1, c1, _, r1, _), (x2, c2, missed2, _, rec2) = sets["DS1"], sets["DS2"]
    counts = np.bincount(c1[(c1 >= 0) & (c1 < len(PREDICTED_CLASSES))])
    weightings = {
        "plain": (1.0,) * len(PREDICTED_CLASSES),
        "balanced": tuple(counts.sum() / (len(counts) * counts)),
        "beat_class_weights": tuple(params.value("beat_class_weights")),
    }
    variants = {"base_42": (), **{f"base+{g}": n for g, n in GROUPS.items()}}
    variants["base+all"] = ATRIAL_BEAT_FEATURES
    labelled = (c2 >= 0) & (c2 < len(PREDICTED_CLASSES))
    results: dict = {}
    for weighting, weights in weightings.items():
        for name, atrial in variants.items():
            boosters = fit_beat_gbm(
                only(x1, atrial), torch.as_tensor(c1), torch.as_tensor(r1), gbm,
                class_weights=weights, seed=0,
            )  # fmt: skip
            probs = beat_gbm_readouts(boosters, only(x2, atrial))[0]
            ec57 = beat_statistics(probs, c2, missed2, list(rec2))
            y, p = c2[labelled], probs[labelled]
            results.setdefault(weighting, {})[name] = {
                "features": BASE + len(atrial),
                **{
                    k: {m: None if v is None else round(v, 3) for m, v in ec57[k].items()}
                    for k in ("veb", "sveb")
                },
                # the threshold-free ranking of each class against every other beat
                "VEB_auroc": round(roc_auc_score(y == V, p[:, V]), 3),
                "SVEB_auroc": round(roc_auc_score(y == S, p[:, S]), 3),
            }
            print(weighting, name, results[weighting][name], flush=True)
    write_json(
        {
            "beats": {
                s: {
                    **{c: int((v[1] == k).sum()) for k, c in enumerate(BEAT_CLASSES)},
                    "extra": int((v[1] == EXTRA).sum()),
                    "missed": int(v[2].sum()),
                }
                for s, v in sets.items()
            },
            "windows": {s: len(v[0]) for s, v in sets.items()},
            "groups": {g: list(n) for g, n in GROUPS.items()},
            "weights": {w: [round(x, 3) for x in v] for w, v in weightings.items()},
            "results": results,
            "features_seconds": round(features_s, 1),
            "machine": machine_info(),
        },
        args.out,
    )


if __name__ == "__main__":
    run_cli(main)
