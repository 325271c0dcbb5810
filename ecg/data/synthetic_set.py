"""The synthetic pretraining set: train and val windows from independent seeds, as raw
windows (`*_ecg.pt`), and as the beat layout (`*_beats.pt`) and the beat-synchronous view
(`*_beat_sync.pt`) of their detected beats."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from ecg.core.parallel import parallel_map
from ecg.core.storage import atomic_dir, save_torch
from ecg.data.config import PreprocessConfig, SynthesizeConfig
from ecg.data.synthetic import TYPES, generate
from ecg.features.beat_features import detect_beats
from ecg.features.beat_sync import lone_views
from ecg.features.window_input import lone_rows

_CHUNK = 1000  # windows per parallel job


def _beat_inputs(job: tuple[np.ndarray, float]) -> tuple[np.ndarray, np.ndarray]:
    """(beat-layout rows, beat-synchronous views) of synthetic windows, from their detected
    beats, each window its own history."""
    windows, fs = job
    beats = detect_beats(windows, fs)
    return lone_rows(windows, beats, fs), lone_views(windows, beats, fs)


def derived_seed(seed: int, stream: int) -> int:
    """An independent, reproducible seed per split (val must not replay train's draws)."""
    return int(np.random.SeedSequence([seed, stream]).generate_state(1)[0])


def split_metrics(labels: np.ndarray, meta: dict[str, np.ndarray]) -> dict[str, Any]:
    hr = meta["mean_hr"]
    return {
        "windows": int(len(labels)),
        "per_class": {"normal": int((labels == 0).sum()), "arrhythmia": int(labels.sum())},
        "per_type": {name: int((meta["type_code"] == i).sum()) for i, name in enumerate(TYPES)},
        "mean_hr_bpm": {
            "normal": round(float(hr[labels == 0].mean()), 2) if (labels == 0).any() else None,
            "arrhythmia": round(float(hr[labels == 1].mean()), 2) if (labels == 1).any() else None,
        },
    }


def write_synthetic_set(
    syn: SynthesizeConfig,
    pre: PreprocessConfig,
    *,
    seed: int,
    out_dir: str | Path,
    beats_dir: str | Path,
) -> dict[str, Any]:
    """Generate both splits, then replace `out_dir` and `beats_dir` whole; return metrics."""
    splits = {"train": (syn.n_train, seed), "val": (syn.n_val, derived_seed(seed, 1))}
    metrics: dict[str, Any] = {"seeds": {}, "splits": {}}
    files: dict[str, dict[str, Any]] = {}
    for name, (n, split_seed) in splits.items():
        signals, labels, meta = generate(
            n,
            seed=split_seed,
            arrhythmia_fraction=syn.arrhythmia_fraction,
            fs=pre.fs,
            window=pre.window,
            band=tuple(pre.bandpass_hz),
            notch=pre.notch_hz,
            return_meta=True,
        )
        files[f"{name}_ecg.pt"] = {
            "inputs": torch.from_numpy(signals),
            "labels": torch.from_numpy(labels),
        }
        chunks = [(signals[i : i + _CHUNK], pre.fs) for i in range(0, len(signals), _CHUNK)]
        rows, views = zip(*parallel_map(_beat_inputs, chunks), strict=True)
        for suffix, inputs in (("beats", rows), ("beat_sync", views)):
            files[f"{name}_{suffix}.pt"] = {
                "inputs": torch.from_numpy(np.concatenate(inputs)),
                "labels": torch.from_numpy(labels),
            }
        metrics["seeds"][name] = split_seed
        metrics["splits"][name] = split_metrics(labels, meta)
    for folder, suffixes in ((out_dir, ("_ecg.pt",)), (beats_dir, ("_beats.pt", "_beat_sync.pt"))):
        with atomic_dir(folder) as tmp:
            for file_name, data in files.items():
                if file_name.endswith(suffixes):
                    save_torch(data, tmp / file_name)
    return metrics
