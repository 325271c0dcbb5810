"""The README's example: a 2-minute synthetic recording (500 Hz, lead "II", no annotations,
so nothing derived from MIT-BIH), scored by `ecg-snn predict` with the pipeline's model.

    python docs/example_recording.py    # -> docs/example/ (record) and docs/example.png

Sinus rhythm at 70 bpm, with premature ventricular beats (early, wide, tall, no P wave,
compensatory pause) at 35 s and 38 s, and a bigeminy run from 80 s to 100 s.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import wfdb

FS, SECONDS, RR = 500, 120.0, 60 / 70
HERE = Path(__file__).resolve().parent


def beat_times() -> list[tuple[float, str]]:
    times, t, count = [], 0.4, 0
    while t < SECONDS - 0.5:
        ectopic = abs(t - 35) < RR / 2 or abs(t - 38) < RR / 2 or (80 <= t < 100 and count % 2)
        if ectopic:
            times.append((t - 0.3 * RR, "V"))  # early
            t += 1.3 * RR  # compensatory pause
        else:
            times.append((t, "N"))
            t += RR
        count += 1
    return times


def signal() -> np.ndarray:
    t = np.arange(int(SECONDS * FS)) / FS
    x = np.zeros_like(t)

    def bump(centre: float, height: float, width: float) -> None:
        x[:] += height * np.exp(-0.5 * ((t - centre) / width) ** 2)

    for c, kind in beat_times():
        if kind == "V":
            bump(c, 1.5, 0.035)
            bump(c + 0.06, -0.5, 0.03)
            bump(c + 0.32, -0.45, 0.07)
        else:
            bump(c - 0.16, 0.12, 0.025)
            bump(c - 0.025, -0.12, 0.008)
            bump(c, 1.0, 0.011)
            bump(c + 0.03, -0.22, 0.010)
            bump(c + 0.28, 0.28, 0.045)
    rng = np.random.default_rng(7)
    return x + 0.08 * np.sin(2 * np.pi * 0.2 * t) + rng.normal(0, 0.015, len(t))


def main() -> None:
    record_dir = HERE / "example"
    record_dir.mkdir(exist_ok=True)
    wfdb.wrsamp("holter", fs=FS, units=["mV"], sig_name=["II"], p_signal=signal()[:, None],
                fmt=["16"], write_dir=str(record_dir))  # fmt: skip
    out = HERE / "example" / "predictions"
    subprocess.run(
        [sys.executable, "-m", "ecg.cli.main", "predict", str(record_dir / "holter"),
         "--out", str(out)], check=True,
    )  # fmt: skip
    shutil.copy(out / "holter.png", HERE / "example.png")
    print((out / "holter_windows.csv").read_text())


if __name__ == "__main__":
    main()
