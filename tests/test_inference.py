"""Scoring anyone's recordings: readers at other rates and lead names, the one preparation
shared with training, lone windows, rate checks, and record 100 against the pipeline path."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyedflib
import pytest

from ecg.core.errors import ECGError
from ecg.data.config import PreprocessConfig
from ecg.data.mitdb import MITDB
from ecg.data.record import Record
from ecg.data.windows import windows_from_record
from ecg.inference import load_model, score_record, score_window
from ecg.inference.leads import pick_channel
from ecg.inference.naming import record_stems, with_lead
from ecg.inference.recording import read_recording
from ecg.signal.conditioning import resample
from ecg.signal.gaps import gap_runs, gap_seconds, missing_mask
from ecg.signal.mains import detect_mains
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
    assert read_recording(base, lead_index=1, default_lead="MLII").lead == "ECG2"
    # digits are names, never positions: "2" is ECG2 ('ECG' is dropped when matching)
    assert read_recording(base, lead="2", default_lead="MLII").lead == "ECG2"


def test_lead_errors_list_the_channels(tmp_path):
    base = write_record(tmp_path, "r", seconds=12, fs=250, sig_names=("II", "V1"))
    with pytest.raises(ECGError, match=r"no lead 'V9' \(channels: II, V1\)"):
        read_recording(base, lead="V9", default_lead="MLII")
    with pytest.raises(ECGError, match=r"no channel index 2 \(channels: II, V1\)"):
        read_recording(base, lead_index=2, default_lead="MLII")
    # the model's MLII is lead II: no --lead needed
    assert read_recording(base, default_lead="MLII").lead == "II"
    other = write_record(tmp_path, "v", seconds=12, fs=250, sig_names=("V5", "V2"))
    with pytest.raises(
        ECGError, match=r"no MLII lead .* --lead NAME or --lead-index N \(channels: V5, V2\)"
    ):
        read_recording(other, default_lead="MLII")
    single = write_record(tmp_path, "one", seconds=12, fs=250, sig_names=("V2",))
    assert read_recording(single, default_lead="MLII").lead == "V2"
    twice = write_record(tmp_path, "two", seconds=12, fs=250, sig_names=("MLII", "ECG II"))
    with pytest.raises(ECGError, match=r"several channels are lead 'MLII' \(MLII, ECG II\)"):
        read_recording(twice, default_lead="MLII")


@pytest.mark.parametrize("name", ["ii", "II", "MLII", "ECG II", "lead II", "Lead-II", "ml ii"])
def test_lead_names_match_in_any_case_and_alias(name):
    assert pick_channel(["I", "II", "V1"], lead=name, index=None, default="MLII", where="x") == 1
    assert pick_channel(["ECG I", "MLII"], lead=name, index=None, default="V1", where="x") == 1


def test_lead_index_picks_by_position_and_digits_are_no_aliases():
    channels = ["1", "0"]  # a CSV whose header names its columns by number
    assert pick_channel(channels, lead=None, index=0, default="MLII", where="x") == 0
    assert pick_channel(channels, lead="0", index=None, default="MLII", where="x") == 1
    with pytest.raises(ECGError, match=r"no lead '2' \(channels: 1, 0\)"):
        pick_channel(channels, lead="2", index=None, default="MLII", where="x")


def test_edf_and_csv_readers(tmp_path):
    x = ecg_at(256, 22)
    edf = write_edf(tmp_path / "rec.edf", {"ECG I": -x, "ECG II": x}, 256)
    rec = read_recording(edf, lead="ECG II", default_lead="MLII")
    assert (rec.fs, rec.lead, rec.name, rec.fs_source) == (256.0, "ECG II", "rec", "header")
    np.testing.assert_allclose(rec.signal, x, atol=1e-3)
    # the header's rate wins over --fs; the model's lead is found by alias
    rec = read_recording(edf, fs=100, default_lead="MLII")
    assert (rec.fs, rec.lead) == (256.0, "ECG II")
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


def test_a_stated_rate_wins_over_fs(tmp_path):
    header = tmp_path / "h.csv"
    header.write_text("# exported by X, fs=500 Hz\nECG\n1\n2\n")
    rec = read_recording(header, fs=250, default_lead="MLII")
    assert (rec.fs, rec.fs_source, len(rec.signal)) == (500.0, "header", 2)
    sidecar = tmp_path / "s.csv"
    sidecar.write_text("1\n2\n3\n")
    (tmp_path / "s.csv.json").write_text('{"fs": 360}')
    assert read_recording(sidecar, fs=250, default_lead="MLII").fs_source == "sidecar"
    np.save(tmp_path / "a.npy", np.ones(5))
    (tmp_path / "a.npy.json").write_text('{"fs": 128}')
    assert read_recording(tmp_path / "a.npy", default_lead="MLII").fs == 128.0
    plain = tmp_path / "p.csv"
    plain.write_text("1\n2\n")
    assert read_recording(plain, fs=250, default_lead="MLII").fs_source == "--fs"
    (tmp_path / "bad.csv").write_text("1\n")
    (tmp_path / "bad.csv.json").write_text('{"rate": 1}')
    with pytest.raises(ECGError, match=r'bad\.csv\.json: expected \{"fs": HZ\}'):
        read_recording(tmp_path / "bad.csv", fs=250, default_lead="MLII")


def test_empty_and_nan_csv_cells_are_missing_samples(tmp_path):
    path = tmp_path / "gaps.csv"
    path.write_text("ECG\n0.1\nnan\nNaN\n0.2\n")
    rec = read_recording(path, fs=250, default_lead="MLII")
    np.testing.assert_array_equal(rec.signal, [0.1, np.nan, np.nan, 0.2])
    two = tmp_path / "two.csv"
    two.write_text("I,II\n1,\n2,0.5\n")
    np.testing.assert_array_equal(read_recording(two, fs=250, default_lead="MLII").signal,
                                  [np.nan, 0.5])  # fmt: skip


def test_a_row_of_empty_cells_is_a_missing_sample_not_dropped(tmp_path):
    """As pandas writes NaN: '""' in a one-column CSV, ',' where every channel is missing.
    Dropping such a row would shift every later sample in time."""
    one = tmp_path / "one.csv"
    pd.DataFrame({"ECG": [0.1, np.nan, 0.2]}).to_csv(one, index=False)
    assert one.read_text() == 'ECG\n0.1\n""\n0.2\n'
    np.testing.assert_array_equal(read_recording(one, fs=250, default_lead="MLII").signal,
                                  [0.1, np.nan, 0.2])  # fmt: skip
    two = tmp_path / "two.csv"
    pd.DataFrame({"I": [0.1, np.nan, 0.3], "II": [0.2, np.nan, 0.4]}).to_csv(two, index=False)
    assert two.read_text() == "I,II\n0.1,0.2\n,\n0.3,0.4\n"
    np.testing.assert_array_equal(read_recording(two, fs=250, default_lead="MLII").signal,
                                  [0.2, np.nan, 0.4])  # fmt: skip
    (tmp_path / "none.csv").write_text("ECG\nnan\n\n,\n")
    with pytest.raises(ECGError, match="no valid samples"):
        read_recording(tmp_path / "none.csv", fs=250, default_lead="MLII")


def test_missing_signal_nan_and_flat_lines():
    fs = 100
    x = np.sin(np.arange(1000) / 3.0)
    x[100:102] = np.nan  # 2 samples
    x[300:325] = 0.7  # 0.25 s flat: missing
    x[500:524] = 0.7  # 0.24 s flat: signal
    x[700] = np.inf
    mask = missing_mask(x, fs)
    assert list(np.flatnonzero(mask)) == [100, 101, *range(300, 325), 700]
    assert gap_runs(mask, fs) == [(1.0, 0.02), (3.0, 0.25), (7.0, 0.01)]
    np.testing.assert_allclose(gap_seconds(mask, fs, np.array([0, 5.0]), np.array([5.0, 10])),
                               [0.27, 0.01])  # fmt: skip


def test_flat_runs_at_every_length_and_position():
    rng = np.random.default_rng(0)
    x = np.round(rng.normal(0, 2, 3000))  # quantised: many short runs of equal samples
    for start, length in [(0, 40), (500, 25), (900, 24), (1500, 300), (2960, 40)]:
        x[start : start + length] = 3.0
    x[1700:1702] = np.nan
    want = ~np.isfinite(x)  # the run-by-run loop it replaces
    run = 1
    for i in range(1, len(x) + 1):
        if i < len(x) and x[i] == x[i - 1]:
            run += 1
            continue
        if run >= 25:
            want[i - run : i] = True
        run = 1
    np.testing.assert_array_equal(missing_mask(x, 100), want)


def test_welch_is_scipys():
    from scipy.signal import welch as scipy_welch

    from ecg.signal.mains import welch

    rng = np.random.default_rng(1)
    for n, fs in [(650_000, 360.0), (1001, 250.0), (9_999, 128.0), (3_000, 250.5)]:
        x = rng.standard_normal(n)
        want = scipy_welch(x, fs=fs, nperseg=int(2 * fs))
        got = welch(x, fs, int(2 * fs))
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_allclose(got[1], want[1], rtol=1e-12)


def test_mains_is_measured():
    fs = 500
    x = ecg_at(fs, 20)
    t = np.arange(len(x)) / fs
    assert detect_mains(x, fs) is None
    assert detect_mains(x + 0.05 * np.sin(2 * np.pi * 50 * t), fs) == 50.0
    assert detect_mains(x + 0.05 * np.sin(2 * np.pi * 60 * t), fs) == 60.0
    assert detect_mains(x, 120) is None  # too slow to hold 60 Hz


@pytest.mark.parametrize(
    ("paths", "stems"),
    [
        (["a/100", "b/rec_1.csv", "c/x.NPY"], ["100", "rec_1", "x"]),
        (["rec 100.csv", "rec_100.csv"], [r"rec_100-[0-9a-f]{6}", "rec_100"]),
        (
            ["rec.100.csv", "x_hum50_0.05.csv"],
            [r"rec_100-[0-9a-f]{6}", r"x_hum50_0_05-[0-9a-f]{6}"],
        ),
        (["électro ♥.edf"], [r"lectro-[0-9a-f]{6}"]),
        (["a/s.csv", "b/s.csv"], [r"s-[0-9a-f]{6}", r"s-[0-9a-f]{6}"]),
    ],
)
def test_output_stems_are_safe_and_distinct(paths, stems):
    got = record_stems(paths)
    assert len(set(got)) == len(got)
    for stem, pattern in zip(got, stems, strict=True):
        assert re.fullmatch(pattern, stem), (stem, pattern)
    assert with_lead("x", lead="II", model_lead="MLII") == "x"
    assert with_lead("x", lead="aVR", model_lead="MLII") == "x_lead-aVR"
    assert with_lead("x", lead="ECG V1", model_lead="MLII") == "x_lead-ECG_V1"


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


def test_a_deep_model_scores_the_view_preprocess_writes(tmp_path):
    """A DeepSNN product reads its beat-synchronous view (or the raw window), built from the
    recording exactly as the preprocess stage builds it for training."""
    import torch

    fs, seconds = 360, 40
    beats = regular_beats(seconds, fs=fs, rr=0.8)
    beats[30] = (beats[30][0], "V")
    x = ecg_signal(seconds * fs, beats, fs=fs)
    samples = np.array([b for b, _ in beats])
    record = Record("100", x, fs, "MLII", samples, [s for _, s in beats], [""] * len(beats))
    cfg = PreprocessConfig(**{**INPUT, "exclude_records": []})
    detected = detect_qrs(resample(x, fs, cfg.fs), cfg.fs)
    pipeline = windows_from_record(record, cfg, beats=detected)
    inputs = {"beat_sync": pipeline.beat_sync, "waveform": pipeline.signals}
    for view, kind in (("beat_sync", "beat_sync"), ("raw", "waveform")):
        deep = load_model(write_deployable(tmp_path / f"{view}.pt", arch="deep", view=view))
        assert deep.scorer.input_kind == kind
        expected = deep.probabilities(torch.from_numpy(inputs[kind])).double().numpy()
        api = score_record(x, fs, deep)
        np.testing.assert_allclose(api.probability, expected, atol=1e-6, rtol=0)
    assert np.abs(pipeline.beat_sync).max() > 0


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


def test_readouts_are_the_members_mean_probabilities(model):
    import torch

    from ecg.features.layout import MAX_BEATS, STEP_FEATURES

    x = torch.randn(5, MAX_BEATS * STEP_FEATURES)
    out = model.readouts(x)
    torch.testing.assert_close(out.probability, model.probabilities(x), rtol=0, atol=0)
    members = [m(x) for m in model.scorer.members]
    beats = sum(o.beat_logits.softmax(-1) for o in members) / len(members)
    torch.testing.assert_close(out.beats, beats)
    assert out.beats.shape == (5, MAX_BEATS, 4) and out.rhythm.shape == (5, 6)
    torch.testing.assert_close(out.rhythm.sum(-1), torch.ones(5, dtype=out.rhythm.dtype))


def test_beat_classes_per_window_step_overlap_and_unreadable():
    from ecg.inference.beat_classes import NO_CLASS, classify_beats

    beats = np.array([5, 15, 25, 35, 45, 55])
    starts = np.array([0, 20, 40])  # windows of 30 samples, overlapping by 10
    readable = np.array([True, True, False])
    steps = 2  # a window's third beat is beyond its readout
    beat_probs = np.zeros((3, steps, 4))
    beat_probs[0, :, 1] = 1  # window 0: S, S
    beat_probs[1, :, 2] = 1  # window 1: V, V
    beat_probs[2, :, 3] = 1  # unreadable: never used
    rhythm_probs = np.eye(6)[[1, 2, 3]]
    beat_class, rhythm, counts = classify_beats(beats, starts, 30, readable, beat_probs,
                                                rhythm_probs)  # fmt: skip
    # 25 is window 0's third beat (no class there) and window 1's first: V
    assert beat_class.tolist() == [1, 1, 2, 2, NO_CLASS, NO_CLASS]
    assert rhythm.tolist() == [1, 2, NO_CLASS]
    assert counts.tolist() == [[0, 2, 0, 0], [0, 0, 2, 0], [0, 0, 0, 0]]
