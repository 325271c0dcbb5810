"""`ecg-snn predict` as a user runs it: a WFDB record at 250 Hz with lead II and no
annotations, an EDF and a CSV; outputs read back with wfdb; the CSV's '#' lines and columns,
the JSON document; a beat model's beat classes and rhythms, and a DeepSNN's window flags, in
all three; one-line errors, no partial outputs."""

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
from ecg.inference.beat_classes import READOUT_COLUMNS
from ecg.inference.outputs import RHYTHM_NOTES
from ecg.inference.scoring import COLUMNS
from tests.deployable import write_deployable
from tests.test_inference import ecg_at, write_edf
from tests.wfdb_records import regular_beats, write_record

AAMI = {"N", "S", "V", "F"}


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
        "start_s,end_s,status,probability,flag,sqi,low_quality,gap_s,beats,heart_rate,verdict,"
        "rhythm,s_beats,v_beats,f_beats"
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
    assert ann.fs == 250 and ann.symbol[0] == "+" and ann.sample[0] == 0
    assert set(ann.symbol) <= AAMI | {"+"}

    # the rhythm in force at each window's start: "(N" for a normal window; for an alarm, the
    # rhythm the model names, or "(ARR" when neither it nor an ectopic beat says what it is
    def note(r: dict) -> str:
        if r["verdict"] == "normal":
            return "(N"
        ectopic = sum(int(r[k]) for k in ("s_beats", "v_beats", "f_beats"))
        return RHYTHM_NOTES[r["rhythm"]] if r["rhythm"] != "sinus" or ectopic else "(ARR"

    assert rhythm_in_force(ann, rows, 250) == [note(r) for r in rows]
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


def rhythm_in_force(ann, windows, fs: float) -> list[str]:
    """The rhythm note in force at each window's start."""
    plus = [i for i, s in enumerate(ann.symbol) if s == "+"]
    samples, notes = ann.sample[plus], [ann.aux_note[i] for i in plus]
    return [notes[np.searchsorted(samples, float(w["start_s"]) * fs, "right") - 1]
            for w in windows]  # fmt: skip


def csv_rows(path: Path) -> list[dict[str, str]]:
    head, *body = [line for line in path.read_text().splitlines() if not line.startswith("#")]
    assert head.split(",") == list(COLUMNS + READOUT_COLUMNS)
    return [dict(zip(head.split(","), line.split(","), strict=True)) for line in body]


def test_a_beat_model_annotates_every_classified_beat_and_names_rhythms(tmp_path, capsys):
    """500 Hz with three V beats; an untrained readout without its prior, so that classes and
    rhythms vary: the .snn, the CSV and the JSON say the same beats and rhythms."""
    fs, seconds = 500, 60
    truth = regular_beats(seconds, fs=fs, rr=0.8)
    for i in (10, 30, 50):
        truth[i] = (truth[i][0], "V")
    base = write_record(tmp_path / "rec", "vb", seconds=seconds, fs=fs, beats=truth)
    model = write_deployable(tmp_path / "flat.pt", flat_readout=True)
    out = tmp_path / "out"
    assert main(["predict", str(base), "--model", str(model), "--out", str(out), "--json"]) == 0
    (record,) = json.loads(capsys.readouterr().out)["records"]
    windows, summary = record["windows"], record["summary"]
    assert [w["start_s"] for w in windows] == [0, 10, 20, 30, 40, 50]

    ann = wfdb.rdann(str(out / "vb"), "snn")
    assert ann.fs == fs and ann.sample[0] == 0 and ann.symbol[0] == "+"
    is_beat = np.array([s != "+" for s in ann.symbol])
    beat_samples = ann.sample[is_beat]
    symbols = [s for s in ann.symbol if s != "+"]
    assert set(symbols) <= AAMI and set(symbols) & {"S", "V", "F"}
    assert np.all(np.diff(ann.sample) >= 0) and ann.sample.min() >= 0
    assert ann.sample.max() < seconds * fs
    # at the recording's rate: every beat annotation lies on a beat of the record
    true_samples = np.array([b for b, _ in truth])
    nearest = np.abs(beat_samples[:, None] - true_samples[None, :]).min(1)
    assert nearest.max() <= 0.05 * fs
    # one annotation per classified beat: every beat of these short, readable windows
    per_window = np.histogram(beat_samples, bins=np.arange(0, seconds + 10, 10) * fs)[0]
    assert list(per_window) == [w["beats"] for w in windows]
    assert summary["classified_beats"] == len(symbols)
    assert set(n for i, n in enumerate(ann.aux_note) if not is_beat[i]) <= set(
        RHYTHM_NOTES.values())  # fmt: skip
    assert rhythm_in_force(ann, windows, fs) == [RHYTHM_NOTES[w["rhythm"]] for w in windows]

    rows = csv_rows(out / "vb_windows.csv")
    for c in "svf":
        key = f"{c}_beats"
        assert [int(r[key]) for r in rows] == [w[key] for w in windows]
        assert sum(w[key] for w in windows) == summary[key] == symbols.count(c.upper())
    assert [r["rhythm"] for r in rows] == [w["rhythm"] for w in windows]
    assert (out / "vb.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["predict", str(base), "--model", str(model), "--out", str(out), "--no-plot"]) == 0
    counts = f"(S {summary['s_beats']}, V {summary['v_beats']}, F {summary['f_beats']}); "
    assert f"{summary['beats']} beats {counts}" in capsys.readouterr().out


def test_a_model_without_readouts_annotates_its_flags(record, tmp_path, capsys):
    """A DeepSNN product has no beat or rhythm readout: "(ARR"/"(N" per window's flag, no
    beat annotations, empty readout columns, None in the JSON."""
    model = write_deployable(tmp_path / "deep.pt", arch="deep", threshold=0.0)
    out = tmp_path / "out"
    assert main(["predict", str(record), "--model", str(model), "--out", str(out),
                 "--no-plot", "--json"]) == 0  # fmt: skip
    (result,) = json.loads(capsys.readouterr().out)["records"]
    ann = wfdb.rdann(str(out / "pt7"), "snn")
    assert set(ann.symbol) == {"+"} and ann.aux_note == ["(ARR"]
    assert all(w[c] is None for w in result["windows"] for c in READOUT_COLUMNS)
    assert all(result["summary"][c] is None for c in ("classified_beats", *READOUT_COLUMNS[1:]))
    assert all(r[c] == "" for r in csv_rows(out / "pt7_windows.csv") for c in READOUT_COLUMNS)


def test_the_plot_marks_ectopic_beats_by_class(tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ecg.inference.plot import write_plot
    from ecg.inference.recording import Recording

    fs = 250
    x = ecg_at(fs, 30)
    scores = score_record(x, fs, load_model(write_deployable(tmp_path / "m.pt",
                                                             flat_readout=True)))  # fmt: skip
    figures = []
    monkeypatch.setattr(plt, "close", figures.append)  # keep the figure to look at
    write_plot(scores, Recording("r", x, float(fs), "II", ["II"], "mV"), tmp_path / "r.png",
               zoom=1)  # fmt: skip
    (fig,) = figures
    main_ax, _, strip = fig.axes
    counts = scores.summary()
    legend = [t.get_text() for t in main_ax.get_legend().get_texts()]
    legend = [t for t in legend if " beats (" in t]  # after the verdicts and the hatching
    expected = [f"{c} beats ({counts[f'{c.lower()}_beats']})" for c in "SVF"]
    assert legend == [e for e in expected if not e.endswith("(0)")] and legend
    a, b = strip.get_xlim()
    inside = (scores.beat_times_s >= a) & (scores.beat_times_s <= b) & (scores.beat_class > 0)
    letters = sorted(t.get_text() for t in strip.texts)
    assert letters == sorted("NSVF"[c] for c in scores.beat_class[inside])
    plt.close(fig)
