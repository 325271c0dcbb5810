"""Figures do not move with the machine. Every library that picks kernels by CPU is pinned
(ecg/core/kernels.py); here each is made to believe it runs on another CPU (the variable a
machine or user would set), one at a time, and on 1 or 2 threads, and the preprocess stage must
write the same bytes and a training stage the same weights and figures.
`benchmarks/reproducibility.py` does the same for the whole pipeline on the real data."""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from ecg.core.kernels import NATIVE, PINNED
from tests.conftest import ROOT
from tests.test_training import cli_project  # noqa: F401  (fixture)
from tests.wfdb_records import write_noise

OTHER_CPUS = {
    "threads2": {"OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2"},
    "threads1": {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
    "openblas_haswell": {"OPENBLAS_CORETYPE": "Haswell"},
    "openblas_skylakex": {"OPENBLAS_CORETYPE": "SkylakeX"},
    "numpy_without_avx512": {"NPY_DISABLE_CPU_FEATURES": "AVX512_ICL"},
    "mkl_sse42": {"MKL_ENABLE_INSTRUCTIONS": "SSE4_2", "MKL_CBWR": "AUTO"},
    "onednn_avx2": {"ONEDNN_MAX_CPU_ISA": "AVX2"},
    "aten_avx2": {"ATEN_CPU_CAPABILITY": "avx2"},
}
FIGURES = ("val_acc", "val_loss", "val_sensitivity", "val_specificity", "val_g_mean", "epoch")


def environment(simulated: dict[str, str]) -> dict[str, str]:
    """This process's environment without the pins (the stage sets them), plus `simulated`."""
    clean = {k: v for k, v in os.environ.items() if k not in PINNED}
    clean.pop("NPY_DISABLE_CPU_FEATURES", None)
    return clean | {"PYTHONPATH": str(ROOT)} | simulated


def run(cwd: Path, env: dict[str, str], *args: str) -> str:
    r = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="x86-64 kernel names")
def test_the_pins_hold_whatever_the_machine_says():
    probe = ("import stages, numpy, threadpoolctl, torch\n"
             "from numpy._core import _multiarray_umath as m\n"
             "f, d = m.__cpu_features__, m.__cpu_dispatch__\n"
             "print([i['architecture'] for i in threadpoolctl.threadpool_info()\n"
             "       if i['internal_api'] == 'openblas'], "
             "any(f[k] for k in d), torch.backends.cpu.get_cpu_capability())")  # fmt: skip
    for name, simulated in OTHER_CPUS.items():
        out = run(ROOT, environment(simulated), "-c", probe).split()
        assert out == ["['Nehalem']", "False", "DEFAULT"], (name, out)
    native = run(ROOT, environment({NATIVE: "1", "OPENBLAS_CORETYPE": "Haswell"}), "-c", probe)
    assert native.split()[0] == "['Haswell']"  # the opt-out keeps the machine's choice


@pytest.mark.slow
def test_preprocess_writes_the_same_bytes_on_other_cpus(tiny_mirror, tmp_path):
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["download"]["verify_checksums"] = False
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    noise = write_noise(tmp_path / "nstdb")
    hashes = {}
    for name, simulated in OTHER_CPUS.items():
        out, env = tmp_path / name, environment(simulated | {"ECG_WORKERS": "1"})
        common = ("--params", str(tmp_path / "params.yaml"), "--raw_dir", str(tiny_mirror))
        run(ROOT, env, "-m", "stages.detect", *common, "--out", str(out / "beats.pt"),
            "--metrics", str(out / "detect.json"))  # fmt: skip
        run(ROOT, env, "-m", "stages.preprocess", *common, "--beats", str(out / "beats.pt"),
            "--out_dir", str(out / "windows"), "--metrics", str(out / "pre.json"),
            "--noise_dir", str(noise))  # fmt: skip
        files = sorted((out / "windows").iterdir())
        hashes[name] = {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in files}
    assert len({tuple(sorted(h.items())) for h in hashes.values()}) == 1, hashes


def stage1_checkpoint(project: Path, name: str, simulated: dict[str, str]) -> dict:
    run(project, environment(simulated), "-m", "stages.train", "--params", "params.yaml",
        "--data_dir", "data", "--stage", "1", "--pretrained_model", "deep.pt", "--num_epochs",
        "3", "--device", "cpu", "--output_dir", f"out_{name}")  # fmt: skip
    return torch.load(project / f"out_{name}/stage1/best_model.pt", weights_only=True)


@pytest.mark.slow
def test_training_gives_the_same_weights_and_figures_on_other_cpus(cli_project):  # noqa: F811
    runs = {name: stage1_checkpoint(cli_project, name, env) for name, env in OTHER_CPUS.items()}
    ref = runs["threads2"]
    assert ref["epoch"] >= 1
    for name, ckpt in runs.items():
        assert {k: ckpt[k] for k in FIGURES} == {k: ref[k] for k in FIGURES}, name
        weights = ckpt["model_state_dict"]
        assert all(torch.equal(weights[k], ref["model_state_dict"][k]) for k in weights), name


def test_subnormals_stay_flushed_after_a_nested_block_ends():
    # training validates inside its own block; leaving the inner one must not undo the outer
    from ecg.core.device import reproducible_compute

    tiny = torch.tensor([1e-39], dtype=torch.float32)  # subnormal in float32
    with reproducible_compute():
        with reproducible_compute():
            pass
        assert float(tiny * 1.0) == 0.0
    assert float(tiny * 1.0) != 0.0
