"""Time `preprocess_mitbih` on every record of the MIT-BIH mirror; write
metrics/bench_preprocess.json.

Reads the mirror directly as `raw_dir` (--mitdb, else $MITDB_DIR; one is required) with
the `preprocess` group of params.yaml, writes the windows files to a temporary folder, and
repeats the run (3 times by default). Target: under 10 s per run on a 2-core machine.

By default only the raw windows (`windows_ecg.pt`) are built, as when the target was set;
`--beats data/beats/mitdb_beats.pt` (the detect stage's output) adds the beat models' layout
and patient context (`windows_beats.pt`), which is what the preprocess stage does.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import warnings

from benchmarks.machine import machine_info
from ecg.core.cli import run_cli
from ecg.core.errors import ECGError
from ecg.core.params_file import ParamsFile
from ecg.core.storage import write_json
from ecg.data.build import preprocess_mitbih
from ecg.data.config import PreprocessConfig
from ecg.data.detected_beats import read_beats

TARGET_SECONDS = 10.0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--mitdb",
        default=os.environ.get("MITDB_DIR"),
        help="MIT-BIH mirror read as raw_dir (default: $MITDB_DIR)",
    )
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--beats", help="detected beats (detect stage) to also build the beat layout"
    )
    parser.add_argument("--out", default="metrics/bench_preprocess.json")
    args = parser.parse_args(argv)
    if not args.mitdb:
        raise ECGError("no MIT-BIH mirror: pass --mitdb or set MITDB_DIR")

    cfg = ParamsFile(args.params).group("preprocess", PreprocessConfig)
    beats = read_beats(args.beats) if args.beats else None
    load_before = os.getloadavg() if hasattr(os, "getloadavg") else None
    runs: list[float] = []
    metrics: dict = {}
    for _ in range(args.repeats):
        with (
            tempfile.TemporaryDirectory(prefix="bench_preprocess.") as out_dir,
            warnings.catch_warnings(),
        ):
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            metrics = preprocess_mitbih(args.mitdb, out_dir, cfg, beats=beats)
            runs.append(time.perf_counter() - start)

    result = {
        "seconds": {
            "min": round(min(runs), 3),
            "median": round(statistics.median(runs), 3),
            "runs": [round(s, 3) for s in runs],
        },
        "target_seconds": TARGET_SECONDS,
        "within_target": min(runs) < TARGET_SECONDS,
        "records": metrics["records_used"],
        "windows": {"total": metrics["windows_total"], "kept": metrics["windows_kept"]},
        "windows_per_second": round(metrics["windows_total"] / min(runs), 1),
        "subjects": metrics["subjects"],
        "beat_layout": beats is not None,
        "machine": {
            **machine_info(),
            "loadavg_1min_before": round(load_before[0], 2) if load_before else None,
        },
    }
    write_json(result, args.out)
    print(
        f"preprocess_mitbih: {result['records']} records, {metrics['windows_total']} windows: "
        f"min {min(runs):.2f} s, median {statistics.median(runs):.2f} s over {len(runs)} runs "
        f"(target < {TARGET_SECONDS:.0f} s)"
    )


if __name__ == "__main__":
    run_cli(main)
