"""Noisy training copies of the MIT-BIH records (the preprocess stage's `augment` group), so
that the beat-layout models have seen noise before they meet it.

Each copy of a record adds one NSTDB noise record (`ecg.data.nstdb`), throughout the whole
record as `benchmarks/noise_stress.py` does, at an SNR drawn uniformly from `snr_db` (NSTDB's
definition, `ecg.signal.noise`). Only the noise's first half is used (`TRAINING_HALF`; the
benchmark uses the second), circularly shifted by a random offset and repeated to the
record's length. The noise record, offset and SNR come from an RNG seeded by (seed, copy,
record id): the same seed gives the same bytes, whatever the number of workers. Beats are
detected on the noisy signal with the detect stage's detector; labels are the clean
record's (noise does not change the rhythm).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ecg.core.config import check
from ecg.core.errors import ECGError
from ecg.core.parallel import parallel_map
from ecg.data.config import PreprocessConfig
from ecg.data.labels import aami_class
from ecg.data.mitdb import MITDB
from ecg.data.nstdb import NOISE_RECORDS, TRAINING_HALF, load_nstdb_noise, noise_half
from ecg.data.record import Record
from ecg.data.windows import RecordWindows, windows_from_record
from ecg.signal.conditioning import resample
from ecg.signal.noise import add_noise, qrs_peak_to_peak
from ecg.signal.qrs import detect_qrs


@dataclass(frozen=True)
class AugmentConfig:
    """params.yaml `augment` (read by the preprocess stage)."""

    copies: int  # noisy copies of each record for the beat-layout models' training; 0: off
    snr_db: list[float]  # [low, high]: each copy's SNR is drawn uniformly from it
    noises: list[str]  # NSTDB noise records drawn from (bw, em, ma)

    def __post_init__(self) -> None:
        check(self.copies >= 0, "copies", "a non-negative integer", self.copies)
        snr = self.snr_db
        check(len(snr) == 2 and snr[0] <= snr[1], "snr_db", "[low, high] with low <= high", snr)
        check(len(self.noises) > 0, "noises", "a non-empty list", self.noises)
        for name in self.noises:
            check(name in NOISE_RECORDS, "noises", f"a list of {', '.join(NOISE_RECORDS)}", name)


Noise = tuple[np.ndarray, float]  # (training half of a noise record, its fs)


def load_training_noise(directory: str | Path | None, names: list[str]) -> dict[str, Noise]:
    """The training half of each named NSTDB noise record in `directory`."""
    if directory is None or not all((Path(directory) / f"{n}.hea").is_file() for n in names):
        raise ECGError(
            f"{directory}: no NSTDB noise records {names} (augment.copies > 0 needs them: "
            "run the download stage or pass --noise_dir)"
        )
    out = {}
    for name in names:
        signal, fs = load_nstdb_noise(directory, name)
        out[name] = (noise_half(signal, TRAINING_HALF), fs)
    return out


def copy_rng(seed: int, record_id: str, copy: int) -> np.random.Generator:
    return np.random.default_rng([seed, copy, *map(ord, record_id)])


def noisy_signal(
    record: Record, noises: dict[str, Noise], aug: AugmentConfig, rng: np.random.Generator
) -> np.ndarray:
    """`record`'s signal plus a random noise record's training half at a random SNR."""
    name = aug.noises[int(rng.integers(len(aug.noises)))]
    half, fs = noises[name]
    half = resample(half, fs, record.fs)  # both databases are 360 Hz; kept explicit
    offset = int(rng.integers(len(half)))
    snr = float(rng.uniform(aug.snr_db[0], aug.snr_db[1]))
    noise = np.resize(np.roll(half, -offset), len(record.signal))
    beats = record.ann_samples[[aami_class(s) is not None for s in record.ann_symbols]]
    qrs_pp = qrs_peak_to_peak(record.signal, beats, record.fs)
    return add_noise(record.signal, noise, snr_db=snr, qrs_pp=qrs_pp)


def noisy_copies(
    record: Record,
    cfg: PreprocessConfig,
    aug: AugmentConfig,
    noises: dict[str, Noise],
    *,
    seed: int,
) -> list[RecordWindows]:
    """`aug.copies` noisy versions of `record`, windowed with beats detected on each."""
    out = []
    for copy in range(aug.copies):
        signal = noisy_signal(record, noises, aug, copy_rng(seed, record.record_id, copy))
        beats = detect_qrs(resample(signal, record.fs, cfg.fs), cfg.fs)
        noisy = dataclasses.replace(record, signal=signal)
        out.append(windows_from_record(noisy, cfg, beats=beats))
    return out


_JOB: dict[str, Any] = {}


def _init(raw_dir: str, cfg, aug, noises, seed: int) -> None:
    _JOB.update(raw_dir=raw_dir, cfg=cfg, aug=aug, noises=noises, seed=seed)


def _copies_of(record_id: str) -> list[RecordWindows]:
    j = _JOB
    record = MITDB(j["raw_dir"]).read(record_id, lead=j["cfg"].lead)
    return noisy_copies(record, j["cfg"], j["aug"], j["noises"], seed=j["seed"])


def augment_records(
    raw_dir: str | Path,
    record_ids: list[str],
    cfg: PreprocessConfig,
    aug: AugmentConfig,
    noises: dict[str, Noise],
    *,
    seed: int,
) -> list[RecordWindows]:
    """Every noisy copy of every record (records in parallel), in record then copy order."""
    args = (str(raw_dir), cfg, aug, noises, seed)
    results = parallel_map(_copies_of, record_ids, initializer=_init, initargs=args)
    return [rw for copies in results for rw in copies]
