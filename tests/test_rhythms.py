"""Window rhythm classes from reference rhythm episodes: the documented note mapping, the
overlap rule, and agreement with `label_windows` on a written record."""

from __future__ import annotations

import numpy as np
import pytest

from ecg.data.labels import label_windows, rhythm_episodes
from ecg.data.mitdb import MITDB
from ecg.data.rhythms import RHYTHM_CLASSES, rhythm_class, window_rhythms
from tests.wfdb_records import regular_beats, write_record

SINUS, AF, VENTRICULAR, AV_BLOCK, PREEXCITATION, OTHER = range(6)


def test_class_names_and_codes():
    assert RHYTHM_CLASSES == ("sinus", "af", "ventricular", "av_block", "preexcitation", "other")


@pytest.mark.parametrize(
    ("note", "code"),
    [("(N", SINUS), ("(AFIB", AF), ("(AFL", AF)]
    + [("(VT", VENTRICULAR), ("(VFL", VENTRICULAR), ("(VF", VENTRICULAR)]
    + [("(VFIB", VENTRICULAR), ("(BI", AV_BLOCK), ("(BII", AV_BLOCK), ("(BIII", AV_BLOCK)]
    + [("(PREX", PREEXCITATION), ("(B", OTHER), ("(T", OTHER), ("(AB", OTHER)]
    + [("(SVTA", OTHER), ("(NOD", OTHER), ("(IVR", OTHER), ("(SBR", OTHER), ("(P", OTHER)]
    + [("(XYZ", OTHER), ("(AFIB\x00", AF), ("(N \x00", SINUS), ("(VT\n", VENTRICULAR)],
)
def test_each_note_maps_to_its_class(note, code):
    assert rhythm_class(note) == code


def test_no_episode_is_sinus():
    assert window_rhythms(np.array([0, 100]), 100, []).tolist() == [SINUS, SINUS]
    assert window_rhythms(np.array([], dtype=np.int64), 100, []).tolist() == []


def test_the_class_with_most_overlap_wins_and_sinus_never_does():
    episodes = [(0, 30, "(B"), (30, 70, "(AFIB"), (70, 300, "(N"), (300, 310, "(T")]
    # Window 0: AF 40 > other 30; window 1: sinus all along; window 2: 10 samples of other
    # beat 90 of sinus.
    got = window_rhythms(np.array([0, 100, 220]), 100, episodes)
    assert got.tolist() == [AF, SINUS, OTHER]


def test_overlaps_of_one_class_add_up():
    episodes = [(0, 20, "(B"), (20, 50, "(AFL"), (50, 70, "(T"), (70, 100, "(N")]
    # other 20 + 20 = 40 beats AF 30.
    assert window_rhythms(np.array([0]), 100, episodes).tolist() == [OTHER]


def test_ventricular_wins_ties_else_the_lower_code():
    tie = [(0, 50, "(AFIB"), (50, 100, "(VT")]
    assert window_rhythms(np.array([0]), 100, tie).tolist() == [VENTRICULAR]
    tie = [(0, 50, "(BII"), (50, 100, "(AFL")]
    assert window_rhythms(np.array([0]), 100, tie).tolist() == [AF]
    tie = [(0, 50, "(SVTA"), (50, 100, "(PREX")]
    assert window_rhythms(np.array([0]), 100, tie).tolist() == [PREEXCITATION]


def test_non_sinus_exactly_when_label_windows_sees_abnormal_rhythm(tmp_path):
    fs, win = 360, 3600
    rhythms = [(1, "(N"), (5000, "(AFIB"), (9000, "(N"), (14000, "(VT"), (14400, "(B")]
    rhythms += [(16000, "(N"), (29000, "(BII"), (35000, "(N"), (40000, "(PREX")]
    write_record(tmp_path, "r", seconds=120, beats=regular_beats(120), rhythms=rhythms, fs=fs)
    rec = MITDB(tmp_path).read("r")
    n = len(rec.signal)
    starts = np.arange(0, n - win + 1, 1800)
    episodes = rhythm_episodes(rec.ann_samples, rec.ann_symbols, rec.ann_aux, n)
    got = window_rhythms(starts, win, episodes)
    share = label_windows(
        starts, win, rec.ann_samples, rec.ann_symbols, rec.ann_aux, n
    ).abnormal_rhythm_share
    assert ((got != SINUS) == (share > 0)).all()
    assert set(got.tolist()) == {SINUS, AF, VENTRICULAR, AV_BLOCK, PREEXCITATION, OTHER}
    # [12600, 16200): VT 400 samples, bigeminy 1600: other wins.
    assert got[starts.tolist().index(12600)] == OTHER
