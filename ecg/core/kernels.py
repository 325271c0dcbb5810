"""Numerical kernels that every x86-64 CPU runs alike, chosen before any library loads.

Libraries pick kernels by the CPU they find: OpenBLAS (numpy's and scipy's matrix products)
by its core type, numpy by its SIMD dispatch, MKL and oneDNN (torch) by instruction set, ATen
by its CPU capability. Kernels of different widths sum in other orders, and a spiking
network's training turns those last-bit differences into other figures. So `pin()` forces
each to the portable choice every CPU that runs numpy 2 (x86-64-v2) has:

    OPENBLAS_CORETYPE         Nehalem   (SSE4.2 kernels; no autodetection)
    NPY_DISABLE_CPU_FEATURES  every dispatch target above numpy's baseline (added to any
                              the environment already disables)
    MKL_CBWR                  COMPATIBLE (MKL's conditional numerical reproducibility)
    ONEDNN_MAX_CPU_ISA        SSE41
    ATEN_CPU_CAPABILITY       default   (ATen's non-vectorised kernels)

Values the environment had are overridden (some machines set OPENBLAS_CORETYPE for their own
reasons), except under `ECG_NATIVE_KERNELS=1`, which keeps every library's own choice: faster,
and not reproducible across CPUs. Measured cost: docs/reproducibility.md.
"""

from __future__ import annotations

import os
import sys

NATIVE = "ECG_NATIVE_KERNELS"
# numpy 2's dispatch targets above its x86-64-v2 baseline; unknown names are ignored.
NUMPY_ABOVE_BASELINE = ("X86_V3", "X86_V4", "AVX512_ICL", "AVX512_SPR")
PINNED = {
    "OPENBLAS_CORETYPE": "Nehalem",
    "MKL_CBWR": "COMPATIBLE",
    "ONEDNN_MAX_CPU_ISA": "SSE41",
    "ATEN_CPU_CAPABILITY": "default",
}
LIBRARIES = ("numpy", "scipy", "torch")  # once one is loaded, its kernels are chosen


def pin() -> bool:
    """Set the variables (before numpy, scipy and torch load); False when it is too late or
    `ECG_NATIVE_KERNELS=1`. Too late: nothing is set, so that worker processes, which inherit
    the environment, compute exactly as this one does."""
    if os.environ.get(NATIVE) == "1" or any(lib in sys.modules for lib in LIBRARIES):
        return False
    os.environ.update(PINNED)
    disabled = os.environ.get("NPY_DISABLE_CPU_FEATURES", "").replace(",", " ").split()
    merged = list(dict.fromkeys([*disabled, *NUMPY_ABOVE_BASELINE]))
    os.environ["NPY_DISABLE_CPU_FEATURES"] = " ".join(merged)
    return True
