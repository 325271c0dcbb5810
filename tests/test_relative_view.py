"""The patient-relative view of the design's DeepSNN: ordinary beats cancel against the
running dominant beat, an unusual one stays; nothing after the window's end enters."""

from __future__ import annotations

import numpy as np

from ecg.features.relative_view import record_relative_views, relative_view
from ecg.signal.conditioning import bandpass_notch
from tests.wfdb_records import ecg_signal, regular_beats

FS = 250


def record(seconds: float = 60.0, ectopic_at: float | None = None):
    """Band-passed ECG with beats every 0.8 s; the beat nearest `ectopic_at` s is a V."""
    beats = regular_beats(seconds, fs=FS, rr=0.8)
    if ectopic_at is not None:
        beats = [(s, "V" if abs(s / FS - ectopic_at) < 0.4 else "N") for s, _ in beats]
    x = bandpass_notch(ecg_signal(int(seconds * FS), beats, fs=FS, seed=1), FS)
    return x, np.array([s for s, _ in beats]), [s for s, sym in beats if sym == "V"]


def test_ordinary_beats_cancel_and_an_ectopic_beat_stays():
    x, beats, (v_beat,) = record(ectopic_at=55.0)
    w0, window = 50 * FS, 10 * FS
    view = relative_view(x[: w0 + window], beats[beats < w0 + window], w0, window, FS)
    ectopic = v_beat - w0
    near = np.abs(view[ectopic - 40 : ectopic + 40]).max()
    elsewhere = np.abs(np.r_[view[: ectopic - 100], view[ectopic + 150 :]]).max()
    assert near > 2.0 and elsewhere < 0.5 * near


def test_views_are_causal():
    x, beats, _ = record()
    starts = np.array([0, 2500, 5000])
    base = record_relative_views(x, beats, starts, 2500, FS)
    later = x.copy()
    later[7500:] += np.random.default_rng(0).normal(0, 2.0, len(x) - 7500)
    np.testing.assert_array_equal(record_relative_views(later, beats, starts, 2500, FS), base)


def test_no_history_falls_back_to_the_window_itself():
    x, _, _ = record(seconds=10)
    view = relative_view(x, np.array([100]), 0, len(x), FS)  # one beat: no dominant beat
    assert view.shape == (len(x),) and np.isclose(np.ptp(view), 4.0, atol=1e-5)
