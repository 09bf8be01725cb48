"""Writing participants' trial lists: the one writer that generation (every list of a fixed design)
and the adaptive design (one newcomer's list at consent) both use."""
from __future__ import annotations

from . import hotpath
from .design import TrialSpec
from .models import Participant, Stimulus, Study, Trial

COLUMNS = ("participant", "position", "image", "left", "right", "is_catch", "is_practice")


def write_lists(study: Study, lists: list[tuple[Participant, list[TrialSpec]]]) -> int:
    """Store each participant's trials in order (positions from 1); the rows written.

    Runs inside the caller's transaction; the database's constraints hold the rows to one trial per
    position and stimuli of the participant's study."""
    stimuli = {
        (system, image): (pk, image_id)
        for pk, system, image, image_id in Stimulus.objects.filter(system__study=study).values_list(
            "pk", "system__name", "image__name", "image_id")
    }
    rows = []
    for participant, specs in lists:
        for position, spec in enumerate(specs, start=1):
            left, image = stimuli[(spec.left, spec.image)]
            right, _ = stimuli[(spec.right, spec.image)]
            rows.append((participant.pk, position, image, left, right, spec.is_catch, spec.is_practice))
    hotpath.insert_many(Trial, COLUMNS, rows)
    return len(rows)
