"""The study's results: the seed's Figure 7 table, exact tests, clustered analyses and charts."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from colorstudy.export import votes_frame
from colorstudy.management.database import require_migrated
from colorstudy.models import Study
from evaluation.__main__ import add_report_options, report_arguments
from evaluation.render import render
from evaluation.report import build_report
from evaluation.votes import VoteTableError


class Command(BaseCommand):
    help = "Analyze a study's votes (pooled exact binomial, participant-level tests, mixed model, charts)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--study", required=True)
        add_report_options(parser)

    def handle(self, *args, **options) -> None:
        require_migrated()
        study = Study.objects.filter(slug=options["study"]).first()
        if study is None:
            raise CommandError(f"no study {options['study']!r}")
        votes = votes_frame(study)
        if votes.empty:
            raise CommandError(f"study {study.slug!r} has no votes yet")
        # The systems in the order the researcher named them: the first one is "system_a".
        order = options["systems"] or [s.name for s in study.compared_systems()]
        try:
            report = build_report(
                votes,
                study=study.slug,
                max_fail_rate=study.catch_max_fail_rate if options["max_fail_rate"] is None else options["max_fail_rate"],
                order=order,
                sequential=study.settings.sequential,
                **report_arguments(options),
            )
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
