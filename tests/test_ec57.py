"""EC57 VEB/SVEB statistics on hand-computed cases, one per rule of `ecg.eval.ec57`."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ecg.core.errors import ECGError
from ecg.data.beat_labels import EXTRA, PADDING
from ecg.eval.ec57 import ec57_counts, ec57_figures, ec57_report

N, S, V, F, Q = range(5)
NONE_MISSED = [0, 0, 0, 0, 0]


def counts(ref, pred, missed=NONE_MISSED):
    return ec57_counts(np.array(ref), np.array(pred), np.array(missed))


def test_all_correct():
    c = counts([N, N, S, V, F], [N, N, S, V, F])
    assert c["veb"] == {"tp": 1, "fn": 0, "fp": 0, "tn": 4}
    assert c["sveb"] == {"tp": 1, "fn": 0, "fp": 0, "tn": 4}
    assert ec57_figures(c)["veb"] == {"sensitivity": 1.0, "ppv": 1.0, "fpr": 0.0}


def test_missed_v_lowers_sensitivity_and_missed_n_is_a_negative():
    c = counts([V, N], [V, N], [1, 0, 2, 0, 0])  # 2 V and 1 N never detected
    assert c["veb"] == {"tp": 1, "fn": 2, "fp": 0, "tn": 2}
    assert ec57_figures(c)["veb"]["sensitivity"] == pytest.approx(1 / 3)
    assert c["sveb"] == {"tp": 0, "fn": 0, "fp": 0, "tn": 5}  # missed V are SVEB negatives


def test_missed_s_is_an_sveb_false_negative():
    c = counts([S], [S], [0, 1, 0, 0, 0])
    assert c["sveb"] == {"tp": 1, "fn": 1, "fp": 0, "tn": 0}
    assert c["veb"] == {"tp": 0, "fn": 0, "fp": 0, "tn": 2}


def test_v_predicted_otherwise_is_a_false_negative():
    c = counts([V, V, V], [V, N, S])
    assert c["veb"] == {"tp": 1, "fn": 2, "fp": 0, "tn": 0}
    assert c["sveb"]["fp"] == 1  # the V called S


def test_extra_detection_predicted_v_lowers_ppv():
    c = counts([V, EXTRA, EXTRA], [V, V, N])
    assert c["veb"] == {"tp": 1, "fn": 0, "fp": 1, "tn": 0}  # an extra is never a negative
    assert ec57_figures(c)["veb"]["ppv"] == 0.5


def test_n_or_s_predicted_v_is_a_false_positive():
    c = counts([N, S, N], [V, V, N])
    assert c["veb"] == {"tp": 0, "fn": 0, "fp": 2, "tn": 1}
    assert ec57_figures(c)["veb"] == {"sensitivity": None, "ppv": 0.0, "fpr": 2 / 3}


def test_fusion_predicted_v_is_not_penalised():
    c = counts([V, F, F], [V, V, N])
    assert c["veb"] == {"tp": 1, "fn": 0, "fp": 0, "tn": 1}
    assert ec57_figures(c)["veb"] == {"sensitivity": 1.0, "ppv": 1.0, "fpr": 0.0}


def test_sveb_false_positives_from_n_v_f_and_extra():
    c = counts([S, N, V, F, EXTRA, N], [S, S, S, S, S, N])
    assert c["sveb"] == {"tp": 1, "fn": 0, "fp": 4, "tn": 1}
    assert ec57_figures(c)["sveb"] == {"sensitivity": 1.0, "ppv": 0.2, "fpr": 0.8}


def test_q_beats_are_excluded_detected_or_missed():
    c = counts([Q, Q, N], [V, S, N], [0, 0, 0, 0, 3])
    assert c["veb"] == {"tp": 0, "fn": 0, "fp": 0, "tn": 1}
    assert c["sveb"] == {"tp": 0, "fn": 0, "fp": 0, "tn": 1}


def test_padding_slots_are_ignored_and_missed_rows_summed():
    ref = np.array([[V, N, PADDING], [N, PADDING, PADDING]])
    pred = np.array([[V, N, V], [N, S, S]])
    missed = np.array([[0, 0, 1, 0, 0], [0, 0, 1, 0, 0]])
    c = ec57_counts(ref, pred, missed)
    assert c["veb"] == {"tp": 1, "fn": 2, "fp": 0, "tn": 2}
    assert c["sveb"] == {"tp": 0, "fn": 0, "fp": 0, "tn": 5}


def test_gross_figures_come_from_summed_counts():
    per_record = {
        "100": (np.array([V] * 9 + [N]), np.array([V] * 9 + [N]), np.zeros(5, int)),  # Se 1
        "200": (np.array([V]), np.array([N]), np.zeros(5, int)),  # Se 0
        "300": (np.array([N]), np.array([N]), np.zeros(5, int)),  # no V: Se undefined
    }
    report = ec57_report(per_record)
    assert report["counts"]["veb"] == {"tp": 9, "fn": 1, "fp": 0, "tn": 2}
    assert report["gross"]["veb"]["sensitivity"] == 0.9  # not (1 + 0) / 2
    assert report["per_record"]["200"]["veb"]["sensitivity"] == 0.0
    assert report["per_record"]["300"]["veb"]["sensitivity"] is None
    assert '"sensitivity": null' in json.dumps(report)


def test_empty_report_is_undefined_not_zero():
    report = ec57_report({})
    assert report["counts"]["sveb"] == {"tp": 0, "fn": 0, "fp": 0, "tn": 0}
    assert report["gross"]["sveb"] == {"sensitivity": None, "ppv": None, "fpr": None}


def test_bad_shapes_are_refused():
    with pytest.raises(ECGError, match="pred_classes"):
        counts([N, N], [N])
    with pytest.raises(ECGError, match="missed"):
        counts([N], [N], [0, 0, 0])
