"""Scoring anyone's recordings with the pipeline's final model: reading WFDB, EDF, CSV and
NumPy recordings at any rate and lead, the deployable checkpoint, scoring through the
training pipeline's own preparation, and writing the results (CSV, WFDB annotations, plot).

    from ecg.inference import load_model, score_record
    model = load_model("models/final/model.pt")
    scores = score_record(signal, fs=500.0, model=model)   # per 10-s window

It sits beside `ecg.eval`: it reads `ecg.models`, `ecg.features`, `ecg.signal` and the
record helpers of `ecg.data`, never `ecg.train`.
"""

from ecg.inference.deployed import DeployedModel, load_model
from ecg.inference.scoring import RecordScores, score_record, score_window

__all__ = ["DeployedModel", "RecordScores", "load_model", "score_record", "score_window"]
