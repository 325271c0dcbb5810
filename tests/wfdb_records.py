"""Small synthetic WFDB records (.hea/.dat/.atr) for tests.

`write_record` writes one record with ECG-like beats (P wave, QRS, T wave as Gaussian bumps)
at the given annotation samples; `write_mirror` writes a tiny stand-in for the whole
MIT-BIH Arrhythmia Database (all 48 record names) that the pipeline can run on end to end.

Only the first channel named `MLII` carries the ECG as is; every other channel carries the
same beats inverted and scaled, so a test can tell which channel a window came from.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import wfdb

from ecg.data.mitdb import MITDB

Beat = tuple[int, str]  # (sample, beat symbol such as "N", "V", "A")
Rhythm = tuple[int, str]  # (sample, rhythm such as "(N", "(AFIB"), written as a "+" annotation

# Channel names of the real database where they matter: 114 has MLII second, and the paced
# records 102 and 104 have no MLII at all.
MITDB_CHANNELS: dict[str, tuple[str, str]] = {
    "102": ("V5", "V2"),
    "104": ("V5", "V2"),
    "114": ("V5", "MLII"),
}
PACED = ("102", "104", "107", "217")

_ADC_GAIN = 200.0  # adu/mV, as in mitdb


def regular_beats(
    seconds: float, *, fs: int = 360, rr: float = 0.8, symbol: str = "N", first: float = 0.3
) -> list[Beat]:
    """Beats every `rr` seconds from `first` to the end of a `seconds`-long record."""
    times = np.arange(first, seconds - 0.2, rr)
    return [(int(round(t * fs)), symbol) for t in times]


def ecg_signal(
    n_samples: int, beats: Iterable[Beat], *, fs: int = 360, seed: int = 0
) -> np.ndarray:
    """A plausible single-lead ECG in mV: P-QRS-T bumps at the beat samples, a little baseline
    wander and noise. Ventricular beats (V, E, F) get a wide, tall QRS and no P wave."""
    t = np.arange(n_samples) / fs
    x = np.zeros(n_samples)

    def bump(centre: float, height: float, width: float) -> None:
        lo = max(0, int((centre - 5 * width) * fs))
        hi = min(n_samples, int((centre + 5 * width) * fs) + 1)
        x[lo:hi] += height * np.exp(-0.5 * ((t[lo:hi] - centre) / width) ** 2)

    for sample, symbol in beats:
        c = sample / fs
        if symbol in ("V", "E", "F"):
            bump(c, 1.6, 0.030)
            bump(c + 0.30, -0.4, 0.060)
        else:
            bump(c - 0.16, 0.12, 0.025)  # P
            bump(c - 0.025, -0.15, 0.008)  # Q
            bump(c, 1.1, 0.011)  # R
            bump(c + 0.03, -0.25, 0.010)  # S
            bump(c + 0.28, 0.30, 0.045)  # T
    rng = np.random.default_rng(seed)
    x += 0.05 * np.sin(2 * np.pi * 0.25 * t + rng.uniform(0, 2 * np.pi))
    x += rng.normal(0.0, 0.01, n_samples)
    return x


def write_record(
    directory: str | Path,
    name: str,
    *,
    seconds: float,
    beats: Sequence[Beat] = (),
    rhythms: Sequence[Rhythm] = (),
    sig_names: Sequence[str] = ("MLII", "V5"),
    fs: int = 360,
    fmt: str = "212",
    seed: int = 0,
    p_signal: np.ndarray | None = None,
) -> Path:
    """Write `name`.hea/.dat/.atr under `directory`; return the record's base path.

    `p_signal` ([n, channels], mV) replaces the generated signal when given.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    n = int(round(seconds * fs))
    if p_signal is None:
        ecg = ecg_signal(n, beats, fs=fs, seed=seed)
        columns = [ecg if s == "MLII" else -0.7 * ecg for s in sig_names]
        p_signal = np.stack(columns, axis=1)
    p_signal = np.asarray(p_signal, dtype=np.float64)
    n_sig = p_signal.shape[1]
    wfdb.wrsamp(
        name,
        fs=fs,
        units=["mV"] * n_sig,
        sig_name=list(sig_names),
        p_signal=p_signal,
        fmt=[fmt] * n_sig,
        adc_gain=[_ADC_GAIN] * n_sig,
        baseline=[0] * n_sig,
        write_dir=str(directory),
    )
    write_annotations(directory, name, beats=beats, rhythms=rhythms, fs=fs)
    return directory / name


def write_annotations(
    directory: str | Path,
    name: str,
    *,
    beats: Sequence[Beat] = (),
    rhythms: Sequence[Rhythm] = (),
    fs: int = 360,
) -> None:
    """Write `name`.atr: beats plus `+` rhythm-change annotations, in sample order."""
    events = [(int(s), sym, "") for s, sym in beats]
    events += [(int(s), "+", aux) for s, aux in rhythms]
    events.sort(key=lambda e: e[0])
    if not events:  # wrann needs at least one annotation
        events = [(0, "+", "(N")]
    wfdb.wrann(
        name,
        "atr",
        np.array([e[0] for e in events], dtype=np.int64),
        symbol=[e[1] for e in events],
        aux_note=[e[2] for e in events],
        fs=fs,
        write_dir=str(directory),
    )


def _mirror_record(rid: str, index: int, seconds: float, seed: int):
    """Beats and rhythms of one tiny-mirror record: about a third of its 10-s stretches
    are abnormal (V beats, S beats or a rhythm episode, by record), at least one is normal."""
    rng = np.random.default_rng([seed, int(rid)])
    fs = 360
    rr = rng.uniform(0.7, 0.95)
    beats = regular_beats(seconds, fs=fs, rr=rr, symbol="/" if rid in PACED else "N")
    rhythms: list[Rhythm] = [(1, "(N")]
    n_win = max(1, int(seconds // 10))
    n_abnormal = max(1, round(n_win / 3)) if n_win > 1 else 1
    n_abnormal = min(n_abnormal, n_win - 1) if n_win > 1 else 1
    chosen = sorted(rng.choice(n_win, size=n_abnormal, replace=False).tolist())
    kind = index % 4
    samples = np.array([b[0] for b in beats])
    for w in chosen:
        lo, hi = w * 10 * fs, (w + 1) * 10 * fs
        if kind == 3:  # a rhythm episode inside this stretch, then back to normal sinus
            rhythm = ("(AFIB", "(B", "(T", "(SVTA", "(AFL")[index % 5]
            rhythms += [(lo + 2 * fs, rhythm), (lo + 7 * fs, "(N")]
        else:
            symbol = {0: "V", 1: "A", 2: "F" if index % 8 == 2 else "V"}[kind]
            inside = np.flatnonzero((samples >= lo + fs) & (samples < hi - fs))
            for i in inside[: 1 + int(rng.integers(0, 3))]:
                beats[i] = (beats[i][0], symbol)
    return beats, rhythms


def write_mirror(directory: str | Path, *, seconds: float = 60, seed: int = 0) -> Path:
    """All 48 MIT-BIH record names with plausible beats under `directory` (plus a MITDB.RECORDS
    file, as PhysioNet has). Every record has normal and abnormal 10-s stretches, so any
    subject-wise split has both classes; 102 and 104 have no MLII, 114 has it second."""
    directory = Path(directory)
    for index, rid in enumerate(MITDB.RECORDS):
        beats, rhythms = _mirror_record(rid, index, seconds, seed)
        write_record(
            directory,
            rid,
            seconds=seconds,
            beats=beats,
            rhythms=rhythms,
            sig_names=MITDB_CHANNELS.get(rid, ("MLII", "V1")),
            seed=seed * 1000 + index,
        )
    (directory / "RECORDS").write_text("\n".join(MITDB.RECORDS) + "\n")
    return directory


def sha256_table(directory: str | Path) -> dict[str, str]:
    """{file name: SHA-256} of every record file under `directory` (to stand in for the
    published checksums of a synthetic mirror)."""
    directory = Path(directory)
    return {
        f"{rid}{ext}": hashlib.sha256((directory / f"{rid}{ext}").read_bytes()).hexdigest()
        for rid in MITDB.RECORDS
        for ext in (".hea", ".dat", ".atr")
    }


def write_noise(directory: str | Path, *, seconds: float = 120, seed: int = 0) -> Path:
    """NSTDB-like noise records bw, em and ma (two channels of filtered random noise, 360 Hz)
    under `directory`, for the augmentation tests; the real ones are not needed."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * 360))
    for name, smooth in (("bw", 200), ("em", 20), ("ma", 2)):
        x = np.cumsum(rng.normal(0.0, 0.1, (n, 2)), axis=0) if name == "bw" else None
        white = rng.normal(0.0, 0.2, (n + smooth, 2))
        kernel = np.ones(smooth) / smooth
        y = np.stack([np.convolve(white[:, c], kernel, mode="valid")[:n] for c in range(2)], 1)
        p_signal = y if x is None else 0.05 * x / max(np.abs(x).max(), 1e-9) + y
        write_record(directory, name, seconds=seconds, sig_names=("noise1", "noise2"),
                     p_signal=p_signal)  # fmt: skip
    return Path(directory)
