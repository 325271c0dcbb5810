"""A spiking network (or an ensemble of them) as a NIR graph, exactly.

Each layer k of a member becomes

    fc{k}: Affine(W, b) -> li{k}: LI -> thr{k}: Threshold(U_thr) -> next layer's Affine
                            ^                  |
                            +-- reset{k}: Linear(-U_thr I) <-+   (recurrent edge)

NIR's LI, tau dU/dt = (v_leak - U) + r I, integrated by forward Euler with dt = 1, with
tau = 1 / (1 - beta) and r = tau, is U[t] = beta U[t-1] + I[t]. snnTorch's Leaky resets by
SUBTRACTION with the previous step's spike, U[t] = beta U[t-1] + I[t] - U_thr S[t-1], which
NIR's LIF (reset to v_reset) cannot state; the recurrent Linear(-U_thr) from the spikes back
into the LI is that subtraction, delayed one step as every edge of a cycle is. So the graph
reproduces the model's spikes exactly, not approximately (tests/test_export.py).

The output Threshold's spikes only drive its reset: the readout is the output LI's membrane,
`output_m{i}` per member. The scores are metadata["readout"]: mean over the T steps of the
output membrane = logits; softmax; class 1; mean over members; flag at `threshold`.
"""

from __future__ import annotations

from typing import Any

import nir
import numpy as np

from ecg.core.errors import ECGError
from ecg.models.spiking import SpikingNetwork

READOUT = (
    "logits = mean over the T steps of each member's output membrane (output_m<i>); "
    "p = softmax(logits)[1]; score = mean of p over members; flag = score >= threshold"
)


def _member_nodes(model: SpikingNetwork, prefix: str) -> tuple[dict[str, Any], list, str]:
    nodes: dict[str, Any] = {}
    edges: list[tuple[str, str]] = []
    source = "input"
    for k, (fc, lif) in enumerate(zip(model.fcs, model.lifs, strict=True), start=1):
        # the constants the kernel simulates with: snnTorch keeps beta as a float32 buffer
        beta, thr = float(lif.beta.clamp(0, 1)), float(lif.threshold)
        tau = 1.0 / (1.0 - beta)
        w = fc.weight.detach().double().cpu().numpy()
        b = fc.bias.detach().double().cpu().numpy()
        n = w.shape[0]
        fc_name, li, th, rs = (f"{prefix}{s}{k}" for s in ("fc", "li", "thr", "reset"))
        nodes[fc_name] = nir.Affine(weight=w, bias=b)
        nodes[li] = nir.LI(tau=np.full(n, tau), r=np.full(n, tau), v_leak=np.zeros(n))
        nodes[th] = nir.Threshold(threshold=np.full(n, thr))
        nodes[rs] = nir.Linear(weight=-thr * np.eye(n))
        edges += [(source, fc_name), (fc_name, li), (li, th), (th, rs), (rs, li)]
        source = th
    return nodes, edges, f"{prefix}li{len(model.fcs)}"


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
    width = first.fcs[0].in_features
    nodes: dict[str, Any] = {"input": nir.Input(input_type={"input": np.array([width])})}
    edges: list[tuple[str, str]] = []
    for i, member in enumerate(members, start=1):
        member_nodes, member_edges, readout = _member_nodes(member, f"m{i}.")
        out = f"output_m{i}"
        member_nodes[out] = nir.Output(output_type={"output": np.array([member.num_classes])})
        nodes |= member_nodes
        edges += [*member_edges, (readout, out)]
    steps = getattr(first, "num_steps", None)
    metadata = {
        "dt": 1.0,
        "integration": "forward Euler, dt = 1: U[t] = U[t-1] + dt / tau (v_leak - U[t-1] + r I[t])",
        "threshold_rule": "S = 1 where U > threshold (strict), else 0",
        "reset": "subtract threshold, through the recurrent reset<k> Linear (one-step delay)",
        "cycle_delay": "an edge that closes a cycle carries the previous step's output",
        "time_step": "one detected beat (BeatSNN)"
        if first.input_kind == "beats"
        else "one simulation step; the same window is the input at every step (direct encoding)",
        "num_steps": int(steps) if steps else None,
        "readout": READOUT,
        "threshold": float(threshold),
        "members": len(members),
        **meta,
    }
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata)
