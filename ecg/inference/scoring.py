"""Scoring a recording with the deployable model, through exactly the training pipeline's
preparation: condition the whole recording (`ecg.signal.record_windows`), detect QRS on it,
build each window's beat layout with patient context from the recording's past
(`ecg.features.window_input`), and average the ensemble members' probabilities.

A lone window (`score_window`) has no past: its context is the window itself, as for the
first window of a record.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ecg.core.device import one_thread
from ecg.core.errors import ECGError
from ecg.features.window_input import record_rows
from ecg.inference.deployed import DeployedModel
from ecg.signal.qrs import detect_qrs
from ecg.signal.record_windows import ConditionedRecord, condition_record
from ecg.signal.sqi import sqi
from ecg.signal.windows import beats_in_windows

COLUMNS = ("start_s", "end_s", "probability", "flag", "sqi", "beats", "heart_rate")


@dataclass(frozen=True)
class RecordScores:
    """Per scored window (the tail shorter than a window is not scored)."""

    start_s: np.ndarray  # window start, seconds from the recording's start
    end_s: np.ndarray
    probability: np.ndarray  # of Arrhythmia, mean over the ensemble members
    flag: np.ndarray  # int 0/1: probability >= threshold
    sqi: np.ndarray  # signal quality in [0, 1]; training used windows >= sqi_threshold
    beats: np.ndarray  # int, QRS complexes detected in the window
    heart_rate: np.ndarray  # bpm from the window's median RR (NaN below two beats)
    beat_times_s: np.ndarray  # every detected QRS, seconds
    threshold: float
    sqi_threshold: float
    duration_s: float  # of the whole recording

    def rows(self) -> list[dict[str, float | int]]:
        """One dict per window, keys `COLUMNS`."""
        return [
            {
                "start_s": round(float(s), 3),
                "end_s": round(float(e), 3),
                "probability": round(float(p), 6),
                "flag": int(f),
                "sqi": round(float(q), 4),
                "beats": int(b),
                "heart_rate": None if np.isnan(h) else round(float(h), 1),
            }
            for s, e, p, f, q, b, h in zip(
                self.start_s,
                self.end_s,
                self.probability,
                self.flag,
                self.sqi,
                self.beats,
                self.heart_rate,
                strict=True,
            )
        ]

    def summary(self) -> dict[str, float | int]:
        low = self.sqi < self.sqi_threshold
        return {
            "duration_s": round(self.duration_s, 1),
            "windows": int(len(self.flag)),
            "flagged": int(self.flag.sum()),
            "flagged_share": round(float(self.flag.mean()), 4) if len(self.flag) else 0.0,
            "low_quality_windows": int(low.sum()),
            "beats": int(len(self.beat_times_s)),
            "threshold": self.threshold,
        }


def check_rate(fs: float, model: DeployedModel, name: str) -> None:
    """A recording must hold the highest frequency the model's band-pass keeps."""
    high = max(model.input.bandpass_hz)
    if not fs > 2 * high:
        raise ECGError(
            f"{name}: sampling rate {fs:g} Hz is too low: the model's band-pass keeps up to "
            f"{high:g} Hz, which needs more than {2 * high:g} Hz"
        )


def condition(signal: np.ndarray, fs: float, model: DeployedModel, name: str) -> ConditionedRecord:
    """`signal` (any rate above the band-pass' Nyquist) prepared as the model was trained."""
    check_rate(fs, model, name)
    spec = model.input
    x = np.asarray(signal, dtype=np.float64)
    if x.ndim != 1:
        raise ECGError(f"{name}: expected one lead (a 1-D signal), got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ECGError(f"{name}: the signal holds NaN or infinite samples")
    return condition_record(
        x,
        fs,
        fs=spec.fs,
        window=spec.window,
        stride=spec.stride,
        band=(spec.bandpass_hz[0], spec.bandpass_hz[1]),
        notch=spec.notch_hz,
        name=name,
    )


def model_rows(rec: ConditionedRecord, beats: np.ndarray, model: DeployedModel) -> np.ndarray:
    """The model's input rows of every window of `rec`."""
    return record_rows(rec, beats) if model.scorer.input_kind == "beats" else rec.windows


@one_thread()
def probabilities(model: DeployedModel, rows: np.ndarray) -> np.ndarray:
    return model.probabilities(torch.from_numpy(np.ascontiguousarray(rows))).double().numpy()


def score_record(
    signal: np.ndarray, fs: float, model: DeployedModel, *, name: str = "recording"
) -> RecordScores:
    """Score every whole window of one lead `signal` sampled at `fs` Hz (any unit)."""
    rec = condition(signal, fs, model, name)
    beats = detect_qrs(rec.raw, rec.fs)
    prob = probabilities(model, model_rows(rec, beats, model))
    window = rec.windows.shape[1]
    per_window = beats_in_windows(beats, rec.starts, window)
    rate = np.array(
        [60.0 * rec.fs / np.median(np.diff(b)) if len(b) > 1 else np.nan for b in per_window]
    )
    return RecordScores(
        start_s=rec.starts / rec.fs,
        end_s=(rec.starts + window) / rec.fs,
        probability=prob,
        flag=(prob >= model.threshold).astype(np.int64),
        sqi=np.asarray(sqi(rec.raw_windows, rec.fs), dtype=np.float64),
        beats=np.array([len(b) for b in per_window], dtype=np.int64),
        heart_rate=rate,
        beat_times_s=beats / rec.fs,
        threshold=model.threshold,
        sqi_threshold=model.input.sqi_threshold,
        duration_s=len(signal) / fs,
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
