"""Train-split augmentation of normalised windows: time warp, gain, noise, baseline wander."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ecg.train.config import AugmentConfig


def _renormalise(x: torch.Tensor) -> torch.Tensor:
    # Same per-window z-score as preprocessing, so augmented windows stay in-distribution.
    x = x - x.mean(dim=-1, keepdim=True)
    return x / x.std(dim=-1, unbiased=False, keepdim=True).clamp_min(1e-6)


def augment_batch(
    x: torch.Tensor, *, cfg: AugmentConfig, generator: torch.Generator, fs: float = 250.0
) -> torch.Tensor:
    """Randomly perturb a batch [B, L] of windows; the draws come from `generator` only."""
    b, length = x.shape

    def uniform(low: float, high: float, *shape: int) -> torch.Tensor:
        return low + (high - low) * torch.rand(*shape, generator=generator)

    if cfg.time_warp > 0:
        # Stretch or compress about the window centre, sampling by linear interpolation.
        stretch = 1 + uniform(-cfg.time_warp, cfg.time_warp, b, 1)
        grid = torch.linspace(-1, 1, length).unsqueeze(0) * stretch
        grid = torch.stack([grid, torch.zeros_like(grid)], dim=-1).unsqueeze(1)  # [B,1,L,2]
        x = F.grid_sample(
            x.view(b, 1, 1, length), grid, align_corners=True, padding_mode="border"
        ).view(b, length)
    if cfg.amplitude_scale > 0:
        x = x * (1 + uniform(-cfg.amplitude_scale, cfg.amplitude_scale, b, 1))
    if cfg.baseline_wander > 0:
        t = torch.arange(length) / fs
        freq = uniform(0.1, 0.5, b, 1)
        phase = uniform(0, 2 * math.pi, b, 1)
        x = x + cfg.baseline_wander * torch.sin(2 * math.pi * freq * t + phase)
    if cfg.noise_std > 0:
        x = x + cfg.noise_std * torch.randn(b, length, generator=generator)
    return _renormalise(x)
