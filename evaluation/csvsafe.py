"""CSV files that cannot attack their reader.

A panel id arrives from a URL and is written as it came; a cell such as ``=HYPERLINK(...)`` becomes a
live formula when a researcher opens the file in a spreadsheet. Every CSV the project writes passes
its text cells through :func:`neutral`: a text that begins with ``=``, ``+``, ``-``, ``@``, a tab or
a carriage return gets a leading apostrophe, which spreadsheets show as text and do not evaluate
(OWASP's guidance on CSV injection). Numbers stay numbers.

>>> neutral('=HYPERLINK("http://evil.example","x")')
'\\'=HYPERLINK("http://evil.example","x")'
>>> neutral("P0001"), neutral(-0.5)
('P0001', -0.5)
"""
from __future__ import annotations

import pandas as pd

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutral(value):
    """``value``, with a leading apostrophe when it is text a spreadsheet would evaluate."""
    if isinstance(value, str) and value.startswith(TRIGGERS):
        return "'" + value
    return value


def neutral_row(row) -> list:
    return [neutral(v) for v in row]


def neutral_frame(table: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``table`` whose text cells (and column names) are neutral."""
    out = table.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]) \
                or isinstance(out[column].dtype, pd.CategoricalDtype):
            out[column] = out[column].astype(object).map(neutral)
    out.columns = [neutral(str(c)) for c in out.columns]
    return out


def to_csv(table: pd.DataFrame, target=None, **kwargs):
    """``table.to_csv`` with its text cells neutral (``index=False`` unless given)."""
    kwargs.setdefault("index", False)
    return neutral_frame(table).to_csv(target, **kwargs)
