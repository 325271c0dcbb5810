"""Models over the beat-relative representation (`ecg.beats`), and a registry of all models.

All three share DeepSNN's contract: keyword-only constructor arguments with defaults, a plain
`config` dict with "arch", `from_checkpoint`, `fc1` as the first layer (transfer stage 1
freezes it), and an `SNNOutput(spikes, membrane, logits)` whose `logits` [B, 2] give a
fine-grained score. Input: the stored signals [B, T * STEP_FEATURES] (flattened as written by
`ecg.beats.model_input`) or per-step [B, T, STEP_FEATURES]; step t is beat t (zero beat
vector for padding) followed by the window's 9 standardised features.

- `BeatSNN` (arch "beat"): DeepSNN whose time axis is the heart's: beat t is the input current
  at step t (direct per-step analog input, DeepSNN's sequence path and fast LIF scan).
- `BeatANN` (arch "beat_ann"): the same layer sizes with ReLU in place of LIF, applied per step;
  logits = mean over steps of the output layer (like the SNN's time-averaged membrane).
  Output: membrane = per-step output-layer values [T, B, 2]; spikes = zeros of that shape (an
  ANN emits no spikes; zeros keep the tuple's shapes and any spike count honest).
- `LogisticBaseline` (arch "logreg"): `fc1 = Linear(9, 2)` on the window features of step 0.
  Output: membrane = logits[None] [1, B, 2]; spikes = zeros of that shape.

Efficiency (`efficiency(x)`: means per window over the batch, eval mode, no graph):

- "macs_per_window": multiply-accumulates that the model needs per window. The first layer's
  current W x_t + b splits into a window-feature part, the same at every step (computed once
  per window: 9 x h1 MACs), and a beat part that is exactly zero on padded steps (7 x h1 MACs
  per present beat only). For BeatSNN this is all its MACs (the deeper layers receive binary
  spikes: accumulates, counted as synops). For BeatANN the deeper layers are dense: they run
  on every present beat plus once for all padded steps together (identical input, identical
  output). For LogisticBaseline it is 9 x 2.
- "dense_macs_per_window": the same model evaluated naively at every one of the T steps (what
  the PyTorch code here actually executes): T x STEP_FEATURES x h1 for the SNN's first layer,
  T x (all layers) for the ANN.
- "synops_per_window": spike-driven accumulates (each hidden spike times its fan-out; the
  output layer's spikes go nowhere). 0 for the ANN and logistic regression. Membrane leak and
  reset updates (one per neuron per step) are not counted.
- "spikes_per_window_lif<k>" and "spikes_per_window" (BeatSNN only), "beats_per_window".
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from ecg.beats import BEAT_FEATURES, MAX_BEATS, STEP_FEATURES, WINDOW_FEATURES
from ecg.config import BeatModelConfig
from ecg.errors import ECGError
from ecg.model import DeepSNN, SNNOutput, read_checkpoint, spike_probability

_N_WINDOW = len(WINDOW_FEATURES)
_PRESENT = BEAT_FEATURES.index("present")


def as_steps(x: Tensor, num_steps: int, step_features: int) -> Tensor:
    """Stored [B, num_steps * step_features] or per-step [B, T, step_features] -> [B, T, F]."""
    if x.dim() == 2 and x.shape[1] == num_steps * step_features:
        return x.view(x.shape[0], num_steps, step_features)
    if x.dim() == 3 and x.shape[2] == step_features:
        return x
    raise ECGError(
        f"model input must be [B, {num_steps * step_features}] or [B, T, {step_features}], "
        f"got {list(x.shape)}"
    )


def _present_beats(steps: Tensor) -> Tensor:
    """Present (non-padding) beats per window [B] from [B, T, F] input."""
    return (steps[:, :, _PRESENT] != 0).sum(1).to(torch.float64)


def _first_layer_macs(steps: Tensor, hidden: int) -> Tensor:
    """[B] MACs of a per-step first layer that computes the window-feature part once per
    window and the beat part only on present beats (it is zero on padding)."""
    beat_part = steps.shape[2] - _N_WINDOW
    return (_N_WINDOW + _present_beats(steps) * beat_part) * hidden


def _check_common(num_steps: int, step_features: int, num_classes: int) -> None:
    if num_steps < 1 or step_features <= _N_WINDOW or num_classes < 2:
        raise ECGError(
            f"model needs num_steps >= 1, step_features > {_N_WINDOW} and num_classes >= 2, "
            f"got {num_steps!r}, {step_features!r}, {num_classes!r}"
        )


@torch.no_grad()
def _eval_forward(model: nn.Module, x: Tensor) -> SNNOutput:
    was_training = model.training
    model.eval()
    try:
        return model(x)
    finally:
        model.train(was_training)


class BeatSNN(DeepSNN):
    """DeepSNN over beats: step t of the simulation is detected beat t of the window.

    input [B, T * F] or [B, T, F] -> per-step currents fc1(x_t) -> [LIF -> Linear] ... -> LIF;
    logits = output membrane averaged over the T steps. Only the configuration, the input
    reshaping and the cost accounting differ from DeepSNN; the LIF simulation (fast scan and
    `reference=True` snnTorch loop) is DeepSNN's own.
    """

    arch = "beat"

    def __init__(
        self,
        *,
        num_steps: int = MAX_BEATS,
        step_features: int = STEP_FEATURES,
        hidden: Sequence[int] = (64, 32),
        num_classes: int = 2,
        beta: float = 0.9,
        threshold: float = 1.0,
        surrogate_slope: float = 25.0,
        dropout: float = 0.2,
    ) -> None:
        _check_common(num_steps, step_features, num_classes)
        super().__init__(
            input_size=step_features,
            hidden=hidden,
            num_classes=num_classes,
            beta=beta,
            threshold=threshold,
            num_steps=num_steps,
            encoding="direct",
            surrogate_slope=surrogate_slope,
            dropout=dropout,
        )
        self.step_features = int(step_features)

    @property
    def config(self) -> dict[str, Any]:
        return {
            "arch": self.arch,
            "num_steps": self.num_steps,
            "step_features": self.step_features,
            "hidden": list(self.hidden),
            "num_classes": self.num_classes,
            "beta": self.beta,
            "threshold": self.threshold,
            "surrogate_slope": self.surrogate_slope,
            "dropout": self.dropout,
        }

    def encode(self, x: Tensor) -> Tensor:
        """Stored `[B, T * F]` input -> per-step `[B, T, F]` (a view; no encoding needed)."""
        return as_steps(x, self.num_steps, self.step_features)

    def forward(self, x: Tensor, *, reference: bool = False) -> SNNOutput:
        """Simulate over the beats; `reference=True` runs the plain per-step snnTorch loop."""
        out = super().forward(self.encode(x), reference=reference)
        # The per-step input is analog, not spikes: it costs MACs (see efficiency), not SynOps.
        self.last_activity = self.last_activity._replace(input_spikes=None)
        return out

    @property
    def dense_macs_per_window(self) -> int:
        """First-layer MACs evaluated naively at all `num_steps` steps (per-step analog input,
        unlike DeepSNN's constant direct input which costs input_size x h1 once)."""
        return self.num_steps * self.step_features * self.hidden[0]

    def efficiency(self, x: Tensor) -> dict[str, float]:
        """Mean per window over the batch `x` (eval mode): spikes per layer, SynOps, MACs."""
        _eval_forward(self, x)
        steps = self.encode(x)
        act = self.last_activity
        spikes = act.layer_spikes.to(torch.float64)
        out = {
            f"spikes_per_window_lif{i + 1}": float(spikes[:, i].mean())
            for i in range(spikes.shape[1])
        }
        out["spikes_per_window"] = float(spikes.sum(1).mean())
        out["synops_per_window"] = float(self.synaptic_operations(act).to(torch.float64).mean())
        out["macs_per_window"] = float(_first_layer_macs(steps, self.hidden[0]).mean())
        out["dense_macs_per_window"] = float(act.num_steps * self.step_features * self.hidden[0])
        out["beats_per_window"] = float(_present_beats(steps).mean())
        return out


class _BeatModel(nn.Module):
    """Shared plumbing of the non-spiking models: input checks, score, from_checkpoint."""

    arch = ""
    lifs: tuple = ()  # no LIF layers: from_checkpoint's neuron-constant refresh does nothing
    # DeepSNN's loader is generic over `cls.arch`, `cls(**config)` and the state dict.
    from_checkpoint = classmethod(DeepSNN.from_checkpoint.__func__)

    num_steps: int
    step_features: int

    def encode(self, x: Tensor) -> Tensor:
        return as_steps(x, self.num_steps, self.step_features)

    @torch.no_grad()
    def score(self, x: Tensor) -> Tensor:
        """Probability of Arrhythmia per window `[B]` (no graph; mode left as is)."""
        return spike_probability(self(x).logits)


class BeatANN(_BeatModel):
    """BeatSNN's non-spiking twin: per step Linear -> ReLU (-> dropout) ... -> Linear, and
    logits = the output layer averaged over the T steps."""

    arch = "beat_ann"

    def __init__(
        self,
        *,
        num_steps: int = MAX_BEATS,
        step_features: int = STEP_FEATURES,
        hidden: Sequence[int] = (64, 32),
        num_classes: int = 2,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        _check_common(num_steps, step_features, num_classes)
        if not hidden or min(hidden) < 1:
            raise ECGError(f"model hidden sizes must be positive: {list(hidden)!r}")
        if not 0.0 <= dropout < 1.0:
            raise ECGError(f"model dropout must be in [0, 1), got {dropout!r}")
        self.num_steps, self.step_features = int(num_steps), int(step_features)
        self.hidden, self.num_classes, self.dropout = [*hidden], int(num_classes), float(dropout)
        sizes = [self.step_features, *self.hidden, self.num_classes]
        for i in range(len(sizes) - 1):
            setattr(self, f"fc{i + 1}", nn.Linear(sizes[i], sizes[i + 1]))

    @property
    def fcs(self) -> list[nn.Linear]:
        return [getattr(self, f"fc{i + 1}") for i in range(len(self.hidden) + 1)]

    @property
    def config(self) -> dict[str, Any]:
        return {
            "arch": self.arch,
            "num_steps": self.num_steps,
            "step_features": self.step_features,
            "hidden": list(self.hidden),
            "num_classes": self.num_classes,
            "dropout": self.dropout,
        }

    def forward(self, x: Tensor) -> SNNOutput:
        h = self.encode(x)  # [B, T, F]
        keep = 1.0 - self.dropout
        for i, fc in enumerate(self.fcs):
            h = fc(h)
            if i < len(self.hidden):
                h = torch.relu(h)
                if self.training and self.dropout > 0:  # one mask per window, as in DeepSNN
                    mask = h.new_empty(h.shape[0], 1, h.shape[2]).bernoulli_(keep).div_(keep)
                    h = h * mask
        membrane = h.transpose(0, 1)  # [T, B, classes]
        return SNNOutput(torch.zeros_like(membrane), membrane, membrane.mean(0))

    def efficiency(self, x: Tensor) -> dict[str, float]:
        """Mean per window over the batch `x`: MACs (see the module docstring)."""
        steps = self.encode(x)
        present = _present_beats(steps)
        any_padding = (present < steps.shape[1]).to(torch.float64)
        deep = sum(fc.in_features * fc.out_features for fc in self.fcs[1:])
        macs = _first_layer_macs(steps, self.hidden[0]) + (present + any_padding) * deep
        dense = steps.shape[1] * sum(fc.in_features * fc.out_features for fc in self.fcs)
        return {
            "synops_per_window": 0.0,
            "macs_per_window": float(macs.mean()),
            "dense_macs_per_window": float(dense),
            "beats_per_window": float(present.mean()),
        }


class LogisticBaseline(_BeatModel):
    """Logistic regression on the window's 9 standardised features (the feature part of
    step 0 of the stored input)."""

    arch = "logreg"

    def __init__(
        self,
        *,
        num_steps: int = MAX_BEATS,
        step_features: int = STEP_FEATURES,
        num_classes: int = 2,
    ) -> None:
        super().__init__()
        _check_common(num_steps, step_features, num_classes)
        self.num_steps, self.step_features = int(num_steps), int(step_features)
        self.num_classes = int(num_classes)
        self.fc1 = nn.Linear(_N_WINDOW, self.num_classes)

    @property
    def config(self) -> dict[str, Any]:
        return {
            "arch": self.arch,
            "num_steps": self.num_steps,
            "step_features": self.step_features,
            "num_classes": self.num_classes,
        }

    def forward(self, x: Tensor) -> SNNOutput:
        logits = self.fc1(self.encode(x)[:, 0, -_N_WINDOW:])
        membrane = logits.unsqueeze(0)  # [1, B, classes]
        return SNNOutput(torch.zeros_like(membrane), membrane, logits)

    def efficiency(self, x: Tensor) -> dict[str, float]:
        """Mean per window over the batch `x`: 9 x classes MACs."""
        steps = self.encode(x)
        macs = float(self.fc1.in_features * self.fc1.out_features)
        return {
            "synops_per_window": 0.0,
            "macs_per_window": macs,
            "dense_macs_per_window": macs,
            "beats_per_window": float(_present_beats(steps).mean()),
        }


ARCHITECTURES: dict[str, type[nn.Module]] = {
    "deep": DeepSNN,
    "beat": BeatSNN,
    "beat_ann": BeatANN,
    "logreg": LogisticBaseline,
}


def _architecture(arch: Any, where: str) -> type[nn.Module]:
    if arch not in ARCHITECTURES:
        raise ECGError(
            f"{where}unknown model architecture {arch!r}; expected one of "
            f"{', '.join(ARCHITECTURES)}"
        )
    return ARCHITECTURES[arch]


def beat_model_config(arch: str, cfg: BeatModelConfig) -> dict[str, Any]:
    """Config dict of a beat-input model from the `beat_model` params group."""
    if arch == "logreg":
        return {"arch": arch}
    config: dict[str, Any] = {"arch": arch, "hidden": list(cfg.hidden), "dropout": cfg.dropout}
    if arch == "beat":
        config |= {
            "beta": cfg.beta,
            "threshold": cfg.threshold,
            "surrogate_slope": cfg.surrogate_slope,
        }
    return config


def data_suffix(arch: str) -> str:
    """Which data files a model reads: raw windows (`*_ecg.pt`) or beat input (`*_beats.pt`)."""
    return "ecg" if arch == "deep" else "beats"


def input_width(config: Mapping[str, Any]) -> int:
    """Values per window the model expects, from its config."""
    if config.get("arch", "deep") == "deep":
        return int(config.get("input_size", 2500))
    return int(config.get("num_steps", MAX_BEATS)) * int(config.get("step_features", STEP_FEATURES))


@torch.no_grad()
def mean_efficiency(
    model: nn.Module, signals: Tensor, *, device: torch.device, batch_size: int = 512
) -> dict[str, float]:
    """Per-window operation counts (spikes, synaptic ops, MACs) averaged over `signals`."""
    model.eval()
    totals: dict[str, float] = {}
    for i in range(0, len(signals), batch_size):
        x = signals[i : i + batch_size].to(device)
        for key, value in model.efficiency(x).items():
            totals[key] = totals.get(key, 0.0) + float(value) * len(x)
    return {k: v / max(len(signals), 1) for k, v in totals.items()}


def build_model(config: Mapping[str, Any]) -> nn.Module:
    """A fresh model from a config dict; config["arch"] picks the class (default "deep")."""
    cfg = dict(config)
    cls = _architecture(cfg.pop("arch", "deep"), "")
    try:
        return cls(**cfg)
    except TypeError as err:
        raise ECGError(f"bad model config: {err}") from None


def model_from_checkpoint(
    path_or_dict: str | os.PathLike | Mapping[str, Any],
    *,
    map_location: str | torch.device | Callable | None = "cpu",
    **overrides: Any,
) -> nn.Module:
    """Rebuild any registered model from `{'config', 'model_state_dict'}` (file or dict),
    dispatching on config["arch"] (default "deep"); errors are one-line ECGErrors naming the
    file, as with `DeepSNN.from_checkpoint`."""
    name, ckpt = read_checkpoint(path_or_dict, map_location=map_location)
    cls = _architecture(ckpt["config"].get("arch", "deep"), f"{name}: ")
    try:
        return cls.from_checkpoint(ckpt, map_location=map_location, **overrides)
    except ECGError as err:  # the class names a dict "checkpoint": name the file instead
        message = str(err)
        if message.startswith("checkpoint: "):
            message = f"{name}: {message[len('checkpoint: ') :]}"
        raise ECGError(message) from None
