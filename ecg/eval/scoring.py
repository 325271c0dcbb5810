"""Running a model over many windows: logits, probabilities, a beat model's beat and rhythm
class probabilities, and mean per-window cost."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ecg.core.device import reproducible_compute


def predict(
    model: nn.Module, signals: torch.Tensor, *, batch_size: int, device: torch.device
) -> torch.Tensor:
    """Logits [N, 2] in eval mode, on CPU (one thread: see `ecg.core.device`)."""
    return predict_outputs(model, signals, batch_size=batch_size, device=device)[0]


Readouts = tuple[np.ndarray, np.ndarray]  # beat classes [N, T, C], rhythm [N, R] probabilities


@reproducible_compute()
@torch.no_grad()
def predict_outputs(
    model: nn.Module, signals: torch.Tensor, *, batch_size: int, device: torch.device
) -> tuple[torch.Tensor, Readouts | None]:
    """In one pass, eval mode, on CPU: logits [N, 2] and, for a beat model, its class
    probabilities per beat slot and per window rhythm (None for a model without them)."""
    model.eval()
    logits, beats, rhythms = [], [], []
    for i in range(0, len(signals), batch_size):
        out = model(signals[i : i + batch_size].to(device))
        logits.append(out.logits.float().cpu())
        if out.beat_logits is not None:
            beats.append(torch.softmax(out.beat_logits.double(), -1).cpu().numpy())
            rhythms.append(torch.softmax(out.rhythm_logits.double(), -1).cpu().numpy())
    readouts = (np.concatenate(beats), np.concatenate(rhythms)) if beats else None
    return (torch.cat(logits) if logits else torch.zeros(0, 2)), readouts


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
