"""The gradient-boosting baseline: LightGBM on the window features of the beat layout (the
window-relative and patient-context features of step 0), what a user would otherwise pick.

LightGBM is used as a maintained, fast and deterministic implementation (one thread,
`deterministic=True`, fixed seed); the trained booster travels as its text model, in a
checkpoint of plain values (`booster`, beside the member's record).
"""

from __future__ import annotations

from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import torch

from ecg.core.config import check
from ecg.features.layout import STEP_BEAT, STEP_FEATURES


@dataclass(frozen=True)
class GBMConfig:
    """params.yaml `model.gbm`."""

    trees: int
    learning_rate: float
    leaves: int
    min_child_samples: int
    subsample: float  # rows per tree
    colsample: float  # features per tree
    reg_lambda: float  # L2 on leaf values

    def __post_init__(self) -> None:
        check(self.trees >= 1, "trees", "a positive integer", self.trees)
        check(self.learning_rate > 0, "learning_rate", "> 0", self.learning_rate)
        check(self.leaves >= 2, "leaves", ">= 2", self.leaves)
        check(self.min_child_samples >= 1, "min_child_samples", ">= 1", self.min_child_samples)
        check(0 < self.subsample <= 1, "subsample", "in (0, 1]", self.subsample)
        check(0 < self.colsample <= 1, "colsample", "in (0, 1]", self.colsample)
        check(self.reg_lambda >= 0, "reg_lambda", ">= 0", self.reg_lambda)


def window_features(inputs: torch.Tensor) -> np.ndarray:
    """[N, 29] window features (standardised, as the networks see them) of beat-layout rows."""
    x = inputs.numpy().reshape(len(inputs), -1, STEP_FEATURES)
    return np.ascontiguousarray(x[:, 0, STEP_BEAT:], dtype=np.float64)


def fit_gbm(inputs: torch.Tensor, labels: torch.Tensor, cfg: GBMConfig, *, seed: int) -> str:
    """Train on beat-layout rows (log loss, unweighted: the threshold rule sets the operating
    point); returns the booster as text."""
    model = lgb.LGBMClassifier(
        n_estimators=cfg.trees,
        learning_rate=cfg.learning_rate,
        num_leaves=cfg.leaves,
        min_child_samples=cfg.min_child_samples,
        subsample=cfg.subsample,
        subsample_freq=1,
        colsample_bytree=cfg.colsample,
        reg_lambda=cfg.reg_lambda,
        random_state=seed,
        n_jobs=1,
        deterministic=True,
        force_col_wise=True,
        verbose=-1,
    )
    model.fit(window_features(inputs), labels.numpy())
    return model.booster_.model_to_string()


def score_gbm(model_text: str, inputs: torch.Tensor) -> np.ndarray:
    """Probability of Arrhythmia per row."""
    booster = lgb.Booster(model_str=model_text)
    return np.asarray(booster.predict(window_features(inputs)), dtype=np.float64)
