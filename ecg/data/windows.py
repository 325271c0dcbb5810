"""One record -> its labelled, quality-scored, normalised 10-s windows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecg.core.errors import ECGError
from ecg.data.config import PreprocessConfig
from ecg.data.labels import label_windows
from ecg.data.record import Record
from ecg.features.beat_features import beat_input
from ecg.signal.conditioning import bandpass_notch, normalise_window, resample
from ecg.signal.sqi import sqi
from ecg.signal.windows import beats_in_windows, segment_windows


@dataclass(frozen=True)
class RecordWindows:
    record_id: str
    signals: np.ndarray  # float32 [W, window], normalised
    labels: np.ndarray  # int64 [W]
    confidence: np.ndarray  # float32 [W]
    sqi: np.ndarray  # float32 [W]
    start_samples: np.ndarray  # int64 [W], in the record's own sampling rate
    beat_input: np.ndarray | None = None  # float32 [W, beat features], from detected beats


def windows_from_record(
    record: Record, cfg: PreprocessConfig, *, beats: np.ndarray | None = None
) -> RecordWindows:
    """Resample, filter the whole record (no edge effects inside windows), cut, label, score.

    SQI sees the resampled but unfiltered window, where baseline wander and high-frequency
    noise are still visible. With `beats` (detected positions at `cfg.fs`), the windows'
    beat-relative model input is computed too.
    """
    raw = resample(record.signal, record.fs, cfg.fs)
    starts = segment_windows(len(raw), cfg.window, cfg.stride)
    if len(starts) == 0:
        raise ECGError(
            f"record {record.record_id}: {len(raw) / cfg.fs:.1f} s of signal is shorter than "
            f"one {cfg.window / cfg.fs:.1f} s window"
        )
    filtered = bandpass_notch(raw, cfg.fs, band=tuple(cfg.bandpass_hz), notch=cfg.notch_hz)
    index = starts[:, None] + np.arange(cfg.window)
    scale = record.fs / cfg.fs
    starts_orig = np.round(starts * scale).astype(np.int64)
    labels = label_windows(
        starts_orig,
        int(round(cfg.window * scale)),
        record.ann_samples,
        record.ann_symbols,
        record.ann_aux,
        len(record.signal),
    )
    signals = normalise_window(filtered[index])
    return RecordWindows(
        record_id=record.record_id,
        signals=signals,
        labels=labels.labels,
        confidence=labels.confidence,
        sqi=np.asarray(sqi(raw[index], cfg.fs), dtype=np.float32),
        start_samples=starts_orig,
        beat_input=None
        if beats is None
        else beat_input(signals, beats_in_windows(beats, starts, cfg.window), cfg.fs),
    )
