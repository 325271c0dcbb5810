"""What synthetic pretraining adds: the crossval stage for the spiking product model, run with
members that start from the synthetic-pretrained model and from scratch, side by side.

    python -m benchmarks.pretraining_gain [--models beat beat_ann] [--out PATH]

Same folds, seeds, stages and epochs (params.yaml's `crossval`); only `crossval.pretrained`
differs. Needs the pipeline's data (`dvc repro preprocess synthesize`).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from benchmarks.machine import machine_info
from ecg.core.storage import write_json

KEYS = ("pooled_auroc", "pooled_auroc_ci", "pooled_sensitivity", "pooled_specificity")


def crossval(pretrained: bool, models: list[str], tmp: Path) -> tuple[dict, float]:
    params = yaml.safe_load(Path("params.yaml").read_text())
    params["crossval"]["pretrained"] = pretrained
    path = tmp / f"params_{pretrained}.yaml"
    path.write_text(yaml.safe_dump(params))
    out = tmp / str(pretrained)
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "stages.crossval", "--params", str(path), "--models", *models,
         "--out_dir", str(out / "cv"), "--final", str(out / "final.pt"),
         "--metrics_dir", str(out / "m"), "--live_dir", str(out / "live")],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    cv = json.loads((out / "m/cv.json").read_text())["models"]
    figures = {m: {k: cv[m][k] for k in KEYS} | {"per_fold_auroc": cv[m]["per_fold_auroc"]}
               for m in models}  # fmt: skip
    return figures, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["beat", "beat_ann"])
    parser.add_argument("--out", default="metrics/pretraining_gain.json")
    args = parser.parse_args()
    result: dict = {"machine": machine_info(), "models": args.models}
    with tempfile.TemporaryDirectory(prefix="pretraining-") as tmp:
        for pretrained in (True, False):
            figures, seconds = crossval(pretrained, args.models, Path(tmp))
            key = "pretrained" if pretrained else "from_scratch"
            result[key] = figures | {"seconds": round(seconds, 1)}
            print(f"{key}: {figures}", flush=True)
    result["gain"] = {
        m: {
            k: round(result["pretrained"][m][k] - result["from_scratch"][m][k], 4)
            for k in ("pooled_auroc", "pooled_sensitivity", "pooled_specificity")
        }
        for m in args.models
    }
    write_json(result, args.out)
    print(json.dumps(result["gain"]))


if __name__ == "__main__":
    main()
