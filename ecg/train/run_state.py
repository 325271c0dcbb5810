"""The state of one training run (epoch, selector, history, patience) and how it becomes,
and comes back from, a `TrainingCheckpoint`. A resumed run must continue the same training:
a `last.pt` from another model or other settings is refused, naming what differs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ecg.core.errors import ECGError
from ecg.models.checkpoint import config_dict
from ecg.train.checkpoint import TrainingCheckpoint
from ecg.train.config import FitConfig
from ecg.train.selection import ModelSelector


def training_config(cfg: FitConfig) -> dict[str, Any]:
    """The FitConfig as plain data, for checkpoints and resume checks."""
    out = asdict(cfg)
    out["frozen"] = list(cfg.frozen)
    return out


class RunState:
    """The mutable state of one `fit` call and how it becomes a checkpoint."""

    def __init__(
        self, model, optimizer, cfg: FitConfig, extra: dict[str, Any], *, scheduler=None
    ) -> None:
        self.model, self.optimizer, self.cfg, self.extra = model, optimizer, cfg, extra
        self.scheduler = scheduler
        self.selector = ModelSelector(
            mode=cfg.selection,
            sensitivity_target=cfg.sensitivity_target,
            specificity_target=cfg.specificity_target,
        )
        self.history: list[dict] = []
        self.start, self.stale, self.seconds, self.finished = 1, 0, 0.0, False

    def checkpoint(self, epoch: int, val: dict[str, float], **resume: Any) -> TrainingCheckpoint:
        # The threshold is chosen after training; 0.5 stands until then.
        return TrainingCheckpoint(
            config=config_dict(self.model),
            model_state_dict={
                k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()
            },
            optimizer_state_dict=self.optimizer.state_dict(),
            training_config=training_config(self.cfg),
            stage=self.cfg.stage,
            epoch=int(epoch),
            **TrainingCheckpoint.val_fields(val),
            history=[dict(h) for h in self.history],
            targets_met=self.selector.targets_met,
            extra=self.extra,
            **resume,
        )

    def save_last(self, path: Path | None, epoch: int, val: dict[str, float]) -> None:
        if path is None:
            return
        self.checkpoint(
            epoch,
            val,
            selector=self.selector.state_dict(),
            scheduler_state_dict=None if self.scheduler is None else self.scheduler.state_dict(),
            stale_epochs=self.stale,
            finished=self.finished,
        ).save(path)

    def resume_from(self, path: Path | None, log: Callable[[str], None]) -> None:
        if path is None or not Path(path).is_file():
            raise ECGError(f"--resume: no checkpoint to resume from at {path}")
        state = TrainingCheckpoint.load(path)
        if state.selector is None:
            raise ECGError(f"{path}: not a last.pt (no resume state); cannot resume from it")
        if state.config != config_dict(self.model):
            raise ECGError(
                f"{path}: holds a {state.config.get('arch')} model with another config than "
                "this run's; cannot resume from it"
            )
        _check_same_training(path, state.training_config, training_config(self.cfg))
        try:
            self.model.load_state_dict(state.model_state_dict)
            self.optimizer.load_state_dict(state.optimizer_state_dict)
            if self.scheduler is not None:
                self.scheduler.load_state_dict(state.scheduler_state_dict or {})
        except (RuntimeError, ValueError, KeyError) as err:
            first = str(err).strip().splitlines()[0][:160]
            raise ECGError(f"{path}: cannot resume from it ({first})") from None
        self.selector.load_state_dict(state.selector)
        self.history, self.stale = list(state.history), int(state.stale_epochs)
        self.start, self.finished = int(state.epoch) + 1, bool(state.finished)
        log(f"stage {self.cfg.stage}: resuming after epoch {state.epoch} from {path}")


def _check_same_training(path: Path, saved: dict[str, Any], now: dict[str, Any]) -> None:
    """A resumed run must continue the same training, or its results describe neither."""
    differ = [k for k in sorted(set(saved) | set(now)) if saved.get(k) != now.get(k)]
    if differ:
        pairs = ", ".join(f"{k} {saved.get(k)!r} (now {now.get(k)!r})" for k in differ[:4])
        raise ECGError(
            f"{path}: was trained with {pairs}; resume with the same settings as the "
            "interrupted run"
        )
