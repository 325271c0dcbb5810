"""Progress that reads well when stages run workers side by side: no bars in worker
processes, and every line goes out in one write, so two workers' lines never run together."""

from __future__ import annotations

import io
import sys

from ecg.core import progress
from ecg.core.parallel import parallel_map


class Writes(io.StringIO):
    """A terminal-like stream that records each write call."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def write(self, text: str) -> int:
        self.calls.append(text)
        return super().write(text)

    def isatty(self) -> bool:
        return False


def test_a_line_outside_a_bar_is_one_write(monkeypatch):
    stream = Writes()
    monkeypatch.setattr(sys, "stdout", stream)
    progress.log("stage 1 beat/fold1/member2: epoch 3  loss 0.0123")
    assert stream.calls == ["stage 1 beat/fold1/member2: epoch 3  loss 0.0123\n"]


def _bar_in_child(_: int) -> bool:
    sys.stderr.isatty = lambda: True  # as if the worker shared the user's terminal
    return progress.interactive()


def test_worker_processes_never_draw_bars(monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert progress.interactive()  # the main process on a terminal: a bar
    assert parallel_map(_bar_in_child, [0, 1], workers=2) == [False, False]
