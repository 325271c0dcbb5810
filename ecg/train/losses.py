"""Focal loss for the imbalanced Normal (0) / Arrhythmia (1) problem."""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

from ecg.core.errors import ECGError


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
