import numpy as np
import pytest

from ecg.features.atrial import HORIZON_S, beat_atrial, lone_atrial, record_atrial
from ecg.features.layout import ATRIAL_BEAT_FEATURES

A = {name: i for i, name in enumerate(ATRIAL_BEAT_FEATURES)}
RR = 0.8


def ecg(fs, times, *, kinds=None, blocked=(), seconds=None, seed=0):
    """Gaussian P-QRS-T beats at `times` (s). kinds[i]: "N", "noP" (junctional: no P wave),
    "shortPR" (P 0.08 s before R instead of 0.16 s), "delta" (a slow ramp into the QRS);
    `blocked`: times of P waves with no QRS after them."""
    seconds = seconds or times[-1] + 1.0
    t = np.arange(round(seconds * fs)) / fs
    x = np.zeros_like(t)

    def bump(c, h, w):
        x[:] += h * np.exp(-0.5 * ((t - c) / w) ** 2)

    kinds = kinds or ["N"] * len(times)
    for c, kind in zip(times, kinds, strict=True):
        if kind != "noP":
            bump(c - (0.08 if kind == "shortPR" else 0.16), 0.12, 0.025)
        if kind == "delta":
            bump(c - 0.03, 0.5, 0.025)  # a slow rise into the R wave
        bump(c - 0.025, -0.15, 0.008)
        bump(c, 1.1, 0.011)
        bump(c + 0.03, -0.25, 0.010)
        bump(c + 0.28, 0.30, 0.045)
    for c in blocked:
        bump(c, 0.12, 0.025)
    x += np.random.default_rng(seed).normal(0, 0.005, len(t))
    return x, np.round(np.asarray(times) * fs).astype(np.int64)


def regular(n=40, first=0.5):
    return list(first + RR * np.arange(n))


def test_ordinary_beats_are_neutral():
    x, beats = ecg(250.0, regular())
    v = beat_atrial(x, beats, 250.0)
    assert v.shape == (40, len(ATRIAL_BEAT_FEATURES)) and v.dtype == np.float32
    assert np.abs(v[10:]).max() <= 0.21  # one sample of onset timing at 250 Hz: 0.2


def test_premature_beat_against_local_and_long_rhythm():
    times = regular()
    times[30] -= 0.25
    x, beats = ecg(250.0, times)
    v = beat_atrial(x, beats, 250.0)
    assert v[30, A["rr_local"]] == pytest.approx(0.55 / RR - 1, abs=0.01)
    assert v[30, A["rr_long"]] == pytest.approx(0.55 / RR - 1, abs=0.01)
    assert v[31, A["rr_local"]] > 0.25  # compensatory pause
    # the premature beat is no typical beat: the dominant beat stays the same
    assert np.abs(v[33:, A["p_correlation"]]).max() < 0.05


def test_p_wave_present_vs_absent():
    kinds = ["N"] * 40
    kinds[25] = kinds[32] = "noP"
    x, beats = ecg(250.0, regular(), kinds=kinds)
    v = beat_atrial(x, beats, 250.0)
    normal = np.delete(v[10:], [15, 22], axis=0)
    assert v[[25, 32], A["p_correlation"]].max() < -0.5
    assert normal[:, A["p_correlation"]].min() > -0.1
    assert v[[25, 32], A["p_amplitude"]].max() < -0.5


def test_short_pr_and_delta_wave():
    kinds = ["N"] * 40
    kinds[20] = kinds[30] = "shortPR"
    kinds[25] = "delta"
    x, beats = ecg(250.0, regular(), kinds=kinds)
    v = beat_atrial(x, beats, 250.0)
    assert v[[20, 30], A["pr_shift"]] == pytest.approx([-2.0, -2.0], abs=0.3)  # 80 ms shorter
    assert np.abs(np.delete(v[10:, A["pr_shift"]], [10, 15, 20])).max() <= 0.25
    assert v[25, A["onset_slope"]] > 1.0
    assert np.abs(np.delete(v[10:, A["onset_slope"]], [15])).max() < 0.5


def test_p_wave_without_qrs_in_the_gap():
    """2:1 AV block: an atrial beat between every two conducted ones."""
    times = list(0.5 + 1.4 * np.arange(30))
    x, beats = ecg(250.0, times, blocked=[t + 0.7 - 0.16 for t in times[:-1]])
    plain, _ = ecg(250.0, times)
    blocked = beat_atrial(x, beats, 250.0)[8:, A["gap_p"]]
    clean = beat_atrial(plain, beats, 250.0)[8:, A["gap_p"]]
    assert blocked.min() > 0.9 and clean.max() < 0.5


def test_causal_up_to_the_horizon():
    times = regular()
    times[20] -= 0.2
    kinds = ["N"] * 40
    kinds[25] = "noP"
    x, beats = ecg(250.0, times, kinds=kinds)
    v = beat_atrial(x, beats, 250.0)
    j = 25
    cut = beats[j] + round(HORIZON_S * 250.0) + 1
    later = x.copy()
    later[cut:] = np.random.default_rng(1).normal(0, 1, len(x) - cut)
    np.testing.assert_array_equal(beat_atrial(later, beats[: j + 1], 250.0), v[: j + 1])
    np.testing.assert_array_equal(beat_atrial(later[:cut], beats[: j + 1], 250.0), v[: j + 1])


def test_windows_read_nothing_after_their_end():
    x, beats = ecg(250.0, regular(60))
    starts = np.array([0, 2500, 5000], dtype=np.int64)
    # a beat just before a window's end: its signal values are left out
    beats = np.sort(np.r_[beats, 2500 - 3])
    got = record_atrial(x, beats, starts, 2500, 250.0, max_beats=32)
    later = x.copy()
    later[5000:] = 0.0
    again = record_atrial(later, beats[beats < 5000], starts[:2], 2500, 250.0, max_beats=32)
    np.testing.assert_array_equal(got[:2], again)
    last = np.searchsorted(beats, 2500) - 1
    assert (got[0, last, A["p_correlation"] :] == 0).all()
    assert got[0, last, A["rr_local"]] < -0.1
    # a lone window is its own history: the same as a record of that window
    lone = lone_atrial(
        x[None, 2500:5000], [beats[(beats >= 2500) & (beats < 5000)] - 2500], 250.0, max_beats=32
    )
    alone = record_atrial(
        x[2500:5000],
        beats[(beats >= 2500) & (beats < 5000)] - 2500,
        starts[:1],
        2500,
        250.0,
        max_beats=32,
    )
    np.testing.assert_array_equal(lone, alone)


def test_the_same_values_at_other_sampling_rates():
    times = regular()
    times[30] -= 0.25
    kinds = ["N"] * 40
    kinds[20], kinds[25], kinds[35] = "noP", "shortPR", "delta"
    values = [beat_atrial(*ecg(fs, times, kinds=kinds), fs) for fs in (250.0, 500.0, 360.0)]
    for v in values[1:]:
        np.testing.assert_allclose(v[:, :2], values[0][:, :2], atol=0.01)
        np.testing.assert_allclose(v[:, 2:4], values[0][:, 2:4], atol=0.1)
        np.testing.assert_allclose(v[:, 5:], values[0][:, 5:], atol=0.35)
        with_p = values[0][:, A["p_correlation"]] > -0.5  # a P peak to time
        # the P peak of a broad noisy P wave moves by a few samples: 20 ms
        np.testing.assert_allclose(v[with_p, 4], values[0][with_p, 4], atol=0.5)
