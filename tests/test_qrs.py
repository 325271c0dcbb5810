"""ecg.signal.qrs.detect_qrs: exact recovery of known beats in a synthetic ECG, and real MIT-BIH
scores."""

from __future__ import annotations

import numpy as np
import pytest

from ecg.signal.qrs import detect_qrs

TOLERANCE_S = 0.05


def _wave(t: np.ndarray, centre: float, amp: float, sd: float) -> np.ndarray:
    return amp * np.exp(-0.5 * ((t - centre) / sd) ** 2)


def beat_times() -> tuple[np.ndarray, np.ndarray]:
    """R-peak times (s) and beat kinds (0 normal, 1 premature ventricular, 2 low-voltage), 60 s.

    Regular 75 bpm with one low-voltage beat (below the adaptive threshold: only the search-back
    finds it), an irregular (AF-like) stretch, a PVC at a short coupling interval, a 3 s pause
    and a fast regular end with tall peaked T waves: what an adaptive threshold gets wrong.
    """
    rng = np.random.default_rng(7)
    times = list(np.arange(0.6, 16.0, 0.8))  # regular
    kind = [0] * len(times)
    kind[12] = 2
    t = times[-1]
    for rr in rng.uniform(0.45, 1.2, size=20):  # irregular
        t += rr
        times.append(t)
        kind.append(0)
    times += [times[-1] + 0.42, times[-1] + 1.62, times[-1] + 4.62]  # PVC, compensation, pause
    kind += [1, 0, 0]
    t = times[-1]
    while t + 0.5 < 59.5:  # 120 bpm to the end
        t += 0.5
        times.append(t)
        kind.append(0)
    return np.array(times), np.array(kind)


def synthetic_ecg(fs: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(signal in mV, true R-peak sample indices) at `fs`: Gaussian P-QRS-T + wander + noise."""
    times, kind = beat_times()
    t = np.arange(int(60 * fs)) / fs
    x = 0.15 * np.sin(2 * np.pi * 0.3 * t) + 0.05 * np.sin(2 * np.pi * 60 * t)
    for tr, k in zip(times, kind, strict=True):
        if k == 1:  # wide, tall, negative, no P wave, discordant T
            x += _wave(t, tr, -1.6, 0.03) + _wave(t, tr + 0.32, 0.45, 0.06)
            continue
        gain = 0.22 if k == 2 else 1.0
        fast = tr > 45.0
        x += _wave(t, tr - 0.16, 0.18, 0.025)  # P
        x += gain * (_wave(t, tr - 0.025, -0.12, 0.008) + _wave(t, tr, 1.1, 0.01))  # Q, R
        x += gain * _wave(t, tr + 0.03, -0.25, 0.01)  # S
        # T: the fast stretch has tall, peaked T waves (a T-wave detector trap)
        x += _wave(t, tr + 0.24, 0.75, 0.022) if fast else _wave(t, tr + 0.3, 0.4, 0.045)
    x += np.random.default_rng(seed).normal(0.0, 0.02, t.size)
    return x, np.round(times * fs).astype(np.int64)


def assert_matches(found: np.ndarray, truth: np.ndarray, fs: float) -> None:
    """One detection within TOLERANCE_S of every true beat, and nothing else."""
    tol = TOLERANCE_S * fs
    nearest = np.abs(found[:, None] - truth[None, :])
    missed = truth[nearest.min(axis=0) > tol]
    extra = found[nearest.min(axis=1) > tol]
    assert missed.size == 0, f"missed beats at {missed / fs} s"
    assert extra.size == 0, f"false beats at {extra / fs} s"
    assert found.size == truth.size


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("fs", [250.0, 360.0, 500.0])
def test_recovers_every_synthetic_beat(fs, seed):
    x, truth = synthetic_ecg(fs, seed)
    found = detect_qrs(x, fs)
    assert found.dtype == np.int64
    assert np.all(np.diff(found) > 0)
    assert_matches(found, truth, fs)
    # placed on the R peak, not just near the QRS (the unrefined MWI peak is ~20 ms off)
    assert np.abs(found - truth).max() <= 0.01 * fs + 1


@pytest.mark.parametrize("fs", [250.0, 360.0, 500.0])
def test_tall_p_wave_with_long_pr_is_not_a_beat(fs):
    """First-degree AV block: a sharp 0.4 mV P wave 300 ms before each QRS passes the threshold
    on its own; the later, larger QRS must replace it, not join it."""
    t = np.arange(int(30 * fs)) / fs
    times = np.arange(0.8, 29.5, 1.0)
    x = 0.1 * np.sin(2 * np.pi * 0.25 * t)
    for tr in times:
        x += _wave(t, tr - 0.3, 0.4, 0.02) + _wave(t, tr, 1.0, 0.01)
        x += _wave(t, tr + 0.03, -0.2, 0.01) + _wave(t, tr + 0.32, 0.3, 0.05)
    x += np.random.default_rng(0).normal(0.0, 0.02, t.size)
    assert_matches(detect_qrs(x, fs), np.round(times * fs).astype(np.int64), fs)


def test_scale_and_offset_invariant():
    fs = 360.0
    x, truth = synthetic_ecg(fs, seed=3)
    assert_matches(detect_qrs(1000.0 * x + 1024.0, fs), truth, fs)  # ADC units
    assert_matches(detect_qrs(-x, fs), truth, fs)  # inverted lead


@pytest.mark.parametrize("start_s", [0.0, 17.3, 31.0, 45.0])
def test_single_ten_second_window(start_s):
    """On a lone 10 s window every beat away from the edges is found, nothing else."""
    fs = 250.0
    x, truth = synthetic_ecg(fs, seed=1)
    a, b = int(start_s * fs), int((start_s + 10) * fs)
    found = detect_qrs(x[a:b], fs) + a
    margin = int(0.1 * fs)
    inner = lambda s: s[(s >= a + margin) & (s < b - margin)]  # noqa: E731
    assert inner(truth).size >= 8
    assert_matches(inner(found), inner(truth), fs)


@pytest.mark.parametrize("fs", [250.0, 360.0])
@pytest.mark.parametrize("level", [0.0, 1.0, -3.7])
def test_flat_signal_has_no_beats(fs, level):
    assert detect_qrs(np.full(int(30 * fs), level), fs).size == 0


def test_too_short_or_non_finite_input():
    assert detect_qrs(np.zeros(10), 360.0).size == 0
    fs = 360.0
    x, truth = synthetic_ecg(fs)
    x[1000:1010] = np.nan  # a few lost samples must not poison the whole record
    assert_matches(detect_qrs(x, fs), truth, fs)


# Measured with the defaults (benchmarks/bench_qrs.py, 150 ms tolerance, MLII): record 100
# 100%/100% at 360 and 250 Hz; record 108 Se 99.72% / +P 99.32% at 360 Hz and Se 99.72% / +P
# 99.27% at 250 Hz. The floors leave a small margin below those.
REAL_FLOORS = {"100": (0.999, 0.999), "108": (0.993, 0.988)}


@pytest.mark.realdata
@pytest.mark.parametrize("fs", [360.0, 250.0])
@pytest.mark.parametrize("record_id", sorted(REAL_FLOORS))
def test_real_records(mitdb_dir, record_id, fs):
    from wfdb.processing import compare_annotations

    from ecg.data.labels import AAMI_CLASSES
    from ecg.data.mitdb import MITDB
    from ecg.signal.conditioning import resample

    rec = MITDB(mitdb_dir).read(record_id)
    beats = frozenset().union(*AAMI_CLASSES.values())
    ref = rec.ann_samples[[s in beats for s in rec.ann_symbols]]
    x = rec.signal if fs == rec.fs else resample(rec.signal, rec.fs, fs)
    found = np.round(detect_qrs(x, fs) * rec.fs / fs).astype(np.int64)
    cmp = compare_annotations(ref, found, int(0.15 * rec.fs))
    min_se, min_ppv = REAL_FLOORS[record_id]
    assert cmp.sensitivity >= min_se, (cmp.tp, cmp.fn, cmp.fp)
    assert cmp.positive_predictivity >= min_ppv, (cmp.tp, cmp.fn, cmp.fp)
