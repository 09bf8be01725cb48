"""Create a 2AFC study from folders of colorizations (or models), with seeded participant lists."""
from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from colorstudy import studysettings
from colorstudy.generation import GenerationError, StudyOptions, SystemSpec, generate_study
from colorstudy.management.database import require_migrated
from colorstudy.studyconfig import load_study_config
from colorstudy.studysettings import StudySettings

# Defaults of the options that a --config file may also set; a flag given on the command line wins.
# The design settings' come from their one definition (colorstudy.studysettings).
OPTIONS = {
    "seed": 0, "catch_rate": 0.0, "catch_max_fail_rate": 0.5, "ground_truth": None, "images": None, "title": "",
    "question": "Which of these two images looks more realistic?", "instructions": "", "completion_url": "",
    "draft": False, "engine": "torch",
}
DEFAULTS = {**OPTIONS, **studysettings.defaults()}
# colorcore.factory.ENGINE_CHOICES, written out so that parsing this command never loads torch (tested).
ENGINES = ("torch", "onnxruntime", "auto")
REQUIRED = ("study", "participants", "trials")


class Command(BaseCommand):
    help = (
        "Build a blinded two-alternative forced-choice study: encode every system's images the same way, "
        "make N seeded, balanced participant lists of K trials, and print the links."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--config", type=Path, help="a TOML study file (see colorstudy/studyconfig.py); flags override it")
        parser.add_argument("--study", help="slug of the study (used in its open link)")
        parser.add_argument(
            "--system", action="append", default=None, metavar="NAME=DIR|NAME=model:SPEC",
            help="a system: a folder of colorizations, or a colorcore model spec colorized from --images",
        )
        parser.add_argument("--participants", type=int, help="number of participant lists")
        parser.add_argument("--trials", type=int, help="regular trials per participant")
        parser.add_argument("--seed", type=int)
        parser.add_argument("--catch-rate", type=float, help="share of catch trials among all trials")
        parser.add_argument("--catch-max-fail-rate", type=float, help="exclusion threshold (default 0.5)")
        parser.add_argument("--ground-truth", type=Path, help="folder of the real photos (for catch trials)")
        parser.add_argument("--images", type=Path, help="photos to colorize for systems given as models")
        seq = parser.add_argument_group("sequential plan (two systems; fixed once votes exist)")
        seq.add_argument("--sequential-looks", help="looks: a number of equally spaced looks, or completed-participant "
                         "counts such as 10,20,30 (the last is --participants)")
        seq.add_argument("--sequential-spending", choices=("obf", "pocock", "power"),
                         help="alpha spending: obf (O'Brien-Fleming-like, default), pocock, power (alpha t^rho)")
        seq.add_argument("--sequential-rho", type=float, help="the power family's exponent")
        seq.add_argument("--sequential-alpha", type=float, help="two-sided type I error (default 0.05)")
        seq.add_argument("--sequential-futility", action="store_true", default=None,
                         help="non-binding futility bounds (needs --sequential-effect)")
        seq.add_argument("--sequential-effect", type=float, help="the share the study is powered for, e.g. 0.58")
        seq.add_argument("--sequential-power", type=float, help="for the futility bounds (default 0.8)")
        seq.add_argument("--sequential-icc", type=float, help="intra-participant correlation assumed by the plan")
        seq.add_argument("--sequential-primary", choices=("participant", "mixed"),
                         help="the analysis at each look: the participants' sign-flip test (default) or the mixed model")
        parser.add_argument("--engine", choices=ENGINES,
                            help="how systems given as models are colorized (colorcore colorize --engine; default torch)")
        parser.add_argument("--title")
        parser.add_argument("--question")
        parser.add_argument("--instructions")
        parser.add_argument("--completion-url", help="where finished participants are sent")
        studysettings.add_flags(parser.add_argument_group("design settings (colorstudy/studysettings.py)"))
        parser.add_argument("--draft", action="store_true", default=None, help="keep the study closed to participants")
        parser.add_argument("--strict", action="store_true", help="stop at the first bad image instead of skipping")
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--add-participants", action="store_true", help="add lists to an existing study")
        group.add_argument("--replace", action="store_true", help="rebuild an existing study that has no votes")
        parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="for the printed links")
        parser.add_argument("--show-links", type=int, default=10, help="how many personal links to print")

    def handle(self, *args, **options) -> None:
        require_migrated()
        try:
            values = {**DEFAULTS, **(load_study_config(options["config"]) if options["config"] else {})}
            values.update({k: v for k, v in options.items() if v is not None and k in {*DEFAULTS, *REQUIRED, "system"}})
            missing = [f"--{name}" for name in REQUIRED if values.get(name) is None]
            if missing:
                raise CommandError(f"missing {', '.join(missing)} (give them as flags or in --config)")
            sequential = dict(values.get("sequential") or {})
            sequential.update({k.removeprefix("sequential_"): v for k, v in options.items()
                               if k.startswith("sequential_") and v is not None})
            opts = StudyOptions(
                slug=values["study"],
                systems=[SystemSpec.parse(s) for s in values.get("system") or []],
                participants=values["participants"],
                trials=values["trials"],
                settings=StudySettings(**{k: values[k] for k in studysettings.defaults()}, texts=values.get("texts") or {}),
                **{k: values[k] for k in OPTIONS},
                sequential=sequential or None,
                strict=options["strict"],
                add_participants=options["add_participants"],
                replace=options["replace"],
            )
            result = generate_study(opts, progress=lambda msg: self.stdout.write(msg))
        except (GenerationError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        self._summary(result, options["base_url"].rstrip("/"), options["show_links"])

    def _summary(self, result, base: str, show: int) -> None:
        study = result.study
        for message in result.skipped:
            self.stderr.write(f"skipped: {message}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Study {study.slug!r} ({study.get_status_display().lower()}): {len(result.created_participants)} new "
                f"participant lists, {study.trials_per_participant} trials each"
                f" + {study.settings.catch_trials} catch trials, {result.images_used} images, "
                f"{len(result.skipped)} skipped."
            )
        )
        self.stdout.write(f"Open link:  {base}/study/{study.slug}/   (add ?PROLIFIC_PID=... for Prolific)")
        shown = result.created_participants[:show]
        if shown:
            self.stdout.write("Personal links:")
            for p in shown:
                self.stdout.write(f"  {base}/p/{p.token}/")
            if len(result.created_participants) > len(shown):
                self.stdout.write(f"  ... and {len(result.created_participants) - len(shown)} more (see the admin)")
