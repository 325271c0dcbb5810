"""The per-beat gradient-boosting baseline, on the beat models' labels: one LightGBM reads
each detected beat's step of the beat layout (the values BeatSNN reads at that step) and
gives its class (N, S, V, F); a second reads the window features and gives the rhythm; the
window flag is derived from both exactly as the networks' (`ecg.models.heads`).

Same settings as the window baseline (`model.gbm`, `ecg.train.gbm`); beats are weighted by
the networks' `beat_class_weights`, so that both meet rare classes alike.
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import torch

from ecg.data.beat_labels import PREDICTED_CLASSES
from ecg.data.rhythms import RHYTHM_CLASSES
from ecg.features.layout import STEP_FEATURES
from ecg.models.beat_snn import PRESENT
from ecg.models.heads import window_logits
from ecg.train.gbm import GBMConfig, window_features


def _params(cfg: GBMConfig, classes: int, seed: int) -> dict:
    return {
        "objective": "multiclass",
        "num_class": classes,
        "learning_rate": cfg.learning_rate,
        "num_leaves": cfg.leaves,
        "min_child_samples": cfg.min_child_samples,
        "bagging_fraction": cfg.subsample,
        "bagging_freq": 1,
        "feature_fraction": cfg.colsample,
        "lambda_l2": cfg.reg_lambda,
        "seed": seed,
        "num_threads": 1,
        "deterministic": True,
        "force_col_wise": True,
        "verbose": -1,
    }


def _steps(inputs: torch.Tensor) -> np.ndarray:
    return inputs.numpy().astype(np.float64).reshape(len(inputs), -1, STEP_FEATURES)


def fit_beat_gbm(
    inputs: torch.Tensor,
    beat_classes: torch.Tensor,
    rhythms: torch.Tensor,
    cfg: GBMConfig,
    *,
    class_weights: tuple[float, ...],
    seed: int,
) -> dict[str, str]:
    """Train on beat-layout rows with their slot codes and rhythm classes; the two boosters
    as text."""
    steps, codes = _steps(inputs), beat_classes.numpy()
    labelled = (codes >= 0) & (codes < len(PREDICTED_CLASSES))
    beats = lgb.Dataset(
        steps[labelled],
        codes[labelled],
        weight=np.asarray(class_weights)[codes[labelled]],
    )
    beat = lgb.train(_params(cfg, len(PREDICTED_CLASSES), seed), beats, cfg.trees)
    windows = lgb.Dataset(window_features(inputs), rhythms.numpy())
    rhythm = lgb.train(_params(cfg, len(RHYTHM_CLASSES), seed), windows, cfg.trees)
    return {"beat_booster": beat.model_to_string(), "rhythm_booster": rhythm.model_to_string()}


def beat_gbm_readouts(boosters: dict[str, str], inputs: torch.Tensor) -> tuple[np.ndarray, ...]:
    """(beat class probabilities [N, T, 4], rhythm probabilities [N, 6], probability of
    Arrhythmia [N])."""
    steps = _steps(inputs)
    n, t, f = steps.shape
    beat = lgb.Booster(model_str=boosters["beat_booster"])
    beats = beat.predict(steps.reshape(n * t, f)).reshape(n, t, -1)
    rhythm = lgb.Booster(model_str=boosters["rhythm_booster"])
    rhythms = np.asarray(rhythm.predict(window_features(inputs)))
    present = torch.as_tensor(steps[:, :, PRESENT] != 0)
    logits = window_logits(
        torch.log(torch.as_tensor(beats)), torch.log(torch.as_tensor(rhythms)), present
    )
    scores = torch.softmax(logits, -1)[:, 1].numpy()
    return beats, rhythms, scores.astype(np.float64)
