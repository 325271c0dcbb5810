"""LogisticBaseline: logistic regression on the window's standardised features (the
window-feature part of step 0 of the beat layout): what a user would otherwise try first.

Output: membrane = logits[None] [1, B, 2]; spikes = zeros of that shape.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ecg.models.base import ECGModel, ModelOutput
from ecg.models.beat_steps import as_steps, present_beats
from ecg.models.configs import N_WINDOW, LogRegConfig
from ecg.models.registry import register


@register
class LogisticBaseline(ECGModel):
    config_class = LogRegConfig
    input_kind = "beats"

    def __init__(self, config: LogRegConfig) -> None:
        super().__init__()
        self.config = config
        self.num_steps, self.step_features = config.num_steps, config.step_features
        self.num_classes = config.num_classes
        self.fc1 = torch.nn.Linear(N_WINDOW, self.num_classes)

    def encode(self, x: Tensor) -> Tensor:
        return as_steps(self.in_precision(x), self.num_steps, self.step_features)

    def forward(self, x: Tensor) -> ModelOutput:
        logits = self.fc1(self.encode(x)[:, 0, -N_WINDOW:])
        membrane = logits.unsqueeze(0)  # [1, B, classes]
        return ModelOutput(torch.zeros_like(membrane), membrane, logits)

    @torch.no_grad()
    def cost(self, x: Tensor) -> dict[str, float]:
        macs = float(self.fc1.in_features * self.fc1.out_features)
        return {
            "spikes_per_window": 0.0,
            "synops_per_window": 0.0,
            "macs_per_window": macs,
            "dense_macs_per_window": macs,
            "beats_per_window": float(present_beats(self.encode(x)).mean()),
        }
