"""The vote's hot path: the participant's next trials, one vote stored exactly once, breaks,
practice feedback, the end of a list. The queries are :mod:`colorstudy.hotpath`'s."""
from __future__ import annotations

import contextlib
import enum
import functools
import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import hotpath
from ..models import Participant, Study, System, Trial, Vote
from ..studydesigns import design_of

logger = logging.getLogger(__name__)


class VoteRefused(Exception):
    """A vote that must not be stored; ``reason`` (one of :data:`REFUSALS`) says why, ``message`` in words."""

    def __init__(self, reason: str, message: str) -> None:
        if reason not in REFUSALS:
            raise ValueError(f"reason must be one of {', '.join(REFUSALS)}, got {reason!r}")
        super().__init__(message)
        self.reason = reason
        self.message = message


# Why a vote is refused: a malformed choice, no consent yet, the colour-vision plates not passed, no such trial, not the trial whose
# turn it is, or a trial already answered otherwise (the views say it in HTTP).
REFUSALS = ("malformed", "no-consent", "not-screened", "no-trial", "not-current", "answered")


class VoteOutcome(enum.Enum):
    STORED = "stored"
    REPEATED = "repeated"  # the same choice again (double click, retry): success, nothing new stored


@dataclass(frozen=True, slots=True)
class TrialConditions:
    """How a trial was seen, measured in the browser: the image's width in CSS pixels at 100% zoom,
    whether the window lost focus or was resized, and the viewport where it changed since consent."""

    image_px: int | None = None
    focus_lost: bool | None = None
    resized: bool | None = None
    viewport: str = ""

    @classmethod
    def parse(cls, text: str) -> TrialConditions:
        """From the vote form's "IMAGE_PX;FOCUS_LOST;RESIZED;VIEWPORT" (checked by the form); empty: unknown."""
        if not text:
            return cls()
        image_px, focus, resized, viewport = text.split(";")
        flag = {"1": True, "0": False, "": None}
        return cls(int(image_px) if image_px else None, flag[focus], flag[resized], viewport)

    def fields(self) -> dict:
        return {"image_px": self.image_px, "focus_lost": self.focus_lost, "resized": self.resized,
                "viewport": self.viewport or ""}


@dataclass(frozen=True, slots=True)
class ShownStimulus:
    token: str
    width: int
    height: int
    system_id: int


@dataclass(frozen=True, slots=True)
class ShownTrial:
    """What the trial page and the vote need of a trial: read as plain values on the hot path,
    without building model instances (which took most of a request's time)."""

    pk: int
    position: int
    left: ShownStimulus
    right: ShownStimulus


_SHOWN = ("pk", "position", "left__token", "left__width", "left__height", "left__system_id",
          "right__token", "right__width", "right__height", "right__system_id")


@functools.cache
def _unanswered(n: int, of: str = "participant_id"):
    """The query of a participant's first ``n`` unanswered trials, by ``of``: its id, or
    "participant__token"."""
    def build(value) -> QuerySet:
        return Trial.objects.filter(**{of: value}, vote__isnull=True).order_by("position").values_list(*_SHOWN)[:n]

    return build


def _shown(rows: list[tuple]) -> list[ShownTrial]:
    return [ShownTrial(r[0], r[1], ShownStimulus(*r[2:6]), ShownStimulus(*r[6:10])) for r in rows]


def next_trials(participant: Participant, n: int = 2) -> list[ShownTrial]:
    """The first ``n`` trials without a vote: the current one (where a participant resumes) and the next."""
    return _shown(hotpath.rows(f"unanswered_{n}", _unanswered(n), participant.pk))


def participant_and_next_trials(token: str, n: int = 3) -> tuple[Participant | None, list[ShownTrial]]:
    """The participant with this token (None if there is none) and :func:`next_trials`, in one
    statement: a vote's first round trip to the database instead of two."""
    found, rows = hotpath.participant_with_rows(token, f"unanswered_by_token_{n}", _unanswered(n, "participant__token"),
                                                order=_SHOWN.index("position"))
    return found, _shown(rows)


@dataclass(frozen=True, slots=True)
class NextStep:
    """What a participant sees next: a trial, the pause screen, or the completion page."""

    kind: str  # "trial" | "break" | "complete"
    done: int  # trials answered
    total: int  # trials in this participant's list
    trial: ShownTrial | None = None
    upcoming: ShownTrial | None = None  # the one after, for preloading its images

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0


def next_step(participant: Participant, upcoming: list[ShownTrial] | None = None) -> NextStep:
    """Where the participant stands: the page view and the in-page vote both start from this.

    ``upcoming``: the first unanswered trials when the caller has just read them (at least two,
    or all that are left), which saves the query.
    """
    upcoming = next_trials(participant, 2) if upcoming is None else upcoming[:2]
    total = trials_of(participant)
    if not upcoming:
        return NextStep("complete", total, total)
    # Trials are answered in order: the current position says how many are done.
    done = upcoming[0].position - 1
    if break_due(participant, done):
        return NextStep("break", done, total)
    return NextStep("trial", done, total, upcoming[0], upcoming[1] if len(upcoming) > 1 else None)


def vote_and_next(participant: Participant, position: int, side: str, response_ms: int | None,
                  displayed_ms: int | None = None, upcoming: list[ShownTrial] | None = None,
                  conditions: TrialConditions | None = None) -> NextStep:
    """Store one vote (as ``record_vote``) and say what comes next, with one read of the trial list.
    ``upcoming``: the first three unanswered trials, when the caller has just read them."""
    upcoming = next_trials(participant, 3) if upcoming is None else upcoming
    outcome = record_vote(participant, position, side, response_ms, displayed_ms, upcoming=upcoming,
                          conditions=conditions)
    if outcome is VoteOutcome.STORED and upcoming and upcoming[0].position == position:
        return next_step(participant, upcoming[1:])
    return next_step(participant)


def current_trial(participant: Participant) -> ShownTrial | None:
    upcoming = next_trials(participant, 1)
    return upcoming[0] if upcoming else None


def total_trials(study: Study) -> int:
    """Trials in every participant's list: the regular ones and the catch trials."""
    return study.trials_per_participant + study.settings.catch_trials


def trials_of(participant: Participant) -> int:
    """Trials in this participant's list (fewer for one who took over an abandoned list)."""
    return participant.trial_count or total_trials(participant.study)


def break_due(participant: Participant, answered: int) -> bool:
    """Whether a pause screen comes before the next trial (after every ``break_every`` answers)."""
    every = participant.study.settings.break_every
    return bool(every) and answered > 0 and participant.breaks_taken < answered // every


def take_break(participant: Participant) -> None:
    """The participant is ready to go on after the pause screen."""
    every = participant.study.settings.break_every
    if not every:
        return
    answered = participant.trials.filter(vote__isnull=False).count()
    Participant.objects.filter(pk=participant.pk).update(breaks_taken=answered // every)


def practice_feedback(participant: Participant, position: str) -> dict | None:
    """What to tell a participant after practice trial ``position``: whether they picked the real photo."""
    if not position.isdigit() or int(position) > participant.study.settings.practice_trials:
        return None
    vote = (
        Vote.objects.filter(trial__participant=participant, trial__position=int(position), trial__is_practice=True)
        .select_related("chosen_system")
        .first()
    )
    if vote is None:
        return None
    correct = vote.chosen_system.role == System.Role.GROUND_TRUTH
    real_side = vote.side if correct else ("right" if vote.side == "left" else "left")
    return {"correct": correct, "real_side": real_side, "position": int(position)}


def record_vote(participant: Participant, position: int, side: str, response_ms: int | None,
                displayed_ms: int | None = None, upcoming: list[ShownTrial] | None = None,
                conditions: TrialConditions | None = None) -> VoteOutcome:
    """Store one vote, exactly once.

    Trials are answered strictly in order, so the current trial is the first unanswered one.
    The same choice sent again is a success that stores nothing; a different choice for an
    answered trial, a trial out of order, or a trial that is not this participant's is refused.
    ``upcoming``: the unanswered trials in order, when the caller has just read them.
    """
    if side not in Vote.Side.values:
        raise VoteRefused("malformed", _("side must be one of {allowed}, got {side}").format(allowed=", ".join(Vote.Side.values), side=repr(side)))
    if participant.consented_at is None:
        raise VoteRefused("no-consent", _("consent has not been given"))
    if participant.screened_out_at is not None or (participant.screened_at is None
                                                   and participant.study.settings.screens_colour_vision):
        raise VoteRefused("not-screened", _("the colour check comes first"))
    current = current_trial(participant) if upcoming is None else (upcoming[0] if upcoming else None)
    if current is None or position < current.position:
        existing = Vote.objects.filter(trial__participant=participant, trial__position=position).first()
        if existing is None:
            raise VoteRefused("no-trial", _("this participant has no trial {position}").format(position=position))
        return _same_or_conflict(existing, side)
    if position != current.position:
        if not participant.trials.filter(position=position).exists():
            raise VoteRefused("no-trial", _("this participant has no trial {position}").format(position=position))
        raise VoteRefused("not-current", _("trial {position} is not the current trial").format(position=position))
    chosen = current.left if side == Vote.Side.LEFT else current.right
    last = position >= trials_of(participant)
    finished = 0
    try:
        # One INSERT is atomic by itself; only the last vote, which also finishes the participant,
        # needs a transaction. Leaving out BEGIN and COMMIT saves two of a vote's five round trips
        # to PostgreSQL.
        with transaction.atomic() if last else contextlib.nullcontext():
            hotpath.insert(
                Vote, trial=current.pk, side=side, chosen_system=chosen.system_id, response_ms=response_ms,
                displayed_ms=displayed_ms, created_at=timezone.now(), **(conditions or TrialConditions()).fields(),
            )
            if last:
                finished = Participant.objects.filter(pk=participant.pk, finished_at__isnull=True).update(
                    finished_at=timezone.now()
                )
    except IntegrityError:
        # A concurrent request stored a vote for this trial first: its choice stands.
        return _same_or_conflict(Vote.objects.get(trial_id=current.pk), side)
    if finished:
        _after_finish(participant)
    return VoteOutcome.STORED


def _after_finish(participant: Participant) -> None:
    """A participant has just finished: what the design does then (a sequential study's looks, once
    the answer has gone out)."""
    design_of(participant.study).after_finish(participant.study)


def _same_or_conflict(existing: Vote, side: str) -> VoteOutcome:
    if existing.side == side:
        return VoteOutcome.REPEATED
    raise VoteRefused("answered", _("this trial is already answered; the first answer is kept"))


def finish(participant: Participant) -> None:
    """Mark a participant who answered everything as finished (idempotent)."""
    if participant.finished_at is None and not participant.trials.filter(vote__isnull=True).exists():
        if Participant.objects.filter(pk=participant.pk, finished_at__isnull=True).update(finished_at=timezone.now()):
            _after_finish(participant)
        participant.refresh_from_db(fields=["finished_at"])
