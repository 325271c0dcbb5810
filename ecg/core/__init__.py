"""Foundations every other layer may use, and that use nothing else of `ecg`: the one-line
user error (`ECGError`), atomic file writes, typed config loading with checks, the device
and thread setup, progress display, and the command-line conventions shared by the pipeline
stages and `ecg-snn`."""
