"""BeatSNN: a spiking network whose time axis is the heart's: step t is detected beat t.

    input [B, T * F] or [B, T, F] -> per-step currents fc1(x_t) -> [Leaky -> Linear] ... -> Leaky

Leaky (snnTorch, reset by subtraction) as in DeepSNN: U[t] = beta U[t-1] + I[t] - S[t-1] U_thr.
The per-step input is analog (beat features), so the first layer costs MACs (on present
beats only) and every deeper layer receives binary spikes (SynOps). Logits = output membrane
averaged over the T steps.

Example::

    model = BeatSNN(BeatSNNConfig(num_steps=32, step_features=16, hidden=(64, 32)))
    probability = model.score(beat_layout_rows)  # [B]
"""

from __future__ import annotations

import torch
from torch import Tensor

from ecg.models.beat_steps import as_steps, first_layer_macs, present_beats
from ecg.models.configs import BeatSNNConfig
from ecg.models.registry import register
from ecg.models.spiking import Prepared, SpikingNetwork


@register
class BeatSNN(SpikingNetwork):
    config_class = BeatSNNConfig
    input_kind = "beats"

    def __init__(self, config: BeatSNNConfig) -> None:
        super().__init__()
        self.config = config
        self.num_steps, self.step_features = config.num_steps, config.step_features
        self._build_layers(
            [config.step_features, *config.hidden, config.num_classes],
            beta=config.beta,
            threshold=config.threshold,
            surrogate_slope=config.surrogate_slope,
            dropout=config.dropout,
        )

    def encode(self, x: Tensor) -> Tensor:
        """Stored `[B, T * F]` input -> per-step `[B, T, F]` (a view; no encoding needed)."""
        return as_steps(self.in_precision(x), self.num_steps, self.step_features)

    def prepare(self, x: Tensor) -> Prepared:
        steps = self.encode(x)
        masks = self.dropout_masks(steps.shape[0], steps)
        # The per-step input is analog, not spikes: it costs MACs, not SynOps.
        return Prepared(steps, steps.transpose(0, 1), steps.shape[1], masks, None)

    @property
    def dense_macs_per_window(self) -> int:
        """First-layer MACs evaluated naively at all `num_steps` steps."""
        return self.num_steps * self.step_features * self.hidden[0]

    @torch.no_grad()
    def cost(self, x: Tensor) -> dict[str, float]:
        """Spikes per layer, SynOps, first-layer MACs on present beats only, per window."""
        out = self.spike_cost(x)
        steps = self.encode(x)
        out["macs_per_window"] = float(first_layer_macs(steps, self.hidden[0]).mean())
        out["dense_macs_per_window"] = float(
            self.last_activity.num_steps * self.step_features * self.hidden[0]
        )
        out["beats_per_window"] = float(present_beats(steps).mean())
        return out
