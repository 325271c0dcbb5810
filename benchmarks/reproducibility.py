"""Do the headline figures move with the machine? The main pipeline's training stages
(pretrain -> stage1 -> stage2 -> evaluate) and the cross-validation, rerun from the
pipeline's data under settings that stand in for other machines, compared to tolerance.

    python -m benchmarks.reproducibility [--skip_crossval] [--out metrics/reproducibility.json]

Settings, each a fresh process tree writing into a temporary folder (the pipeline's outputs
are not touched):

- `threads2`: 2 OpenMP/MKL threads and 2 worker processes (this machine's default);
- `threads1`: 1 thread and 1 worker process, as on a 1-core runner;
- `other_isa`: 2 threads, MKL restricted to SSE4.2 code paths (`MKL_ENABLE_INSTRUCTIONS`),
  as on an older or different x86-64 CPU;
- `unpinned`: the kernels chosen by the CPU (ATen AVX2, MKL's own dispatch), what the
  pipeline did before `ecg/__init__.py` pinned them; timed, to price the pinning;
- `pinned_avx2`: a narrower pin (ATen's AVX2 kernels, MKL's AVX2 reproducibility branch),
  identical only among CPUs with AVX2; timed, as the faster alternative.

Tolerance (README): AUROC within 0.005, sensitivity and specificity within 0.01. Needs the
pipeline's data (`dvc repro synthesize preprocess`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.machine import machine_info
from ecg.core.storage import write_json

TOLERANCE = {"auroc": 0.005, "sensitivity": 0.01, "specificity": 0.01}
BASE = {"OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2", "ECG_WORKERS": "2"}
SETTINGS = {
    "threads2": BASE,
    "threads1": {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "ECG_WORKERS": "1"},
    "other_isa": BASE | {"MKL_ENABLE_INSTRUCTIONS": "SSE4_2"},
    "unpinned": BASE | {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AUTO"},
    "pinned_avx2": BASE | {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2"},
}


def run(module: str, env: dict[str, str], *args: str) -> float:
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", module, *args],
        env={**os.environ, **env},
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - t0


def pipeline(env: dict[str, str], out: Path, crossval: bool) -> dict:
    seconds = {}
    seconds["pretrain"] = run(
        "stages.pretrain", env, "--output", str(out / "pre.pt"),
        "--metrics", str(out / "pretrain.json"), "--live_dir", str(out / "live/pre"),
    )  # fmt: skip
    seconds["stages_1_2"] = run(
        "stages.train", env, "--stage", "both", "--pretrained_model", str(out / "pre.pt"),
        "--output_dir", str(out / "transfer"), "--metrics_dir", str(out / "m"),
    )  # fmt: skip
    seconds["evaluate"] = run(
        "stages.evaluate", env, "--model", str(out / "transfer/stage2/best_model.pt"),
        "--results", str(out / "results.json"), "--metrics_dir", str(out / "m"),
    )  # fmt: skip
    test = json.loads((out / "m/test.json").read_text())
    figures = {f"test.{k}": test[k] for k in ("auroc", "sensitivity", "specificity")}
    if crossval:
        seconds["crossval"] = run(
            "stages.crossval", env, "--out_dir", str(out / "cv"), "--final",
            str(out / "final.pt"), "--metrics_dir", str(out / "m"), "--live_dir",
            str(out / "live/cv"),
        )  # fmt: skip
        cv = json.loads((out / "m/cv.json").read_text())["models"]
        for name, r in cv.items():
            for k in ("auroc", "sensitivity", "specificity"):
                figures[f"cv.{name}.{k}"] = r[f"pooled_{k}"]
    return {"figures": figures, "seconds": {k: round(v, 1) for k, v in seconds.items()}}


def compare(a: dict[str, float], b: dict[str, float]) -> dict:
    diffs = {k: abs(a[k] - b[k]) for k in a}
    worst = {m: max((d for k, d in diffs.items() if k.endswith(m)), default=0.0) for m in TOLERANCE}
    return {
        "identical": all(d == 0 for d in diffs.values()),
        "max_abs_diff": worst,
        "within_tolerance": all(worst[m] <= TOLERANCE[m] for m in TOLERANCE),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip_crossval", action="store_true")
    parser.add_argument("--out", default="metrics/reproducibility.json")
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    parser.add_argument("--merge", action="store_true", help="add to the runs already in --out")
    args = parser.parse_args()
    runs = json.loads(Path(args.out).read_text())["runs"] if args.merge else {}
    for name in args.settings:
        with tempfile.TemporaryDirectory(prefix=f"repro-{name}-") as tmp:
            runs[name] = pipeline(SETTINGS[name], Path(tmp), not args.skip_crossval)
        print(f"{name}: {runs[name]}", flush=True)
    against = "threads2" if "threads2" in runs else args.settings[0]
    ref = runs[against]["figures"]
    result = {
        "machine": machine_info(),
        "tolerance": TOLERANCE,
        "settings": {k: SETTINGS[k] for k in runs},
        "runs": runs,
        "against": against,
        "comparison": {k: compare(ref, r["figures"]) for k, r in runs.items() if k != against},
    }
    total = {k: sum(r["seconds"].values()) for k, r in runs.items()}
    if "unpinned" in runs:
        result["pinning_cost"] = {
            k: round(t / total["unpinned"], 3) for k, t in total.items() if k != "unpinned"
        }
    write_json(result, args.out)
    print(json.dumps(result["comparison"], indent=1))


if __name__ == "__main__":
    main()
