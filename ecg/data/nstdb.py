"""The noise records of the MIT-BIH Noise Stress Test Database (NSTDB): baseline wander (`bw`),
electrode motion (`em`) and muscle artefact (`ma`), for the SQI tests, the benchmarks and the
training augmentation (`ecg.data.augment`).

Each noise record is split in two halves that never meet: training adds the first half
(`TRAINING_HALF`), `benchmarks/noise_stress.py` the second (`BENCHMARK_HALF`), so a model is
never judged on noise it trained on.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import wfdb

NOISE_RECORDS = ("bw", "em", "ma")
TRAINING_HALF, BENCHMARK_HALF = "training", "benchmark"


def load_nstdb_noise(
    directory: str | os.PathLike, name: str, *, channel: int = 0
) -> tuple[np.ndarray, float]:
    """One channel of an NSTDB noise record (`bw`, `em` or `ma`) -> (signal [n], fs).

    The headers have gain 0 (uncalibrated), so wfdb reads them at its default 200 units/mV;
    the units do not matter because `add_noise` rescales the noise to the requested SNR.
    NSTDB adds channel 0 of the noise to channel 0 of the ECG, hence the default.
    """
    if name not in NOISE_RECORDS:
        raise ValueError(f"unknown NSTDB noise record {name!r}; expected one of {NOISE_RECORDS}")
    record = wfdb.rdrecord(str(Path(directory) / name), channels=[channel])
    return np.asarray(record.p_signal[:, 0], dtype=np.float64), float(record.fs)


def noise_half(noise: np.ndarray, half: str) -> np.ndarray:
    """The first (`TRAINING_HALF`) or second (`BENCHMARK_HALF`) half of a noise signal."""
    middle = len(noise) // 2
    if half == TRAINING_HALF:
        return noise[:middle]
    if half == BENCHMARK_HALF:
        return noise[middle:]
    raise ValueError(f"unknown half {half!r}; expected {TRAINING_HALF!r} or {BENCHMARK_HALF!r}")
