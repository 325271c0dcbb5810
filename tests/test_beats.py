import numpy as np
import pytest

from ecg.core.errors import ECGError
from ecg.features.beat_features import beat_representation, detect_beats, nanmedian
from ecg.features.layout import (
    ATRIAL_BEAT_FEATURES,
    BEAT_FEATURES,
    CONTEXT_BEAT_FEATURES,
    CONTEXT_WINDOW_FEATURES,
    MAX_BEATS,
    STEP_BEAT,
    STEP_FEATURES,
    WINDOW_CENTRE,
    WINDOW_FEATURES,
    WINDOW_SCALE,
    LayoutParts,
    model_input,
    split_model_input,
)

FS = 250.0
L = 2500
F = {name: i for i, name in enumerate(WINDOW_FEATURES)}
B = {name: i for i, name in enumerate(BEAT_FEATURES)}


def normal_beat(t: np.ndarray) -> np.ndarray:
    """P, narrow QRS and T waves; t in seconds relative to the R peak."""
    g = lambda mu, sd, a: a * np.exp(-0.5 * ((t - mu) / sd) ** 2)  # noqa: E731
    return (
        g(-0.16, 0.025, 0.15)
        + g(-0.03, 0.008, -0.15)
        + g(0.0, 0.011, 1.0)
        + g(0.03, 0.009, -0.25)
        + g(0.25, 0.045, 0.3)
    )


def wide_beat(t: np.ndarray) -> np.ndarray:
    """A ventricular-looking beat: no P, wide inverted QRS, discordant T."""
    g = lambda mu, sd, a: a * np.exp(-0.5 * ((t - mu) / sd) ** 2)  # noqa: E731
    return g(0.0, 0.035, -1.3) + g(0.06, 0.03, 0.5) + g(0.28, 0.06, 0.4)


def ecg(times_s, shapes=None, noise=0.0, seed=0) -> tuple[np.ndarray, np.ndarray]:
    """A window with beats at `times_s` and the detected indices (the R peaks)."""
    t = np.arange(L) / FS
    x = np.zeros(L)
    shapes = shapes or ["n"] * len(times_s)
    for r, shape in zip(times_s, shapes, strict=True):
        x += (normal_beat if shape == "n" else wide_beat)(t - r)
    x += noise * np.random.default_rng(seed).standard_normal(L)
    idx = np.round(np.asarray(times_s) * FS).astype(np.int64)
    return ((x - x.mean()) / x.std()).astype(np.float32), idx


REGULAR = 0.5 + 0.8 * np.arange(12)  # 75 bpm, 12 beats


def represent(*windows):
    x = np.stack([w for w, _ in windows])
    return beat_representation(x, [b for _, b in windows], FS)


def test_constants():
    assert MAX_BEATS == 32
    assert len(WINDOW_FEATURES) == 9 and len(set(WINDOW_FEATURES)) == 9
    assert BEAT_FEATURES[0] == "present"
    assert len(CONTEXT_BEAT_FEATURES) == 6 and len(CONTEXT_WINDOW_FEATURES) == 20
    assert len(ATRIAL_BEAT_FEATURES) == 7
    assert STEP_BEAT == 20 and STEP_FEATURES == 49
    assert WINDOW_CENTRE.shape == WINDOW_SCALE.shape == (29,) and (WINDOW_SCALE > 0).all()


def test_regular_train_is_neutral():
    seq, feats = represent(ecg(REGULAR, noise=0.01))
    f = feats[0]
    assert seq.shape == (1, MAX_BEATS, len(BEAT_FEATURES)) and seq.dtype == np.float32
    assert feats.shape == (1, 9) and feats.dtype == np.float32
    assert f[F["rr_min_ratio"]] == pytest.approx(1.0, abs=1e-6)
    assert f[F["rr_max_ratio"]] == pytest.approx(1.0, abs=1e-6)
    assert f[F["rr_cv"]] == pytest.approx(0.0, abs=1e-6)
    assert f[F["rr_msd_ratio"]] == pytest.approx(0.0, abs=1e-6)
    assert f[F["min_correlation"]] > 0.98
    assert f[F["max_deviation"]] < 0.15
    assert f[F["heart_rate"]] == pytest.approx(75.0, abs=0.01)
    assert f[F["beat_count"]] == 12
    assert f[F["abnormal_fraction"]] == 0.0
    assert (seq[0, :12, B["present"]] == 1).all() and (seq[0, 12:] == 0).all()
    assert np.abs(seq[0, :12, 1:]).max() < 0.2  # every ratio centred near 0


def test_premature_beat_and_compensatory_pause():
    times = REGULAR.copy()
    times[6] -= 0.3  # RR 0.5 s then 1.1 s against a median of 0.8 s
    seq, feats = represent(ecg(REGULAR), ecg(times))
    regular, premature = feats
    assert premature[F["rr_min_ratio"]] == pytest.approx(0.5 / 0.8, abs=0.01)
    assert premature[F["rr_max_ratio"]] == pytest.approx(1.1 / 0.8, abs=0.01)
    assert premature[F["rr_cv"]] > regular[F["rr_cv"]] + 0.1
    assert premature[F["rr_msd_ratio"]] > 0.1
    assert premature[F["heart_rate"]] == pytest.approx(75.0, abs=0.01)  # median RR unchanged
    assert seq[1, 6, B["rr_prev"]] == pytest.approx(0.5 / 0.8 - 1, abs=0.01)
    assert seq[1, 6, B["rr_next"]] == pytest.approx(1.1 / 0.8 - 1, abs=0.01)
    assert seq[1, 7, B["rr_prev"]] == pytest.approx(1.1 / 0.8 - 1, abs=0.01)
    # Only prematurity without a pause: the shortest ratio falls, the longest stays ~1.
    early = np.r_[REGULAR[:6], REGULAR[6:] - 0.3]
    _, (f,) = represent(ecg(early))
    assert f[F["rr_min_ratio"]] == pytest.approx(0.625, abs=0.01)
    assert f[F["rr_max_ratio"]] == pytest.approx(1.0, abs=0.01)


def test_beat_of_different_shape():
    shapes = ["n"] * 12
    shapes[5] = "v"
    seq, feats = represent(ecg(REGULAR, noise=0.01), ecg(REGULAR, shapes, noise=0.01))
    normal, odd = feats
    assert odd[F["min_correlation"]] < 0.5 < normal[F["min_correlation"]]
    assert odd[F["max_deviation"]] > 1.0 > 0.2 > normal[F["max_deviation"]]
    assert odd[F["abnormal_fraction"]] == pytest.approx(1 / 12)
    beat = seq[1, 5]
    assert beat[B["correlation"]] < -0.5 and beat[B["deviation"]] > 1.0
    assert beat[B["width"]] > 0.5  # wider QRS than the median beat
    assert beat[B["amplitude"]] > 0.1
    others = np.delete(seq[1, :12], 5, axis=0)
    assert (others[:, B["correlation"]] > -0.05).all()
    assert np.abs(others[:, B["width"]]).max() < 0.2
    assert odd[F["rr_cv"]] == pytest.approx(0.0, abs=1e-6)  # shape only, rhythm unchanged


def test_scale_invariance():
    times = REGULAR.copy()
    times[4] -= 0.25
    shapes = ["n"] * 12
    shapes[8] = "v"
    x, idx = ecg(times, shapes, noise=0.05)
    seq1, f1 = beat_representation(x[None], [idx], FS)
    seq2, f2 = beat_representation(2.0 * x[None], [idx], FS)
    seq3, f3 = beat_representation(0.1 * x[None].astype(np.float64), [idx], FS)
    np.testing.assert_allclose(f2, f1, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(seq2, seq1, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(f3, f1, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(seq3, seq1, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("n_beats", [0, 1, 2])
def test_fewer_than_three_beats(n_beats):
    times = [2.0, 3.0][:n_beats]
    seq, (f,) = represent(ecg(times) if n_beats else (np.zeros(L, np.float32), np.zeros(0)))
    assert np.isfinite(seq).all() and np.isfinite(f).all()
    neutral = {
        "rr_min_ratio": 1,
        "rr_max_ratio": 1,
        "rr_cv": 0,
        "rr_msd_ratio": 0,
        "min_correlation": 1,
        "max_deviation": 0,
        "abnormal_fraction": 0,
    }
    for name, value in neutral.items():
        assert f[F[name]] == pytest.approx(value, abs=1e-6), name
    assert f[F["beat_count"]] == n_beats
    assert f[F["heart_rate"]] == pytest.approx(n_beats * 6.0)  # beats per 10 s * 6
    assert (seq[0, :n_beats, 0] == 1).all() and (seq[0, :n_beats, 1:] == 0).all()
    assert (seq[0, n_beats:] == 0).all()


def test_edge_beats_and_too_few_morphologies():
    # Beats at the very edges get RR features but a neutral morphology; a window with only
    # two beats whose QRS core fits compares no shapes at all.
    x, idx = ecg([0.01, 1.0, 2.0, 9.99])
    seq, (f,) = beat_representation(x[None], [idx], FS)
    assert np.isfinite(seq).all() and np.isfinite(f).all()
    assert f[F["min_correlation"]] == 1.0 and f[F["max_deviation"]] == 0.0
    assert (seq[0, :4, B["correlation"] :] == 0).all()
    assert f[F["beat_count"]] == 4
    x, idx = ecg(REGULAR)
    idx = np.r_[0, idx, L - 1]  # odd detections at both ends among 12 good beats
    seq, (f,) = beat_representation(x[None], [idx], FS)
    assert np.isfinite(seq).all() and f[F["min_correlation"]] > 0.98
    assert (seq[0, [0, 13], B["correlation"] :] == 0).all()


def test_many_beats_order_and_errors():
    times = 0.1 + 0.3 * np.arange(33)  # 200 bpm: more beats than MAX_BEATS
    x, idx = ecg(times)
    seq, (f,) = beat_representation(x[None], [idx[::-1].copy()], FS)  # any order
    assert f[F["beat_count"]] == 33 and (seq[0, :, 0] == 1).all()
    assert f[F["heart_rate"]] == pytest.approx(200.0, abs=0.5)
    with pytest.raises(ECGError, match=r"\[0, 2500\)"):
        beat_representation(x[None], [np.array([5, 2500])], FS)
    with pytest.raises(ECGError, match="duplicate"):
        beat_representation(x[None], [np.array([5, 300, 300])], FS)
    with pytest.raises(ECGError, match="2 windows but 1"):
        beat_representation(np.stack([x, x]), [idx], FS)
    with pytest.raises(ECGError, match=r"\[N, L\]"):
        beat_representation(x, [idx], FS)


def test_batch_matches_single_windows():
    rng = np.random.default_rng(3)
    windows, beats = [], []
    for i in range(300):  # more than one internal chunk, with varied beat counts
        n = int(rng.integers(0, 20))
        times = np.sort(rng.uniform(0.05, 9.95, n))
        times = times[np.r_[True, np.diff(times) > 0.2]] if n else times
        shapes = list(rng.choice(["n", "v"], len(times), p=[0.85, 0.15]))
        w, b = ecg(times, shapes, noise=0.05, seed=i)
        windows.append(w)
        beats.append(b)
    seq, feats = beat_representation(np.stack(windows), beats, FS)
    assert np.isfinite(seq).all() and np.isfinite(feats).all()
    for i in (0, 7, 150, 299):
        s1, f1 = beat_representation(windows[i][None], [beats[i]], FS)
        np.testing.assert_allclose(s1[0], seq[i], atol=1e-6)
        np.testing.assert_allclose(f1[0], feats[i], atol=1e-6)


def testnanmedian_matches_numpy():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((6, 7, 5))
    a[rng.random(a.shape) < 0.4] = np.nan
    a[0, :, 0] = np.nan
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
        want = np.nanmedian(a, axis=1)
    np.testing.assert_allclose(nanmedian(a, 1), want, equal_nan=True)


def test_model_input_layout_and_inverse():
    times = REGULAR.copy()
    times[3] -= 0.3
    seq, feats = represent(ecg(REGULAR), ecg(times), (np.zeros(L, np.float32), np.zeros(0)))
    rng = np.random.default_rng(0)
    ctx_seq = rng.normal(0, 0.2, (3, MAX_BEATS, 6)).astype(np.float32)
    ctx_feats = (WINDOW_CENTRE[9:] + rng.normal(0, 0.1, (3, 20))).astype(np.float32)
    atrial = rng.normal(0, 0.2, (3, MAX_BEATS, 7)).astype(np.float32)
    x = model_input(LayoutParts(seq, ctx_seq, feats, ctx_feats, atrial))
    assert x.shape == (3, MAX_BEATS * STEP_FEATURES) and x.dtype == np.float32
    steps = x.reshape(3, MAX_BEATS, STEP_FEATURES)
    nb = len(BEAT_FEATURES)
    np.testing.assert_array_equal(steps[:, :, :nb], seq)
    present = seq[:, :, :1] != 0
    np.testing.assert_array_equal(steps[:, :, nb : nb + 6], np.where(present, ctx_seq, 0))
    np.testing.assert_array_equal(steps[:, :, nb + 6 : STEP_BEAT], np.where(present, atrial, 0))
    scaled = (np.hstack([feats, ctx_feats]) - WINDOW_CENTRE) / WINDOW_SCALE
    want = np.broadcast_to(np.clip(scaled, -8, 8)[:, None], (3, 32, 29))
    np.testing.assert_allclose(steps[:, :, STEP_BEAT:], want, rtol=1e-6, atol=1e-6)
    assert np.abs(steps[0, 0, STEP_BEAT : STEP_BEAT + 9]).max() < 0.05  # regular 75 bpm ~ 0
    back = split_model_input(x)
    np.testing.assert_array_equal(back.beats, seq)
    np.testing.assert_array_equal(back.context_beats, np.where(present, ctx_seq, 0))
    np.testing.assert_array_equal(back.atrial_beats, np.where(present, atrial, 0))
    np.testing.assert_allclose(back.window, feats, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(back.context_window, ctx_feats, rtol=1e-5, atol=1e-4)
    with pytest.raises(ECGError, match="beats must be"):
        model_input(LayoutParts(seq[:, :, :3], ctx_seq, feats, ctx_feats, atrial))
    with pytest.raises(ECGError):
        split_model_input(x[:, :-1])


def test_detected_beats_on_synthetic_windows():
    from ecg.data.synthetic import generate

    x, _ = generate(6, seed=0)
    beats = detect_beats(x, FS)
    assert len(beats) == 6 and all(b.dtype == np.int64 for b in beats)
    seq, feats = beat_representation(x, beats, FS)
    assert np.isfinite(seq).all() and np.isfinite(feats).all()
    np.testing.assert_array_equal(feats[:, F["beat_count"]], [len(b) for b in beats])
