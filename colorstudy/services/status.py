"""The researcher's view of studies: counts, tallies, what the report leaves out, the state in words."""
from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q

from ..models import Study, System, Vote
from ..studydesigns import design_of


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
    screened_out: int = 0  # turned away by the colour-vision plates (their lists went to newcomers)

    @property
    def reported_votes(self) -> int:
        return self.regular_votes - self.excluded_votes


def study_status(study: Study) -> StudyStatus:
    parts = study.participants.aggregate(
        total=Count("id"),
        started=Count("id", filter=Q(consented_at__isnull=False)),
        finished=Count("id", filter=Q(finished_at__isnull=False)),
        screened_out=Count("id", filter=Q(screened_out_at__isnull=False)),
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
        screened_out=parts["screened_out"],
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
    if (look := design_of(study).stopped_at(study)) is not None:
        return f"Stopped at look {look}"
    target = study.settings.target_completes
    if target and study.participants.filter(finished_at__isnull=False).count() >= target:
        return "Full"
    return "Open"
