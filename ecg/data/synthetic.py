"""Vectorised synthetic ECG for pretraining: sinus rhythm vs. real arrhythmia mechanisms.

Each beat is a sum of Gaussian waves (P, Q, R, S, T; ECGSYN-style) placed at beat times
built in the RR-interval domain, so ectopy keeps its physiology: a PVC is early, wide, has
no P and is followed by a compensatory pause; a PAC is early with an abnormal P and resets
the sinus node; AF has irregularly irregular RR, no P and 4-9 Hz f-waves.

The label must mean "rhythm", never "rate" or "noise": both classes draw heart rate, noise
(baseline wander, EMG, 60 Hz, motion artifacts) and morphology from the same ranges.
Everything is array arithmetic over chunks of windows (no per-window Python loop).
"""

from __future__ import annotations

import numpy as np

from ecg.signal.conditioning import bandpass_notch, normalise_window

TYPES = ("normal", "pvc", "pac", "af", "vt", "bigeminy", "trigeminy")
# Share of each arrhythmia type (codes 1..6) among arrhythmic windows.
TYPE_SHARES = np.array([0.2, 0.2, 0.2, 0.14, 0.13, 0.13])
BEAT_SINUS, BEAT_PAC, BEAT_PVC, BEAT_AF = 0, 1, 2, 3
_SLOTS = 8  # Gaussians per beat: P1, P2, Q, R, S, X (extra QRS lobe), T1, T2
_P_SLOTS, _T_SLOTS = [0, 1], [6, 7]
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
    clean = _render_beats(r_times, beat_types, rr_prev, _templates(c, rng), resp, rng, fs, width)
    t = np.arange(width) / fs
    is_af = codes == TYPES.index("af")
    clean[is_af] += _f_waves(int(is_af.sum()), rng, t)
    noise = _noise(c, rng, t)
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


def _templates(c: int, rng: np.random.Generator) -> np.ndarray:
    """Per-window wave parameters [3, c, 4 beat codes, SLOTS]: offset (s), width (s), mV."""
    u = lambda lo, hi: rng.uniform(lo, hi, c)  # noqa: E731
    sign = lambda p_neg: np.where(rng.random(c) < p_neg, -1.0, 1.0)  # noqa: E731
    off, wid, amp = (np.zeros((c, 4, _SLOTS)) for _ in range(3))

    # Sinus beat. `axis` in [0, 1] trades R for S, mimicking different leads/electrical axes.
    r_base, axis = u(0.4, 2.0), 1 - u(0, 1) ** 2
    p_amp = r_base * u(0.05, 0.2) * sign(0.07)  # P, T scale with the lead like QRS does
    p_off, p_wid = -u(0.14, 0.22), u(0.018, 0.03)
    biphasic = rng.random(c) < 0.2
    t_amp, t_off, t_wid = r_base * u(0.08, 0.4) * sign(0.12), u(0.24, 0.32), u(0.04, 0.065)
    sinus = [
        (p_off, p_wid, p_amp),
        (p_off + u(0.03, 0.05), 0.8 * p_wid, np.where(biphasic, -u(0.2, 0.5) * p_amp, 0.0)),
        (-u(0.018, 0.03), u(0.005, 0.01), -r_base * u(0.0, 0.15) * axis),
        (np.zeros(c), u(0.007, 0.013), r_base * (0.15 + 0.85 * axis)),
        (u(0.018, 0.035), u(0.006, 0.012), -r_base * (0.1 + 0.9 * (1 - axis)) * u(0.3, 1.0)),
        (np.zeros(c), np.full(c, 0.01), np.zeros(c)),
        (t_off - 0.02, 1.1 * t_wid, 0.7 * t_amp),  # slow upstroke, faster return: asymmetric T
        (t_off + 0.025, 0.6 * t_wid, 0.4 * t_amp),
    ]
    for j, (o, w, a) in enumerate(sinus):
        off[:, :, j], wid[:, :, j], amp[:, :, j] = o[:, None], w[:, None], a[:, None]
    # Bundle branch block in either class (MIT-BIH counts L/R beats as normal): wide,
    # notched QRS with P waves and a regular rhythm, so "wide" alone never means ectopy.
    bbb = rng.random(c) < 0.12
    off[bbb, :, 5] = u(0.04, 0.08)[bbb, None]
    wid[bbb, :, 5] = u(0.012, 0.025)[bbb, None]
    amp[bbb, :, 5] = (r_base * u(0.3, 0.9))[bbb, None]
    wid[bbb, :, 3:5] *= u(1.6, 2.6)[bbb, None, None]
    amp[bbb, :, 6:8] *= np.where(rng.random(c) < 0.7, -1.0, 1.0)[bbb, None, None]
    amp[:, BEAT_AF, _P_SLOTS] = 0.0  # AF: no organised atrial activity

    # PAC: ectopic atrial focus -> abnormal (flat, inverted or biphasic) P, other PR.
    off[:, BEAT_PAC, 0] = p_off + u(-0.04, 0.03)
    amp[:, BEAT_PAC, 0] = p_amp * u(-1.0, 0.6)
    amp[:, BEAT_PAC, 1] = np.where(rng.random(c) < 0.5, -0.5 * amp[:, BEAT_PAC, 0], 0.0)
    wid[:, BEAT_PAC, 2:5] *= u(1.0, 1.3)[:, None]  # occasional mild aberrancy

    # Ventricular beat: no P, wide notched QRS, large discordant T.
    v_sign, v_amp, v_t = sign(0.5), r_base * u(0.8, 2.0), u(0.3, 0.4)
    pvc = [
        (np.zeros(c), np.full(c, 0.01), np.zeros(c)),
        (np.zeros(c), np.full(c, 0.01), np.zeros(c)),
        (np.zeros(c), np.full(c, 0.01), np.zeros(c)),
        (np.zeros(c), u(0.025, 0.045), v_sign * v_amp),
        (u(0.04, 0.07), u(0.015, 0.035), -v_sign * v_amp * u(0.2, 0.7)),
        (-u(0.03, 0.05), u(0.01, 0.02), v_sign * v_amp * u(0.0, 0.3)),
        (v_t, u(0.06, 0.09), -v_sign * v_amp * u(0.15, 0.4)),
        (v_t + 0.04, u(0.03, 0.05), -v_sign * v_amp * u(0.03, 0.1)),
    ]
    for j, (o, w, a) in enumerate(pvc):
        off[:, BEAT_PVC, j], wid[:, BEAT_PVC, j], amp[:, BEAT_PVC, j] = o, w, a
    return np.stack([off, wid, amp])


def _render_beats(times, types, rr_prev, tpl, resp, rng, fs: int, window: int) -> np.ndarray:
    """Sum every beat's Gaussians into [c, window] by scattering local supports."""
    c, m = types.shape
    rows = np.arange(c)[:, None]
    off, wid, amp = (p[rows, types] for p in tpl)  # [c, M, SLOTS] per beat code
    # QT shortens with rate (Bazett-like sqrt(RR)); P and QRS timing do not.
    qt = np.clip(np.sqrt(rr_prev), 0.6, 1.3)[:, :, None]
    t_slot = np.zeros(_SLOTS, dtype=bool)
    t_slot[_T_SLOTS] = True
    off = np.where(t_slot, off * qt, off)
    wid = np.where(t_slot, wid * np.sqrt(qt), wid)
    # Beat-to-beat variability: per-wave amplitude jitter, respiratory amplitude modulation.
    f_resp, ph_resp = resp
    mod = 1 + rng.uniform(0, 0.15, (c, 1)) * np.sin(2 * np.pi * f_resp * times + ph_resp)
    amp = amp * mod[:, :, None] * (1 + rng.normal(0, 0.05, (c, m, _SLOTS)))
    centre = (times + rng.normal(0, 0.002, (c, m)))[:, :, None] + off

    out = np.zeros(c * window)
    keep = (amp != 0) & (centre > -0.5) & (centre < window / fs + 0.5)
    row = np.broadcast_to(rows[:, :, None], keep.shape)[keep]
    mu, sd, a = centre[keep] * fs, wid[keep] * fs, amp[keep]
    need = np.ceil(4 * sd)
    done = np.zeros(len(mu), dtype=bool)
    # Support bins keep narrow QRS waves cheap while wide T waves get room.
    for half in (12, 24, 48, 72, 128):
        sel = ~done & (need <= half) if half < 128 else ~done
        done |= sel
        if not sel.any():
            continue
        pos = np.floor(mu[sel])[:, None] + np.arange(-half, half + 1)[None, :]
        z = ((pos - mu[sel, None]) / sd[sel, None]).astype(np.float32)
        val = a[sel, None] * np.exp(-0.5 * z * z)
        inside = (pos >= 0) & (pos < window)
        idx = (row[sel, None] * window + pos.astype(np.int64))[inside]
        out += np.bincount(idx, weights=val[inside], minlength=c * window)
    return out.reshape(c, window)


def _f_waves(c: int, rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    """AF fibrillatory waves: 4-9 Hz, drifting frequency, varying fine-to-coarse amplitude."""
    if c == 0:
        return np.zeros((0, len(t)))
    u = lambda lo, hi: rng.uniform(lo, hi, (c, 1))  # noqa: E731
    freq = u(4.0, 9.0) + u(0.2, 0.8) * np.sin(2 * np.pi * u(0.05, 0.3) * t + u(0, 6.3))
    phase = 2 * np.pi * np.cumsum(freq, axis=1) * (t[1] - t[0]) + u(0, 6.3)
    shape = np.sin(phase) + u(0.0, 0.4) * np.sin(2 * phase + u(0, 6.3))
    envelope = 1 + u(0.0, 0.4) * np.sin(2 * np.pi * u(0.1, 0.5) * t + u(0, 6.3))
    return u(0.02, 0.18) * shape * envelope


def _noise(c: int, rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    """Label-independent noise: baseline wander, bursty EMG, 60 Hz hum, motion artifacts."""
    u = lambda lo, hi, size=(c, 1): rng.uniform(lo, hi, size)  # noqa: E731
    wander = 10 ** u(-2, 0) * (
        np.sin(2 * np.pi * u(0.05, 0.6) * t + u(0, 6.3))
        + u(0, 0.7) * np.sin(2 * np.pi * u(0.05, 0.6) * t + u(0, 6.3))
    )
    burst = np.exp(u(0, 1.5) * np.sin(2 * np.pi * u(0.05, 0.5) * t + u(0, 6.3)))
    emg = 10 ** u(-2.5, -0.8) * burst * rng.normal(0, 1, (c, len(t)))
    hum = 10 ** u(-2.5, -0.5) * np.sin(2 * np.pi * (60 + u(-0.3, 0.3)) * t + u(0, 6.3))
    # Motion artifacts (0-2 slow bumps) can look like odd beats in either class.
    n_art = rng.integers(0, 3, (c, 1)) * (rng.random((c, 1)) < 0.25)
    art = np.zeros((c, len(t)))
    for j in range(2):
        centre, width = u(0, t[-1]), u(0.04, 0.25)
        a = np.where(n_art > j, u(0.1, 0.8) * np.where(u(0, 1) < 0.5, -1, 1), 0.0)
        art += a * np.exp(-0.5 * ((t - centre) / width) ** 2)
    return wander + emg + hum + art
