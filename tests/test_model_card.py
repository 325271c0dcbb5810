"""The model card is written from the run's figures: every model's row, the threshold, the
failure modes found in the per-subject table, and the input requirements."""

from __future__ import annotations

from ecg.eval.model_card import model_card
from tests.deployable import INPUT


def figures(auroc: float, sens: float, spec: float) -> dict:
    return {
        "pooled_auroc": auroc,
        "pooled_auroc_ci": [auroc - 0.03, auroc + 0.02],
        "per_fold_auroc": [auroc - 0.05, auroc + 0.01],
        "pooled_sensitivity": sens,
        "pooled_specificity": spec,
        "confidence_intervals": {"sensitivity": [0.8, 0.99], "specificity": [0.7, 0.9]},
        "threshold_spread": {"min": 0.2, "median": 0.3, "max": 0.6},
        "targets_met": False,
        "dechazal": {"auroc": 0.96, "sensitivity": 0.97, "specificity": 0.75},
    }


def test_the_card_carries_the_run_figures_and_failures():
    cv = {
        "product": "beat",
        "folds": 5,
        "inner_folds": 4,
        "subjects": 3,
        "windows": 300,
        "arrhythmia_share": 0.4,
        "targets": {"sensitivity": 0.9, "specificity": 0.8},
        "models": {"beat": figures(0.971, 0.926, 0.811), "gbm": figures(0.968, 0.92, 0.77)},
    }
    subjects = [
        {"subject": "230", "windows": "100", "arrhythmia_windows": "60", "beat_sensitivity":
         "0.05", "beat_specificity": "0.9", "gbm_sensitivity": "0.1", "gbm_specificity": "0.9"},
        {"subject": "222", "windows": "100", "arrhythmia_windows": "40", "beat_sensitivity":
         "0.9", "beat_specificity": "0.0", "gbm_sensitivity": "0.95", "gbm_specificity": "0.2"},
        {"subject": "100", "windows": "100", "arrhythmia_windows": "2", "beat_sensitivity":
         "0.0", "beat_specificity": "0.99", "gbm_sensitivity": "0.0", "gbm_specificity": "1.0"},
    ]  # fmt: skip
    ids = ["100", "222", "230"]
    checkpoint = {"threshold": 0.3419, "input": INPUT, "members": 4, "train_subjects": ids,
                  "train_records": ids}  # fmt: skip
    card = model_card(cv, checkpoint, subjects)
    for heading in ("## Intended use", "## Out of scope", "## Training data",
                    "## Cross-validated figures", "## Known failure modes",
                    "## Input requirements"):  # fmt: skip
        assert heading in card, heading
    assert "| beat (this model) | 0.971 [0.941, 0.991] |" in card
    assert "| gbm | 0.968" in card
    assert "flagged at >= 0.3419" in card and "ensemble of 4 members" in card
    assert "record 230: sensitivity 0.05 of 60" in card
    assert "record 222: specificity 0.00" in card
    # 100 has too few arrhythmia windows to be a failure mode; 230 is missed by both models
    assert "record 100: sensitivity" not in card
    assert "Missed by every model (sensitivity below 0.5 for beat, gbm): records 230." in card
    assert "sampling rate above 80 Hz" in card and "trained on MLII" in card
    assert "Targets (sensitivity >= 0.9 with specificity >= 0.8) met: False" in card
