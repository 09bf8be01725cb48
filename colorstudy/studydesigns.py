"""The designs behind one small interface: what happens when a participant consents, when one
finishes, and whether the study still admits newcomers. The services ask the study's design and
carry no branch of their own on adaptive or sequential studies.

- fixed (balanced): lists made at generation; nothing at consent or at the end.
- adaptive: the list is chosen at consent, from the votes so far (:mod:`colorstudy.adaptive`).
- sequential: the looks due are taken after a participant finishes, once the answer has been
  sent (no participant waits on a statistical fit), and before a newcomer is admitted; a look
  that stops the study closes it to newcomers (:mod:`colorstudy.sequential`).
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from django.core.signals import request_finished

from .models import Participant, Study

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Design:
    adaptive: bool = False
    sequential: bool = False

    def at_consent(self, participant: Participant) -> None:
        """A newcomer consented (inside the transaction that holds their row)."""
        if self.adaptive:
            from .adaptive import choose_list

            choose_list(participant)

    def before_admitting(self, study: Study) -> None:
        """Every look that the finished participants allow is decided before a newcomer is let in."""
        if self.sequential:
            _take_looks(study)

    def closed(self, study: Study) -> bool:
        """Whether the design itself turns newcomers away (a sequential look that stopped the study)."""
        return self.stopped_at(study) is not None

    def stopped_at(self, study: Study) -> int | None:
        """The look that stopped a sequential study, or None."""
        if not self.sequential:
            return None
        from .sequential import stopping_look

        stop = stopping_look(study)
        return stop.number if stop is not None else None

    def after_finish(self, study: Study) -> None:
        """A participant finished: a sequential study's looks are taken once the response has gone out."""
        if self.sequential:
            _pending.add(study.pk)


def design_of(study: Study) -> Design:
    return Design(adaptive=study.settings.adaptive, sequential=bool(study.settings.sequential))


class _Pending(threading.local):
    """The studies whose looks are due, per thread (one request at a time per worker thread)."""

    def __init__(self) -> None:
        self.studies: set[int] = set()

    def add(self, pk: int) -> None:
        self.studies.add(pk)

    def take(self) -> set[int]:
        studies, self.studies = self.studies, set()
        return studies


_pending = _Pending()


def _take_looks(study: Study) -> None:
    """Take the looks due; the vote stands whatever happens here, and a look that fails is taken at
    the next finish or admission."""
    from .sequential import take_due_looks

    try:
        take_due_looks(study)
    except Exception:
        logger.exception("study %s: the sequential look failed; it is retried later", study.slug)


def take_pending_looks(**_) -> None:
    """After the response has been sent (Django's ``request_finished``): the looks of the studies
    whose participants finished in this request."""
    for pk in _pending.take():
        study = Study.objects.filter(pk=pk).first()
        if study is not None:
            _take_looks(study)


request_finished.connect(take_pending_looks, dispatch_uid="colorstudy-sequential-looks")
