"""Patient-context features (`ecg.features.context`) on hand-built beat trains: what a window
looks like against the record's recent past, the fallback without history, and causality."""

from __future__ import annotations

import numpy as np
import pytest

from ecg.features.context import HISTORY_S, record_context, window_context
from ecg.features.layout import CONTEXT_BEAT_FEATURES, CONTEXT_WINDOW_FEATURES
from tests.test_beats import normal_beat, wide_beat

W = {name: i for i, name in enumerate(CONTEXT_WINDOW_FEATURES)}
B = {name: i for i, name in enumerate(CONTEXT_BEAT_FEATURES)}


def signal(times_s, fs: float, seconds: float, shapes=None, seed: int = 0):
    """(ECG with beats at `times_s`, their sample indices) at `fs` Hz."""
    t = np.arange(int(round(seconds * fs))) / fs
    x = np.zeros_like(t)
    shapes = shapes or ["n"] * len(times_s)
    for r, shape in zip(times_s, shapes, strict=True):
        x += (normal_beat if shape == "n" else wide_beat)(t - r)
    x += 0.005 * np.random.default_rng(seed).standard_normal(len(t))
    return x, np.round(np.asarray(times_s) * fs).astype(np.int64)


def context(times_s, *, window_start: float, seconds: float, fs: float = 250.0, shapes=None):
    """Context of the 10-s window starting at `window_start`, history from 0."""
    x, beats = signal(times_s, fs, seconds, shapes)
    w0 = int(round(window_start * fs))
    end = w0 + int(round(10 * fs))
    keep = beats < end
    return window_context(x[:end], beats[keep], w0, fs, max_beats=32)


def test_a_fast_regular_window_is_premature_against_a_slow_running_rhythm():
    # 60 s at 60 bpm, then a 10-s window at 80 bpm: regular in itself, so the window-relative
    # features see nothing, but every RR is < 0.85 of the patient's usual RR.
    history = list(np.arange(0.5, 60.0, 1.0))
    window = list(np.arange(history[-1] + 0.75, 70.0, 0.75))
    seq, feats = context(history + window, window_start=60.0, seconds=70.0)
    assert feats[W["hr_ratio"]] == pytest.approx(1.0 / 0.75, rel=0.02)
    assert feats[W["premature_share"]] == pytest.approx(1.0)
    assert feats[W["premature_count"]] == len(window)
    assert feats[W["rr_max_ctx"]] == pytest.approx(0.75, abs=0.02)
    k = len(window)
    np.testing.assert_allclose(seq[:k, B["c_rr_prev"]], -0.25, atol=0.02)
    assert (seq[k:] == 0).all()  # padding


def test_one_premature_deviant_beat_against_a_regular_rhythm():
    times = list(np.arange(0.5, 70.0, 0.8))
    shapes = ["n"] * len(times)
    window_beats = [i for i, t in enumerate(times) if t >= 60.0]
    ectopic = window_beats[5]
    times[ectopic] -= 0.3  # early
    shapes[ectopic] = "v"  # and wide
    seq, feats = context(times, window_start=60.0, seconds=70.0, shapes=shapes)
    row = ectopic - window_beats[0]
    assert seq[row, B["c_rr_prev"]] == pytest.approx(0.5 / 0.8 - 1, abs=0.02)
    assert seq[row, B["c_correlation"]] < -0.3  # against the running dominant beat
    assert seq[row, B["c_deviation"]] > 0.8
    others = np.delete(np.arange(len(window_beats)), [row, row + 1])
    assert np.abs(seq[others, B["c_correlation"]]).max() < 0.05
    assert feats[W["deviant_count"]] == 1 and feats[W["deviant_premature"]] == 1
    assert feats[W["deviant_not_premature"]] == 0
    assert feats[W["premature_count"]] == 1
    assert feats[W["window_beat_correlation"]] > 0.95  # the window's median beat is normal


def test_no_history_the_window_is_its_own_history():
    times = list(np.arange(0.4, 10.0, 0.8))
    seq, feats = context(times, window_start=0.0, seconds=10.0)
    k = len(times)
    assert feats[W["hr_ratio"]] == pytest.approx(1.0, abs=0.01)
    assert feats[W["premature_count"]] == 0 and feats[W["deviant_count"]] == 0
    assert feats[W["min_correlation_ctx"]] > 0.95
    assert np.abs(seq[:k, B["c_rr_prev"]]).max() < 0.02
    assert seq[0, B["c_rr_prev"]] == 0  # the first beat has no previous beat: neutral
    assert np.isfinite(feats).all() and np.isfinite(seq).all()


@pytest.mark.parametrize("times", [[], [5.0], [2.0, 6.0]])
def test_windows_with_almost_no_beats_are_neutral(times):
    seq, feats = context(times, window_start=0.0, seconds=10.0)
    assert np.isfinite(feats).all() and np.isfinite(seq).all()
    assert feats[W["hr_ratio"]] == 1.0 or len(times) == 2
    assert feats[W["deviant_count"]] == 0  # fewer than 3 beats: no dominant beat


def test_features_of_a_window_do_not_change_when_later_signal_changes():
    times = list(np.arange(0.5, 120.0, 0.8))
    x, beats = signal(times, 250.0, 120.0)
    starts = np.arange(0, len(x) - 2500 + 1, 2500)
    seq, feats = record_context(x, beats, starts, 2500, 250.0, max_beats=32)
    later = x.copy()
    cut = starts[6] + 2500  # the end of window 6
    later[cut:] += np.random.default_rng(1).normal(0, 0.5, len(x) - cut)
    more_beats = np.sort(np.r_[beats, np.arange(cut + 50, len(x), 97)])
    seq2, feats2 = record_context(later, more_beats, starts, 2500, 250.0, max_beats=32)
    np.testing.assert_array_equal(seq2[:7], seq[:7])
    np.testing.assert_array_equal(feats2[:7], feats[:7])
    assert not np.array_equal(feats2[7:], feats[7:])  # the test can fail: later ones move


def test_history_is_at_most_five_minutes():
    times = list(np.arange(0.5, 500.0, 0.8))
    x, beats = signal(times, 250.0, 500.0)
    start = int(480 * 250)
    lo = start + 2500 - int(HISTORY_S * 250)
    _, full = record_context(x, beats, np.array([start]), 2500, 250.0, max_beats=32)
    old = x.copy()
    old[: lo - 1] = 0.0  # more than 300 s before the window's end
    _, cut = record_context(old, beats, np.array([start]), 2500, 250.0, max_beats=32)
    np.testing.assert_array_equal(full, cut)


@pytest.mark.parametrize("fs", [128.0, 360.0, 500.0])
def test_the_features_hold_at_other_sampling_rates(fs):
    times = list(np.arange(0.5, 70.0, 0.8))
    shapes = ["n"] * len(times)
    ectopic = [i for i, t in enumerate(times) if t >= 60.0][4]
    times[ectopic] -= 0.3
    shapes[ectopic] = "v"
    ref_seq, ref = context(times, window_start=60.0, seconds=70.0, shapes=shapes)
    seq, feats = context(times, window_start=60.0, seconds=70.0, shapes=shapes, fs=fs)
    for name in ("hr_ratio", "premature_count", "deviant_count", "rr_min_ctx"):
        assert feats[W[name]] == pytest.approx(ref[W[name]], abs=0.05), name
    np.testing.assert_allclose(seq[:, B["c_rr_prev"]], ref_seq[:, B["c_rr_prev"]], atol=0.02)
