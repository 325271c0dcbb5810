"""Scoring a recording with the deployable model, through exactly the training pipeline's
preparation: condition the whole recording (`ecg.signal.record_windows`), detect QRS on it,
build each window's beat layout with patient context from the recording's past
(`ecg.features.window_input`; a DeepSNN: the window or its beat-synchronous view,
`ecg.features.beat_sync`), and average the ensemble members' probabilities.

A lone window (`score_window`) has no past: its context is the window itself, as for the
first window of a record. Missing samples and flat-line dropouts are found first
(`ecg.signal.gaps`): a window with more than a QRS-length of them is unreadable, never
flagged; the mains notch and the quality index follow the recording's own mains frequency.
A beat model also says each detected beat's class and each window's rhythm
(`ecg.inference.beat_classes`).
Each window also gets beat-free VT/VF evidence (`ecg.signal.ventricular`) and a verdict
(`ecg.inference.verdicts`): normal, arrhythmia, vt_vf or unreadable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ecg.core.device import reproducible_compute
from ecg.core.errors import ECGError
from ecg.data.record import hold_invalid
from ecg.features.beat_sync import record_views
from ecg.features.grouped import median
from ecg.features.window_input import record_rows
from ecg.inference.beat_classes import (
    beat_readouts,
    readout_rows,
    readout_summary,
)
from ecg.inference.deployed import DeployedModel
from ecg.inference.verdicts import verdict_counts, window_verdicts
from ecg.signal.gaps import MAX_SCORED_GAP_S, gap_runs, gap_seconds, missing_mask
from ecg.signal.mains import detect_mains
from ecg.signal.organisation import organised
from ecg.signal.qrs import detect_qrs
from ecg.signal.record_windows import ConditionedRecord, condition_record
from ecg.signal.sqi import sqi
from ecg.signal.ventricular import ventricular_evidence, vt_vf_rule
from ecg.signal.windows import beats_in_windows

COLUMNS = ("start_s", "end_s", "status", "probability", "flag", "sqi", "low_quality",
           "gap_s", "beats", "heart_rate", "verdict")  # fmt: skip
STATUS = ("normal", "arrhythmia", "unreadable")


@dataclass(frozen=True)
class RecordScores:
    """Per scored window (the tail shorter than a window is not scored)."""

    start_s: np.ndarray  # window start, seconds from the recording's start
    end_s: np.ndarray
    probability: np.ndarray  # of Arrhythmia, mean over the ensemble members (NaN: unreadable)
    flag: np.ndarray  # int 0/1: readable and probability >= threshold
    readable: np.ndarray  # bool: at most MAX_SCORED_GAP_S of missing signal
    gap_s: np.ndarray  # seconds of missing or flat-line signal in the window (filled)
    sqi: np.ndarray  # signal quality in [0, 1]; training used windows >= sqi_threshold
    beats: np.ndarray  # int, QRS complexes detected in the window
    heart_rate: np.ndarray  # bpm from the median RR; NaN unless readable, good, organised
    beat_times_s: np.ndarray  # every detected QRS, seconds
    vt_vf: np.ndarray  # bool: beat-free evidence of a sustained ventricular rhythm
    dominant_hz: np.ndarray  # the window's dominant 0.5-9 Hz frequency (VT vs VF label)
    gaps: list[tuple[float, float]]  # (start, duration) s of every run of missing signal
    threshold: float
    sqi_threshold: float
    mains_hz: float | None  # notched and left out of the quality index (None: no notch)
    duration_s: float  # of the whole recording
    # A beat model's readouts (`ecg.inference.beat_classes`; None for a model without them):
    beat_class: np.ndarray | None = None  # per beat_times_s: PREDICTED_CLASSES index or -1
    rhythm: np.ndarray | None = None  # per window: RHYTHM_CLASSES index, -1 when unreadable
    beat_counts: np.ndarray | None = None  # [windows, PREDICTED_CLASSES] classified beats

    @property
    def verdict(self) -> np.ndarray:
        """normal, arrhythmia, vt_vf or unreadable per window (`ecg.inference.verdicts`)."""
        good = self.sqi >= self.sqi_threshold
        return window_verdicts(self.readable, good, self.vt_vf, self.flag)

    @property
    def status(self) -> list[str]:
        return [
            "unreadable" if not ok else STATUS[int(f)]
            for ok, f in zip(self.readable, self.flag, strict=True)
        ]

    def rows(self) -> list[dict[str, float | int | str | None]]:
        """One dict per window, keys `COLUMNS` then `READOUT_COLUMNS` (None: no value)."""
        low = self.sqi < self.sqi_threshold
        rows = [
            {
                "start_s": round(float(s), 3),
                "end_s": round(float(e), 3),
                "status": st,
                "probability": None if np.isnan(p) else round(float(p), 6),
                "flag": int(f),
                "sqi": round(float(q), 4),
                "low_quality": int(lq),
                "gap_s": round(float(g), 3),
                "beats": int(b),
                "heart_rate": None if np.isnan(h) else round(float(h), 1),
                "verdict": v,
            }
            for s, e, st, p, f, q, lq, g, b, h, v in zip(
                self.start_s,
                self.end_s,
                self.status,
                self.probability,
                self.flag,
                self.sqi,
                low,
                self.gap_s,
                self.beats,
                self.heart_rate,
                self.verdict,
                strict=True,
            )  # fmt: skip
        ]
        extras = readout_rows(self.rhythm, self.beat_counts, len(rows))
        return [row | extra for row, extra in zip(rows, extras, strict=True)]

    def summary(self) -> dict[str, float | int | None]:
        low = self.sqi < self.sqi_threshold
        summary = {
            "duration_s": round(self.duration_s, 1),
            "windows": int(len(self.flag)),
            "flagged": int(self.flag.sum()),
            "flagged_share": round(float(self.flag.mean()), 4) if len(self.flag) else 0.0,
            "unreadable_windows": int((~self.readable).sum()),
            "low_quality_windows": int(low.sum()),
            "verdicts": verdict_counts(self.verdict),
            "missing_signal_s": round(sum(d for _, d in self.gaps), 3),
            "beats": int(len(self.beat_times_s)),
            "threshold": self.threshold,
            "mains_hz": self.mains_hz,
        }
        return summary | readout_summary(self.beat_counts)


def check_rate(fs: float, model: DeployedModel, name: str) -> None:
    """A recording must hold the highest frequency the model's band-pass keeps."""
    high = max(model.input.bandpass_hz)
    if not fs > 2 * high:
        raise ECGError(
            f"{name}: sampling rate {fs:g} Hz is too low: the model's band-pass keeps up to "
            f"{high:g} Hz, which needs more than {2 * high:g} Hz"
        )


def condition(
    x: np.ndarray, fs: float, model: DeployedModel, name: str, *, notch_hz: float
) -> ConditionedRecord:
    """Finite `x` (any rate above the band-pass' Nyquist) prepared as the model was trained,
    with the mains notch at `notch_hz` (0: none)."""
    spec = model.input
    return condition_record(
        x,
        fs,
        fs=spec.fs,
        window=spec.window,
        stride=spec.stride,
        band=(spec.bandpass_hz[0], spec.bandpass_hz[1]),
        notch=notch_hz,
        name=name,
    )


def mains_frequency(x: np.ndarray, fs: float, model: DeployedModel, mains: str) -> float | None:
    """`mains`: "auto" (the recording's hum, else the model's notch), "50", "60" or "off"."""
    if mains == "off":
        return None
    if mains == "auto":
        found = detect_mains(x, fs)
        return found if found is not None else (model.input.notch_hz or None)
    hz = float(mains)
    return hz if hz < fs / 2 else None


def model_rows(rec: ConditionedRecord, beats: np.ndarray, model: DeployedModel) -> np.ndarray:
    """The model's input rows of every window of `rec`, built as preprocess builds them."""
    kind = model.scorer.input_kind
    if kind == "beats":
        return record_rows(rec, beats)
    return record_views(rec, beats) if kind == "beat_sync" else rec.windows


@reproducible_compute()
def readouts(
    model: DeployedModel, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """(probability of Arrhythmia [W], beat-class probabilities [W, T, C] or None, rhythm
    probabilities [W, R] or None) of every row, float64."""
    out = model.readouts(torch.from_numpy(np.ascontiguousarray(rows)))
    return tuple(None if t is None else t.double().numpy() for t in out)


def score_record(
    signal: np.ndarray,
    fs: float,
    model: DeployedModel,
    *,
    name: str = "recording",
    mains: str = "auto",
) -> RecordScores:
    """Score every whole window of one lead `signal` sampled at `fs` Hz (any unit; NaN for
    missing samples). `mains`: "auto", "50", "60" or "off" (see `mains_frequency`)."""
    check_rate(fs, model, name)
    x = np.asarray(signal, dtype=np.float64)
    if x.ndim != 1:
        raise ECGError(f"{name}: expected one lead (a 1-D signal), got shape {x.shape}")
    missing = missing_mask(x, fs)
    if missing.all():
        raise ECGError(f"{name}: no valid samples (missing or flat line throughout)")
    x = hold_invalid(x, name)
    mains_hz = mains_frequency(x, fs, model, mains)
    rec = condition(x, fs, model, name, notch_hz=mains_hz or 0.0)
    beats = detect_qrs(rec.raw, rec.fs)
    window = rec.windows.shape[1]
    start_s, end_s = rec.starts / rec.fs, (rec.starts + window) / rec.fs
    gap_s = gap_seconds(missing, fs, start_s, end_s)
    readable = gap_s <= MAX_SCORED_GAP_S
    prob, beat_probs, rhythm_probs = readouts(model, model_rows(rec, beats, model))
    prob[~readable] = np.nan
    raw = rec.raw_windows
    quality = np.asarray(sqi(raw, rec.fs, mains_hz=mains_hz), dtype=np.float64)
    evidence = ventricular_evidence(raw, rec.fs)
    vt_vf = vt_vf_rule(evidence)
    per_window = beats_in_windows(beats, rec.starts, window)
    # A rate only where beats are beats: readable, of good quality, and not a fibrillation-
    # like oscillation whose waves the QRS detector would count.
    countable = readable & (quality >= model.input.sqi_threshold)
    countable[countable] = organised(raw[countable], rec.fs)
    rate = np.array(
        [60.0 * rec.fs / median(np.diff(b)) if len(b) > 1 and ok else np.nan
         for b, ok in zip(per_window, countable, strict=True)]
    )  # fmt: skip
    return RecordScores(
        start_s=start_s,
        end_s=end_s,
        probability=prob,
        flag=(readable & (prob >= model.threshold)).astype(np.int64),
        readable=readable,
        gap_s=gap_s,
        sqi=quality,
        beats=np.array([len(b) for b in per_window], dtype=np.int64),
        heart_rate=rate,
        beat_times_s=beats / rec.fs,
        vt_vf=vt_vf,
        dominant_hz=evidence["dominant_hz"],
        gaps=gap_runs(missing, fs),
        threshold=model.threshold,
        sqi_threshold=model.input.sqi_threshold,
        mains_hz=mains_hz,
        duration_s=len(signal) / fs,
        # beats are classified where the verdict rests on them: not in unreadable or VT/VF
        # windows, whose detected "beats" may be noise or fibrillation waves
        **beat_readouts(
            beats,
            rec.starts,
            window,
            readable & (quality >= model.input.sqi_threshold) & ~vt_vf,
            beat_probs,
            rhythm_probs,
        ),
    )


def score_window(signal: np.ndarray, fs: float, model: DeployedModel) -> float:
    """Probability of Arrhythmia of one window-long `signal` with no recording around it:
    the window is its own history, exactly as the first window of a recording."""
    seconds = model.input.window / model.input.fs
    if not seconds <= len(signal) / fs < 2 * seconds:
        raise ECGError(
            f"window: expected one {seconds:g} s window, got {len(signal) / fs:.1f} s "
            "(score_record scores longer recordings)"
        )
    return float(score_record(signal, fs, model, name="window").probability[0])
