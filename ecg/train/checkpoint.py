"""What a training checkpoint holds: the model (`ecg.models.checkpoint`'s `config` and
`model_state_dict`) plus the design's training record under the design's names
(`checkpoint['val_acc']`, `['history']`, `['targets_met']`, ...), and for `last.pt` the state
to resume.

Saved as a plain dict of tensors and plain values (`weights_only=True` loads it); keys not
named here (such as `pretrained_model` or `train_subjects`) travel in `extra`. No wall times:
the same training writes the same bytes.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecg.core.errors import ECGError
from ecg.core.storage import load_torch, save_torch

NO_METRICS = {k: math.nan for k in ("accuracy", "loss", "sensitivity", "specificity", "g_mean")}
# validate()'s metric name -> the design's checkpoint key
VAL_KEYS = {
    "accuracy": "val_acc",
    "loss": "val_loss",
    "sensitivity": "val_sensitivity",
    "specificity": "val_specificity",
    "g_mean": "val_g_mean",
}


@dataclass
class TrainingCheckpoint:
    """One epoch's weights and the run's record, as `best_model.pt` or `last.pt`."""

    config: dict[str, Any]  # model config, with "arch"
    model_state_dict: dict[str, Any]
    optimizer_state_dict: dict[str, Any]
    training_config: dict[str, Any]  # the FitConfig, as plain data
    stage: str  # "pretrain", "1" or "2"
    epoch: int  # epoch these weights are from (0: before training)
    val_acc: float  # validation figures of these weights at threshold 0.5
    val_loss: float
    val_sensitivity: float
    val_specificity: float
    val_g_mean: float
    history: list[dict[str, Any]]  # one row per epoch run
    targets_met: bool
    threshold: float = 0.5  # decision threshold, chosen on validation after training
    threshold_rule: str = "not chosen yet"
    val_at_threshold: dict[str, float] | None = None
    # resume state, in last.pt only
    selector: dict[str, Any] | None = None
    scheduler_state_dict: dict[str, Any] | None = None
    stale_epochs: int = 0
    finished: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @staticmethod
    def val_fields(val: dict[str, float]) -> dict[str, float]:
        return {VAL_KEYS[k]: float(val[k]) for k in NO_METRICS}

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        extra = data.pop("extra")
        return data | extra

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, name: str) -> TrainingCheckpoint:
        names = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        required = {f.name for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING}
        required -= {"extra"}
        if not isinstance(data, dict) or not required <= set(data):
            missing = sorted(required - set(data)) if isinstance(data, dict) else ["everything"]
            raise ECGError(f"{name}: not a training checkpoint (missing {missing[:4]})")
        known = {k: v for k, v in data.items() if k in names}
        return cls(**known, extra={k: v for k, v in data.items() if k not in names})

    def save(self, path: str | Path) -> None:
        save_torch(self.to_dict(), path)

    @classmethod
    def load(cls, path: str | Path) -> TrainingCheckpoint:
        return cls.from_dict(load_torch(path, what="checkpoint file"), name=str(path))
