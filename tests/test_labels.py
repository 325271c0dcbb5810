"""Window labels from WFDB annotations: AAMI EC57 beat classes and rhythm episodes.

Each test writes a small record (360 Hz) with `wfdb.wrsamp`/`wfdb.wrann`, reads it back with
`read_record` and windows it with `windows_from_record` (params.yaml: 10-s windows at 250 Hz,
stride = window), so a window is exactly 3600 samples of the record: [3600 k, 3600 (k + 1)).
"""

from __future__ import annotations

import numpy as np
import pytest

import ecg.data.windows
from ecg.data.labels import AAMI_CLASSES, aami_class, label_windows, rhythm_episodes
from ecg.data.mitdb import MITDB
from ecg.data.windows import windows_from_record
from tests.wfdb_records import regular_beats, write_record

WIN = 3600  # one 10-s window, in 360-Hz record samples


@pytest.fixture
def windows_of(tmp_path, monkeypatch, pre_cfg):
    """`windows_of(beats, rhythms, seconds)` -> RecordWindows of a freshly written record."""
    # These tests are about labels: every window passes the quality check.
    monkeypatch.setattr(
        ecg.data.windows, "sqi", lambda w, fs, **_: np.ones(len(w), dtype=np.float32)
    )
    counter = iter(range(1000))

    def run(beats, rhythms=(), seconds=30):
        name = f"r{next(counter)}"
        write_record(tmp_path, name, seconds=seconds, beats=beats, rhythms=rhythms)
        rw = windows_from_record(MITDB(tmp_path).read(name), pre_cfg)
        assert rw.start_samples.tolist() == [k * WIN for k in range(int(seconds // 10))]
        return rw

    return run


def beats_with(symbol: str, sample: int, seconds: float = 30, base: str = "N"):
    """Regular `base` beats, with the beat nearest `sample` replaced by `symbol`."""
    beats = regular_beats(seconds, symbol=base)
    i = int(np.argmin([abs(s - sample) for s, _ in beats]))
    beats[i] = (sample, symbol)
    return beats


# --- beat classes -----------------------------------------------------------------------


@pytest.mark.parametrize("symbol", ["A", "a", "J", "S"])
def test_s_beat_makes_its_window_arrhythmia(windows_of, symbol):
    rw = windows_of(beats_with(symbol, WIN + 1800))
    assert rw.labels.tolist() == [0, 1, 0]


@pytest.mark.parametrize("symbol", ["V", "E"])
def test_v_beat_makes_its_window_arrhythmia(windows_of, symbol):
    rw = windows_of(beats_with(symbol, 2 * WIN + 500))
    assert rw.labels.tolist() == [0, 0, 1]


def test_f_beat_makes_its_window_arrhythmia(windows_of):
    rw = windows_of(beats_with("F", 700))
    assert rw.labels.tolist() == [1, 0, 0]


@pytest.mark.parametrize("symbols", [["/"], ["f"], ["Q"], ["/", "f", "Q", "N"]])
def test_q_beats_alone_stay_normal(windows_of, symbols):
    beats = regular_beats(30)
    beats = [(s, symbols[i % len(symbols)]) for i, (s, _) in enumerate(beats)]
    rw = windows_of(beats)
    assert rw.labels.tolist() == [0, 0, 0]


@pytest.mark.parametrize("symbol", ["N", "L", "R", "e", "j"])
def test_n_beats_only_stay_normal(windows_of, symbol):
    rw = windows_of(regular_beats(30, symbol=symbol))
    assert rw.labels.tolist() == [0, 0, 0]
    assert rw.confidence.tolist() == [1.0, 1.0, 1.0]


def test_non_beat_annotations_are_not_beats(windows_of):
    beats = regular_beats(30)
    beats += [(WIN + 100, "~"), (WIN + 200, "|"), (WIN + 300, '"')]
    rw = windows_of(beats)
    assert rw.labels.tolist() == [0, 0, 0]
    assert rw.confidence.tolist() == [1.0, 1.0, 1.0]  # the extra marks did not dilute N


def test_q_beats_do_not_hide_an_abnormal_beat(windows_of):
    rw = windows_of(beats_with("V", WIN + 1000, base="/"))
    assert rw.labels.tolist() == [0, 1, 0]


@pytest.mark.parametrize(("sample", "expected"), [(WIN - 1, [1, 0, 0]), (WIN, [0, 1, 0])])
def test_beat_on_a_window_boundary_belongs_to_one_window(windows_of, sample, expected):
    beats = [(s, sym) for s, sym in regular_beats(30) if abs(s - sample) > 50]
    rw = windows_of(sorted(beats + [(sample, "V")]))
    assert rw.labels.tolist() == expected


# --- rhythm episodes --------------------------------------------------------------------


@pytest.mark.parametrize(
    "rhythm", ["(AFIB", "(AFL", "(B", "(T", "(VT", "(SVTA", "(VFL", "(IVR", "(NOD", "(BII"]
)
def test_abnormal_rhythm_episode_makes_windows_arrhythmia(windows_of, rhythm):
    rw = windows_of(regular_beats(30), [(1, "(N"), (WIN + 500, rhythm), (WIN + 3000, "(N")])
    assert rw.labels.tolist() == [0, 1, 0]


def test_episode_overlapping_a_window_by_a_few_samples(windows_of):
    # AFIB in window 0 running 5 samples into window 1; a second episode starting 4
    # samples before the end of window 1 and lasting to the end of the record.
    rhythms = [(1, "(N"), (100, "(AFIB"), (WIN + 5, "(N"), (2 * WIN - 4, "(AFL")]
    rw = windows_of(regular_beats(40), rhythms, seconds=40)
    assert rw.labels.tolist() == [1, 1, 1, 1]
    # nothing else marks window 1: its confidence is its 9 samples of abnormal rhythm
    np.testing.assert_allclose(rw.confidence[1], 9 / WIN, rtol=1e-6)


def test_episode_ending_exactly_at_a_window_start_does_not_touch_it(windows_of):
    rw = windows_of(regular_beats(30), [(1, "(N"), (100, "(AFIB"), (WIN, "(N")])
    assert rw.labels.tolist() == [1, 0, 0]


def test_episode_starting_exactly_at_a_window_end_does_not_touch_it(windows_of):
    rw = windows_of(regular_beats(30), [(1, "(N"), (2 * WIN, "(AFIB")])
    assert rw.labels.tolist() == [0, 0, 1]  # and the last episode lasts to the record end


def test_normal_sinus_after_an_episode_returns_to_normal(windows_of):
    rhythms = [(0, "(AFIB"), (WIN, "(N"), (2 * WIN + 10, "(B"), (2 * WIN + 900, "(N")]
    rw = windows_of(regular_beats(40), rhythms, seconds=40)
    assert rw.labels.tolist() == [1, 0, 1, 0]


def test_nul_padded_rhythm_notes_as_in_mitdb(windows_of):
    # the real .atr files store "(N" as "(N\x00": still normal sinus rhythm
    rhythms = [(1, "(N\x00"), (WIN + 10, "(VFL\x00"), (2 * WIN, "(N\x00")]
    rw = windows_of(regular_beats(30), rhythms)
    assert rw.labels.tolist() == [0, 1, 0]


def test_signal_before_the_first_rhythm_annotation_is_normal(windows_of):
    rw = windows_of(regular_beats(30), [(WIN + 10, "(AFIB")])
    assert rw.labels.tolist() == [0, 1, 1]


# --- segment_confidence -----------------------------------------------------------------


def _beats_in(window: int, symbols: str) -> list[tuple[int, str]]:
    """One beat per second in `window`, with the given symbols."""
    return [(window * WIN + 180 + 360 * i, s) for i, s in enumerate(symbols)]


def test_segment_confidence_hand_computed(windows_of):
    beats = (
        _beats_in(0, "NNVNNNNVNN")  # Arrhythmia: 2 of 10 beats abnormal -> 0.2
        + _beats_in(1, "NNNN/NNNN/")  # Normal: 8 of 10 beats are N -> 0.8
        + _beats_in(2, "NANANNNNNN")  # Arrhythmia: beats 0.2, AFIB half the window -> 0.5
        + _beats_in(3, "VVVN")  # Arrhythmia: beats 0.75, rhythm 0.25 -> 0.75
        + _beats_in(4, "NNNNNNNNNN")  # Normal, all N -> 1.0
        # window 5 has no beats: Normal with confidence 0
    )
    rhythms = [
        (1, "(N"),
        (2 * WIN + 900, "(AFIB"),
        (2 * WIN + 2700, "(N"),
        (3 * WIN + 1800, "(T"),
        (3 * WIN + 2700, "(N"),
    ]
    rw = windows_of(beats, rhythms, seconds=60)
    assert rw.labels.tolist() == [1, 0, 1, 1, 0, 0]
    np.testing.assert_allclose(rw.confidence, [0.2, 0.8, 0.5, 0.75, 1.0, 0.0], rtol=1e-6)
    assert rw.confidence.dtype == np.float32


def test_label_windows_counts_and_rhythm_share():
    symbols = ["+", "N", "V", "N", "+", "/", "A", "+", "~"]
    aux = ["(N", "", "", "", "(AFIB", "", "", "(N", ""]
    samples = np.array([0, 10, 20, 30, 150, 160, 170, 175, 180])
    out = label_windows(np.array([0, 100, 200]), 100, samples, symbols, aux, n_samples=300)
    assert out.labels.tolist() == [1, 1, 0]
    assert out.beats.tolist() == [3, 2, 0]
    assert out.abnormal_beats.tolist() == [1, 1, 0]
    np.testing.assert_allclose(out.abnormal_rhythm_share, [0.0, 0.25, 0.0])
    np.testing.assert_allclose(out.confidence, [1 / 3, 0.5, 0.0], rtol=1e-6)


# --- building blocks --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("symbols", "cls"),
    [("NLRej", "N"), ("AaJS", "S"), ("VE", "V"), ("F", "F"), ("/fQ", "Q")],
)
def test_aami_class_of_every_beat_symbol(symbols, cls):
    assert {aami_class(s) for s in symbols} == {cls}
    assert AAMI_CLASSES[cls] == frozenset(symbols)


@pytest.mark.parametrize("symbol", ["+", "~", "|", '"', "x", "[", "]", "!", "Z"])
def test_non_beat_symbols_have_no_class(symbol):
    assert aami_class(symbol) is None


def test_rhythm_episodes_end_at_the_next_change_or_the_record_end():
    samples = np.array([0, 5, 40, 40, 70, 90])
    symbols = ["+", "N", "+", "+", "N", "+"]
    aux = ["(N", "", "(AFIB", "(B", "", "TS"]  # "TS" is no rhythm
    assert rhythm_episodes(samples, symbols, aux, n_samples=100) == [
        (0, 40, "(N"),
        (40, 100, "(B"),  # the empty (AFIB episode at 40 is dropped
    ]
