"""Domain rules of a running study: assigning participants, recording votes, completion.

Views call these functions and only translate their outcomes into HTTP.
"""
from __future__ import annotations

import contextlib
import enum
import functools
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from . import hotpath
from .models import Participant, Study, System, Trial, Vote

logger = logging.getLogger(__name__)


class VoteRefused(Exception):
    """A vote that must not be stored; ``status`` is the HTTP status that says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class VoteOutcome(enum.Enum):
    STORED = "stored"
    REPEATED = "repeated"  # the same choice again (double click, retry): success, nothing new stored


@dataclass(frozen=True)
class Screen:
    width: int | None = None
    height: int | None = None

    @property
    def device_class(self) -> str:
        """A coarse device class from the viewport width (CSS pixels)."""
        if self.width is None:
            return ""
        return "phone" if self.width < 600 else "tablet" if self.width < 1024 else "desktop"

    def refusal(self, study: Study) -> str | None:
        """Why this screen cannot take part in ``study``, or None."""
        minimum = study.settings.min_viewport_width
        if not minimum:
            return None
        if self.width is None:
            return f"This study needs JavaScript to check that your window is at least {minimum} pixels wide."
        if self.width < minimum:
            return (f"This study needs a window at least {minimum} pixels wide (yours is {self.width}). "
                    "Please use a larger screen or widen the window, then reload.")
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
            free.viewport_width, free.viewport_height, free.device_class = screen.width, screen.height, screen.device_class
            free.save(
                update_fields=[
                    "viewport_width",
                    "viewport_height",
                    "device_class",
                    "assigned_at",
                    "consented_at",
                    "external_id",
                    "external_study_id",
                    "external_session_id",
                    "user_agent",
                ]
            )
            if study.settings.adaptive:  # the list is chosen now, from the votes so far, with this row held
                from .adaptive import choose_list

                free.study = study
                choose_list(free)
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
            viewport_width=screen.width, viewport_height=screen.height, device_class=screen.device_class,
        )
        if updated and participant.study.settings.adaptive:
            from .adaptive import choose_list

            choose_list(participant)
    participant.refresh_from_db(fields=["consented_at", "assigned_at", "user_agent", "trial_count"])


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
                  displayed_ms: int | None = None, upcoming: list[ShownTrial] | None = None) -> NextStep:
    """Store one vote (as ``record_vote``) and say what comes next, with one read of the trial list.
    ``upcoming``: the first three unanswered trials, when the caller has just read them."""
    upcoming = next_trials(participant, 3) if upcoming is None else upcoming
    outcome = record_vote(participant, position, side, response_ms, displayed_ms, upcoming=upcoming)
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


def quota_reached(study: Study) -> bool:
    """Newcomers are turned away: the target of finished participants is reached, or a look of the
    sequential plan stopped the study (the same message: the result must not reach participants)."""
    target = study.settings.target_completes
    if target and study.participants.filter(finished_at__isnull=False).count() >= target:
        return True
    if study.settings.sequential:
        from .sequential import stopping_look

        return stopping_look(study) is not None
    return False


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
        remaining = list(old.trials.filter(vote__isnull=True).order_by("position"))
        if not remaining:
            continue
        last_slot = study.participants.aggregate(m=Max("slot"))["m"]
        new = Participant.objects.create(study=study, slot=last_slot + 1, trial_count=len(remaining), replaces=old)
        for position, trial in enumerate(remaining, start=1):
            trial.participant, trial.position = new, position
        Trial.objects.bulk_update(remaining, ["participant", "position"])
        Participant.objects.filter(pk=old.pk).update(abandoned_at=now)
        logger.info("participant %s abandoned; %d trials go to %s", old, len(remaining), new)
        return new
    return None


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
                displayed_ms: int | None = None, upcoming: list[ShownTrial] | None = None) -> VoteOutcome:
    """Store one vote, exactly once.

    Trials are answered strictly in order, so the current trial is the first unanswered one.
    The same choice sent again is a success that stores nothing; a different choice for an
    answered trial, a trial out of order, or a trial that is not this participant's is refused.
    ``upcoming``: the unanswered trials in order, when the caller has just read them.
    """
    if side not in Vote.Side.values:
        raise VoteRefused(400, f"side must be one of {Vote.Side.values}, got {side!r}")
    if participant.consented_at is None:
        raise VoteRefused(403, "consent has not been given")
    current = current_trial(participant) if upcoming is None else (upcoming[0] if upcoming else None)
    if current is None or position < current.position:
        existing = Vote.objects.filter(trial__participant=participant, trial__position=position).first()
        if existing is None:
            raise VoteRefused(404, f"this participant has no trial {position}")
        return _same_or_conflict(existing, side)
    if position != current.position:
        if not participant.trials.filter(position=position).exists():
            raise VoteRefused(404, f"this participant has no trial {position}")
        raise VoteRefused(409, f"trial {position} is not the current trial")
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
                displayed_ms=displayed_ms, created_at=timezone.now(),
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
    """A participant has just finished: a sequential study takes the looks now due. The vote is
    stored whatever happens here; a look that fails is taken when the next participant finishes."""
    if not participant.study.settings.sequential:
        return
    from .sequential import take_due_looks

    try:
        take_due_looks(participant.study)
    except Exception:
        logger.exception("study %s: the sequential look failed; it is retried at the next finish", participant.study.slug)


def _same_or_conflict(existing: Vote, side: str) -> VoteOutcome:
    if existing.side == side:
        return VoteOutcome.REPEATED
    raise VoteRefused(409, "this trial is already answered; the first answer is kept")


def finish(participant: Participant) -> None:
    """Mark a participant who answered everything as finished (idempotent)."""
    if participant.finished_at is None and not participant.trials.filter(vote__isnull=True).exists():
        if Participant.objects.filter(pk=participant.pk, finished_at__isnull=True).update(finished_at=timezone.now()):
            _after_finish(participant)
        participant.refresh_from_db(fields=["finished_at"])


@dataclass(frozen=True)
class StudyStatus:
    participants: int
    started: int
    finished: int
    votes: int  # every vote: regular, catch and practice
    tallies: list[tuple[str, int]]  # (system name, votes won) over regular trials
    regular_votes: int = 0  # those the report and the participants page count
    catch_votes: int = 0
    practice_votes: int = 0
    excluded_participants: int = 0  # who fail the catch-trial rule: the report leaves out their votes
    excluded_votes: int = 0  # their regular votes

    @property
    def reported_votes(self) -> int:
        return self.regular_votes - self.excluded_votes


def study_status(study: Study) -> StudyStatus:
    parts = study.participants.aggregate(
        total=Count("id"),
        started=Count("id", filter=Q(consented_at__isnull=False)),
        finished=Count("id", filter=Q(finished_at__isnull=False)),
    )
    votes = Vote.objects.filter(trial__participant__study=study)
    kinds = votes.aggregate(
        catch=Count("id", filter=Q(trial__is_catch=True)),
        practice=Count("id", filter=Q(trial__is_practice=True)),
        regular=Count("id", filter=Q(trial__is_catch=False, trial__is_practice=False)),
    )
    won = dict(
        votes.filter(trial__is_catch=False, trial__is_practice=False).values_list("chosen_system").annotate(n=Count("id")).values_list(
            "chosen_system", "n"
        )
    )
    compared = study.systems.filter(role=System.Role.COMPARED).order_by("name")
    excluded = catch_excluded(study)
    return StudyStatus(
        participants=parts["total"],
        started=parts["started"],
        finished=parts["finished"],
        votes=votes.count(),
        tallies=[(s.name, won.get(s.pk, 0)) for s in compared],
        regular_votes=kinds["regular"],
        catch_votes=kinds["catch"],
        practice_votes=kinds["practice"],
        excluded_participants=len(excluded),
        excluded_votes=votes.filter(trial__participant__in=excluded, trial__is_catch=False,
                                    trial__is_practice=False).count() if excluded else 0,
    )


def catch_excluded(study: Study) -> list[int]:
    """Ids of the participants the report leaves out under the study's catch-trial rule
    (``evaluation.preference.catch_table``, the rule the report applies)."""
    import pandas as pd

    from evaluation.preference import catch_table

    rows = list(Vote.objects.filter(trial__participant__study=study, trial__is_catch=True)
                .values_list("trial__participant_id", "chosen_system__name"))
    if not rows:
        return []
    table = catch_table(pd.DataFrame(rows, columns=["participant", "chosen_system"]).assign(is_catch=True),
                        study.catch_max_fail_rate)
    return [int(p) for p in table.loc[table["excluded"], "participant"]]


@dataclass(frozen=True)
class StudyRow:
    study: Study
    state: str
    started: int
    finished: int
    votes: int


def study_list() -> list[StudyRow]:
    """Every study, newest first, for the researcher's list of studies."""
    studies = Study.objects.annotate(
        started=Count("participants", filter=Q(participants__consented_at__isnull=False), distinct=True),
        finished=Count("participants", filter=Q(participants__finished_at__isnull=False), distinct=True),
    ).order_by("-created_at", "slug")
    votes = dict(Vote.objects.values_list("trial__participant__study").annotate(n=Count("id")).values_list(
        "trial__participant__study", "n"))
    return [StudyRow(s, state_label(s), s.started, s.finished, votes.get(s.pk, 0)) for s in studies]


def state_label(study: Study) -> str:
    """The study's state in one or two words for the researcher's pages: a sequential study that
    stopped, or one whose target of finished participants is reached, is not called open."""
    if study.status != Study.Status.OPEN:
        return study.get_status_display()
    if study.settings.sequential:
        from .sequential import stopping_look

        stop = stopping_look(study)
        if stop is not None:
            return f"Stopped at look {stop.number}"
    target = study.settings.target_completes
    if target and study.participants.filter(finished_at__isnull=False).count() >= target:
        return "Full"
    return "Open"
