"""The tidy vote table: one row per vote, the format `evaluation` reads."""
from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import TextIO

from evaluation.csvsafe import neutral_row

from .models import Stimulus, Study, Vote

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
    "viewport_height",
    "device_pixel_ratio",
    "screen_width",
    "screen_height",
    "zoom",  # as far as the browser tells (1: 100%)
    "color_gamut",  # srgb, p3 or rec2020 (CSS color-gamut)
    "dynamic_range",
    "pointer",  # fine, coarse or none
    "image_px",  # this vote: the width each image was shown at, CSS pixels at 100% zoom
    "focus_lost",  # this vote: the window lost focus during the trial
    "resized",  # this vote: the window was resized during the trial
    "viewport",  # this vote: WIDTHxHEIGHT@RATIO where it differs from the consent's
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


def metric_names(study: Study) -> list[str]:
    """The automatic metrics the study's stimuli carry (colorstudy.stimulusmetrics), in name order."""
    names: set[str] = set()
    for metrics in Stimulus.objects.filter(system__study=study).values_list("metrics", flat=True):
        names.update(metrics or {})
    return sorted(names)


def columns(study: Study) -> list[str]:
    """The export's columns: :data:`COLUMNS`, then each metric of the left and the right stimulus."""
    return COLUMNS + [f"{side}_{name}" for name in metric_names(study) for side in ("left", "right")]


def vote_rows(study: Study) -> Iterator[tuple]:
    names = metric_names(study)
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
            "trial__participant__viewport_height",
            "trial__participant__device_pixel_ratio",
            "trial__participant__screen_width",
            "trial__participant__screen_height",
            "trial__participant__zoom",
            "trial__participant__color_gamut",
            "trial__participant__dynamic_range",
            "trial__participant__pointer",
            "image_px",
            "focus_lost",
            "resized",
            "viewport",
            "trial__participant__plates_right",
            "trial__participant__plates_shown",
            "trial__participant__colour_vision",
            "trial__participant__finished_at",
            "created_at",
            "pk",
            "trial__participant__scheduled_after_vote",
            "trial__left__metrics",
            "trial__right__metrics",
        )
    )
    for row in query.iterator(chunk_size=10_000):
        (slot, ext, pos, image, left, right, chosen, catch, practice, ms, shown, width, device), rest = row[:13], row[13:]
        conditions, (right_plates, plates, vision, finished, created, pk, scheduled, left_m, right_m) = rest[:12], rest[12:]
        yield (participant_label(slot), ext, pos, image, left, right, chosen, catch, practice, ms, shown, width, device,
               *("" if v is None else v for v in conditions), *_plates(right_plates, plates, vision),
               finished is not None, created.isoformat(), pk, "" if scheduled is None else scheduled,
               *_metric_cells(names, left_m, right_m))


def _metric_cells(names: list[str], left: dict | None, right: dict | None) -> list:
    cells = []
    for name in names:
        for side in (left or {}, right or {}):
            value = side.get(name)
            cells.append(value)  # None: not measured (an empty cell in the CSV)
    return cells


def _plates(right: int, shown: int, vision: str) -> tuple:
    """The colour-vision columns: blank for a participant who saw no plates."""
    return (right, shown, vision) if vision else ("", "", "")


def write_csv(study: Study, out: TextIO) -> int:
    writer = csv.writer(out)
    writer.writerow(columns(study))
    n = 0
    for row in vote_rows(study):
        writer.writerow(neutral_row(row))  # panel ids come from URLs: no cell may be a formula
        n += 1
    return n


def votes_frame(study: Study):
    """The vote table as a pandas DataFrame, ready for ``evaluation``."""
    import pandas as pd

    return pd.DataFrame.from_records(list(vote_rows(study)), columns=columns(study))


# Each participant's viewing conditions at consent (conditions.js), in the participants table and the export.
CONDITIONS = ["viewport_height", "device_pixel_ratio", "screen_width", "screen_height", "zoom", "color_gamut",
              "dynamic_range", "pointer"]
SCREENING = ["plates_right", "plates_shown", "colour_vision", "screened_out"]


def participants_frame(study: Study):
    """Every participant who consented: panel id, viewing conditions, the plates' result; and over
    their votes, how many were cast with the window out of focus or resized, and the median width
    the images were shown at (CSS pixels at 100% zoom)."""
    import pandas as pd
    from django.db.models import Count, Q

    rows = (study.participants.filter(consented_at__isnull=False).order_by("slot")
            .annotate(focus_lost_votes=Count("trials__vote", filter=Q(trials__vote__focus_lost=True)),
                      resized_votes=Count("trials__vote", filter=Q(trials__vote__resized=True)))
            .values("slot", "external_id", "device_class", "viewport_width", *CONDITIONS, "plates_right",
                    "plates_shown", "colour_vision", "screened_out_at", "focus_lost_votes", "resized_votes"))
    table = pd.DataFrame.from_records(list(rows), columns=["slot", "external_id", "device_class", "viewport_width",
                                                           *CONDITIONS, "plates_right", "plates_shown",
                                                           "colour_vision", "screened_out_at", "focus_lost_votes",
                                                           "resized_votes"])
    widths = pd.DataFrame.from_records(list(Vote.objects.filter(trial__participant__study=study, image_px__isnull=False)
                                            .values_list("trial__participant__slot", "image_px")),
                                       columns=["slot", "image_px"])
    table["median_image_px"] = table["slot"].map(widths.groupby("slot")["image_px"].median())
    table.insert(0, "participant", [participant_label(slot) for slot in table.pop("slot")])
    table["screened_out"] = table.pop("screened_out_at").notna()
    if not study.settings.screens_colour_vision:
        table = table.drop(columns=SCREENING)
    return table


def review_frame(study: Study):
    """Each participant's data-quality checks (``evaluation.quality``) under the study's catch-trial
    rule, beside their viewing conditions and colour-vision plates (:func:`participants_frame`);
    participants who never voted (turned away by the plates) are listed with what they gave.
    None before anyone consented."""
    from evaluation.quality import participant_review

    people = participants_frame(study)
    if people.empty:
        return None
    votes = votes_frame(study)
    if votes.empty:
        table = people.assign(votes=0, finished=False)
    else:
        review = participant_review(votes, study.catch_max_fail_rate)
        table = review.merge(people.drop(columns="external_id"), on="participant", how="outer")
        missing = table["external_id"].isna()
        table.loc[missing, "external_id"] = table.loc[missing, "participant"].map(
            people.set_index("participant")["external_id"])
    table["votes"] = table["votes"].fillna(0).astype(int)
    for flag in ("finished", "screened_out", "fails_catch", "one_sided", "outlier"):
        if flag in table:
            table[flag] = table[flag].astype("boolean").fillna(False).astype(bool)
    flagged = table[[f for f in ("fails_catch", "one_sided", "outlier", "screened_out") if f in table]].any(axis=1)
    if "colour_vision" in table:  # the plates missed, in a study that records them: a failed check too
        flagged |= ~table["colour_vision"].astype("string").fillna("").isin(["", "normal"])
    return (table.assign(_order=~flagged).sort_values(["_order", "participant"], kind="stable")
            .drop(columns="_order").reset_index(drop=True))
