"""ecg-snn: spiking-network arrhythmia detection on single-lead ECG.

The package is layered; a layer imports only the layers below it (checked by import-linter,
`pyproject.toml` and `tests/test_layout.py`):

    ecg.cli        `ecg-snn`: predict on users' recordings, export the model
    ecg.params     params.yaml -> typed, checked config objects (assembles the sections)
    ecg.train      losses, the training loop, transfer stages, cross-validation
    ecg.eval       metrics, threshold rule, subject bootstrap, scoring, reports, model card
    ecg.inference  users' recordings (WFDB/EDF/CSV, any rate and lead) -> window scores
    ecg.export     NIR graph (with a reference interpreter) and TorchScript
    ecg.models     configs, the LIF kernel, DeepSNN / BeatSNN / baselines, checkpoints
    ecg.data       MIT-BIH, download, labels, splits, windows, dataset files, synthetic ECG
    ecg.features   detected beats -> beat and window features, the beat layout
    ecg.signal     resample, filter, window, QRS detection, signal quality
    ecg.core       one-line errors, atomic files, typed config loading, device, progress

`ecg.models` and `ecg.data` are independent of each other: a model knows no data file;
`ecg.eval`, `ecg.inference` and `ecg.export` are independent too, and scoring users'
recordings (`ecg.cli`, `ecg.inference`, `ecg.export`) never imports training code or
params.yaml. The pipeline stages (`stages/`, one thin module per DVC stage) import only the
library, never each other, and the library never imports them.
"""

import os
import sys

# Pin the numerical kernels before torch loads (a value the user set is kept): MKL's
# conditional-numerical-reproducibility mode and ATen's portable (non-AVX) kernels give the
# same floating-point results on every x86-64 CPU, so training gives the same figures on the
# user's machine as on ours (measured cost: README, "Reproducibility"). When torch is already
# loaded, its kernels are chosen: the variables stay unset, so that worker processes, which
# inherit them, compute exactly as this one does.
if "torch" not in sys.modules:
    os.environ.setdefault("MKL_CBWR", "COMPATIBLE")
    os.environ.setdefault("ATEN_CPU_CAPABILITY", "default")
