"""Dataset files (MIT-BIH and synthetic formats), `ECGDataset` and `load_windows`."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ecg.core.errors import ECGError
from ecg.data.files import (
    MITBIH_KEYS,
    ECGDataset,
    check_format,
    dataset_from_file,
    load_windows,
    read_data_file,
    save_mitbih,
    windows_file,
)


def mitbih_arrays(n: int = 6, length: int = 2500) -> dict:
    rng = np.random.default_rng(0)
    return {
        "inputs": rng.normal(size=(n, length)),  # float64 in, float32 out
        "labels": np.array([0, 1] * (n // 2), dtype=np.int32),  # int32 in, int64 out
        "patient_ids": ["100"] * (n // 2) + [201] * (n - n // 2),  # int ids become str
        "record_ids": ["100"] * (n // 2) + ["202"] * (n - n // 2),
        "start_samples": np.arange(n) * 3600,
        "segment_confidence": np.linspace(0.5, 1.0, n),
        "sqi_scores": np.linspace(0.7, 0.95, n),
    }


@pytest.fixture
def mitbih_file(tmp_path):
    path = tmp_path / "windows_ecg.pt"
    save_mitbih(path, **mitbih_arrays())
    return path


@pytest.fixture
def synthetic_file(tmp_path):
    path = tmp_path / "train_ecg.pt"
    torch.save({"inputs": torch.randn(10, 2500), "labels": torch.arange(10) % 2}, path)
    return path


# --- ECGDataset -------------------------------------------------------------------------


def test_dataset_holds_float_inputs_and_integer_labels():
    ds = ECGDataset(np.arange(12.0).reshape(3, 4), np.array([0, 1, 0], dtype=np.int32))
    assert len(ds) == 3
    assert ds.inputs.dtype == torch.float32 and ds.inputs[1].tolist() == [4.0, 5.0, 6.0, 7.0]
    assert ds.labels.dtype == torch.int64 and ds.labels.tolist() == [0, 1, 0]
    assert ds.patient_ids is ds.record_ids is ds.start_samples is ds.sqi_scores is None


def test_dataset_with_mismatched_lengths_is_an_error():
    with pytest.raises(ECGError, match="3 inputs but 2 labels"):
        ECGDataset(torch.zeros(3, 4), torch.tensor([0, 1]))


@pytest.mark.parametrize("rows", [np.array([4, 1, 1]), [4, 1, 1]])
def test_subset_takes_the_rows_in_order_with_their_metadata(rows):
    ds = ECGDataset(
        torch.arange(10.0).reshape(5, 2),
        torch.tensor([0, 1, 0, 1, 1]),
        patient_ids=["100", "101", "103", "201", "201"],
        record_ids=["100", "101", "103", "201", "202"],
        start_samples=torch.tensor([0, 10, 20, 30, 40]),
        sqi_scores=torch.tensor([0.7, 0.8, 0.9, 0.95, 1.0]),
    )
    sub = ds.subset(rows)
    assert len(sub) == 3
    assert sub.inputs.tolist() == [[8.0, 9.0], [2.0, 3.0], [2.0, 3.0]]
    assert sub.labels.tolist() == [1, 1, 1]
    assert sub.patient_ids == ["201", "101", "101"]
    assert sub.record_ids == ["202", "101", "101"]
    assert sub.start_samples.tolist() == [40, 10, 10]
    assert sub.sqi_scores.tolist() == pytest.approx([1.0, 0.8, 0.8])
    assert len(ds) == 5 and ds.record_ids[4] == "202"  # the original is untouched


def test_subset_of_a_dataset_without_metadata_has_none():
    sub = ECGDataset(torch.zeros(4, 3), torch.tensor([0, 1, 0, 1])).subset(np.array([3, 0]))
    assert sub.labels.tolist() == [1, 0]
    assert sub.patient_ids is sub.record_ids is sub.start_samples is sub.sqi_scores is None


def test_empty_subset():
    ds = ECGDataset(torch.zeros(4, 3), torch.tensor([0, 1, 0, 1]), patient_ids=list("abcd"))
    sub = ds.subset(np.array([], dtype=np.int64))
    assert len(sub) == 0 and sub.inputs.shape == (0, 3) and sub.patient_ids == []


# --- file formats -----------------------------------------------------------------------


def test_save_mitbih_round_trip(mitbih_file):
    arrays = mitbih_arrays()
    data = torch.load(mitbih_file, weights_only=True)
    assert set(data) == MITBIH_KEYS
    assert data["inputs"].dtype == torch.float32 and data["inputs"].shape == (6, 2500)
    np.testing.assert_allclose(data["inputs"].numpy(), arrays["inputs"], rtol=1e-6)
    assert data["labels"].dtype == torch.int64 and data["labels"].tolist() == [0, 1] * 3
    assert data["patient_ids"] == ["100"] * 3 + ["201"] * 3
    assert data["record_ids"] == ["100"] * 3 + ["202"] * 3
    assert data["start_samples"].dtype == torch.int64
    assert data["start_samples"].tolist() == [0, 3600, 7200, 10800, 14400, 18000]
    for key in ("segment_confidence", "sqi_scores"):
        assert data[key].dtype == torch.float32
        np.testing.assert_allclose(data[key].numpy(), arrays[key], rtol=1e-6)
    assert [p.name for p in mitbih_file.parent.iterdir()] == [mitbih_file.name]  # no temp


def test_save_mitbih_needs_every_key(tmp_path):
    arrays = mitbih_arrays()
    del arrays["sqi_scores"]
    with pytest.raises(ValueError, match="sqi_scores"):
        save_mitbih(tmp_path / "x.pt", **arrays)
    assert not (tmp_path / "x.pt").exists()


def test_mitbih_file_reads_as_a_dataset_with_its_metadata(mitbih_file):
    assert check_format(read_data_file(mitbih_file), mitbih_file) == "mitbih"
    ds = dataset_from_file(mitbih_file)
    assert len(ds) == 6 and ds.inputs.shape == (6, 2500) and ds.inputs.dtype == torch.float32
    assert ds.labels.tolist() == [0, 1] * 3
    assert ds.patient_ids == ["100"] * 3 + ["201"] * 3
    assert ds.record_ids == ["100"] * 3 + ["202"] * 3
    assert ds.start_samples.tolist() == [0, 3600, 7200, 10800, 14400, 18000]
    assert ds.sqi_scores.tolist() == pytest.approx(np.linspace(0.7, 0.95, 6).tolist())


def test_synthetic_file_reads_as_a_dataset_without_metadata(synthetic_file):
    assert check_format(torch.load(synthetic_file, weights_only=True)) == "synthetic"
    ds = dataset_from_file(synthetic_file)
    assert len(ds) == 10 and ds.inputs.shape == (10, 2500)
    assert ds.labels.tolist() == [0, 1] * 5
    assert ds.patient_ids is ds.record_ids is ds.start_samples is ds.sqi_scores is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"x": torch.zeros(2, 3), "y": torch.zeros(2)}, r"not an ECG dataset file \(keys"),
        ({"inputs": torch.zeros(2, 3)}, r"missing \['labels'\]"),
        # a file written before `signals` was renamed `inputs`
        ({"signals": torch.zeros(2, 3), "labels": torch.zeros(2)}, r"missing \['inputs'\]"),
        (
            {"inputs": torch.zeros(2, 3), "labels": torch.zeros(2), "patient_ids": ["1", "2"]},
            r"missing \['record_ids', 'segment_confidence', 'sqi_scores', 'start_samples'\]",
        ),
        ([torch.zeros(2, 3), torch.zeros(2)], r"expected a dict, got list"),
        (torch.zeros(2, 3), r"expected a dict, got Tensor"),
        ({"inputs": torch.zeros(6), "labels": torch.zeros(6)}, r"'inputs' must be a 2-D"),
        ({"inputs": torch.zeros(2, 3), "labels": torch.zeros(3)}, r"'labels' must be a tensor"),
    ],
)
def test_file_of_neither_format_is_a_clear_error(tmp_path, content, message):
    path = tmp_path / "odd.pt"
    torch.save(content, path)
    with pytest.raises(ECGError, match=message) as err:
        dataset_from_file(path)
    assert str(err.value).startswith(f"{path}: ") and "\n" not in str(err.value)


def test_check_format_names_a_default_source():
    with pytest.raises(ECGError, match=r"^<data>: not an ECG dataset file"):
        check_format({"inputs": torch.zeros(2, 3)})


def test_file_that_is_not_a_torch_file_is_an_error(tmp_path):
    path = tmp_path / "notes.pt"
    path.write_text("hello\n")
    with pytest.raises(ECGError, match=rf"^{path}: not a PyTorch data file"):
        read_data_file(path)


def test_missing_data_file_is_an_error(tmp_path):
    with pytest.raises(ECGError, match="data file not found"):
        dataset_from_file(tmp_path / "absent.pt")


def test_file_with_pickled_objects_is_refused(tmp_path):
    # weights_only loading: an arbitrary pickled object is not executed, it is an error
    path = tmp_path / "evil.pt"
    torch.save({"inputs": torch.zeros(2, 3), "labels": torch.zeros(2), "x": Exception()}, path)
    with pytest.raises(ECGError, match="refused: it holds pickled Python objects") as err:
        read_data_file(path)
    assert "weights_only=False" not in str(err.value)  # never advise an unsafe load


# --- the preprocess stage's files: windows_file and load_windows -------------------------


def test_windows_file_names_the_file_of_each_input_kind(tmp_path):
    assert windows_file(tmp_path, "waveform") == tmp_path / "windows_ecg.pt"
    assert windows_file(str(tmp_path), "beats") == tmp_path / "windows_beats.pt"


def test_load_windows_reads_the_file_of_the_input_kind(tmp_path):
    ecg = mitbih_arrays()
    beats = {**ecg, "inputs": np.full((6, 7), 3.0)}  # same rows, another input
    save_mitbih(windows_file(tmp_path, "waveform"), **ecg)
    save_mitbih(windows_file(tmp_path, "beats"), **beats)
    waveform = load_windows(tmp_path, "waveform")
    assert waveform.inputs.shape == (6, 2500)
    by_default = load_windows(tmp_path)  # the beat models are the product: beats
    assert by_default.inputs.shape == (6, 7) and (by_default.inputs == 3.0).all()
    for ds in (waveform, by_default):
        assert ds.labels.tolist() == [0, 1] * 3
        assert ds.patient_ids == ["100"] * 3 + ["201"] * 3
        assert ds.record_ids == ["100"] * 3 + ["202"] * 3


def test_load_windows_without_the_file_names_it(tmp_path):
    save_mitbih(windows_file(tmp_path, "waveform"), **mitbih_arrays())
    with pytest.raises(ECGError, match=rf"^{tmp_path / 'windows_beats.pt'}: data file not found"):
        load_windows(tmp_path, "beats")


def test_load_windows_refuses_a_synthetic_format_file(tmp_path):
    path = windows_file(tmp_path, "waveform")
    torch.save({"inputs": torch.zeros(4, 2500), "labels": torch.zeros(4)}, path)
    with pytest.raises(ECGError, match="synthetic-format file") as err:
        load_windows(tmp_path, "waveform")
    assert str(err.value).startswith(f"{path}: ") and "\n" not in str(err.value)
