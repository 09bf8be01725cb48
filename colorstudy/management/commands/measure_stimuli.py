"""Compute the automatic metrics of an existing study's stimuli (new studies get them when generated)."""
from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from colorstudy.models import Study
from colorstudy.stimulusmetrics import measure_study


class Command(BaseCommand):
    help = ("Compute each stimulus's metrics (PSNR, SSIM, CIEDE2000 and AuC against the ground truth; colorfulness "
            "and chroma) for an existing study; export_votes then carries them as left_/right_ columns.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--study", required=True, help="the study's name (slug)")
        parser.add_argument("--ground-truth", type=Path, help="the real photos, matched by name, where the study "
                            "does not hold them itself")

    def handle(self, *args, **options) -> None:
        study = Study.objects.filter(slug=options["study"]).first()
        if study is None:
            raise CommandError(f"no study {options['study']!r}")
        folder = options["ground_truth"]
        if folder is not None and not folder.is_dir():
            raise CommandError(f"--ground-truth {folder}: no such folder")
        count = measure_study(study, folder)
        self.stdout.write(f"Measured {count} stimuli of {study.slug}.")
