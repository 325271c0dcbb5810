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


_U_CACHE: dict[tuple, Tensor] = {}


def _decay_matrix(num_steps: int, beta: float, like: Tensor) -> Tensor:
    """U[t, s] = beta**(s - t) for s >= t, else 0: maps dL/dI to the BPTT gradient."""
    key = (num_steps, beta, like.dtype, like.device)
    if key not in _U_CACHE:
        steps = torch.arange(num_steps, dtype=torch.float64)
        lag = steps[None, :] - steps[:, None]
        u = torch.where(lag >= 0, beta ** lag.clamp_min(0), torch.zeros(()))
        _U_CACHE[key] = u.to(dtype=like.dtype, device=like.device)
    return _U_CACHE[key]


def _scan_torch(current: Tensor, mem: Tensor, spk: Tensor, beta: float, thr: float) -> None:
    prev = mem.new_zeros(mem.shape[1:])
    for t in range(mem.shape[0]):
        m = mem[t]
        torch.add(current if current.dim() == 2 else current[t], prev, alpha=beta, out=m)
        if t:
            m.sub_(spk[t - 1], alpha=thr)
        torch.gt(m, thr, out=spk[t])
        prev = m


def _scan_numpy(
    current: np.ndarray, mem: np.ndarray, spk: np.ndarray, beta: float, thr: float
) -> None:
    # Same loop on CPU with numpy ufuncs: ~1 us per call instead of torch's ~5 us dispatch,
    # which is most of the cost on [B, N] slices. Same operation order as snn.Leaky.
    beta, thr = mem.dtype.type(beta), mem.dtype.type(thr)
    reset = np.empty(mem.shape[1:], dtype=mem.dtype)
    prev = np.zeros(mem.shape[1:], dtype=mem.dtype)
    for t in range(mem.shape[0]):
        m = mem[t]
        np.multiply(prev, beta, out=m)
        np.add(m, current if current.ndim == 2 else current[t], out=m)
        if t:
            if thr == 1:  # spikes are 0/1, so this is exactly m - thr * S[t-1]
                np.subtract(m, spk[t - 1], out=m)
            else:
                np.multiply(spk[t - 1], thr, out=reset)
                np.subtract(m, reset, out=m)
        np.greater(m, thr, out=spk[t])
        prev = m


def _recurrence_numpy(a: np.ndarray, g: np.ndarray, beta: float) -> None:
    """g[t] = a[t] + beta g[t+1]: cheaper than the U matmul on CPU (2 x T small calls)."""
    beta = g.dtype.type(beta)
    g[-1] = a[-1]
    for t in range(g.shape[0] - 2, -1, -1):
        np.multiply(g[t + 1], beta, out=g[t])
        np.add(g[t], a[t], out=g[t])


def _numpy_ok(t: Tensor) -> bool:
    return t.device.type == "cpu" and t.dtype in (torch.float32, torch.float64)


class _LeakyScan(torch.autograd.Function):
    """A whole `snn.Leaky` time loop as one autograd node.

    The forward loop runs without building a graph. Because the reset is detached, the
    gradient wrt the membrane is the linear recurrence g[t] = a[t] + beta g[t+1] with
    a[t] = dL/dU[t] + dL/dS[t] * sg'(U[t]), i.e. g = U a with U the T x T upper-triangular
    matrix of beta powers: one matmul (a short numpy loop on CPU) instead of T autograd steps.
    """

    @staticmethod
    def forward(ctx, current, beta, threshold, slope, num_steps):
        # current: [T, B, N], or [B, N] when it is the same at every step (direct encoding).
        constant = current.dim() == 2
        steps = num_steps if constant else current.shape[0]
        shape = (steps, *current.shape[-2:])
        mem = current.new_empty(shape)
        spk = current.new_empty(shape)
        if _numpy_ok(current):
            _scan_numpy(current.detach().numpy(), mem.numpy(), spk.numpy(), beta, threshold)
        else:
            _scan_torch(current, mem, spk, beta, threshold)
        ctx.save_for_backward(mem)
        ctx.constant, ctx.beta, ctx.threshold, ctx.slope = constant, beta, threshold, slope
        ctx.set_materialize_grads(False)
        return spk, mem

    @staticmethod
    def backward(ctx, grad_spk, grad_mem):
        (mem,) = ctx.saved_tensors
        grad = grad_mem
        if grad_spk is not None:
            # fast sigmoid: dS/dU = 1 / (k |U - thr| + 1)^2, as snntorch computes it
            denom = (mem - ctx.threshold).abs_().mul_(ctx.slope).add_(1.0).square_()
            grad = grad_spk / denom if grad is None else grad + grad_spk / denom
        if grad is None:
            return None, None, None, None, None
        steps = mem.shape[0]
        if ctx.constant:  # dL/dI = sum over t of g[t] = (column sums of U) a
            u = _decay_matrix(steps, ctx.beta, grad)
            return (u.sum(0) @ grad.reshape(steps, -1)).view(mem.shape[1:]), None, None, None, None
        if _numpy_ok(grad):
            g = torch.empty_like(mem)
            _recurrence_numpy(grad.detach().numpy(), g.numpy(), ctx.beta)
        else:
            g = (_decay_matrix(steps, ctx.beta, grad) @ grad.reshape(steps, -1)).view(mem.shape)
        return g, None, None, None, None


def _per_window(seq: Tensor) -> Tensor:
    """[T, B, N] -> [B] totals; reducing the contiguous last axis first is ~5x faster."""
    return seq.sum(2).sum(0)


def rate_encode(x: Tensor, num_steps: int, gain: float = 1.0) -> Tensor:
    """Bernoulli spike trains `[T, B, F]` (time-major) with p = clamp(gain * minmax(x), 0, 1).

    Each window is scaled to [0, 1] by its own min/max. Draws come from torch's global RNG as
    16-bit uniform integers (four per 64-bit draw), so p is resolved to 2**-16: ~15x faster
    than `torch.bernoulli` on CPU, where the draw would otherwise dominate training.
    """
    lo = x.amin(-1, keepdim=True)
    span = (x.amax(-1, keepdim=True) - lo).clamp_min(torch.finfo(x.dtype).tiny)
    p = ((x - lo) / span * gain).clamp(0.0, 1.0)
    fire = torch.round(p * 65536.0)  # how many of the 65536 outcomes give a spike
    limit = (fire - 32768.0).clamp(max=32767.0).to(torch.int16)
    count = num_steps * x.numel()
    bits = torch.empty((count + 3) // 4, dtype=torch.int64, device=x.device)
    uniform = bits.random_(-(2**63), None).view(torch.int16)[:count]
    out = torch.empty((num_steps, *x.shape), dtype=x.dtype, device=x.device)
    torch.lt(uniform.view(out.shape), limit, out=out)
    certain = (fire >= 65536.0).flatten().nonzero().squeeze(1)  # p == 1 does not fit int16
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
        """Simulate the network; `reference=True` runs the plain per-step snnTorch loop."""
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
        input_spikes = None if seq is None else _per_window(seq.detach())
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
            spk, mem = _LeakyScan.apply(h, beta, float(lif.threshold), self.surrogate_slope, steps)
            counts.append(_per_window(spk.detach()))
            h = spk if i == len(self.hidden) or masks[i] is None else spk * masks[i]
        return SNNOutput(spk, mem, mem.mean(0)), counts

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
        if not isinstance(ckpt, Mapping) or not {"config", "model_state_dict"} <= set(ckpt):
            raise ECGError(
                f"{name}: not a model checkpoint (needs 'config' and 'model_state_dict')"
            )
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
