"""Loading and validating the tidy vote table: one row per vote.

Columns (the format of ``manage.py export_votes``):

- ``participant``, ``left_system``, ``right_system``, ``chosen_system``: required;
- ``image``, ``is_catch``, ``response_ms``, ``position``, ``external_id``: optional.

A study run elsewhere whose left/right placement was not recorded (like the seed's) may give
``system_a`` and ``system_b`` instead of ``left_system`` and ``right_system``; side bias is then
not computed. pwcmp's long format (``observer, scene, condition_A, condition_B, is_A_selected``;
``scene`` optional) is read as well, with the observer as participant and the scene as image.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

REQUIRED = ("participant", "left_system", "right_system", "chosen_system")
PWCMP = ("observer", "condition_A", "condition_B", "is_A_selected")  # and optionally "scene"
CATCH_SYSTEMS = ("ground_truth", "foil")
_TRUE = {"true", "1", "yes", "t", "y"}
_FALSE = {"false", "0", "no", "f", "n", ""}


class VoteTableError(ValueError):
    """The vote table is unusable; the message names the column, row or value."""


def load_votes(source: str | Path | pd.DataFrame) -> pd.DataFrame:
    """Read and validate a vote table from a CSV path or a DataFrame.

    Returns a new DataFrame with ``is_catch`` as bool, ``response_ms`` as float (NaN when
    absent), ``image`` filled with "" when absent, and ``attrs["sides_known"]``.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"participant": ["p1", "p1"], "left_system": ["a", "b"],
    ...                    "right_system": ["b", "a"], "chosen_system": ["a", "a"]})
    >>> load_votes(df)["is_catch"].tolist()
    [False, False]
    """
    if isinstance(source, pd.DataFrame):
        df = source.copy()
        origin = "vote table"
    else:
        origin = str(source)
        try:
            df = pd.read_csv(source, dtype={"participant": str, "image": str, "external_id": str,
                                                   "observer": str, "scene": str})
        except FileNotFoundError:
            raise VoteTableError(f"{origin}: no such file") from None
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise VoteTableError(f"{origin}: not a readable CSV ({exc})") from None
    found = [str(c) for c in df.columns]
    sides_known = True
    if "participant" not in df and set(PWCMP) <= set(df.columns):
        df = _from_pwcmp(df, origin)
        sides_known = False
    elif "left_system" not in df and {"system_a", "system_b"} <= set(df.columns):
        df = df.rename(columns={"system_a": "left_system", "system_b": "right_system"})
        sides_known = False
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise VoteTableError(
            f"{origin}: missing column(s) {missing}; expected {', '.join(REQUIRED)} (system_a, system_b may stand for "
            f"left_system, right_system), or pwcmp's {', '.join(PWCMP)}; found {found}"
        )
    coded = {}
    for column in REQUIRED:
        codes, categories, blank = _coded(df[column])
        if blank.any():
            raise VoteTableError(f"{origin}: column {column!r} is empty in row(s) {_rows(pd.Series(blank))}")
        coded[column] = codes, categories
    # The three system columns on shared categories, so that they compare as integers.
    systems = np.unique(np.concatenate([coded[c][1] for c in REQUIRED[1:]]))
    for column in REQUIRED[1:]:
        codes, categories = coded[column]
        coded[column] = np.searchsorted(systems, categories)[codes], systems
    for column, (codes, categories) in coded.items():
        df[column] = pd.Categorical.from_codes(codes, categories)
    left, right, chosen = (coded[c][0] for c in REQUIRED[1:])
    same = left == right
    if same.any():
        raise VoteTableError(f"{origin}: left_system equals right_system in row(s) {_rows(pd.Series(same))}")
    stray = pd.Series((chosen != left) & (chosen != right), index=df.index)
    if stray.any():
        first = df.index[stray][0]
        raise VoteTableError(
            f"{origin}: chosen_system {df.loc[first, 'chosen_system']!r} is neither left nor right system "
            f"in row(s) {_rows(stray)}"
        )
    codes, categories, _ = _coded(df["image"]) if "image" in df else (np.zeros(len(df), dtype=int), np.array([""]), None)
    df["image"] = pd.Categorical.from_codes(codes, categories)
    df["is_catch"] = _parse_bool(df["is_catch"], origin) if "is_catch" in df else False
    df["response_ms"] = pd.to_numeric(df["response_ms"], errors="coerce") if "response_ms" in df else np.nan
    if "finished" in df:
        df["finished"] = _parse_bool(df["finished"], origin, "finished")
    practice = 0
    if "is_practice" in df:
        # Practice votes are stored for the record but never counted.
        is_practice = _parse_bool(df["is_practice"], origin, "is_practice")
        practice = int(is_practice.sum())
        df = df[~is_practice]
    df = df.reset_index(drop=True)
    df.attrs["sides_known"] = sides_known
    df.attrs["practice_votes"] = practice
    return df


def _coded(column: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The column as categorical codes of its stripped text, the sorted categories, and where it is blank.

    Each distinct value is stripped once, and every later groupby, comparison and count works on
    the integer codes: a million votes name few systems, images and participants.
    """
    codes, uniques = pd.factorize(column, use_na_sentinel=False)
    stripped = np.array(["" if pd.isna(u) else str(u).strip() for u in uniques], dtype=object)
    categories, remap = np.unique(stripped.astype(str), return_inverse=True)
    return remap[codes], categories.astype(object), (stripped == "")[codes]


def _from_pwcmp(df: pd.DataFrame, origin: str) -> pd.DataFrame:
    """pwcmp's table as a vote table: condition_A and condition_B are not screen sides."""
    chose_a = _parse_bool(df["is_A_selected"], origin, "is_A_selected")
    out = pd.DataFrame({
        "participant": df["observer"].astype(str),
        "left_system": df["condition_A"],
        "right_system": df["condition_B"],
        "chosen_system": df["condition_A"].where(chose_a, df["condition_B"]),
    })
    if "scene" in df:
        out["image"] = df["scene"].astype(str)
    return out


def _parse_bool(column: pd.Series, origin: str, name: str = "is_catch") -> pd.Series:
    if column.dtype == bool:
        return column
    if pd.api.types.is_numeric_dtype(column):
        # A numeric column (pandas reads 1/0 with one stray 0.7 as floats): 1 and 0 are fine, the rest is named.
        bad = column.notna() & ~column.isin([0, 1])
        if bad.any():
            raise VoteTableError(f"{origin}: {name} must be true/false or 1/0, got {column[bad].iloc[0]:g} in row(s) "
                                 f"{_rows(bad)}")
        return column.fillna(0).astype(bool)
    text = column.fillna("").astype(str).str.strip().str.lower()
    bad = ~text.isin(_TRUE | _FALSE)
    if bad.any():
        raise VoteTableError(f"{origin}: {name} must be true/false, got {text[bad].iloc[0]!r} in row(s) {_rows(bad)}")
    return text.isin(_TRUE)


def _rows(mask: pd.Series, limit: int = 5) -> str:
    # Row numbers as a spreadsheet shows them: header is row 1.
    rows = [str(i + 2) for i in np.flatnonzero(mask.to_numpy())[:limit]]
    more = int(mask.sum()) - len(rows)
    return ", ".join(rows) + (f" and {more} more" if more > 0 else "")


def regular(df: pd.DataFrame) -> pd.DataFrame:
    """Votes of regular trials only (catch trials removed)."""
    return df[~df["is_catch"]]


def system_pairs(df: pd.DataFrame) -> list[tuple[str, str]]:
    """The unordered system pairs compared in regular trials, each sorted, in sorted order."""
    distinct = regular(df)[["left_system", "right_system"]].drop_duplicates()
    return sorted({tuple(sorted(p)) for p in distinct.itertuples(index=False)})


def pair_votes(df: pd.DataFrame, a: str, b: str) -> pd.DataFrame:
    """Regular votes between systems ``a`` and ``b`` with ``chose_a`` (0/1) and ``a_left`` (0/1)."""
    reg = regular(df)
    mask = ((reg["left_system"] == a) & (reg["right_system"] == b)) | (
        (reg["left_system"] == b) & (reg["right_system"] == a)
    )
    return oriented(reg[mask], a)


def oriented(sub: pd.DataFrame, a: str) -> pd.DataFrame:
    """The votes of one pair with ``chose_a`` and ``a_left`` (0/1) for its system ``a``.

    Only the columns the pair analyses read are kept: a copy of every column of a million votes
    costs more than the analyses themselves.
    """
    keep = [c for c in ("participant", "image", "left_system", "right_system", "chosen_system", "is_catch")
            if c in sub]
    sub = sub[keep].copy()
    sub["chose_a"] = (sub["chosen_system"] == a).astype(int)
    sub["a_left"] = (sub["left_system"] == a).astype(int)
    return sub


def votes_by_pair(df: pd.DataFrame) -> dict[tuple[str, str], pd.DataFrame]:
    """Regular votes split by unordered pair of systems (keys sorted), in one pass over the table."""
    reg = regular(df)
    left, right = reg["left_system"].to_numpy(), reg["right_system"].to_numpy()
    first = np.where(left < right, left, right)
    second = np.where(left < right, right, left)
    return {(str(x), str(y)): group for (x, y), group in reg.groupby([first, second], sort=True)}
