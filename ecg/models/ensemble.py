"""An ensemble of trained models of one architecture, scoring a window by the mean of the
members' probabilities of Arrhythmia: the form of the final model (`models/final/`)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ecg.models.base import ECGModel


class MeanEnsemble(nn.Module):
    """`score(x)` = mean over members of `member.score(x)`."""

    def __init__(self, members: list[ECGModel]) -> None:
        super().__init__()
        if not members or len({type(m) for m in members}) != 1:
            raise ValueError("an ensemble needs one or more members of one architecture")
        self.members = nn.ModuleList(members)

    @property
    def arch(self) -> str:
        return self.members[0].arch

    @property
    def input_kind(self) -> str:
        return self.members[0].input_kind

    @property
    def input_width(self) -> int:
        return self.members[0].config.input_width

    @torch.no_grad()
    def score(self, x: Tensor) -> Tensor:
        return torch.stack([m.score(x) for m in self.members]).mean(0)

    def cost(self, x: Tensor) -> dict[str, float]:
        """Members' costs added up (each member runs on every window)."""
        total: dict[str, float] = {}
        for member in self.members:
            for key, value in member.cost(x).items():
                if key.startswith(("firing_rate", "beats_per_window")):
                    total[key] = value  # a rate or a property of the data, not a sum
                else:
                    total[key] = total.get(key, 0.0) + value
        return total
