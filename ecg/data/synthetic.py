"""Vectorised synthetic ECG for pretraining: sinus rhythm vs. real arrhythmia mechanisms.

Each beat is a sum of Gaussian waves (P, Q, R, S, T; ECGSYN-style, drawn by
`ecg.data.synthetic_waveforms`) placed at beat times built here in the RR-interval domain,
so ectopy keeps its physiology: a PVC is early, wide, has no P and is followed by a
compensatory pause; a PAC is early with an abnormal P and resets the sinus node; AF has
irregularly irregular RR, no P and 4-9 Hz f-waves.

The label must mean "rhythm", never "rate" or "noise": both classes draw heart rate, noise
(baseline wander, EMG, 60 Hz, motion artifacts) and morphology from the same ranges.
Everything is array arithmetic over chunks of windows (no per-window Python loop).
"""

from __future__ import annotations

import numpy as np

from ecg.data.synthetic_waveforms import (
    BEAT_AF,
    BEAT_PAC,
    BEAT_PVC,
    beat_templates,
    fibrillatory_waves,
    recording_noise,
    render_beats,
)
from ecg.signal.conditioning import bandpass_notch, normalise_window

TYPES = ("normal", "pvc", "pac", "af", "vt", "bigeminy", "trigeminy")
# Share of each arrhythmia type (codes 1..6) among arrhythmic windows.
TYPE_SHARES = np.array([0.2, 0.2, 0.2, 0.14, 0.13, 0.13])
_MIN_MEAN_RR = 0.25  # s; sizes the beat slots (AF RR is clipped at 0.27 s, VT <= 200 bpm)
_CHUNK = 256  # windows per chunk: bounds memory to tens of MB


def generate(
    n: int,
    *,
    seed: int,
    arrhythmia_fraction: float = 0.5,
    fs: int = 250,
    window: int = 2500,
    band: tuple[float, float] = (0.5, 40.0),
    notch: float = 60.0,
    return_meta: bool = False,
) -> tuple[np.ndarray, np.ndarray] | tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """`n` filtered, z-scored windows (float32 [n, window]) and labels (int64, 1=arrhythmia).

    Exactly round(n * arrhythmia_fraction) windows are arrhythmic. With `return_meta`, also
    a dict of per-window arrays: type_code/type_name, mean_hr (bpm), base_hr (sinus bpm),
    snr_db (after filtering), noise_power (noise share of the z-scored window's variance),
    and r_times/beat_types [n, M]: seconds from window start / beat code (0 sinus, 1 PAC,
    2 ventricular, 3 AF), left-packed, NaN / -1 padded.
    """
    if n < 0 or not 0.0 <= arrhythmia_fraction <= 1.0:
        raise ValueError("need n >= 0 and 0 <= arrhythmia_fraction <= 1")
    rng = np.random.default_rng(seed)
    n_arr = int(round(n * arrhythmia_fraction))
    labels = rng.permutation(np.r_[np.zeros(n - n_arr), np.ones(n_arr)]).astype(np.int64)
    codes = np.zeros(n, dtype=np.int64)
    codes[labels == 1] = 1 + rng.choice(6, size=n_arr, p=TYPE_SHARES / TYPE_SHARES.sum())

    signals = np.empty((n, window), dtype=np.float32)
    meta: dict[str, list[np.ndarray]] = {}
    for lo in range(0, n, _CHUNK):
        sig, m = _chunk(codes[lo : lo + _CHUNK], rng, fs, window, band, notch)
        signals[lo : lo + len(sig)] = sig
        for key, value in m.items():
            meta.setdefault(key, []).append(value)
    if not return_meta:
        return signals, labels
    out = {k: np.concatenate(v) if v else np.zeros(0) for k, v in meta.items()}
    out["type_code"] = codes
    out["type_name"] = np.array(TYPES)[codes]
    return signals, labels, out


def _chunk(
    codes: np.ndarray, rng: np.random.Generator, fs: int, window: int, band, notch: float
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    # Render 1 s beyond each edge and crop after filtering: the real records are filtered
    # whole, so their windows carry no filter edge transients and neither may these.
    c, dur, pad = len(codes), window / fs, fs
    r_times, beat_types, rr_prev, base_hr, resp = _beats(codes, rng, dur, pad / fs)
    width = window + 2 * pad
    clean = render_beats(r_times, beat_types, rr_prev, beat_templates(c, rng), resp, rng, fs, width)
    t = np.arange(width) / fs
    is_af = codes == TYPES.index("af")
    clean[is_af] += fibrillatory_waves(int(is_af.sum()), rng, t)
    noise = recording_noise(c, rng, t)
    # Filter signal and noise apart (filtering is linear) to set the SNR in the model's band.
    clean_f = bandpass_notch(clean, fs, band=band, notch=notch)[:, pad:-pad]
    noise_f = bandpass_notch(noise, fs, band=band, notch=notch)[:, pad:-pad]
    r_times = r_times - pad / fs
    # Rescale the noise mix to an SNR drawn independently of the label: ectopic beats add
    # signal energy, and "cleaner-looking" must not be a cue once windows are z-scored.
    snr_db = rng.uniform(6.0, 36.0, c)
    power_clean, power_noise = (clean_f**2).mean(axis=1), (noise_f**2).mean(axis=1)
    noise_f *= np.sqrt(power_clean / np.maximum(power_noise, 1e-12) / 10 ** (snr_db / 10))[:, None]
    signals = normalise_window(clean_f + noise_f)
    noise_power = 1 / (1 + 10 ** (snr_db / 10))  # share of the z-scored window's variance

    visible = (r_times >= 0) & (r_times < dur)
    r_vis = np.where(visible, r_times, np.nan)
    count = visible.sum(axis=1)
    span = np.nanmax(r_vis, axis=1) - np.nanmin(r_vis, axis=1)
    mean_hr = 60.0 * (count - 1) / np.maximum(span, 1e-6)
    meta = {
        "mean_hr": mean_hr,
        "base_hr": base_hr,
        "noise_power": noise_power,
        "snr_db": snr_db,
        "r_times": _left_pack(r_vis, visible, np.nan),
        "beat_types": _left_pack(beat_types, visible, -1).astype(np.int8),
    }
    return signals, meta


def _left_pack(values: np.ndarray, keep: np.ndarray, fill: float) -> np.ndarray:
    """Move the kept entries of each row to the front (order preserved), pad with `fill`."""
    order = np.argsort(~keep, axis=1, kind="stable")
    packed = np.take_along_axis(np.where(keep, values, fill), order, axis=1)
    return packed.astype(np.float64)


def _beats(codes: np.ndarray, rng: np.random.Generator, dur: float, pad: float):
    """Beat times [c, M] (s from the padded start), beat codes, preceding RR, base HR, resp.

    The window proper spans [pad, pad + dur); ectopy is placed inside it.
    """
    c, m = len(codes), int(np.ceil((dur + 2 * pad + 2.0) / _MIN_MEAN_RR))
    u = lambda lo, hi, size=(c, 1): rng.uniform(lo, hi, size)  # noqa: E731
    hr = u(40.0, 150.0)  # same sinus range for both classes: rate must not give the label
    rr0 = 60.0 / hr
    start = -u(1.0, 2.0)  # first beat before the window so its T wave enters cleanly
    k = np.arange(m)[None, :]
    t_approx = start + k * rr0
    # Respiratory sinus arrhythmia (0.15-0.4 Hz) and Mayer waves (~0.1 Hz): smooth HRV.
    f_resp, ph_resp = u(0.15, 0.4), u(0, 2 * np.pi)
    resp = (f_resp, ph_resp)
    rr = rr0 * (
        1
        + u(0.0, 0.1) * np.sin(2 * np.pi * f_resp * t_approx + ph_resp)
        + u(0.0, 0.03) * np.sin(2 * np.pi * u(0.07, 0.13) * t_approx + u(0, 2 * np.pi))
        + rng.normal(0.0, 1.0, (c, m)) * u(0.002, 0.012)
    )
    types = np.zeros((c, m), dtype=np.int64)
    t_sinus = start + np.cumsum(rr, axis=1)
    visible = (t_sinus > pad + 1.0) & (t_sinus < pad + dur - 0.7)
    name = np.array(TYPES)[codes][:, None]

    def pick(allowed: np.ndarray) -> np.ndarray:
        """One random allowed slot per window (argmax of noise over allowed slots)."""
        return np.argmax(np.where(allowed, rng.random((c, m)), -1.0), axis=1)[:, None]

    # Isolated ectopy: Bernoulli per visible beat, one forced, never two in a row.
    p = rng.integers(1, 5, (c, 1)) / np.maximum(visible.sum(1, keepdims=True), 1)
    isolated = visible & ((rng.random((c, m)) < p) | (k == pick(visible)))
    isolated &= ~np.roll(isolated, 1, axis=1)
    phase = rng.integers(0, 3, (c, 1))
    pvc = (name == "pvc") & isolated
    pvc |= (name == "bigeminy") & ((k + phase) % 2 == 1)
    pvc |= (name == "trigeminy") & ((k + phase) % 3 == 2)
    pac = (name == "pac") & isolated

    # Early beat at coupling fraction `cpl` of the sinus RR.
    cpl = rng.uniform(0.45, 0.75, (c, m))
    # PVC: sinus node undisturbed -> full compensatory pause (next RR absorbs the deficit).
    deficit = np.where(pvc, (1 - cpl) * rr, 0.0)
    rr = rr - deficit + np.roll(deficit * (k < m - 1), 1, axis=1)
    # PAC: resets the sinus node -> the next RR is about one sinus cycle (non-compensatory).
    pac_cpl = rng.uniform(0.55, 0.8, (c, m))
    pause = np.roll(np.where(pac, rr * rng.uniform(1.0, 1.15, (c, m)), 0.0), 1, axis=1)
    rr = np.where(pac, rr * pac_cpl, np.where(pause > 0, pause, rr))
    types[pvc] = BEAT_PVC
    types[pac] = BEAT_PAC

    # Ventricular run: 3-10 wide beats at 120-200 bpm, then a pause before sinus resumes.
    is_vt = name == "vt"
    s = pick(visible & (t_sinus < pad + dur - 2.5))
    length = rng.integers(3, 11, (c, 1))
    in_run = is_vt & (k >= s) & (k < s + length)
    rr_vt = 60.0 / u(120.0, 200.0) * (1 + rng.normal(0, 0.03, (c, m)))
    rr = np.where(in_run & (k > s), rr_vt, rr)
    rr = np.where(is_vt & (k == s), rr * cpl, rr)
    rr = np.where(is_vt & (k == s + length), rr * rng.uniform(1.0, 1.5, (c, m)), rr)
    types[in_run] = BEAT_PVC

    # AF: irregularly irregular ventricular response (log-normal RR, CV ~12-35%).
    is_af = name == "af"
    af_mean = 60.0 / u(45.0, 160.0)
    rr_af = af_mean * np.exp(rng.normal(0, 1, (c, m)) * u(0.12, 0.35))
    rr = np.where(is_af, np.maximum(rr_af, 0.27), rr)
    types = np.where(is_af, BEAT_AF, types)

    times = start + np.cumsum(rr, axis=1)
    rr_prev = np.concatenate([rr0 + 0 * rr[:, :1], rr[:, 1:]], axis=1)
    if np.any(times[:, -1] < dur + 2 * pad + 0.5):
        raise RuntimeError("beat slots do not cover the window; lower _MIN_MEAN_RR")
    return times, types, rr_prev, hr[:, 0], resp
