"""Signal quality index (SQI) of raw ECG windows: noise and artefact only, not rhythm.

`sqi(windows, fs)` scores each window in [0, 1] from the window alone. It is meant for the
resampled but *unfiltered* signal (baseline wander and high-frequency noise still visible);
the pipeline drops windows scoring below 0.7.

Design: estimate, per window, signal-to-noise ratios in the units of the MIT-BIH Noise
Stress Test Database (NSTDB), where the signal power is S = A**2 / 8 for a QRS
peak-to-peak amplitude A, then map them to a score.

* A: from the 5-40 Hz band cut into 100 ms blocks, the 97th percentile of the block
  maxima minus the 3rd percentile of the block minima (in a 10 s window, about the 3rd-4th
  tallest peak and deepest trough: three beats suffice, one or two spikes do not set it).
  The band keeps the QRS and drops P/T waves and slow artefacts (NSTDB's electrode-motion
  noise has under 10% of its power above 5 Hz), so on MIT-BIH A matches the annotated
  QRS peak-to-peak (median ratio 0.99, 10% spread) for narrow and wide (ventricular) beats
  alike, and grows by only ~10% under 0 dB electrode-motion noise.
* Three noise powers, each from the window alone and none needing beat detection:
  - `lf`: power below 0.5 Hz (Hann periodogram): baseline wander, and the bulk of real
    motion artefact (NSTDB's em and ma records have 43% and 74% of their power there).
  - `hf`: power from 40 Hz to Nyquist, less +-2 Hz around the mains frequency (the pipeline
    notches it out): muscle artefact and broadband noise.
  - `ib`: the in-band noise floor: 1-40 Hz band, cut into 80 ms frames, each frame's
    linear trend removed (which discards P/T waves, ST shifts and slow artefacts), and the
    10th percentile of the frames' residual power. Clean ECG has quiet frames between
    beats even at high heart rate; broadband noise raises every frame.
  Each gives SNR_b = 10*log10(S / N_b) in dB.
* Score: the margins SNR_b - SNR50_b are combined as noise powers add,
  M = -10*log10(sum_b 10**(-(SNR_b - SNR50_b) / 10)), and SQI = logistic(M / WIDTH_DB), so a
  window with one component at its SNR50 and the others clean scores 0.5, and 0.7 needs
  M >= 1.7 dB. The score is multiplied by a flatline factor: the fraction of 100 ms blocks
  whose range is <= 0.5% of A (a flat or clipped signal), mapped 1 at <= 5% and 0 at >= 25%.

Calibration (done once, by a small grid on the first 5 min of 10 records with NSTDB noise
added, then checked on all 44 whole records by `benchmarks/bench_sqi_noise.py`): SNR50 is
where a component alone halves the score. Baseline wander is removed by the pipeline's
0.5 Hz high-pass, so it is tolerated down to 5 dB; the 1-40 Hz floor passes the filter
and its 10th-percentile estimate reads low, so it has the strictest SNR50 (17 dB); the
> 40 Hz power is filtered out but stands for muscle noise inside the band (15 dB). With
these values about 95% of MIT-BIH's 10 s windows score >= 0.7, while NSTDB noise at 0 dB
SNR brings the mean score below 0.7 for `bw`, `em` and `ma`.

Nothing here looks at beat timing, RR regularity, heart rate or beat shape, so ectopic
beats, atrial fibrillation and tachycardia are not penalised.

Ventricular rhythms: VT, flutter and VF are a large continuous 2-9 Hz wave with no quiet
baseline and little power above 5 Hz, so A (5-40 Hz) reads low and the in-band floor high,
and the score graded an organised ventricular rhythm as noise (most of MIT-BIH's flutter
windows, record 207, failed). A window that `ecg.signal.ventricular.vt_vf` flags (beat-free
spectral evidence of a rhythm at 120-540 /min holding most of the window's amplitude) is
therefore scored as that rhythm, not as beats: A is read the same way from the 1-40 Hz
band that holds its waves, and the in-band floor is not counted (a continuous oscillation
has no quiet frames by definition). Baseline wander (`lf`), muscle noise (`hf`) and the
flatline factor still count, so a VF window buried in noise can still score low.
"""

from __future__ import annotations

import numpy as np
import scipy.fft as sfft

from ecg.signal.ventricular import vt_vf

# Half-quality SNR (dB, NSTDB units) of each noise component; see the module docstring.
SNR50_DB = {"lf": 5.0, "hf": 15.0, "ib": 17.0}
WIDTH_DB = 2.0  # logistic width of the score in dB of margin
THRESHOLD = 0.7  # the pipeline's cut-off, for callers that want it

QRS_BAND_HZ = (5.0, 40.0)
LF_HZ = 0.5
HF_HZ = 40.0
IB_BAND_HZ = (1.0, 40.0)
MAINS_HALF_WIDTH_HZ = 2.0
IB_FRAME_S = 0.08
IB_PERCENTILE = 10.0
BLOCK_S = 0.1  # blocks for the QRS amplitude and the flatline test
QRS_TAIL_PCT = 3.0
FLAT_REL_RANGE = 0.005  # a block is flat if its range is <= this fraction of A
FLAT_FRACTION = (0.05, 0.25)  # flatline factor: 1 below, 0 above

MIN_DURATION_S = 4.0  # the < 0.5 Hz band needs a few frequency bins
MIN_FS = int(2 * (HF_HZ + MAINS_HALF_WIDTH_HZ)) + 1  # Hz: power above 40 Hz must be visible
CHUNK = 512  # windows per vectorised batch


def _check(n: int, fs: float) -> None:
    if fs < MIN_FS:
        raise ValueError(f"fs={fs} Hz is too low: the SQI needs power above {HF_HZ} Hz")
    if n < MIN_DURATION_S * fs:
        raise ValueError(f"windows of {n} samples are shorter than {MIN_DURATION_S} s")


def _blocks(y: np.ndarray, length: int) -> np.ndarray:
    """[N, L] -> [N, length, L // length]: sample j of every block along axis 1.

    Block-major copy so that reductions over a block run along a long contiguous axis,
    several times faster in NumPy than reducing many short rows.
    """
    n_blocks = y.shape[-1] // length
    b = y[:, : n_blocks * length].reshape(y.shape[0], n_blocks, length)
    return np.ascontiguousarray(b.transpose(0, 2, 1))


def _components(x: np.ndarray, fs: float, mains_hz: float | None) -> dict[str, np.ndarray]:
    """`sqi_components` on one chunk [N, L] of float32 windows."""
    n = x.shape[-1]
    freqs = sfft.rfftfreq(n, 1.0 / fs)
    spec = sfft.rfft(x, axis=-1)
    # A NaN or inf anywhere in a window makes its DC bin non-finite.
    finite = np.isfinite(spec[:, 0])
    spec[~finite] = 0
    spec[:, 0] = 0  # remove the offset

    def band(lo: float, hi: float) -> np.ndarray:
        # Brick-wall band-pass by FFT: cheap and vectorised; its ringing is harmless here.
        # irfft zero-pads the bins above `hi`.
        keep = np.flatnonzero((freqs >= lo) & (freqs < hi))
        sub = spec[:, : keep[-1] + 1].copy()
        sub[:, : keep[0]] = 0
        return sfft.irfft(sub, n=n, axis=-1)

    # QRS amplitude A and NSTDB signal power S = A^2 / 8. A is read from the peaks and
    # troughs of 100 ms blocks of the QRS band: the 97th percentile of the block maxima
    # minus the 3rd of the minima (3rd-4th most extreme of a 10 s window's 100 blocks), so
    # three beats suffice and one or two spikes do not set it.
    block = max(2, round(BLOCK_S * fs))
    ventricular = vt_vf(x, fs)
    ib_band = band(*IB_BAND_HZ)
    # A VT/VF window's waves are 2-9 Hz: its amplitude is read from the 1-40 Hz band.
    waves = _blocks(np.where(ventricular[:, None], ib_band, band(*QRS_BAND_HZ)), block)
    top = np.percentile(waves.max(axis=1), 100.0 - QRS_TAIL_PCT, axis=-1)
    bottom = np.percentile(waves.min(axis=1), QRS_TAIL_PCT, axis=-1)
    amp = (top - bottom).astype(np.float64)
    signal_power = amp**2 / 8.0

    def hann_power(f_lo: float, f_hi: float) -> np.ndarray:
        # Mean power in [f_lo, f_hi) of the window tapered by a periodic Hann window
        # (against leakage from the strong ECG band), applied in the frequency domain as
        # the 3-tap kernel (-1/4, 1/2, -1/4) on the one-sided bins 1 <= k < n/2; scaled so
        # that all bins together sum to the window's mean power.
        k = np.flatnonzero((freqs >= f_lo) & (freqs < f_hi))
        k0, k1 = max(int(k[0]), 1), min(int(k[-1]) + 1, (n - 1) // 2)
        if k1 <= k0:
            return np.zeros(len(spec))
        z = 0.5 * spec[:, k0:k1] - 0.25 * (spec[:, k0 - 1 : k1 - 1] + spec[:, k0 + 1 : k1 + 1])
        power = z.real**2 + z.imag**2
        return power.sum(axis=-1, dtype=np.float64) * 16.0 / (3.0 * n * n)

    lf_power = hann_power(0.0, LF_HZ)
    hf_power = hann_power(HF_HZ, fs / 2.0)
    if mains_hz is not None and HF_HZ < mains_hz < fs / 2.0:
        # The pipeline notches the mains, so its interference is not counted as noise.
        half = MAINS_HALF_WIDTH_HZ
        hf_power = hf_power - hann_power(mains_hz - half, mains_hz + half)

    # In-band floor: residual power of 80 ms frames after a least-squares line, from the
    # sums of y, t*y and y^2 over each frame.
    length = max(4, round(IB_FRAME_S * fs))
    frames = ib_band[:, : n // length * length].reshape(len(x), -1, length)
    t = np.arange(length) - (length - 1) / 2.0
    sums = frames @ np.stack([np.ones(length), t], axis=1).astype(np.float32)
    s0, s1 = sums[..., 0].astype(np.float64), sums[..., 1].astype(np.float64)
    s2 = np.einsum("nbj,nbj->nb", frames, frames).astype(np.float64)
    resid = np.maximum(s2 - s0**2 / length - s1**2 / (t @ t), 0.0) / length
    ib_power = np.percentile(resid, IB_PERCENTILE, axis=-1)
    ib_power[ventricular] = 0.0  # no quiet frames between a VT/VF's waves: not noise

    # Flat or clipped: 100 ms blocks whose range is negligible against the QRS amplitude.
    blocks = _blocks(x, block)
    block_range = blocks.max(axis=1) - blocks.min(axis=1)
    flat = (block_range <= FLAT_REL_RANGE * amp[:, None]).mean(axis=-1)

    def snr_db(noise: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            out = 10.0 * np.log10(signal_power / noise)
        # No QRS-band content (S = 0) is the worst case; no noise at all (N = 0) the best.
        out = np.where(signal_power > 0, out, -np.inf)
        return np.where(finite, np.nan_to_num(out, nan=-np.inf, posinf=np.inf), -np.inf)

    return {
        "lf": snr_db(lf_power),
        "hf": snr_db(hf_power),
        "ib": snr_db(ib_power),
        "flat": np.where(finite, flat, 1.0),
        "vt_vf": ventricular & finite,
    }


def sqi_components(
    windows: np.ndarray, fs: float, *, mains_hz: float | None = 60.0
) -> dict[str, np.ndarray]:
    """Per-window SNRs in dB (`lf`, `hf`, `ib`), the flat-block fraction `flat` and whether
    the window was scored as a VT/VF rhythm (`vt_vf`, bool).

    Shapes follow `windows` without its last axis. Computed in float32, in chunks of
    `CHUNK` windows to bound memory. See the module docstring.
    """
    x = np.asarray(windows)
    fs = float(fs)
    _check(x.shape[-1], fs)
    lead_shape = x.shape[:-1]
    x = x.reshape(-1, x.shape[-1])
    parts = [
        _components(np.asarray(x[i : i + CHUNK], dtype=np.float32), fs, mains_hz)
        for i in range(0, len(x), CHUNK)
    ]
    keys = ("lf", "hf", "ib", "flat", "vt_vf")
    if not parts:  # no windows at all
        return {k: np.zeros(lead_shape, dtype=bool if k == "vt_vf" else float) for k in keys}
    return {k: np.concatenate([p[k] for p in parts]).reshape(lead_shape) for k in keys}


def sqi(windows: np.ndarray, fs: float, *, mains_hz: float | None = 60.0) -> np.ndarray:
    """Signal quality in [0, 1] (float32) of each window along the last axis.

    `windows` is [N, L] (or [L], or any [..., L]) of the raw, unfiltered ECG in any unit;
    the result has shape `windows.shape[:-1]`. At least 4 s per window and fs > 84 Hz.
    A window with non-finite samples scores 0. `mains_hz` (None to disable) is left out of
    the high-frequency noise because the pipeline notches it.
    """
    comps = sqi_components(windows, fs, mains_hz=mains_hz)
    # Margin over each component's half-quality SNR, combined as noise powers add.
    with np.errstate(divide="ignore", over="ignore"):
        rel_noise = sum(10.0 ** (-(comps[k] - snr50) / 10.0) for k, snr50 in SNR50_DB.items())
        margin_db = -10.0 * np.log10(rel_noise)
        score = 1.0 / (1.0 + np.exp(-margin_db / WIDTH_DB))
    lo, hi = FLAT_FRACTION
    u = np.clip((hi - comps["flat"]) / (hi - lo), 0.0, 1.0)
    score = score * u * u * (3.0 - 2.0 * u)  # smoothstep: 1 if <= 5% flat, 0 if >= 25%
    return np.clip(np.nan_to_num(score, nan=0.0), 0.0, 1.0).astype(np.float32)
