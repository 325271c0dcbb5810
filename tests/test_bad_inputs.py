"""The bad inputs a new user tried (issue: "hardened against bad input"): each ends in one
line naming the key or file and what is wrong, a non-zero exit, and no half-written output.

Parameter checks run through every stage's `load_config`, as the stages do; the rest drive
the stage modules as subprocesses, as `dvc repro` does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from ecg.core.errors import ECGError
from ecg.core.params_file import ParamsFile
from tests.conftest import ROOT
from tests.test_training import cli_project, run_train  # noqa: F401  (fixture)

STAGES = ("download", "detect", "preprocess", "synthesize", "pretrain", "stage1", "stage2",
          "evaluate")  # fmt: skip
BAD_PARAMS = [
    ("preprocess.exclude_records", ["999"], "mitdb record ids, got ['999']"),
    ("crossval.models", [], "a non-empty list"),
    ("preprocess.notch_hz", 125, "between 0 and fs/2 = 125 Hz"),
    ("preprocess.bandpass_hz", [0.5], "two frequencies"),
    ("pretrain.weight_decay", -1, ">= 0"),
    ("pretrain.batch_size", 0, "a positive integer"),
    ("dropout", 1.0, "in [0, 1)"),
    ("synthesize.n_train", 0, "at least 2 windows"),
    ("crossval.folds", 1, ">= 2"),
    ("preprocess.fs", 50, "at least 85 Hz"),
    ("crossval.models", ["resnet"], "has 'resnet'; expected deep, beat, beat_ann, logreg, gbm"),
    ("crossval.product", "gbm", "must be deep or beat or beat_ann or logreg"),
    ("selection", "best", "last"),
    ("focal_alpha", 1.5, "in [0, 1]"),
    ("model.gbm.leaves", 1, ">= 2"),
    ("bootstrap.confidence_level", 1.0, "in (0, 1)"),
    ("seed", -1, "non-negative integer"),
]


def load_every_stage(params: ParamsFile) -> None:
    import importlib

    for stage in STAGES:
        importlib.import_module(f"stages.{stage}").load_config(params)


@pytest.mark.parametrize(("key", "value", "message"), BAD_PARAMS)
def test_bad_params_name_the_key(key, value, message):
    with pytest.raises(ECGError) as err:
        load_every_stage(ParamsFile(ROOT / "params.yaml", {key: value}))
    text = str(err.value)
    assert f"'{key}'" in text and message in text and "\n" not in text


def test_the_product_must_be_one_of_the_compared_models():
    overrides = {"crossval.models": ["beat", "gbm"], "crossval.product": "deep"}
    with pytest.raises(ECGError, match=r"'crossval.product' must be one of crossval.models"):
        load_every_stage(ParamsFile(ROOT / "params.yaml", overrides))


def test_an_unknown_or_missing_key_is_named(tmp_path):
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["stage1"]["epochs"] = params["stage1"].pop("num_epochs")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    with pytest.raises(ECGError, match=r"unknown key 'stage1\.epochs'"):
        load_every_stage(ParamsFile(tmp_path / "params.yaml"))
    del params["focal_gamma"]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    with pytest.raises(ECGError, match="missing key 'focal_gamma'"):
        load_every_stage(ParamsFile(tmp_path / "params.yaml"))


def run_stage(cwd: Path, module: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ECG_WORKERS": "1"}
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def assert_one_line(result: subprocess.CompletedProcess, *needles: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.mark.slow
def test_resume_refuses_corrupt_other_model_and_other_flags(cli_project):  # noqa: F811
    args = ("--stage", "1", "--pretrained_model", "deep.pt")
    assert run_train(cli_project, *args, "--num_epochs", "2").returncode == 0
    last = cli_project / "out/stage1/last.pt"
    assert last.is_file()
    # other flags than the run being resumed: refused, naming what differs
    r = run_train(cli_project, *args, "--num_epochs", "2", "--learning_rate", "0.5", "--resume")
    assert_one_line(r, "last.pt", "learning_rate", "resume with the same settings")
    good = last.read_bytes()
    last.write_bytes(good[: len(good) // 2])  # corrupt (truncated)
    assert_one_line(run_train(cli_project, *args, "--num_epochs", "2", "--resume"), "last.pt")
    torch.save({"config": {"arch": "beat"}, "model_state_dict": {}}, last)  # other model
    assert_one_line(run_train(cli_project, *args, "--num_epochs", "2", "--resume"), "last.pt")


@pytest.mark.slow
def test_read_only_output_dir_is_one_line_and_keeps_earlier_outputs(cli_project):  # noqa: F811
    if os.geteuid() == 0:
        pytest.skip("root ignores file permissions")
    args = ("--stage", "1", "--pretrained_model", "deep.pt")
    assert run_train(cli_project, *args).returncode == 0
    before = (cli_project / "out/stage1/best_model.pt").read_bytes()
    (cli_project / "out/stage1").chmod(0o555)
    try:
        assert_one_line(run_train(cli_project, *args), "cannot write")
    finally:
        (cli_project / "out/stage1").chmod(0o755)
    assert (cli_project / "out/stage1/best_model.pt").read_bytes() == before


def test_a_full_disk_or_read_only_location_is_one_line(monkeypatch, tmp_path):
    import errno

    from ecg.core.storage import write_json

    (tmp_path / "m.json").write_text("{}")

    def full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(ECGError, match="m.json: cannot write .no space left on the device."):
        write_json({"a": 1}, tmp_path / "m.json")
    assert (tmp_path / "m.json").read_text() == "{}"
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"], "temporary file left behind"


def test_an_unknown_lead_is_one_line_without_warnings(tmp_path):
    from tests.wfdb_records import write_mirror

    mirror = write_mirror(tmp_path / "mitdb", seconds=30)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["preprocess"]["lead"] = "V9"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    r = run_stage(ROOT, "stages.detect", "--params", str(tmp_path / "params.yaml"),
                  "--raw_dir", str(mirror), "--out", str(tmp_path / "b.pt"),
                  "--metrics", str(tmp_path / "d.json"))  # fmt: skip
    assert_one_line(r, "V9")
    assert not (tmp_path / "b.pt").exists()
