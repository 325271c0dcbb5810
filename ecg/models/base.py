"""What every registered model provides, and the output they all return.

A model is built from its config dataclass alone (`Model(config)`, kept as `model.config`),
reads raw windows (`input_kind = "waveform"`), the beat layout (`"beats"`) or the beat-
synchronous view (`"beat_sync"`; DeepSNN's kind follows its config), returns a `ModelOutput`
whose `logits` [B, 2] rank windows finely, and reports its per-window cost with `cost(x)`: the
same keys for every model, so that evaluation and cross-validation compare like with like.
"""

from __future__ import annotations

from typing import Any, ClassVar, NamedTuple

import torch
from torch import Tensor, nn


class ModelOutput(NamedTuple):
    """The forward pass of every model, spiking or not (a non-spiking model, `BeatANN` or
    `LogisticBaseline`, returns all-zero `spikes` of the readout's shape)."""

    spikes: Tensor  # [T, B, N] spikes of the last hidden layer (zeros for a non-spiking model)
    membrane: Tensor  # [T, B, outputs] the readout at each step
    logits: Tensor  # [B, 2] window logits (Normal, Arrhythmia)
    beat_logits: Tensor | None = None  # [B, T, beat classes] per step (beat models)
    rhythm_logits: Tensor | None = None  # [B, rhythm classes] per window (beat models)


class LayerActivity(NamedTuple):
    """Spike counts of the last forward pass, detached (for firing rates and SynOps)."""

    input_spikes: Tensor | None  # [B] spikes of an encoded input; None for analog input
    layer_spikes: Tensor  # [B, hidden layers] spikes emitted by lif1, lif2, ... per window
    num_steps: int


def arrhythmia_probability(logits: Tensor) -> Tensor:
    """Softmax probability of class 1 (Arrhythmia) from `[B, 2]` logits."""
    return torch.softmax(logits, dim=-1)[..., 1]


# The keys of `ECGModel.cost`, means per window.
COST_KEYS = (
    "spikes_per_window",  # spikes of all LIF layers (0 for a non-spiking model)
    "synops_per_window",  # spike-driven accumulates: each spike times its fan-out
    "macs_per_window",  # multiply-accumulates the model needs (analog input and ANN layers)
    "dense_macs_per_window",  # MACs of the naive evaluation the PyTorch code runs
)


class ECGModel(nn.Module):
    """Base of the registered models (see `ecg.models.registry`)."""

    arch: ClassVar[str]  # registry name, stored in checkpoints (set by `register`)
    config_class: ClassVar[type]  # its config dataclass (`ecg.models.configs`)
    input_kind: ClassVar[str]  # "waveform" (raw), "beats" (beat layout) or "beat_sync"
    config: Any

    def in_precision(self, x: Tensor) -> Tensor:
        """`x` in the model's own floating-point type: a float64 model computes in float64."""
        return x.to(dtype=self.fc1.weight.dtype)

    @torch.no_grad()
    def score(self, x: Tensor) -> Tensor:
        """Probability of Arrhythmia per window `[B]` (no graph; mode left as is)."""
        return arrhythmia_probability(self(x).logits)

    def cost(self, x: Tensor) -> dict[str, float]:
        """Per-window operation counts (`COST_KEYS`, plus model-specific detail) averaged
        over the batch `x`, in eval mode."""
        raise NotImplementedError

    @torch.no_grad()
    def eval_forward(self, x: Tensor) -> ModelOutput:
        """Forward pass in eval mode, restoring the mode afterwards."""
        was_training = self.training
        self.eval()
        try:
            return self(x)
        finally:
            self.train(was_training)
