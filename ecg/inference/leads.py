"""Which channel of a recording is the lead asked for, as people write lead names.

Names match without regard to case, spaces, dashes and a leading "ECG" or "lead", and the
limb lead the models were trained on answers to its usual aliases: MIT-BIH's modified lead II
(MLII) and lead II are one lead for the model. Channel indices are asked for explicitly
(`--lead-index`), so a channel named "1" is never confused with the second channel.
"""

from __future__ import annotations

import re

from ecg.core.errors import ECGError

# Names that denote the same lead once normalised (see `normalise`).
# Digits are never aliases: a headerless CSV names its columns by position.
ALIASES = {"mlii": "ii", "lii": "ii", "mliii": "iii", "mli": "i"}


def normalise(name: str) -> str:
    """'ECG II', 'Lead-II', 'ii', 'MLII' -> 'ii'; other names lower-cased without spaces."""
    key = re.sub(r"[\s_\-.]+", "", name.strip().lower())
    key = re.sub(r"^(ecg|ekg|lead)(?=.)", "", key)
    return ALIASES.get(key, key)


def pick_channel(
    channels: list[str],
    *,
    lead: str | None,
    index: int | None,
    default: str,
    where: str,
) -> int:
    """Index of the channel to score: `index` if given, else the channel named `lead`, else
    the model's own lead `default`, else the only channel. A multi-channel source without the
    model's lead must be told which lead to use: another lead can look quite different."""
    listing = ", ".join(channels) if channels else "none"
    if index is not None:
        if not 0 <= index < len(channels):
            raise ECGError(f"{where}: no channel index {index} (channels: {listing})")
        return index
    wanted = lead if lead is not None else default
    matches = [i for i, c in enumerate(channels) if normalise(c) == normalise(wanted)]
    if len(matches) > 1:
        names = ", ".join(channels[i] for i in matches)
        raise ECGError(f"{where}: several channels are lead {wanted!r} ({names}); use --lead-index")
    if matches:
        return matches[0]
    if lead is not None:
        raise ECGError(f"{where}: no lead {lead!r} (channels: {listing})")
    if len(channels) == 1:
        return 0
    raise ECGError(
        f"{where}: no {default} lead (the model's); pick one with --lead NAME or --lead-index N "
        f"(channels: {listing})"
    )
