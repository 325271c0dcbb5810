"""Input encodings into per-step input: Bernoulli spike trains of a raw window (DeepSNN) and
level-crossing events of the beat layout (BeatSNN)."""

from __future__ import annotations

import torch
from torch import Tensor


def rate_encode(x: Tensor, num_steps: int, gain: float = 1.0) -> Tensor:
    """Bernoulli spike trains `[T, B, F]` (time-major) with p = clamp(gain * minmax(x), 0, 1).

    Each window is scaled to [0, 1] by its own min/max. The draws are bytes from torch's
    global RNG (eight per 64-bit draw), ~20x cheaper than `torch.bernoulli` on CPU, where
    drawing would otherwise cost more than the rest of the encoder and network. A byte
    resolves p to 1/256, so 256 p is first dithered to an integer level k (once per window
    and sample): E[k] / 256 = p, so every spike is exactly Bernoulli(p); the T spikes of one
    sample share k, a covariance below 1 / (4 * 256^2).
    """
    lo = x.amin(-1, keepdim=True)
    span = (x.amax(-1, keepdim=True) - lo).clamp_min(torch.finfo(x.dtype).tiny)
    p = ((x - lo) / span * gain).clamp(0.0, 1.0)
    level = (p * 256.0 + torch.rand_like(p)).floor_()  # k in 0..256: spike iff byte < k
    limit = (level - 128.0).clamp_(max=127.0).to(torch.int8)  # signed byte: -128 + k
    count = num_steps * x.numel()
    bits = torch.empty((count + 7) // 8, dtype=torch.int64, device=x.device)
    uniform = bits.random_(-(2**63), None).view(torch.int8)[:count]
    out = torch.empty((num_steps, *x.shape), dtype=x.dtype, device=x.device)
    torch.lt(uniform.view(out.shape), limit, out=out)  # 2x faster than lt(...).to(dtype)
    certain = (level >= 256.0).flatten().nonzero().squeeze(1)  # k = 256 does not fit int8
    if certain.numel():
        out.view(num_steps, -1).index_fill_(1, certain, 1.0)
    return out


def held_levels(steps: Tensor, present: Tensor, step: float, levels: int) -> Tensor:
    """Per-step values `[B, T, F]` -> integer levels (as floats) `[B, T, F]`: truncated to the
    level at or below them in magnitude (|x| < step is level 0), clipped at +-levels; steps
    where `present` [B, T] is false (padding after the window's last beat) hold the last
    beat's levels."""
    level = torch.trunc(steps / step).clamp_(-levels, levels)
    last = torch.clamp(present.sum(1, dtype=torch.int64) - 1, min=0)
    held = torch.minimum(torch.arange(steps.shape[1], device=steps.device)[None, :], last[:, None])
    return torch.gather(level, 1, held[:, :, None].expand(-1, -1, level.shape[2]))


def crossing_events(level: Tensor, levels: int) -> Tensor:
    """Held levels `[B, T, F]` -> the events `[3, E]` (step, window, channel) of every level
    crossed since the step before (from 0 before the first step).

    Channels of value f, from f * 4 * levels: rose past +k, fell below +k, fell past -k, rose
    above -k, each for k = 1..levels.
    """
    before = torch.cat([torch.zeros_like(level[:, :1]), level[:, :-1]], 1)
    where = (level != before).nonzero()  # [n, 3]; as_tuple is not TorchScript
    b, t, f = where[:, 0], where[:, 1], where[:, 2]
    now, then = level[b, t, f], before[b, t, f]
    counts = (now - then).abs().to(torch.int64)
    which = torch.repeat_interleave(torch.arange(b.shape[0], device=b.device), counts)
    first = counts.cumsum(0) - counts
    within = torch.arange(which.shape[0], device=b.device) - first[which]
    up = now[which] > then[which]
    boundary = torch.minimum(now, then)[which].to(torch.int64) + 1 + within  # j-1 <-> j
    positive = boundary >= 1
    k = torch.where(positive, boundary, 1 - boundary)
    kind = torch.where(
        positive,
        torch.where(up, 0, 1),  # up bit k (q >= k) turns on / off
        torch.where(up, 3, 2),  # down bit k (q <= -k) turns off / on
    )
    channel = f[which] * 4 * levels + kind * levels + k - 1
    return torch.stack([t[which], b[which], channel])


def level_crossings(steps: Tensor, present: Tensor, step: float, levels: int) -> Tensor:
    """Per-step values `[B, T, F]` -> binary events `[B, T, F * 4 * levels]`: for each value and
    each level +-k * step (k = 1..levels), an event when the value crosses it since the step
    before (`held_levels`, `crossing_events`). An ordinary beat, near 0 in every value, is
    silent; the window's features, the same at every step, are events at the first step only.
    """
    level = held_levels(steps, present, step, levels)
    found = crossing_events(level, levels)
    t, b, channel = found[0], found[1], found[2]
    events = steps.new_zeros(steps.shape[0], steps.shape[1], steps.shape[2] * 4 * levels)
    events[b, t, channel] = 1.0
    return events
