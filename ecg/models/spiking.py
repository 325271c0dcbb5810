"""Base of the spiking models: hidden layers `fc1, lif1, fc2, lif2, ...`, each `nn.Linear`
followed by `snntorch.Leaky` (fast-sigmoid surrogate; reset to zero as NIR's LIF states it, or
by subtraction), simulated by the fast `LeakyScan` kernel (`ecg.models.lif`), and a linear
readout `fc{L}` of the last hidden layer's spikes at every step; the logits are that readout
averaged over the steps (BeatSNN reads it per beat: `ecg.models.heads`).

A subclass says how its input becomes per-step currents (`prepare`); simulating the layers,
dropout, firing rates and synaptic operations are shared. The layers have no recurrence
between them, so each layer's currents for all steps are one matmul (a single [B, N] one when
the input is the same at every step) before its membrane scan. The step-by-step snnTorch loop
over the same layers is `ecg.models.reference.ReferenceSNN`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import snntorch as snn
import torch
from snntorch import surrogate
from torch import Tensor, nn

from ecg.models.base import ECGModel, LayerActivity, ModelOutput
from ecg.models.lif import LeakyScan


class Prepared(NamedTuple):
    """A batch ready to simulate, with the random draws of this forward pass made."""

    x: Tensor  # [B, F] input that is the same at every step (seq is None), else as given
    seq: Tensor | None  # [T, B, F] per-step input, or None for constant input
    steps: int
    masks: list[Tensor | None]  # per hidden layer [B, N] dropout scale, or None
    input_spikes: Tensor | None  # [B] spikes of an encoded input, or None
    events: Tensor | None = None  # [3, E] (step, window, channel) of sparse input events


class SpikingNetwork(ECGModel):
    """Shared layers and simulation; subclasses define `prepare(x) -> Prepared`."""

    def _build_layers(
        self,
        sizes: Sequence[int],
        *,
        beta: float,
        threshold: float,
        surrogate_slope: float,
        dropout: float,
        reset: str,
    ) -> None:
        self.hidden, self.readout_size = [*sizes[1:-1]], int(sizes[-1])
        self.beta, self.threshold = float(beta), float(threshold)
        self.surrogate_slope, self.dropout = float(surrogate_slope), float(dropout)
        self.reset = reset
        for i in range(len(sizes) - 1):
            setattr(self, f"fc{i + 1}", nn.Linear(sizes[i], sizes[i + 1]))
            if i == len(sizes) - 2:
                break  # the readout: no neuron
            spike_grad = surrogate.fast_sigmoid(slope=self.surrogate_slope)
            # snnTorch delays a subtraction by one step by default; NIR's LIF resets at once
            neuron = snn.Leaky(
                self.beta,
                self.threshold,
                spike_grad,
                reset_mechanism=reset,
                reset_delay=reset == "subtract",
            )
            setattr(self, f"lif{i + 1}", neuron)
        self.last_activity: LayerActivity | None = None

    @property
    def fcs(self) -> list[nn.Linear]:
        """The hidden layers' synapses and, last, the readout."""
        return [getattr(self, f"fc{i + 1}") for i in range(len(self.hidden) + 1)]

    @property
    def lifs(self) -> list[snn.Leaky]:
        """One neuron layer per hidden layer."""
        return [getattr(self, f"lif{i + 1}") for i in range(len(self.hidden))]

    def refresh_neurons(self) -> None:
        """Copy the config's neuron constants into snnTorch's buffers (after loading)."""
        for lif in self.lifs:
            lif.beta.fill_(self.beta)
            lif.threshold.fill_(self.threshold)

    def dropout_masks(self, batch: int, like: Tensor) -> list[Tensor | None]:
        # One mask per window, shared by all steps: a dropped neuron is silent for the whole
        # window, as in a non-spiking net. Per-step masks at p=0.5 average out over 100 steps
        # and mostly add noise. Drawn after any encoding, so a seed gives the fast path and
        # the reference the same masks.
        if not (self.training and self.dropout > 0):
            return [None] * len(self.hidden)
        keep = 1.0 - self.dropout
        return [like.new_empty(batch, n).bernoulli_(keep).div_(keep) for n in self.hidden]

    def prepare(self, x: Tensor) -> Prepared:
        raise NotImplementedError

    def input_current(self, p: Prepared) -> Tensor:
        """fc1's output: [B, N] for constant input, else [T, B, N]. On sparse events, the sum
        of the weight columns of the channels that fired (the accumulates a neuromorphic chip
        does), not a dense matmul over mostly-zero input."""
        batch = p.x.shape[0]
        if p.events is not None:
            # a sparse matmul: 30x faster than gathering weight columns and adding them up
            t, b, channel = p.events
            rows = torch.stack([t * batch + b, channel])
            size = (p.steps * batch, self.fc1.in_features)
            ones = self.fc1.weight.new_ones(rows.shape[1])
            events = torch.sparse_coo_tensor(rows, ones, size, check_invariants=False)
            current = torch.sparse.mm(events.coalesce(), self.fc1.weight.t())
            return (current + self.fc1.bias).view(p.steps, batch, -1)
        if p.seq is None:
            return self.fc1(p.x)
        return self.fc1(p.seq.reshape(-1, p.seq.shape[-1])).view(p.steps, batch, -1)

    def step_input(self, p: Prepared, t: int) -> Tensor:
        """The dense input of step t [B, F] (the step-by-step reference feeds fc1 with it)."""
        if p.events is not None:
            dense = p.x.new_zeros(p.x.shape[0], self.fc1.in_features)
            at = p.events[0] == t
            dense[p.events[1, at], p.events[2, at]] = 1.0
            return dense
        return p.x if p.seq is None else p.seq[t]

    def forward(self, x: Tensor) -> ModelOutput:
        """Simulate the network; spike counts per layer are left in `last_activity`."""
        p = self.prepare(x)
        out, counts = self.simulate(p)
        self.last_activity = LayerActivity(p.input_spikes, torch.stack(counts, 1), p.steps)
        return out

    def simulate(self, p: Prepared) -> tuple[ModelOutput, list[Tensor]]:
        """All layers with the fast kernel -> (output, per-layer spike counts [B])."""
        batch = p.x.shape[0]
        h = self.input_current(p)
        counts = []
        for i, lif in enumerate(self.lifs):
            if i:
                h = self.fcs[i](h.reshape(-1, h.shape[-1])).view(p.steps, batch, -1)
            beta = float(lif.beta.clamp(0, 1))
            args = (beta, float(lif.threshold), self.surrogate_slope, p.steps, self.reset)
            h, count = LeakyScan.apply(h, p.masks[i], *args)
            counts.append(count)
        readout = self.fcs[-1](h.reshape(-1, h.shape[-1])).view(p.steps, batch, -1)
        return self.outputs(p, h, readout), counts

    def outputs(self, p: Prepared, spikes: Tensor, readout: Tensor) -> ModelOutput:
        """The model's outputs from the last hidden layer's `spikes` and the `readout` [T, B,
        outputs] at every step: by default the window logits are the readout averaged."""
        return ModelOutput(spikes, readout, readout.mean(0))

    def firing_rates(self, activity: LayerActivity | None = None) -> Tensor:
        """Mean spikes per neuron per step of each layer `[layers]`, over the windows."""
        act = activity or self.last_activity
        sizes = torch.tensor(self.hidden, dtype=act.layer_spikes.dtype)
        return act.layer_spikes.mean(0).cpu() / (sizes * act.num_steps)

    def synaptic_operations(self, activity: LayerActivity | None = None) -> Tensor:
        """Spike-driven accumulates per window `[B]`: each spike times its layer's fan-out.

        Spikes of an encoded input count with fan-out hidden[0]; an analog input instead
        costs multiply-accumulates (see each model's `cost`).
        """
        act = activity or self.last_activity
        fan_out = torch.tensor(
            [*self.hidden[1:], self.readout_size],
            dtype=act.layer_spikes.dtype,
            device=act.layer_spikes.device,
        )
        ops = act.layer_spikes @ fan_out
        if act.input_spikes is not None:
            ops = ops + act.input_spikes * self.hidden[0]
        return ops

    def spike_cost(self, x: Tensor) -> dict[str, float]:
        """Spikes per layer and in all, and SynOps, means per window (eval mode)."""
        self.eval_forward(x)
        act = self.last_activity
        spikes = act.layer_spikes.to(torch.float64)
        out = {
            f"spikes_per_window_lif{i + 1}": float(spikes[:, i].mean())
            for i in range(spikes.shape[1])
        }
        rates = self.firing_rates(act)
        out |= {f"firing_rate_lif{i + 1}": float(r) for i, r in enumerate(rates)}
        out["spikes_per_window"] = float(spikes.sum(1).mean())
        out["synops_per_window"] = float(self.synaptic_operations(act).to(torch.float64).mean())
        return out
