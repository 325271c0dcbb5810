"""The picture of one scored recording: a reader sees at once where the model flagged, where
it could not read the signal, and where the signal quality was below what it was trained on,
and can look closely at the first flagged episodes.

Colours by verdict (`ecg.inference.verdicts`): red = arrhythmia, purple = VT/VF (the
strongest shade: it is never greyed out), grey = unreadable (missing signal, or below the
quality gate and not VT/VF); hatching = the quality index below the gate, drawn over the
verdict. Detected beats are marked, a beat model's ectopic beats coloured by class (S
orange, V magenta, F brown) and lettered in the zoomed strips, which show the first alarm
episodes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ecg.core.storage import atomic_path
from ecg.data.beat_labels import PREDICTED_CLASSES
from ecg.inference.beat_classes import ECTOPIC
from ecg.inference.recording import Recording
from ecg.inference.scoring import RecordScores
from ecg.inference.verdicts import ALARMS

_PLOT_POINTS = 200_000  # above this, the trace is drawn as a min/max envelope
# V is magenta, not VT/VF's purple: a V beat inside a VT/VF window must stay visible
ECTOPIC_COLOURS = {"S": "tab:orange", "V": "magenta", "F": "tab:brown"}
COLOURS = {"arrhythmia": ("tab:red", 0.25), "vt_vf": ("tab:purple", 0.45),
           "unreadable": ("0.5", 0.3)}  # fmt: skip
LEGEND = {"arrhythmia": "arrhythmia", "vt_vf": "VT/VF", "unreadable": "unreadable"}
ZOOM_S = 20.0  # a zoomed strip shows the first 20 s of its episode: beats stay apart


def episodes(flag: np.ndarray, start_s: np.ndarray, end_s: np.ndarray) -> list[tuple[float, float]]:
    """(start, end) in seconds of every run of flagged windows."""
    edges = np.diff(np.r_[0, flag.astype(np.int8), 0])
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    return [(float(start_s[a]), float(end_s[b])) for a, b in zip(starts, ends, strict=True)]


def _trace(ax, t: np.ndarray, x: np.ndarray) -> None:
    if len(t) > _PLOT_POINTS:
        step = int(np.ceil(len(t) / (_PLOT_POINTS / 2)))
        n = len(t) // step * step
        blocks = x[:n].reshape(-1, step)
        ax.fill_between(t[:n:step], blocks.min(1), blocks.max(1), color="k", lw=0)
    else:
        ax.plot(t, x, color="k", lw=0.5)


def _shade(ax, scores: RecordScores, lo: float = -np.inf, hi: float = np.inf) -> None:
    low = scores.sqi < scores.sqi_threshold
    for a, b, verdict, poor in zip(scores.start_s, scores.end_s, scores.verdict, low,
                                   strict=True):  # fmt: skip
        if b < lo or a > hi:
            continue
        if verdict in COLOURS:
            colour, alpha = COLOURS[verdict]
            ax.axvspan(a, b, color=colour, alpha=alpha, lw=0)
        if poor:
            ax.axvspan(a, b, facecolor="none", edgecolor="0.35", hatch="//", lw=0)


def _beats(ax, recording: Recording, beat_times: np.ndarray) -> None:
    idx = np.clip(
        np.round(beat_times * recording.fs).astype(np.int64), 0, len(recording.signal) - 1
    )
    ax.plot(beat_times, recording.signal[idx], "v", color="tab:green", ms=3, lw=0)


def _ectopic(ax, recording: Recording, scores: RecordScores, lo: float = -np.inf,
             hi: float = np.inf, *, letters: bool = False) -> list:  # fmt: skip
    """Mark the S, V and F beats between `lo` and `hi` s (lettered if `letters`); returns a
    legend handle per class marked."""
    if scores.beat_class is None:
        return []
    handles = []
    for name in ECTOPIC:
        times = scores.beat_times_s[scores.beat_class == PREDICTED_CLASSES.index(name)]
        times = times[(times >= lo) & (times <= hi)]
        if not len(times):
            continue
        idx = np.clip(np.round(times * recording.fs).astype(np.int64), 0,
                      len(recording.signal) - 1)  # fmt: skip
        colour = ECTOPIC_COLOURS[name]
        (h,) = ax.plot(times, recording.signal[idx], "o", color=colour, ms=4, lw=0,
                       label=f"{name} beats ({len(times)})")  # fmt: skip
        handles.append(h)
        if letters:
            for t, y in zip(times, recording.signal[idx], strict=True):
                ax.annotate(name, (t, y), xytext=(0, 5), textcoords="offset points",
                            ha="center", color=colour, fontsize=8, fontweight="bold")  # fmt: skip
    return handles


def write_plot(scores: RecordScores, recording: Recording, path: Path, *, zoom: int = 3) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    alarm = np.isin(scores.verdict, ALARMS)
    strips = [(a, min(b, a + ZOOM_S)) for a, b in episodes(alarm, scores.start_s,
                                                           scores.end_s)[:zoom]]  # fmt: skip
    heights = [3, 1] + [2] * len(strips)
    fig, axes = plt.subplots(len(heights), 1, figsize=(14, sum(heights) * 1.2 + 1),
                             gridspec_kw={"height_ratios": heights})  # fmt: skip
    ax, axp = axes[0], axes[1]
    t = np.arange(len(recording.signal)) / recording.fs
    _trace(ax, t, recording.signal)
    _shade(ax, scores)
    ectopic = _ectopic(ax, recording, scores)
    units = f" ({recording.units})" if recording.units else ""
    ax.set_ylabel(f"{recording.lead}{units}")
    counts = scores.summary()["verdicts"]
    ax.set_title(
        f"{recording.name}: {len(scores.flag)} windows: {counts['arrhythmia']} arrhythmia, "
        f"{counts['vt_vf']} VT/VF, {counts['unreadable']} unreadable, {counts['normal']} normal"
    )
    ax.legend(
        handles=[*(Patch(color=c, alpha=a, label=LEGEND[v]) for v, (c, a) in COLOURS.items()),
                 Patch(facecolor="none", edgecolor="0.35", hatch="//",
                       label=f"signal quality < {scores.sqi_threshold:g}"), *ectopic],
        loc="upper right", fontsize=8,
    )  # fmt: skip
    axp.hlines(scores.probability, scores.start_s, scores.end_s, color="tab:blue", lw=1.5)
    axp.axhline(scores.threshold, color="tab:red", ls="--", lw=0.8)
    axp.set_xlim(ax.get_xlim())
    axp.set_ylim(-0.04, 1.04)  # a score of exactly 0 or 1 stays off the frame, visible
    axp.set_ylabel("P(arrhythmia)")
    for strip, (a, b) in zip(axes[2:], strips, strict=True):
        keep = (t >= a) & (t <= b)
        strip.plot(t[keep], recording.signal[keep], color="k", lw=0.6)
        _shade(strip, scores, a, b)
        _beats(strip, recording, scores.beat_times_s[(scores.beat_times_s >= a)
                                                     & (scores.beat_times_s <= b)])  # fmt: skip
        _ectopic(strip, recording, scores, a, b, letters=True)
        strip.set_xlim(a, b)
        strip.set_ylabel(f"{a:.0f}-{b:.0f} s")
    axes[-1].set_xlabel("time (s)")
    fig.tight_layout()
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=100)
    finally:
        plt.close(fig)
