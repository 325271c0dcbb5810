"""Time `ecg.data.synthetic.generate(10000, seed=0)` once; write metrics/bench_synthetic.json."""

from __future__ import annotations

import argparse
import time

from benchmarks.machine import machine_info
from ecg.core.storage import write_json
from ecg.data.synthetic import generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--out", default="metrics/bench_synthetic.json")
    args = parser.parse_args()
    start = time.perf_counter()
    signals, _ = generate(args.n, seed=0)
    seconds = time.perf_counter() - start
    result = {
        "windows": args.n,
        "window_samples": int(signals.shape[1]),
        "seconds": round(seconds, 3),
        "windows_per_second": round(args.n / seconds, 1),
        "machine": machine_info(),
    }
    write_json(result, args.out)
    print(f"generate({args.n}): {seconds:.2f} s, {result['windows_per_second']:.0f} windows/s")


if __name__ == "__main__":
    main()
