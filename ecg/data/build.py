"""The MIT-BIH dataset files: records -> labelled, quality-filtered windows of every subject
(the preprocess stage's work). Which subjects train and which judge a model is decided later,
by the cross-validation plan (`ecg.train.plan`), never here. With an `augment` group of
copies > 0 and detected beats, the noisy copies' beat layout (`ecg.data.augment`) goes to
`windows_beats_noisy.pt`, gated by the same SQI threshold (a window the product would call
unreadable teaches nothing it will be asked)."""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ecg.core.errors import ECGError
from ecg.core.parallel import parallel_map
from ecg.core.storage import atomic_dir
from ecg.data.augment import AugmentConfig, augment_records, load_training_noise
from ecg.data.config import PreprocessConfig
from ecg.data.files import noisy_windows_file, save_mitbih, windows_file
from ecg.data.mitdb import MITDB
from ecg.data.windows import RecordWindows, windows_from_record


def select_records(cfg: PreprocessConfig, records: list[str] | None) -> list[str]:
    if records:
        unknown = [r for r in records if r not in MITDB.RECORDS]
        if unknown:
            raise ECGError(f"--records: {unknown[0]} is not a MIT-BIH record id")
        return list(records)
    return [r for r in MITDB.RECORDS if r not in set(cfg.exclude_records)]


_JOB: dict[str, Any] = {}


def _init(raw_dir: str, cfg: PreprocessConfig, beats, explicit: bool) -> None:
    _JOB.update(raw_dir=raw_dir, cfg=cfg, beats=beats, explicit=explicit)


def _windows_of(record_id: str) -> RecordWindows | str:
    cfg, beats = _JOB["cfg"], _JOB["beats"]
    db = MITDB(_JOB["raw_dir"])
    record = db.read_or_skip(record_id, lead=cfg.lead, explicit=_JOB["explicit"])
    if isinstance(record, str):
        return record
    if beats is not None and record_id not in beats:
        raise ECGError(f"record {record_id}: no detected beats (rerun the detect stage)")
    return windows_from_record(record, cfg, beats=None if beats is None else beats[record_id])


def process_records(
    raw_dir: str | Path,
    record_ids: list[str],
    cfg: PreprocessConfig,
    *,
    explicit: bool,
    beats: dict[str, np.ndarray] | None = None,
) -> list[RecordWindows]:
    """Window every record, records in parallel (`ecg.core.parallel`), results in record
    order; a record without the lead is skipped unless asked for by name."""
    MITDB(raw_dir).require_lead(record_ids, cfg.lead)
    args = (str(raw_dir), cfg, beats, explicit)
    results = parallel_map(_windows_of, record_ids, initializer=_init, initargs=args)
    out = []
    for res in results:
        if isinstance(res, str):
            warnings.warn(res, stacklevel=2)
        else:
            out.append(res)
    if not out:
        raise ECGError(f"{raw_dir}: no record has lead {cfg.lead}")
    return out


def _filter(rw: RecordWindows, threshold: float) -> RecordWindows:
    keep = rw.sqi >= threshold
    rows = {
        f.name: getattr(rw, f.name)
        for f in dataclasses.fields(rw)
        if isinstance(getattr(rw, f.name), np.ndarray)
    }
    return dataclasses.replace(rw, **{name: rows[name][keep] for name in rows})


def _meta(kept: list[RecordWindows]) -> dict[str, Any]:
    return dict(
        labels=np.concatenate([m.labels for m in kept]),
        patient_ids=[MITDB.subject(m.record_id) for m in kept for _ in m.labels],
        record_ids=[m.record_id for m in kept for _ in m.labels],
        start_samples=np.concatenate([m.start_samples for m in kept]),
        segment_confidence=np.concatenate([m.confidence for m in kept]),
        sqi_scores=np.concatenate([m.sqi for m in kept]),
        rhythm_classes=np.concatenate([m.rhythms for m in kept]),
    )


def _beat_meta(kept: list[RecordWindows]) -> dict[str, Any]:
    return dict(
        _meta(kept),
        beat_classes=np.concatenate([m.beat_classes for m in kept]),
        missed_beats=np.concatenate([m.missed_beats for m in kept]),
    )


def _write_windows(out_dir: Path, kept: list[RecordWindows], *, with_beats: bool) -> None:
    """`windows_ecg.pt` (and `windows_beats.pt`, `windows_beat_sync.pt`): the same rows, in
    record order."""
    meta = _meta(kept)
    signals = np.concatenate([m.signals for m in kept])
    save_mitbih(windows_file(out_dir, "waveform"), inputs=signals, **meta)
    if with_beats:
        meta = _beat_meta(kept)
        beat_rows = np.concatenate([m.beat_input for m in kept])
        save_mitbih(windows_file(out_dir, "beats"), inputs=beat_rows, **meta)
        views = np.concatenate([m.beat_sync for m in kept])
        save_mitbih(windows_file(out_dir, "beat_sync"), inputs=views, **meta)


def preprocess_mitbih(
    raw_dir: str | Path,
    out_dir: str | Path,
    cfg: PreprocessConfig,
    *,
    records: list[str] | None = None,
    beats: dict[str, np.ndarray] | None = None,
    augment: AugmentConfig | None = None,
    noise_dir: str | Path | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Write `windows_ecg.pt` under `out_dir` (and, given detected `beats`, the beat models'
    `windows_beats.pt` and DeepSNN's `windows_beat_sync.pt`, same windows and metadata; with
    `augment.copies` > 0 also `windows_beats_noisy.pt`, NSTDB noise from `noise_dir`);
    return the metrics dict."""
    record_ids = select_records(cfg, records)
    copies = augment.copies if augment is not None and beats is not None else 0
    noises = load_training_noise(noise_dir, augment.noises) if copies else {}
    windows = process_records(raw_dir, record_ids, cfg, explicit=bool(records), beats=beats)
    noisy: list[RecordWindows] = []
    if copies:
        used = [w.record_id for w in windows]
        noisy = augment_records(raw_dir, used, cfg, augment, noises, seed=seed)
    noisy_kept = [k for k in (_filter(rw, cfg.sqi_threshold) for rw in noisy) if len(k.labels)]
    kept = [_filter(rw, cfg.sqi_threshold) for rw in windows]
    empty = [k.record_id for k in kept if len(k.labels) == 0]
    for rid in empty:
        warnings.warn(f"record {rid}: every window is under sqi_threshold", stacklevel=2)
    kept = [k for k in kept if len(k.labels) > 0]
    if not kept:
        raise ECGError(f"{raw_dir}: every window is under preprocess.sqi_threshold")
    with atomic_dir(out_dir) as tmp:
        _write_windows(tmp, kept, with_beats=beats is not None)
        if noisy_kept:
            rows = np.concatenate([m.beat_input for m in noisy_kept])
            save_mitbih(noisy_windows_file(tmp), inputs=rows, **_beat_meta(noisy_kept))

    total = sum(len(w.labels) for w in windows)
    passed = sum(len(k.labels) for k in kept)
    all_labels = np.concatenate([w.labels for w in windows])
    kept_labels = np.concatenate([k.labels for k in kept])
    return {
        "sqi_threshold": cfg.sqi_threshold,
        "records_used": len(windows),
        "records_skipped": sorted(set(record_ids) - {w.record_id for w in windows}),
        "records_excluded": [] if records else list(cfg.exclude_records),
        "windows_total": int(total),
        "windows_kept": int(passed),
        "windows_dropped": int(total - passed),
        "sqi_pass_rate": round(passed / total, 4),
        "sqi_pass_rate_normal": round(float((kept_labels == 0).sum() / (all_labels == 0).sum()), 4)
        if (all_labels == 0).any()
        else None,
        "sqi_pass_rate_arrhythmia": round(
            float((kept_labels == 1).sum() / (all_labels == 1).sum()), 4
        )
        if (all_labels == 1).any()
        else None,
        "arrhythmia_share": round(float(kept_labels.mean()), 4),
        "records_losing_all_windows": empty,
        "subjects": len({MITDB.subject(k.record_id) for k in kept}),
        "augment": {
            "copies": copies,
            "noisy_windows_total": int(sum(len(w.labels) for w in noisy)),
            "noisy_windows_kept": int(sum(len(k.labels) for k in noisy_kept)),
        },
        "per_record": {
            w.record_id: {
                "windows": int(len(w.labels)),
                "kept": int((w.sqi >= cfg.sqi_threshold).sum()),
                "dropped": int((w.sqi < cfg.sqi_threshold).sum()),
                "arrhythmia_kept": int(w.labels[w.sqi >= cfg.sqi_threshold].sum()),
            }
            for w in windows
        },
    }
