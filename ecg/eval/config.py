"""The evaluation section of params.yaml."""

from __future__ import annotations

from dataclasses import dataclass

from ecg.core.config import check


@dataclass(frozen=True)
class BootstrapConfig:
    samples: int  # resamples of the subject bootstrap
    confidence_level: float  # of every interval, e.g. 0.95

    def __post_init__(self) -> None:
        check(self.samples > 0, "samples", "a positive integer", self.samples)
        check(
            0 < self.confidence_level < 1,
            "confidence_level",
            "in (0, 1)",
            self.confidence_level,
        )
