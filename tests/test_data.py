"""Dataset files (MIT-BIH and synthetic formats), ECGDataset and load_dataset."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ecg.core.errors import ECGError
from ecg.data.files import (
    MITBIH_KEYS,
    ECGDataset,
    dataset_from_file,
    detect_format,
    load_dataset,
    read_data_file,
    save_mitbih,
)


def mitbih_arrays(n: int = 6, length: int = 2500) -> dict:
    rng = np.random.default_rng(0)
    return {
        "signals": rng.normal(size=(n, length)),  # float64 in, float32 out
        "labels": np.array([0, 1] * (n // 2), dtype=np.int32),  # int32 in, int64 out
        "patient_ids": ["100"] * (n // 2) + [201] * (n - n // 2),  # int ids become str
        "record_ids": ["100"] * (n // 2) + ["202"] * (n - n // 2),
        "start_samples": np.arange(n) * 3600,
        "segment_confidence": np.linspace(0.5, 1.0, n),
        "sqi_scores": np.linspace(0.7, 0.95, n),
    }


@pytest.fixture
def mitbih_file(tmp_path):
    path = tmp_path / "test_ecg.pt"
    save_mitbih(path, **mitbih_arrays())
    return path


@pytest.fixture
def synthetic_file(tmp_path):
    path = tmp_path / "train_ecg.pt"
    torch.save({"signals": torch.randn(10, 2500), "labels": torch.arange(10) % 2}, path)
    return path


# --- ECGDataset -------------------------------------------------------------------------


def test_dataset_returns_window_and_label():
    ds = ECGDataset(torch.arange(12.0).reshape(3, 4), torch.tensor([0, 1, 0]))
    assert len(ds) == 3
    x, y = ds[1]
    assert x.dtype == torch.float32 and x.tolist() == [4.0, 5.0, 6.0, 7.0]
    assert y.dtype == torch.int64 and int(y) == 1


def test_metadata_keys_only_when_known():
    signals, labels = torch.zeros(2, 4), torch.tensor([0, 1])
    assert ECGDataset(signals, labels).get_metadata(0) == {}
    assert ECGDataset(signals, labels, patient_ids=["100", "201"]).get_metadata(1) == {
        "patient_id": "201"
    }
    ds = ECGDataset(signals, labels, sqi_scores=torch.tensor([0.8, 0.9]))
    assert ds.get_metadata(0) == {"sqi": pytest.approx(0.8)}
    full = ECGDataset(
        signals,
        labels,
        patient_ids=["100", "201"],
        segment_confidence=torch.tensor([0.25, 0.75]),
        sqi_scores=torch.tensor([0.8, 0.9]),
    )
    meta = full.get_metadata(1)
    assert meta == {"patient_id": "201", "confidence": 0.75, "sqi": pytest.approx(0.9)}
    assert isinstance(meta["confidence"], float) and isinstance(meta["sqi"], float)


def test_dataset_with_mismatched_lengths_is_an_error():
    with pytest.raises(ECGError, match="3 signals but 2 labels"):
        ECGDataset(torch.zeros(3, 4), torch.tensor([0, 1]))


# --- file formats -----------------------------------------------------------------------


def test_save_mitbih_round_trip(mitbih_file):
    arrays = mitbih_arrays()
    data = torch.load(mitbih_file, weights_only=True)
    assert set(data) == MITBIH_KEYS
    assert data["signals"].dtype == torch.float32 and data["signals"].shape == (6, 2500)
    np.testing.assert_allclose(data["signals"].numpy(), arrays["signals"], rtol=1e-6)
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


def test_load_dataset_reads_the_mitbih_format(mitbih_file):
    data = read_data_file(mitbih_file)
    assert detect_format(data) == "mitbih"
    loader = load_dataset(mitbih_file, batch_size=4)
    x, y = next(iter(loader))
    assert x.shape == (4, 2500) and x.dtype == torch.float32
    assert y.tolist() == [0, 1, 0, 1]
    ds = loader.dataset
    assert ds.get_metadata(5) == {
        "patient_id": "201",
        "confidence": pytest.approx(1.0),
        "sqi": pytest.approx(0.95),
    }
    assert sum(len(b[1]) for b in loader) == 6


def test_load_dataset_reads_the_synthetic_format(synthetic_file):
    assert detect_format(torch.load(synthetic_file, weights_only=True)) == "synthetic"
    loader = load_dataset(synthetic_file, batch_size=3, drop_last=True)
    batches = list(loader)
    assert len(batches) == 3 and all(x.shape == (3, 2500) for x, _ in batches)
    assert loader.dataset.get_metadata(0) == {}


def test_shuffle_order_is_fixed_by_seed(synthetic_file):
    def order(seed):
        return torch.cat([y for _, y in load_dataset(synthetic_file, 2, True, seed=seed)])

    torch.save({"signals": torch.zeros(10, 5), "labels": torch.arange(10)}, synthetic_file)
    assert order(3).tolist() == order(3).tolist()
    assert sorted(order(3).tolist()) == list(range(10))
    assert any(order(3).tolist() != order(s).tolist() for s in (4, 5, 6))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"x": torch.zeros(2, 3), "y": torch.zeros(2)}, r"not an ECG dataset file \(keys"),
        ({"signals": torch.zeros(2, 3)}, r"missing \['labels'\]"),
        (
            {"signals": torch.zeros(2, 3), "labels": torch.zeros(2), "patient_ids": ["1", "2"]},
            r"missing \['record_ids', 'segment_confidence', 'sqi_scores', 'start_samples'\]",
        ),
        ([torch.zeros(2, 3), torch.zeros(2)], r"expected a dict, got list"),
        (torch.zeros(2, 3), r"expected a dict, got Tensor"),
        ({"signals": torch.zeros(6), "labels": torch.zeros(6)}, r"'signals' must be a 2-D"),
        ({"signals": torch.zeros(2, 3), "labels": torch.zeros(3)}, r"'labels' must be a tensor"),
    ],
)
def test_file_of_neither_format_is_a_clear_error(tmp_path, content, message):
    path = tmp_path / "odd.pt"
    torch.save(content, path)
    with pytest.raises(ECGError, match=message) as err:
        load_dataset(path)
    assert str(err.value).startswith(f"{path}: ") and "\n" not in str(err.value)


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
    torch.save({"signals": torch.zeros(2, 3), "labels": torch.zeros(2), "x": Exception()}, path)
    with pytest.raises(ECGError, match="refused: it holds pickled Python objects") as err:
        read_data_file(path)
    assert "weights_only=False" not in str(err.value)  # never advise an unsafe load
