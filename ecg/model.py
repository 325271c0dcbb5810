"""Deep fully connected spiking network (snnTorch leaky integrate-and-fire neurons).

Every layer is `nn.Linear` followed by `snntorch.Leaky` with reset by subtraction:

    U[t] = beta * U[t-1] + I[t] - S[t-1] * U_thr,     S[t] = H(U[t] - U_thr),   U[0] = 0

where `I[t] = W x[t] + b` and the reset term uses the previous step's spike, detached from
the graph (snnTorch's default `reset_delay=True`). H has the fast-sigmoid surrogate gradient
dS/dU = 1 / (k |U - U_thr| + 1)^2. The logits are the output layer's membrane averaged over
time: raw spike counts are integers and tie far too often to rank windows by risk.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import snntorch as snn
import torch
from snntorch import surrogate
from torch import Tensor, nn

from ecg.errors import ECGError

ENCODINGS = ("direct", "rate")


class SNNOutput(NamedTuple):
    spikes: Tensor  # [T, B, classes] output-layer spikes
    membrane: Tensor  # [T, B, classes] output-layer membrane potential
    logits: Tensor  # [B, classes] membrane averaged over time


class LayerActivity(NamedTuple):
    """Spike counts of the last forward pass, detached (for firing rates and SynOps)."""

    input_spikes: Tensor | None  # [B] spikes of an encoded input; None for direct encoding
    layer_spikes: Tensor  # [B, layers] spikes emitted by lif1, lif2, ... per window
    num_steps: int


def spike_probability(logits: Tensor) -> Tensor:
    """Softmax probability of class 1 (Arrhythmia) from `[B, 2]` logits."""
    return torch.softmax(logits, dim=-1)[..., 1]


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


class _LeakyScan(torch.autograd.Function):
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
        counts = _per_window(spk, spk.dtype)
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


def _per_window(seq: Tensor, dtype: torch.dtype) -> Tensor:
    """[T, B, N] -> [B] totals; reducing the contiguous last axis first is ~5x faster."""
    return seq.sum(2, dtype=dtype).sum(0)


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


class DeepSNN(nn.Module):
    """input -> [Linear -> Leaky] x (hidden + output), simulated for `num_steps`.

    Leaky: U[t] = beta U[t-1] + W x[t] + b - S[t-1] U_thr,  S[t] = H(U[t] - U_thr).
    Input: raw windows `[B, input_size]`, or already-encoded `[B, T, input_size]`.
    """

    arch = "deep"

    def __init__(
        self,
        *,
        input_size: int = 2500,
        hidden: Sequence[int] = (256, 128),
        num_classes: int = 2,
        beta: float = 0.9,
        threshold: float = 1.0,
        num_steps: int = 100,
        encoding: str = "direct",
        rate_gain: float = 1.0,
        surrogate_slope: float = 25.0,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        for ok, what, value in (
            (encoding in ENCODINGS, "encoding must be direct or rate", encoding),
            (0.0 < beta <= 1.0, "beta must be in (0, 1]", beta),
            (threshold > 0, "threshold must be > 0", threshold),
            (0.0 <= dropout < 1.0, "dropout must be in [0, 1)", dropout),
            (num_steps >= 1, "num_steps must be positive", num_steps),
            (len(hidden) > 0 and min(hidden) >= 1, "hidden sizes must be positive", hidden),
        ):
            if not ok:
                raise ECGError(f"model {what}, got {value!r}")
        self.input_size, self.hidden, self.num_classes = int(input_size), [*hidden], num_classes
        self.beta, self.threshold, self.num_steps = float(beta), float(threshold), int(num_steps)
        self.encoding, self.rate_gain = encoding, float(rate_gain)
        self.surrogate_slope, self.dropout = float(surrogate_slope), float(dropout)
        sizes = [self.input_size, *self.hidden, num_classes]
        for i in range(len(sizes) - 1):
            setattr(self, f"fc{i + 1}", nn.Linear(sizes[i], sizes[i + 1]))
            spike_grad = surrogate.fast_sigmoid(slope=self.surrogate_slope)
            neuron = snn.Leaky(self.beta, self.threshold, spike_grad, reset_mechanism="subtract")
            setattr(self, f"lif{i + 1}", neuron)
        self.last_activity: LayerActivity | None = None

    @property
    def fcs(self) -> list[nn.Linear]:
        return [getattr(self, f"fc{i + 1}") for i in range(len(self.hidden) + 1)]

    @property
    def lifs(self) -> list[snn.Leaky]:
        return [getattr(self, f"lif{i + 1}") for i in range(len(self.hidden) + 1)]

    @property
    def config(self) -> dict[str, Any]:
        """Plain-data constructor arguments (plus `arch`) to rebuild this model."""
        keys = ("input_size", "hidden", "num_classes", "beta", "threshold", "num_steps")
        keys += ("encoding", "rate_gain", "surrogate_slope", "dropout")
        config = {key: getattr(self, key) for key in keys}
        return {"arch": self.arch, **config, "hidden": list(self.hidden)}

    def encode(self, x: Tensor) -> Tensor:
        """`[B, input_size]` windows -> per-step input `[B, T, input_size]`."""
        if self.encoding == "rate":
            return rate_encode(x, self.num_steps, self.rate_gain).transpose(0, 1)
        return x.unsqueeze(1).expand(-1, self.num_steps, -1)

    def _dropout_masks(self, batch: int, like: Tensor) -> list[Tensor | None]:
        # One mask per window, shared by all steps: a dropped neuron is silent for the whole
        # window, as in a non-spiking net. Per-step masks at p=0.5 average out over 100 steps
        # and mostly add noise. Both paths draw them here, after encoding, in the same order,
        # so a seed gives both the same masks.
        if not (self.training and self.dropout > 0):
            return [None] * len(self.hidden)
        keep = 1.0 - self.dropout
        return [like.new_empty(batch, n).bernoulli_(keep).div_(keep) for n in self.hidden]

    def forward(self, x: Tensor, *, reference: bool = False) -> SNNOutput:
        """Simulate the network; `reference=True` runs the plain per-step snnTorch loop.

        Spike counts per layer are left in `last_activity` (see `firing_rates`,
        `synaptic_operations`).
        """
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
        masks = self._dropout_masks(x.shape[0], x)
        input_spikes = None if seq is None else _per_window(seq.detach(), x.dtype)
        if reference:
            out, counts = self._forward_reference(x, seq, steps, masks)
        else:
            out, counts = self._forward_fast(x, seq, steps, masks)
        self.last_activity = LayerActivity(input_spikes, torch.stack(counts, 1), steps)
        return out

    def _forward_fast(self, x, seq, steps, masks):
        # No recurrence between layers, so each layer's currents for all steps are one
        # matmul (a single [B, N] one for direct encoding) before the membrane scan.
        counts = []
        if seq is None:
            h = self.fc1(x)
        else:
            flat = seq.reshape(steps * x.shape[0], self.input_size)
            h = self.fc1(flat).view(steps, x.shape[0], -1)
        for i, (fc, lif) in enumerate(zip(self.fcs, self.lifs, strict=True)):
            if i:
                h = fc(h.reshape(-1, h.shape[-1])).view(steps, x.shape[0], -1)
            beta = float(lif.beta.clamp(0, 1))
            mask = masks[i] if i < len(self.hidden) else None
            args = (beta, float(lif.threshold), self.surrogate_slope, steps)
            h, mem, count = _LeakyScan.apply(h, mask, *args)
            counts.append(count)
        return SNNOutput(h, mem, mem.mean(0)), counts

    def _forward_reference(self, x, seq, steps, masks):
        lifs, fcs = self.lifs, self.fcs
        mems = [lif.reset_mem() for lif in lifs]
        counts = [x.new_zeros(x.shape[0]) for _ in lifs]
        spk_rec, mem_rec = [], []
        for t in range(steps):
            h = x if seq is None else seq[t]
            for i, (fc, lif) in enumerate(zip(fcs, lifs, strict=True)):
                spk, mems[i] = lif(fc(h), mems[i])
                spk = spk.to(mems[i].dtype)  # snnTorch spikes are float32 whatever the model
                counts[i] += spk.detach().sum(1)
                h = spk if i == len(lifs) - 1 or masks[i] is None else spk * masks[i]
            spk_rec.append(spk)
            mem_rec.append(mems[-1])
        for lif in lifs:  # drop the graph snnTorch keeps in its state buffer
            lif.reset_mem()
        membrane = torch.stack(mem_rec)
        return SNNOutput(torch.stack(spk_rec), membrane, membrane.mean(0)), counts

    @torch.no_grad()
    def score(self, x: Tensor) -> Tensor:
        """Probability of Arrhythmia per window `[B]` (no graph; mode left as is)."""
        return spike_probability(self(x).logits)

    def firing_rates(self, activity: LayerActivity | None = None) -> Tensor:
        """Mean spikes per neuron per step of each layer `[layers]`, over the windows."""
        act = activity or self.last_activity
        sizes = torch.tensor([*self.hidden, self.num_classes], dtype=act.layer_spikes.dtype)
        return act.layer_spikes.mean(0).cpu() / (sizes * act.num_steps)

    def synaptic_operations(self, activity: LayerActivity | None = None) -> Tensor:
        """Spike-driven accumulates per window `[B]`: each spike times its layer's fan-out.

        Spikes of a rate-encoded input count with fan-out hidden[0]; a direct (analog) input
        instead costs `dense_macs_per_window` multiply-accumulates.
        """
        act = activity or self.last_activity
        fan_out = torch.tensor(
            [*self.hidden[1:], self.num_classes, 0],
            dtype=act.layer_spikes.dtype,
            device=act.layer_spikes.device,
        )
        ops = act.layer_spikes @ fan_out
        if act.input_spikes is not None:
            ops = ops + act.input_spikes * self.hidden[0]
        return ops

    @property
    def dense_macs_per_window(self) -> int:
        """MACs of the first layer with direct encoding: the input current is constant, so
        W x + b is computed once per window, not once per step."""
        return self.input_size * self.hidden[0] if self.encoding == "direct" else 0

    @classmethod
    def from_checkpoint(
        cls,
        path_or_dict: str | os.PathLike | Mapping[str, Any],
        *,
        map_location: str | torch.device | Callable | None = "cpu",
        **overrides: Any,
    ) -> DeepSNN:
        """Rebuild a model from `{'config', 'model_state_dict'}` (file or dict), strictly.

        `overrides` replace config entries (e.g. `dropout=0.5` for fine-tuning). The model is
        moved to `map_location` when that is a device (name).
        """
        name, ckpt = read_checkpoint(path_or_dict, map_location=map_location)
        config = dict(ckpt["config"])
        arch = config.pop("arch", cls.arch)
        if arch != cls.arch:
            raise ECGError(f"{name}: wrong architecture: expected {cls.arch!r}, found {arch!r}")
        config.update(overrides)
        try:
            model = cls(**config)
        except TypeError as err:
            raise ECGError(f"{name}: bad model config: {err}") from None
        except ECGError as err:
            raise ECGError(f"{name}: {err}") from None
        _check_state(name, model.state_dict(), ckpt["model_state_dict"])
        model.load_state_dict(ckpt["model_state_dict"], strict=True)
        # The config (with overrides) defines the neuron; the buffers are snnTorch's copies.
        for lif in model.lifs:
            lif.beta.fill_(model.beta)
            lif.threshold.fill_(model.threshold)
        if isinstance(map_location, str | torch.device):
            model.to(map_location)
        return model


def read_checkpoint(
    path_or_dict: str | os.PathLike | Mapping[str, Any],
    *,
    map_location: str | torch.device | Callable | None = "cpu",
) -> tuple[str, Mapping[str, Any]]:
    """(name for messages, checkpoint) from a file (weights_only) or a dict; one-line
    ECGErrors for a missing file, an unreadable file, or one without config/weights."""
    if isinstance(path_or_dict, Mapping):
        name, ckpt = "checkpoint", path_or_dict
    else:
        name = os.fspath(path_or_dict)
        if not os.path.isfile(name):
            raise ECGError(f"{name}: checkpoint file not found")
        try:
            ckpt = torch.load(name, map_location=map_location, weights_only=True)
        except Exception as err:  # unpickling/zip errors have many types
            first = str(err).strip().splitlines()[0] if str(err).strip() else ""
            raise ECGError(
                f"{name}: not a PyTorch checkpoint ({type(err).__name__}: {first[:200]})"
            ) from None
    if not isinstance(ckpt, Mapping) or not all(
        isinstance(ckpt.get(key), Mapping) for key in ("config", "model_state_dict")
    ):
        raise ECGError(f"{name}: not a model checkpoint (needs 'config' and 'model_state_dict')")
    return name, ckpt


def _check_state(name: str, expected: Mapping[str, Tensor], found: Mapping[str, Any]) -> None:
    missing = [k for k in expected if k not in found]
    unexpected = [k for k in found if k not in expected]
    if missing or unexpected:
        raise ECGError(
            f"{name}: wrong architecture: missing {missing[:4]}, unexpected {unexpected[:4]}"
        )
    for key, want in expected.items():
        have = found[key]
        if not isinstance(have, Tensor) or have.shape != want.shape:
            shape = tuple(have.shape) if isinstance(have, Tensor) else type(have).__name__
            raise ECGError(
                f"{name}: wrong architecture: {key} expected {tuple(want.shape)}, found {shape}"
            )
