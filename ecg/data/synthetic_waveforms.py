"""Waveforms of the synthetic ECG: what the rhythm generator's beat times are drawn with.

Per-window beat templates (each beat code a sum of Gaussian P, Q, R, S, T waves, ECGSYN-style),
their rendering at given beat times, AF fibrillatory waves, and label-independent recording
noise (baseline wander, EMG, 60 Hz hum, motion artifacts). Sustained ventricular rhythms
(`ventricular_fibrillation`, `ventricular_tachycardia`) are for tests and benchmarks of the
VT/VF detector (`ecg.signal.ventricular`); the pretraining set does not draw them.
"""

from __future__ import annotations

import numpy as np

# Beat codes: the second axis of the templates, and the meta's `beat_types`.
BEAT_SINUS, BEAT_PAC, BEAT_PVC, BEAT_AF = 0, 1, 2, 3
_SLOTS = 8  # Gaussians per beat: P1, P2, Q, R, S, X (extra QRS lobe), T1, T2
_P_SLOTS, _T_SLOTS = [0, 1], [6, 7]


def beat_templates(c: int, rng: np.random.Generator) -> np.ndarray:
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


def render_beats(times, types, rr_prev, tpl, resp, rng, fs: int, window: int) -> np.ndarray:
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


def fibrillatory_waves(c: int, rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    """AF fibrillatory waves: 4-9 Hz, drifting frequency, varying fine-to-coarse amplitude."""
    if c == 0:
        return np.zeros((0, len(t)))
    u = lambda lo, hi: rng.uniform(lo, hi, (c, 1))  # noqa: E731
    freq = u(4.0, 9.0) + u(0.2, 0.8) * np.sin(2 * np.pi * u(0.05, 0.3) * t + u(0, 6.3))
    phase = 2 * np.pi * np.cumsum(freq, axis=1) * (t[1] - t[0]) + u(0, 6.3)
    shape = np.sin(phase) + u(0.0, 0.4) * np.sin(2 * phase + u(0, 6.3))
    envelope = 1 + u(0.0, 0.4) * np.sin(2 * np.pi * u(0.1, 0.5) * t + u(0, 6.3))
    return u(0.02, 0.18) * shape * envelope


def recording_noise(c: int, rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
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


def ventricular_fibrillation(
    c: int, rng: np.random.Generator, fs: float, seconds: float
) -> np.ndarray:
    """[c, n] mV of VF (and flutter): a continuous, irregular 3-8 Hz oscillation with no
    baseline between waves, whose rate and amplitude drift.

    Each window draws a mean rate of 3-8 Hz (180-480 /min), a rate that wanders by up to
    +-25% through two slow random sinusoids (0.05-0.5 Hz), per-cycle phase jitter, a waveform
    with up to 40% second harmonic (asymmetric waves), and an amplitude of 0.1-1.5 mV (fine
    to coarse VF) modulated by up to +-60% at 0.1-0.8 Hz (the waxing and waning of VF).
    """
    t = np.arange(int(round(seconds * fs))) / fs
    u = lambda lo, hi: rng.uniform(lo, hi, (c, 1))  # noqa: E731
    rate = u(3.0, 8.0)
    slow = lambda depth: depth * np.sin(2 * np.pi * u(0.05, 0.5) * t + u(0, 6.3))  # noqa: E731
    wander = slow(u(0.0, 0.15)) + slow(u(0.0, 0.1))
    # Random-walk phase jitter, smoothed over ~0.2 s, so cycles are not exactly periodic.
    kick = np.cumsum(rng.normal(0.0, 1.0, (c, len(t))), axis=1) * u(0.0, 0.05) / np.sqrt(fs)
    phase = 2 * np.pi * np.cumsum(rate * (1 + wander), axis=1) / fs + u(0, 6.3) + kick
    wave = np.sin(phase) + u(0.0, 0.4) * np.sin(2 * phase + u(0, 6.3))
    envelope = 1 + u(0.0, 0.6) * np.sin(2 * np.pi * u(0.1, 0.8) * t + u(0, 6.3))
    return u(0.1, 1.5) * envelope * wave


def ventricular_tachycardia(
    c: int, rng: np.random.Generator, fs: float, seconds: float
) -> np.ndarray:
    """[c, n] mV of sustained monomorphic VT: wide ventricular beats (the PVC template: no P,
    wide QRS, discordant T) at a regular 150-250 bpm (+-2% beat-to-beat)."""
    n = int(round(seconds * fs))
    rr = 60.0 / rng.uniform(150.0, 250.0, (c, 1))
    m = int(np.ceil((seconds + 2.0) / 0.24)) + 1
    intervals = rr * (1 + rng.normal(0.0, 0.02, (c, m)))
    times = -rng.uniform(0.3, 1.0, (c, 1)) + np.cumsum(intervals, axis=1)
    types = np.full((c, m), BEAT_PVC)
    resp = (rng.uniform(0.15, 0.4, (c, 1)), rng.uniform(0, 2 * np.pi, (c, 1)))
    return render_beats(times, types, intervals, beat_templates(c, rng), resp, rng, int(fs), n)
