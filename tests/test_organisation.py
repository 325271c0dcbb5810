"""Heart rate only where beats are beats: the VF filter tells a fibrillation-like oscillation
(whose waves the QRS detector counts) from beats over a baseline, at any sampling rate."""

from __future__ import annotations

import numpy as np
import pytest

from ecg.inference import load_model, score_record
from ecg.signal.organisation import FIBRILLATION_LEAKAGE, vf_leakage
from tests.deployable import write_deployable
from tests.test_inference import ecg_at


def fibrillation(fs: float, seconds: float = 40.0, rate_hz: float = 5.0) -> np.ndarray:
    """An irregular 3-8 Hz oscillation with drifting amplitude and rate, no baseline."""
    t = np.arange(0, seconds, 1 / fs)
    freq = rate_hz + 1.5 * np.sin(2 * np.pi * 0.13 * t)
    return (0.6 + 0.3 * np.sin(2 * np.pi * 0.2 * t)) * np.sin(2 * np.pi * np.cumsum(freq) / fs)


@pytest.mark.parametrize("fs", [128.0, 250.0, 500.0])
def test_fibrillation_leaks_little_and_beats_leak_much(fs):
    window = int(10 * fs)
    for rate in (4.5, 5.0, 7.0):  # slower, drifting ones are missed: see the module
        assert vf_leakage(fibrillation(fs, 10, rate)[None, :window], fs)[0] < FIBRILLATION_LEAKAGE
    for rr in (0.5, 0.8, 1.2):  # 120, 75 and 50 bpm
        assert vf_leakage(ecg_at(int(fs), 10, rr=rr)[None, :window], fs)[0] > 0.6


def test_a_flat_window_is_not_called_fibrillation():
    assert vf_leakage(np.zeros((1, 2500)), 250.0)[0] == 1.0


def test_heart_rate_is_left_out_of_fibrillation_and_kept_for_beats(tmp_path):
    model = load_model(write_deployable(tmp_path / "m.pt"))
    vf = score_record(fibrillation(250.0), 250.0, model)
    assert (vf.beats > 0).all(), "the detector does count the waves as beats"
    assert np.isnan(vf.heart_rate).all()
    sinus = score_record(ecg_at(250, 40, rr=0.8), 250.0, model)
    np.testing.assert_allclose(sinus.heart_rate, 75.0, atol=1.0)
