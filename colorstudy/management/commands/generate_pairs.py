"""Create a 2AFC study from folders of colorizations (or models), with seeded participant lists."""
from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from colorstudy.generation import GenerationError, StudyOptions, SystemSpec, generate_study


class Command(BaseCommand):
    help = (
        "Build a blinded two-alternative forced-choice study: encode every system's images the same way, "
        "make N seeded, balanced participant lists of K trials, and print the links."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--study", required=True, help="slug of the study (used in its open link)")
        parser.add_argument(
            "--system",
            action="append",
            default=[],
            metavar="NAME=DIR|NAME=model:SPEC",
            help="a system: a folder of colorizations, or a colorcore model spec colorized from --images",
        )
        parser.add_argument("--participants", type=int, required=True, help="number of participant lists")
        parser.add_argument("--trials", type=int, required=True, help="regular trials per participant")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--catch-rate", type=float, default=0.0, help="share of catch trials among all trials")
        parser.add_argument("--catch-max-fail-rate", type=float, default=0.5, help="exclusion threshold")
        parser.add_argument("--ground-truth", type=Path, help="folder of the real photos (for catch trials)")
        parser.add_argument("--images", type=Path, help="photos to colorize for systems given as models")
        parser.add_argument("--title", default="")
        parser.add_argument("--question", default="Which of these two images looks more realistic?")
        parser.add_argument("--instructions", default="")
        parser.add_argument("--completion-url", default="", help="where finished participants are sent")
        parser.add_argument("--size", type=int, default=256, help="longest side of every stimulus, in pixels")
        parser.add_argument("--draft", action="store_true", help="keep the study closed to participants")
        parser.add_argument("--strict", action="store_true", help="stop at the first bad image instead of skipping")
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--add-participants", action="store_true", help="add lists to an existing study")
        group.add_argument("--replace", action="store_true", help="rebuild an existing study that has no votes")
        parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="for the printed links")
        parser.add_argument("--show-links", type=int, default=10, help="how many personal links to print")

    def handle(self, *args, **options) -> None:
        try:
            opts = StudyOptions(
                slug=options["study"],
                systems=[SystemSpec.parse(s) for s in options["system"]],
                participants=options["participants"],
                trials=options["trials"],
                seed=options["seed"],
                catch_rate=options["catch_rate"],
                catch_max_fail_rate=options["catch_max_fail_rate"],
                ground_truth=options["ground_truth"],
                images=options["images"],
                title=options["title"],
                question=options["question"],
                instructions=options["instructions"],
                completion_url=options["completion_url"],
                size=options["size"],
                draft=options["draft"],
                strict=options["strict"],
                add_participants=options["add_participants"],
                replace=options["replace"],
            )
            result = generate_study(opts, progress=lambda msg: self.stdout.write(msg))
        except (GenerationError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        study = result.study
        base = options["base_url"].rstrip("/")
        for message in result.skipped:
            self.stderr.write(f"skipped: {message}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Study {study.slug!r} ({study.get_status_display().lower()}): {len(result.created_participants)} new "
                f"participant lists, {study.trials_per_participant} trials each"
                f" + {study.config.get('catch_trials', 0)} catch trials, {result.images_used} images, "
                f"{len(result.skipped)} skipped."
            )
        )
        self.stdout.write(f"Open link:  {base}/study/{study.slug}/   (add ?PROLIFIC_PID=... for Prolific)")
        shown = result.created_participants[: options["show_links"]]
        if shown:
            self.stdout.write("Personal links:")
            for p in shown:
                self.stdout.write(f"  {base}/p/{p.token}/")
            if len(result.created_participants) > len(shown):
                self.stdout.write(f"  ... and {len(result.created_participants) - len(shown)} more (see the admin)")
