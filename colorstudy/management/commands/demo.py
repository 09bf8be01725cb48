"""Set up the demo study from fixtures/ (idempotent) and a researcher account, then print how to use them."""
from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from colorstudy.generation import GenerationError, StudyOptions, SystemSpec, generate_study
from colorstudy.models import Study

FIXTURES = Path(settings.BASE_DIR) / "fixtures"
DEMO_SYSTEMS = {
    "cross_entropy": FIXTURES / "demo" / "cross-entropy",
    "l2": FIXTURES / "demo" / "l2",
}
GROUND_TRUTH = FIXTURES / "lfw-test-sample"
RESEARCHER = ("researcher", "colorize-demo")


def demo_systems() -> list[SystemSpec]:
    """The two fixture models, and Zhang et al.'s when its official weights are on this machine
    (``python -m colorcore fetch-weights zhang2016``): it colorizes the same test photos at set-up."""
    from colorcore import zhang  # torch, only for this command

    systems = [SystemSpec(name, str(folder)) for name, folder in DEMO_SYSTEMS.items()]
    if zhang.default_path().is_file():
        systems.append(SystemSpec("zhang2016", "model:zhang2016"))
    return systems


class Command(BaseCommand):
    help = "Create the demo study (cross-entropy vs L2 on LFW test faces, with catch trials) if it is absent."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")
        parser.add_argument("--participants", type=int, default=30)
        parser.add_argument("--trials", type=int, default=20)

    def handle(self, *args, **options) -> None:
        base = options["base_url"].rstrip("/")
        user_model = get_user_model()
        username, password = RESEARCHER
        if not user_model.objects.filter(username=username).exists():
            user_model.objects.create_superuser(username, email="", password=password)
        study = Study.objects.filter(slug="demo").first()
        if study is None:
            opts = StudyOptions(
                slug="demo",
                title="Which photo looks real? (demo)",
                systems=demo_systems(),
                images=GROUND_TRUTH,
                participants=options["participants"],
                trials=options["trials"],
                seed=2016,
                catch_rate=0.1,
                ground_truth=GROUND_TRUTH,
                instructions=(
                    "You will see two color versions of the same portrait. In most pairs both were colored by "
                    "computer programs from the black-and-white photo; in a few, one of them is the real photo. "
                    "Pick the one whose colors look more realistic."
                ),
            )
            try:
                study = generate_study(opts, progress=lambda msg: None).study
            except GenerationError as exc:
                raise CommandError(f"demo study: {exc}") from None
        compared = ", ".join(s.name for s in study.compared_systems())
        self.stdout.write(self.style.SUCCESS(f"The demo study is ready: {compared}."))
        self.stdout.write(f"  Participant link:  {base}/study/{study.slug}/")
        self.stdout.write(f"  Status page:       {base}/staff/study/{study.slug}/")
        self.stdout.write(f"  Participants:      {base}/staff/study/{study.slug}/participants/   (each one's checks)")
        self.stdout.write(f"  Admin:             {base}/admin/   (log in as {username} / {password})")
        self.stdout.write(f"  Results:           .venv/bin/python manage.py report --study {study.slug}")
