"""The adaptive design on the site: each newcomer's list is chosen when they consent, from the votes
stored so far (evaluation.adaptive: the expected reduction of the scores' posterior variance, in batches of
spanning trees as ASAP).

The list is a deterministic function of the study's seed, the participant's slot and the votes
before it: the last vote's id and the number of votes are stored with the participant, so that
``reproduce_list`` (and anyone with the export) can compute it again. The caller holds the
participant's row in a transaction: two newcomers consenting in the same second get different
participants (PostgreSQL skips locked rows; SQLite serializes writers), and each list is written
once with its participant.
"""
from __future__ import annotations

import logging

import numpy as np
from django.db.models import Count, Max

from evaluation.adaptive import schedule

from . import design
from .models import Participant, Stimulus, Study, System, Vote
from .triallists import write_lists

logger = logging.getLogger(__name__)


def wins_matrix(study: Study, systems: list[System], up_to_vote: int | None = None) -> tuple[np.ndarray, int, int]:
    """(wins[i, j]: regular votes for system i over j, number of votes, the last vote's id)."""
    index = {s.pk: k for k, s in enumerate(systems)}
    votes = Vote.objects.filter(trial__participant__study=study, trial__is_catch=False, trial__is_practice=False)
    if up_to_vote is not None:
        votes = votes.filter(pk__lte=up_to_vote)
    last = votes.aggregate(m=Max("pk"))["m"] or 0
    wins = np.zeros((len(systems), len(systems)))
    total = 0
    rows = votes.values_list("trial__left__system_id", "trial__right__system_id", "chosen_system_id").annotate(n=Count("id"))
    for left, right, chosen, n in rows:
        if left not in index or right not in index:
            continue
        winner, loser = (left, right) if chosen == left else (right, left)
        wins[index[winner], index[loser]] += n
        total += n
    return wins, total, last


def scheduled_specs(study: Study, participant: Participant, wins: np.ndarray, systems: list[System]) -> list[design.TrialSpec]:
    """The participant's trials for these votes: the scheduler's pairs, then the fixed designs' rules."""
    names = [s.name for s in systems]
    pairs = [(names[i], names[j]) for i, j in schedule(wins, study.trials_per_participant)]
    practice = list(study.settings.practice_images)
    images = list(study.images.exclude(name__in=practice).order_by("name").values_list("name", flat=True))
    catch_pool = list(Stimulus.objects.filter(system__study=study, system__role=System.Role.FOIL)
                      .order_by("image__name").values_list("image__name", flat=True))
    specs = design.adaptive_list(images, pairs, participant.slot, study.seed, catch_pool,
                                 study.settings.catch_trials)
    if practice:
        specs = design.practice_trials(participant.slot, practice, names, study.seed) + specs
    return specs


def choose_list(participant: Participant) -> None:
    """Write the list of a newcomer to an adaptive study (inside the caller's transaction)."""
    study = participant.study
    if participant.trials.exists():
        return
    systems = study.compared_systems()
    wins, total, last = wins_matrix(study, systems)
    specs = scheduled_specs(study, participant, wins, systems)
    write_lists(study, [(participant, specs)])
    Participant.objects.filter(pk=participant.pk).update(trial_count=len(specs), scheduled_after_vote=last,
                                                         scheduled_votes=total)
    participant.trial_count, participant.scheduled_after_vote, participant.scheduled_votes = len(specs), last, total
    logger.info("study %s: list of %s chosen from %d votes", study.slug, participant, total)


def reproduce_list(participant: Participant) -> list[tuple[str, str, str]]:
    """(image, left, right) of the list the scheduler gives on the votes the participant's list was
    chosen from: equal to the stored list (the audit of an adaptive study)."""
    study = participant.study
    systems = study.compared_systems()
    wins, _, _ = wins_matrix(study, systems, up_to_vote=participant.scheduled_after_vote or 0)
    return [(s.image, s.left, s.right) for s in scheduled_specs(study, participant, wins, systems)]
