"""Reading MIT-BIH records: one lead, selected by name, and the reference annotations."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import wfdb

from ecg.errors import ECGError

# PhysioNet mitdb 1.0.0, file RECORDS.
RECORDS: tuple[str, ...] = (
    "100 101 102 103 104 105 106 107 108 109 111 112 113 114 115 116 117 118 119 121 122 123 "
    "124 200 201 202 203 205 207 208 209 210 212 213 214 215 217 219 220 221 222 223 228 230 "
    "231 232 233 234"
).split()

# Records 201 and 202 were recorded from the same man (mitdb README); every split keeps them
# together under the subject id "201".
_SUBJECT_OF = {"202": "201"}

# Bits per sample of the WFDB storage formats, to spot a truncated .dat before decoding it.
_BITS = {"8": 8, "16": 16, "61": 16, "80": 8, "160": 16, "212": 12, "310": 10, "311": 10}


def subject_id(record_id: str) -> str:
    return _SUBJECT_OF.get(record_id, record_id)


@dataclass(frozen=True)
class Record:
    record_id: str
    signal: np.ndarray  # [n] float64, mV
    fs: float
    lead: str
    ann_samples: np.ndarray  # [k] int64, sample index at `fs`
    ann_symbols: list[str]
    ann_aux: list[str]  # rhythm text such as "(AFIB" on "+" annotations, else ""


class MissingLead(ECGError):
    """The record has no channel with the requested name."""


def _require(path: Path) -> None:
    if not path.is_file():
        raise ECGError(f"{path}: file not found")


def _check_dat_size(base: Path, header: wfdb.Record) -> None:
    expected = {}
    for name, fmt in zip(header.file_name, header.fmt, strict=True):
        if fmt not in _BITS:
            return
        expected[name] = expected.get(name, 0) + _BITS[fmt]
    for name, bits_per_frame in expected.items():
        dat = base.parent / name
        _require(dat)
        need = math.ceil(header.sig_len * bits_per_frame / 8)
        have = dat.stat().st_size
        if have < need:
            raise ECGError(
                f"{dat}: truncated ({have} bytes, header needs {need} for {header.sig_len} samples)"
            )


def read_record(directory: str | Path, record_id: str, *, lead: str = "MLII") -> Record:
    """Read one lead (by channel name) in mV and the `.atr` annotations of a record.

    Raises `MissingLead` if the record has no such channel, `ECGError` for a missing,
    truncated or unreadable file.
    """
    base = Path(directory) / record_id
    for ext in (".hea", ".dat", ".atr"):
        _require(base.with_suffix(ext))
    try:
        header = wfdb.rdheader(str(base))
    except Exception as err:  # wfdb raises many types for a corrupt header
        raise ECGError(f"{base}.hea: cannot parse header ({err})") from None
    if lead not in header.sig_name:
        raise MissingLead(
            f"record {record_id}: no {lead} lead (channels: {', '.join(header.sig_name)})"
        )
    _check_dat_size(base, header)
    channel = header.sig_name.index(lead)
    try:
        rec = wfdb.rdrecord(str(base), channels=[channel])
        ann = wfdb.rdann(str(base), "atr")
    except Exception as err:
        raise ECGError(f"{base}: cannot read record ({err})") from None
    signal = np.asarray(rec.p_signal[:, 0], dtype=np.float64)
    if not np.all(np.isfinite(signal)):
        # wfdb maps the format's invalid-sample code to NaN; hold the last valid value so
        # filtering does not spread NaN over the whole record.
        bad = ~np.isfinite(signal)
        if bad.all():
            raise ECGError(f"{base}.dat: no valid samples in lead {lead}")
        idx = np.where(~bad, np.arange(len(signal)), 0)
        np.maximum.accumulate(idx, out=idx)
        signal = signal[idx]
        signal[: np.argmax(~bad)] = signal[np.argmax(~bad)]
    aux = [(note or "").rstrip("\x00").strip() for note in ann.aux_note]
    return Record(
        record_id=record_id,
        signal=signal,
        fs=float(rec.fs),
        lead=lead,
        ann_samples=np.asarray(ann.sample, dtype=np.int64),
        ann_symbols=list(ann.symbol),
        ann_aux=aux,
    )


def read_records(
    directory: str | Path, record_ids: list[str], *, lead: str = "MLII", explicit: bool = False
) -> list[Record]:
    """Read several records; one without `lead` is skipped with a warning unless `explicit`."""
    out = []
    for rid in record_ids:
        try:
            out.append(read_record(directory, rid, lead=lead))
        except MissingLead as err:
            if explicit:
                raise
            warnings.warn(f"{err}: skipped", stacklevel=2)
    return out
