"""What `ecg-snn predict` writes per recording, each file atomically (a failure leaves no
half-written file and an earlier one intact):

    <name>_windows.csv   one row per scored window (`ecg.inference.scoring.COLUMNS`)
    <name>.snn           WFDB rhythm annotations ('+'), at the recording's own sampling rate
                         (read with `wfdb.rdann(path, "snn")`): "(ARR" where a run of
                         flagged windows starts, "(N" (the model's Normal class) where a
                         run of unflagged windows starts, the first window included
    <name>.png           the recording with flagged windows shaded, and the window scores
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from ecg.core.errors import ECGError
from ecg.core.storage import atomic_path, write_text
from ecg.inference.recording import Recording
from ecg.inference.scoring import COLUMNS, RecordScores

ANNOTATION_EXT = "snn"
RHYTHM = {True: "(ARR", False: "(N"}
_PLOT_POINTS = 200_000  # above this, the trace is drawn as a min/max envelope


def output_paths(out_dir: Path, name: str) -> dict[str, Path]:
    return {
        "windows": out_dir / f"{name}_windows.csv",
        "annotations": out_dir / f"{name}.{ANNOTATION_EXT}",
        "plot": out_dir / f"{name}.png",
    }


def windows_csv(scores: RecordScores) -> str:
    lines = [",".join(COLUMNS)]
    for row in scores.rows():
        lines.append(",".join("" if row[c] is None else str(row[c]) for c in COLUMNS))
    return "\n".join(lines) + "\n"


def write_annotations(scores: RecordScores, recording: Recording, path: Path) -> None:
    import wfdb

    # Rhythm annotations, not comment notes: wfdb.rdann drops a note at sample 0.
    flag = scores.flag.astype(bool)
    changes = np.flatnonzero(np.r_[True, flag[1:] != flag[:-1]])
    samples = np.round(scores.start_s[changes] * recording.fs).astype(np.int64)
    notes = [RHYTHM[bool(flag[i])] for i in changes]
    try:
        with tempfile.TemporaryDirectory(dir=path.parent, prefix=".annotations.") as tmp:
            wfdb.wrann(
                path.stem,
                ANNOTATION_EXT,
                samples,
                symbol=["+"] * len(samples),
                aux_note=notes,
                fs=recording.fs,
                write_dir=tmp,
            )
            os.replace(Path(tmp) / path.name, path)
    except OSError as err:
        raise ECGError(f"{path}: cannot write ({err.strerror})") from None


def write_plot(scores: RecordScores, recording: Recording, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = np.arange(len(recording.signal)) / recording.fs
    fig, (ax, axp) = plt.subplots(
        2, 1, figsize=(14, 5), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    if len(t) > _PLOT_POINTS:
        step = int(np.ceil(len(t) / (_PLOT_POINTS / 2)))
        n = len(t) // step * step
        blocks = recording.signal[:n].reshape(-1, step)
        ax.fill_between(t[:n:step], blocks.min(1), blocks.max(1), color="k", lw=0)
    else:
        ax.plot(t, recording.signal, color="k", lw=0.5)
    for start, end, flag, quality in zip(
        scores.start_s, scores.end_s, scores.flag, scores.sqi, strict=True
    ):
        if flag:
            ax.axvspan(start, end, color="tab:red", alpha=0.25, lw=0)
        elif quality < scores.sqi_threshold:
            ax.axvspan(start, end, color="0.6", alpha=0.25, lw=0)
    units = f" ({recording.units})" if recording.units else ""
    ax.set_ylabel(f"{recording.lead}{units}")
    flagged = int(scores.flag.sum())
    ax.set_title(
        f"{recording.name}: {flagged} of {len(scores.flag)} windows flagged "
        f"(red; grey: signal quality below {scores.sqi_threshold:g})"
    )
    axp.hlines(scores.probability, scores.start_s, scores.end_s, color="tab:blue", lw=1.5)
    axp.axhline(scores.threshold, color="tab:red", ls="--", lw=0.8)
    axp.set_ylim(0, 1)
    axp.set_ylabel("P(arrhythmia)")
    axp.set_xlabel("time (s)")
    fig.tight_layout()
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=100)
    finally:
        plt.close(fig)


def write_outputs(
    scores: RecordScores, recording: Recording, out_dir: Path, *, plot: bool = True
) -> dict[str, Path]:
    """Write every output of one recording; returns their paths."""
    paths = output_paths(out_dir, recording.name)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ECGError(f"{out_dir}: cannot create the output folder ({err.strerror})") from None
    write_text(windows_csv(scores), paths["windows"])
    write_annotations(scores, recording, paths["annotations"])
    if plot:
        write_plot(scores, recording, paths["plot"])
    else:
        paths.pop("plot")
    return paths
