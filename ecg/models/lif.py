"""The leaky integrate-and-fire layer as one fast autograd node: snnTorch's `Leaky` simulated for
all time steps at once, with either of its two reset mechanisms.

    zero (reset_delay=False, NIR's LIF):   V[t] = beta W[t-1] + I[t],  S[t] = H(V[t] - U_thr),
                                           W[t] = V[t] (1 - S[t])
    subtract (reset_delay=True):           U[t] = beta U[t-1] + I[t] - S[t-1] U_thr,
                                           S[t] = H(U[t] - U_thr)

`I[t]` is the layer's input current; H has the fast-sigmoid surrogate gradient
dS/dV = 1 / (k |V - U_thr| + 1)^2. With reset to zero snnTorch lets the gradient through the
reset (W = V - S V, so dW/dV = 1 - S - V dS/dV); with subtraction the reset uses the previous
spike, detached. `tests/test_model.py` and `tests/test_beat_model.py` prove that both match the
step-by-step snnTorch loop (`ecg.models.reference`) in spikes and gradients to 1e-5.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor


def _numpy_ok(t: Tensor) -> bool:
    return t.device.type == "cpu" and t.dtype in (torch.float32, torch.float64)


def _scan(current: Tensor, mem: Tensor, spk: Tensor, beta: float, thr: float, zero: bool) -> None:
    """Fill `mem` (V, before any reset) and `spk` [T, B, N] from `current` [T, B, N] or constant
    [B, N], in snn.Leaky's order of operations."""
    if not _numpy_ok(current):
        prev = mem.new_zeros(mem.shape[1:])
        for t in range(mem.shape[0]):
            torch.add(current if current.dim() == 2 else current[t], prev, alpha=beta, out=mem[t])
            if t and not zero:
                mem[t].sub_(spk[t - 1], alpha=thr)
            torch.gt(mem[t], thr, out=spk[t])
            prev = mem[t] * (1 - spk[t]) if zero else mem[t]
        return
    # numpy ufuncs cost ~1 us a call against ~5 us for torch ops: most of the time on [B, N].
    cur, mem, spk = current.detach().numpy(), mem.numpy(), spk.numpy()
    beta, thr = mem.dtype.type(beta), mem.dtype.type(thr)
    prev, tmp = np.zeros(mem.shape[1:], mem.dtype), np.empty(mem.shape[1:], mem.dtype)
    # `prev` is overwritten after mem[t] has read it (zero reset), or aliases mem[t-1].
    for t in range(mem.shape[0]):
        np.multiply(prev, beta, out=mem[t])
        np.add(mem[t], cur if cur.ndim == 2 else cur[t], out=mem[t])
        if t and not zero:
            if thr == 1:  # spikes are 0/1, so this is exactly U - thr S
                np.subtract(mem[t], spk[t - 1], out=mem[t])
            else:
                np.subtract(mem[t], np.multiply(spk[t - 1], thr, out=tmp), out=mem[t])
        np.greater(mem[t], thr, out=spk[t])
        if zero:  # W = V - S V, as snnTorch computes it
            np.subtract(mem[t], np.multiply(spk[t], mem[t], out=tmp), out=prev)
        else:
            prev = mem[t]


def _backprop_in_time(grad: Tensor, beta: float, carry: Tensor | None) -> None:
    """In place, g[t] = a[t] + beta c[t] g[t+1] from the last step back (c = 1 if None)."""
    if not _numpy_ok(grad):
        for t in range(grad.shape[0] - 2, -1, -1):
            step = grad[t + 1] if carry is None else grad[t + 1] * carry[t]
            grad[t].add_(step, alpha=beta)
        return
    g = grad.detach().numpy()
    c = None if carry is None else carry.detach().numpy()
    beta, scaled = g.dtype.type(beta), np.empty(g.shape[1:], g.dtype)
    for t in range(g.shape[0] - 2, -1, -1):
        np.multiply(g[t + 1], beta, out=scaled)
        if c is not None:
            np.multiply(scaled, c[t], out=scaled)
        np.add(g[t], scaled, out=g[t])


class LeakyScan(torch.autograd.Function):
    """A whole `snn.Leaky` time loop (and the dropout after it) as one autograd node.

    The forward loop runs without building a graph. The gradient wrt the membrane is the linear
    recurrence g[t] = a[t] + beta c[t] g[t+1], where a[t] = dL/dS[t] sg'(V[t]) and c[t] is the
    reset's derivative (1 for the detached subtraction); the input current gets g (its sum
    over t when constant). Big temporaries are few and reused in place: fresh ones cost page
    faults.
    """

    @staticmethod
    def forward(ctx, current, mask, beta, threshold, slope, num_steps, reset):
        # current: [T, B, N], or [B, N] when it is the same at every step (direct encoding).
        # mask: [B, N] dropout scale applied to the returned spikes, or None.
        constant = current.dim() == 2
        shape = (num_steps if constant else current.shape[0], *current.shape[-2:])
        mem, spk = current.new_empty(shape), current.new_empty(shape)
        zero = reset == "zero"
        _scan(current, mem, spk, beta, threshold, zero)
        counts = per_window(spk, spk.dtype)
        ctx.save_for_backward(mem, spk if zero else None, mask)
        if mask is not None:
            spk = spk * mask if zero else spk.mul_(mask)  # zero reset keeps the raw spikes
        ctx.constant, ctx.beta, ctx.threshold, ctx.slope = constant, beta, threshold, slope
        ctx.mark_non_differentiable(counts)
        ctx.set_materialize_grads(False)
        return spk, counts

    @staticmethod
    def backward(ctx, grad_spk, _):
        mem, raw_spk, mask = ctx.saved_tensors
        if grad_spk is None:
            return None, None, None, None, None, None, None
        # fast sigmoid: dS/dV = 1 / (k |V - thr| + 1)^2, as snntorch computes it
        surrogate = (mem - ctx.threshold).abs_().mul_(ctx.slope).add_(1.0).square_().reciprocal_()
        grad = grad_spk * surrogate
        if mask is not None:
            grad.mul_(mask)
        carry = None
        if raw_spk is not None:  # dW/dV = 1 - S - V sg'(V)
            carry = surrogate.mul_(mem).neg_().add_(1.0).sub_(raw_spk)
        _backprop_in_time(grad, ctx.beta, carry)
        if ctx.constant:  # the same current at every step
            grad = grad.sum(0)
        return grad, None, None, None, None, None, None


def per_window(seq: Tensor, dtype: torch.dtype) -> Tensor:
    """[T, B, N] -> [B] totals; reducing the contiguous last axis first is ~5x faster."""
    return seq.sum(2, dtype=dtype).sum(0)
