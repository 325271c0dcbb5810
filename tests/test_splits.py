"""Subject-wise splits: `patient` (seeded search) and `dechazal` (DS1/DS2)."""

from __future__ import annotations

import numpy as np
import pytest

from ecg.core.errors import ECGError
from ecg.data.mitdb import MITDB
from ecg.data.splits import DS1, DS2, SPLITS, dechazal_split, patient_split

PACED = ("102", "104", "107", "217")
USED = [r for r in MITDB.RECORDS if r not in PACED]  # the 44 records of the default run


def counts(seed: int = 0, records=USED):
    """MIT-BIH-like window counts (about 180 per record) and very uneven arrhythmia shares."""
    rng = np.random.default_rng(seed)
    n = rng.integers(140, 181, len(records))
    a = np.round(n * rng.beta(0.5, 1.5, len(records))).astype(np.int64)
    return list(records), n, a


def split_stats(split_of: dict[str, str], records, n, a):
    out = {}
    for name in SPLITS:
        idx = [i for i, r in enumerate(records) if split_of[r] == name]
        out[name] = {
            "share": n[idx].sum() / n.sum(),
            "arrhythmia": a[idx].sum() / n[idx].sum(),
            "subjects": {MITDB.subject(records[i]) for i in idx},
        }
    return out


# --- patient ----------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 42])
def test_patient_split_meets_every_constraint(seed):
    records, n, a = counts(seed)
    split_of = patient_split(records, n, a, seed=seed)
    assert set(split_of) == set(records) and set(split_of.values()) == set(SPLITS)
    stats = split_stats(split_of, records, n, a)
    pooled = a.sum() / n.sum()
    for name, target in zip(SPLITS, (0.70, 0.15, 0.15), strict=True):
        assert abs(stats[name]["share"] - target) < 0.05, (name, stats[name]["share"])
        assert abs(stats[name]["arrhythmia"] - pooled) <= 0.10
    assert len(stats["val"]["subjects"]) >= 6 and len(stats["test"]["subjects"]) >= 6


@pytest.mark.parametrize("seed", range(6))
def test_patient_split_is_subject_disjoint_and_keeps_201_with_202(seed):
    records, n, a = counts(seed)
    split_of = patient_split(records, n, a, seed=seed)
    assert split_of["201"] == split_of["202"]
    side_of: dict[str, set[str]] = {}
    for r, s in split_of.items():
        side_of.setdefault(MITDB.subject(r), set()).add(s)
    assert all(len(sides) == 1 for sides in side_of.values())


def test_patient_split_keeps_201_with_202_in_any_record_order():
    records, n, a = counts(3)
    order = np.random.default_rng(0).permutation(len(records))
    shuffled = [records[i] for i in order]
    split_of = patient_split(shuffled, n[order], a[order], seed=7)
    assert split_of["201"] == split_of["202"]


def test_patient_split_is_deterministic_from_seed():
    records, n, a = counts()
    assert patient_split(records, n, a, seed=5) == patient_split(records, n, a, seed=5)


def test_different_seeds_can_give_different_splits():
    records, n, a = counts()
    splits = {tuple(sorted(patient_split(records, n, a, seed=s).items())) for s in range(4)}
    assert len(splits) > 1


def test_patient_split_honours_tighter_settings():
    records, n, a = counts(1)
    split_of = patient_split(records, n, a, seed=1, min_subjects=9, max_share_gap=0.03)
    stats = split_stats(split_of, records, n, a)
    pooled = a.sum() / n.sum()
    assert len(stats["val"]["subjects"]) >= 9 and len(stats["test"]["subjects"]) >= 9
    assert all(abs(s["arrhythmia"] - pooled) <= 0.03 for s in stats.values())


def test_patient_split_with_too_few_subjects_is_an_error():
    records, n, a = counts(records=USED[:12])
    with pytest.raises(ECGError, match="12 subjects, need at least 13") as err:
        patient_split(records, n, a, seed=0)
    assert "\n" not in str(err.value)


def test_patient_split_that_cannot_balance_arrhythmia_is_an_error():
    # one subject holds every arrhythmia window and a third of all windows: the pooled
    # share is 1/3 and the two splits without that subject have none
    records, n, _ = counts(records=USED[:14])
    n[0] = n[1:].sum() // 2
    a = np.zeros_like(n)
    a[0] = n[0]
    with pytest.raises(ECGError, match="max_share_gap"):
        patient_split(records, n, a, seed=0)


# --- dechazal ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 42])
def test_dechazal_split_test_is_ds2_and_train_val_from_ds1(seed):
    records, n, a = counts(seed)
    split_of = dechazal_split(records, n, a, seed=seed)
    assert set(split_of) == set(records)
    assert {r for r, s in split_of.items() if s == "test"} == set(DS2)
    assert {r for r, s in split_of.items() if s != "test"} == set(DS1)
    val = {MITDB.subject(r) for r, s in split_of.items() if s == "val"}
    train = {MITDB.subject(r) for r, s in split_of.items() if s == "train"}
    assert not val & train
    assert len(val) >= 6 and train
    idx = [records.index(r) for r in DS1]
    val_share = sum(n[records.index(r)] for r in DS1 if split_of[r] == "val") / n[idx].sum()
    assert abs(val_share - 0.15 / 0.85) < 0.08


def test_dechazal_split_is_deterministic_and_seed_dependent():
    records, n, a = counts()
    first = dechazal_split(records, n, a, seed=1)
    assert first == dechazal_split(records, n, a, seed=1)
    vals = {
        frozenset(r for r, s in dechazal_split(records, n, a, seed=k).items() if s == "val")
        for k in range(4)
    }
    assert len(vals) > 1


def test_dechazal_split_with_too_few_ds1_subjects_is_an_error():
    records = list(DS1[:5]) + list(DS2)
    records, n, a = counts(records=records)
    with pytest.raises(ECGError, match="DS1 subjects"):
        dechazal_split(records, n, a, seed=0)


def test_ds1_and_ds2_are_the_44_unpaced_records():
    assert len(DS1) == len(DS2) == 22
    assert not set(DS1) & set(DS2)
    assert sorted(DS1 + DS2) == sorted(USED)


def test_dechazal_rejects_a_record_outside_both_lists():
    records = [*DS1, *DS2, "107"]
    n = np.full(len(records), 100)
    with pytest.raises(ECGError, match="107 is in neither DS1 nor DS2"):
        dechazal_split(records, n, n // 2, seed=0)
