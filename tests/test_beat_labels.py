"""Per-beat AAMI labels: one-to-one matching of detected beats to reference beats, slots and
missed beats per window."""

from __future__ import annotations

import numpy as np
import pytest
import wfdb

from ecg.core.errors import ECGError
from ecg.data.beat_labels import BEAT_CLASSES, EXTRA, PADDING, match_beats, window_beat_labels
from ecg.signal.windows import beats_in_windows
from tests.wfdb_records import regular_beats, write_record

N, S, V, F, Q = range(5)


def test_class_codes_follow_beat_classes():
    assert BEAT_CLASSES == ("N", "S", "V", "F", "Q")
    assert (PADDING, EXTRA) == (-2, -1)


def test_tolerance_is_inclusive():
    codes, ref = match_beats(np.array([95, 194]), np.array([100, 200]), ["V", "V"], 5)
    assert codes.tolist() == [V, EXTRA]  # 5 samples away matches, 6 does not
    assert ref.tolist() == [0, -1]


@pytest.mark.parametrize(
    ("symbol", "code"),
    [("N", N), ("L", N), ("e", N), ("A", S), ("J", S), ("V", V), ("E", V), ("F", F)]
    + [("/", Q), ("f", Q), ("Q", Q)],
)
def test_class_comes_from_the_symbol(symbol, code):
    codes, _ = match_beats(np.array([100]), np.array([100]), [symbol], 3)
    assert codes.tolist() == [code]


def test_non_beat_annotations_are_ignored():
    # `+` and `~` sit on the detection, the beat is 3 samples away: the beat is matched and
    # its annotation index skips the non-beats.
    codes, ref = match_beats(np.array([100]), np.array([100, 100, 103]), ["+", "~", "A"], 3)
    assert codes.tolist() == [S]
    assert ref.tolist() == [2]
    codes, _ = match_beats(np.array([100]), np.array([100]), ["+"], 3)
    assert codes.tolist() == [EXTRA]


def test_two_detections_near_one_beat_the_closer_takes_it():
    codes, ref = match_beats(np.array([96, 101]), np.array([100]), ["V"], 5)
    assert codes.tolist() == [EXTRA, V]
    assert ref.tolist() == [-1, 0]
    # Equally close: the earlier detection (in samples) wins, whatever the input order.
    codes, _ = match_beats(np.array([103, 97]), np.array([100]), ["V"], 5)
    assert codes.tolist() == [EXTRA, V]


def test_closest_pairs_first_lets_each_detection_keep_a_beat():
    # 104 is closest to 105; 99 then takes 100 rather than losing it to 104.
    codes, ref = match_beats(np.array([99, 104]), np.array([100, 105]), ["N", "V"], 5)
    assert codes.tolist() == [N, V]
    assert ref.tolist() == [0, 1]


def test_input_order_is_kept():
    codes, ref = match_beats(np.array([300, 100]), np.array([100, 300]), ["N", "V"], 2)
    assert codes.tolist() == [V, N]
    assert ref.tolist() == [1, 0]


def test_negative_tolerance_is_refused():
    with pytest.raises(ECGError, match="tolerance"):
        match_beats(np.array([1]), np.array([1]), ["N"], -1)


def test_slots_follow_sample_order_and_pad():
    detected = np.array([250, 50, 150, 120])
    slots, missed = window_beat_labels(
        detected, np.array([0, 100]), 100, np.array([50, 120, 150, 250]), list("NVAF"), 2, 4
    )
    assert slots.tolist() == [[N, PADDING, PADDING, PADDING], [V, S, PADDING, PADDING]]
    assert missed.tolist() == [[0] * 5, [0] * 5]


def test_missed_and_extra_beats():
    # Reference V at 130 never detected; detection at 170 has no reference beat.
    slots, missed = window_beat_labels(
        np.array([110, 170]), np.array([100]), 100, np.array([110, 130]), ["N", "V"], 3, 4
    )
    assert slots[0, :2].tolist() == [N, EXTRA]
    assert missed[0].tolist() == [0, 0, 1, 0, 0]


def test_a_beat_matched_across_the_window_edge_is_missed_by_its_own_window():
    # The S beat at 199 lies in window [100, 200) but is matched to the detection at 201,
    # which sits in window [200, 300): the first window misses it, the second carries it.
    slots, missed = window_beat_labels(
        np.array([150, 201]), np.array([100, 200]), 100, np.array([150, 199]), ["N", "A"], 3, 4
    )
    assert slots[:, 0].tolist() == [N, S]
    assert missed.tolist() == [[0, 1, 0, 0, 0], [0] * 5]


def test_beats_beyond_max_beats_are_missed():
    samples = np.array([10, 20, 30, 40])
    slots, missed = window_beat_labels(samples, np.array([0]), 100, samples, list("NNVF"), 1, 2)
    assert slots.tolist() == [[N, N]]
    assert missed.tolist() == [[0, 0, 1, 1, 0]]


def test_slot_membership_equals_beats_in_windows():
    rng = np.random.default_rng(0)
    detected = np.sort(rng.choice(5000, 120, replace=False))
    starts = np.arange(0, 4000, 700)
    slots, _ = window_beat_labels(detected, starts, 1000, detected, ["N"] * 120, 0, 64)
    per_window = beats_in_windows(detected, starts, 1000)
    assert [(row != PADDING).sum() for row in slots] == [len(b) for b in per_window]


def test_a_500_hz_record_read_back_with_rdann(tmp_path):
    fs = 500
    beats = regular_beats(20, fs=fs)
    beats[3] = (beats[3][0], "V")
    beats[13] = (beats[13][0], "A")  # at 10.7 s, in the second window
    base = write_record(tmp_path, "r500", seconds=20, beats=beats, rhythms=[(1, "(N")], fs=fs)
    ann = wfdb.rdann(str(base), "atr")
    assert ann.fs == fs
    tol = round(0.15 * fs)  # EC57's 150 ms
    detected = np.array([s for s, _ in beats]) + 20  # 40 ms late: still matched
    detected = np.delete(detected, 13)  # the S beat is never detected
    detected = np.append(detected, 9150)  # 200 samples from either beat: extra
    slots, missed = window_beat_labels(
        detected, np.array([0, 5000]), 5000, ann.sample, ann.symbol, tol, 32
    )
    first = slots[0][slots[0] != PADDING]
    assert first.tolist() == [N, N, N, V] + [N] * (len(first) - 4)
    second = slots[1][slots[1] != PADDING].tolist()
    assert second.count(EXTRA) == 1 and S not in second
    assert missed.tolist() == [[0] * 5, [0, 1, 0, 0, 0]]
