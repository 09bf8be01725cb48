"""Write a study's votes as a tidy CSV, one row per vote."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from colorstudy.export import write_csv
from colorstudy.management.database import require_migrated
from colorstudy.models import Study


class Command(BaseCommand):
    help = "Export the votes of a study as CSV (participant, position, image, systems, choice, response time)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--study", required=True)
        parser.add_argument("--output", help="file to write (default: standard output)")

    def handle(self, *args, **options) -> None:
        require_migrated()
        study = Study.objects.filter(slug=options["study"]).first()
        if study is None:
            raise CommandError(f"no study {options['study']!r}")
        if options["output"]:
            try:
                with open(options["output"], "w", newline="", encoding="utf-8") as out:
                    n = write_csv(study, out)
            except OSError as exc:
                raise CommandError(f"cannot write {options['output']}: {exc.strerror}") from None
            self.stderr.write(f"{n} votes written to {options['output']}")
        else:
            write_csv(study, self.stdout)
