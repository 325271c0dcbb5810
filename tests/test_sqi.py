"""Signal quality index: synthetic behaviour, and on the real MIT-BIH / NSTDB data."""

from __future__ import annotations

import numpy as np
import pytest

from ecg.data.nstdb import load_nstdb_noise
from ecg.signal.conditioning import resample
from ecg.signal.noise import add_noise, qrs_peak_to_peak
from ecg.signal.sqi import THRESHOLD, sqi, sqi_components
from ecg.signal.windows import segment_windows

FS = 250
L = 10 * FS


def beat(t: np.ndarray, *, wide: bool = False, p_wave: bool = True) -> np.ndarray:
    """One PQRST complex (mV) centred on the R peak at t = 0 (seconds); `wide` = PVC-like."""

    def g(a: float, mu: float, sd: float) -> np.ndarray:
        return a * np.exp(-0.5 * ((t - mu) / sd) ** 2)

    if wide:  # broad, tall, no P wave, discordant T
        return g(1.4, 0.0, 0.035) + g(-0.4, 0.07, 0.03) + g(-0.45, 0.3, 0.07)
    out = g(-0.1, -0.025, 0.008) + g(1.0, 0.0, 0.01) + g(-0.25, 0.025, 0.01) + g(0.3, 0.25, 0.05)
    return out + g(0.15, -0.2, 0.025) if p_wave else out


def ecg(
    r_times: np.ndarray, *, wide: set[int] = frozenset(), p_wave: bool = True, seed: int = 0
) -> np.ndarray:
    """A 10 s synthetic ECG at 250 Hz with R peaks at `r_times` and 10 uV of sensor noise."""
    t = np.arange(L) / FS
    x = sum(beat(t - r, wide=i in wide, p_wave=p_wave) for i, r in enumerate(r_times))
    return x + 0.01 * np.random.default_rng(seed).standard_normal(L)


def regular(rate_bpm: float = 72.0) -> np.ndarray:
    return ecg(np.arange(0.3, 10.0, 60.0 / rate_bpm))


@pytest.fixture(scope="module")
def clean() -> np.ndarray:
    return regular()


# --- synthetic ------------------------------------------------------------------------------


def test_clean_ecg_scores_high(clean):
    assert sqi(clean, FS) > 0.95


@pytest.mark.parametrize("rate", [35, 45, 150, 190])
def test_heart_rate_does_not_matter(rate):
    assert sqi(regular(rate), FS) > 0.95


def test_arrhythmia_is_not_penalised():
    rng = np.random.default_rng(1)
    af = np.cumsum(rng.uniform(0.35, 1.2, 20)) - 0.1  # irregular RR, no P waves, f waves
    t = np.arange(L) / FS
    af_ecg = ecg(af[af < 9.9], p_wave=False) + 0.05 * np.sin(2 * np.pi * 6.3 * t)
    bigeminy = ecg(
        np.array([0.3, 0.75, 1.7, 2.15, 3.1, 3.55, 4.5, 4.95, 5.9, 6.35, 7.3, 7.75, 8.7, 9.15]),
        wide={1, 3, 5, 7, 9, 11, 13},
    )
    pause = ecg(np.array([0.5, 1.3, 6.2, 7.0]))  # a 4.9 s sinus pause
    scores = sqi(np.stack([af_ecg, bigeminy, pause]), FS)
    assert (scores > 0.9).all(), scores


def test_white_noise_lowers_the_score_monotonically(clean):
    rng = np.random.default_rng(2)
    noise = rng.standard_normal(L)
    scores = sqi(np.stack([clean + s * noise for s in (0.0, 0.02, 0.05, 0.1, 0.2, 0.4)]), FS)
    assert np.all(np.diff(scores) < 0), scores
    assert scores[-1] < THRESHOLD and scores[-2] < THRESHOLD


def test_baseline_wander_lowers_the_score(clean):
    t = np.arange(L) / FS
    wander = np.sin(2 * np.pi * 0.25 * t + 0.3) + 0.5 * np.sin(2 * np.pi * 0.11 * t)
    scores = sqi(np.stack([clean + a * wander for a in (0.0, 0.1, 0.4, 1.5)]), FS)
    assert np.all(np.diff(scores) < 0), scores
    assert scores[-1] < THRESHOLD


def test_muscle_like_high_frequency_noise_lowers_the_score(clean):
    rng = np.random.default_rng(3)
    spectrum = np.fft.rfft(rng.standard_normal(L))
    f = np.fft.rfftfreq(L, 1 / FS)
    emg = np.fft.irfft(spectrum * ((f > 20) & (f < 120)), n=L)
    emg *= 0.25 / emg.std()
    assert sqi(clean + emg, FS) < THRESHOLD < sqi(clean, FS)


def test_flatline_and_clipping_lower_the_score(clean):
    dropout = clean.copy()
    dropout[3 * FS : 6 * FS] = dropout[3 * FS]  # 3 s lead-off: held value
    t = np.arange(L) / FS
    clipped = np.clip(clean + 3.0 * np.sin(2 * np.pi * 0.3 * t), -1.5, 1.5)  # ADC limits
    scores = sqi(np.stack([dropout, clipped]), FS)
    assert (scores < THRESHOLD).all(), scores
    assert sqi_components(dropout, FS)["flat"] > 0.25


def test_degenerate_windows_score_zero(clean):
    nan = clean.copy()
    nan[100] = np.nan
    inf = clean.copy()
    inf[5] = np.inf
    windows = np.stack([np.zeros(L), np.full(L, 2.5), nan, inf, clean])
    assert sqi(windows, FS).tolist()[:4] == [0.0, 0.0, 0.0, 0.0]
    assert sqi(windows, FS)[4] > 0.95  # a bad window does not spoil its neighbours


@pytest.mark.parametrize("gain", [1e-3, 0.5, 7.0, 1e3])
def test_scale_invariant(clean, gain):
    rng = np.random.default_rng(4)
    t = np.arange(L) / FS
    windows = np.stack(
        [clean, clean + 0.1 * rng.standard_normal(L), clean + 0.8 * np.sin(2 * np.pi * 0.2 * t)]
    )
    base = sqi(windows, FS)
    assert np.allclose(sqi(gain * windows, FS), base, atol=1e-4)
    assert np.allclose(sqi(windows + 3.0, FS), base, atol=1e-3)  # an offset in mV


def test_output_shape_range_and_dtype(clean):
    rng = np.random.default_rng(5)
    batch = clean + rng.standard_normal((7, L)) * rng.uniform(0, 1, (7, 1))
    out = sqi(batch, FS)
    assert out.shape == (7,) and out.dtype == np.float32
    assert ((out >= 0) & (out <= 1)).all()
    assert sqi(clean, FS).shape == ()
    assert sqi(batch.reshape(7, 1, L), FS).shape == (7, 1)
    assert sqi(np.zeros((0, L)), FS).shape == (0,)
    assert np.allclose(sqi(batch.astype(np.float32), FS), out, atol=1e-5)
    # Each window is scored on its own: order and batch size do not matter.
    assert np.array_equal(sqi(batch[::-1], FS), out[::-1])
    assert sqi(batch[3], FS) == pytest.approx(out[3], abs=1e-6)


def test_other_sampling_rates(clean):
    x360 = resample(clean, FS, 360)
    assert sqi(x360, 360) == pytest.approx(sqi(clean, FS), abs=0.02)


def test_rejects_windows_it_cannot_score(clean):
    with pytest.raises(ValueError, match="shorter"):
        sqi(clean[: 3 * FS], FS)
    with pytest.raises(ValueError, match="too low"):
        sqi(np.zeros(1000), 80)


def test_components_report_the_failing_band(clean):
    t = np.arange(L) / FS
    comps = sqi_components(np.stack([clean, clean + 1.5 * np.sin(2 * np.pi * 0.2 * t)]), FS)
    assert set(comps) == {"lf", "hf", "ib", "flat", "vt_vf"}
    assert not comps["vt_vf"].any()
    assert comps["lf"][1] < comps["lf"][0] - 20
    assert abs(comps["hf"][1] - comps["hf"][0]) < 1 and abs(comps["ib"][1] - comps["ib"][0]) < 1


# --- the noise helpers ------------------------------------------------------------------------


def test_add_noise_follows_the_nstdb_snr_definition():
    rng = np.random.default_rng(6)
    signal = rng.standard_normal(5000)
    noise = 3.0 + 2.0 * rng.standard_normal(6000)  # an offset that must not count
    for snr in (24, 6, 0, -6):
        added = add_noise(signal, noise, snr_db=snr, qrs_pp=1.6) - signal
        assert added.mean() == pytest.approx(0.0, abs=1e-12)
        assert 10 * np.log10((1.6**2 / 8) / np.mean(added**2)) == pytest.approx(snr)
    with pytest.raises(ValueError):
        add_noise(signal, noise[:100], snr_db=6, qrs_pp=1.0)
    with pytest.raises(ValueError):
        add_noise(signal, noise, snr_db=6, qrs_pp=0.0)


def test_qrs_peak_to_peak_reads_the_beats(clean):
    r = np.round(np.arange(0.3, 10.0, 60 / 72) * FS).astype(int)
    template = beat(np.arange(-12, 13) / FS)  # +-50 ms around the R peak
    assert qrs_peak_to_peak(clean, r, FS) == pytest.approx(np.ptp(template), abs=0.03)


# --- the real database (MITDB_DIR; NSTDB from NSTDB_DIR or beside it) -----------------------

PACED = {"102", "104", "107", "217"}
BEATS = list("NLRBAaJSVrFejnE/fQ")


def _windows(x: np.ndarray, fs: float) -> np.ndarray:
    y = resample(x, fs, FS)
    return y[segment_windows(len(y), L, L)[:, None] + np.arange(L)]


@pytest.fixture(scope="module")
def mitdb_scores(mitdb_dir) -> dict[str, np.ndarray]:
    import wfdb

    ids = [r for r in (mitdb_dir / "RECORDS").read_text().split() if r not in PACED]
    out = {}
    for rid in ids:
        rec = wfdb.rdrecord(str(mitdb_dir / rid), channel_names=["MLII"])
        out[rid] = sqi(_windows(rec.p_signal[:, 0], rec.fs), FS)
    return out


@pytest.mark.realdata
def test_mitdb_pass_rate_and_no_record_lost(mitdb_scores):
    assert len(mitdb_scores) == 44
    scores = np.concatenate(list(mitdb_scores.values()))
    assert (scores >= THRESHOLD).mean() >= 0.85
    lost = [rid for rid, s in mitdb_scores.items() if not (s >= THRESHOLD).any()]
    assert lost == []


@pytest.mark.realdata
def test_real_noise_lowers_the_score_monotonically(mitdb_dir, nstdb_dir):
    """NSTDB's bw/em/ma at 24..0 dB SNR on 3 min of 118, 119 (NSTDB's records) and 201 (AF)."""
    import wfdb

    start, stop = 300 * 360, 480 * 360  # NSTDB adds its noise from minute 5
    noises = {name: load_nstdb_noise(nstdb_dir, name)[0] for name in ("bw", "em", "ma")}
    snrs = (24, 18, 12, 6, 0)
    scores: dict[str, list[list[np.ndarray]]] = {name: [[] for _ in snrs] for name in noises}
    clean = []
    for i, rid in enumerate(("118", "119", "201")):
        base = str(mitdb_dir / rid)
        x = wfdb.rdrecord(base, channel_names=["MLII"], sampfrom=start, sampto=stop).p_signal[:, 0]
        ann = wfdb.rdann(base, "atr", sampfrom=start, sampto=stop, shift_samps=True)
        qrs_pp = qrs_peak_to_peak(x, ann.sample[np.isin(ann.symbol, BEATS)], 360)
        clean.append(sqi(_windows(x, 360), FS))
        offset = (60 + 97 * i) * 360
        for name, noise in noises.items():
            for j, snr in enumerate(snrs):
                noisy = add_noise(x, noise[offset : offset + len(x)], snr_db=snr, qrs_pp=qrs_pp)
                scores[name][j].append(sqi(_windows(noisy, 360), FS))
    clean_mean = np.concatenate(clean).mean()
    for name, per_snr in scores.items():
        means = [clean_mean] + [np.concatenate(s).mean() for s in per_snr]
        assert np.all(np.diff(means) < 0), (name, means)
        assert means[-1] < THRESHOLD, (name, means)
