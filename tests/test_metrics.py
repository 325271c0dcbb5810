"""Metrics used for selection and reporting, against brute-force definitions."""

from __future__ import annotations

import numpy as np
import pytest

from ecg.eval.bootstrap import subject_bootstrap
from ecg.eval.metrics import auprc, auroc, binary_metrics, score_ties


def test_auroc_equals_pairwise_probability_with_ties():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 300)
    scores = np.round(rng.random(300) + 0.4 * labels, 1)  # rounding forces ties
    pos, neg = scores[labels == 1], scores[labels == 0]
    brute = (pos[:, None] > neg[None]).mean() + 0.5 * (pos[:, None] == neg[None]).mean()
    assert auroc(labels, scores) == pytest.approx(brute, abs=1e-12)


def test_auprc_perfect_and_hand_computed():
    labels = np.array([1, 0, 1, 0])
    assert auprc(labels, np.array([0.9, 0.1, 0.8, 0.2])) == pytest.approx(1.0)
    # ranking 1,0,1,0: precision at the two positives is 1 and 2/3
    assert auprc(labels, np.array([0.9, 0.8, 0.7, 0.1])) == pytest.approx(0.5 + 0.5 * 2 / 3)


def test_binary_metrics_hand_case():
    m = binary_metrics(np.array([1, 1, 1, 0, 0]), np.array([1, 1, 0, 0, 1]))
    assert m["sensitivity"] == pytest.approx(2 / 3) and m["specificity"] == pytest.approx(0.5)
    assert m["ppv"] == pytest.approx(2 / 3) and m["npv"] == pytest.approx(0.5)
    assert m["g_mean"] == pytest.approx(np.sqrt(1 / 3))


def test_subject_bootstrap_is_wider_than_window_bootstrap_would_be():
    # Two subjects: one detected perfectly, one missed entirely. Resampling subjects must
    # reach both extremes; a window bootstrap would sit near 0.5.
    labels = np.ones(200, dtype=int)
    predictions = np.r_[np.ones(100, dtype=int), np.zeros(100, dtype=int)]
    subjects = ["a"] * 100 + ["b"] * 100
    ci = subject_bootstrap(labels, predictions, subjects, n_boot=500, level=0.95, seed=0)
    assert ci["sensitivity"][0] == 0.0 and ci["sensitivity"][1] == 1.0
    assert ci["specificity"] == []  # no negatives: undefined, not invented


def test_score_ties():
    assert score_ties(np.array([0.1, 0.2, 0.2, 0.3])) == pytest.approx(0.5)
    assert score_ties(np.array([0.1, 0.2, 0.3])) == 0.0
