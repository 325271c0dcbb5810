"""Subject-wise cross-validation folds: every subject held out exactly once, no leakage."""

from __future__ import annotations

import numpy as np
import pytest

from ecg.core.errors import ECGError
from ecg.data.mitdb import MITDB
from ecg.train.folds import subject_folds


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


def test_too_few_subjects_for_k_folds():
    with pytest.raises(ECGError, match=r"crossval\.folds = 5: only 3 subjects"):
        subject_folds(["a", "b", "c"], np.array([0, 1, 0]), k=5, seed=0)


def tiny_dataset(seed: int = 0, subjects: int = 12, per_subject: int = 20):
    """Beat-layout rows whose window features carry the label, 12 subjects."""
    import torch

    from ecg.data.files import ECGDataset
    from ecg.features.layout import MAX_BEATS, STEP_BEAT, STEP_FEATURES

    g = torch.Generator().manual_seed(seed)
    n = subjects * per_subject
    labels = (torch.rand(n, generator=g) < 0.4).long()
    steps = torch.zeros(n, MAX_BEATS, STEP_FEATURES)
    steps[:, :10, 0] = 1.0  # ten present beats
    steps[:, :, STEP_BEAT:] = 0.3 * torch.randn(n, 1, STEP_FEATURES - STEP_BEAT, generator=g)
    steps[:, :, STEP_BEAT] += torch.where(labels[:, None] == 1, 1.0, -1.0)
    ids = [f"s{i // per_subject}" for i in range(n)]
    return ECGDataset(steps.reshape(n, -1), labels, patient_ids=ids, record_ids=ids)


def test_parallel_map_keeps_order(monkeypatch):
    from ecg.core.parallel import parallel_map, worker_count

    assert parallel_map(abs, range(-3, 4), workers=2) == [3, 2, 1, 0, 1, 2, 3]
    monkeypatch.setenv("ECG_WORKERS", "zero")
    with pytest.raises(ECGError, match="ECG_WORKERS"):
        worker_count()
