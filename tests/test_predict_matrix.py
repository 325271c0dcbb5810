"""`ecg-snn predict` against the issue's table of what went wrong for users, one test (or
parametrized case) per row: model lookup from any folder, odd file names, a .pt that is no
model, gaps in the signal, mains hum, a record that breaks between runs, an exception or a
Ctrl-C in the middle of a batch, the plot's low-quality hatching, flat-line dropouts,
12-lead EDF files, the JSON document with mixed formats and rates, and `--version`.

Every run is isolated from a real model: `REPO_MODEL` points into a temporary folder (in
subprocesses too) and HOME / XDG_DATA_HOME are temporary folders.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import wfdb

from ecg.cli.main import main
from ecg.core.cli import run_cli
from ecg.core.storage import file_sha256
from ecg.inference import load_model, model_lookup, score_record
from ecg.inference.beat_classes import READOUT_COLUMNS
from ecg.inference.outputs import RHYTHM_NOTES
from ecg.inference.recording import Recording
from ecg.inference.scoring import COLUMNS, STATUS, RecordScores
from tests.deployable import write_deployable
from tests.test_inference import ecg_at, write_edf
from tests.wfdb_records import write_record

SAFE = re.compile(r"[A-Za-z0-9_-]+")
TWELVE = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")

# `ecg-snn` with the repository's own model out of sight: argv[1] is where REPO_MODEL points.
ISOLATED = (
    "import sys, pathlib\n"
    "import ecg.inference.model_lookup as lookup\n"
    "lookup.REPO_MODEL = pathlib.Path(sys.argv[1])\n"
    "from ecg.cli.main import cli\n"
    "sys.argv = ['ecg-snn', *sys.argv[2:]]\n"
    "cli()\n"
)


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path) -> dict[str, str]:
    """No repository model, a private user data folder, no $ECG_SNN_MODEL; the environment
    for subprocesses."""
    home = tmp_path / "home"
    monkeypatch.setattr(model_lookup, "REPO_MODEL", tmp_path / "repo" / "models/final/model.pt")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local/share"))
    monkeypatch.delenv(model_lookup.ENV_VAR, raising=False)
    return dict(os.environ)


def ecg_snn(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """`ecg-snn ARGS` in a fresh process, run from `cwd`, without the repository's model."""
    nowhere = str(cwd / "no-repo-model.pt")
    return subprocess.run(
        [sys.executable, "-c", ISOLATED, nowhere, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
    )


def one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: "), result.stderr
    return result.stderr


@pytest.fixture(scope="module")
def model_path(tmp_path_factory) -> Path:
    return write_deployable(tmp_path_factory.mktemp("model") / "model.pt")


@pytest.fixture(scope="module")
def flag_all(tmp_path_factory) -> Path:
    """Threshold 0: every readable window is flagged, so only unreadable ones are not."""
    return write_deployable(tmp_path_factory.mktemp("model0") / "model.pt", threshold=0.0)


def write_csv(path: Path, x: np.ndarray, fs: float | None = 250) -> Path:
    """Columns `sample,II` (NaN: an empty II cell), stating `fs` in a first '#' line."""
    cells = ["" if np.isnan(v) else f"{v:.5f}" for v in x]
    head = f"# fs={fs:g}\n" if fs else ""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(head + "sample,II\n" + "".join(f"{i},{c}\n" for i, c in enumerate(cells)))
    return path


def predict(capsys, *args: str) -> tuple[int, str, str]:
    """`ecg-snn predict ARGS` in this process: (exit status, stdout, stderr)."""
    capsys.readouterr()
    code = main(["predict", *args])
    out, err = capsys.readouterr()
    return code, out, err


def predict_json(capsys, *args: str) -> tuple[int, dict]:
    code, out, _ = predict(capsys, *args, "--json")
    return code, json.loads(out)


def read_windows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """('#' lines, rows) of a `_windows.csv`."""
    text = path.read_text().splitlines()
    notes = [line for line in text if line.startswith("#")]
    head, *body = text[len(notes) :]
    assert head.split(",") == list(COLUMNS + READOUT_COLUMNS)
    return notes, [dict(zip(COLUMNS + READOUT_COLUMNS, line.split(","), strict=True))
                   for line in body]  # fmt: skip


def files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


# -- the model from any folder ---------------------------------------------------------------


def in_process_error(capsys, *argv: str) -> str:
    """`ecg-snn ARGV` as the console script runs it, in this process: its one error line."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        run_cli(main, list(argv))
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.startswith("error: ") and err.count("\n") == 1, err
    return err


def test_predict_from_any_folder_finds_the_model_or_lists_where_it_looked(
    model_path, tmp_path, isolated, capsys, monkeypatch
):
    elsewhere = tmp_path / "elsewhere"
    write_csv(elsewhere / "strip.csv", ecg_at(250, 30))
    data_dir = Path(isolated["XDG_DATA_HOME"]) / "ecg-snn"
    monkeypatch.chdir(elsewhere)

    # nothing anywhere: one line naming every place looked
    err = in_process_error(capsys, "predict", "strip.csv")
    assert "no model found" in err and "install-model" in err
    assert str(model_lookup.REPO_MODEL) in err and str(data_dir / "model.pt") in err
    monkeypatch.setenv(model_lookup.ENV_VAR, str(tmp_path / "gone.pt"))
    err = in_process_error(capsys, "predict", "strip.csv")
    # a model the user named must exist: no other one is used silently instead
    assert f"{tmp_path / 'gone.pt'}: model file not found ($ECG_SNN_MODEL)" in err
    monkeypatch.delenv(model_lookup.ENV_VAR)

    # $ECG_SNN_MODEL, in a fresh process started elsewhere
    env = isolated | {model_lookup.ENV_VAR: str(model_path)}
    result = ecg_snn("predict", "strip.csv", "--no-plot", cwd=elsewhere, env=env)
    assert result.returncode == 0, result.stderr
    notes, rows = read_windows(elsewhere / "predictions" / "strip_windows.csv")
    assert notes[0].startswith(f"# model: {model_path} (sha256 ") and len(rows) == 3

    # the user data folder, after install-model (which refuses what is no model)
    (tmp_path / "junk.pt").write_bytes(b"not a model")
    err = in_process_error(capsys, "install-model", str(tmp_path / "junk.pt"))
    assert "junk.pt" in err and not (data_dir / "model.pt").exists()
    result = ecg_snn("install-model", str(model_path), cwd=elsewhere, env=isolated)
    assert result.returncode == 0 and str(data_dir / "model.pt") in result.stdout
    assert (data_dir / "model.pt").read_bytes() == model_path.read_bytes()
    result = ecg_snn("predict", "strip.csv", "--no-plot", "--out", "o", cwd=elsewhere,
                     env=isolated)  # fmt: skip
    assert result.returncode == 0, result.stderr
    notes, _ = read_windows(elsewhere / "o" / "strip_windows.csv")
    assert notes[0].startswith(f"# model: {data_dir / 'model.pt'} (sha256 ")


# -- file names --------------------------------------------------------------------------------


def test_odd_file_names_get_safe_distinct_stems_that_wfdb_reads(model_path, tmp_path, capsys):
    names = ["rec 100.csv", "rec_100.csv", "rec.100.csv", "x_hum50_0.05.csv",
             "électrocardiogramme ♥ 5.csv", "a/strip.csv", "b/strip.csv"]  # fmt: skip
    paths = [str(write_csv(tmp_path / "in" / n, ecg_at(250, 30))) for n in names]
    out = tmp_path / "out"
    code, doc = predict_json(capsys, *paths, "--model", str(model_path), "--out", str(out),
                             "--no-plot")  # fmt: skip
    assert code == 0
    records = doc["records"]
    assert [r["record"] for r in records] == paths
    stems = [r["name"] for r in records]
    assert len(set(stems)) == len(stems), stems
    assert all(SAFE.fullmatch(s) for s in stems), stems
    assert stems[1] == "rec_100"  # a safe name is kept as it is
    for stem in (stems[0], stems[2]):
        assert re.fullmatch(r"rec_100-[0-9a-f]{6}", stem)
    assert re.fullmatch(r"x_hum50_0_05-[0-9a-f]{6}", stems[3])
    assert re.fullmatch(r"lectrocardiogramme_5-[0-9a-f]{6}", stems[4])
    assert all(re.fullmatch(r"strip-[0-9a-f]{6}", s) for s in stems[5:])
    for stem in stems:
        ann = wfdb.rdann(str(out / stem), "snn")
        assert ann.fs == 250 and ann.sample[0] == 0 and ann.symbol[0] == "+"
        _, rows = read_windows(out / f"{stem}_windows.csv")
        assert len(rows) == 3
    assert files(out) == {f"{s}{e}" for s in stems for e in ("_windows.csv", ".snn")}


# -- a .pt that is no model -------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ["predict", "strip.csv", "--model", "tensor.pt"],
        ["export", "tensor.pt", "--to", "nir", "out.nir"],
        ["install-model", "tensor.pt"],
    ],
    ids=["predict", "export", "install-model"],
)
def test_a_pt_file_holding_a_tensor_is_a_one_line_error(tmp_path, isolated, command):
    torch.save(torch.zeros(3), tmp_path / "tensor.pt")
    write_csv(tmp_path / "strip.csv", ecg_at(250, 30))
    err = one_line_error(ecg_snn(*command, cwd=tmp_path, env=isolated))
    assert "tensor.pt" in err
    assert not (tmp_path / "out.nir").exists() and not (tmp_path / "predictions").exists()


# -- gaps ----------------------------------------------------------------------------------


def test_a_half_second_nan_run_makes_its_window_unreadable(flag_all, tmp_path, capsys):
    fs = 250
    x = ecg_at(fs, 30)
    x[12 * fs : int(12.5 * fs)] = np.nan  # 0.5 s dropout in window 2
    x[25 * fs : 25 * fs + 2] = np.nan  # 2 samples in window 3: filled and scored
    path = write_csv(tmp_path / "gappy.csv", x, fs)
    path.write_text(path.read_text().replace(f"\n{12 * fs + 7},\n", f"\n{12 * fs + 7},nan\n"))
    out = tmp_path / "out"
    code, stdout, _ = predict(capsys, str(path), "--model", str(flag_all), "--out", str(out),
                              "--no-plot")  # fmt: skip
    assert code == 0
    assert "3 windows" in stdout and "2 flagged" in stdout and "1 unreadable" in stdout
    _, rows = read_windows(out / "gappy_windows.csv")
    assert [r["status"] for r in rows] == ["arrhythmia", "unreadable", "arrhythmia"]
    assert [r["flag"] for r in rows] == ["1", "0", "1"]
    assert rows[1]["probability"] == "" and rows[1]["heart_rate"] == ""
    assert all(0 <= float(rows[i]["probability"]) <= 1 for i in (0, 2))
    assert [float(r["gap_s"]) for r in rows] == [0.0, 0.5, 0.008]
    ann = wfdb.rdann(str(out / "gappy"), "snn")
    # WFDB's noise annotation: '~' subtype -1 (unreadable), then 0 (readable again)
    runs = [i for i, s in enumerate(ann.symbol) if s in "+~"]
    assert list(ann.sample[runs]) == [0, 10 * fs, 20 * fs, 20 * fs]
    assert [ann.symbol[i] for i in runs] == ["+", "~", "~", "+"]
    assert [int(ann.subtype[i]) for i in runs] == [0, -1, 0, 0]
    notes = [ann.aux_note[i] for i in runs]
    # the beat model names each alarm window's rhythm, "(ARR" when nothing names it
    assert notes[1:3] == ["(U", ""] and {notes[0], notes[3]} <= {*RHYTHM_NOTES.values()}
    assert [r["verdict"] for r in rows] == ["arrhythmia", "unreadable", "arrhythmia"]
    # the unreadable window's beats get no class
    beats = ann.sample[[s in "NSVF" for s in ann.symbol]]
    assert len(beats) and not np.any((beats >= 10 * fs) & (beats < 20 * fs))

    code, doc = predict_json(capsys, str(path), "--model", str(flag_all), "--out", str(out),
                             "--no-plot")  # fmt: skip
    (record,) = doc["records"]
    assert record["gaps"] == [[12.0, 0.5], [25.0, 0.008]]
    summary = record["summary"]
    assert (summary["unreadable_windows"], summary["flagged"]) == (1, 2)
    assert summary["missing_signal_s"] == 0.508
    assert record["windows"][1] | {"sqi": None} == {
        "start_s": 10.0, "end_s": 20.0, "status": "unreadable", "probability": None, "flag": 0,
        "sqi": None, "low_quality": record["windows"][1]["low_quality"], "gap_s": 0.5,
        "beats": record["windows"][1]["beats"], "heart_rate": None, "verdict": "unreadable",
        "rhythm": None, "s_beats": None, "v_beats": None, "f_beats": None,
    }  # fmt: skip
    assert summary["verdicts"] == {"normal": 0, "arrhythmia": 2, "vt_vf": 0, "unreadable": 1}


def test_a_one_second_flat_line_in_a_wfdb_record_is_unreadable(flag_all, tmp_path, capsys):
    fs = 250
    x = ecg_at(fs, 40)
    x[21 * fs : 22 * fs] = x[21 * fs]  # electrode off: 1 s of one value
    base = write_record(tmp_path, "flat", seconds=40, fs=fs, sig_names=("II",),
                        p_signal=x[:, None])  # fmt: skip
    code, doc = predict_json(capsys, str(base), "--model", str(flag_all), "--out",
                             str(tmp_path / "out"), "--no-plot")  # fmt: skip
    assert code == 0
    windows = doc["records"][0]["windows"]
    assert [w["status"] for w in windows] == ["arrhythmia", "arrhythmia", "unreadable",
                                              "arrhythmia"]  # fmt: skip
    assert windows[2]["probability"] is None and windows[2]["flag"] == 0
    assert windows[2]["gap_s"] == pytest.approx(1.0, abs=0.01)
    assert [w["gap_s"] for w in windows[:2] + windows[3:]] == [0.0, 0.0, 0.0]
    (gap,) = doc["records"][0]["gaps"]
    assert gap == pytest.approx([21.0, 1.0], abs=0.01)


# -- mains ---------------------------------------------------------------------------------


def test_50_hz_hum_is_measured_and_notched(model_path, tmp_path, capsys):
    fs = 500
    x = ecg_at(fs, 60)
    x += 0.3 * np.sin(2 * np.pi * 50 * np.arange(len(x)) / fs)
    path = write_csv(tmp_path / "hum.csv", x, fs)
    out = tmp_path / "out"
    low = {}
    for mains in ("auto", "60"):
        code, doc = predict_json(capsys, str(path), "--mains", mains, "--model",
                                 str(model_path), "--out", str(out), "--no-plot")  # fmt: skip
        assert code == 0
        summary = doc["records"][0]["summary"]
        assert summary["mains_hz"] == (50.0 if mains == "auto" else 60.0)
        low[mains] = summary["low_quality_windows"]
        assert low[mains] == sum(w["low_quality"] for w in doc["records"][0]["windows"])
        notes, _ = read_windows(out / "hum_windows.csv")
        assert notes[1].endswith(f"mains notch {summary['mains_hz']:g} Hz")
    assert low["auto"] < 6
    assert low["60"] > low["auto"]


# -- a record that breaks between runs -------------------------------------------------------


@pytest.mark.parametrize(("lead", "stem"), [(None, "pt7"), ("V1", "pt7_lead-V1")])
def test_rescoring_a_truncated_record_removes_its_earlier_outputs(
    model_path, tmp_path, capsys, lead, stem
):
    fs = 250
    x = ecg_at(fs, 40)
    base = write_record(tmp_path / "rec", "pt7", seconds=40, fs=fs, sig_names=("II", "V1"),
                        p_signal=np.stack([x, 0.5 * x], 1))  # fmt: skip
    other = write_record(tmp_path / "rec", "pt8", seconds=40, fs=fs, sig_names=("II", "V1"),
                         p_signal=np.stack([x, 0.5 * x], 1))  # fmt: skip
    out = tmp_path / "out"
    args = [str(base), str(other), "--model", str(model_path), "--out", str(out)]
    other_lead = ["--lead", "II" if lead else "V1"]  # the same record's other lead's outputs
    assert predict(capsys, *args[:1], *args[2:], *other_lead)[0] == 0
    kept_lead = files(out)
    args += ["--lead", lead] if lead else []
    assert predict(capsys, *args)[0] == 0
    mine = {f"{stem}_windows.csv", f"{stem}.snn", f"{stem}.png"}
    assert mine <= files(out)
    dat = base.with_suffix(".dat")
    dat.write_bytes(dat.read_bytes()[: dat.stat().st_size // 2])
    code, _, err = predict(capsys, *args)
    assert code == 2
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert errors[0] == (
        f"error: {dat}: truncated ({dat.stat().st_size} bytes, header needs "
        f"{2 * dat.stat().st_size} for {40 * fs} samples)"
    )
    assert not mine & files(out), "the earlier outputs of the broken record are stale"
    assert kept_lead <= files(out), "the outputs of the record's other lead stay"
    kept = stem.replace("pt7", "pt8")
    assert {f"{kept}_windows.csv", f"{kept}.snn", f"{kept}.png"} <= files(out)


# -- one record fails in the middle of a batch -----------------------------------------------


@pytest.mark.parametrize("debug", [False, True])
def test_an_unexpected_error_in_one_record_is_one_line_and_the_batch_goes_on(
    model_path, tmp_path, capsys, monkeypatch, debug
):
    paths = [str(write_csv(tmp_path / f"{n}.csv", ecg_at(250, 30))) for n in "abc"]
    out = tmp_path / "out"
    common = ["--model", str(model_path), "--out", str(out), "--no-plot"]
    assert predict(capsys, *paths, *common)[0] == 0  # b's outputs of an earlier run
    import ecg.cli.predict as cli_predict

    real = cli_predict.score_record

    def fails_for_b(signal, fs, model, *, name, **kw):
        if Path(name).name == "b.csv":
            raise RuntimeError("boom")
        return real(signal, fs, model, name=name, **kw)

    monkeypatch.setattr(cli_predict, "score_record", fails_for_b)
    code, stdout, err = predict(capsys, *paths, *common, *(["--debug"] if debug else []))
    assert code == 2
    naming_b = [line for line in err.splitlines() if paths[1] in line]
    hint = "" if debug else " (--debug shows the traceback)"
    assert naming_b == [f"error: {paths[1]}: unexpected RuntimeError: boom{hint}"]
    assert "error: 1 of 3 records failed" in err
    assert ("Traceback" in err and "RuntimeError: boom" in err) == debug
    assert [line.split(" ")[0] for line in stdout.splitlines()] == ["a", "c"]
    assert files(out) == {f"{n}{e}" for n in "ac" for e in ("_windows.csv", ".snn")}

    code, doc = predict_json(capsys, *paths, *common)
    assert code == 2
    assert doc["records"][1] == {
        "record": paths[1],
        "error": f"{paths[1]}: unexpected RuntimeError: boom (--debug shows the traceback)",
    }
    assert [r.get("name") for r in doc["records"]] == ["a", None, "c"]


def test_ctrl_c_while_writing_the_second_record_leaves_none_of_its_files(
    model_path, tmp_path, capsys, monkeypatch
):
    paths = [str(write_csv(tmp_path / f"{n}.csv", ecg_at(250, 30))) for n in "ab"]
    out = tmp_path / "out"
    common = ["--model", str(model_path), "--out", str(out)]
    assert predict(capsys, paths[1], *common, "--no-plot")[0] == 0  # an earlier run of b
    import ecg.inference.outputs as outputs

    real, calls = outputs.write_plot, []

    def interrupted_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(outputs, "write_plot", interrupted_second)
    with pytest.raises(KeyboardInterrupt):
        main(["predict", *paths, *common])
    assert files(out) == {"a_windows.csv", "a.snn", "a.png"}  # no b, no temporary folder
    assert (out / "a.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(read_windows(out / "a_windows.csv")[1]) == 3
    assert wfdb.rdann(str(out / "a"), "snn").sample[0] == 0


# -- the plot ---------------------------------------------------------------------------------


def test_windows_are_coloured_by_verdict_and_low_quality_hatched(tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ecg.inference.plot import write_plot

    fs, n = 250, 4
    x = ecg_at(fs, 10 * n)
    start = np.arange(n) * 10.0
    scores = RecordScores(
        start_s=start, end_s=start + 10, probability=np.array([0.9, 0.2, np.nan, 0.95]),
        flag=np.array([1, 0, 0, 1]), readable=np.array([True, True, False, True]),
        gap_s=np.array([0, 0, 2.0, 0]), sqi=np.array([0.3, 0.4, 0.2, 0.95]),
        beats=np.full(n, 12), heart_rate=np.array([np.nan, 75, np.nan, 75]),
        beat_times_s=np.arange(0.3, 40, 0.8), vt_vf=np.array([False, True, False, False]),
        dominant_hz=np.array([1.2, 4.5, 1.2, 1.2]), gaps=[(21.0, 2.0)], threshold=0.5,
        sqi_threshold=0.7, mains_hz=50.0, duration_s=40.0,
    )  # fmt: skip
    recording = Recording("r", x, float(fs), "II", ["II"], "mV")
    figures, close = [], plt.close
    monkeypatch.setattr(plt, "close", figures.append)  # keep the figure to look at
    write_plot(scores, recording, tmp_path / "r.png", zoom=1)
    assert (tmp_path / "r.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    (fig,) = figures
    main_ax, _, strip = fig.axes  # trace, probabilities, one zoomed strip (of 2 alarms)
    assert list(scores.verdict) == ["unreadable", "vt_vf", "unreadable", "arrhythmia"]

    def spans(ax):
        """(x0, x1, hatch, colour) of every shaded window."""
        out = []
        for p in ax.patches:
            (x0, _), (x1, _) = p.get_bbox().get_points()
            face = p.get_facecolor()  # (0, 0, 0, 0) for facecolor="none"
            colour = matplotlib.colors.to_hex(face, keep_alpha=False) if face[3] else None
            out.append((x0, x1, p.get_hatch(), colour))
        return out

    red, purple, grey = (matplotlib.colors.to_hex(c) for c in ("tab:red", "tab:purple", "0.5"))
    shaded = spans(main_ax)
    hatched = sorted((a, b) for a, b, h, _ in shaded if h == "//")
    assert hatched == [(0, 10), (10, 20), (20, 30)]  # quality below the gate
    filled = sorted((a, b, c) for a, b, h, c in shaded if not h and c)
    # a low-quality window the model flagged is unreadable; a low-quality VT/VF is VT/VF
    assert filled == [(0, 10, grey), (10, 20, purple), (20, 30, grey), (30, 40, red)]
    assert ((10, 20, "//", None) in spans(strip)) and ((10, 20, None, purple) in spans(strip))
    legend = [t.get_text() for t in main_ax.get_legend().get_texts()]
    assert legend == ["arrhythmia", "VT/VF", "unreadable", "signal quality < 0.7"]
    assert main_ax.get_legend().legend_handles[3].get_hatch() == "//"
    close(fig)


# -- 12-lead EDF -------------------------------------------------------------------------------


@pytest.fixture
def twelve_lead(tmp_path) -> Path:
    x = ecg_at(500, 30)
    leads = {n: g * x for n, g in zip(TWELVE, np.linspace(-1, 1.2, 12), strict=True)}
    return write_edf(tmp_path / "ecg12.edf", leads | {"II": x}, 500)


def test_a_12_lead_edf_without_the_model_lead_lists_its_channels(model_path, tmp_path, capsys):
    x = ecg_at(500, 30)
    edf = write_edf(tmp_path / "holter.edf", {f"ECG{i}": x for i in range(1, 13)}, 500)
    code, _, err = predict(capsys, str(edf), "--model", str(model_path), "--out",
                           str(tmp_path / "out"), "--no-plot")  # fmt: skip
    assert code == 2
    channels = ", ".join(f"ECG{i}" for i in range(1, 13))
    assert err == (
        f"error: {edf}: no MLII lead (the model's); pick one with --lead NAME or --lead-index "
        f"N (channels: {channels})\n"
    )
    assert not files(tmp_path / "out")


@pytest.mark.parametrize("lead", [None, "ii", "II", "lead II", "ECG II", "MLII"])
def test_a_12_lead_edf_scores_lead_ii_by_any_of_its_names(
    model_path, twelve_lead, tmp_path, capsys, lead
):
    out = tmp_path / "out"
    args = ["--lead", lead] if lead else []
    code, stdout, _ = predict(capsys, str(twelve_lead), *args, "--model", str(model_path),
                              "--out", str(out), "--no-plot")  # fmt: skip
    assert code == 0
    assert stdout.startswith("ecg12 (lead II): 3 windows")
    notes, _ = read_windows(out / "ecg12_windows.csv")
    assert notes[1].startswith(f"# record: {twelve_lead}, lead II, 500 Hz (header)")


def test_a_12_lead_edf_scored_by_index_and_by_two_leads_keeps_both(
    model_path, twelve_lead, tmp_path, capsys
):
    out = tmp_path / "out"
    common = ["--model", str(model_path), "--out", str(out), "--no-plot"]
    code, stdout, _ = predict(capsys, str(twelve_lead), "--lead-index", "0", *common)
    assert code == 0 and stdout.startswith("ecg12_lead-I (lead I): 3 windows")
    code, doc = predict_json(capsys, str(twelve_lead), "--lead", "v1", *common)
    assert code == 0
    (v1,) = doc["records"]
    assert (v1["name"], v1["lead"]) == ("ecg12_lead-V1", "V1")
    code, doc = predict_json(capsys, str(twelve_lead), "--lead", "ii", *common)
    assert (doc["records"][0]["name"], doc["records"][0]["lead"]) == ("ecg12", "II")
    assert files(out) == {f"ecg12{s}{e}" for s in ("", "_lead-I", "_lead-V1")
                          for e in ("_windows.csv", ".snn")}  # fmt: skip
    notes, _ = read_windows(out / "ecg12_lead-V1_windows.csv")
    assert ", lead V1, 500 Hz" in notes[1]
    assert wfdb.rdann(str(out / "ecg12_lead-V1"), "snn").fs == 500


# -- JSON, mixed formats and rates -------------------------------------------------------------


def test_json_of_a_mixed_batch_with_one_fs(model_path, tmp_path, capsys):
    x360, x500, x250 = ecg_at(360, 30), ecg_at(500, 30), ecg_at(250, 30)
    wfdb_base = write_record(tmp_path, "w", seconds=30, fs=360, sig_names=("MLII",),
                             p_signal=x360[:, None])  # fmt: skip
    edf = write_edf(tmp_path / "e.edf", {"ECG II": x500}, 500)
    bare = write_csv(tmp_path / "bare.csv", x250, None)
    header = write_csv(tmp_path / "hdr.csv", ecg_at(200, 30), 200)
    side = write_csv(tmp_path / "side.csv", ecg_at(300, 30), None)
    (tmp_path / "side.csv.json").write_text('{"fs": 300}')
    np.save(tmp_path / "arr.npy", ecg_at(128, 30))
    (tmp_path / "arr.npy.json").write_text(json.dumps({"fs": 128}))
    records = [str(p) for p in (wfdb_base, edf, bare, header, side, tmp_path / "arr.npy")]
    out = tmp_path / "out"
    code, doc = predict_json(capsys, *records, "--fs", "250", "--model", str(model_path),
                             "--out", str(out), "--no-plot")  # fmt: skip
    assert code == 0
    assert set(doc) == {"model", "threshold", "records"}
    assert (doc["model"], doc["threshold"]) == (str(model_path), 0.5)
    got = {Path(r["record"]).name: r for r in doc["records"]}
    rates = {name: r["fs"] for name, r in got.items()}
    assert rates == {"w": 360.0, "e.edf": 500.0, "bare.csv": 250.0, "hdr.csv": 200.0,
                     "side.csv": 300.0, "arr.npy": 128.0}  # fmt: skip
    sources = {"w": "header", "e": "header", "bare": "--fs", "hdr": "header",
               "side": "sidecar", "arr": "sidecar"}  # fmt: skip
    for r in doc["records"]:
        assert set(r) == {"record", "name", "lead", "fs", "summary", "gaps", "windows",
                          "outputs"}  # fmt: skip
        assert len(r["windows"]) == 3 and r["summary"]["windows"] == 3
        for w in r["windows"]:
            assert list(w) == list(COLUMNS + READOUT_COLUMNS) and w["status"] in STATUS
            assert w["status"] == ("arrhythmia" if w["flag"] else "normal")
        assert r["outputs"] == {"windows": str(out / f"{r['name']}_windows.csv"),
                                "annotations": str(out / f"{r['name']}.snn")}  # fmt: skip
        notes, rows = read_windows(Path(r["outputs"]["windows"]))
        assert f"{r['fs']:g} Hz ({sources[r['name'].split('_')[0]]})" in notes[1]
        assert [float(row["start_s"]) for row in rows] == [w["start_s"] for w in r["windows"]]
        assert "mains_hz" in r["summary"]
    assert (got["w"]["lead"], got["e.edf"]["lead"], got["arr.npy"]["lead"]) == (
        "MLII", "ECG II", "0")  # fmt: skip


# -- --version -------------------------------------------------------------------------------


def test_version_with_and_without_a_model(model_path, tmp_path, isolated):
    result = ecg_snn("--version", cwd=tmp_path, env=isolated)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ecg-snn ")
    assert "\nmodel: none (no model found (looked in " in result.stdout
    env = isolated | {model_lookup.ENV_VAR: str(model_path)}
    result = ecg_snn("--version", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("ecg-snn ") and lines[1] == f"model: {model_path}"
    assert lines[2] == f"  sha256 {file_sha256(model_path)}"
    assert lines[3] == "  beat ensemble of 2, threshold 0.5000, lead MLII"
    assert lines[4].startswith("  trained on 1 subjects")


def test_version_in_process_names_the_installed_model(model_path, capsys):
    model_lookup.install_model(model_path)
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("ecg-snn ") and f"model: {model_lookup.user_model_path()}" in out


def test_scores_of_the_cli_equal_the_api(model_path, tmp_path, capsys):
    """The CLI's rows are `score_record`'s, rounded."""
    x = ecg_at(250, 30)
    path = write_csv(tmp_path / "s.csv", x, 250)
    _, doc = predict_json(capsys, str(path), "--model", str(model_path), "--out",
                          str(tmp_path / "o"), "--no-plot")  # fmt: skip
    x_read = np.array([float(v.split(",")[1]) for v in path.read_text().splitlines()[2:]])
    api = score_record(x_read, 250, load_model(model_path), name=str(path))
    assert doc["records"][0]["windows"] == api.rows()


# -- what a review found: files people really write -----------------------------------------


def test_an_excel_utf8_csv_with_a_byte_order_mark_keeps_its_rate_and_first_sample(tmp_path):
    from ecg.inference.recording import read_recording

    path = tmp_path / "bom.csv"
    path.write_text("\ufeff# fs=360\n1.5\n2\n3\n", encoding="utf-8")
    rec = read_recording(path, fs=250.0, default_lead="MLII")
    assert (rec.fs, rec.fs_source) == (360.0, "header")
    assert rec.signal.tolist() == [1.5, 2.0, 3.0]


@pytest.mark.parametrize(
    ("first_line", "sidecar", "message"),
    [
        ("# fs=inf\n", None, "positive finite"),
        ("# fs=.\n", None, "must be a number"),
        (None, '{"fs": true}', "must be a number"),
        (None, '{"fs": "abc"}', "must be a number"),
        (None, '{"fs": -5}', "positive finite"),
    ],
)
def test_a_bad_stated_rate_is_one_clear_error(tmp_path, first_line, sidecar, message):
    from ecg.core.errors import ECGError
    from ecg.inference.recording import read_recording

    path = tmp_path / "r.csv"
    path.write_text((first_line or "") + "1\n2\n")
    if sidecar:
        (tmp_path / "r.csv.json").write_text(sidecar)
    with pytest.raises(ECGError, match=message):
        read_recording(path, default_lead="MLII")


def test_csv_rows_keep_their_place_and_errors_their_line(tmp_path):
    from ecg.core.errors import ECGError
    from ecg.inference.recording import read_recording

    path = tmp_path / "r.csv"
    path.write_text("MLII,V1\n1,2\n\n3,\n,4\n")  # blank and short rows: missing samples
    v1 = read_recording(path, fs=250.0, lead="V1", default_lead="MLII").signal
    np.testing.assert_array_equal(v1, [2.0, np.nan, np.nan, 4.0])
    path.write_text("1,\n2,3\n4,5\n")  # headerless, an empty cell in the first row
    first = read_recording(path, fs=250.0, lead_index=0, default_lead="MLII")
    assert first.channels == ["0", "1"] and first.signal.tolist() == [1.0, 2.0, 4.0]
    path.write_text("# fs=360\n# note\n1\n2\nx\n")
    with pytest.raises(ECGError, match="line 5"):
        read_recording(path, default_lead="MLII")


def test_a_failed_run_by_lead_index_keeps_the_other_leads_outputs(model_path, tmp_path, capsys):
    x = ecg_at(250, 30)
    csv = tmp_path / "two.csv"
    csv.write_text("MLII,V1\n" + "".join(f"{v},{-v}\n" for v in x))
    out = tmp_path / "out"
    assert predict(capsys, str(csv), "--fs", "250", "--model", str(model_path), "--out",
                   str(out), "--no-plot")[0] == 0  # fmt: skip
    before = files(out)
    code, _, err = predict(capsys, str(csv), "--fs", "250", "--lead-index", "5", "--model",
                           str(model_path), "--out", str(out))  # fmt: skip
    assert code == 2 and "no channel index 5" in err
    assert files(out) == before


def test_an_out_that_is_a_file_and_a_record_given_twice(model_path, tmp_path, capsys):
    x = ecg_at(250, 30)
    csv = tmp_path / "one.csv"
    csv.write_text("".join(f"{v}\n" for v in x))
    (tmp_path / "afile").write_text("")
    err = in_process_error(capsys, "predict", str(csv), "--fs", "250", "--model",
                           str(model_path), "--out", str(tmp_path / "afile"))  # fmt: skip
    assert "exists and is not a folder" in err
    code, out, _ = predict(capsys, str(csv), str(csv), "--fs", "250", "--model",
                           str(model_path), "--out", str(tmp_path / "o"), "--json")  # fmt: skip
    assert code == 0 and len(json.loads(out)["records"]) == 1
