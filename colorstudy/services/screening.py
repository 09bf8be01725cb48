"""Colour-vision screening: the plates a participant answers before the first trial, the result,
and turning away who fails in a study that excludes (colorstudy.plates makes the plates)."""
from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import Participant, Plate
from .admission import hand_over

logger = logging.getLogger(__name__)


class PlateRefused(Exception):
    """An answer to a plate that is not the participant's current one."""


def pending_plate(participant: Participant) -> Plate | None:
    """The plate the participant must answer next, or None (no plates in this study, or all answered)."""
    if not participant.study.settings.screens_colour_vision or participant.screened_at is not None:
        return None
    if not participant.plates.exists():
        _make_plates(participant)
    return participant.plates.filter(answer__isnull=True).order_by("position").first()


def _make_plates(participant: Participant) -> None:
    """Generate the participant's plates from their own seed and store them as metadata-free PNGs."""
    from ..plates import make_plate, plan

    seed = hash_seed(participant.study.seed, participant.token)
    media = Path(settings.MEDIA_ROOT)
    (media / "plates").mkdir(parents=True, exist_ok=True)
    rows = []
    for position, entry in enumerate(plan(seed), start=1):
        plate = Plate(participant=participant, position=position, kind=entry.kind, digit=entry.digit)
        plate.path = f"plates/{plate.token}.png"
        (media / plate.path).write_bytes(make_plate(entry.kind, entry.digit, entry.seed).png())
        rows.append(plate)
    with transaction.atomic():
        if not participant.plates.exists():  # two tabs at once: the first set stands
            Plate.objects.bulk_create(rows)
            return
    for plate in rows:
        (media / plate.path).unlink(missing_ok=True)


def hash_seed(study_seed: int, token: str) -> int:
    """A participant's plate seed: the study's seed and their token (so plates cannot be shared)."""
    return int.from_bytes(hashlib.sha256(f"{study_seed}:{token}".encode()).digest()[:8], "big")


def answer_plate(participant: Participant, position: int, answer: int) -> None:
    """Store the answer to the current plate (the same answer again is a success); after the last
    plate, the result, and in a study that excludes, turning away who failed."""
    current = pending_plate(participant)
    if current is None or current.position != position:
        stored = participant.plates.filter(position=position).values_list("answer", flat=True).first()
        if stored is not None and stored == answer:
            return
        raise PlateRefused(_("colour check {position} is not the one to answer now").format(position=position))
    Plate.objects.filter(pk=current.pk, answer__isnull=True).update(answer=answer, answered_at=timezone.now())
    if not participant.plates.filter(answer__isnull=True).exists():
        _conclude(participant)


def _conclude(participant: Participant) -> None:
    from ..plates import judge

    result = judge(participant.plates.values_list("kind", "digit", "answer"))
    now = timezone.now()
    out = participant.study.settings.colour_vision == "exclude" and not result.passed
    with transaction.atomic():
        updated = Participant.objects.filter(pk=participant.pk, screened_at__isnull=True).update(
            screened_at=now, plates_shown=result.shown, plates_right=result.right, colour_vision=result.label,
            screened_out_at=now if out else None,
        )
        if updated and out:
            new = hand_over(participant)
            logger.info("participant %s screened out (%s); the list goes to %s", participant, result.label, new)
    participant.refresh_from_db(fields=["screened_at", "plates_shown", "plates_right", "colour_vision",
                                        "screened_out_at"])
