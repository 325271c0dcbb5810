"""Training figures do not move with the machine: a transfer stage rerun with 1 and 2 threads,
and with MKL restricted to older instructions (another CPU), gives the same metrics, within
the README's tolerance (in fact bit for bit on x86-64). `benchmarks/reproducibility.py` does
the same for the whole pipeline on the real data."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.test_training import cli_project  # noqa: F401  (fixture)

SETTINGS = {
    "threads2": {"OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2"},
    "threads1": {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
    "other_isa": {"OMP_NUM_THREADS": "2", "MKL_ENABLE_INSTRUCTIONS": "SSE4_2"},
}
TOLERANCE = {"sensitivity": 0.01, "specificity": 0.01}  # stage1.json has no AUROC


def stage1_metrics(project, name: str, env: dict[str, str]) -> dict:
    cmd = [sys.executable, "-m", "stages.train", "--params", "params.yaml", "--data_dir",
           "data", "--stage", "1", "--pretrained_model", "pretrained.pt", "--num_epochs", "3",
           "--output_dir", f"out_{name}", "--metrics_dir", f"m_{name}"]  # fmt: skip
    clean = {k: v for k, v in os.environ.items() if k not in ("ATEN_CPU_CAPABILITY", "MKL_CBWR")}
    r = subprocess.run(cmd, cwd=project, env=clean | env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    metrics = json.loads((project / f"m_{name}" / "stage1.json").read_text())
    return {k: v for k, v in metrics.items() if "second" not in k}


@pytest.mark.slow
def test_a_training_stage_gives_the_same_figures_on_other_thread_counts_and_cpus(cli_project):  # noqa: F811
    runs = {name: stage1_metrics(cli_project, name, env) for name, env in SETTINGS.items()}
    ref = runs["threads2"]
    assert ref["best_epoch"] >= 1
    for name, metrics in runs.items():
        for key, tol in TOLERANCE.items():
            found = [k for k in ref if k.endswith(key) and isinstance(ref[k], float)]
            assert found, f"no {key} metric in stage1.json: {sorted(ref)}"
            for k in found:
                assert abs(metrics[k] - ref[k]) <= tol, (name, k, metrics[k], ref[k])
        assert metrics == ref, f"{name}: not bit-identical to threads2"
