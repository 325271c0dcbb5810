"""User-facing errors: one line, non-zero exit, no traceback."""

from __future__ import annotations


class ECGError(Exception):
    """A mistake in the user's input (file, record, parameter) with a one-line message."""
