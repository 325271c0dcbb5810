"""A trained model as a TorchScript module: `torch.jit.load(path)(x)` -> probability of
Arrhythmia per window [B], the ensemble's mean, in plain torch ops.

The training kernel (`ecg.models.lif.LeakyScan`) is a custom autograd function, which
TorchScript cannot save; the spiking networks are therefore rebuilt here as the same
recurrence written step by step (reset to zero: V[t] = beta W[t-1] + I[t], S[t] = V[t] > U_thr,
W[t] = V[t] - S[t] V[t]; or by subtraction), in the kernel's order of operations, with the
input events encoded in the module. Non-spiking models are traced as they are.
"""

from __future__ import annotations

import copy
import os
import warnings

import torch
from torch import Tensor, nn

from ecg.core.errors import ECGError
from ecg.core.storage import atomic_path
from ecg.models.beat_snn import PRESENT
from ecg.models.encoding import level_crossings
from ecg.models.ensemble import MeanEnsemble
from ecg.models.heads import window_logits
from ecg.models.spiking import SpikingNetwork


class ScriptedMember(nn.Module):
    """One spiking network's layers in eval mode; `forward` -> its readout [T, B, outputs]."""

    def __init__(self, model: SpikingNetwork) -> None:
        super().__init__()
        self.fcs = nn.ModuleList([copy.deepcopy(fc) for fc in model.fcs[:-1]])
        self.readout = copy.deepcopy(model.fcs[-1])
        # the kernel's constants: snnTorch keeps beta as a float32 buffer (0.9 -> 0.8999999762)
        self.beta = float(model.lifs[0].beta.clamp(0, 1))
        self.threshold = float(model.lifs[0].threshold)
        self.zero_reset = model.reset == "zero"

    def forward(self, seq: Tensor, constant: bool, steps: int) -> Tensor:
        # seq: [T, B, F] per-step input, or [B, F] the same at every step (`constant`).
        h = seq
        first = True
        for fc in self.fcs:
            current = fc(h)
            if first and constant:
                current = current.unsqueeze(0).expand(steps, current.shape[0], current.shape[1])
            first = False
            mem = torch.zeros_like(current[0])
            spk = torch.zeros_like(current[0])
            spikes = []
            for t in range(current.shape[0]):
                if self.zero_reset:
                    mem = mem * self.beta + current[t]
                    spk = (mem > self.threshold).to(mem.dtype)
                    mem = mem - spk * mem
                else:
                    mem = mem * self.beta + current[t] - spk * self.threshold
                    spk = (mem > self.threshold).to(mem.dtype)
                spikes.append(spk)
            h = torch.stack(spikes)
        return self.readout(h)


class ScriptedSNNEnsemble(nn.Module):
    """Input as the model reads it ([B, T * F] beat layout, or [B, N] windows)."""

    def __init__(self, ensemble: MeanEnsemble) -> None:
        super().__init__()
        first = ensemble.members[0]
        if getattr(first, "encoding", "direct") == "rate":
            raise ECGError("TorchScript export: rate encoding is random; export a direct one")
        self.members = nn.ModuleList([ScriptedMember(m) for m in ensemble.members])
        self.constant = first.input_kind != "beats"
        self.steps = int(first.num_steps)
        self.step_features = int(getattr(first, "step_features", first.fcs[0].in_features))
        self.events = bool(getattr(first, "events", False))
        self.present = PRESENT
        config = first.config
        self.event_step = float(getattr(config, "event_step", 1.0))
        self.event_levels = int(getattr(config, "event_levels", 1))
        self.dtype = first.fcs[0].weight.dtype
        # beat models read their readout per beat (ecg.models.heads); 0: averaged over steps
        self.beat_classes = int(getattr(config, "beat_classes", 0))

    def forward(self, x: Tensor) -> Tensor:
        x = x.to(self.dtype)
        present = torch.zeros(x.shape[0], self.steps, dtype=torch.bool, device=x.device)
        if self.constant:
            seq = x
        else:
            steps = x.reshape(x.shape[0], self.steps, self.step_features)
            present = steps[:, :, self.present] != 0
            if self.events:
                steps = level_crossings(steps, present, self.event_step, self.event_levels)
            seq = steps.transpose(0, 1)
        total = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
        for member in self.members:
            readout = member(seq, self.constant, self.steps)
            if self.beat_classes > 0:
                beats = readout[:, :, : self.beat_classes].transpose(0, 1)
                rhythm = readout[:, :, self.beat_classes :].mean(0)
                logits = window_logits(beats, rhythm, present)
            else:
                logits = readout.mean(0)
            total = total + torch.softmax(logits, 1)[:, 1]
        return total / len(self.members)


class _Scores(nn.Module):
    def __init__(self, ensemble: MeanEnsemble) -> None:
        super().__init__()
        self.ensemble = ensemble

    def forward(self, x: Tensor) -> Tensor:
        return self.ensemble.score(x)


def to_torchscript(ensemble: MeanEnsemble, example: Tensor) -> torch.jit.ScriptModule:
    """The ensemble's scores as a TorchScript module (`example`: one batch of its input)."""
    ensemble = ensemble.eval()
    # torch 2.13 deprecates torch.jit in favour of torch.export, but TorchScript is still what
    # C++ and mobile runtimes load (`torch.jit.load`): asked for, so not warned about.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        if isinstance(ensemble.members[0], SpikingNetwork):
            return torch.jit.script(ScriptedSNNEnsemble(ensemble).eval())
        with torch.no_grad():
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            return torch.jit.trace(_Scores(ensemble), example)


def save_torchscript(module: torch.jit.ScriptModule, path: str | os.PathLike) -> None:
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(module, str(tmp))
