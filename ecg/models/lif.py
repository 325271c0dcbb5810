"""The leaky integrate-and-fire layer as one fast autograd node: snnTorch's `Leaky` with reset
by subtraction, simulated for all time steps at once.

    U[t] = beta U[t-1] + I[t] - S[t-1] U_thr,     S[t] = H(U[t] - U_thr),     U[0] = 0

`I[t]` is the layer's input current; the reset term uses the previous step's spike, detached
from the graph (snnTorch's default `reset_delay=True`). H has the fast-sigmoid surrogate
gradient dS/dU = 1 / (k |U - U_thr| + 1)^2. `tests/test_model.py` and `tests/test_beat_model.py`
prove that this
matches the step-by-step snnTorch loop (`ecg.models.reference`) in spikes, membrane and
gradients to 1e-5.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor


def _numpy_ok(t: Tensor) -> bool:
    return t.device.type == "cpu" and t.dtype in (torch.float32, torch.float64)


def _scan(current: Tensor, mem: Tensor, spk: Tensor, beta: float, thr: float) -> None:
    """Fill `mem`, `spk` [T, B, N] from `current` [T, B, N] or constant [B, N], in snn.Leaky's
    order of operations: (beta U + I) - S thr, then S = U > thr."""
    if not _numpy_ok(current):
        prev = mem.new_zeros(mem.shape[1:])
        for t in range(mem.shape[0]):
            torch.add(current if current.dim() == 2 else current[t], prev, alpha=beta, out=mem[t])
            if t:
                mem[t].sub_(spk[t - 1], alpha=thr)
            torch.gt(mem[t], thr, out=spk[t])
            prev = mem[t]
        return
    # numpy ufuncs cost ~1 us a call against ~5 us for torch ops: most of the time on [B, N].
    cur, mem, spk = current.detach().numpy(), mem.numpy(), spk.numpy()
    beta, thr = mem.dtype.type(beta), mem.dtype.type(thr)
    prev, reset = np.zeros(mem.shape[1:], mem.dtype), np.empty(mem.shape[1:], mem.dtype)
    for t in range(mem.shape[0]):
        np.multiply(prev, beta, out=mem[t])
        np.add(mem[t], cur if cur.ndim == 2 else cur[t], out=mem[t])
        if t and thr == 1:  # spikes are 0/1, so this is exactly U - thr S
            np.subtract(mem[t], spk[t - 1], out=mem[t])
        elif t:
            np.subtract(mem[t], np.multiply(spk[t - 1], thr, out=reset), out=mem[t])
        np.greater(mem[t], thr, out=spk[t])
        prev = mem[t]


def _backprop_in_time(grad: Tensor, beta: float) -> None:
    """In place, g[t] = a[t] + beta g[t+1] from the last step back."""
    if not _numpy_ok(grad):
        for t in range(grad.shape[0] - 2, -1, -1):
            grad[t].add_(grad[t + 1], alpha=beta)
        return
    g = grad.detach().numpy()
    beta, scaled = g.dtype.type(beta), np.empty(g.shape[1:], g.dtype)
    for t in range(g.shape[0] - 2, -1, -1):
        np.add(g[t], np.multiply(g[t + 1], beta, out=scaled), out=g[t])


class LeakyScan(torch.autograd.Function):
    """A whole `snn.Leaky` time loop (and the dropout after it) as one autograd node.

    The forward loop runs without building a graph. As the reset is detached, the gradient
    wrt the membrane is the linear recurrence g[t] = a[t] + beta g[t+1], where
    a[t] = dL/dU[t] + dL/dS[t] sg'(U[t]); the input current gets g (its sum over t when
    constant). Big temporaries are few and reused in place: fresh ones cost page faults.
    """

    @staticmethod
    def forward(ctx, current, mask, beta, threshold, slope, num_steps):
        # current: [T, B, N], or [B, N] when it is the same at every step (direct encoding).
        # mask: [B, N] dropout scale applied to the returned spikes, or None.
        constant = current.dim() == 2
        shape = (num_steps if constant else current.shape[0], *current.shape[-2:])
        mem, spk = current.new_empty(shape), current.new_empty(shape)
        _scan(current, mem, spk, beta, threshold)
        counts = per_window(spk, spk.dtype)
        if mask is not None:
            spk.mul_(mask)
        ctx.save_for_backward(mem, mask)
        ctx.constant, ctx.beta, ctx.threshold, ctx.slope = constant, beta, threshold, slope
        ctx.mark_non_differentiable(counts)
        ctx.set_materialize_grads(False)
        return spk, mem, counts

    @staticmethod
    def backward(ctx, grad_spk, grad_mem, _):
        mem, mask = ctx.saved_tensors
        if grad_spk is None and grad_mem is None:
            return None, None, None, None, None, None
        if grad_spk is not None:
            # fast sigmoid: dS/dU = 1 / (k |U - thr| + 1)^2, as snntorch computes it
            grad = (mem - ctx.threshold).abs_().mul_(ctx.slope).add_(1.0).square_()
            torch.div(grad_spk, grad, out=grad)
            if mask is not None:
                grad.mul_(mask)
            if grad_mem is not None:
                grad.add_(grad_mem)
        else:
            grad = grad_mem.clone(memory_format=torch.contiguous_format)
        if ctx.constant:  # sum over t of g[t] = sum over s of a[s] (1 + beta + ... + beta^s)
            steps = grad.shape[0]
            powers = ctx.beta ** torch.arange(steps, dtype=torch.float64)  # on CPU: MPS lacks f64
            weights = powers.cumsum(0).to(grad.dtype).to(grad.device)
            grad = (weights @ grad.reshape(steps, -1)).view(grad.shape[1:])
        else:
            _backprop_in_time(grad, ctx.beta)
        return grad, None, None, None, None, None


def per_window(seq: Tensor, dtype: torch.dtype) -> Tensor:
    """[T, B, N] -> [B] totals; reducing the contiguous last axis first is ~5x faster."""
    return seq.sum(2, dtype=dtype).sum(0)
