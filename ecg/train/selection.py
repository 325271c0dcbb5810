"""Which epoch's model to keep."""

from __future__ import annotations

import math
from typing import Any

from ecg.train.config import SELECTION_MODES


class ModelSelector:
    """Keeps the best epoch by validation sensitivity and specificity (at 0.5).

    mode "g_mean": the best G-mean wins. mode "targets" (the design's rule): until some epoch
    meets both targets the best G-mean wins; once one does, only target-meeting epochs can
    win, ranked by sensitivity, then specificity. mode "last": every epoch wins, so training
    ends with the last one (no selection on validation, no early stopping).
    """

    def __init__(
        self, *, mode: str = "targets", sensitivity_target: float, specificity_target: float
    ) -> None:
        if mode not in SELECTION_MODES:
            raise ValueError(f"selection mode must be one of {SELECTION_MODES}, got {mode!r}")
        self.mode = mode
        self.sensitivity_target = sensitivity_target
        self.specificity_target = specificity_target
        self.best_epoch = 0
        self.best_key: tuple[float, ...] = (-math.inf,)
        self.targets_met = False

    def consider(self, epoch: int, sensitivity: float, specificity: float) -> bool:
        """Record an epoch's validation figures; True if it is the new best."""
        if self.mode == "last":
            self.best_key, self.best_epoch = (float(epoch),), epoch
            return True
        sens = 0.0 if math.isnan(sensitivity) else sensitivity
        spec = 0.0 if math.isnan(specificity) else specificity
        met = (
            self.mode == "targets"
            and sens >= self.sensitivity_target
            and spec >= self.specificity_target
        )
        if met:
            key = (1.0, sens, spec)
        elif self.targets_met:
            return False
        else:
            key = (0.0, math.sqrt(sens * spec))
        if key > self.best_key:
            self.best_key, self.best_epoch, self.targets_met = key, epoch, met
            return True
        return False

    def state_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "best_epoch": self.best_epoch,
            "best_key": list(self.best_key),
            "targets_met": self.targets_met,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.mode = str(state.get("mode", self.mode))
        self.best_epoch = int(state["best_epoch"])
        self.best_key = tuple(float(v) for v in state["best_key"])
        self.targets_met = bool(state["targets_met"])
