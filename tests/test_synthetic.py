"""Synthetic ECG generator: determinism, format, and that its label means rhythm, not rate
or noise; and the synthesize stage's files."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.optimize import minimize

from ecg.data.config import SynthesizeConfig
from ecg.data.files import SYNTHETIC_KEYS, check_format, dataset_from_file
from ecg.data.synthetic import BEAT_AF, BEAT_PAC, BEAT_PVC, TYPES, generate
from ecg.data.synthetic_set import write_synthetic_set
from ecg.features.layout import MAX_BEATS, STEP_FEATURES

N = 2000


@pytest.fixture(scope="module")
def fit_set():
    return generate(N, seed=11, return_meta=True)


@pytest.fixture(scope="module")
def test_set():
    return generate(N, seed=12, return_meta=True)


def test_deterministic_from_seed():
    a, la = generate(64, seed=5)
    b, lb = generate(64, seed=5)
    c, _ = generate(64, seed=6)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(la, lb)
    assert not np.allclose(a, c)


def test_shapes_dtypes_finite(fit_set):
    x, y, meta = fit_set
    assert x.shape == (N, 2500) and x.dtype == np.float32
    assert y.shape == (N,) and y.dtype == np.int64
    assert np.isfinite(x).all()
    assert set(np.unique(y)) == {0, 1}
    for key, value in meta.items():
        assert len(value) == N, key


def test_other_window_sizes():
    x, y = generate(8, seed=0, fs=360, window=1800, arrhythmia_fraction=0.25)
    assert x.shape == (8, 1800) and y.sum() == 2
    assert generate(0, seed=0)[0].shape == (0, 2500)


def test_windows_are_z_scored(fit_set):
    x = fit_set[0].astype(np.float64)
    np.testing.assert_allclose(x.mean(axis=1), 0.0, atol=1e-4)
    np.testing.assert_allclose(x.std(axis=1), 1.0, atol=1e-3)


@pytest.mark.parametrize("fraction", [0.0, 0.3, 0.5, 1.0])
def test_class_fraction(fraction):
    _, y = generate(200, seed=1, arrhythmia_fraction=fraction)
    assert y.sum() == round(200 * fraction)


def test_every_type_present_and_consistent(fit_set):
    _, y, meta = fit_set
    code, beats = meta["type_code"], meta["beat_types"]
    assert ((code > 0) == (y == 1)).all()
    for i, name in enumerate(TYPES):
        assert (code == i).sum() >= 0.04 * N, name
    has = lambda beat: (beats == beat).any(axis=1)  # noqa: E731
    assert not (has(BEAT_PVC) | has(BEAT_PAC) | has(BEAT_AF))[y == 0].any()
    for name, beat in [("pvc", BEAT_PVC), ("pac", BEAT_PAC), ("af", BEAT_AF)]:
        assert has(beat)[code == TYPES.index(name)].all(), name
    # A ventricular run is >= 3 consecutive wide beats.
    v = (beats == BEAT_PVC).astype(int)
    run3 = (v[:, :-2] + v[:, 1:-1] + v[:, 2:] == 3).any(axis=1)
    assert run3[code == TYPES.index("vt")].all()
    assert not run3[np.isin(code, [TYPES.index("pvc"), TYPES.index("bigeminy")])].any()


def test_pvc_has_compensatory_pause(fit_set):
    _, _, meta = fit_set
    rt, beats = meta["r_times"], meta["beat_types"]
    ratios = []
    for w in np.where(meta["type_code"] == TYPES.index("pvc"))[0]:
        for i in np.where(beats[w] == BEAT_PVC)[0]:
            if i >= 1 and not np.isnan(rt[w, i + 1]):
                ratios.append((rt[w, i + 1] - rt[w, i - 1]) * meta["base_hr"][w] / 120.0)
    assert len(ratios) > 50
    assert 0.9 < np.median(ratios) < 1.1  # the sinus node keeps time: 2 cycles


def _logistic_accuracy(x_fit, y_fit, x_test, y_test) -> float:
    """Quadratic logistic regression on standardised features, scored on another set."""

    def expand(x):
        pairs = [x[:, i] * x[:, j] for i in range(x.shape[1]) for j in range(i, x.shape[1])]
        return np.column_stack([x, *pairs])

    mu, sd = expand(x_fit).mean(0), expand(x_fit).std(0)
    design = lambda x: np.c_[(expand(x) - mu) / sd, np.ones(len(x))]  # noqa: E731
    z_fit = design(x_fit)

    def loss(w):
        logit = z_fit @ w
        return np.mean(np.logaddexp(0, logit) - y_fit * logit) + 1e-4 * w @ w

    w = minimize(loss, np.zeros(z_fit.shape[1]), method="L-BFGS-B").x
    return float(((design(x_test) @ w > 0) == y_test).mean())


def _rate_noise(meta):
    return np.column_stack([meta["mean_hr"], np.log(meta["noise_power"]), meta["snr_db"]])


def test_rate_and_noise_do_not_give_the_label(fit_set, test_set):
    """The failure this generator exists to avoid: rate or noise predicting 'arrhythmia'."""
    acc = _logistic_accuracy(
        _rate_noise(fit_set[2]), fit_set[1], _rate_noise(test_set[2]), test_set[1]
    )
    assert acc < 0.70, acc
    hr_only = _logistic_accuracy(
        fit_set[2]["mean_hr"][:, None], fit_set[1], test_set[2]["mean_hr"][:, None], test_set[1]
    )
    assert hr_only < 0.65, hr_only


def _rr_irregularity(meta):
    """Largest beat-to-beat RR change relative to the median RR."""
    rr = np.diff(meta["r_times"], axis=1)
    return np.nanmax(np.abs(np.diff(rr, axis=1)), axis=1) / np.nanmedian(rr, axis=1)


def test_rhythm_does_give_the_label(fit_set, test_set):
    """Sanity: the label lives in the rhythm, so an RR feature separates the classes."""
    rate_noise = _logistic_accuracy(
        _rate_noise(fit_set[2]), fit_set[1], _rate_noise(test_set[2]), test_set[1]
    )
    feats = [
        np.column_stack([_rate_noise(m), _rr_irregularity(m)]) for m in (fit_set[2], test_set[2])
    ]
    rhythm = _logistic_accuracy(feats[0], fit_set[1], feats[1], test_set[1])
    assert rhythm > 0.9 and rhythm > rate_noise + 0.2, (rhythm, rate_noise)


def test_beats_are_in_the_signal(fit_set):
    """The meta beat times mark real QRS complexes: |x| peaks within 40 ms of each beat."""
    x, _, meta = fit_set
    idx = np.round(meta["r_times"] * 250)
    valid = ~np.isnan(idx) & (idx >= 10) & (idx < x.shape[1] - 10)
    around = np.where(valid, idx, 100).astype(int)[:, :, None] + np.arange(-10, 11)
    peaks = np.abs(np.take_along_axis(x, around.reshape(len(x), -1), axis=1))
    peaks = peaks.reshape(around.shape).max(axis=2)
    ratio = np.nanmean(np.where(valid, peaks, np.nan), axis=1) / np.abs(x).mean(axis=1)
    assert np.quantile(ratio, 0.01) > 1.5


# --- the synthesize stage's files (ecg.data.synthetic_set) -------------------------------


def test_synthetic_set_files(tmp_path, pre_cfg):
    syn = SynthesizeConfig(n_train=6, n_val=4, arrhythmia_fraction=0.5)
    out, beats_dir = tmp_path / "synthetic", tmp_path / "synthetic_beats"
    metrics = write_synthetic_set(syn, pre_cfg, seed=3, out_dir=out, beats_dir=beats_dir)
    assert sorted(p.name for p in out.iterdir()) == ["train_ecg.pt", "val_ecg.pt"]
    assert sorted(p.name for p in beats_dir.iterdir()) == [
        "train_beat_sync.pt", "train_beats.pt", "val_beat_sync.pt", "val_beats.pt"
    ]  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == ["synthetic", "synthetic_beats"]
    for split, n in (("train", 6), ("val", 4)):
        ecg = torch.load(out / f"{split}_ecg.pt", weights_only=True)
        beats = torch.load(beats_dir / f"{split}_beats.pt", weights_only=True)
        sync = torch.load(beats_dir / f"{split}_beat_sync.pt", weights_only=True)
        for data in (ecg, beats, sync):
            assert set(data) == SYNTHETIC_KEYS and check_format(data) == "synthetic"
            assert data["inputs"].dtype == torch.float32 and torch.isfinite(data["inputs"]).all()
            assert data["labels"].dtype == torch.int64 and data["labels"].tolist().count(1) > 0
        assert ecg["inputs"].shape == (n, pre_cfg.window)
        assert beats["inputs"].shape == (n, MAX_BEATS * STEP_FEATURES)
        assert sync["inputs"].shape == (n, pre_cfg.window) and sync["inputs"].abs().max() > 0
        for data in (beats, sync):  # the same windows, row for row
            assert torch.equal(ecg["labels"], data["labels"])
        assert len(dataset_from_file(out / f"{split}_ecg.pt")) == n
        assert metrics["splits"][split]["windows"] == n
        assert metrics["splits"][split]["per_class"]["arrhythmia"] == int(ecg["labels"].sum())
    # val has its own seed: it does not replay train's first windows
    train = torch.load(out / "train_ecg.pt", weights_only=True)["inputs"]
    val = torch.load(out / "val_ecg.pt", weights_only=True)["inputs"]
    assert not torch.allclose(train[:4], val)
    # wall times are not metrics: the metrics repeat exactly run to run
    assert set(metrics) == {"seeds", "splits"}
    assert metrics["seeds"]["train"] == 3 and metrics["seeds"]["val"] != 3
    again = write_synthetic_set(
        syn, pre_cfg, seed=3, out_dir=tmp_path / "again", beats_dir=tmp_path / "again_beats"
    )
    assert again == metrics
    assert (tmp_path / "again" / "val_ecg.pt").read_bytes() == (out / "val_ecg.pt").read_bytes()
