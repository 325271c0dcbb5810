"""Subject-wise train/val/test splits: never by window, so no patient is on two sides.

`patient`: a seeded search over subject orders for the split closest to the target window
fractions, with at least `min_subjects` subjects in val and in test and each split's
arrhythmia share within `max_share_gap` of the pooled share.

`dechazal`: the inter-patient benchmark of de Chazal et al. (2004): test = DS2, train/val
from DS1 by subject. The published lists put records 201 (DS1) and 202 (DS2), one subject,
on both sides; they are kept as published, so this split is not fully subject-disjoint.
"""

from __future__ import annotations

import numpy as np

from ecg.core.errors import ECGError
from ecg.data.mitdb import MITDB

SPLITS = ("train", "val", "test")

# fmt: off
DS1 = ("101", "106", "108", "109", "112", "114", "115", "116", "118", "119", "122", "124",
       "201", "203", "205", "207", "208", "209", "215", "220", "223", "230")
DS2 = ("100", "103", "105", "111", "113", "117", "121", "123", "200", "202", "210", "212",
       "213", "214", "219", "221", "222", "228", "231", "232", "233", "234")
# fmt: on

_TRIALS = 4000


def _group(records: list[str], windows: np.ndarray, arrhythmia: np.ndarray):
    subjects = sorted({MITDB.subject(r) for r in records})
    index = {s: i for i, s in enumerate(subjects)}
    n = np.zeros(len(subjects))
    a = np.zeros(len(subjects))
    for r, w, k in zip(records, windows, arrhythmia, strict=True):
        n[index[MITDB.subject(r)]] += w
        a[index[MITDB.subject(r)]] += k
    return subjects, n, a


def _take(order: np.ndarray, n: np.ndarray, total: float, target: float, min_count: int):
    """Leading subjects of `order` until both the window share and the count are reached."""
    share = np.cumsum(n[order]) / total
    k = max(int(np.searchsorted(share, target - 1e-9)) + 1, min_count)
    return order[:k], order[k:]


def patient_split(
    records: list[str],
    windows: np.ndarray,
    arrhythmia: np.ndarray,
    *,
    seed: int,
    fractions: tuple[float, float, float] = (0.70, 0.15, 0.15),
    min_subjects: int = 6,
    max_share_gap: float = 0.10,
) -> dict[str, str]:
    """Map record id -> split, choosing among seeded random subject orders."""
    subjects, n, a = _group(records, np.asarray(windows), np.asarray(arrhythmia))
    if len(subjects) < 2 * min_subjects + 1:
        raise ECGError(
            f"split: {len(subjects)} subjects, need at least {2 * min_subjects + 1} "
            f"(preprocess.min_subjects_per_split = {min_subjects})"
        )
    total, pooled = n.sum(), a.sum() / n.sum()
    rng = np.random.default_rng(seed)
    best, best_score = None, np.inf
    for _ in range(_TRIALS):
        order = rng.permutation(len(subjects))
        test, rest = _take(order, n, total, fractions[2], min_subjects)
        val, train = _take(rest, n, total, fractions[1], min_subjects)
        parts = (train, val, test)
        if min(len(p) for p in parts) == 0:
            continue
        share = [n[p].sum() / total for p in parts]
        gaps = [abs(a[p].sum() / n[p].sum() - pooled) for p in parts]
        if max(gaps) > max_share_gap:
            continue
        score = sum(abs(s - f) for s, f in zip(share, fractions, strict=True)) + 0.5 * max(gaps)
        if score < best_score:
            best, best_score = parts, score
    if best is None:
        raise ECGError(
            "split: no subject split meets preprocess.max_share_gap "
            f"= {max_share_gap} with {min_subjects} subjects per split"
        )
    subject_split = {
        subjects[i]: name for name, part in zip(SPLITS, best, strict=True) for i in part
    }
    return {r: subject_split[MITDB.subject(r)] for r in records}


def dechazal_split(
    records: list[str],
    windows: np.ndarray,
    arrhythmia: np.ndarray,
    *,
    seed: int,
    fractions: tuple[float, float, float] = (0.70, 0.15, 0.15),
    min_subjects: int = 6,
) -> dict[str, str]:
    """Test = DS2 records; val = a seeded choice of DS1 subjects; train = the rest of DS1."""
    records = list(records)
    other = [r for r in records if r not in DS1 and r not in DS2]
    if other:
        raise ECGError(
            f"split dechazal: record {other[0]} is in neither DS1 nor DS2 "
            "(add it to preprocess.exclude_records)"
        )
    windows, arrhythmia = np.asarray(windows), np.asarray(arrhythmia)
    ds1 = [i for i, r in enumerate(records) if r in DS1]
    out = {r: "test" for r in records if r in DS2}
    ds1_records = [records[i] for i in ds1]
    subjects, n, a = _group(ds1_records, windows[ds1], arrhythmia[ds1])
    if len(subjects) < min_subjects + 1:
        raise ECGError(f"split: dechazal needs at least {min_subjects + 1} DS1 subjects")
    target = fractions[1] / (fractions[0] + fractions[1])
    pooled = a.sum() / n.sum()
    rng = np.random.default_rng(seed)
    best, best_score = None, np.inf
    for _ in range(_TRIALS):
        val, _train = _take(rng.permutation(len(subjects)), n, n.sum(), target, min_subjects)
        score = abs(n[val].sum() / n.sum() - target) + abs(a[val].sum() / n[val].sum() - pooled)
        if score < best_score:
            best, best_score = set(val.tolist()), score
    for r in ds1_records:
        out[r] = "val" if subjects.index(MITDB.subject(r)) in best else "train"
    return out


# preprocess.split -> the rule that assigns records to train / val / test.
SPLIT_RULES = {"patient": patient_split, "dechazal": dechazal_split}
