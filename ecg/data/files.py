"""The dataset files the pipeline writes, and `ECGDataset`, what the training code reads.

MIT-BIH (`data/mitbih_processed/windows_{ecg,beats,beat_sync}.pt`, every quality-passing
window of every subject, in record order): a dict with `inputs` float32 [N, values per window]
(raw windows in `windows_ecg.pt`, the beat layout in `windows_beats.pt`, the beat-synchronous
view in `windows_beat_sync.pt`, row i the same window in each), `labels` int64 [N],
`patient_ids` and `record_ids` (lists of str), `start_samples` int64 [N] (first sample of
the window in the record's own sampling rate), `segment_confidence` and `sqi_scores` float32
[N], `rhythm_classes` int64 [N] (`ecg.data.rhythms`); the beat layout's and beat-synchronous
files also `beat_classes` int64 [N, MAX_BEATS] (each slot's AAMI code, `ecg.data.beat_labels`)
and `missed_beats` int64 [N, 5] (reference beats per class no slot carries).

`windows_beats_noisy.pt` (written when preprocess's `augment.copies` > 0): the beat layout
of noisy copies of the records (`ecg.data.augment`), same keys; training rows only, for the
subjects a member trains on (`ecg.train.plan.with_noisy_rows`), never validation or test.

Synthetic (`data/synthetic/{train,val}_ecg.pt`, `data/synthetic_beats/{train,val}_beats.pt`
and `{train,val}_beat_sync.pt`): `inputs` and `labels` only.

Both load with `torch.load(path, weights_only=True)`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ecg.core.errors import ECGError
from ecg.core.storage import load_torch, save_torch

SYNTHETIC_KEYS = frozenset({"inputs", "labels"})
MITBIH_KEYS = frozenset(
    {
        "inputs",
        "labels",
        "patient_ids",
        "record_ids",
        "start_samples",
        "segment_confidence",
        "sqi_scores",
    }
)
# Written by preprocess (rhythm always, beats with the beat layout); absent from synthetic data.
MITBIH_TARGETS = ("rhythm_classes", "beat_classes", "missed_beats")
# What a model reads (`ECGModel.input_kind`) -> the file suffix that holds it.
INPUT_FILES = {"waveform": "ecg", "beats": "beats", "beat_sync": "beat_sync"}


class ECGDataset:
    """Model inputs and labels of N windows, with their subjects and records when known."""

    def __init__(
        self,
        inputs: torch.Tensor,
        labels: torch.Tensor,
        patient_ids: list[str] | None = None,
        record_ids: list[str] | None = None,
        start_samples: torch.Tensor | None = None,
        sqi_scores: torch.Tensor | None = None,
        rhythm_classes: torch.Tensor | None = None,
        beat_classes: torch.Tensor | None = None,
        missed_beats: torch.Tensor | None = None,
    ) -> None:
        if len(inputs) != len(labels):
            raise ECGError(f"dataset: {len(inputs)} inputs but {len(labels)} labels")
        self.inputs = torch.as_tensor(inputs, dtype=torch.float32)
        self.labels = torch.as_tensor(labels, dtype=torch.int64)
        self.patient_ids = patient_ids
        self.record_ids = record_ids
        self.start_samples = start_samples
        self.sqi_scores = sqi_scores
        # per-window rhythm class, per-slot beat code, missed reference beats per class
        self.rhythm_classes = rhythm_classes
        self.beat_classes = beat_classes
        self.missed_beats = missed_beats

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, rows: np.ndarray) -> ECGDataset:
        """The windows `rows`, in that order."""
        idx = torch.as_tensor(np.asarray(rows, dtype=np.int64))
        pick = rows.tolist() if isinstance(rows, np.ndarray) else list(rows)
        return ECGDataset(
            self.inputs[idx],
            self.labels[idx],
            patient_ids=None if self.patient_ids is None else [self.patient_ids[i] for i in pick],
            record_ids=None if self.record_ids is None else [self.record_ids[i] for i in pick],
            start_samples=None if self.start_samples is None else self.start_samples[idx],
            sqi_scores=None if self.sqi_scores is None else self.sqi_scores[idx],
            **{
                key: None if getattr(self, key) is None else getattr(self, key)[idx]
                for key in MITBIH_TARGETS
            },
        )


def check_format(data: Any, path: str | Path = "<data>") -> str:
    """'mitbih' or 'synthetic'; anything else is an `ECGError` naming the file."""
    if not isinstance(data, dict):
        raise ECGError(
            f"{path}: not an ECG dataset file (expected a dict, got {type(data).__name__})"
        )
    keys = set(data)
    if keys >= MITBIH_KEYS:
        fmt = "mitbih"
    elif keys == SYNTHETIC_KEYS:
        fmt = "synthetic"
    else:
        missing = sorted((MITBIH_KEYS if len(keys) > 2 else SYNTHETIC_KEYS) - keys)
        raise ECGError(f"{path}: not an ECG dataset file (keys {sorted(keys)}; missing {missing})")
    inputs, labels = data["inputs"], data["labels"]
    if not (isinstance(inputs, torch.Tensor) and inputs.ndim == 2):
        raise ECGError(f"{path}: 'inputs' must be a 2-D tensor [N, values per window]")
    if not (isinstance(labels, torch.Tensor) and labels.shape == (inputs.shape[0],)):
        raise ECGError(f"{path}: 'labels' must be a tensor [N] matching 'inputs'")
    return fmt


def read_data_file(path: str | Path) -> dict[str, Any]:
    """Load and validate a dataset file (either format)."""
    data = load_torch(path, what="data file")
    check_format(data, path)
    return data


def dataset_from_file(path: str | Path) -> ECGDataset:
    data = read_data_file(path)
    return ECGDataset(
        data["inputs"],
        data["labels"],
        patient_ids=data.get("patient_ids"),
        record_ids=data.get("record_ids"),
        start_samples=data.get("start_samples"),
        sqi_scores=data.get("sqi_scores"),
        **{key: data.get(key) for key in MITBIH_TARGETS},
    )


def save_mitbih(path: str | Path, **arrays: Any) -> None:
    """Write a MIT-BIH format file atomically (keys as in the module docstring)."""
    missing = MITBIH_KEYS - set(arrays)
    if missing:
        raise ValueError(f"save_mitbih: missing {sorted(missing)}")
    data = {
        "inputs": torch.as_tensor(arrays["inputs"], dtype=torch.float32),
        "labels": torch.as_tensor(arrays["labels"], dtype=torch.int64),
        # Interned: pickle writes a string once per object, so equal ids that are distinct
        # objects (from worker processes) would give other bytes than shared ones.
        "patient_ids": [sys.intern(str(p)) for p in arrays["patient_ids"]],
        "record_ids": [sys.intern(str(r)) for r in arrays["record_ids"]],
        "start_samples": torch.as_tensor(arrays["start_samples"], dtype=torch.int64),
        "segment_confidence": torch.as_tensor(arrays["segment_confidence"], dtype=torch.float32),
        "sqi_scores": torch.as_tensor(arrays["sqi_scores"], dtype=torch.float32),
    }
    for key in MITBIH_TARGETS:
        if key in arrays:
            data[key] = torch.as_tensor(arrays[key], dtype=torch.int64)
    save_torch(data, path)


def windows_file(data_dir: str | Path, input_kind: str) -> Path:
    """The MIT-BIH file holding what a model of `input_kind` reads."""
    return Path(data_dir) / f"windows_{INPUT_FILES[input_kind]}.pt"


def noisy_windows_file(data_dir: str | Path) -> Path:
    """The noisy copies' beat layout (training augmentation)."""
    return Path(data_dir) / "windows_beats_noisy.pt"


def load_noisy_windows(data_dir: str | Path) -> ECGDataset | None:
    """The noisy copies' beat layout, or None where preprocess wrote none (augment off)."""
    path = noisy_windows_file(data_dir)
    return dataset_from_file(path) if path.is_file() else None


def concat(a: ECGDataset, b: ECGDataset) -> ECGDataset:
    """`a`'s windows, then `b`'s (both MIT-BIH, with the same metadata present)."""

    def cat(x: Any, y: Any) -> Any:
        if x is None or y is None:
            return None
        return x + y if isinstance(x, list) else torch.cat([x, y])

    keys = ("patient_ids", "record_ids", "start_samples", "sqi_scores", *MITBIH_TARGETS)
    return ECGDataset(
        torch.cat([a.inputs, b.inputs]),
        torch.cat([a.labels, b.labels]),
        **{key: cat(getattr(a, key), getattr(b, key)) for key in keys},
    )


def load_windows(data_dir: str | Path, input_kind: str = "beats") -> ECGDataset:
    """Every window of every subject, as input of the kind a model reads."""
    path = windows_file(data_dir, input_kind)
    data = read_data_file(path)
    if "patient_ids" not in data:
        raise ECGError(
            f"{path}: synthetic-format file; training on MIT-BIH needs the file written by "
            "the preprocess stage"
        )
    return dataset_from_file(path)
