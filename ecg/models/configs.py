"""One config dataclass per architecture: a comment per field, checks next to the fields,
stored in every checkpoint (`ecg.models.checkpoint`) and rebuilt from it.

This module is deliberately light (no torch, no model code): params.yaml is checked against
these classes by every pipeline stage, and `CONFIGS` names the allowed architectures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ecg.core.config import check
from ecg.features.layout import MAX_BEATS, STEP_FEATURES, STEP_WINDOW

ENCODINGS = ("direct", "rate")  # DeepSNN's input
BEAT_ENCODINGS = ("events", "analog")  # BeatSNN's input: level-crossing events, or the values
RESETS = ("zero", "subtract")  # snnTorch's reset mechanisms; NIR's LIF resets to zero
VIEWS = ("raw", "beat_sync")  # DeepSNN's input: the window, or its beat-synchronous view
N_WINDOW = STEP_WINDOW  # window features at the end of every beat-layout step


def _check_neuron(beta: float, threshold: float, surrogate_slope: float, reset: str) -> None:
    check(0.0 < beta < 1.0, "beta", "in (0, 1)", beta)
    check(reset in RESETS, "reset", " or ".join(RESETS), reset)
    check(threshold > 0, "threshold", "> 0", threshold)
    check(surrogate_slope > 0, "surrogate_slope", "> 0", surrogate_slope)


def _check_hidden(config: object) -> None:
    # A list given in code (not through `from_mapping`) is stored as the declared tuple, so
    # that equal configs compare equal.
    hidden = tuple(config.hidden)
    object.__setattr__(config, "hidden", hidden)
    check(len(hidden) > 0 and min(hidden) >= 1, "hidden", "positive layer sizes", list(hidden))
    check(0.0 <= config.dropout < 1.0, "dropout", "in [0, 1)", config.dropout)


def _check_layout(num_steps: int, step_features: int, num_classes: int) -> None:
    check(num_steps >= 1, "num_steps", ">= 1", num_steps)
    check(step_features > N_WINDOW, "step_features", f"> {N_WINDOW}", step_features)
    check(num_classes >= 2, "num_classes", ">= 2", num_classes)


def _check_heads(config: object) -> None:
    check(config.num_classes == 2, "num_classes", "2 (Normal, Arrhythmia)", config.num_classes)
    for name in ("beat_classes", "rhythm_classes"):
        check(getattr(config, name) >= 2, name, ">= 2", getattr(config, name))


@dataclass(frozen=True)
class DeepSNNConfig:
    arch: ClassVar[str] = "deep"
    input_size: int = 2500  # samples per window (10 s at 250 Hz)
    hidden: tuple[int, ...] = (256, 128)  # hidden LIF layer sizes
    num_classes: int = 2  # Normal, Arrhythmia
    beta: float = 0.9  # membrane decay per step
    threshold: float = 1.0  # firing threshold U_thr
    num_steps: int = 100  # simulated time steps per window
    encoding: str = "direct"  # direct (analog current) | rate (Bernoulli spikes)
    rate_gain: float = 1.0  # rate encoding: spike probability = gain * min-max scaled sample
    surrogate_slope: float = 25.0  # k of the fast-sigmoid surrogate gradient
    reset: str = "zero"  # zero (NIR's LIF) | subtract (snnTorch's default)
    dropout: float = 0.5  # on hidden spikes during training, one mask per window
    view: str = "beat_sync"  # raw (the window) | beat_sync (ecg.features.beat_sync), same size

    def __post_init__(self) -> None:
        check(self.input_size >= 1, "input_size", "positive", self.input_size)
        check(self.view in VIEWS, "view", " or ".join(VIEWS), self.view)
        _check_hidden(self)
        check(self.num_classes >= 2, "num_classes", ">= 2", self.num_classes)
        _check_neuron(self.beta, self.threshold, self.surrogate_slope, self.reset)
        check(self.num_steps >= 1, "num_steps", "positive", self.num_steps)
        check(self.encoding in ENCODINGS, "encoding", " or ".join(ENCODINGS), self.encoding)
        check(self.rate_gain > 0, "rate_gain", "> 0", self.rate_gain)

    @property
    def input_width(self) -> int:
        """Values per window in the data file."""
        return self.input_size


@dataclass(frozen=True)
class BeatSNNConfig:
    arch: ClassVar[str] = "beat"
    num_steps: int = MAX_BEATS  # beats per window (padded with zero steps)
    step_features: int = STEP_FEATURES  # values per step: beat vector + window features
    hidden: tuple[int, ...] = (64, 32)  # hidden LIF layer sizes
    num_classes: int = 2  # Normal, Arrhythmia (derived from the two heads below)
    beat_classes: int = 4  # per-step readout: beat class (N, S, V, F)
    rhythm_classes: int = 6  # per-window readout: rhythm class, sinus first
    beta: float = 0.9  # membrane decay per step (beat)
    threshold: float = 1.0  # firing threshold U_thr
    surrogate_slope: float = 25.0  # k of the fast-sigmoid surrogate gradient
    reset: str = "zero"  # zero (NIR's LIF) | subtract (snnTorch's default)
    encoding: str = "events"  # events (level crossings of each value) | analog (the values)
    event_step: float = 0.1  # events: distance between levels, in the layout's units
    event_levels: int = 20  # events: levels on each side of 0 (values beyond are clipped)
    dropout: float = 0.2  # on hidden spikes during training, one mask per window

    def __post_init__(self) -> None:
        _check_layout(self.num_steps, self.step_features, self.num_classes)
        _check_hidden(self)
        _check_heads(self)
        _check_neuron(self.beta, self.threshold, self.surrogate_slope, self.reset)
        encodings = " or ".join(BEAT_ENCODINGS)
        check(self.encoding in BEAT_ENCODINGS, "encoding", encodings, self.encoding)
        check(self.event_step > 0, "event_step", "> 0", self.event_step)
        check(self.event_levels >= 1, "event_levels", ">= 1", self.event_levels)

    @property
    def input_width(self) -> int:
        return self.num_steps * self.step_features


@dataclass(frozen=True)
class BeatANNConfig:
    arch: ClassVar[str] = "beat_ann"
    num_steps: int = MAX_BEATS  # beats per window (padded with zero steps)
    step_features: int = STEP_FEATURES  # values per step: beat vector + window features
    hidden: tuple[int, ...] = (64, 32)  # hidden ReLU layer sizes
    num_classes: int = 2  # Normal, Arrhythmia (derived from the two heads below)
    beat_classes: int = 4  # per-step readout: beat class (N, S, V, F)
    rhythm_classes: int = 6  # per-window readout: rhythm class, sinus first
    dropout: float = 0.2  # on hidden activations during training, one mask per window

    def __post_init__(self) -> None:
        _check_layout(self.num_steps, self.step_features, self.num_classes)
        _check_hidden(self)
        _check_heads(self)

    @property
    def input_width(self) -> int:
        return self.num_steps * self.step_features


@dataclass(frozen=True)
class LogRegConfig:
    arch: ClassVar[str] = "logreg"
    num_steps: int = MAX_BEATS  # steps of the stored beat layout
    step_features: int = STEP_FEATURES  # values per step; the last ones are window features
    num_classes: int = 2  # Normal, Arrhythmia

    def __post_init__(self) -> None:
        _check_layout(self.num_steps, self.step_features, self.num_classes)

    @property
    def input_width(self) -> int:
        return self.num_steps * self.step_features


# Architecture name -> config class: the allowed `model.arch` and `crossval.models` values.
CONFIGS: dict[str, type] = {
    c.arch: c for c in (DeepSNNConfig, BeatSNNConfig, BeatANNConfig, LogRegConfig)
}
# The gradient-boosting baselines, compared beside the registered architectures: on the
# window features (`ecg.train.gbm`), and per beat with a rhythm booster (`ecg.train.beat_gbm`).
GBM = "gbm"
BEAT_GBM = "beat_gbm"
BOOSTED = (GBM, BEAT_GBM)
