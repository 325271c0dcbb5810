"""The gradient-boosting baseline: LightGBM on the window features of the beat layout (the
window-relative and patient-context features of step 0), what a user would otherwise pick.

LightGBM is used as a maintained, fast and deterministic implementation (one thread,
`deterministic=True`, fixed seed); the trained booster travels as its text model.
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import torch

from ecg.features.layout import STEP_BEAT, STEP_FEATURES
from ecg.train.crossval_config import GBMConfig


def window_features(signals: torch.Tensor) -> np.ndarray:
    """[N, 29] window features (standardised, as the networks see them) of beat-layout rows."""
    x = signals.numpy().reshape(len(signals), -1, STEP_FEATURES)
    return np.ascontiguousarray(x[:, 0, STEP_BEAT:], dtype=np.float64)


def fit_gbm(signals: torch.Tensor, labels: torch.Tensor, cfg: GBMConfig, *, seed: int) -> str:
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
    model.fit(window_features(signals), labels.numpy())
    return model.booster_.model_to_string()


def score_gbm(model_text: str, signals: torch.Tensor) -> np.ndarray:
    """Probability of Arrhythmia per row."""
    booster = lgb.Booster(model_str=model_text)
    return np.asarray(booster.predict(window_features(signals)), dtype=np.float64)
