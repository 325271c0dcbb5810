"""One lead of a WFDB record in mV, with its annotations when it has them."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import wfdb

from ecg.core.errors import ECGError

# Bits per sample of the WFDB storage formats, to spot a truncated .dat before decoding it.
_BITS = {"8": 8, "16": 16, "61": 16, "80": 8, "160": 16, "212": 12, "310": 10, "311": 10}


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


def require_file(path: Path) -> None:
    if not path.is_file():
        raise ECGError(f"{path}: file not found")


def read_header(base: Path) -> wfdb.Record:
    require_file(base.with_suffix(".hea"))
    try:
        return wfdb.rdheader(str(base))
    except Exception as err:  # wfdb raises many types for a corrupt header
        raise ECGError(f"{base}.hea: cannot parse header ({err})") from None


def check_dat_size(base: Path, header: wfdb.Record) -> None:
    """`ECGError` naming a missing or truncated signal file, before wfdb decodes it."""
    expected: dict[str, int] = {}
    for name, fmt in zip(header.file_name, header.fmt, strict=True):
        if fmt not in _BITS:
            return
        expected[name] = expected.get(name, 0) + _BITS[fmt]
    for name, bits_per_frame in expected.items():
        dat = base.parent / name
        require_file(dat)
        need = math.ceil(header.sig_len * bits_per_frame / 8)
        have = dat.stat().st_size
        if have < need:
            raise ECGError(
                f"{dat}: truncated ({have} bytes, header needs {need} for {header.sig_len} samples)"
            )


def hold_invalid(signal: np.ndarray, where: str) -> np.ndarray:
    """Replace NaN samples (wfdb's invalid-sample code) by the last valid value, so filtering
    does not spread NaN over the whole record."""
    bad = ~np.isfinite(signal)
    if not bad.any():
        return signal
    if bad.all():
        raise ECGError(f"{where}: no valid samples")
    idx = np.where(~bad, np.arange(len(signal)), 0)
    np.maximum.accumulate(idx, out=idx)
    signal = signal[idx]
    signal[: np.argmax(~bad)] = signal[np.argmax(~bad)]
    return signal


def read_wfdb_lead(base: Path, lead: str, *, annotator: str) -> Record:
    """Read channel `lead` (by name) in mV and the `annotator` annotations of record `base`.

    Raises `MissingLead` if the record has no such channel, `ECGError` for a missing,
    truncated or unreadable file.
    """
    base = Path(base)
    require_file(base.with_suffix(f".{annotator}"))
    header = read_header(base)
    if lead not in header.sig_name:
        raise MissingLead(
            f"record {base.name}: no {lead} lead (channels: {', '.join(header.sig_name)})"
        )
    check_dat_size(base, header)
    channel = header.sig_name.index(lead)
    try:
        rec = wfdb.rdrecord(str(base), channels=[channel])
        ann = wfdb.rdann(str(base), annotator)
    except Exception as err:
        raise ECGError(f"{base}: cannot read record ({err})") from None
    signal = hold_invalid(
        np.asarray(rec.p_signal[:, 0], dtype=np.float64), f"{base}.dat: lead {lead}"
    )
    aux = [(note or "").rstrip("\x00").strip() for note in ann.aux_note]
    return Record(
        record_id=base.name,
        signal=signal,
        fs=float(rec.fs),
        lead=lead,
        ann_samples=np.asarray(ann.sample, dtype=np.int64),
        ann_symbols=list(ann.symbol),
        ann_aux=aux,
    )
