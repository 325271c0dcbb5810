"""A reference interpreter of the NIR graphs that `ecg.export.nir_graph` writes: discrete time,
dt from the graph, forward Euler for LI, strict Threshold, and one step of delay on every edge
that closes a cycle. Small on purpose: it is the statement of the semantics the export relies
on, and the test that the graph reproduces the model."""

from __future__ import annotations

import nir
import numpy as np


def _order(graph: nir.NIRGraph) -> tuple[list[str], set[tuple[str, str]]]:
    """Nodes in evaluation order (reverse DFS post-order from the inputs) and the edges that
    close a cycle (they point back to a node evaluated earlier)."""
    succ: dict[str, list[str]] = {name: [] for name in graph.nodes}
    for a, b in graph.edges:
        succ[a].append(b)
    seen: set[str] = set()
    post: list[str] = []

    def visit(node: str) -> None:
        stack = [(node, iter(succ[node]))]
        seen.add(node)
        while stack:
            current, children = stack[-1]
            for child in children:
                if child not in seen:
                    seen.add(child)
                    stack.append((child, iter(succ[child])))
                    break
            else:
                post.append(current)
                stack.pop()

    for name, node in graph.nodes.items():
        if isinstance(node, nir.Input):
            visit(name)
    order = post[::-1]
    rank = {name: i for i, name in enumerate(order)}
    delayed = {(a, b) for a, b in graph.edges if rank[b] <= rank[a]}
    return order, delayed


def run_nir(graph: nir.NIRGraph, inputs: np.ndarray) -> dict[str, np.ndarray]:
    """Simulate `graph` on `inputs` [T, B, F] (float64); returns every Output node's trace
    [T, B, N] and every Threshold node's spikes, by node name."""
    order, delayed = _order(graph)
    dt = float(graph.metadata.get("dt", 1.0))
    preds: dict[str, list[tuple[str, bool]]] = {name: [] for name in graph.nodes}
    for a, b in graph.edges:
        preds[b].append((a, (a, b) in delayed))
    steps, batch = inputs.shape[:2]
    now: dict[str, np.ndarray] = {}
    state: dict[str, np.ndarray] = {}
    traces: dict[str, list[np.ndarray]] = {}
    for t in range(steps):
        before = now
        now = {}
        for name in order:
            node = graph.nodes[name]
            if isinstance(node, nir.Input):
                now[name] = inputs[t]
                continue
            x = 0.0
            for source, is_delayed in preds[name]:
                # a delayed edge carries the previous step's output (nothing at step 0)
                x = x + (before.get(source, 0.0) if is_delayed else now[source])
            if isinstance(node, nir.Affine):
                now[name] = x @ node.weight.T + node.bias
            elif isinstance(node, nir.Linear):
                now[name] = x @ node.weight.T
            elif isinstance(node, nir.LI):
                v = state.get(name, np.zeros((batch, len(node.tau))))
                v = v + dt / node.tau * (node.v_leak - v + node.r * x)
                state[name] = now[name] = v
            elif isinstance(node, nir.Threshold):
                now[name] = (x > node.threshold).astype(np.float64)
            elif isinstance(node, nir.Output):
                now[name] = x
            else:
                raise NotImplementedError(f"NIR node {type(node).__name__} ({name})")
            if isinstance(node, nir.Output | nir.Threshold):
                traces.setdefault(name, []).append(now[name])
    return {name: np.stack(trace) for name, trace in traces.items()}


def nir_scores(graph: nir.NIRGraph, inputs: np.ndarray) -> np.ndarray:
    """Probability of Arrhythmia per window [B], by the graph's stated readout."""
    traces = run_nir(graph, inputs)
    outputs = sorted(k for k in traces if k.startswith("output_m"))
    probs = []
    for name in outputs:
        logits = traces[name].mean(0)
        z = np.exp(logits - logits.max(1, keepdims=True))
        probs.append(z[:, 1] / z.sum(1))
    return np.mean(probs, axis=0)
