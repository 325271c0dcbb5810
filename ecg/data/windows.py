"""One record -> its labelled, quality-scored, normalised 10-s windows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecg.data.beat_labels import window_beat_labels
from ecg.data.config import PreprocessConfig
from ecg.data.labels import label_windows, rhythm_episodes
from ecg.data.record import Record
from ecg.data.rhythms import window_rhythms
from ecg.features.beat_sync import record_views
from ecg.features.layout import MAX_BEATS
from ecg.features.window_input import record_rows
from ecg.signal.record_windows import ConditionedRecord, condition_record
from ecg.signal.sqi import sqi

BEAT_TOLERANCE_S = 0.15  # a detected beat is the reference beat within 150 ms (EC57)


@dataclass(frozen=True)
class RecordWindows:
    record_id: str
    signals: np.ndarray  # float32 [W, window], normalised
    labels: np.ndarray  # int64 [W]
    confidence: np.ndarray  # float32 [W]
    sqi: np.ndarray  # float32 [W]
    start_samples: np.ndarray  # int64 [W], in the record's own sampling rate
    beat_input: np.ndarray | None = None  # float32 [W, beat features], from detected beats
    beat_sync: np.ndarray | None = None  # float32 [W, window], DeepSNN's beat-synchronous view
    rhythms: np.ndarray | None = None  # int64 [W], ecg.data.rhythms.RHYTHM_CLASSES index
    beat_classes: np.ndarray | None = None  # int64 [W, MAX_BEATS], ecg.data.beat_labels codes
    missed_beats: np.ndarray | None = None  # int64 [W, 5] reference beats no slot carries


def windows_from_record(
    record: Record, cfg: PreprocessConfig, *, beats: np.ndarray | None = None
) -> RecordWindows:
    """Resample, filter the whole record (no edge effects inside windows), cut, label, score.

    SQI sees the resampled but unfiltered window, where baseline wander and high-frequency
    noise are still visible. With `beats` (detected positions at `cfg.fs`), the windows'
    beat layout and beat-synchronous view are computed too.
    """
    rec = condition_record(
        record.signal,
        record.fs,
        fs=cfg.fs,
        window=cfg.window,
        stride=cfg.stride,
        band=tuple(cfg.bandpass_hz),
        notch=cfg.notch_hz,
        name=f"record {record.record_id}",
    )
    scale = record.fs / cfg.fs
    starts_orig = np.round(rec.starts * scale).astype(np.int64)
    labels = label_windows(
        starts_orig,
        int(round(cfg.window * scale)),
        record.ann_samples,
        record.ann_symbols,
        record.ann_aux,
        len(record.signal),
    )
    episodes = rhythm_episodes(
        record.ann_samples, record.ann_symbols, record.ann_aux, len(record.signal)
    )
    slots, missed = (None, None) if beats is None else beat_slots(record, beats, rec, cfg.fs)
    return RecordWindows(
        record_id=record.record_id,
        signals=rec.windows,
        labels=labels.labels,
        confidence=labels.confidence,
        sqi=np.asarray(
            sqi(rec.raw_windows, cfg.fs, mains_hz=cfg.notch_hz or None), dtype=np.float32
        ),
        start_samples=starts_orig,
        beat_input=None if beats is None else record_rows(rec, beats),
        beat_sync=None if beats is None else record_views(rec, beats),
        rhythms=window_rhythms(starts_orig, int(round(cfg.window * scale)), episodes),
        beat_classes=slots,
        missed_beats=missed,
    )


def beat_slots(
    record: Record, beats: np.ndarray, rec: ConditionedRecord, fs: float
) -> tuple[np.ndarray, np.ndarray]:
    """Each window's beat slots' AAMI codes and its missed reference beats, matched in the
    model's frame (`fs`), where the slots are cut, within `BEAT_TOLERANCE_S`."""
    ref = np.round(np.asarray(record.ann_samples) * (fs / record.fs)).astype(np.int64)
    return window_beat_labels(
        beats,
        rec.starts,
        rec.windows.shape[1],
        ref,
        record.ann_symbols,
        tolerance=int(round(BEAT_TOLERANCE_S * fs)),
        max_beats=MAX_BEATS,
    )
