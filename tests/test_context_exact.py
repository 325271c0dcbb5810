"""The vectorised patient context (`ecg.features.context`, all windows of a record at once)
computes bit for bit the numbers of the per-window code the models were trained on
(`tests/context_reference.py`), on synthetic records and on MIT-BIH records."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from ecg.features.context import lone_context, record_context, window_context
from ecg.signal.qrs import detect_qrs
from tests import context_reference as reference
from tests.test_context import signal


def assert_same(got: tuple[np.ndarray, np.ndarray], want: tuple[np.ndarray, np.ndarray]):
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_array_equal(g, w)


def irregular_record(seconds: float, fs: float, seed: int):
    """Beats with ectopics (early and wide), pauses, a fast run and noise; the signal as
    detected, so that the detector's misses and extra beats are in it too."""
    rng = np.random.default_rng(seed)
    times, shapes, t = [], [], 0.4
    while t < seconds - 0.3:
        rr = rng.uniform(0.55, 1.1) if rng.random() < 0.15 else 0.8 + rng.normal(0, 0.02)
        if rng.random() < 0.03:
            rr *= 2.5  # a pause
        early = rng.random() < 0.12
        times.append(t - (0.25 if early else 0.0))
        shapes.append("v" if early else "n")
        t += rr
    x, _ = signal(times, fs, seconds, shapes, seed=seed)
    x += rng.normal(0, 0.05) * np.sin(2 * np.pi * 0.3 * np.arange(len(x)) / fs)
    return x, detect_qrs(x, fs)


@pytest.mark.parametrize(
    ("fs", "seconds", "stride_s", "seed"),
    [
        (250.0, 420.0, 10.0, 0),
        (360.0, 130.0, 10.0, 1),
        (128.0, 200.0, 5.0, 2),
        (500.0, 40.0, 3.0, 3),
    ],
)
def test_record_context_matches_the_per_window_reference(fs, seconds, stride_s, seed):
    x, beats = irregular_record(seconds, fs, seed)
    window = int(10 * fs)
    starts = np.arange(0, len(x) - window + 1, int(stride_s * fs))  # overlapping when < 10 s
    got = record_context(x, beats, starts, window, fs, max_beats=32)
    assert_same(got, reference.record_context(x, beats, starts, window, fs, max_beats=32))


def test_more_windows_than_one_batch_match_the_reference():
    fs, window = 250.0, 2500
    x, beats = irregular_record(420.0, fs, 7)
    x = np.tile(x, 3)  # 21 minutes, windows every 4 s: 313 windows, two batches of 256
    beats = np.concatenate([beats + i * 105_000 for i in range(3)])
    starts = np.arange(0, len(x) - window + 1, 1000)
    got = record_context(x, beats, starts, window, fs, max_beats=32)
    assert_same(got, reference.record_context(x, beats, starts, window, fs, max_beats=32))


def test_windows_with_few_or_no_beats_match_the_reference():
    fs, window = 250.0, 2500
    x, beats = irregular_record(120.0, fs, 4)
    quiet = (beats > 30 * fs) & (beats < 62 * fs)  # a 32-s stretch without beats
    beats = np.r_[beats[~quiet], int(45 * fs)]  # ... but one
    starts = np.arange(0, len(x) - window + 1, window)
    got = record_context(x, beats, starts, window, fs, max_beats=32)
    assert_same(got, reference.record_context(x, beats, starts, window, fs, max_beats=32))
    # beats at the record's very ends and unsorted beat arrays
    edge = np.r_[beats, 0, 1, len(x) - 1][::-1]
    got = record_context(x, edge, starts, window, fs, max_beats=8)
    assert_same(got, reference.record_context(x, edge, starts, window, fs, max_beats=8))


def test_lone_windows_match_the_reference():
    from ecg.data.synthetic import generate
    from ecg.features.beat_features import detect_beats

    windows, _ = generate(40, seed=5)
    beats = detect_beats(windows, 250.0)
    beats[3] = beats[3][:2]  # too few beats for a dominant beat
    beats[4] = beats[4][:0]
    got = lone_context(windows, beats, 250.0, max_beats=32)
    want = [
        reference.window_context(w, b, 0, 250.0, max_beats=32)
        for w, b in zip(windows.astype(np.float64), beats, strict=True)
    ]
    assert_same(got, tuple(np.stack(parts) for parts in zip(*want, strict=True)))
    one = window_context(windows[7], beats[7], 0, 250.0, max_beats=32)
    assert_same(one, want[7])


@pytest.mark.realdata
@pytest.mark.slow
@pytest.mark.parametrize("record_id", ["100", "108", "119", "203", "207", "208", "222", "232"])
def test_mitdb_records_match_the_reference(mitdb_dir, pre_cfg, record_id):
    from ecg.data.mitdb import MITDB
    from ecg.signal.record_windows import condition_record

    record = MITDB(mitdb_dir).read(record_id)
    rec = condition_record(
        record.signal,
        record.fs,
        fs=pre_cfg.fs,
        window=pre_cfg.window,
        stride=pre_cfg.stride,
        band=tuple(pre_cfg.bandpass_hz),
        notch=pre_cfg.notch_hz,
    )
    beats = detect_qrs(rec.raw, rec.fs)
    args = (rec.filtered, beats, rec.starts, pre_cfg.window, rec.fs)
    got = record_context(*args, max_beats=32)
    assert_same(got, reference.record_context(*args, max_beats=32))


def test_column_medians_pick_numpys_medians():
    from ecg.features.template_median import column_medians

    rng = np.random.default_rng(0)
    rows = np.round(rng.standard_normal((300, 7)), 1)  # many ties
    members = np.zeros((60, 300), dtype=bool)
    for w in range(60):  # sliding, jumping, sparse, single and empty selections
        lo = int(rng.integers(0, 250))
        members[w, lo : lo + int(rng.integers(1, 50))] = True
        members[w, rng.integers(0, 300, int(rng.integers(0, 5)))] = True
    members[7] = False
    members[8] = np.arange(300) % 97 == 0
    got = column_medians(rows, members)
    for w in range(60):
        want = np.median(rows[members[w]], axis=0) if members[w].any() else np.full(7, np.nan)
        np.testing.assert_array_equal(got[w], want)


def test_median_is_numpys():
    from ecg.features.grouped import median

    rng = np.random.default_rng(2)
    for n in [*range(1, 40), 375, 1000]:
        values = np.round(rng.standard_normal(n), int(rng.integers(0, 4)))  # ties too
        assert median(values) == np.median(values)


def test_alignment_ties_and_flat_stretches_match_the_reference():
    from ecg.features.beat_template import SampleScale, aligned_segments

    fs = 250.0
    s = SampleScale(fs)
    rng = np.random.default_rng(3)
    x = rng.normal(0, 1, 6000)
    x[1000:1500] = 0.5  # flat: no correlation at all
    x[2000:2600] = (-1.0) ** np.arange(600)  # period 2: lags 2 samples apart tie exactly
    x[3000:3600] = np.round(rng.normal(0, 1, 600))  # quantised: many equal samples
    template = x[4500 : 4500 + s.width] - x[4500 : 4500 + s.width].mean()
    centres = np.array([30, 70, 1200, 1250, 2300, 2301, 3300, 4000, 5900, 5990])
    margin = s.pre + s.post + 2 * s.align + 1
    padded = np.r_[np.full(margin, np.nan), x, np.full(margin, np.nan)]
    ext = padded[centres[:, None] + margin + np.arange(-s.pre - s.align, s.post + s.align + 1)]
    want = reference.aligned_segments(
        reference.PaddedSignal(x, margin), centres, template, reference.SampleScale(fs)
    )
    got = aligned_segments(ext, template[None], np.zeros(len(centres), dtype=np.int64), s)
    np.testing.assert_array_equal(got, want)


def test_group_medians_are_each_groups_own():
    from ecg.features.grouped import group_medians

    rng = np.random.default_rng(4)
    rows = np.round(rng.standard_normal((60, 5)), 1)
    rows[rng.random(rows.shape) < 0.2] = np.nan
    window = np.sort(rng.integers(0, 12, 60))
    window[window == 3] = 4  # window 3: no rows
    got = group_medians(rows, window, 13)
    for w in range(13):
        mine = rows[window == w]
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = np.nanmedian(mine, 0) if len(mine) else np.full(5, np.nan)
        np.testing.assert_array_equal(got[w], want)
