"""The beat layout as the beat models read it (`ecg.features.layout`): step t is detected beat
t (a zero beat vector for padding) followed by the window's standardised features.

Shared by BeatSNN, BeatANN and LogisticBaseline: reshaping the stored input and counting the
multiply-accumulates of a first layer that skips padding.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ecg.core.errors import ECGError
from ecg.features.layout import BEAT_FEATURES
from ecg.models.configs import N_WINDOW

_PRESENT = BEAT_FEATURES.index("present")


def as_steps(x: Tensor, num_steps: int, step_features: int) -> Tensor:
    """Stored [B, num_steps * step_features] or per-step [B, T, step_features] -> [B, T, F]."""
    if x.dim() == 2 and x.shape[1] == num_steps * step_features:
        return x.view(x.shape[0], num_steps, step_features)
    if x.dim() == 3 and x.shape[2] == step_features:
        return x
    raise ECGError(
        f"model input must be [B, {num_steps * step_features}] or [B, T, {step_features}], "
        f"got {list(x.shape)}"
    )


def present_beats(steps: Tensor) -> Tensor:
    """Present (non-padding) beats per window [B] from [B, T, F] input."""
    return (steps[:, :, _PRESENT] != 0).sum(1).to(torch.float64)


def first_layer_macs(steps: Tensor, hidden: int) -> Tensor:
    """[B] MACs of a per-step first layer that computes the window-feature part once per
    window and the beat part only on present beats (it is zero on padding)."""
    beat_part = steps.shape[2] - N_WINDOW
    return (N_WINDOW + present_beats(steps) * beat_part) * hidden
