"""Output names from any input name: spaces, dots, unicode and all.

WFDB record names may hold only letters, digits, '-' and '_', so every output stem is made of
those. A name that had to change gets a short hash of the original, so that `rec 100.csv`
and `rec_100.csv` never write the same files; a lead other than the model's own is named in
the stem, so scoring lead V1 after lead II keeps both; and two inputs of one batch that would
still share a stem (the same file name in two folders) are told apart by their paths. A
record given twice is scored once.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from ecg.inference.leads import normalise

KNOWN_SUFFIXES = (".edf", ".csv", ".npy", ".hea", ".dat")


def _hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:6]


def safe(text: str) -> str:
    """`text` in WFDB's record-name alphabet ('_' for every other run of characters)."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_") or "record"


def record_name(path: str | Path) -> str:
    """The input's name without a known extension (`data/rec.100.csv` -> `rec.100`)."""
    name = Path(path).name
    return name[: -len(Path(name).suffix)] if name.lower().endswith(KNOWN_SUFFIXES) else name


def record_stems(paths: list[str]) -> list[str]:
    """A safe, distinct stem for every input path of a batch (hashes of the paths as given,
    so the same command names its outputs alike on any machine)."""
    stems = []
    for path in paths:
        name = record_name(path)
        stem = safe(name)
        stems.append(stem if stem == name else f"{stem}-{_hash(name)}")
    counts = {s: stems.count(s) for s in stems}
    return [
        s if counts[s] == 1 else f"{s}-{_hash(str(Path(p)))}"
        for s, p in zip(stems, paths, strict=True)
    ]


def with_lead(stem: str, *, lead: str, model_lead: str) -> str:
    """`stem`, naming the lead when it is not the model's own."""
    return stem if normalise(lead) == normalise(model_lead) else f"{stem}_lead-{safe(lead)}"
