"""Dataset files and loaders for the two formats the pipeline writes.

MIT-BIH (`data/mitbih_processed/{train,val,test}_{ecg,beats}.pt`): a dict with `signals`
float32 [N, values per window] (raw windows in `*_ecg.pt`, the beat models' input in
`*_beats.pt`), `labels` int64 [N], `patient_ids` and `record_ids` (lists of str),
`start_samples` int64 [N] (first sample of the window in the record's own sampling rate),
`segment_confidence` and `sqi_scores` float32 [N].

Synthetic (`data/synthetic/{train,val}_ecg.pt`): `signals` and `labels` only.

Both load with `torch.load(path, weights_only=True)`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from ecg.core.storage import load_torch, save_torch
from ecg.core.errors import ECGError
from ecg.data.splits import SPLITS

SYNTHETIC_KEYS = frozenset({"signals", "labels"})
MITBIH_KEYS = frozenset(
    {
        "signals",
        "labels",
        "patient_ids",
        "record_ids",
        "start_samples",
        "segment_confidence",
        "sqi_scores",
    }
)


class ECGDataset(Dataset):
    """Windows and labels, with optional per-window metadata."""

    def __init__(
        self,
        signals: torch.Tensor,
        labels: torch.Tensor,
        patient_ids: list[str] | None = None,
        segment_confidence: torch.Tensor | None = None,
        sqi_scores: torch.Tensor | None = None,
        record_ids: list[str] | None = None,
        start_samples: torch.Tensor | None = None,
    ) -> None:
        if len(signals) != len(labels):
            raise ECGError(f"dataset: {len(signals)} signals but {len(labels)} labels")
        self.signals = torch.as_tensor(signals, dtype=torch.float32)
        self.labels = torch.as_tensor(labels, dtype=torch.int64)
        self.patient_ids = patient_ids
        self.segment_confidence = segment_confidence
        self.sqi_scores = sqi_scores
        self.record_ids = record_ids
        self.start_samples = start_samples

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, idx: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.signals[idx], self.labels[idx]

    def get_metadata(self, idx: int) -> dict[str, Any]:
        """`{'patient_id': '100', 'confidence': 0.75, 'sqi': 0.85}`, keys present when known."""
        meta: dict[str, Any] = {}
        if self.patient_ids is not None:
            meta["patient_id"] = self.patient_ids[idx]
        if self.segment_confidence is not None:
            meta["confidence"] = float(self.segment_confidence[idx])
        if self.sqi_scores is not None:
            meta["sqi"] = float(self.sqi_scores[idx])
        return meta


def detect_format(data: Any, path: str | Path = "<data>") -> str:
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
    signals, labels = data["signals"], data["labels"]
    if not (isinstance(signals, torch.Tensor) and signals.ndim == 2):
        raise ECGError(f"{path}: 'signals' must be a 2-D tensor [N, samples]")
    if not (isinstance(labels, torch.Tensor) and labels.shape == (signals.shape[0],)):
        raise ECGError(f"{path}: 'labels' must be a tensor [N] matching 'signals'")
    return fmt


def read_data_file(path: str | Path) -> dict[str, Any]:
    """Load and validate a dataset file (either format)."""
    data = load_torch(path, what="data file")
    detect_format(data, path)
    return data


def dataset_from_file(path: str | Path) -> ECGDataset:
    data = read_data_file(path)
    return ECGDataset(
        data["signals"],
        data["labels"],
        patient_ids=data.get("patient_ids"),
        segment_confidence=data.get("segment_confidence"),
        sqi_scores=data.get("sqi_scores"),
    )


def load_dataset(
    path: str | Path,
    batch_size: int = 32,
    shuffle: bool = False,
    *,
    seed: int | None = None,
    drop_last: bool = False,
) -> DataLoader:
    """DataLoader over a dataset file of either format; `seed` fixes the shuffle order."""
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    return DataLoader(
        dataset_from_file(path),
        batch_size=batch_size,
        shuffle=shuffle,
        generator=generator,
        drop_last=drop_last,
    )


def save_mitbih(path: str | Path, **arrays: Any) -> None:
    """Write a MIT-BIH format file atomically (keys as in the module docstring)."""
    missing = MITBIH_KEYS - set(arrays)
    if missing:
        raise ValueError(f"save_mitbih: missing {sorted(missing)}")
    data = {
        "signals": torch.as_tensor(arrays["signals"], dtype=torch.float32),
        "labels": torch.as_tensor(arrays["labels"], dtype=torch.int64),
        "patient_ids": [str(p) for p in arrays["patient_ids"]],
        "record_ids": [str(r) for r in arrays["record_ids"]],
        "start_samples": torch.as_tensor(arrays["start_samples"], dtype=torch.int64),
        "segment_confidence": torch.as_tensor(arrays["segment_confidence"], dtype=torch.float32),
        "sqi_scores": torch.as_tensor(arrays["sqi_scores"], dtype=torch.float32),
    }
    save_torch(data, path)


def load_split(data_dir: str | Path, split: str, suffix: str = "ecg") -> ECGDataset:
    """A MIT-BIH split file: raw windows (`suffix="ecg"`) or the beat models' input
    (`"beats"`)."""
    path = Path(data_dir) / f"{split}_{suffix}.pt"
    data = read_data_file(path)
    if "patient_ids" not in data:
        raise ECGError(
            f"{path}: synthetic-format file; the transfer stages need the MIT-BIH "
            "format written by the preprocess stage"
        )
    return ECGDataset(
        data["signals"],
        data["labels"],
        patient_ids=data["patient_ids"],
        segment_confidence=data["segment_confidence"],
        sqi_scores=data["sqi_scores"],
        record_ids=data["record_ids"],
        start_samples=data["start_samples"],
    )


def load_all_splits(data_dir: str | Path, suffix: str = "beats") -> ECGDataset:
    """Every SQI-passing window of every subject, from the three split files (for
    cross-validation)."""
    parts = [load_split(data_dir, s, suffix) for s in SPLITS]
    return ECGDataset(
        torch.cat([p.signals for p in parts]),
        torch.cat([p.labels for p in parts]),
        patient_ids=[s for p in parts for s in p.patient_ids],
        sqi_scores=torch.cat([p.sqi_scores for p in parts]),
        record_ids=[r for p in parts for r in p.record_ids],
        start_samples=torch.cat([p.start_samples for p in parts]),
    )
