"""Training: the focal loss (`losses`), waveform augmentation (`augment`), the training
configs (`config`), epoch selection (`selection`), training checkpoints (`checkpoint`), the
loop built from named pieces (`loop`), one transfer stage (`transfer`), live per-epoch
logging through DVCLive (`live`) and subject-wise cross-validation (`crossval`)."""
