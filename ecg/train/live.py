"""Live per-epoch metrics of every training run, through DVCLive.

Each run (a transfer stage, a cross-validation fold's stage) logs its history rows into its
own folder: `metrics.json` (the latest epoch) and `plots/metrics/<metric>.tsv` (one row per
epoch). Under `dvc exp run`, DVCLive tells DVC after every epoch, so `dvc exp show` updates
while the experiment trains; `dvc plots show` draws the curves. DVCLive writes no dvc.yaml and
makes no experiment of its own here: the pipeline declares these files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dvclive import Live

from ecg.core.errors import ECGError


class LiveLog:
    """`with LiveLog(folder) as live: fit(..., on_epoch=live.log_epoch)`."""

    def __init__(self, folder: str | Path, *, resume: bool = False) -> None:
        self.folder = Path(folder)
        self.resume = resume
        self._live: Live | None = None

    def __enter__(self) -> LiveLog:
        try:
            self._live = Live(
                dir=str(self.folder),
                resume=self.resume,
                report=None,
                save_dvc_exp=False,
                dvcyaml=None,
            )
        except OSError as err:
            raise ECGError(f"{self.folder}: cannot write live metrics ({err.strerror})") from None
        return self

    def log_epoch(self, row: dict[str, Any]) -> None:
        """One history row: every number but the epoch itself, at step = epoch."""
        live = self._live
        assert live is not None, "use LiveLog as a context manager"
        live.step = int(row["epoch"])
        for key, value in row.items():
            if key not in ("epoch", "seconds") and isinstance(value, int | float):
                live.log_metric(key, float(value))
        live.next_step()

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.end()
