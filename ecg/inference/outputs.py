"""What `ecg-snn predict` writes per recording, all or nothing:

    <stem>_windows.csv   '#' lines naming the model, threshold, record, lead, rate and mains,
                         then one row per scored window (`ecg.inference.scoring.COLUMNS`)
    <stem>.snn           WFDB annotations at the recording's own rate, read with
                         `wfdb.rdann(path, "snn")`: where a run of windows with the same
                         verdict starts, the first window included, '+' with "(N", "(ARR",
                         "(VT" or "(VF", or '~' (unreadable; `ecg.inference.verdicts`)
    <stem>.png           the recording (beats marked) with each window coloured by its
                         verdict and low-quality ones hatched; the window scores; and a
                         zoomed strip of each of the first alarm episodes

The files are written into a temporary folder beside them and moved into place together,
with Ctrl-C held off while they move: a failed or interrupted record leaves none of its
files, and never a mix of this run's and an earlier run's.
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ecg.core.errors import ECGError
from ecg.inference.plot import write_plot
from ecg.inference.recording import Recording
from ecg.inference.scoring import COLUMNS, RecordScores
from ecg.inference.verdicts import annotation_runs, rhythm_labels

ANNOTATION_EXT = "snn"


def output_paths(out_dir: Path, stem: str) -> dict[str, Path]:
    return {
        "windows": out_dir / f"{stem}_windows.csv",
        "annotations": out_dir / f"{stem}.{ANNOTATION_EXT}",
        "plot": out_dir / f"{stem}.png",
    }


def windows_csv(scores: RecordScores, header: dict[str, str]) -> str:
    lines = [f"# {key}: {value}" for key, value in header.items()]
    lines.append(",".join(COLUMNS))
    for row in scores.rows():
        lines.append(",".join("" if row[c] is None else str(row[c]) for c in COLUMNS))
    return "\n".join(lines) + "\n"


def write_annotations(scores: RecordScores, fs: float, path: Path) -> None:
    import wfdb

    # Rhythm and noise annotations, not comment notes: wfdb.rdann drops a note at sample 0.
    starts = np.round(scores.start_s * fs).astype(np.int64)
    runs = annotation_runs(rhythm_labels(scores.verdict, scores.dominant_hz), starts)
    wfdb.wrann(
        path.stem,
        ANNOTATION_EXT,
        np.array([r[0] for r in runs], dtype=np.int64),
        symbol=[r[1] for r in runs],
        subtype=np.array([r[2] for r in runs], dtype=np.int64),
        aux_note=[r[3] for r in runs],
        fs=fs,
        write_dir=str(path.parent),
    )


@contextmanager
def interrupts_held() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) until the block ends, then deliver it (main thread only)."""
    caught: list[int] = []
    try:
        before = signal.signal(signal.SIGINT, lambda *a: caught.append(1))
    except ValueError:  # not the main thread: nothing to hold
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)
        if caught:
            raise KeyboardInterrupt


def remove_outputs(out_dir: Path, stem: str) -> None:
    """Delete an earlier run's outputs of `stem` (stale once this run could not score it).
    Best effort: a file that cannot be removed stays, the record's error is what is said."""
    for path in output_paths(out_dir, stem).values():
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)


def write_outputs(
    scores: RecordScores,
    recording: Recording,
    out_dir: Path,
    stem: str,
    *,
    header: dict[str, str],
    plot: bool = True,
    zoom: int = 3,
) -> dict[str, Path]:
    """Write every output of one recording, all or nothing; returns their paths."""
    paths = output_paths(out_dir, stem)
    if not plot:
        paths.pop("plot")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=out_dir, prefix=f".{stem}.") as tmp:
            staged = {k: Path(tmp) / p.name for k, p in paths.items()}
            staged["windows"].write_text(windows_csv(scores, header))
            write_annotations(scores, recording.fs, staged["annotations"])
            if plot:
                write_plot(scores, recording, staged["plot"], zoom=zoom)
            with interrupts_held():
                remove_outputs(out_dir, stem)
                for kind, path in staged.items():
                    os.replace(path, paths[kind])
    except OSError as err:
        raise ECGError(f"{out_dir}: cannot write the outputs of {stem} ({err.strerror})") from None
    return paths
