"""DeepSNN: the design's deep fully connected spiking network over a 10-s window.

    input [B, 2500] -> encode -> [Linear -> Leaky] x hidden -> Linear, for `num_steps`

The input is the window's beat-synchronous view (`view: beat_sync`, `ecg.features.beat_sync`:
20 slots of one detected beat each, minus the patient's dominant beat, so a weight always sees
the same part of a beat) or the raw window (`view: raw`); both have the window's size.

Leaky (snnTorch; `ecg.models.spiking`): V[t] = beta W[t-1] + W x[t] + b, S[t] = H(V[t] - U_thr),
reset to zero (or by subtraction). With `direct` encoding the window is the input current at
every step; with `rate` encoding each sample becomes a Bernoulli spike train. The logits are a
linear readout of the last hidden layer's spikes averaged over time.

Example::

    model = DeepSNN(DeepSNNConfig(input_size=2500, hidden=(256, 128), num_steps=100))
    probability = model.score(windows)  # [B]
"""

from __future__ import annotations

import torch
from torch import Tensor

from ecg.core.errors import ECGError
from ecg.models.configs import DeepSNNConfig
from ecg.models.encoding import rate_encode
from ecg.models.lif import per_window
from ecg.models.registry import register
from ecg.models.spiking import Prepared, SpikingNetwork

VIEW_INPUTS = {"raw": "waveform", "beat_sync": "beat_sync"}  # view -> `input_kind`


@register
class DeepSNN(SpikingNetwork):
    """Input: windows (raw or viewed) `[B, input_size]`, or already-encoded
    `[B, T, input_size]`."""

    config_class = DeepSNNConfig

    def __init__(self, config: DeepSNNConfig) -> None:
        super().__init__()
        self.config = config
        self.input_size, self.num_steps = config.input_size, config.num_steps
        self.encoding, self.rate_gain = config.encoding, config.rate_gain
        self._build_layers(
            [config.input_size, *config.hidden, config.num_classes],
            beta=config.beta,
            threshold=config.threshold,
            surrogate_slope=config.surrogate_slope,
            dropout=config.dropout,
            reset=config.reset,
        )

    @property
    def input_kind(self) -> str:
        """The data file it reads: raw windows, or their beat-synchronous view."""
        return VIEW_INPUTS[self.config.view]

    def encode(self, x: Tensor) -> Tensor:
        """`[B, input_size]` windows -> per-step input `[B, T, input_size]`."""
        if self.encoding == "rate":
            return rate_encode(x, self.num_steps, self.rate_gain).transpose(0, 1)
        return x.unsqueeze(1).expand(-1, self.num_steps, -1)

    def prepare(self, x: Tensor) -> Prepared:
        x = self.in_precision(x)
        if x.dim() not in (2, 3) or x.shape[-1] != self.input_size:
            raise ECGError(
                f"model input must be [B, {self.input_size}] or "
                f"[B, T, {self.input_size}], got {list(x.shape)}"
            )
        steps = x.shape[1] if x.dim() == 3 else self.num_steps
        if x.dim() == 2 and self.encoding == "rate":
            seq = rate_encode(x, steps, self.rate_gain)  # [T, B, F]
        elif x.dim() == 3:
            seq = x.transpose(0, 1)
        else:
            seq = None
        masks = self.dropout_masks(x.shape[0], x)
        input_spikes = None if seq is None else per_window(seq.detach(), x.dtype)
        return Prepared(x, seq, steps, masks, input_spikes)

    @property
    def dense_macs_per_window(self) -> int:
        """MACs of the first layer with direct encoding: the input current is constant, so
        W x + b is computed once per window, not once per step."""
        return self.input_size * self.hidden[0] if self.encoding == "direct" else 0

    @torch.no_grad()
    def cost(self, x: Tensor) -> dict[str, float]:
        """Spikes (per layer and firing rates), SynOps (rate-encoded input spikes count with
        fan-out hidden[0]) and the first layer's MACs for direct input, per window."""
        out = self.spike_cost(x)
        out["macs_per_window"] = float(self.dense_macs_per_window)
        out["dense_macs_per_window"] = float(self.dense_macs_per_window)
        return out
