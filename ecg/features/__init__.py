"""What the beat models see: detected beats turned into per-beat and per-window features
(`beat_features`), and the stored step layout the models read (`layout`). Computed from a
window's signal and its DETECTED beats only (reference annotations never enter), so training
and inference see the same thing."""
