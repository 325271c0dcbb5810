"""What `ecg-snn predict` writes per recording, all or nothing:

    <stem>_windows.csv   '#' lines naming the model, threshold, record, lead, rate and mains,
                         then one row per scored window (`ecg.inference.scoring.COLUMNS`,
                         then `READOUT_COLUMNS`: rhythm, s_beats, v_beats, f_beats, empty for
                         a model without beat and rhythm readouts or an unreadable window)
    <stem>.snn           WFDB annotations at the recording's own rate (read with
                         `wfdb.rdann(path, "snn")`), in one file as MIT-BIH's .atr, so that a
                         viewer shows beat labels and rhythm strip together: where a run of
                         windows with one rhythm starts (the first window included), '+'
                         with the rhythm, or '~' for an unreadable run
                         (`ecg.inference.verdicts`); and for a beat model the AAMI class of
                         every classified beat ('N', 'S', 'V', 'F' at its detected sample).
                         Rhythm notes: "(VT" or "(VF" for a VT/VF window; "(N" for a normal
                         one; for an arrhythmia window, a beat model's rhythm
                         (`RHYTHM_NOTES`: "(AFIB" af, "(VT" ventricular, "(BII" av_block,
                         "(PREX" preexcitation, "(ARR" other; "(N" when the rhythm is sinus
                         and the window's ectopic beats carry the alarm), otherwise "(ARR"
    <stem>.png           the recording (beats marked) with each window coloured by its
                         verdict and low-quality ones hatched, a beat model's S, V and F
                         beats marked; the window scores; and a zoomed strip of each of the
                         first alarm episodes, ectopic beats lettered

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
from ecg.data.beat_labels import PREDICTED_CLASSES
from ecg.data.rhythms import RHYTHM_CLASSES
from ecg.inference.beat_classes import NO_CLASS, READOUT_COLUMNS
from ecg.inference.plot import write_plot
from ecg.inference.recording import Recording
from ecg.inference.scoring import COLUMNS, RecordScores
from ecg.inference.verdicts import annotation_runs, rhythm_labels

ANNOTATION_EXT = "snn"
# A beat model's rhythm classes as rhythm notes: MIT-BIH's own (`ecg.data.rhythms`), the
# commonest of a class where it has several, and "(ARR" for the rest.
RHYTHM_NOTES = {"sinus": "(N", "af": "(AFIB", "ventricular": "(VT", "av_block": "(BII",
                "preexcitation": "(PREX", "other": "(ARR"}  # fmt: skip


def output_paths(out_dir: Path, stem: str) -> dict[str, Path]:
    return {
        "windows": out_dir / f"{stem}_windows.csv",
        "annotations": out_dir / f"{stem}.{ANNOTATION_EXT}",
        "plot": out_dir / f"{stem}.png",
    }


def windows_csv(scores: RecordScores, header: dict[str, str]) -> str:
    lines = [f"# {key}: {value}" for key, value in header.items()]
    columns = COLUMNS + READOUT_COLUMNS
    lines.append(",".join(columns))
    for row in scores.rows():
        lines.append(",".join("" if row[c] is None else str(row[c]) for c in columns))
    return "\n".join(lines) + "\n"


def window_notes(scores: RecordScores) -> list[str]:
    """Each window's rhythm note (see the module docstring)."""
    notes = rhythm_labels(scores.verdict, scores.dominant_hz)
    if scores.rhythm is None or scores.beat_counts is None:
        return notes
    ectopic = scores.beat_counts[:, 1:].sum(1) > 0  # S, V, F after N
    for i, verdict in enumerate(scores.verdict):
        if verdict == "arrhythmia" and scores.rhythm[i] != NO_CLASS:
            name = RHYTHM_CLASSES[scores.rhythm[i]]
            if name != "sinus" or ectopic[i]:
                notes[i] = RHYTHM_NOTES[name]
    return notes


def annotations(
    scores: RecordScores, fs: float, n_samples: int
) -> tuple[np.ndarray, list[str], list[int], list[str]]:
    """(sample, symbol, subtype, aux note) at `fs` of every annotation, in sample order; a
    rhythm change goes before a beat at the same sample."""
    starts = np.round(scores.start_s * fs).astype(np.int64)
    events = [
        (s, 0, sym, sub, aux) for s, sym, sub, aux in annotation_runs(window_notes(scores), starts)
    ]
    if scores.beat_class is not None:
        classified = scores.beat_class != NO_CLASS
        events += [
            (min(int(round(t * fs)), n_samples - 1), 1, PREDICTED_CLASSES[c], 0, "")
            for t, c in zip(scores.beat_times_s[classified], scores.beat_class[classified],
                            strict=True)
        ]  # fmt: skip
    events.sort(key=lambda e: (e[0], e[1]))
    return (np.array([e[0] for e in events], dtype=np.int64), [e[2] for e in events],
            [e[3] for e in events], [e[4] for e in events])  # fmt: skip


def write_annotations(scores: RecordScores, recording: Recording, path: Path) -> None:
    # Rhythm annotations, not comment notes: wfdb.rdann drops a note at sample 0.
    import wfdb

    samples, symbols, subtypes, notes = annotations(scores, recording.fs, len(recording.signal))
    wfdb.wrann(
        path.stem,
        ANNOTATION_EXT,
        samples,
        symbol=symbols,
        subtype=np.array(subtypes, dtype=np.int64),
        aux_note=notes,
        fs=recording.fs,
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
            write_annotations(scores, recording, staged["annotations"])
            if plot:
                write_plot(scores, recording, staged["plot"], zoom=zoom)
            with interrupts_held():
                remove_outputs(out_dir, stem)
                for kind, path in staged.items():
                    os.replace(path, paths[kind])
    except OSError as err:
        raise ECGError(f"{out_dir}: cannot write the outputs of {stem} ({err.strerror})") from None
    return paths
