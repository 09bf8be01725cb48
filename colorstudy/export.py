"""The tidy vote table: one row per vote, the format `evaluation` reads."""
from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import TextIO

from evaluation.csvsafe import neutral_row

from .models import Study, Vote

COLUMNS = [
    "participant",
    "external_id",
    "position",
    "image",
    "left_system",
    "right_system",
    "chosen_system",
    "is_catch",
    "is_practice",
    "response_ms",
    "displayed_ms",
    "viewport_width",
    "device_class",
    "plates_right",  # colour-vision plates (colorstudy.plates): answered right, of shown; blank: not screened
    "plates_shown",
    "colour_vision",  # normal, the deficiencies suspected (protan+deutan), or demo missed
    "finished",
    "time",
    "vote_id",  # the order votes were stored in
    "scheduled_after_vote",  # adaptive design: the list was chosen from the votes up to this vote_id
]


def participant_label(slot: int) -> str:
    """The participant's name in exports: never the token, which is a credential."""
    return f"P{slot + 1:04d}"


def vote_rows(study: Study) -> Iterator[tuple]:
    query = (
        Vote.objects.filter(trial__participant__study=study)
        .order_by("trial__participant__slot", "trial__position")
        .values_list(
            "trial__participant__slot",
            "trial__participant__external_id",
            "trial__position",
            "trial__image__name",
            "trial__left__system__name",
            "trial__right__system__name",
            "chosen_system__name",
            "trial__is_catch",
            "trial__is_practice",
            "response_ms",
            "displayed_ms",
            "trial__participant__viewport_width",
            "trial__participant__device_class",
            "trial__participant__plates_right",
            "trial__participant__plates_shown",
            "trial__participant__colour_vision",
            "trial__participant__finished_at",
            "created_at",
            "pk",
            "trial__participant__scheduled_after_vote",
        )
    )
    for (slot, ext, pos, image, left, right, chosen, catch, practice, ms, shown, width, device, right_plates,
         plates, vision, finished, created, pk, scheduled) in query.iterator(chunk_size=10_000):
        yield (participant_label(slot), ext, pos, image, left, right, chosen, catch, practice, ms, shown, width, device,
               *_plates(right_plates, plates, vision), finished is not None, created.isoformat(), pk,
               "" if scheduled is None else scheduled)


def _plates(right: int, shown: int, vision: str) -> tuple:
    """The colour-vision columns: blank for a participant who saw no plates."""
    return (right, shown, vision) if vision else ("", "", "")


def write_csv(study: Study, out: TextIO) -> int:
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    n = 0
    for row in vote_rows(study):
        writer.writerow(neutral_row(row))  # panel ids come from URLs: no cell may be a formula
        n += 1
    return n


def votes_frame(study: Study):
    """The vote table as a pandas DataFrame, ready for ``evaluation``."""
    import pandas as pd

    return pd.DataFrame.from_records(list(vote_rows(study)), columns=COLUMNS)


def review_frame(study: Study):
    """Each voter's data-quality checks (``evaluation.quality``) under the study's catch-trial rule;
    the participants the colour-vision plates screened join it; None before any of them."""
    import pandas as pd

    from evaluation.quality import participant_review

    votes = votes_frame(study)
    screened = pd.DataFrame.from_records(
        [(participant_label(slot), ext, right, shown, vision, out is not None)
         for slot, ext, right, shown, vision, out in study.participants.exclude(colour_vision="").order_by("slot")
         .values_list("slot", "external_id", "plates_right", "plates_shown", "colour_vision", "screened_out_at")],
        columns=["participant", "external_id", "plates_right", "plates_shown", "colour_vision", "screened_out"])
    if votes.empty and screened.empty:
        return None
    table = participant_review(votes, study.catch_max_fail_rate) if not votes.empty else pd.DataFrame(
        columns=["participant", "external_id", "votes", "finished"])
    if screened.empty:
        return table
    # Participants the plates turned away cast no vote: they join the table with their plates alone.
    table = table.merge(screened.drop(columns="external_id"), on="participant", how="outer")
    missing = table["external_id"].isna()
    table.loc[missing, "external_id"] = table.loc[missing, "participant"].map(
        screened.set_index("participant")["external_id"])
    table["votes"] = table["votes"].fillna(0).astype(int)
    for flag in ("finished", "screened_out", "fails_catch", "one_sided", "outlier"):
        if flag in table:
            table[flag] = table[flag].astype("boolean").fillna(False).astype(bool)
    return table
