"""colorcore's exception types for expected failures: their messages are shown to the user as is."""
from __future__ import annotations


class ColorcoreError(Exception):
    """An expected failure (missing data, bad checkpoint, unreadable image) with a one-line message."""


class DataError(ColorcoreError):
    """A data problem: a missing or empty folder, no usable image."""


class ImageError(DataError):
    """One image file that cannot be used; the message names the file."""
