"""The DVC pipeline's stages: one thin entry point per stage (`python -m stages.NAME`), each
parsing its flags, calling the library (`ecg`) and writing only its own outputs.

Every stage imports `ecg` before torch, so the numerical kernels are pinned as
`ecg/__init__.py` explains.
"""

import ecg  # noqa: F401  (first: pins the kernels before any stage imports torch)
