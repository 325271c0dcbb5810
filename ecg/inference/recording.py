"""Anyone's recording as one lead in physical units: WFDB records (any rate, any lead name,
annotations not needed), EDF files (pyEDFlib), CSV and NumPy files (with their rate given).

`RECORD` follows wfdb's convention: a WFDB record is named by its path without extension
(`data/100` for `data/100.hea` + `.dat`); EDF, CSV and NumPy files by their file name.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecg.core.errors import ECGError
from ecg.data.record import check_dat_size, hold_invalid, read_header

FILE_KINDS = (".edf", ".csv", ".npy")


@dataclass(frozen=True)
class Recording:
    name: str  # file name without extension: the stem of every output
    signal: np.ndarray  # [n] float64
    fs: float  # Hz
    lead: str  # the channel read
    channels: list[str]  # every channel of the source
    units: str  # physical unit of `signal` as the file states it ("" when it does not)


def pick_channel(channels: list[str], lead: str | None, default: str, where: str) -> int:
    """Index of `lead` (a name, or an index written as digits) among `channels`.

    Without `lead`: the model's own lead `default` when present, else the only channel; a
    multi-channel source without it must be told which lead to use, as the model was
    trained on one lead and another one can look quite different.
    """
    listing = ", ".join(channels) if channels else "none"
    if lead is None:
        if default in channels:
            return channels.index(default)
        if len(channels) == 1:
            return 0
        raise ECGError(
            f"{where}: no {default} lead (the model's); pick one with --lead NAME|INDEX "
            f"(channels: {listing})"
        )
    if lead in channels:
        return channels.index(lead)
    if lead.isdigit() and int(lead) < len(channels):
        return int(lead)
    raise ECGError(f"{where}: no lead {lead!r} (channels: {listing})")


def read_recording(
    path: str | Path, *, lead: str | None = None, fs: float | None = None, default_lead: str
) -> Recording:
    """Read one lead of `path` (see the module docstring). `fs` is required for CSV and
    NumPy files and, when given for WFDB or EDF, must agree with the file's own rate."""
    path = Path(path)
    kind = path.suffix.lower()
    if kind == ".edf":
        rec = _read_edf(path, lead, default_lead)
    elif kind in (".csv", ".npy"):
        if fs is None:
            raise ECGError(f"{path}: a {kind} file has no sampling rate: give it with --fs HZ")
        rec = _read_csv(path, lead, fs, default_lead) if kind == ".csv" else _read_npy(path, fs)
    else:
        rec = _read_wfdb(path, lead, default_lead)
    if fs is not None and abs(fs - rec.fs) > 1e-6 and kind not in (".csv", ".npy"):
        raise ECGError(f"{path}: --fs {fs:g} Hz disagrees with the file's own {rec.fs:g} Hz")
    if not rec.fs > 0:
        raise ECGError(f"{path}: sampling rate must be positive, got {rec.fs}")
    signal = hold_invalid(rec.signal, f"{path}: lead {rec.lead}")
    return Recording(rec.name, signal, rec.fs, rec.lead, rec.channels, rec.units)


def _read_wfdb(base: Path, lead: str | None, default_lead: str) -> Recording:
    import wfdb

    if base.suffix in (".hea", ".dat"):
        base = base.with_suffix("")
    header = read_header(base)
    index = pick_channel(list(header.sig_name), lead, default_lead, f"record {base}")
    check_dat_size(base, header)
    try:
        rec = wfdb.rdrecord(str(base), channels=[index])
    except Exception as err:  # wfdb raises many types for unreadable signal files
        raise ECGError(f"{base}: cannot read record ({err})") from None
    return Recording(
        name=base.name,
        signal=np.asarray(rec.p_signal[:, 0], dtype=np.float64),
        fs=float(rec.fs),
        lead=header.sig_name[index],
        channels=list(header.sig_name),
        units=(rec.units or [""])[0] or "",
    )


def _read_edf(path: Path, lead: str | None, default_lead: str) -> Recording:
    import pyedflib

    if not path.is_file():
        raise ECGError(f"{path}: file not found")
    try:
        reader = pyedflib.EdfReader(str(path))
    except OSError as err:
        raise ECGError(f"{path}: not a readable EDF file ({err})") from None
    try:
        labels = [label.strip() for label in reader.getSignalLabels()]
        index = pick_channel(labels, lead, default_lead, str(path))
        signal = np.asarray(reader.readSignal(index), dtype=np.float64)
        fs = float(reader.getSampleFrequency(index))
        units = reader.getPhysicalDimension(index).strip()
    finally:
        reader.close()
    return Recording(path.stem, signal, fs, labels[index], labels, units)


def _read_csv(path: Path, lead: str | None, fs: float, default_lead: str) -> Recording:
    """A CSV of numbers, one column per channel, with or without a header row."""
    if not path.is_file():
        raise ECGError(f"{path}: file not found")
    with open(path, newline="") as f:
        rows = [row for row in csv.reader(f) if row and any(c.strip() for c in row)]
    if not rows:
        raise ECGError(f"{path}: empty CSV")
    header = rows[0] if not _numeric(rows[0]) else None
    body = rows[1:] if header is not None else rows
    width = len(header) if header is not None else len(body[0]) if body else 0
    channels = [h.strip() for h in header] if header else [str(i) for i in range(width)]
    if not body:
        raise ECGError(f"{path}: no data rows under the header")
    index = pick_channel(channels, lead, default_lead, str(path))
    values = np.empty(len(body))
    for line, row in enumerate(body, start=2 if header else 1):
        try:
            values[line - (2 if header else 1)] = float(row[index])
        except (ValueError, IndexError):
            cell = row[index] if index < len(row) else "(missing)"
            raise ECGError(
                f"{path}: line {line}, column {channels[index]!r}: not a number ({cell!r})"
            ) from None
    return Recording(path.stem, values, float(fs), channels[index], channels, "")


def _numeric(row: list[str]) -> bool:
    try:
        [float(c) for c in row]
    except ValueError:
        return False
    return True


def _read_npy(path: Path, fs: float) -> Recording:
    if not path.is_file():
        raise ECGError(f"{path}: file not found")
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as err:
        raise ECGError(f"{path}: not a NumPy array file ({err})") from None
    if array.ndim != 1 or not np.issubdtype(array.dtype, np.number):
        raise ECGError(f"{path}: expected a 1-D numeric array, got {array.dtype} {array.shape}")
    return Recording(path.stem, array.astype(np.float64), float(fs), "0", ["0"], "")
