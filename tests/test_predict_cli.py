"""`ecg-snn predict` as a user runs it: a WFDB record at 250 Hz with lead II and no
annotations, an EDF and a CSV; outputs read back with wfdb; the CSV's '#' lines and columns,
the JSON document; one-line errors, no partial outputs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import wfdb

from ecg.cli.main import main
from ecg.core.storage import file_sha256
from ecg.inference import load_model, score_record
from tests.deployable import write_deployable
from tests.test_inference import ecg_at, write_edf
from tests.wfdb_records import write_record


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ecg.cli.main", *args], capture_output=True, text=True
    )


@pytest.fixture(scope="module")
def record(tmp_path_factory) -> Path:
    """60 s at 250 Hz, leads II and V1, no .atr."""
    x = ecg_at(250, 60)
    base = write_record(tmp_path_factory.mktemp("rec"), "pt7", seconds=60, fs=250,
                        sig_names=("II", "V1"), p_signal=np.stack([x, 0.5 * x], 1))  # fmt: skip
    base.with_suffix(".atr").unlink()
    return base


@pytest.fixture(scope="module")
def model_path(tmp_path_factory, record) -> Path:
    """A model whose threshold flags some of `record`'s windows and not others."""
    folder = tmp_path_factory.mktemp("model")
    probe = load_model(write_deployable(folder / "probe.pt"))
    x = wfdb.rdrecord(str(record), channels=[0]).p_signal[:, 0]
    p = np.sort(score_record(x, 250, probe).probability)
    return write_deployable(folder / "model.pt", threshold=float((p[2] + p[3]) / 2))


def test_predict_writes_csv_annotations_and_plot_that_read_back(record, model_path, tmp_path):
    assert main(["predict", str(record), "--model", str(model_path), "--lead", "II",
                 "--out", str(tmp_path)]) == 0  # fmt: skip
    text = (tmp_path / "pt7_windows.csv").read_text().splitlines()
    notes = [line for line in text if line.startswith("#")]
    lines = text[len(notes) :]
    assert notes == [
        f"# model: {model_path} (sha256 {file_sha256(model_path)[:12]}), threshold "
        f"{load_model(model_path).threshold:.4f}",
        f"# record: {record}, lead II, 250 Hz (header), mains notch 60 Hz",
    ]
    assert lines[0] == (
        "start_s,end_s,status,probability,flag,sqi,low_quality,gap_s,beats,heart_rate,verdict"
    )
    rows = [dict(zip(lines[0].split(","), r.split(","), strict=True)) for r in lines[1:]]
    assert [float(r["start_s"]) for r in rows] == [0, 10, 20, 30, 40, 50]
    flagged = [float(r["start_s"]) for r in rows if r["flag"] == "1"]
    assert 0 < len(flagged) < len(rows)
    assert [r["status"] for r in rows] == [
        "arrhythmia" if r["flag"] == "1" else "normal" for r in rows
    ]
    assert [r["verdict"] for r in rows] == [r["status"] for r in rows]
    assert {(r["low_quality"], r["gap_s"]) for r in rows} == {("0", "0.0")}
    assert all(70 < float(r["heart_rate"]) < 80 for r in rows)
    ann = wfdb.rdann(str(tmp_path / "pt7"), "snn")
    assert ann.fs == 250 and set(ann.symbol) == {"+"} and ann.sample[0] == 0
    # the rhythm in force at each window's start says whether it was flagged
    state = [ann.aux_note[np.searchsorted(ann.sample, float(r["start_s"]) * 250, "right") - 1]
             for r in rows]  # fmt: skip
    assert state == [{"1": "(ARR", "0": "(N"}[r["flag"]] for r in rows]
    assert (tmp_path / "pt7.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(tmp_path.glob(".*")), "temporary files left behind"


def test_predict_edf_and_csv_with_json(model_path, tmp_path, capsys):
    x = ecg_at(500, 30)
    edf = write_edf(tmp_path / "holter.edf", {"ECG": x}, 500)
    csv = tmp_path / "strip.csv"
    csv.write_text("lead_I,lead_II\n" + "".join(f"{-v},{v}\n" for v in ecg_at(200, 25)))
    out = str(tmp_path / "out")
    code = main(["predict", str(edf), "--lead", "lead_II", str(csv), "--fs", "200",
                 "--model", str(model_path), "--out", out, "--json", "--no-plot"])  # fmt: skip
    doc = json.loads(capsys.readouterr().out)
    # the EDF has no lead_II: one failure, the CSV still scored, exit 2
    assert code == 2
    assert doc["model"] == str(model_path) and doc["threshold"] == load_model(model_path).threshold
    first, second = doc["records"]
    assert first == {"record": str(edf), "error": f"{edf}: no lead 'lead_II' (channels: ECG)"}
    # "lead_II" is the model's lead (MLII ~ II): the stem names no lead
    assert (second["record"], second["name"], second["lead"], second["fs"]) == (
        str(csv), "strip", "lead_II", 200.0)  # fmt: skip
    assert [w["start_s"] for w in second["windows"]] == [0.0, 10.0]
    assert second["summary"]["windows"] == 2 and second["gaps"] == []
    assert set(second["outputs"]) == {"windows", "annotations"}  # --no-plot
    assert (tmp_path / "out" / "strip_windows.csv").is_file()
    assert not list((tmp_path / "out").glob("holter*"))
    # an EDF states its rate: --fs (for files that state none) is no error, and not used
    capsys.readouterr()
    assert main(["predict", str(edf), "--fs", "250", "--model", str(model_path),
                 "--out", str(tmp_path / "out"), "--no-plot"]) == 0  # fmt: skip
    assert wfdb.rdann(str(tmp_path / "out" / "holter_lead-ECG"), "snn").fs == 500
    assert "holter_lead-ECG (lead ECG): 3 windows" in capsys.readouterr().out


def test_no_plot_never_imports_matplotlib(record, model_path, tmp_path):
    code = (
        "import sys; from ecg.cli.main import main; "
        f"code = main(['predict', {str(record)!r}, '--model', {str(model_path)!r}, "
        f"'--out', {str(tmp_path)!r}, '--no-plot']); print(code, 'matplotlib' in sys.modules)"
    )
    root = Path(__file__).resolve().parents[1]  # this checkout's ecg, not an installed one
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root)
    assert result.stdout.split()[-2:] == ["0", "False"], result.stderr
    assert not list(tmp_path.glob("*.png"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "nowhere.pt"], "nowhere.pt: model file not found"),
        (["--lead", "V9"], r"no lead 'V9' \(channels: II, V1\)"),
        (["--fs", "-5"], "--fs: must be a positive rate"),
        (["--lead-index", "2"], r"no channel index 2 \(channels: II, V1\)"),
        (["--zoom", "-1"], "--zoom: must be 0 or more"),
    ],
)
def test_predict_errors_are_one_line(record, model_path, tmp_path, args, message):
    argv = ["predict", str(record), "--model", str(model_path), "--out", str(tmp_path / "o")]
    result = run_cli(*argv, *args)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert __import__("re").search(message, result.stderr), result.stderr
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_the_console_script_is_installed():
    exe = shutil.which("ecg-snn")
    assert exe, "pip install -e . installs ecg-snn"
    result = subprocess.run([exe, "predict", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "--lead" in result.stdout
