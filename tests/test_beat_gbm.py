"""The per-beat LightGBM baseline learns beat classes and rhythms from the beat models'
labels and derives the window score as the networks do."""

import numpy as np
import torch

from ecg.data.beat_labels import PADDING
from ecg.features.layout import MAX_BEATS, STEP_BEAT, STEP_FEATURES
from ecg.models.heads import window_logits
from ecg.train.beat_gbm import beat_gbm_readouts, fit_beat_gbm
from ecg.train.gbm import GBMConfig

CFG = GBMConfig(trees=30, learning_rate=0.2, leaves=4, min_child_samples=3, subsample=1.0,
                colsample=1.0, reg_lambda=0.0)  # fmt: skip


def rows(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Windows of 8 beats; a V beat carries a large second value, an AF window a large
    first window feature."""
    rng = np.random.default_rng(seed)
    steps = np.zeros((n, MAX_BEATS, STEP_FEATURES), dtype=np.float32)
    codes = np.full((n, MAX_BEATS), PADDING, dtype=np.int64)
    steps[:, :8, 0] = 1.0
    codes[:, :8] = 0
    v = rng.random((n, 8)) < 0.15
    codes[:, :8][v] = 2
    steps[:, :8, 1] = np.where(v, 3.0, 0.0) + rng.normal(0, 0.3, (n, 8))
    rhythms = np.where(rng.random(n) < 0.3, 1, 0)
    steps[:, :, STEP_BEAT] = np.where(rhythms == 1, 2.0, 0.0)[:, None] + rng.normal(0, 0.3, (n, 1))
    return (
        torch.from_numpy(steps.reshape(n, -1)),
        torch.from_numpy(codes),
        torch.from_numpy(rhythms),
    )


def test_beat_gbm_learns_classes_and_derives_the_window_score():
    x, codes, rhythms = rows(300, 0)
    boosters = fit_beat_gbm(x, codes, rhythms, CFG, class_weights=(1, 4, 2, 2), seed=1)
    tx, tcodes, trhythms = rows(100, 1)
    beats, rhythm, scores = beat_gbm_readouts(boosters, tx)
    assert beats.shape == (100, MAX_BEATS, 4) and rhythm.shape == (100, 6)
    present = tcodes >= 0
    accuracy = (beats.argmax(-1)[present.numpy()] == tcodes[present].numpy()).mean()
    assert accuracy > 0.95
    assert (rhythm.argmax(-1) == trhythms.numpy()).mean() > 0.95
    want = torch.softmax(
        window_logits(torch.log(torch.tensor(beats)), torch.log(torch.tensor(rhythm)), present),
        -1,
    )[:, 1]
    np.testing.assert_allclose(scores, want.numpy(), rtol=0, atol=1e-12)
    abnormal = ((tcodes == 2).any(1) | (trhythms == 1)).numpy()
    assert scores[abnormal].mean() > 0.8 > 0.2 > scores[~abnormal].mean()
    again = fit_beat_gbm(x, codes, rhythms, CFG, class_weights=(1, 4, 2, 2), seed=1)
    assert again == boosters  # deterministic
