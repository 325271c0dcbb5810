"""What kind of arrhythmia: EC57 from a beat model's per-beat probabilities, rhythm recall,
and the flagged share per beat class and rhythm."""

import numpy as np

from ecg.data.beat_labels import EXTRA, PADDING
from ecg.eval.class_report import (
    beat_statistics,
    class_sensitivity,
    published_rows,
    rhythm_recall,
)

N, S, V, F = range(4)


def one_hot(classes: np.ndarray) -> np.ndarray:
    return np.eye(4)[classes]


def test_beat_statistics_take_the_most_probable_class_and_count_per_record():
    codes = np.array([[N, V, S, PADDING], [V, EXTRA, N, PADDING], [N, N, N, N]])
    predicted = np.array([[N, V, N, V], [N, V, S, N], [N, N, N, N]])  # padding ignored
    missed = np.zeros((3, 5), dtype=np.int64)
    missed[2, V] = 1  # a V beat the detector missed
    out = beat_statistics(one_hot(predicted) * 0.9 + 0.025, codes, missed, ["a", "b", "b"])
    veb = out["counts"]["veb"]
    # V beats: a's (hit), b's (called N), b's missed one -> 1 TP, 2 FN; EXTRA called V -> FP
    assert (veb["tp"], veb["fn"], veb["fp"]) == (1, 2, 1)
    assert out["veb"]["sensitivity"] == 1 / 3 and out["veb"]["ppv"] == 1 / 2
    sveb = out["counts"]["sveb"]
    assert (sveb["tp"], sveb["fn"], sveb["fp"]) == (0, 1, 1)  # b's N called S
    assert set(out["per_record"]) == {"a", "b"}
    assert out["per_record"]["a"]["veb"]["sensitivity"] == 1.0


def test_rhythm_recall_per_class():
    probs = np.eye(6)[[0, 0, 1, 2, 2]]
    out = rhythm_recall(probs, np.array([0, 1, 1, 2, 3]))
    assert out["sinus"] == {"windows": 1, "recall": 1.0}
    assert out["af"] == {"windows": 2, "recall": 0.5}
    assert out["ventricular"]["recall"] == 1.0
    assert out["av_block"] == {"windows": 1, "recall": 0.0}
    assert out["other"] == {"windows": 0, "recall": None}


def test_class_sensitivity_counts_missed_beats_and_rhythms():
    codes = np.array([[N, S], [N, N], [V, N], [N, PADDING]])
    missed = np.zeros((4, 5), dtype=np.int64)
    missed[1, F] = 1
    flags = np.array([1, 0, 1, 1])
    rhythms = np.array([0, 0, 2, 1])
    out = class_sensitivity(flags, codes, missed, rhythms)
    assert out["S_beats"] == {"windows": 1, "sensitivity": 1.0}
    assert out["F_beats"] == {"windows": 1, "sensitivity": 0.0}  # only a missed F beat
    assert out["ventricular"] == {"windows": 1, "sensitivity": 1.0}
    assert out["af"]["windows"] == 1 and out["preexcitation"]["sensitivity"] is None


def test_published_rows_are_fractions():
    rows = published_rows()
    assert rows["de Chazal 2004"]["sveb"] == {"sensitivity": 0.759, "ppv": 0.385}
    assert all(0 < v["ppv"] < 1 for r in rows.values() for v in r.values())
