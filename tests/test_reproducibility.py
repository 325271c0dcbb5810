"""Training figures do not move with the machine: a transfer stage rerun with 1 and 2 threads,
and with MKL restricted to older instructions (another CPU), gives the same metrics, within
the README's tolerance (in fact bit for bit on x86-64). `benchmarks/reproducibility.py` does
the same for the whole pipeline on the real data."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from tests.conftest import ROOT
from tests.test_training import cli_project  # noqa: F401  (fixture)

SETTINGS = {
    "threads2": {"OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2"},
    "threads1": {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
    "other_isa": {"OMP_NUM_THREADS": "2", "MKL_ENABLE_INSTRUCTIONS": "SSE4_2"},
}
TOLERANCE = {"val_sensitivity": 0.01, "val_specificity": 0.01}
FIGURES = ("val_acc", "val_loss", "val_sensitivity", "val_specificity", "val_g_mean", "epoch")


def stage1_checkpoint(project, name: str, env: dict[str, str]) -> dict:
    cmd = [sys.executable, "-m", "stages.train", "--params", "params.yaml", "--data_dir",
           "data", "--stage", "1", "--pretrained_model", "deep.pt", "--num_epochs", "3",
           "--device", "cpu", "--output_dir", f"out_{name}"]  # fmt: skip
    clean = {k: v for k, v in os.environ.items() if k not in ("ATEN_CPU_CAPABILITY", "MKL_CBWR")}
    clean["PYTHONPATH"] = str(ROOT)
    r = subprocess.run(cmd, cwd=project, env=clean | env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return torch.load(project / f"out_{name}/stage1/best_model.pt", weights_only=True)


@pytest.mark.slow
def test_a_training_stage_gives_the_same_figures_on_other_thread_counts_and_cpus(cli_project):  # noqa: F811
    runs = {name: stage1_checkpoint(cli_project, name, env) for name, env in SETTINGS.items()}
    ref = runs["threads2"]
    assert ref["epoch"] >= 1
    for name, ckpt in runs.items():
        for key, tol in TOLERANCE.items():
            assert abs(ckpt[key] - ref[key]) <= tol, (name, key, ckpt[key], ref[key])
        assert {k: ckpt[k] for k in FIGURES} == {k: ref[k] for k in FIGURES}, name
        weights = ckpt["model_state_dict"]
        assert all(torch.equal(weights[k], ref["model_state_dict"][k]) for k in weights), name
