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
    cv["models"]["beat"]["per_class_sensitivity"] = {
        "S_beats": {"windows": 20, "sensitivity": 0.85},
        "preexcitation": {"windows": 0, "sensitivity": None},
    }
    stats = {"veb": {"sensitivity": 0.9, "ppv": 0.95, "fpr": 0.004},
             "sveb": {"sensitivity": 0.5, "ppv": 0.25, "fpr": 0.02}}  # fmt: skip
    ec57 = {
        "cv": {"beat": {**stats, "rhythm_recall": {"af": {"windows": 10, "recall": 0.7}}}},
        "ds2": {"beat": stats},
    }
    card = model_card(cv, checkpoint, subjects, ec57)
    for heading in ("## Intended use", "## Out of scope", "## Training data",
                    "## Cross-validated figures", "## What kind of arrhythmia",
                    "## Known failure modes", "## Input requirements"):  # fmt: skip
        assert heading in card, heading
    assert "| beat (this model) | 0.971 [0.941, 0.991] |" in card
    assert "| gbm | 0.968" in card
    assert "| DS1 -> DS2 | 90.0% | 95.0% | 0.4% | 50.0% | 25.0% | 2.0% |" in card
    assert "af 70.0% of 10" in card and "S_beats 85.0% of 20" in card
    assert "preexcitation" not in card  # no window of it: nothing to say
    assert "flagged at >= 0.3419" in card and "ensemble of 4 members" in card
    assert "record 230: sensitivity 0.05 of 60" in card
    assert "record 222: specificity 0.00" in card
    # 100 has too few arrhythmia windows to be a failure mode; 230 is missed by both models
    assert "record 100: sensitivity" not in card
    assert "Missed by every model (sensitivity below 0.5 for beat, gbm): records 230." in card
    assert "sampling rate above 80 Hz" in card and "trained on MLII" in card
    assert "Targets (sensitivity >= 0.9 with specificity >= 0.8) met: False" in card
