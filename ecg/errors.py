"""User-facing errors: one line, non-zero exit, no traceback."""

from __future__ import annotations

import sys
from collections.abc import Callable


class ECGError(Exception):
    """A mistake in the user's input (file, record, parameter) with a one-line message."""


def run_cli(main: Callable[[], int | None]) -> None:
    """Run a stage's `main`, turning `ECGError` into `error: ...` on stderr and exit 2."""
    try:
        code = main()
    except ECGError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(code or 0)
