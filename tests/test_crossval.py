"""Subject-wise cross-validation folds: every subject held out exactly once, no leakage."""

from __future__ import annotations

import numpy as np
import pytest

from ecg.core.errors import ECGError
from ecg.data.mitdb import MITDB
from ecg.train.crossval import subject_folds, validation_subjects


def windows_by_subject(seed: int = 0) -> tuple[list[str], np.ndarray]:
    """MIT-BIH-like: 44 records, 202 folded into subject 201, uneven windows per subject."""
    rng = np.random.default_rng(seed)
    records = [r for r in MITDB.RECORDS if r not in {"102", "104", "107", "217"}]
    subjects, labels = [], []
    for r in records:
        n = int(rng.integers(120, 181))
        subjects += [MITDB.subject(r)] * n
        labels += list(rng.random(n) < rng.uniform(0.05, 0.9))
    return subjects, np.array(labels, dtype=np.int64)


def test_every_subject_held_out_exactly_once():
    subjects, labels = windows_by_subject()
    folds = subject_folds(subjects, labels, k=5, seed=42)
    held = [s for fold in folds for s in fold]
    assert sorted(held) == sorted(set(subjects))  # each subject once, none missing
    assert len(held) == len(set(held)) == 43  # 201 and 202 are one subject
    assert "202" not in held


def test_folds_are_balanced_and_deterministic():
    subjects, labels = windows_by_subject()
    folds = subject_folds(subjects, labels, k=5, seed=42)
    assert folds == subject_folds(subjects, labels, k=5, seed=42)
    sizes = [sum(s in fold for s in subjects) for fold in folds]
    assert max(sizes) / min(sizes) < 1.15, sizes
    assert subject_folds(subjects, labels, k=5, seed=7) != folds


def test_validation_subjects_never_include_the_held_out_fold():
    subjects, labels = windows_by_subject()
    folds = subject_folds(subjects, labels, k=5, seed=42)
    arr = np.array(subjects)
    for f, fold in enumerate(folds):
        val = validation_subjects(folds, f, arr, seed=42)
        assert not set(val) & set(fold)
        assert len(val) >= 4
        share = np.isin(arr, val).sum() / (~np.isin(arr, fold)).sum()
        assert 0.2 <= share < 0.35, share


def test_too_few_subjects_for_k_folds():
    with pytest.raises(ECGError, match=r"crossval\.folds = 5: only 3 subjects"):
        subject_folds(["a", "b", "c"], np.array([0, 1, 0]), k=5, seed=0)
