"""Anyone's recording as one lead in physical units: WFDB records (any rate, any lead name,
annotations not needed), EDF files (pyEDFlib), CSV and NumPy files (with their rate given).

`RECORD` follows wfdb's convention: a WFDB record is named by its path without extension
(`data/100` for `data/100.hea` + `.dat`); EDF, CSV and NumPy files by their file name.

A file's own rate wins: WFDB and EDF headers state it; a CSV may state it in a first comment
line (`# fs=500`), and a CSV or NumPy file in a sidecar `<file>.json` (`{"fs": 500}`); `--fs`
gives the rate of files that state none, so one batch can mix formats and rates. Missing
samples stay NaN: scoring finds them (`ecg.signal.gaps`).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecg.core.errors import ECGError
from ecg.data.record import check_dat_size, read_header
from ecg.inference.leads import pick_channel


@dataclass(frozen=True)
class Recording:
    name: str  # file name without extension: the stem of every output
    signal: np.ndarray  # [n] float64
    fs: float  # Hz
    lead: str  # the channel read
    channels: list[str]  # every channel of the source
    units: str  # physical unit of `signal` as the file states it ("" when it does not)
    fs_source: str = "header"  # where the rate came from: header, sidecar or --fs


def read_recording(
    path: str | Path,
    *,
    lead: str | None = None,
    lead_index: int | None = None,
    fs: float | None = None,
    default_lead: str,
) -> Recording:
    """Read one lead of `path` (see the module docstring); `fs` is the rate of a file that
    states none."""
    path = Path(path)
    kind = path.suffix.lower()
    pick = dict(lead=lead, index=lead_index, default=default_lead)
    if kind == ".edf":
        rec = _read_edf(path, pick)
    elif kind in (".csv", ".npy"):
        own, source = _stated_rate(path)
        rate = own if own is not None else fs
        if rate is None:
            raise ECGError(
                f"{path}: a {kind} file states no sampling rate: give it with --fs HZ, a first "
                f"line '# fs=HZ' (CSV) or {path.name}.json {{\"fs\": HZ}}"
            )
        read = _read_csv if kind == ".csv" else _read_npy
        rec = read(path, pick, _rate(rate, f"{path}: --fs"))
        rec = dataclasses.replace(rec, fs_source=source or "--fs")
    else:
        rec = _read_wfdb(path, pick)
    if not rec.fs > 0:
        raise ECGError(f"{path}: sampling rate must be positive, got {rec.fs}")
    if len(rec.signal) and not np.isfinite(rec.signal).any():
        raise ECGError(f"{path}: lead {rec.lead}: no valid samples")
    return rec


def _rate(value: object, where: str) -> float:
    """A sampling rate: a finite positive number (not a bool)."""
    try:
        if isinstance(value, bool):
            raise ValueError
        fs = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ECGError(f"{where}: sampling rate must be a number in Hz, got {value!r}") from None
    if not (math.isfinite(fs) and fs > 0):
        raise ECGError(f"{where}: sampling rate must be a positive finite Hz, got {value!r}")
    return fs


def _text_lines(path: Path) -> list[str]:
    """The file's lines; a UTF-8 byte-order mark (Excel's "CSV UTF-8") is not text."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            return f.readlines()
    except UnicodeDecodeError as err:
        raise ECGError(
            f"{path}: not UTF-8 text (byte {err.start}): save the CSV as UTF-8"
        ) from None


def _stated_rate(path: Path) -> tuple[float | None, str | None]:
    """The rate a sidecar JSON or a CSV's first line states, and which."""
    sidecar = path.with_name(path.name + ".json")
    if sidecar.is_file():
        try:
            value = json.loads(sidecar.read_text())["fs"]
        except (ValueError, KeyError, TypeError):
            raise ECGError(f'{sidecar}: expected {{"fs": HZ}}') from None
        return _rate(value, str(sidecar)), "sidecar"
    if path.suffix.lower() == ".csv" and path.is_file():
        lines = _text_lines(path)
        match = re.match(r"\s*#.*\bfs\s*[=:]\s*(\S+)", lines[0] if lines else "")
        if match:
            return _rate(match.group(1).rstrip(",;"), f"{path}: line 1"), "header"
    return None, None


def _read_wfdb(base: Path, pick: dict) -> Recording:
    import wfdb

    if base.suffix in (".hea", ".dat"):
        base = base.with_suffix("")
    header = read_header(base)
    index = pick_channel(list(header.sig_name), **pick, where=f"record {base}")
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


def _read_edf(path: Path, pick: dict) -> Recording:
    import pyedflib

    if not path.is_file():
        raise ECGError(f"{path}: file not found")
    try:
        reader = pyedflib.EdfReader(str(path))
    except OSError as err:
        raise ECGError(f"{path}: not a readable EDF file ({err})") from None
    try:
        labels = [label.strip() for label in reader.getSignalLabels()]
        index = pick_channel(labels, **pick, where=str(path))
        signal = np.asarray(reader.readSignal(index), dtype=np.float64)
        fs = float(reader.getSampleFrequency(index))
        units = reader.getPhysicalDimension(index).strip()
    finally:
        reader.close()
    return Recording(path.stem, signal, fs, labels[index], labels, units)


def _read_csv(path: Path, pick: dict, fs: float) -> Recording:
    """A CSV of numbers, one column per channel, with or without a header row; lines that
    start with '#' are comments. An empty cell or 'nan' is a missing sample, and so is a
    blank line between samples (how a one-column CSV writes NaN); blank lines before the
    first row and after the last are not samples. Errors name the file's own line number."""
    if not path.is_file():
        raise ECGError(f"{path}: file not found")
    numbered = [(n, line) for n, line in enumerate(_text_lines(path), start=1)
                if not line.lstrip().startswith("#")]  # fmt: skip
    rows = [(n, [c.strip() for c in row]) for (n, _), row in
            zip(numbered, csv.reader(line for _, line in numbered), strict=True)]  # fmt: skip
    while rows and not any(rows[-1][1]):
        rows.pop()
    while rows and not any(rows[0][1]):
        rows.pop(0)
    if not rows:
        raise ECGError(f"{path}: empty CSV")
    header = rows[0][1] if not _numeric(rows[0][1]) else None
    body = rows[1:] if header is not None else rows
    if not body:
        raise ECGError(f"{path}: no data rows under the header")
    width = len(header) if header is not None else max(len(r) for _, r in body)
    channels = header if header is not None else [str(i) for i in range(width)]
    index = pick_channel(channels, **pick, where=str(path))
    values = np.empty(len(body))
    for i, (line, row) in enumerate(body):
        cell = row[index] if index < len(row) else ""  # a short or blank row: missing
        try:
            values[i] = float(cell) if cell else np.nan
        except ValueError:
            raise ECGError(
                f"{path}: line {line}, column {channels[index]!r}: not a number ({cell!r})"
            ) from None
    return Recording(path.stem, values, float(fs), channels[index], channels, "")


def _numeric(row: list[str]) -> bool:
    """Every non-empty cell is a number (a data row, not a header)."""
    try:
        [float(c) for c in row if c]
    except ValueError:
        return False
    return any(row)


def _read_npy(path: Path, pick: dict, fs: float) -> Recording:
    if not path.is_file():
        raise ECGError(f"{path}: file not found")
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as err:
        raise ECGError(f"{path}: not a NumPy array file ({err})") from None
    if array.ndim != 1 or not np.issubdtype(array.dtype, np.number):
        raise ECGError(f"{path}: expected a 1-D numeric array, got {array.dtype} {array.shape}")
    pick_channel(["0"], **{**pick, "default": "0"}, where=str(path))  # a --lead must say 0
    return Recording(path.stem, array.astype(np.float64), float(fs), "0", ["0"], "")
