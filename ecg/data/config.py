"""The data sections of params.yaml (`download`, `preprocess`, `synthesize`), each checked
next to its fields."""

from __future__ import annotations

from dataclasses import dataclass

from ecg.core.config import check
from ecg.data.mitdb import MITDB
from ecg.signal.input_spec import InputSpec
from ecg.signal.sqi import MIN_FS as SQI_MIN_FS


@dataclass(frozen=True)
class DownloadConfig:
    verify_checksums: bool  # SHA-256 of every record file against mitdb/nstdb 1.0.0


@dataclass(frozen=True)
class PreprocessConfig:
    lead: str  # channel name read from each record (records without it are skipped)
    fs: int  # Hz: every record is resampled to this rate
    window: int  # samples at `fs` per window
    stride: int  # samples at `fs` between window starts (== window: no overlap)
    bandpass_hz: list[float]  # [low, high] of the zero-phase Butterworth band-pass
    notch_hz: float  # mains notch in Hz; 0 turns it off
    exclude_records: list[str]  # mitdb record ids left out (the paced records)
    sqi_threshold: float  # windows scoring below it are dropped

    def __post_init__(self) -> None:
        check(bool(self.lead.strip()), "lead", "a channel name", self.lead)
        check(self.fs >= SQI_MIN_FS, "fs", f"at least {SQI_MIN_FS} Hz (the SQI needs it)", self.fs)
        check(self.window > 0, "window", "a positive number of samples", self.window)
        check(self.stride > 0, "stride", "a positive number of samples", self.stride)
        band = self.bandpass_hz
        check(len(band) == 2, "bandpass_hz", "two frequencies [low, high]", band)
        check(0 < band[0] < band[1] < self.fs / 2, "bandpass_hz", "0 < low < high < fs/2", band)
        check(
            self.notch_hz == 0 or 0 < self.notch_hz < self.fs / 2,
            "notch_hz",
            f"0 (off) or between 0 and fs/2 = {self.fs / 2:g} Hz",
            self.notch_hz,
        )
        unknown = [r for r in self.exclude_records if r not in MITDB.RECORDS]
        check(not unknown, "exclude_records", "mitdb record ids", unknown)
        check(0.0 <= self.sqi_threshold <= 1.0, "sqi_threshold", "in [0, 1]", self.sqi_threshold)

    def input_spec(self) -> InputSpec:
        """What a trained model needs to know of its input (stored in the final model)."""
        return InputSpec(
            lead=self.lead,
            fs=float(self.fs),
            window=self.window,
            stride=self.stride,
            bandpass_hz=list(self.bandpass_hz),
            notch_hz=self.notch_hz,
            sqi_threshold=self.sqi_threshold,
        )


@dataclass(frozen=True)
class SynthesizeConfig:
    n_train: int  # synthetic training windows
    n_val: int  # synthetic validation windows
    arrhythmia_fraction: float  # share of arrhythmic windows in each split

    def __post_init__(self) -> None:
        # Pretraining needs both classes in both splits.
        check(self.n_train >= 2, "n_train", "at least 2 windows", self.n_train)
        check(self.n_val >= 2, "n_val", "at least 2 windows", self.n_val)
        check(
            0 < self.arrhythmia_fraction < 1,
            "arrhythmia_fraction",
            "strictly between 0 and 1",
            self.arrhythmia_fraction,
        )
