"""Reading records: the lead by channel name, annotations, and one-line errors for bad files."""

from __future__ import annotations

import numpy as np
import pytest
import wfdb

import ecg.data.windows
from ecg.core.errors import ECGError
from ecg.data.mitdb import MITDB
from ecg.data.record import MissingLead
from ecg.data.windows import windows_from_record
from tests.wfdb_records import ecg_signal, regular_beats, write_record

QUANTUM = 1 / 200  # mV per ADC unit in the written records


def one_line(err: pytest.ExceptionInfo) -> str:
    msg = str(err.value)
    assert msg and "\n" not in msg
    return msg


def two_leads(seconds: float = 30) -> tuple[np.ndarray, np.ndarray, list]:
    """(mlii, other, beats): two clearly different channels in mV."""
    beats = regular_beats(seconds)
    mlii = ecg_signal(int(seconds * 360), beats, seed=1)
    t = np.arange(len(mlii)) / 360
    other = 0.8 * np.sin(2 * np.pi * 1.3 * t) - 0.3 * mlii
    return mlii, other, beats


@pytest.fixture
def all_pass_sqi(monkeypatch):
    monkeypatch.setattr(
        ecg.data.windows, "sqi", lambda w, fs, **_: np.ones(len(w), dtype=np.float32)
    )


# --- lead by name -----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["212", "16"])
def test_mlii_read_by_name_when_it_is_the_second_channel(tmp_path, fmt):
    mlii, other, beats = two_leads()
    write_record(
        tmp_path,
        "114",
        seconds=30,
        beats=beats,
        sig_names=("V5", "MLII"),
        fmt=fmt,
        p_signal=np.stack([other, mlii], axis=1),
    )
    rec = MITDB(tmp_path).read("114")
    assert rec.lead == "MLII" and rec.fs == 360.0 and rec.record_id == "114"
    assert rec.signal.dtype == np.float64 and rec.signal.shape == mlii.shape
    np.testing.assert_allclose(rec.signal, mlii, atol=QUANTUM)
    assert np.abs(rec.signal - other).max() > 0.5
    v5 = MITDB(tmp_path).read("114", lead="V5")
    np.testing.assert_allclose(v5.signal, other, atol=QUANTUM)


def test_annotations_read_with_rhythm_notes(tmp_path):
    beats = [(100, "N"), (400, "V"), (700, "A")]
    # mitdb pads odd-length aux notes with a NUL byte ("(N\x00"): read as "(N"
    rhythms = [(5, "(N\x00"), (500, "(AFIB\x00")]
    write_record(tmp_path, "r", seconds=10, beats=beats, rhythms=rhythms)
    rec = MITDB(tmp_path).read("r")
    assert rec.ann_samples.tolist() == [5, 100, 400, 500, 700]
    assert rec.ann_samples.dtype == np.int64
    assert rec.ann_symbols == ["+", "N", "V", "+", "A"]
    assert rec.ann_aux == ["(N", "", "", "(AFIB", ""]


def test_window_comes_from_the_mlii_channel(tmp_path, pre_cfg, all_pass_sqi):
    mlii, other, beats = two_leads()
    write_record(
        tmp_path,
        "first",
        seconds=30,
        beats=beats,
        sig_names=("MLII", "V5"),
        p_signal=np.stack([mlii, other], axis=1),
    )
    write_record(
        tmp_path,
        "second",
        seconds=30,
        beats=beats,
        sig_names=("V5", "MLII"),
        p_signal=np.stack([other, mlii], axis=1),
    )
    a = windows_from_record(MITDB(tmp_path).read("first"), pre_cfg)
    b = windows_from_record(MITDB(tmp_path).read("second"), pre_cfg)
    v5 = windows_from_record(MITDB(tmp_path).read("second", lead="V5"), pre_cfg)
    assert b.signals.shape == (3, pre_cfg.window) and b.signals.dtype == np.float32
    np.testing.assert_allclose(b.signals, a.signals, atol=1e-5)
    corr = [np.corrcoef(x, y)[0, 1] for x, y in zip(b.signals, v5.signals, strict=True)]
    assert max(corr) < 0.9


def test_record_without_mlii_raises_missing_lead(tmp_path):
    write_record(
        tmp_path, "102", seconds=12, beats=regular_beats(12, symbol="/"), sig_names=("V5", "V2")
    )
    with pytest.raises(MissingLead) as err:
        MITDB(tmp_path).read("102")
    assert isinstance(err.value, ECGError)
    msg = one_line(err)
    assert "102" in msg and "MLII" in msg and "V5" in msg


def test_read_records_skips_a_record_without_the_lead_unless_explicit(tmp_path):
    write_record(tmp_path, "100", seconds=12, beats=regular_beats(12))
    write_record(tmp_path, "102", seconds=12, beats=regular_beats(12), sig_names=("V5", "V2"))
    with pytest.warns(UserWarning, match="record 102: no MLII lead"):
        got = list(MITDB(tmp_path).read_many(["100", "102"]))
    assert [r.record_id for r in got] == ["100"]
    with pytest.raises(MissingLead, match="102"):
        list(MITDB(tmp_path).read_many(["100", "102"], explicit=True))


# --- errors -----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["212", "16"])
def test_truncated_dat_is_a_one_line_error_naming_the_file(tmp_path, fmt):
    write_record(tmp_path, "100", seconds=20, beats=regular_beats(20), fmt=fmt)
    dat = tmp_path / "100.dat"
    dat.write_bytes(dat.read_bytes()[: dat.stat().st_size // 2])
    with pytest.raises(ECGError) as err:
        MITDB(tmp_path).read("100")
    msg = one_line(err)
    assert str(dat) in msg and "truncated" in msg


@pytest.mark.parametrize("ext", [".atr", ".dat", ".hea"])
def test_missing_file_is_a_one_line_error_naming_it(tmp_path, ext):
    write_record(tmp_path, "100", seconds=12, beats=regular_beats(12))
    (tmp_path / f"100{ext}").unlink()
    with pytest.raises(ECGError) as err:
        MITDB(tmp_path).read("100")
    msg = one_line(err)
    assert str(tmp_path / f"100{ext}") in msg and "not found" in msg


def test_corrupt_header_is_a_one_line_error(tmp_path):
    write_record(tmp_path, "100", seconds=12, beats=regular_beats(12))
    (tmp_path / "100.hea").write_text("this is not\na header\n")
    with pytest.raises(ECGError) as err:
        MITDB(tmp_path).read("100")
    assert "100.hea" in one_line(err)


def test_corrupt_annotations_are_a_one_line_error(tmp_path):
    write_record(tmp_path, "100", seconds=12, beats=regular_beats(12))
    (tmp_path / "100.atr").write_bytes(b"\xff" * 7)
    with pytest.raises(ECGError) as err:
        MITDB(tmp_path).read("100")
    assert "100" in one_line(err)


def test_record_shorter_than_one_window_is_an_error(tmp_path, pre_cfg, all_pass_sqi):
    write_record(tmp_path, "100", seconds=9.9, beats=regular_beats(9.9))
    with pytest.raises(ECGError) as err:
        windows_from_record(MITDB(tmp_path).read("100"), pre_cfg)
    msg = one_line(err)
    assert "record 100" in msg and "shorter than one 10.0 s window" in msg


def test_record_of_exactly_one_window(tmp_path, pre_cfg, all_pass_sqi):
    write_record(tmp_path, "100", seconds=10, beats=regular_beats(10))
    rw = windows_from_record(MITDB(tmp_path).read("100"), pre_cfg)
    assert rw.signals.shape == (1, pre_cfg.window)
    assert rw.start_samples.tolist() == [0]


def test_invalid_samples_hold_the_last_valid_value(tmp_path):
    d = np.round(ecg_signal(3600, regular_beats(10)) * 200).astype(np.int64)
    d = np.stack([d, d], axis=1)
    d[:3, 0] = -32768  # the format-16 "no sample" code, at the start
    d[1000:1010, 0] = -32768
    wfdb.wrsamp(
        "100",
        fs=360,
        units=["mV", "mV"],
        sig_name=["MLII", "V5"],
        d_signal=d,
        fmt=["16", "16"],
        adc_gain=[200.0, 200.0],
        baseline=[0, 0],
        write_dir=str(tmp_path),
    )
    wfdb.wrann("100", "atr", np.array([100]), symbol=["N"], write_dir=str(tmp_path))
    sig = MITDB(tmp_path).read("100").signal
    assert np.isfinite(sig).all()
    np.testing.assert_allclose(sig[1000:1010], d[999, 0] / 200)
    np.testing.assert_allclose(sig[:3], d[3, 0] / 200)
    np.testing.assert_allclose(sig[1010:], d[1010:, 0] / 200)


def test_lead_with_no_valid_sample_is_an_error(tmp_path):
    d = np.full((3600, 1), -32768, dtype=np.int64)
    wfdb.wrsamp(
        "100",
        fs=360,
        units=["mV"],
        sig_name=["MLII"],
        d_signal=d,
        fmt=["16"],
        adc_gain=[200.0],
        baseline=[0],
        write_dir=str(tmp_path),
    )
    wfdb.wrann("100", "atr", np.array([100]), symbol=["N"], write_dir=str(tmp_path))
    with pytest.raises(ECGError) as err:
        MITDB(tmp_path).read("100")
    assert "100.dat" in one_line(err)


# --- ids --------------------------------------------------------------------------------


def test_record_list_and_subjects():
    assert len(MITDB.RECORDS) == 48 == len(set(MITDB.RECORDS))
    assert MITDB.RECORDS[0] == "100" and MITDB.RECORDS[-1] == "234"
    assert MITDB.subject("202") == MITDB.subject("201") == "201"
    assert {MITDB.subject(r) for r in MITDB.RECORDS} == set(MITDB.RECORDS) - {"202"}
