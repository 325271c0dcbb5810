"""`InputSpec`: how a recording becomes model input. The preprocess stage builds it from
params.yaml, the final checkpoint stores it, and inference prepares users' recordings by it,
so a model is always fed exactly as it was trained."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class InputSpec:
    lead: str  # the lead the model was trained on (MIT-BIH's MLII)
    fs: float  # Hz: every recording is resampled to this rate
    window: int  # samples at `fs` per scored window
    stride: int  # samples at `fs` between window starts
    bandpass_hz: list[float]  # [low, high] zero-phase Butterworth band-pass
    notch_hz: float  # mains notch (0: none)
    sqi_threshold: float  # training kept only windows at or above this signal quality
