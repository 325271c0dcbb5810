"""The beat models' readout, read three ways: each beat's class, the window's rhythm, and the
window flag derived from both.

At step t (detected beat t) the readout holds `beat_classes` values, beat t's class logits
(N, S, V, F), then `rhythm_classes` values; averaged over the steps, these are the window's
rhythm logits (sinus first). A window is Normal only when its rhythm is sinus and each of its
beats is N, so, treating them as independent,

    P(normal) = P(rhythm sinus) * prod over present beats t of P(beat t is N)

and the window logits [B, 2] are [log P(normal), log P(arrhythmia)]: their softmax is that
probability, so scoring, thresholds and ensembles read them as any model's logits. The flag
follows the label rule (any S, V or F beat, or any non-sinus rhythm) and nothing else.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

LOG_HALF = -math.log(2.0)
# P(arrhythmia) never rounds to 0: a window read as surely normal still has a finite loss
MAX_LOG_NORMAL = -1e-6


class Heads(NamedTuple):
    window: Tensor  # [B, 2] logits: log P(normal), log P(arrhythmia)
    beats: Tensor  # [B, T, beat_classes] logits per step
    rhythm: Tensor  # [B, rhythm_classes] logits


def log1mexp(x: Tensor, split: float = LOG_HALF) -> Tensor:
    """log(1 - exp(x)) for x < 0, accurate at both ends (Maechler 2012); each branch gets
        inputs it is finite on, so neither poisons the gradient of the other (constants are
    arguments so that TorchScript compiles it)."""
    near = torch.log(-torch.expm1(x.clamp(min=split)))
    far = torch.log1p(-torch.exp(x.clamp(max=split)))
    return torch.where(x > split, near, far)


def window_logits(
    beats: Tensor, rhythm: Tensor, present: Tensor, max_log_normal: float = MAX_LOG_NORMAL
) -> Tensor:
    """Beat logits [B, T, C], rhythm logits [B, R], `present` [B, T] (True on detected beats)
    -> window logits [B, 2]."""
    beat_normal = F.log_softmax(beats, dim=-1)[..., 0] * present.to(beats.dtype)
    log_normal = F.log_softmax(rhythm, dim=-1)[:, 0] + beat_normal.sum(1)
    log_normal = log_normal.clamp(max=max_log_normal)
    return torch.stack([log_normal, log1mexp(log_normal)], dim=1)


def init_prior(readout: nn.Linear, beat_classes: int, p_normal: float = 0.97) -> None:
    """Start the readout at the classes' prior (Lin et al. 2017): a beat reads N and the
    rhythm sinus with probability `p_normal`; otherwise the untrained product over ~20
    beats of P(N) ~ 1/4 puts every window's score at 1.0 and nothing ranks."""
    rhythm_classes = readout.out_features - beat_classes
    with torch.no_grad():
        for first, classes in ((0, beat_classes), (beat_classes, rhythm_classes)):
            readout.bias[first : first + classes] = 0.0
            readout.bias[first] = math.log(p_normal * (classes - 1) / (1 - p_normal))


def read_heads(readout: Tensor, present: Tensor, beat_classes: int) -> Heads:
    """`readout` [T, B, beat_classes + rhythm_classes], `present` [B, T] -> the outputs."""
    beats = readout[..., :beat_classes].transpose(0, 1)
    rhythm = readout[..., beat_classes:].mean(0)
    return Heads(window_logits(beats, rhythm, present), beats, rhythm)
