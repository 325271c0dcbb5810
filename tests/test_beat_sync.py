"""DeepSNN's beat-synchronous view (`ecg.features.beat_sync`) on written beat trains: slot k
holds beat k aligned on its R peak, ordinary beats cancel against the patient's dominant beat,
missing beats are zero, nothing later enters, and the layout follows the rate."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from ecg.core.errors import ECGError
from ecg.features.beat_sync import (
    GAIN,
    lone_views,
    record_views,
    slot_layout,
    window_view,
)
from ecg.signal.record_windows import condition_record
from tests.test_context import signal

FS = 250
WINDOW = 2500
SLOTS, SLOT = 20, 125
PRE = 62  # round(0.25 s * 250 Hz): R's sample within its slot


def conditioned(times_s, seconds: float, *, fs: int = FS, shapes=None):
    """A record with beats at `times_s`, conditioned as preprocess does, and its beats at 250."""
    x, _ = signal(times_s, fs, seconds, shapes)
    rec = condition_record(x, fs, fs=FS, window=WINDOW, stride=WINDOW, band=(0.5, 40.0), notch=60.0)
    return rec, np.round(np.asarray(times_s) * FS).astype(np.int64)


def slots(view: np.ndarray) -> np.ndarray:
    return view.reshape(-1, SLOTS, SLOT)


def test_the_slot_layout_follows_the_rate_and_refuses_a_window_it_does_not_divide():
    assert slot_layout(2500, 250) == (20, 125)
    assert slot_layout(3600, 360) == (20, 180)  # the same 10 s at MIT-BIH's own rate
    with pytest.raises(ECGError, match=r"preprocess.window: 2500 samples .* 180 samples"):
        slot_layout(2500, 360)


def test_slot_k_holds_beat_k_on_its_r_peak_and_only_the_unusual_beat_stands_out():
    # 60 s at 75 bpm; in the last window the 5th beat is ventricular.
    times = list(np.arange(0.4, 60.0, 0.8))
    last = [i for i, t in enumerate(times) if t >= 50.0]
    shapes = ["n"] * len(times)
    shapes[last[4]] = "v"
    rec, beats = conditioned(times, 60.0, shapes=shapes)
    view = slots(record_views(rec, beats))[-1]
    peak = np.abs(view).max(1)
    assert len(last) == 13 and peak[4] > 2.0 and np.delete(peak[:13], 4).max() < 0.25 * peak[4]
    # the residual of the ventricular beat is largest at its R peak's place in the slot
    assert abs(int(np.abs(view[4]).argmax()) - PRE) <= 5


def test_a_fiducial_off_the_r_peak_is_aligned_to_the_dominant_beat():
    times = np.arange(0.4, 30.0, 0.8)
    rec, beats = conditioned(times, 30.0)
    moved = beats.copy()
    moved[-3:] += 6  # the detector put the last beats' fiducials 24 ms late (on S)
    aligned = slots(record_views(rec, moved))[-1]
    plain = slots(record_views(rec, beats))[-1]
    np.testing.assert_allclose(aligned, plain, atol=0.05)


def test_missing_beats_and_beats_without_a_dominant_beat_are_zero_slots():
    # A lone window with 8 beats: the first 3 have too few earlier beats for a dominant beat,
    # slots 8..19 have no beat.
    x, beats = signal(np.arange(0.5, 10.0, 1.2), FS, 10.0)
    view = slots(lone_views(x[None], [beats], FS))[0]
    present = np.abs(view).max(1) > 0
    assert len(beats) == 8 and present.tolist() == [False] * 3 + [True] * 5 + [False] * 12


def test_a_beat_s_slot_and_earlier_ones_ignore_every_later_sample():
    x, beats = signal(np.arange(0.3, 10.0, 0.7), FS, 10.0, seed=3)
    base = window_view(x, beats, 0, FS).reshape(SLOTS, SLOT)
    k = 7
    after = beats[k] + (SLOT - PRE) + round(0.048 * FS)  # the segment's end and the lag search
    later = x.copy()
    later[after:] += np.random.default_rng(0).normal(0, 1.0, len(x) - after)
    changed = window_view(later, beats, 0, FS).reshape(SLOTS, SLOT)
    np.testing.assert_array_equal(changed[: k + 1], base[: k + 1])
    assert not np.array_equal(changed[k + 1 :], base[k + 1 :])


def test_a_window_sees_nothing_after_its_end():
    rec, beats = conditioned(np.arange(0.4, 40.0, 0.8), 40.0)
    filtered = rec.filtered.copy()
    filtered[2 * WINDOW :] += np.random.default_rng(1).normal(0, 1, len(filtered) - 2 * WINDOW)
    edited = record_views(dataclasses.replace(rec, filtered=filtered), beats)
    base = record_views(rec, beats)
    np.testing.assert_array_equal(edited[:2], base[:2])
    assert not np.array_equal(edited[2:], base[2:])


def test_a_record_at_another_rate_gives_the_same_layout():
    times = list(np.arange(0.4, 40.0, 0.8))
    shapes = ["n"] * len(times)
    shapes[-6] = "v"
    native, beats = conditioned(times, 40.0, shapes=shapes)
    resampled, _ = conditioned(times, 40.0, fs=360, shapes=shapes)
    a, b = slots(record_views(native, beats)), slots(record_views(resampled, beats))
    assert a.shape == b.shape == (4, SLOTS, SLOT)
    np.testing.assert_array_equal(np.abs(a).max(2) > 0, np.abs(b).max(2) > 0)
    assert np.abs(a - b).max() < 0.1 * GAIN
    assert np.abs(b[-1]).max(1).argmax() == np.abs(a[-1]).max(1).argmax()
