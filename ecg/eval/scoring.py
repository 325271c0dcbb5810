"""Running a model over many windows: logits, probabilities and mean per-window cost."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ecg.core.device import reproducible_compute


@reproducible_compute()
@torch.no_grad()
def predict(
    model: nn.Module, signals: torch.Tensor, *, batch_size: int, device: torch.device
) -> torch.Tensor:
    """Logits [N, 2] in eval mode, on CPU (one thread: see `ecg.core.device`)."""
    model.eval()
    out = [
        model(signals[i : i + batch_size].to(device)).logits.float().cpu()
        for i in range(0, len(signals), batch_size)
    ]
    return torch.cat(out) if out else torch.zeros(0, 2)


def scores_from_logits(logits: torch.Tensor) -> np.ndarray:
    """Probability of Arrhythmia: softmax of the time-averaged output membrane."""
    return torch.softmax(logits, dim=1)[:, 1].numpy().astype(np.float64)


@torch.no_grad()
def mean_cost(
    model: nn.Module, signals: torch.Tensor, *, device: torch.device, batch_size: int = 512
) -> dict[str, float]:
    """`model.cost` (spikes, synaptic ops, MACs per window) averaged over `signals`."""
    model.eval()
    totals: dict[str, float] = {}
    for i in range(0, len(signals), batch_size):
        x = signals[i : i + batch_size].to(device)
        for key, value in model.cost(x).items():
            totals[key] = totals.get(key, 0.0) + float(value) * len(x)
    return {k: v / max(len(signals), 1) for k, v in totals.items()}
