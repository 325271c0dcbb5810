"""Beat positions of every record from the QRS detector (the detect stage), and reading
them back. Detected, never reference, beats feed the beat models."""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from ecg.config import PreprocessConfig
from ecg.errors import ECGError
from ecg.preprocessing import resample
from ecg.qrs import detect_qrs
from ecg.records import RECORDS, MissingLead, read_record


def detect_records(
    raw_dir: str | Path, cfg: PreprocessConfig
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """QRS positions (at `cfg.fs`) of every non-excluded record that has the lead."""
    t0 = time.perf_counter()
    beats: dict[str, torch.Tensor] = {}
    records = [r for r in RECORDS if r not in set(cfg.exclude_records)]
    for rid in tqdm(records, desc="detect", unit="record", leave=False):
        try:
            record = read_record(raw_dir, rid, lead=cfg.lead)
        except MissingLead as err:
            warnings.warn(f"{err}: skipped", stacklevel=2)
            continue
        signal = resample(record.signal, record.fs, cfg.fs)
        beats[rid] = torch.as_tensor(detect_qrs(signal, cfg.fs), dtype=torch.int64)
    seconds = time.perf_counter() - t0
    return beats, {
        "fs": cfg.fs,
        "records": len(beats),
        "beats": int(sum(len(b) for b in beats.values())),
        "beats_per_record": {r: len(b) for r, b in beats.items()},
        "seconds": round(seconds, 2),
        "seconds_per_record": round(seconds / max(len(beats), 1), 3),
    }


def read_beats(path: str | Path) -> dict[str, np.ndarray]:
    """The detect stage's output: record id -> beat positions at the pipeline's rate."""
    path = Path(path)
    if not path.is_file():
        raise ECGError(
            f"{path}: detected beats not found (run the detect stage, or pass --beats none)"
        )
    data = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(data, dict) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise ECGError(f"{path}: not a detected-beats file")
    return {r: v.numpy() for r, v in data.items()}
