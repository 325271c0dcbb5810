"""The step-by-step snnTorch simulation of a spiking model: the reference that the fast
kernel must match (tests) and be measured against (benchmarks).

`ReferenceSNN(model)` shares the model's `fc` and `snn.Leaky` modules and its input
preparation (encoding and dropout draws, in the same order), and calls each `snn.Leaky` once
per time step and the readout on the last layer's spikes, exactly as an snnTorch user would
write the loop.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ecg.models.base import LayerActivity, ModelOutput
from ecg.models.spiking import SpikingNetwork


class ReferenceSNN(nn.Module):
    """Per-step snnTorch loop over the layers of `model` (not a copy: the same parameters)."""

    def __init__(self, model: SpikingNetwork) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: Tensor) -> ModelOutput:
        model = self.model
        p = model.prepare(x)
        lifs, fcs = model.lifs, model.fcs
        mems = [lif.reset_mem() for lif in lifs]
        counts = [p.x.new_zeros(p.x.shape[0]) for _ in lifs]
        spk_rec, out_rec = [], []
        for t in range(p.steps):
            h = model.step_input(p, t)
            for i, lif in enumerate(lifs):
                spk, mems[i] = lif(fcs[i](h), mems[i])
                spk = spk.to(mems[i].dtype)  # snnTorch spikes are float32 whatever the model
                counts[i] += spk.detach().sum(1)
                h = spk if p.masks[i] is None else spk * p.masks[i]
            spk_rec.append(h)
            out_rec.append(fcs[-1](h))
        for lif in lifs:  # drop the graph snnTorch keeps in its state buffer
            lif.reset_mem()
        readout = torch.stack(out_rec)
        model.last_activity = LayerActivity(p.input_spikes, torch.stack(counts, 1), p.steps)
        return model.outputs(p, torch.stack(spk_rec), readout)
