"""BeatANN: BeatSNN's non-spiking twin, the same layer sizes with ReLU in place of Leaky.

    per step: Linear -> ReLU (-> dropout) ... -> Linear;  read as BeatSNN's (`ecg.models.heads`)

Output: membrane = per-step output values [T, B, outputs]; spikes = zeros of that shape (an
ANN emits no spikes; zeros keep the tuple's shapes and any spike count honest).

Cost: the first layer computes the window-feature part once per window and the beat part on
present beats only (it is zero on padding); the deeper layers are dense, run on every present
beat plus once for all padded steps together (identical input, identical output).
"""

from __future__ import annotations

import torch
from torch import Tensor

from ecg.features.layout import BEAT_FEATURES
from ecg.models.base import ECGModel, ModelOutput
from ecg.models.beat_steps import as_steps, first_layer_macs, present_beats
from ecg.models.configs import BeatANNConfig
from ecg.models.heads import init_prior, read_heads
from ecg.models.registry import register

PRESENT = BEAT_FEATURES.index("present")


@register
class BeatANN(ECGModel):
    config_class = BeatANNConfig
    input_kind = "beats"

    def __init__(self, config: BeatANNConfig) -> None:
        super().__init__()
        self.config = config
        self.num_steps, self.step_features = config.num_steps, config.step_features
        self.hidden, self.dropout = [*config.hidden], config.dropout
        sizes = [self.step_features, *self.hidden, config.beat_classes + config.rhythm_classes]
        for i in range(len(sizes) - 1):
            setattr(self, f"fc{i + 1}", torch.nn.Linear(sizes[i], sizes[i + 1]))
        init_prior(self.fcs[-1], config.beat_classes)

    @property
    def fcs(self) -> list[torch.nn.Linear]:
        return [getattr(self, f"fc{i + 1}") for i in range(len(self.hidden) + 1)]

    def encode(self, x: Tensor) -> Tensor:
        return as_steps(self.in_precision(x), self.num_steps, self.step_features)

    def forward(self, x: Tensor) -> ModelOutput:
        h = self.encode(x)  # [B, T, F]
        present = h[:, :, PRESENT] != 0
        keep = 1.0 - self.dropout
        for i, fc in enumerate(self.fcs):
            h = fc(h)
            if i < len(self.hidden):
                h = torch.relu(h)
                if self.training and self.dropout > 0:  # one mask per window, as in the SNN
                    mask = h.new_empty(h.shape[0], 1, h.shape[2]).bernoulli_(keep).div_(keep)
                    h = h * mask
        membrane = h.transpose(0, 1)  # [T, B, outputs]
        heads = read_heads(membrane, present, self.config.beat_classes)
        zeros = torch.zeros_like(membrane)
        return ModelOutput(zeros, membrane, heads.window, heads.beats, heads.rhythm)

    @torch.no_grad()
    def cost(self, x: Tensor) -> dict[str, float]:
        steps = self.encode(x)
        present = present_beats(steps)
        any_padding = (present < steps.shape[1]).to(torch.float64)
        deep = sum(fc.in_features * fc.out_features for fc in self.fcs[1:])
        macs = first_layer_macs(steps, self.hidden[0]) + (present + any_padding) * deep
        dense = steps.shape[1] * sum(fc.in_features * fc.out_features for fc in self.fcs)
        return {
            "spikes_per_window": 0.0,
            "synops_per_window": 0.0,
            "macs_per_window": float(macs.mean()),
            "dense_macs_per_window": float(dense),
            "beats_per_window": float(present.mean()),
        }
