"""preprocess_mitbih end to end: a synthetic 48-record mirror, then the real database.

The synthetic run uses the project's params.yaml `preprocess` section (10-s windows at
250 Hz, stride = window, paced records excluded) on 60-s records: 6 windows per record. Its
output is three files, every quality-passing window of every subject in record order:
`windows_ecg.pt` (raw windows), `windows_beats.pt` (the beat layout) and
`windows_beat_sync.pt` (DeepSNN's beat-synchronous view), the same rows.
"""

from __future__ import annotations

import dataclasses
import json
import os
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
from ecg.data.augment import AugmentConfig, load_training_noise
from ecg.data.beat_labels import BEAT_CLASSES, PADDING
from ecg.data.build import preprocess_mitbih
from ecg.data.detected_beats import detect_records
from ecg.data.files import MITBIH_KEYS, MITBIH_TARGETS, noisy_windows_file, windows_file
from ecg.data.labels import aami_class
from ecg.data.mitdb import MITDB
from ecg.data.nstdb import BENCHMARK_HALF, TRAINING_HALF, load_nstdb_noise, noise_half
from ecg.data.windows import windows_from_record
from ecg.features.layout import MAX_BEATS, STEP_FEATURES
from ecg.signal.conditioning import bandpass_notch, normalise_window, resample
from tests.conftest import ROOT
from tests.wfdb_records import regular_beats, write_noise, write_record

WIN = 3600  # one window in 360-Hz record samples
PACED = ["102", "104", "107", "217"]
UNPACED = [r for r in MITDB.RECORDS if r not in PACED]
ABNORMAL_BEATS = set("AaJSVEF")
OUTPUT_FILES = ["windows_beat_sync.pt", "windows_beats.pt", "windows_ecg.pt"]
METRIC_KEYS = {
    "sqi_threshold",
    "records_used",
    "records_skipped",
    "records_excluded",
    "windows_total",
    "windows_kept",
    "windows_dropped",
    "sqi_pass_rate",
    "sqi_pass_rate_normal",
    "sqi_pass_rate_arrhythmia",
    "arrhythmia_share",
    "records_losing_all_windows",
    "subjects",
    "per_record",
    "augment",
}


def load(out_dir: Path, input_kind: str = "waveform") -> dict:
    return torch.load(windows_file(out_dir, input_kind), weights_only=True)


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


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


def assert_valid_windows(data: dict, n_windows: int | None = None) -> None:
    assert set(data) == MITBIH_KEYS | {"rhythm_classes"}
    n = len(data["labels"])
    assert data["inputs"].dtype == torch.float32 and data["inputs"].shape == (n, 2500)
    assert data["labels"].dtype == torch.int64 and set(data["labels"].tolist()) <= {0, 1}
    assert data["start_samples"].dtype == torch.int64 and data["start_samples"].shape == (n,)
    for key in ("segment_confidence", "sqi_scores"):
        assert data[key].dtype == torch.float32 and data[key].shape == (n,)
        assert float(data[key].min()) >= 0.0 and float(data[key].max()) <= 1.0
    assert len(data["patient_ids"]) == len(data["record_ids"]) == n
    assert all(isinstance(p, str) for p in data["patient_ids"] + data["record_ids"])
    assert data["patient_ids"] == [MITDB.subject(r) for r in data["record_ids"]]
    assert torch.isfinite(data["inputs"]).all()
    # each window is z-scored on its own
    assert data["inputs"].mean(dim=1).abs().max() < 1e-3
    assert (data["inputs"].std(dim=1) - 1).abs().max() < 1e-2
    assert (data["start_samples"] % WIN == 0).all()  # default stride = one 10-s window
    if n_windows is not None:
        assert n == n_windows


def record_blocks(data: dict) -> list[str]:
    """The records of the file's rows, one entry per contiguous run of rows."""
    ids = data["record_ids"]
    return [r for i, r in enumerate(ids) if i == 0 or ids[i - 1] != r]


def assert_record_order(data: dict) -> None:
    """Each record's rows together, records in MIT-BIH order, windows in time order."""
    blocks = record_blocks(data)
    assert len(blocks) == len(set(blocks)), "a record's rows are not contiguous"
    assert blocks == sorted(blocks, key=MITDB.RECORDS.index)
    records = np.array(data["record_ids"])
    for rid in blocks:
        starts = data["start_samples"][records == rid]
        assert (starts[1:] > starts[:-1]).all(), rid


def assert_same_rows(a: dict, b: dict) -> None:
    """Two files of the same windows: every key but `inputs` equal, row for row."""
    assert len(a["labels"]) == len(b["labels"])
    for key in ("labels", "start_samples", "segment_confidence", "sqi_scores"):
        assert torch.equal(a[key], b[key]), key
    assert a["patient_ids"] == b["patient_ids"] and a["record_ids"] == b["record_ids"]


def lower_sqi(monkeypatch, scores: dict[str, dict[int, float]]) -> None:
    """Make `windows_from_record` report SQI `scores[record][window]` for those windows."""
    real = ecg.data.build.windows_from_record

    def fake(record, cfg, **kwargs):
        rw = real(record, cfg, **kwargs)
        sqi = rw.sqi.copy()
        for w, score in scores.get(record.record_id, {}).items():
            sqi[w] = score
        return dataclasses.replace(rw, sqi=sqi)

    monkeypatch.setattr(ecg.data.build, "windows_from_record", fake)


# --- synthetic mirror -------------------------------------------------------------------


@pytest.fixture(scope="module")
def in_process():
    """`ECG_WORKERS=1` for module-scoped fixtures too (conftest's `one_worker` is set up
    after them), so that they spawn no worker processes."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ECG_WORKERS", "1")
        yield


@pytest.fixture(scope="module")
def tiny_beats(tiny_mirror, pre_cfg, in_process) -> dict[str, np.ndarray]:
    """The detect stage's output on the synthetic mirror."""
    beats, info = detect_records(tiny_mirror, pre_cfg)
    assert info["records"] == 44 and all(len(b) > 0 for b in beats.values())
    return {r: b.numpy() for r, b in beats.items()}


@pytest.fixture(scope="module")
def tiny_run(tiny_mirror, pre_cfg, tiny_beats, in_process, tmp_path_factory):
    out = tmp_path_factory.mktemp("processed")
    metrics = preprocess_mitbih(tiny_mirror, out, pre_cfg, beats=tiny_beats)
    return metrics, out


def test_tiny_run_writes_exactly_the_three_window_files(tiny_run):
    metrics, out = tiny_run
    assert names(out) == OUTPUT_FILES
    data = load(out)
    assert_valid_windows(data, metrics["windows_kept"])
    assert set(data["labels"].tolist()) == {0, 1}
    assert data["start_samples"].max() <= 60 * 360 - WIN


def test_without_beats_only_the_raw_window_file_is_written(tiny_mirror, pre_cfg, tmp_path):
    metrics = preprocess_mitbih(tiny_mirror, tmp_path / "out", pre_cfg, records=["100", "101"])
    assert names(tmp_path / "out") == ["windows_ecg.pt"]
    assert_valid_windows(load(tmp_path / "out"), metrics["windows_kept"])


def test_tiny_run_uses_the_44_unpaced_records(tiny_run):
    metrics, _ = tiny_run
    assert metrics["records_used"] == 44
    assert metrics["records_skipped"] == []
    assert metrics["records_excluded"] == PACED
    assert sorted(metrics["per_record"]) == sorted(UNPACED)
    assert metrics["subjects"] == 43  # 201 and 202 are one man
    assert metrics["windows_total"] == 44 * 6
    assert metrics["windows_kept"] + metrics["windows_dropped"] == metrics["windows_total"]
    kept = sum(r["kept"] for r in metrics["per_record"].values())
    assert kept == metrics["windows_kept"]
    assert metrics["sqi_pass_rate"] == pytest.approx(kept / (44 * 6), abs=1e-4)
    assert metrics["sqi_pass_rate"] >= 0.9  # the helper's signals pass as clean ECG


def test_tiny_run_metrics_hold_no_split_and_no_timing(tiny_run):
    # which subjects train and which judge is decided later (ecg.train.plan); wall times
    # live in metrics/timings, so the metrics repeat exactly run to run
    metrics, out = tiny_run
    assert set(metrics) == METRIC_KEYS
    for info in metrics["per_record"].values():
        assert set(info) == {"windows", "kept", "dropped", "arrhythmia_kept"}
    data = load(out)
    assert metrics["arrhythmia_share"] == pytest.approx(float(data["labels"].float().mean()), 1e-3)
    json.dumps(metrics)  # it is written as JSON


def test_tiny_run_keeps_every_subject_in_record_order(tiny_run):
    metrics, out = tiny_run
    kept = [r for r in UNPACED if metrics["per_record"][r]["kept"] > 0]
    assert kept == UNPACED  # every record keeps windows on the synthetic mirror
    for kind in ("waveform", "beats", "beat_sync"):
        data = load(out, kind)
        assert_record_order(data)
        assert record_blocks(data) == UNPACED  # all 44 records, in record order
        assert set(data["patient_ids"]) == {MITDB.subject(r) for r in UNPACED}
        counts = {r: data["record_ids"].count(r) for r in UNPACED}
        assert counts == {r: info["kept"] for r, info in metrics["per_record"].items()}


def test_tiny_run_rows_are_each_records_passing_windows(tiny_run, tiny_mirror, tiny_beats, pre_cfg):
    # the files are every record's own windows (windows_from_record), filtered on SQI and
    # stacked in record order, the raw, beat-layout and beat-synchronous files row for row
    _, out = tiny_run
    ecg, beat, sync = load(out), load(out, "beats"), load(out, "beat_sync")
    rows = {"inputs": [], "beats": [], "sync": [], "labels": [], "start_samples": [], "sqi": []}
    for rid in UNPACED:
        rw = windows_from_record(MITDB(tiny_mirror).read(rid), pre_cfg, beats=tiny_beats[rid])
        keep = rw.sqi >= pre_cfg.sqi_threshold
        rows["inputs"].append(rw.signals[keep])
        rows["beats"].append(rw.beat_input[keep])
        rows["sync"].append(rw.beat_sync[keep])
        rows["labels"].append(rw.labels[keep])
        rows["start_samples"].append(rw.start_samples[keep])
        rows["sqi"].append(rw.sqi[keep])
    want = {k: np.concatenate(v) for k, v in rows.items()}
    np.testing.assert_allclose(ecg["inputs"].numpy(), want["inputs"], atol=1e-6)
    np.testing.assert_allclose(beat["inputs"].numpy(), want["beats"], atol=1e-6)
    np.testing.assert_array_equal(sync["inputs"].numpy(), want["sync"])
    for data in (ecg, beat, sync):
        assert data["labels"].tolist() == want["labels"].tolist()
        assert data["start_samples"].tolist() == want["start_samples"].tolist()
        np.testing.assert_allclose(data["sqi_scores"].numpy(), want["sqi"])


def test_beat_file_mirrors_the_window_file(tiny_run):
    _, out = tiny_run
    ecg, beat = load(out), load(out, "beats")
    assert set(beat) == MITBIH_KEYS | set(MITBIH_TARGETS)
    assert beat["inputs"].dtype == torch.float32
    assert beat["inputs"].shape == (len(ecg["labels"]), MAX_BEATS * STEP_FEATURES)
    assert torch.isfinite(beat["inputs"]).all()
    assert len(torch.unique(beat["inputs"], dim=0)) > 1
    assert_same_rows(beat, ecg)


def test_beat_labels_account_for_every_reference_beat_of_the_kept_windows(tiny_mirror, tiny_run):
    # each reference beat of a kept window is in a slot with its class, or counted missed
    _, out = tiny_run
    beat = load(out, "beats")
    codes, missed = beat["beat_classes"], beat["missed_beats"]
    present = beat["inputs"].view(len(codes), MAX_BEATS, STEP_FEATURES)[:, :, 0] != 0
    assert torch.equal(codes != PADDING, present)  # a slot is labelled iff it holds a beat
    rows = [i for i, r in enumerate(beat["record_ids"]) if r in ("100", "119", "208")]
    want = np.zeros(len(BEAT_CLASSES), dtype=np.int64)
    for i in rows:
        ann = wfdb.rdann(str(tiny_mirror / beat["record_ids"][i]), "atr")
        s = int(beat["start_samples"][i])
        for sample, symbol in zip(ann.sample, ann.symbol, strict=True):
            if s <= sample < s + WIN and aami_class(symbol):
                want[BEAT_CLASSES.index(aami_class(symbol))] += 1
    got = missed[rows].sum(0).numpy()
    for c in range(len(BEAT_CLASSES)):
        got[c] += int((codes[rows] == c).sum())
    assert want.sum() > 0 and (want == got).all(), (want, got)
    assert (codes[rows] >= 0).sum() > 0.9 * want.sum()  # the detector finds most of them


def test_beat_sync_file_mirrors_the_window_file(tiny_run):
    _, out = tiny_run
    ecg, sync = load(out), load(out, "beat_sync")
    assert set(sync) == MITBIH_KEYS | set(MITBIH_TARGETS)
    assert sync["inputs"].dtype == torch.float32
    assert sync["inputs"].shape == ecg["inputs"].shape  # the window's size: 20 slots of 125
    assert torch.isfinite(sync["inputs"]).all() and sync["inputs"].abs().max() > 0
    assert_same_rows(sync, ecg)


def test_rerun_gives_the_same_files_and_metrics(
    tiny_run, tiny_mirror, pre_cfg, tiny_beats, tmp_path
):
    # DVC hashes the files: the same inputs, in the same setting, give the same bytes
    metrics, out = tiny_run
    again = preprocess_mitbih(tiny_mirror, tmp_path, pre_cfg, beats=tiny_beats)
    assert again == metrics
    for name in OUTPUT_FILES:
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes(), name


# --- noisy training copies (augment) -----------------------------------------------------

AUG = AugmentConfig(copies=2, snr_db=[12.0, 24.0], noises=["bw", "em", "ma"])
AUG_RECORDS = ["100", "201", "202"]


@pytest.fixture(scope="module")
def tiny_noise(tmp_path_factory) -> Path:
    return write_noise(tmp_path_factory.mktemp("nstdb"), seconds=120, seed=3)


def augmented_run(mirror, cfg, beats, noise, out: Path, *, seed: int = 42) -> dict:
    return preprocess_mitbih(
        mirror, out, cfg, records=AUG_RECORDS, beats=beats, augment=AUG, noise_dir=noise, seed=seed
    )


def test_augmentation_writes_noisy_beat_rows_with_the_clean_labels(
    tiny_mirror, pre_cfg, tiny_beats, tiny_noise, tmp_path
):
    metrics = augmented_run(tiny_mirror, pre_cfg, tiny_beats, tiny_noise, tmp_path)
    assert names(tmp_path) == sorted([*OUTPUT_FILES, "windows_beats_noisy.pt"])
    clean, noisy = load(tmp_path, "beats"), torch.load(noisy_windows_file(tmp_path))
    assert set(noisy) == set(clean)  # the same metadata format
    assert metrics["augment"]["copies"] == 2
    assert metrics["augment"]["noisy_windows_total"] == 2 * 3 * 6
    assert len(noisy["labels"]) == metrics["augment"]["noisy_windows_kept"] > 0
    assert noisy["inputs"].shape[1] == clean["inputs"].shape[1]
    assert (noisy["sqi_scores"] >= pre_cfg.sqi_threshold).all()  # the same SQI gate
    clean_rows = {
        (r, int(s)): (int(y), x)
        for r, s, y, x in zip(
            clean["record_ids"], clean["start_samples"], clean["labels"], clean["inputs"],
            strict=True,
        )
    }  # fmt: skip
    twins = 0
    for r, s, y, x in zip(
        noisy["record_ids"], noisy["start_samples"], noisy["labels"], noisy["inputs"], strict=True
    ):
        assert r in AUG_RECORDS
        if (r, int(s)) in clean_rows:
            label, clean_x = clean_rows[(r, int(s))]
            assert int(y) == label  # noise does not change the rhythm: the clean label
            assert not torch.equal(x, clean_x)  # the noisy beats are other rows
            twins += 1
    assert twins > 0


def test_augmentation_is_deterministic_and_follows_the_seed(
    tiny_mirror, pre_cfg, tiny_beats, tiny_noise, tmp_path
):
    for run, seed in (("a", 42), ("b", 42), ("c", 43)):
        augmented_run(tiny_mirror, pre_cfg, tiny_beats, tiny_noise, tmp_path / run, seed=seed)
    a, b, c = (noisy_windows_file(tmp_path / r).read_bytes() for r in "abc")
    assert a == b
    assert a != c
    clean = preprocess_mitbih(
        tiny_mirror, tmp_path / "d", pre_cfg, records=AUG_RECORDS, beats=tiny_beats
    )
    assert clean["augment"]["copies"] == 0 and not noisy_windows_file(tmp_path / "d").exists()
    for name in OUTPUT_FILES:  # the clean files do not depend on the augmentation
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "d" / name).read_bytes()


def test_augmentation_without_the_noise_records_is_one_error(
    tiny_mirror, pre_cfg, tiny_beats, tmp_path
):
    with pytest.raises(ECGError, match="no NSTDB noise records .* run the download stage"):
        augmented_run(tiny_mirror, pre_cfg, tiny_beats, tmp_path / "nope", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_training_and_benchmark_noise_halves_are_disjoint(tiny_noise):
    for name in ("bw", "em", "ma"):
        x, _ = load_nstdb_noise(tiny_noise, name)
        train, bench = noise_half(x, TRAINING_HALF), noise_half(x, BENCHMARK_HALF)
        # the halves split the record: consecutive, no sample in both
        assert len(train) + len(bench) == len(x)
        np.testing.assert_array_equal(np.concatenate([train, bench]), x)
        ((got, fs),) = [load_training_noise(tiny_noise, [name])[name]]
        assert fs == 360 and np.array_equal(got, train)  # augmentation reads the first half


def test_the_benchmark_reads_the_other_half():
    source = (ROOT / "benchmarks" / "noise_stress.py").read_text()
    assert "noise_half(load_nstdb_noise(nstdb, name)[0], BENCHMARK_HALF)" in source
    assert "TRAINING_HALF" not in source


def test_tiny_run_labels_follow_the_annotations(tiny_run, tiny_mirror):
    _, out = tiny_run
    data = load(out)
    records = np.array(data["record_ids"])
    checked = 0
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
    data = load(out)
    idx = [i for i, r in enumerate(data["record_ids"]) if r == "114"]
    assert len(idx) == 6

    def windows(channel: int) -> np.ndarray:
        x = bandpass_notch(
            resample(rec.p_signal[:, channel], 360, 250),
            250,
            band=tuple(pre_cfg.bandpass_hz),
            notch=pre_cfg.notch_hz,
        )
        starts = [int(s) * 250 // 360 for s in data["start_samples"][idx]]
        return normalise_window(np.stack([x[s : s + 2500] for s in starts]))

    got = data["inputs"][idx].numpy()
    np.testing.assert_allclose(got, windows(1), atol=1e-4)
    assert np.abs(got - windows(0)).max() > 1.0


def test_windows_under_the_sqi_threshold_leave_every_file(
    tiny_mirror, pre_cfg, tiny_beats, tmp_path, monkeypatch
):
    thr = pre_cfg.sqi_threshold
    # 100: windows 1 and 4 fail; 101: window 0 sits exactly on the threshold (kept) and
    # window 2 just under it (dropped); 103 keeps all six
    lower_sqi(monkeypatch, {"100": {1: 0.1, 4: 0.0}, "101": {0: thr, 2: thr - 1e-3}})
    metrics = preprocess_mitbih(
        tiny_mirror, tmp_path, pre_cfg, records=["100", "101", "103"], beats=tiny_beats
    )
    ecg, beat, sync = load(tmp_path), load(tmp_path, "beats"), load(tmp_path, "beat_sync")
    assert_same_rows(ecg, beat)
    assert_same_rows(ecg, sync)
    assert (ecg["sqi_scores"] >= thr).all()
    records = np.array(ecg["record_ids"])
    starts = {r: ecg["start_samples"][records == r].tolist() for r in ("100", "101", "103")}
    assert starts["100"] == [k * WIN for k in (0, 2, 3, 5)]
    assert starts["101"] == [k * WIN for k in (0, 1, 3, 4, 5)]
    assert starts["103"] == [k * WIN for k in range(6)]
    assert record_blocks(ecg) == ["100", "101", "103"]
    assert metrics["windows_total"] == 18 and metrics["windows_kept"] == 15
    assert metrics["windows_dropped"] == 3
    assert metrics["sqi_pass_rate"] == round(15 / 18, 4)
    assert metrics["per_record"]["100"]["kept"] == 4
    assert metrics["per_record"]["100"]["dropped"] == 2
    assert metrics["per_record"]["100"]["arrhythmia_kept"] == int(
        ecg["labels"][records == "100"].sum()
    )
    assert metrics["records_losing_all_windows"] == [] and metrics["subjects"] == 3


def test_records_without_mlii_are_skipped_with_a_warning(
    tiny_mirror, pre_cfg, tmp_path, monkeypatch
):
    # Exclude nothing, so 102 and 104 (V5, V2) are tried; and drop every window of 105
    # on quality, which must take it out of the files with a warning too.
    lower_sqi(monkeypatch, {"105": dict.fromkeys(range(6), 0.0)})
    cfg = dataclasses.replace(pre_cfg, exclude_records=[])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        metrics = preprocess_mitbih(tiny_mirror, tmp_path, cfg)
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
    }
    assert metrics["subjects"] == 44  # 46 records, less 105, with 201 and 202 one subject
    data = load(tmp_path)
    expected = [r for r in MITDB.RECORDS if r not in {"102", "104", "105"}]
    assert record_blocks(data) == expected
    assert {"107", "217"} <= set(data["record_ids"])


def test_explicit_record_without_mlii_is_an_error(tiny_mirror, pre_cfg, tmp_path):
    with pytest.raises(ECGError, match=r"^record 104: no MLII lead \(channels: V5, V2\)$"):
        preprocess_mitbih(tiny_mirror, tmp_path / "out", pre_cfg, records=["100", "104"])
    assert not (tmp_path / "out").exists()


def test_unknown_record_id_is_an_error(tiny_mirror, pre_cfg, tmp_path):
    with pytest.raises(ECGError, match="--records: 999 is not a MIT-BIH record id"):
        preprocess_mitbih(tiny_mirror, tmp_path / "out", pre_cfg, records=["100", "999"])
    assert not (tmp_path / "out").exists()


def test_lead_no_record_has_is_one_error(tiny_mirror, pre_cfg, tmp_path):
    cfg = dataclasses.replace(pre_cfg, lead="V9")
    with pytest.raises(ECGError) as err:
        preprocess_mitbih(tiny_mirror, tmp_path / "out", cfg)
    assert str(err.value) == f"{tiny_mirror}: no record has a V9 lead (record 100: MLII, V1)"
    assert not (tmp_path / "out").exists()


def test_explicit_record_shorter_than_a_window_is_an_error(pre_cfg, tmp_path):
    raw = tmp_path / "raw"
    write_record(raw, "100", seconds=6, beats=regular_beats(6))
    with pytest.raises(ECGError) as err:
        preprocess_mitbih(raw, tmp_path / "out", pre_cfg, records=["100"])
    assert str(err.value) == "record 100: 6.0 s of signal is shorter than one 10.0 s window"
    assert not (tmp_path / "out").exists()


def test_truncated_record_stops_the_run_before_writing(tiny_mirror, pre_cfg, tmp_path):
    raw = Path(shutil.copytree(tiny_mirror, tmp_path / "raw"))
    dat = raw / "203.dat"
    dat.write_bytes(dat.read_bytes()[:1000])
    with pytest.raises(ECGError, match=rf"^{dat}: truncated \(1000 bytes"):
        preprocess_mitbih(raw, tmp_path / "out", pre_cfg)
    assert not (tmp_path / "out").exists()


def test_record_without_detected_beats_is_an_error(tiny_mirror, pre_cfg, tiny_beats, tmp_path):
    beats = {r: b for r, b in tiny_beats.items() if r != "101"}
    with pytest.raises(ECGError) as err:
        preprocess_mitbih(
            tiny_mirror, tmp_path / "out", pre_cfg, records=["100", "101"], beats=beats
        )
    assert str(err.value) == "record 101: no detected beats (rerun the detect stage)"
    assert not (tmp_path / "out").exists()


def test_every_window_under_the_threshold_is_an_error(tiny_mirror, pre_cfg, tmp_path, monkeypatch):
    lower_sqi(monkeypatch, {r: dict.fromkeys(range(6), 0.0) for r in ("100", "101")})
    with (
        pytest.warns(UserWarning, match="every window is under sqi_threshold"),
        pytest.raises(ECGError) as err,
    ):
        preprocess_mitbih(tiny_mirror, tmp_path / "out", pre_cfg, records=["100", "101"])
    assert str(err.value) == f"{tiny_mirror}: every window is under preprocess.sqi_threshold"
    assert not (tmp_path / "out").exists()


def test_failure_leaves_the_earlier_output_untouched(tiny_mirror, pre_cfg, tiny_beats, tmp_path):
    out = tmp_path / "out"
    preprocess_mitbih(tiny_mirror, out, pre_cfg, records=["100", "101"], beats=tiny_beats)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert sorted(before) == OUTPUT_FILES
    with pytest.raises(ECGError, match="record 104"):
        preprocess_mitbih(tiny_mirror, out, pre_cfg, records=["103", "104"], beats=tiny_beats)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert names(tmp_path) == ["out"]  # no temporary folder left beside it


def test_failure_while_writing_leaves_the_earlier_output_untouched(
    tiny_mirror, pre_cfg, tiny_beats, tmp_path, monkeypatch
):
    # the raw window file is written, then writing the beat file fails: neither fresh file
    # may replace, or sit beside, the earlier pair
    out = tmp_path / "out"
    preprocess_mitbih(tiny_mirror, out, pre_cfg, records=["100", "101"], beats=tiny_beats)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    real_save = ecg.data.build.save_mitbih

    def save(path, **arrays):
        if Path(path).name == "windows_beats.pt":
            raise ECGError(f"{path}: cannot write (no space left on the device)")
        real_save(path, **arrays)

    monkeypatch.setattr(ecg.data.build, "save_mitbih", save)
    with pytest.raises(ECGError, match="windows_beats.pt: cannot write"):
        preprocess_mitbih(tiny_mirror, out, pre_cfg, records=["103"], beats=tiny_beats)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert names(tmp_path) == ["out"]


def test_success_replaces_the_earlier_output_whole(tiny_mirror, pre_cfg, tiny_beats, tmp_path):
    # files of an earlier layout (the old train/val/test split), and a beat file of other
    # windows, must not survive beside the fresh windows_ecg.pt
    out = tmp_path / "out"
    preprocess_mitbih(tiny_mirror, out, pre_cfg, records=["100", "101"], beats=tiny_beats)
    for stale in ("train_ecg.pt", "val_ecg.pt", "test_beats.pt"):
        (out / stale).write_bytes(b"stale")
    preprocess_mitbih(tiny_mirror, out, pre_cfg, records=["103"])
    assert names(out) == ["windows_ecg.pt"]
    assert set(load(out)["record_ids"]) == {"103"}
    assert names(tmp_path) == ["out"]


def run_stage(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "stages.preprocess", "--params", str(ROOT / "params.yaml"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        timeout=120,
    )  # bytes, not text=True: universal newlines would turn tqdm's CRs into line breaks


def test_preprocess_stage_writes_the_file_and_metrics(tiny_mirror, tmp_path):
    # run from tmp_path: the stage also writes metrics/timings/preprocess.json under its cwd
    out, metrics_path = tmp_path / "out", tmp_path / "m" / "preprocess.json"
    proc = run_stage(
        *("--raw_dir", str(tiny_mirror), "--out_dir", str(out), "--metrics", str(metrics_path)),
        *("--beats", "none", "--records", "100", "201", "202"),
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert names(out) == ["windows_ecg.pt"]
    metrics = json.loads(metrics_path.read_text())
    assert set(metrics) == METRIC_KEYS and metrics["subjects"] == 2
    assert record_blocks(load(out)) == ["100", "201", "202"]
    last = proc.stdout.decode().strip().splitlines()[-1]
    kept, total = metrics["windows_kept"], metrics["windows_total"]
    assert total == 18
    assert re.fullmatch(
        rf"preprocess: {kept}/{total} windows pass SQI \(.*\) from 2 subjects", last
    )


def test_preprocess_stage_fails_with_one_error_line(tiny_mirror, tmp_path):
    raw = Path(shutil.copytree(tiny_mirror, tmp_path / "raw"))
    (raw / "119.atr").unlink()
    metrics = tmp_path / "metrics" / "preprocess.json"
    proc = run_stage(
        *("--raw_dir", str(raw), "--out_dir", str(tmp_path / "out"), "--metrics", str(metrics)),
        # this test is about the missing .atr, not the detect stage's output
        *("--beats", "none"),
    )
    stderr = proc.stderr.decode()
    assert proc.returncode == 2
    assert "Traceback" not in stderr
    # tqdm redraws its bar with carriage returns: keep what a terminal would show
    lines = [ln.rsplit("\r", 1)[-1] for ln in stderr.split("\n")]
    lines = [ln for ln in lines if ln.strip()]
    # Not a terminal: any progress as plain lines, then the error on a line of its own
    # (a tqdm bar left open as the error propagates would be redrawn around it).
    assert lines[-1] == f"error: {raw}/119.atr: file not found", stderr
    assert all(re.fullmatch(r"preprocess: \d+/\d+ records", ln) for ln in lines[:-1]), stderr
    assert not metrics.exists() and not (tmp_path / "out").exists()


def test_preprocess_stage_names_a_missing_beats_file(tiny_mirror, tmp_path):
    proc = run_stage(
        *("--raw_dir", str(tiny_mirror), "--out_dir", str(tmp_path / "out")),
        *("--metrics", str(tmp_path / "m.json"), "--beats", str(tmp_path / "nope.pt")),
    )
    stderr = proc.stderr.decode()
    assert proc.returncode == 2 and "Traceback" not in stderr
    assert f"{tmp_path / 'nope.pt'}: detected beats not found" in stderr
    assert not (tmp_path / "out").exists()


# --- the real database (MITDB_DIR) ------------------------------------------------------


@pytest.fixture(scope="module")
def real_run(mitdb_dir, pre_cfg, in_process, tmp_path_factory):
    out = tmp_path_factory.mktemp("mitbih_processed")
    return preprocess_mitbih(mitdb_dir, out, pre_cfg), out


@pytest.mark.realdata
def test_real_run_uses_44_records_and_keeps_most_windows(real_run):
    metrics, _ = real_run
    assert metrics["records_used"] == 44 and metrics["records_skipped"] == []
    assert metrics["windows_total"] == 44 * 180  # 30:05 min per record, 10-s windows
    assert metrics["sqi_pass_rate"] >= 0.85
    assert metrics["records_losing_all_windows"] == []
    assert all(r["kept"] > 0 for r in metrics["per_record"].values())
    assert metrics["subjects"] == 43


@pytest.mark.realdata
def test_real_run_file_holds_every_subject_in_record_order(real_run):
    metrics, out = real_run
    assert names(out) == ["windows_ecg.pt"]  # run without detected beats
    data = load(out)
    assert_valid_windows(data, metrics["windows_kept"])
    assert_record_order(data)
    assert record_blocks(data) == UNPACED
    assert len(set(data["patient_ids"])) == 43
    assert data["start_samples"].max() <= 650000 - WIN
    pairs = list(zip(data["record_ids"], data["start_samples"].tolist(), strict=True))
    assert len(set(pairs)) == len(pairs)
    assert float(data["sqi_scores"].min()) >= metrics["sqi_threshold"]
    kept_labels = data["labels"].float().mean()
    assert metrics["arrhythmia_share"] == pytest.approx(float(kept_labels), abs=1e-4)


def _windows_of(out: Path, rid: str) -> tuple[np.ndarray, np.ndarray]:
    data = load(out)
    idx = [i for i, r in enumerate(data["record_ids"]) if r == rid]
    assert idx, f"record {rid} is not in the file"
    return data["start_samples"][idx].numpy(), data["labels"][idx].numpy()


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


@pytest.mark.realdata
def test_real_record_with_real_training_noise(mitdb_dir, nstdb_dir, pre_cfg):
    from ecg.data.augment import noisy_copies

    record = MITDB(mitdb_dir).read("100", lead="MLII")
    noises = load_training_noise(nstdb_dir, ["em"])
    half, fs = noises["em"]
    full, _ = load_nstdb_noise(nstdb_dir, "em")
    assert fs == 360 and len(half) == len(full) // 2  # the first 15 of 30 minutes
    aug = AugmentConfig(copies=1, snr_db=[12.0, 12.0], noises=["em"])
    (noisy,) = noisy_copies(record, pre_cfg, aug, noises, seed=42)
    clean = windows_from_record(record, pre_cfg)
    np.testing.assert_array_equal(noisy.labels, clean.labels)
    assert noisy.beat_input is not None and len(noisy.labels) == len(clean.labels)
    assert np.median(noisy.sqi) < np.median(clean.sqi)  # em at 12 dB is visible to the SQI
