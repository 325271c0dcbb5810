"""The noise records of the MIT-BIH Noise Stress Test Database (NSTDB): baseline wander (`bw`),
electrode motion (`em`) and muscle artefact (`ma`), for the SQI tests and benchmarks."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import wfdb

NOISE_RECORDS = ("bw", "em", "ma")


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
