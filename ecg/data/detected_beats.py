"""Beat positions of every record from the QRS detector (the detect stage), and reading
them back. Detected, never reference, beats feed the beat models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from ecg.core.errors import ECGError
from ecg.core.progress import progress
from ecg.data.config import PreprocessConfig
from ecg.data.mitdb import MITDB
from ecg.signal.conditioning import resample
from ecg.signal.qrs import detect_qrs


def detect_records(
    raw_dir: str | Path, cfg: PreprocessConfig
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """QRS positions (at `cfg.fs`) of every non-excluded record that has the lead."""
    beats: dict[str, torch.Tensor] = {}
    record_ids = [r for r in MITDB.RECORDS if r not in set(cfg.exclude_records)]
    MITDB(raw_dir).require_lead(record_ids, cfg.lead)
    with progress(record_ids, desc="detect", unit="record", lines=True) as ids:
        for record in MITDB(raw_dir).read_many(ids, lead=cfg.lead):
            signal = resample(record.signal, record.fs, cfg.fs)
            beats[record.record_id] = torch.as_tensor(detect_qrs(signal, cfg.fs), dtype=torch.int64)
    return beats, {
        "fs": cfg.fs,
        "records": len(beats),
        "beats": int(sum(len(b) for b in beats.values())),
        "beats_per_record": {r: len(b) for r, b in beats.items()},
    }


def read_beats(path: str | Path) -> dict[str, np.ndarray]:
    """The detect stage's output: record id -> beat positions at the pipeline's rate."""
    path = Path(path)
    if not path.is_file():
        raise ECGError(
            f"{path}: detected beats not found (run the detect stage, or pass --beats none)"
        )
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise ECGError(f"{path}: not a detected-beats file ({type(err).__name__})") from None
    if not isinstance(data, dict) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise ECGError(f"{path}: not a detected-beats file")
    return {r: v.numpy() for r, v in data.items()}
