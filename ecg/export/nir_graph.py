"""A spiking network (or an ensemble of them) as a NIR graph of standard LIF neurons.

    input -> fc1: Affine -> lif1: LIF -> ... -> fc{L}: Affine -> output

The members sit side by side in one feed-forward network (their first layers read the shared
input, later layers are block-diagonal), so consumers that take one input and one output run it
as it is; the output carries each member's logits of that step. NIR's LIF is tau dV/dt =
(v_leak - V) + r I, spiking when V > v_threshold and then set to v_reset. Integrated with time
step `dt` (forward Euler, as snnTorch's and Norse's importers do) it is V[t] = (1 - dt/tau)
V[t-1] + (r dt/tau) I[t]. With tau = dt / (1 - beta), r = 1, the Affine scaled by 1 / (1 -
beta), v_leak = v_reset = 0 and v_threshold = U_thr, that is the model's neuron exactly
(`ecg.models.lif`, reset to zero): V[t] = beta W[t-1] + W x[t] + b. `dt` is in metadata;
snnTorch's importer fixes it at 1e-4 s, Norse takes it as an argument.

The input node takes the model's per-step input: BeatSNN's level-crossing events
(metadata["input_encoding"] says how to make them) or DeepSNN's window. The scores are
metadata["readout"]: mean over the steps of each member's output; softmax; class 1; mean over
members; flag at `threshold`. tests/test_export.py runs the file in snnTorch and Norse.
"""

from __future__ import annotations

from typing import Any

import nir
import numpy as np
import torch
from scipy.linalg import block_diag
from torch import nn

from ecg.core.errors import ECGError
from ecg.models.heads import read_heads
from ecg.models.spiking import SpikingNetwork

DT = 1e-4  # seconds per step: snnTorch's import_from_nir assumes this value
READOUT = (
    "output [members * outputs] at each step, member by member; logits of a member = mean "
    "over the steps of its outputs; p = softmax(logits)[1]; score = mean of p over members; "
    "flag = score >= threshold"
)
BEAT_READOUT = (
    "output [members * (beat_classes + rhythm_classes)] at each step, member by member; at "
    "step t the first beat_classes values are beat t's class logits (N, S, V, F), the rest "
    "averaged over the steps are the window's rhythm logits (sinus first); p(normal) = "
    "softmax(rhythm)[sinus] * product over detected beats of softmax(beat)[N]; score = mean "
    "of 1 - p(normal) over members; flag = score >= threshold (ecg.models.heads)"
)


def _stacked(layers: list[nn.Linear], gain: float, *, first: bool) -> nir.Affine:
    """The members' layers side by side: stacked rows for the shared input, block-diagonal
    after it (each member reads only its own neurons)."""
    weights = [fc.weight.detach().double().cpu().numpy() * gain for fc in layers]
    bias = np.concatenate([fc.bias.detach().double().cpu().numpy() * gain for fc in layers])
    weight = np.concatenate(weights) if first else block_diag(*weights)
    return nir.Affine(weight=weight, bias=bias)


def _neuron_constants(members: list[SpikingNetwork]) -> tuple[float, float]:
    # the constants the kernel simulates with: snnTorch keeps beta as a float32 buffer
    constants = {(float(n.beta.clamp(0, 1)), float(n.threshold)) for m in members for n in m.lifs}
    if len(constants) != 1:
        raise ECGError("NIR export: the members' neurons differ in beta or threshold")
    return constants.pop()


def _input_encoding(model: SpikingNetwork) -> str:
    if getattr(model, "events", False):
        c = model.config
        return (
            f"BeatSNN level-crossing events (ecg.models.encoding.level_crossings): one step per "
            f"detected beat, {c.num_steps} steps; for each of the {c.step_features} layout "
            f"values, {4 * c.event_levels} channels: rose past +k, fell below +k, fell past -k, "
            f"rose above -k, each for k = 1..{c.event_levels} at levels k * {c.event_step}"
        )
    if model.input_kind == "beats":
        return "the beat layout's values at each step (analog currents)"
    return "the window's samples, the same at every step (direct encoding, analog currents)"


def to_nir(
    members: list[SpikingNetwork], *, threshold: float, meta: dict[str, Any]
) -> nir.NIRGraph:
    """One NIR graph of every member, fed by one `input` node."""
    if not members or not all(isinstance(m, SpikingNetwork) for m in members):
        raise ECGError("NIR export: only spiking networks have a NIR graph")
    first = members[0]
    if getattr(first, "encoding", "direct") == "rate":
        raise ECGError(
            "NIR export: rate encoding draws random spikes; export a direct-encoded model"
        )
    if first.reset != "zero":
        raise ECGError(
            f"NIR export: NIR's LIF resets to zero and this model resets by {first.reset}; "
            f"train it with `model.{first.arch}.reset: zero`"
        )
    beta, thr = _neuron_constants(members)
    gain = 1.0 / (1.0 - beta)  # undoes the dt / tau that the Euler step puts on the input
    width = first.fcs[0].in_features
    nodes: dict[str, Any] = {"input": nir.Input(input_type={"input": np.array([width])})}
    edges: list[tuple[str, str]] = []
    source = "input"
    for k in range(1, len(first.lifs) + 1):
        fc = _stacked([m.fcs[k - 1] for m in members], gain, first=k == 1)
        n = fc.weight.shape[0]
        nodes[f"fc{k}"] = fc
        nodes[f"lif{k}"] = nir.LIF(
            tau=np.full(n, DT / (1.0 - beta)),
            r=np.ones(n),
            v_leak=np.zeros(n),
            v_threshold=np.full(n, thr),
            v_reset=np.zeros(n),
        )
        edges += [(source, f"fc{k}"), (f"fc{k}", f"lif{k}")]
        source = f"lif{k}"
    readout = f"fc{len(first.fcs)}"
    nodes[readout] = _stacked([m.fcs[-1] for m in members], 1.0, first=False)
    outputs = len(members) * first.readout_size
    nodes["output"] = nir.Output(output_type={"output": np.array([outputs])})
    edges += [(source, readout), (readout, "output")]
    metadata = {
        "dt": DT,
        "neuron": "LIF, forward Euler with dt; reset to v_reset as soon as V > v_threshold",
        "time_step": "one detected beat"
        if first.input_kind == "beats"
        else "one simulation step; the same window is the input at every step",
        "num_steps": int(first.num_steps),
        "input_encoding": _input_encoding(first),
        "readout": BEAT_READOUT if _beat_classes(first) else READOUT,
        "beat_classes": _beat_classes(first),
        "rhythm_classes": int(getattr(first.config, "rhythm_classes", 0)),
        "threshold": float(threshold),
        "members": len(members),
        **meta,
    }
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata)


def _beat_classes(model: SpikingNetwork) -> int:
    return int(getattr(model.config, "beat_classes", 0))


def scores_from_output(
    output: torch.Tensor,
    members: int,
    *,
    beat_classes: int = 0,
    present: torch.Tensor | None = None,
) -> torch.Tensor:
    """The graph's output trace [T, B, members * outputs] -> probability of Arrhythmia [B], by
    metadata["readout"]; a beat model's needs `present` [B, T], its detected beats."""
    steps, batch = output.shape[:2]
    per_member = output.reshape(steps, batch, members, -1)
    if not beat_classes:
        return torch.softmax(per_member.mean(0), -1)[..., 1].mean(1)
    if present is None:
        raise ECGError("scores_from_output: a beat model's readout needs `present` [B, T]")
    scores = [
        torch.softmax(read_heads(per_member[:, :, m], present, beat_classes).window, -1)[:, 1]
        for m in range(members)
    ]
    return torch.stack(scores, 1).mean(1)
