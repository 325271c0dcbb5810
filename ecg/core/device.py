"""Which device the models run on, and on how many threads.

Training and scoring run on ONE intra-op thread (subnormals flushed): a matrix product split
over threads sums in another order, and a spiking network's training amplifies that last-bit
difference into other figures, so results would depend on the machine's core count. The
pipeline uses its cores with processes instead (every member trains in its own worker).
`ecg.core.kernels` pins the libraries that pick kernels by CPU (docs/reproducibility.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

from ecg.core.errors import ECGError


def resolve_device(name: str) -> torch.device:
    """`auto` picks cuda, then mps, then cpu; an unavailable device is an `ECGError`."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ECGError("device: cuda requested but no CUDA device is available")
    if name == "mps" and not (
        getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()
    ):
        raise ECGError("device: mps requested but no MPS device is available")
    return torch.device(name)


_DEPTH = [0]  # open reproducible_compute blocks on this process


@contextmanager
def reproducible_compute() -> Iterator[None]:
    """Run torch on one intra-op thread, with subnormal numbers flushed to zero, inside the
    block (restored afterwards).

    Subnormals appear in training (gradients decaying through the steps, optimiser moments of
    rarely used weights) and cost x86 CPUs ~100 cycles each: training ran ~3x slower with them.
    Flushing is the SSE FTZ/DAZ mode every x86-64 CPU has, set on this (the only) thread, so
    the figures stay the same on every machine.
    """
    threads = torch.get_num_threads()
    # torch cannot read the flush mode back; count nesting (training validates inside its
    # own block) so that only the outermost exit switches flushing off again.
    _DEPTH[0] += 1
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        _DEPTH[0] -= 1
        if not _DEPTH[0]:
            torch.set_flush_denormal(False)
        torch.set_num_threads(threads)
