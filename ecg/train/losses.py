"""Focal losses: the window's Normal (0) / Arrhythmia (1), and for the beat models each
labelled beat's class and each window's rhythm (`TaskLoss`)."""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

from ecg.core.errors import ECGError
from ecg.data.beat_labels import PREDICTED_CLASSES
from ecg.models.base import ModelOutput


class FocalLoss(nn.Module):
    """FL = -alpha_t (1 - p_t)^gamma log p_t, averaged over the batch (Lin et al., 2017).

    p_t is the softmax probability of the true class; alpha_t = alpha for Arrhythmia (1) and
    1 - alpha for Normal (0). gamma = 0 and alpha = 0.5 give half the cross-entropy.
    """

    def __init__(self, *, alpha: float = 0.75, gamma: float = 2.0) -> None:
        super().__init__()
        if not 0.0 <= alpha <= 1.0:
            raise ECGError(f"focal loss alpha must be in [0, 1], got {alpha!r}")
        if not gamma >= 0.0:
            raise ECGError(f"focal loss gamma must be >= 0, got {gamma!r}")
        self.alpha, self.gamma = float(alpha), float(gamma)

    def forward(self, logits: Tensor, targets: Tensor) -> Tensor:
        """`logits` [B, 2], `targets` int64 [B] in {0, 1} -> scalar mean loss."""
        if logits.dim() != 2 or logits.shape[1] != 2 or targets.shape != logits.shape[:1]:
            raise ValueError(
                f"expected logits [B, 2] and targets [B], got "
                f"{list(logits.shape)} and {list(targets.shape)}"
            )
        log_pt = F.log_softmax(logits, dim=1).gather(1, targets.long()[:, None]).squeeze(1)
        alpha_t = torch.where(targets == 1, self.alpha, 1.0 - self.alpha).to(log_pt.dtype)
        loss = -alpha_t * log_pt
        if self.gamma:
            # 1 - p_t via expm1 keeps precision when p_t ~ 1; the floor keeps the gradient of
            # x**gamma finite for gamma < 1 where p_t rounds to exactly 1.
            one_minus_pt = (-torch.expm1(log_pt)).clamp_min(torch.finfo(log_pt.dtype).tiny)
            loss = loss * one_minus_pt**self.gamma
        return loss.mean()

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, gamma={self.gamma}"


def multiclass_focal(
    logits: Tensor, targets: Tensor, *, gamma: float, weights: Tensor | None = None
) -> Tensor:
    """Focal loss of `logits` [M, C] against class indices [M], each item weighted by its
    class's weight, normalised by the total weight (0 when M = 0)."""
    if len(targets) == 0:
        return logits.sum() * 0.0
    log_pt = F.log_softmax(logits, dim=1).gather(1, targets[:, None]).squeeze(1)
    w = torch.ones_like(log_pt) if weights is None else weights.to(log_pt)[targets]
    one_minus_pt = (-torch.expm1(log_pt)).clamp_min(torch.finfo(log_pt.dtype).tiny)
    return -(w * one_minus_pt**gamma * log_pt).sum() / w.sum()


class TaskLoss(nn.Module):
    """The window's focal loss, plus (for models with beat and rhythm readouts, on data that
    has their labels) `beat_weight` x the focal loss of every beat with an N, S, V or F
    reference beat and `rhythm_weight` x the focal loss of every window's rhythm."""

    def __init__(
        self,
        *,
        alpha: float,
        gamma: float,
        beat_weight: float = 0.0,
        beat_class_weights: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0),
        rhythm_weight: float = 0.0,
    ) -> None:
        super().__init__()
        self.window = FocalLoss(alpha=alpha, gamma=gamma)
        self.gamma, self.beat_weight, self.rhythm_weight = gamma, beat_weight, rhythm_weight
        self.register_buffer("class_weights", torch.tensor(beat_class_weights))

    def forward(
        self,
        out: ModelOutput,
        labels: Tensor,
        beats: Tensor | None = None,
        rhythms: Tensor | None = None,
    ) -> Tensor:
        """`labels` [B]; `beats` [B, T] slot codes (`ecg.data.beat_labels`), `rhythms` [B]."""
        loss = self.window(out.logits, labels)
        if out.beat_logits is not None and beats is not None and self.beat_weight:
            trained = (beats >= 0) & (beats < len(PREDICTED_CLASSES))
            beat = multiclass_focal(
                out.beat_logits[trained],
                beats[trained],
                gamma=self.gamma,
                weights=self.class_weights,
            )
            loss = loss + self.beat_weight * beat
        if out.rhythm_logits is not None and rhythms is not None and self.rhythm_weight:
            rhythm = multiclass_focal(out.rhythm_logits, rhythms, gamma=self.gamma)
            loss = loss + self.rhythm_weight * rhythm
        return loss
