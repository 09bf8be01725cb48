"""The study's results: the seed's Figure 7 table, exact tests, clustered analyses and charts."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from colorstudy.export import votes_frame
from colorstudy.management.database import require_migrated
from colorstudy.models import Study
from evaluation.options import add_report_arguments, options_from_arguments
from evaluation.render import render
from evaluation.report import build_report
from evaluation.votes import VoteTableError


class Command(BaseCommand):
    help = "Analyze a study's votes (pooled exact binomial, participant-level tests, mixed model, charts)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--study", required=True)
        add_report_arguments(parser)

    def handle(self, *args, **options) -> None:
        require_migrated()
        study = Study.objects.filter(slug=options["study"]).first()
        if study is None:
            raise CommandError(f"no study {options['study']!r}")
        votes = votes_frame(study)
        if votes.empty:
            raise CommandError(f"study {study.slug!r} has no votes yet")
        try:
            # The study's own rule and plan, and its systems in the order the researcher named them
            # (the first one is "system_a"), unless the options say otherwise.
            asked = options_from_arguments(options, max_fail_rate=study.catch_max_fail_rate,
                                           order=tuple(s.name for s in study.compared_systems()),
                                           sequential=study.settings.sequential)
            report = build_report(votes, asked, study=study.slug)
            content = render(report, options["format"])
        except (VoteTableError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        if options["output"]:
            try:
                with open(options["output"], "w", encoding="utf-8") as fh:
                    fh.write(content)
            except OSError as exc:
                raise CommandError(f"cannot write {options['output']}: {exc.strerror}") from None
            self.stderr.write(f"report written to {options['output']}")
        else:
            self.stdout.write(content, ending="")
