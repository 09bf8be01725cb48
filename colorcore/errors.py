"""colorcore's one exception type for expected failures: its message is shown to the user as is."""
from __future__ import annotations


class ColorcoreError(Exception):
    """An expected failure (missing data, bad checkpoint, unreadable image) with a one-line message."""
