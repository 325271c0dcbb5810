"""The preprocess stage's work: records -> quality-filtered windows -> subject-wise splits."""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from ecg.config import PreprocessConfig
from ecg.data import save_mitbih
from ecg.errors import ECGError
from ecg.records import RECORDS, MissingLead, read_record, subject_id
from ecg.splits import SPLITS, dechazal_split, patient_split
from ecg.windows import RecordWindows, windows_from_record


def _process(
    raw_dir: str, record_id: str, cfg: PreprocessConfig, beats: dict[str, np.ndarray] | None
) -> RecordWindows | str:
    try:
        record = read_record(raw_dir, record_id, lead=cfg.lead)
    except MissingLead as err:
        return str(err)
    if beats is not None and record_id not in beats:
        raise ECGError(f"record {record_id}: no detected beats (rerun the detect stage)")
    return windows_from_record(record, cfg, beats=None if beats is None else beats[record_id])


def select_records(cfg: PreprocessConfig, records: list[str] | None) -> list[str]:
    if records:
        unknown = [r for r in records if r not in RECORDS]
        if unknown:
            raise ECGError(f"--records: {unknown[0]} is not a MIT-BIH record id")
        return list(records)
    return [r for r in RECORDS if r not in set(cfg.exclude_records)]


def process_records(
    raw_dir: str | Path,
    record_ids: list[str],
    cfg: PreprocessConfig,
    *,
    explicit: bool,
    beats: dict[str, np.ndarray] | None = None,
) -> list[RecordWindows]:
    """Window every record; a record without the lead is skipped unless asked for by name."""
    # One process is enough: 44 records take about 2 s, and results stay in record order.
    # The bar must be closed before an error is printed, or the message lands on its line.
    with tqdm(record_ids, desc="preprocess", unit="record", leave=False) as bar:
        results = [_process(str(raw_dir), rid, cfg, beats) for rid in bar]
    out = []
    for res in results:
        if isinstance(res, str):
            if explicit:
                raise ECGError(res)
            warnings.warn(f"{res}: skipped", stacklevel=2)
        else:
            out.append(res)
    if not out:
        raise ECGError(f"{raw_dir}: no record has lead {cfg.lead}")
    return out


def assign_splits(kept: list[RecordWindows], cfg: PreprocessConfig, *, seed: int) -> dict[str, str]:
    ids = [r.record_id for r in kept]
    n = np.array([len(r.labels) for r in kept])
    a = np.array([int(r.labels.sum()) for r in kept])
    fractions = tuple(cfg.split_fractions)
    if cfg.split == "dechazal":
        return dechazal_split(
            ids, n, a, seed=seed, fractions=fractions, min_subjects=cfg.min_subjects_per_split
        )
    return patient_split(
        ids,
        n,
        a,
        seed=seed,
        fractions=fractions,
        min_subjects=cfg.min_subjects_per_split,
        max_share_gap=cfg.max_share_gap,
    )


def _filter(rw: RecordWindows, threshold: float) -> RecordWindows:
    keep = rw.sqi >= threshold
    return RecordWindows(
        rw.record_id,
        rw.signals[keep],
        rw.labels[keep],
        rw.confidence[keep],
        rw.sqi[keep],
        rw.start_samples[keep],
        None if rw.beat_input is None else rw.beat_input[keep],
    )


def preprocess_mitbih(
    raw_dir: str | Path,
    out_dir: str | Path,
    cfg: PreprocessConfig,
    *,
    seed: int,
    records: list[str] | None = None,
    beats: dict[str, np.ndarray] | None = None,
) -> dict[str, Any]:
    """Write `{train,val,test}_ecg.pt` under `out_dir` (and, given detected `beats`, the
    beat models' `{split}_beats.pt`, same windows and metadata); return the metrics dict."""
    t0 = time.perf_counter()
    record_ids = select_records(cfg, records)
    windows = process_records(raw_dir, record_ids, cfg, explicit=bool(records), beats=beats)
    kept = [_filter(rw, cfg.sqi_threshold) for rw in windows]
    empty = [k.record_id for k in kept if len(k.labels) == 0]
    for rid in empty:
        warnings.warn(f"record {rid}: every window is under sqi_threshold", stacklevel=2)
    kept = [k for k in kept if len(k.labels) > 0]
    split_of = assign_splits(kept, cfg, seed=seed)

    out_dir = Path(out_dir)
    per_split: dict[str, dict[str, Any]] = {}
    # Check every split before writing any, so a failure leaves no partial output.
    members_of = {s: [k for k in kept if split_of.get(k.record_id) == s] for s in SPLITS}
    for split, members in members_of.items():
        if not members:
            raise ECGError(f"split {split}: no windows (too few records for the split)")
    for split in SPLITS:
        members = members_of[split]
        labels = np.concatenate([m.labels for m in members])
        if len(np.unique(labels)) < 2:
            warnings.warn(f"split {split}: a single class", stacklevel=2)
        meta = dict(
            labels=labels,
            patient_ids=[subject_id(m.record_id) for m in members for _ in m.labels],
            record_ids=[m.record_id for m in members for _ in m.labels],
            start_samples=np.concatenate([m.start_samples for m in members]),
            segment_confidence=np.concatenate([m.confidence for m in members]),
            sqi_scores=np.concatenate([m.sqi for m in members]),
        )
        save_mitbih(
            out_dir / f"{split}_ecg.pt",
            signals=np.concatenate([m.signals for m in members]),
            **meta,
        )
        if beats is not None:
            save_mitbih(
                out_dir / f"{split}_beats.pt",
                signals=np.concatenate([m.beat_input for m in members]),
                **meta,
            )
        per_split[split] = {
            "windows": int(len(labels)),
            "arrhythmia": int(labels.sum()),
            "normal": int(len(labels) - labels.sum()),
            "arrhythmia_share": round(float(labels.mean()), 4),
            "subjects": sorted({subject_id(m.record_id) for m in members}),
            "n_subjects": len({subject_id(m.record_id) for m in members}),
            "records": [m.record_id for m in members],
        }

    total = sum(len(w.labels) for w in windows)
    passed = sum(len(k.labels) for k in kept)
    all_labels = np.concatenate([w.labels for w in windows])
    kept_labels = np.concatenate([k.labels for k in kept])
    return {
        "split": cfg.split,
        "seed": seed,
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
        "subject_overlap_note": (
            "dechazal keeps the published DS1/DS2 lists: records 201 (train/val) and 202 "
            "(test) are one subject"
            if cfg.split == "dechazal"
            else "none: split by subject"
        ),
        "splits": per_split,
        "per_record": {
            w.record_id: {
                "windows": int(len(w.labels)),
                "kept": int((w.sqi >= cfg.sqi_threshold).sum()),
                "dropped": int((w.sqi < cfg.sqi_threshold).sum()),
                "arrhythmia_kept": int(w.labels[w.sqi >= cfg.sqi_threshold].sum()),
                "split": split_of.get(w.record_id, "none"),
            }
            for w in windows
        },
        "seconds": round(time.perf_counter() - t0, 2),
    }
