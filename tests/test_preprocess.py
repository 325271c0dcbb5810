"""preprocess_mitbih end to end: a synthetic 48-record mirror, then the real database.

The synthetic run uses the project's params.yaml `preprocess` section (10-s windows at
250 Hz, stride = window, paced records excluded) on 60-s records: 6 windows per record.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import wfdb

import ecg.data.build
from ecg.core.errors import ECGError
from ecg.data.build import preprocess_mitbih
from ecg.data.files import MITBIH_KEYS
from ecg.data.mitdb import MITDB
from ecg.data.splits import DS2, SPLITS
from ecg.signal.conditioning import bandpass_notch, normalise_window, resample
from tests.conftest import ROOT
from tests.wfdb_records import regular_beats, write_record

WIN = 3600  # one window in 360-Hz record samples
PACED = ["102", "104", "107", "217"]
ABNORMAL_BEATS = set("AaJSVEF")


def load_splits(out_dir: Path) -> dict[str, dict]:
    return {s: torch.load(out_dir / f"{s}_ecg.pt", weights_only=True) for s in SPLITS}


def expected_labels(ann: wfdb.Annotation, starts, n_samples: int) -> list[int]:
    """Independent statement of the label rule: any S/V/F beat in [s, s + WIN), or any
    overlap with a rhythm other than `(N` (an episode runs to the next `+` or the end)."""
    changes = [
        (s, a.rstrip("\x00"))
        for s, sym, a in zip(ann.sample, ann.symbol, ann.aux_note, strict=True)
        if sym == "+"
    ]
    episodes = [
        (s, changes[i + 1][0] if i + 1 < len(changes) else n_samples, a)
        for i, (s, a) in enumerate(changes)
    ]
    out = []
    for s in starts:
        beat = any(
            s <= b < s + WIN and sym in ABNORMAL_BEATS
            for b, sym in zip(ann.sample, ann.symbol, strict=True)
        )
        rhythm = any(a != "(N" and lo < s + WIN and hi > s for lo, hi, a in episodes)
        out.append(int(beat or rhythm))
    return out


def check_format(data: dict, n_windows: int | None = None) -> None:
    assert set(data) == MITBIH_KEYS
    n = len(data["labels"])
    assert data["signals"].dtype == torch.float32 and data["signals"].shape == (n, 2500)
    assert data["labels"].dtype == torch.int64 and set(data["labels"].tolist()) <= {0, 1}
    for key in ("start_samples",):
        assert data[key].dtype == torch.int64 and data[key].shape == (n,)
    for key in ("segment_confidence", "sqi_scores"):
        assert data[key].dtype == torch.float32 and data[key].shape == (n,)
        assert float(data[key].min()) >= 0.0 and float(data[key].max()) <= 1.0
    assert len(data["patient_ids"]) == len(data["record_ids"]) == n
    assert all(isinstance(p, str) for p in data["patient_ids"] + data["record_ids"])
    assert data["patient_ids"] == [MITDB.subject(r) for r in data["record_ids"]]
    assert torch.isfinite(data["signals"]).all()
    # each window is z-scored on its own
    assert data["signals"].mean(dim=1).abs().max() < 1e-3
    assert (data["signals"].std(dim=1) - 1).abs().max() < 1e-2
    assert (data["start_samples"] % WIN == 0).all()  # default stride = one 10-s window
    if n_windows is not None:
        assert n == n_windows


def check_splits(metrics: dict, out_dir: Path) -> dict[str, dict]:
    """Subject-disjoint, 201 with 202, >= 6 subjects in val and test, about 70/15/15 of the
    windows, each split's arrhythmia share within 0.10 of the pooled (kept) share."""
    data = load_splits(out_dir)
    side_of: dict[str, set[str]] = {}
    for split, d in data.items():
        for p in d["patient_ids"]:
            side_of.setdefault(p, set()).add(split)
    assert all(len(s) == 1 for s in side_of.values()), side_of
    records_of = {s: set(d["record_ids"]) for s, d in data.items()}
    assert sum("201" in r or "202" in r for r in records_of.values()) <= 1
    n_total = sum(len(d["labels"]) for d in data.values())
    pooled = sum(int(d["labels"].sum()) for d in data.values()) / n_total
    assert metrics["windows_kept"] == n_total
    assert metrics["arrhythmia_share"] == pytest.approx(pooled, abs=1e-4)
    for split, target in zip(SPLITS, (0.70, 0.15, 0.15), strict=True):
        labels = data[split]["labels"]
        assert abs(len(labels) / n_total - target) < 0.05, split
        assert abs(float(labels.float().mean()) - pooled) <= 0.10, split
        assert metrics["splits"][split]["windows"] == len(labels)
        assert metrics["splits"][split]["arrhythmia"] == int(labels.sum())
        assert metrics["splits"][split]["n_subjects"] == len(set(data[split]["patient_ids"]))
    assert metrics["splits"]["val"]["n_subjects"] >= 6
    assert metrics["splits"]["test"]["n_subjects"] >= 6
    return data


# --- synthetic mirror -------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_run(tiny_mirror, pre_cfg, tmp_path_factory):
    out = tmp_path_factory.mktemp("processed")
    metrics = preprocess_mitbih(tiny_mirror, out, pre_cfg, seed=42)
    return metrics, out


def test_tiny_run_writes_three_valid_files(tiny_run):
    metrics, out = tiny_run
    assert sorted(p.name for p in out.iterdir()) == [f"{s}_ecg.pt" for s in sorted(SPLITS)]
    for split, data in load_splits(out).items():
        check_format(data, metrics["splits"][split]["windows"])
        assert set(data["labels"].tolist()) == {0, 1}, f"{split} has a single class"
        assert data["start_samples"].max() <= 60 * 360 - WIN


def test_tiny_run_uses_the_44_unpaced_records(tiny_run):
    metrics, _ = tiny_run
    assert metrics["records_used"] == 44
    assert metrics["records_skipped"] == []
    assert metrics["records_excluded"] == PACED
    assert sorted(metrics["per_record"]) == sorted(set(MITDB.RECORDS) - set(PACED))
    assert metrics["windows_total"] == 44 * 6
    assert metrics["windows_kept"] + metrics["windows_dropped"] == metrics["windows_total"]
    kept = sum(r["kept"] for r in metrics["per_record"].values())
    assert kept == metrics["windows_kept"]
    assert metrics["sqi_pass_rate"] == pytest.approx(kept / (44 * 6), abs=1e-4)
    assert metrics["sqi_pass_rate"] >= 0.9  # the helper's signals pass as clean ECG


def test_tiny_run_splits_by_subject(tiny_run):
    metrics, out = tiny_run
    check_splits(metrics, out)
    for rid, info in metrics["per_record"].items():
        if info["kept"]:
            assert rid in metrics["splits"][info["split"]]["records"]


def test_tiny_run_labels_follow_the_annotations(tiny_run, tiny_mirror):
    _, out = tiny_run
    checked = 0
    for data in load_splits(out).values():
        records = np.array(data["record_ids"])
        for rid in sorted(set(records)):
            idx = np.flatnonzero(records == rid)
            starts = data["start_samples"][idx].tolist()
            ann = wfdb.rdann(str(tiny_mirror / rid), "atr")
            assert data["labels"][idx].tolist() == expected_labels(ann, starts, 60 * 360), rid
            checked += len(idx)
    assert checked > 200


def test_tiny_run_takes_mlii_where_it_is_the_second_channel(tiny_run, tiny_mirror, pre_cfg):
    _, out = tiny_run
    rec = wfdb.rdrecord(str(tiny_mirror / "114"))
    assert rec.sig_name == ["V5", "MLII"]
    data = next(d for d in load_splits(out).values() if "114" in d["record_ids"])
    idx = [i for i, r in enumerate(data["record_ids"]) if r == "114"]

    def windows(channel: int) -> np.ndarray:
        x = bandpass_notch(
            resample(rec.p_signal[:, channel], 360, 250),
            250,
            band=tuple(pre_cfg.bandpass_hz),
            notch=pre_cfg.notch_hz,
        )
        starts = [int(s) * 250 // 360 for s in data["start_samples"][idx]]
        return normalise_window(np.stack([x[s : s + 2500] for s in starts]))

    got = data["signals"][idx].numpy()
    np.testing.assert_allclose(got, windows(1), atol=1e-4)
    assert np.abs(got - windows(0)).max() > 1.0


def test_records_without_mlii_are_skipped_with_a_warning(
    tiny_mirror, pre_cfg, tmp_path, monkeypatch
):
    # Exclude nothing, so 102 and 104 (V5, V2) are tried; and drop every window of 105
    # on quality, which must take it out of the splits with a warning too.
    real = ecg.data.build.windows_from_record

    def fake(record, cfg, **kwargs):
        rw = real(record, cfg, **kwargs)
        if record.record_id == "105":
            rw = dataclasses.replace(rw, sqi=np.zeros_like(rw.sqi))
        return rw

    monkeypatch.setattr(ecg.data.build, "windows_from_record", fake)
    cfg = dataclasses.replace(pre_cfg, exclude_records=[])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        metrics = preprocess_mitbih(tiny_mirror, tmp_path, cfg, seed=1)
    messages = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    assert "record 102: no MLII lead (channels: V5, V2): skipped" in messages
    assert "record 104: no MLII lead (channels: V5, V2): skipped" in messages
    assert "record 105: every window is under sqi_threshold" in messages
    assert metrics["records_skipped"] == ["102", "104"]
    assert metrics["records_excluded"] == []
    assert metrics["records_used"] == 46
    assert metrics["records_losing_all_windows"] == ["105"]
    assert metrics["per_record"]["105"] == {
        "windows": 6,
        "kept": 0,
        "dropped": 6,
        "arrhythmia_kept": 0,
        "split": "none",
    }
    data = load_splits(tmp_path)
    used = set().union(*(d["record_ids"] for d in data.values()))
    assert {"107", "217"} <= used and not {"102", "104", "105"} & used


def test_explicit_record_without_mlii_is_an_error(tiny_mirror, pre_cfg, tmp_path):
    with pytest.raises(ECGError, match=r"^record 104: no MLII lead \(channels: V5, V2\)$"):
        preprocess_mitbih(tiny_mirror, tmp_path / "out", pre_cfg, seed=0, records=["100", "104"])
    assert not (tmp_path / "out").exists()


def test_unknown_record_id_is_an_error(tiny_mirror, pre_cfg, tmp_path):
    with pytest.raises(ECGError, match="--records: 999 is not a MIT-BIH record id"):
        preprocess_mitbih(tiny_mirror, tmp_path, pre_cfg, seed=0, records=["100", "999"])


def test_explicit_record_shorter_than_a_window_is_an_error(pre_cfg, tmp_path):
    raw = tmp_path / "raw"
    write_record(raw, "100", seconds=6, beats=regular_beats(6))
    with pytest.raises(ECGError) as err:
        preprocess_mitbih(raw, tmp_path / "out", pre_cfg, seed=0, records=["100"])
    assert str(err.value) == "record 100: 6.0 s of signal is shorter than one 10.0 s window"
    assert not (tmp_path / "out").exists()


def test_truncated_record_stops_the_run_before_writing(tiny_mirror, pre_cfg, tmp_path):
    raw = Path(shutil.copytree(tiny_mirror, tmp_path / "raw"))
    dat = raw / "203.dat"
    dat.write_bytes(dat.read_bytes()[:1000])
    with pytest.raises(ECGError, match=rf"^{dat}: truncated \(1000 bytes"):
        preprocess_mitbih(raw, tmp_path / "out", pre_cfg, seed=0)
    assert not (tmp_path / "out").exists()


def test_failed_split_writes_no_file(tiny_mirror, pre_cfg, tmp_path):
    # DS1 records only: the dechazal test split (DS2) is empty, an error; nothing may be
    # written, or a stale test file from an earlier run would sit beside fresh train/val
    cfg = dataclasses.replace(pre_cfg, split="dechazal")
    ds1 = ["101", "106", "108", "109", "112", "114", "115", "116"]
    with pytest.raises(ECGError, match="split test: no windows"):
        preprocess_mitbih(tiny_mirror, tmp_path / "out", cfg, seed=0, records=ds1)
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_dechazal_split_on_the_tiny_mirror(tiny_mirror, pre_cfg, tmp_path):
    cfg = dataclasses.replace(pre_cfg, split="dechazal")
    metrics = preprocess_mitbih(tiny_mirror, tmp_path, cfg, seed=42)
    data = load_splits(tmp_path)
    assert set(data["test"]["record_ids"]) == set(DS2)
    train, val = set(data["train"]["patient_ids"]), set(data["val"]["patient_ids"])
    assert not train & val and len(val) >= 6
    assert not (set(data["train"]["record_ids"]) | set(data["val"]["record_ids"])) & set(DS2)
    assert "201" in metrics["subject_overlap_note"]


def test_preprocess_stage_fails_with_one_error_line(tiny_mirror, tmp_path):
    raw = Path(shutil.copytree(tiny_mirror, tmp_path / "raw"))
    (raw / "119.atr").unlink()
    metrics = tmp_path / "metrics" / "preprocess.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "stages.preprocess",
            "--raw_dir",
            str(raw),
            "--out_dir",
            str(tmp_path / "out"),
            "--metrics",
            str(metrics),
            "--beats",
            "none",  # this test is about the missing .atr, not the detect stage's output
        ],
        cwd=ROOT,
        capture_output=True,
        timeout=120,
    )
    stderr = proc.stderr.decode()
    assert proc.returncode == 2
    assert "Traceback" not in stderr
    # tqdm redraws its bar with carriage returns: keep what a terminal would show
    lines = [ln.rsplit("\r", 1)[-1] for ln in stderr.split("\n")]
    lines = [ln for ln in lines if ln.strip()]
    # Not a terminal: one plain line per record read, then the error on a line of its own
    # (a tqdm bar left open as the error propagates would be redrawn around it).
    assert lines[-1] == f"error: {raw}/119.atr: file not found", stderr
    assert all(re.fullmatch(r"preprocess: \d+/\d+ records", ln) for ln in lines[:-1]), stderr
    assert not metrics.exists() and not (tmp_path / "out").exists()


# --- the real database (MITDB_DIR) ------------------------------------------------------


@pytest.fixture(scope="module")
def real_run(mitdb_dir, pre_cfg, tmp_path_factory):
    out = tmp_path_factory.mktemp("mitbih_processed")
    return preprocess_mitbih(mitdb_dir, out, pre_cfg, seed=42), out


@pytest.mark.realdata
def test_real_run_uses_44_records_and_keeps_most_windows(real_run):
    metrics, _ = real_run
    assert metrics["records_used"] == 44 and metrics["records_skipped"] == []
    assert metrics["windows_total"] == 44 * 180  # 30:05 min per record, 10-s windows
    assert metrics["sqi_pass_rate"] >= 0.85
    assert metrics["records_losing_all_windows"] == []
    assert all(r["kept"] > 0 for r in metrics["per_record"].values())


@pytest.mark.realdata
def test_real_run_files_and_splits(real_run):
    metrics, out = real_run
    data = check_splits(metrics, out)
    for split, d in data.items():
        check_format(d, metrics["splits"][split]["windows"])
        assert d["start_samples"].max() <= 650000 - WIN
        pairs = list(zip(d["record_ids"], d["start_samples"].tolist(), strict=True))
        assert len(set(pairs)) == len(pairs)


def _windows_of(out: Path, rid: str) -> tuple[np.ndarray, np.ndarray]:
    for d in load_splits(out).values():
        idx = [i for i, r in enumerate(d["record_ids"]) if r == rid]
        if idx:
            return d["start_samples"][idx].numpy(), d["labels"][idx].numpy()
    raise AssertionError(f"record {rid} not in any split")


@pytest.mark.realdata
def test_real_record_100_windows_with_an_a_beat_are_arrhythmia(real_run, mitdb_dir):
    _, out = real_run
    ann = wfdb.rdann(str(mitdb_dir / "100"), "atr")
    a_beats = ann.sample[np.array(ann.symbol) == "A"]
    assert 0 < len(a_beats) < 50  # "a handful" (33)
    starts, labels = _windows_of(out, "100")
    with_a = np.array([((a_beats >= s) & (a_beats < s + WIN)).any() for s in starts])
    assert with_a.any()
    assert (labels[with_a] == 1).all()
    assert labels.tolist() == expected_labels(ann, starts, 650000)
    assert (labels[~with_a] == 0).sum() > 100  # the rest of 100 is mostly normal sinus


@pytest.mark.realdata
def test_real_record_207_flutter_episodes_are_arrhythmia(real_run, mitdb_dir):
    _, out = real_run
    ann = wfdb.rdann(str(mitdb_dir / "207"), "atr")
    notes = [a.rstrip("\x00") for a in ann.aux_note]
    plus = [(s, a) for s, sym, a in zip(ann.sample, ann.symbol, notes, strict=True) if sym == "+"]
    vfl = [
        (s, plus[i + 1][0] if i + 1 < len(plus) else 650000)
        for i, (s, a) in enumerate(plus)
        if a == "(VFL"
    ]
    assert vfl
    starts, labels = _windows_of(out, "207")
    in_vfl = np.array([any(lo < s + WIN and hi > s for lo, hi in vfl) for s in starts])
    assert in_vfl.any() and (labels[in_vfl] == 1).all()
    assert labels.tolist() == expected_labels(ann, starts, 650000)


def test_beat_files_mirror_the_window_files(tiny_mirror, pre_cfg, tmp_path):
    from ecg.data.detected_beats import detect_records
    from ecg.features.layout import MAX_BEATS, STEP_FEATURES

    beats, info = detect_records(tiny_mirror, pre_cfg)
    assert info["records"] == 44 and all(len(b) > 0 for b in beats.values())
    preprocess_mitbih(
        tiny_mirror, tmp_path, pre_cfg, seed=42, beats={r: b.numpy() for r, b in beats.items()}
    )
    for split in ("train", "val", "test"):
        ecg = torch.load(tmp_path / f"{split}_ecg.pt", weights_only=True)
        beat = torch.load(tmp_path / f"{split}_beats.pt", weights_only=True)
        assert beat["signals"].shape == (len(ecg["labels"]), MAX_BEATS * STEP_FEATURES)
        assert torch.isfinite(beat["signals"]).all()
        for key in ("labels", "start_samples", "sqi_scores"):
            assert torch.equal(beat[key], ecg[key]), key
        assert beat["patient_ids"] == ecg["patient_ids"]


def test_preprocess_stage_names_a_missing_beats_file(tiny_mirror, tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "stages.preprocess",
            "--raw_dir",
            str(tiny_mirror),
            "--out_dir",
            str(tmp_path / "out"),
            "--metrics",
            str(tmp_path / "m.json"),
            "--beats",
            str(tmp_path / "nope.pt"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"{tmp_path / 'nope.pt'}: detected beats not found" in proc.stderr
    assert not (tmp_path / "out").exists()
