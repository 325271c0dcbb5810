"""Scoring anyone's recordings: readers at other rates and lead names, the one preparation
shared with training, lone windows, rate checks, and record 100 against the pipeline path."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyedflib
import pytest

from ecg.core.errors import ECGError
from ecg.data.config import PreprocessConfig
from ecg.data.mitdb import MITDB
from ecg.data.windows import windows_from_record
from ecg.inference import load_model, score_record, score_window
from ecg.inference.recording import read_recording
from ecg.signal.conditioning import resample
from ecg.signal.qrs import detect_qrs
from tests.deployable import INPUT, write_deployable
from tests.wfdb_records import ecg_signal, regular_beats, write_record


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return load_model(write_deployable(tmp_path_factory.mktemp("model") / "model.pt"))


def ecg_at(fs: int, seconds: float = 35.0, rr: float = 0.8) -> np.ndarray:
    return ecg_signal(int(seconds * fs), regular_beats(seconds, fs=fs, rr=rr), fs=fs)


def write_edf(path: Path, signals: dict[str, np.ndarray], fs: int) -> Path:
    writer = pyedflib.EdfWriter(str(path), len(signals), file_type=pyedflib.FILETYPE_EDFPLUS)
    headers = []
    for label, x in signals.items():
        headers.append(
            {
                "label": label,
                "dimension": "mV",
                "sample_frequency": fs,
                "physical_min": round(float(x.min()) - 1, 2),
                "physical_max": round(float(x.max()) + 1, 2),
                "digital_min": -32768,
                "digital_max": 32767,
            }
        )
    writer.setSignalHeaders(headers)
    writer.writeSamples(list(signals.values()))
    writer.close()
    return path


def test_wfdb_at_128_hz_with_another_lead_name_and_no_annotations(tmp_path):
    x = ecg_at(128)
    base = write_record(tmp_path, "r128", seconds=35, fs=128, sig_names=("ECG1", "ECG2"),
                        p_signal=np.stack([x, -x], 1))  # fmt: skip
    base.with_suffix(".atr").unlink()
    rec = read_recording(base, lead="ECG1", default_lead="MLII")
    assert (rec.fs, rec.lead, rec.channels) == (128.0, "ECG1", ["ECG1", "ECG2"])
    np.testing.assert_allclose(rec.signal, x, atol=0.01)  # 200 adu/mV quantisation
    by_index = read_recording(base, lead="1", default_lead="MLII")
    assert by_index.lead == "ECG2"


def test_lead_errors_list_the_channels(tmp_path):
    base = write_record(tmp_path, "r", seconds=12, fs=250, sig_names=("II", "V1"))
    with pytest.raises(ECGError, match=r"no lead 'V9' \(channels: II, V1\)"):
        read_recording(base, lead="V9", default_lead="MLII")
    with pytest.raises(ECGError, match=r"no MLII lead .* --lead NAME\|INDEX \(channels: II, V1\)"):
        read_recording(base, default_lead="MLII")
    single = write_record(tmp_path, "one", seconds=12, fs=250, sig_names=("II",))
    assert read_recording(single, default_lead="MLII").lead == "II"


def test_edf_and_csv_readers(tmp_path):
    x = ecg_at(256, 22)
    edf = write_edf(tmp_path / "rec.edf", {"ECG I": -x, "ECG II": x}, 256)
    rec = read_recording(edf, lead="ECG II", default_lead="MLII")
    assert (rec.fs, rec.lead, rec.name) == (256.0, "ECG II", "rec")
    np.testing.assert_allclose(rec.signal, x, atol=1e-3)
    csv = tmp_path / "rec.csv"
    csv.write_text(
        "time,ECG\n" + "".join(f"{i / 500},{v}\n" for i, v in enumerate(ecg_at(500, 12)))
    )
    rec = read_recording(csv, lead="ECG", fs=500, default_lead="MLII")
    assert rec.fs == 500 and len(rec.signal) == 6000
    bare = tmp_path / "bare.csv"
    bare.write_text("".join(f"{v}\n" for v in x))
    assert len(read_recording(bare, fs=256, default_lead="MLII").signal) == len(x)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty CSV"),
        ("ECG\n", "no data rows"),
        ("ECG\n0.1\nabc\n", r"line 3, column 'ECG': not a number \('abc'\)"),
    ],
)
def test_bad_csv_is_one_clear_error(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ECGError, match=message):
        read_recording(path, fs=250, default_lead="MLII")


def test_csv_needs_its_rate(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("1\n2\n")
    with pytest.raises(ECGError, match="--fs HZ"):
        read_recording(path, default_lead="MLII")


def test_score_record_windows_beats_and_heart_rate(model):
    scores = score_record(ecg_at(500, 35, rr=0.8), 500, model)
    np.testing.assert_allclose(scores.start_s, [0, 10, 20])
    np.testing.assert_allclose(scores.end_s, [10, 20, 30])
    assert np.all((scores.beats >= 12) & (scores.beats <= 13))
    np.testing.assert_allclose(scores.heart_rate, 75.0, atol=1.0)
    assert np.all((scores.probability >= 0) & (scores.probability <= 1))
    np.testing.assert_array_equal(scores.flag, scores.probability >= model.threshold)
    assert scores.summary()["windows"] == 3


def test_rate_and_length_errors(model):
    with pytest.raises(ECGError, match="sampling rate 60 Hz is too low.*more than 80 Hz"):
        score_record(ecg_at(60), 60, model, name="slow")
    with pytest.raises(ECGError, match=r"short: 8\.0 s of signal is shorter than one 10\.0 s"):
        score_record(ecg_at(250, 8), 250, model, name="short")


def test_a_lone_window_is_scored_as_the_first_window_of_a_recording(model):
    x = ecg_at(360, 10.5)
    assert score_window(x, 360, model) == score_record(x, 360, model).probability[0]
    with pytest.raises(ECGError, match="expected one 10 s window"):
        score_window(ecg_at(360, 25), 360, model)


def test_scores_agree_across_sampling_rates(model):
    x360 = ecg_at(360, 60)
    base = score_record(x360, 360, model).probability
    for fs in (250, 500):
        other = score_record(resample(x360, 360, fs), fs, model).probability
        np.testing.assert_allclose(other, base, atol=0.05)


@pytest.mark.realdata
@pytest.mark.skipif(not os.environ.get("MITDB_DIR"), reason="needs MITDB_DIR")
def test_record_100_scores_equal_the_pipeline_path(model):
    """The API and the pipeline (detect stage + preprocess stage's windows) give the same
    model input, hence the same scores, on a real record."""
    cfg = PreprocessConfig(**{**INPUT, "exclude_records": []})
    record = MITDB(os.environ["MITDB_DIR"]).read("100", lead="MLII")
    beats = detect_qrs(resample(record.signal, record.fs, cfg.fs), cfg.fs)
    pipeline = windows_from_record(record, cfg, beats=beats)
    import torch

    expected = model.probabilities(torch.from_numpy(pipeline.beat_input)).double().numpy()
    api = score_record(record.signal, record.fs, model, name="100")
    assert len(api.probability) == len(expected) == 180
    np.testing.assert_allclose(api.probability, expected, atol=1e-6, rtol=0)
    np.testing.assert_allclose(api.sqi, pipeline.sqi, atol=1e-6)
