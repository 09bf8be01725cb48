"""Admission: who may take part, and with which trial list (consent, quotas, screens, panel ids)."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import Participant, Study, Trial
from ..studydesigns import design_of

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Screen:
    """The viewing conditions a browser reported at consent (CSS pixels; None or "" where it did not)."""

    width: int | None = None
    height: int | None = None
    device_pixel_ratio: float | None = None
    screen_width: int | None = None
    screen_height: int | None = None
    zoom: float | None = None
    color_gamut: str = ""
    dynamic_range: str = ""
    pointer: str = ""

    @property
    def device_class(self) -> str:
        """phone, tablet or desktop: a touch screen by its shorter side, otherwise by the window's width."""
        if self.width is None:
            return ""
        if self.pointer == "coarse":
            shorter = min(self.screen_width or self.width, self.screen_height or self.height or self.width)
            return "phone" if shorter < 600 else "tablet"
        if self.pointer == "fine":
            return "desktop"
        return "phone" if self.width < 600 else "tablet" if self.width < 1024 else "desktop"

    def fields(self) -> dict:
        """The participant's columns for these conditions."""
        return {"viewport_width": self.width, "viewport_height": self.height, "device_class": self.device_class,
                "device_pixel_ratio": self.device_pixel_ratio, "screen_width": self.screen_width,
                "screen_height": self.screen_height, "zoom": self.zoom, "color_gamut": self.color_gamut or "",
                "dynamic_range": self.dynamic_range or "", "pointer": self.pointer or ""}

    def refusal(self, study: Study) -> str | None:
        """Why this screen cannot take part in ``study``, in one sentence with what to do; or None."""
        s = study.settings
        checks = s.min_viewport_width or s.devices != "any" or s.min_image_px
        if not checks:
            return None
        if self.width is None:
            return _("This study needs JavaScript to check your screen: please enable it and reload the page.")
        if s.devices == "desktop-only" and self.device_class != "desktop":
            return _("This study needs a desktop or laptop computer with a mouse or trackpad: please open the same "
                     "link on one.")
        if s.devices == "no-phones" and self.device_class == "phone":
            return _("This study needs a screen larger than a phone's: please open the same link on a tablet or "
                     "computer.")
        if s.min_viewport_width and self.width < s.min_viewport_width:
            return _("This study needs a window at least {needed} pixels wide (yours is {width}). Please use a "
                     "larger screen or widen the window, then reload.").format(needed=s.min_viewport_width,
                                                                                width=self.width)
        if s.min_image_px and self.width * (self.zoom or 1.0) < 2 * s.min_image_px:
            return _("This study shows two images side by side, each at least {needed} pixels wide, and your "
                     "window is too small for them: please widen the window or reset the zoom (Ctrl+0 or Cmd+0), "
                     "then reload.").format(needed=s.min_image_px)
        return None


@dataclass(frozen=True)
class ExternalIds:
    participant: str = ""
    study: str = ""
    session: str = ""

    @classmethod
    def from_query(cls, query) -> ExternalIds:
        """Prolific's URL parameters (PROLIFIC_PID, STUDY_ID, SESSION_ID), trimmed to the field sizes."""

        def get(name: str) -> str:
            # Printable characters only: PostgreSQL refuses NUL bytes, and ids are printable anyway.
            return clean_text(str(query.get(name, "")), 100).strip()

        return cls(get("PROLIFIC_PID"), get("STUDY_ID"), get("SESSION_ID"))


def clean_text(value: str, limit: int) -> str:
    """Printable characters only, trimmed to ``limit``: what may be stored from a request header."""
    return "".join(ch for ch in value if ch.isprintable())[:limit]


def find_participant(study: Study, external: ExternalIds) -> Participant | None:
    """The participant who already came with this external id, if any."""
    if not external.participant:
        return None
    return study.participants.filter(external_id=external.participant).first()


def assign_participant(study: Study, external: ExternalIds, user_agent: str = "", screen: Screen = Screen()) -> Participant | None:
    """Hand the next unused trial list to a newcomer who consented; None when the study is full.

    The same external id (PROLIFIC_PID) always gets the same participant, also when two
    requests race: the database's unique constraint decides, and the loser reads the winner.
    """
    existing = find_participant(study, external)
    if existing is not None:
        return existing
    now = timezone.now()
    try:
        with transaction.atomic():
            # skip_locked: concurrent newcomers on PostgreSQL take different rows instead of
            # queueing on one. SQLite serializes writers (IMMEDIATE transactions) instead.
            free = (
                study.participants.select_for_update(skip_locked=True)
                .filter(assigned_at__isnull=True)
                .order_by("slot")
                .first()
            )
            if free is None and study.settings.abandon_after_minutes:
                free = _take_over_abandoned(study, now)
            if free is None:
                return None
            free.assigned_at = now
            free.consented_at = now
            free.external_id = external.participant
            free.external_study_id = external.study
            free.external_session_id = external.session
            free.user_agent = clean_text(user_agent, 500)
            for name, value in screen.fields().items():
                setattr(free, name, value)
            free.save(
                update_fields=[
                    *screen.fields(),
                    "assigned_at",
                    "consented_at",
                    "external_id",
                    "external_study_id",
                    "external_session_id",
                    "user_agent",
                ]
            )
            free.study = study
            design_of(study).at_consent(free)  # an adaptive list is chosen now, with this row held
            return free
    except IntegrityError:
        again = find_participant(study, external)
        if again is None:
            raise
        return again


def give_consent(participant: Participant, user_agent: str = "", screen: Screen = Screen()) -> None:
    """Record consent for a participant who came through a personal link."""
    if participant.consented_at is not None:
        return
    now = timezone.now()
    with transaction.atomic():
        updated = Participant.objects.filter(pk=participant.pk, consented_at__isnull=True).update(
            consented_at=now, assigned_at=participant.assigned_at or now, user_agent=clean_text(user_agent, 500),
            **screen.fields(),
        )
        if updated:
            design_of(participant.study).at_consent(participant)
    participant.refresh_from_db(fields=["consented_at", "assigned_at", "user_agent", "trial_count"])


def quota_reached(study: Study) -> bool:
    """Newcomers are turned away: the target of finished participants is reached, or a look of the
    sequential plan stopped the study (the same message: the result must not reach participants)."""
    target = study.settings.target_completes
    if target and study.participants.filter(finished_at__isnull=False).count() >= target:
        return True
    design = design_of(study)
    design.before_admitting(study)
    return design.closed(study)


def closed_to_newcomers(study: Study) -> bool:
    """Whether a newcomer would be turned away now, asked before the consent form is shown: the
    quota or a sequential stop (:func:`quota_reached`), or no trial list left to hand out."""
    if quota_reached(study):
        return True
    if study.participants.filter(assigned_at__isnull=True).exists():
        return False
    if not study.settings.abandon_after_minutes:
        return True
    cutoff = timezone.now() - timedelta(minutes=study.settings.abandon_after_minutes)
    return not (study.participants.filter(assigned_at__isnull=False, finished_at__isnull=True, abandoned_at__isnull=True)
                .annotate(last_seen=Coalesce(Max("trials__vote__created_at"), "assigned_at"))
                .filter(last_seen__lt=cutoff).exists())


def _take_over_abandoned(study: Study, now) -> Participant | None:
    """Move the unanswered trials of the longest-idle unfinished participant to a new participant.

    The votes already cast stay with the first participant, who counts as incomplete. Runs
    inside the caller's transaction.
    """
    cutoff = now - timedelta(minutes=study.settings.abandon_after_minutes)
    idle = (
        study.participants.filter(assigned_at__isnull=False, finished_at__isnull=True, abandoned_at__isnull=True)
        .annotate(last_seen=Coalesce(Max("trials__vote__created_at"), "assigned_at"))
        .filter(last_seen__lt=cutoff)
        .order_by("last_seen")
        .values_list("pk", flat=True)[:5]
    )
    for pk in idle:
        # Lock the row (PostgreSQL) and check again: another newcomer may have taken it.
        old = Participant.objects.select_for_update(skip_locked=True).filter(pk=pk, abandoned_at__isnull=True).first()
        if old is None:
            continue
        new = hand_over(old)
        if new is None:
            continue
        Participant.objects.filter(pk=old.pk).update(abandoned_at=now)
        logger.info("participant %s abandoned; %d trials go to %s", old, new.trial_count, new)
        return new
    return None


def hand_over(old: Participant) -> Participant | None:
    """Move ``old``'s unanswered trials to a new, unassigned participant (the next newcomer's
    list); None when none is left. Runs inside the caller's transaction."""
    study = old.study
    remaining = list(old.trials.filter(vote__isnull=True).order_by("position"))
    if not remaining:
        return None
    last_slot = study.participants.aggregate(m=Max("slot"))["m"]
    new = Participant.objects.create(study=study, slot=last_slot + 1, trial_count=len(remaining), replaces=old)
    for position, trial in enumerate(remaining, start=1):
        trial.participant, trial.position = new, position
    Trial.objects.bulk_update(remaining, ["participant", "position"])
    return new
