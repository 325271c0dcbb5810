"""ecg-snn: spiking-network arrhythmia detection on single-lead ECG.

The package is layered; a layer imports only the layers below it (checked by import-linter,
`pyproject.toml` and `tests/test_layout.py`):

    ecg.cli        `ecg-snn`: predict on users' recordings, export the model
    ecg.params     params.yaml -> typed, checked config objects (assembles the sections)
    ecg.train      losses, the training loop, transfer stages, cross-validation
    ecg.eval       metrics, threshold rule, subject bootstrap, scoring, reports, model card
    ecg.inference  users' recordings (WFDB/EDF/CSV, any rate and lead) -> window scores
    ecg.export     NIR graph (standard LIF neurons) and TorchScript
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

from ecg.core.kernels import pin

# Before numpy, scipy or torch load: the same kernels, so the same figures, on every x86-64
# CPU (ecg/core/kernels.py says which and why).
pin()
