"""Do the headline figures move with the machine? The pipeline's training stages (pretrain ->
stage1 -> stage2 -> evaluate), rerun from the pipeline's data under settings that stand in for
other machines, compared to tolerance.

    python -m benchmarks.reproducibility [--settings ...] [--out metrics/reproducibility.json]

Settings, each a fresh process tree run in a temporary folder that links the pipeline's data
(`data/synthetic`, `data/synthetic_beats`, `data/mitbih_processed`) and writes its own
models/ and metrics/ (the pipeline's outputs are not touched):

- `threads2`: 2 OpenMP/MKL threads and 2 worker processes (this machine's default);
- `threads1`: 1 thread and 1 worker process, as on a 1-core runner;
- `other_isa`: 2 threads, MKL restricted to SSE4.2 code paths (`MKL_ENABLE_INSTRUCTIONS`),
  as on an older or different x86-64 CPU;
- `other_cpu`: 2 threads, every library told what another CPU would pick (OpenBLAS Haswell,
  numpy without AVX-512, oneDNN AVX2, ATen AVX2): `ecg.core.kernels` must override them all;
- `unpinned`: `ECG_NATIVE_KERNELS=1`, every library's own choice on this CPU; timed, to
  price the pinning (the data stages are not rerun, so only training's cost is measured).

Figures compared: every model of `crossval.models` in metrics/cv.json, its pooled
cross-validated AUROC, sensitivity and specificity and its DS1 -> DS2 ones, and the final
model's threshold; `same_scores` says whether every held-out window's score
(metrics/cv_scores.csv) is the same. Stage times come from each run's metrics/timings.
Tolerance (README): AUROC within 0.005, sensitivity and specificity within 0.01. Needs the
pipeline's data (`dvc repro synthesize preprocess`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.machine import machine_info
from ecg.core.cli import run_cli
from ecg.core.errors import ECGError
from ecg.core.kernels import PINNED
from ecg.core.storage import write_json

ROOT = Path(__file__).resolve().parents[1]
DATA = ("synthetic", "synthetic_beats", "mitbih_processed")  # under data/, read only
STAGES = ("pretrain", "stage1", "stage2", "evaluate")
TOLERANCE = {"auroc": 0.005, "sensitivity": 0.01, "specificity": 0.01}
BASE = {"OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2", "ECG_WORKERS": "2"}
SETTINGS = {
    "threads2": BASE,
    "threads1": {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "ECG_WORKERS": "1"},
    "other_isa": BASE | {"MKL_ENABLE_INSTRUCTIONS": "SSE4_2"},
    "other_cpu": BASE
    | {
        "OPENBLAS_CORETYPE": "Haswell",
        "NPY_DISABLE_CPU_FEATURES": "AVX512_ICL",
        "ONEDNN_MAX_CPU_ISA": "AVX2",
        "ATEN_CPU_CAPABILITY": "avx2",
    },  # fmt: skip
    "unpinned": BASE | {"ECG_NATIVE_KERNELS": "1"},
}


def workspace(tmp: Path, data_dir: Path) -> None:
    """`tmp/data/<name>` links to the pipeline's data; everything else is written in `tmp`."""
    (tmp / "data").mkdir()
    for name in DATA:
        (tmp / "data" / name).symlink_to(data_dir / name, target_is_directory=True)


def run_stage(stage: str, env: dict[str, str], cwd: Path, params: Path) -> None:
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    # This process pinned its own environment on `import ecg`: each stage starts without
    # those values, so that it pins (or, unpinned, keeps the CPU's choice) by itself.
    inherited = {k: v for k, v in os.environ.items() if k not in PINNED}
    inherited.pop("NPY_DISABLE_CPU_FEATURES", None)
    subprocess.run(
        [sys.executable, "-m", f"stages.{stage}", "--params", str(params)],
        cwd=cwd,
        env={**inherited, **env, "PYTHONPATH": path},
        check=True,
        stdout=subprocess.DEVNULL,
    )


def pipeline(env: dict[str, str], out: Path, params: Path) -> dict:
    for stage in STAGES:
        run_stage(stage, env, out, params)
    seconds = {
        stage: json.loads((out / "metrics/timings" / f"{stage}.json").read_text())["seconds"]
        for stage in STAGES
    }
    cv = json.loads((out / "metrics/cv.json").read_text())
    figures = {"final_threshold": cv["final_threshold"]}
    for name, r in cv["models"].items():
        for k in TOLERANCE:
            figures[f"cv.{name}.{k}"] = r[f"pooled_{k}"]
            if "dechazal" in r:
                figures[f"dechazal.{name}.{k}"] = r["dechazal"][k]
    scores = hashlib.sha256((out / "metrics/cv_scores.csv").read_bytes()).hexdigest()
    return {"figures": figures, "cv_scores_sha256": scores, "seconds": seconds}


def compare(a: dict, b: dict) -> dict:
    fa, fb = a["figures"], b["figures"]
    shared = [k for k in fa if k in fb]
    diffs = {k: abs(fa[k] - fb[k]) for k in shared}
    hashes = (a.get("cv_scores_sha256"), b.get("cv_scores_sha256"))
    worst = {m: max((d for k, d in diffs.items() if k.endswith(m)), default=0.0) for m in TOLERANCE}
    out = {
        "identical": all(d == 0 for d in diffs.values()),
        "same_scores": None if None in hashes else hashes[0] == hashes[1],
        "max_abs_diff": worst,
        "within_tolerance": all(worst[m] <= TOLERANCE[m] for m in TOLERANCE),
    }
    unmatched = sorted(set(fa) ^ set(fb))
    if unmatched:  # e.g. a run merged from another version of this benchmark
        out["not_compared"] = unmatched
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--data_dir", default="data", help="the pipeline's data folder")
    parser.add_argument("--out", default="metrics/reproducibility.json")
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    parser.add_argument("--merge", action="store_true", help="add to the runs already in --out")
    args = parser.parse_args(argv)
    params, data_dir = Path(args.params).resolve(), Path(args.data_dir).resolve()
    if not params.is_file():
        raise ECGError(f"{params}: params file not found")
    missing = [name for name in DATA if not (data_dir / name).is_dir()]
    if missing:
        raise ECGError(
            f"{data_dir}: no {', '.join(missing)} (run `dvc repro synthesize preprocess`)"
        )
    runs = json.loads(Path(args.out).read_text())["runs"] if args.merge else {}
    for name in args.settings:
        with tempfile.TemporaryDirectory(prefix=f"repro-{name}-") as tmp:
            workspace(Path(tmp), data_dir)
            runs[name] = pipeline(SETTINGS[name], Path(tmp), params)
        print(f"{name}: {runs[name]}", flush=True)
    against = "threads2" if "threads2" in runs else args.settings[0]
    result = {
        "machine": machine_info(),
        "tolerance": TOLERANCE,
        "settings": {k: SETTINGS[k] for k in runs},
        "stages": list(STAGES),
        "runs": runs,
        "against": against,
        "comparison": {k: compare(runs[against], r) for k, r in runs.items() if k != against},
    }
    total = {k: sum(r["seconds"].values()) for k, r in runs.items()}
    if "unpinned" in runs:
        result["pinning_cost"] = {
            k: round(t / total["unpinned"], 3) for k, t in total.items() if k != "unpinned"
        }
    write_json(result, args.out)
    print(json.dumps(result["comparison"], indent=1))


if __name__ == "__main__":
    run_cli(main)
