"""Sequential studies on the site: the plan fixed with the study, the looks taken as participants finish.

The plan (``evaluation.sequential``) is stored in the study's configuration when the study is
generated and never changes once votes exist. Each time a participant finishes, every look whose
number of completed participants has been reached is taken, in order, on the first participants to
finish. A look is recorded once (a unique constraint decides between two participants finishing
at the same moment). When a look crosses a bound, the open link turns newcomers away, as a full
study does. Participants already started finish their lists; their votes are kept and reported,
but they are not part of the look that stopped the study.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import pandas as pd
from django.db import IntegrityError, transaction

from evaluation.sequential import SequentialPlan, analyse_look, look_statistic

from .models import Look, Study, System, Vote

logger = logging.getLogger(__name__)


def plan_of(study: Study) -> SequentialPlan | None:
    data = study.settings.sequential
    return SequentialPlan.from_dict(data) if data else None


def compared_pair(study: Study) -> tuple[System, System]:
    """The two compared systems, in the order they were given (the plan's ``a`` is the first)."""
    systems = study.compared_systems()
    if len(systems) != 2:
        raise ValueError(f"a sequential study compares exactly two systems, {study.slug!r} has {len(systems)}")
    return systems[0], systems[1]


def _completed(study: Study):
    return study.participants.filter(finished_at__isnull=False, abandoned_at__isnull=True)


def completed(study: Study) -> list[int]:
    """Participants who finished their lists, first finished first."""
    return list(_completed(study).order_by("finished_at", "pk").values_list("pk", flat=True))


def pair_table(study: Study, participants: list[int]) -> pd.DataFrame:
    """The regular votes of ``participants`` between the two compared systems, as ``evaluation`` reads them."""
    a, b = compared_pair(study)
    rows = (Vote.objects.filter(trial__participant_id__in=participants, trial__is_catch=False, trial__is_practice=False,
                                trial__left__system__in=[a, b], trial__right__system__in=[a, b])
            .values_list("trial__participant_id", "trial__image_id", "trial__left__system_id", "chosen_system_id"))
    frame = pd.DataFrame(list(rows), columns=["participant", "image", "left", "chosen"])
    return pd.DataFrame({"participant": frame["participant"].astype(str), "image": frame["image"],
                         "chose_a": (frame["chosen"] == a.pk).astype(int), "a_left": (frame["left"] == a.pk).astype(int)})


def stopping_look(study: Study) -> Look | None:
    return study.looks.exclude(decision=Look.Decision.CONTINUE).first()


def take_due_looks(study: Study) -> Look | None:
    """Take every look that the completed participants now allow; the look that stops the study, if any."""
    plan = plan_of(study)
    if plan is None:
        return None
    if (stop := stopping_look(study)) is not None:
        return stop
    done = completed(study)
    taken = set(study.looks.values_list("number", flat=True))
    for number, count in enumerate(plan.looks, start=1):
        if count > len(done):
            return None
        if number in taken:
            continue
        z, share, se = look_statistic(pair_table(study, done[:count]), plan.primary)
        known = not math.isnan(z)  # no variance yet (every participant alike): this look cannot decide
        decision = analyse_look(plan, number, z, share, se, inference=False).decision if known else "continue"
        try:
            with transaction.atomic():
                look = Look.objects.create(study=study, number=number, participants=count, decision=decision,
                                           z=z if known else None, share=share, std_error=se if known else None)
        except IntegrityError:  # another finishing participant took this look a moment ago
            look = study.looks.get(number=number)
        logger.info("study %s: look %d at %d participants, z %.3f: %s", study.slug, number, count, z, decision)
        if look.stops:
            return look
    return None


@dataclass(frozen=True)
class SequentialStatus:
    """What the status page shows of a sequential study."""

    state: str  # one sentence: where the study stands
    bounds: list[tuple[int, int, str]]  # (look, completed participants, the rule) for each look
    looks: list[Look]  # the looks taken


def status(study: Study) -> SequentialStatus | None:
    plan = plan_of(study)
    if plan is None:
        return None
    taken = list(study.looks.all())
    stop = next((look for look in taken if look.stops), None)
    done = _completed(study).count()
    if stop is not None:
        why = {"efficacy": "a bound was crossed, a preference", "futility": "the futility bound: no preference likely",
               "no preference": "the last look, no bound crossed"}[stop.decision]
        state = (f"stopped at look {stop.number} of {len(plan.looks)} ({stop.participants} participants): {why}; "
                 "the open link turns newcomers away, participants already started finish their lists")
    else:
        upcoming = next((n for n in plan.looks if n > done), None)
        state = f"{done} participants completed; next look after {upcoming}" if upcoming else f"{done} participants completed"
    rules = []
    for k, (count, bound) in enumerate(zip(plan.looks, plan.efficacy, strict=True)):
        rule = f"stop if |z| ≥ {bound:.3f}"
        if plan.futility and k < len(plan.looks) - 1:
            rule += f"; futility if |z| < {plan.futility[k]:.3f}"
        rules.append((k + 1, count, rule))
    return SequentialStatus(state, rules, taken)
