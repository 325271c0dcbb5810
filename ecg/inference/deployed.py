"""The deployable model: an ensemble checkpoint with its decision threshold and the input
it was trained on (`models/final/model.pt`, written by the evaluate stage)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import torch
from torch import Tensor

from ecg.core.config import from_mapping
from ecg.core.errors import ECGError
from ecg.inference.model_lookup import find_model
from ecg.models.base import arrhythmia_probability
from ecg.models.checkpoint import load_scorer
from ecg.models.ensemble import MeanEnsemble
from ecg.signal.input_spec import InputSpec


class Readouts(NamedTuple):
    """Means over the ensemble's members of their softmax probabilities."""

    probability: Tensor  # [B] of Arrhythmia, as `DeployedModel.probabilities`
    beats: Tensor | None  # [B, T, beat classes] per step (None: the model reads out no beats)
    rhythm: Tensor | None  # [B, rhythm classes] (None: the model reads out no rhythm)


@dataclass
class DeployedModel:
    scorer: MeanEnsemble  # members in eval mode
    threshold: float  # probability at or above which a window is flagged
    input: InputSpec
    path: str
    meta: dict[str, Any] = field(default_factory=dict)  # training subjects, CV figures, ...

    @property
    def arch(self) -> str:
        return self.scorer.arch

    @torch.no_grad()
    def probabilities(self, x: torch.Tensor) -> torch.Tensor:
        """Probability of Arrhythmia per row of model input `[B]`."""
        return self.scorer.score(x)

    @torch.no_grad()
    def readouts(self, x: Tensor) -> Readouts:
        """The window probabilities and, for beat models, the mean beat-class and rhythm
        probabilities (`ecg.models.heads`), from one forward pass of each member."""
        outputs = [member(x) for member in self.scorer.members]
        probability = torch.stack([arrhythmia_probability(o.logits) for o in outputs]).mean(0)
        if any(o.beat_logits is None or o.rhythm_logits is None for o in outputs):
            return Readouts(probability, None, None)
        beats = torch.stack([o.beat_logits.softmax(-1) for o in outputs]).mean(0)
        rhythm = torch.stack([o.rhythm_logits.softmax(-1) for o in outputs]).mean(0)
        return Readouts(probability, beats, rhythm)


def load_model(path: str | os.PathLike | None = None) -> DeployedModel:
    """Load a deployable checkpoint (tensors and plain values only), by default the one
    `ecg-snn` finds (`ecg.inference.model_lookup`); `ECGError` naming the file when it is
    missing, unsafe, or lacks a threshold or input description."""
    name = os.fspath(find_model(path))
    if not Path(name).is_file():
        raise ECGError(
            f"{name}: model file not found (`dvc repro` trains it; or pass --model PATH)"
        )
    scorer, meta = load_scorer(name)
    missing = [k for k in ("threshold", "input") if k not in meta]
    if missing:
        raise ECGError(
            f"{name}: not a deployable model (no {' or '.join(missing)}): use the pipeline's "
            "models/final/model.pt (dvc repro)"
        )
    spec = from_mapping(InputSpec, dict(meta["input"]), source=f"{name}: bad input entry")
    threshold = float(meta["threshold"])
    if not 0.0 <= threshold <= 1.0:
        raise ECGError(f"{name}: threshold must be a probability, got {threshold}")
    scorer.eval()
    meta = {k: v for k, v in meta.items() if k not in ("threshold", "input", "config")}
    return DeployedModel(scorer, threshold, spec, name, meta)
