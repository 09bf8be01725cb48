"""What a report is asked for, in one object: :class:`ReportOptions`, and the command-line options
that fill it, shared by ``python -m evaluation report`` and ``manage.py report``."""
from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass
from typing import Any

from .jod import PRIORS
from .preference import ALTERNATIVES

FORMATS = ("text", "markdown", "csv", "json", "html")


@dataclass(frozen=True)
class ReportOptions:
    """The analyses' settings. ``order`` puts the named systems first (the first is a pair's
    ``system_a``); ``reference`` fixes that system's JOD score and Bradley-Terry strength at 0;
    ``sequential`` is the study's plan (``SequentialPlan`` or its dict), replayed on the votes."""

    alpha: float = 0.05
    alternative: str = "two-sided"
    include_excluded: bool = False  # keep participants who fail the catch-trial rule
    max_fail_rate: float = 0.5  # the catch-trial rule
    order: tuple[str, ...] | None = None
    mixed: bool = True
    n_boot: int = 500
    min_viewport: int | None = None
    exclude_one_sided: bool = False
    exclude_outliers: bool = False
    exclude_colour_vision: bool = False  # leave out who missed the colour-vision plates (a study run with record)
    reference: str | None = None
    jod_prior: str = "gaussian"
    by_image: bool = False
    metrics: str | None = None  # a CSV of image, system and metric columns (evaluation.metric_agreement)
    by_device: bool = False  # split the main result by device class and colour gamut (evaluation.splits)
    sequential: Any = None

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {self.alpha}")
        if self.alternative not in ALTERNATIVES:
            raise ValueError(f"alternative must be one of {', '.join(ALTERNATIVES)}, got {self.alternative!r}")
        if self.jod_prior not in PRIORS:
            raise ValueError(f"jod_prior must be one of {', '.join(PRIORS)}, got {self.jod_prior!r}")


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    """The report's options on a command line (both commands that report)."""
    parser.add_argument("--format", choices=FORMATS, default="text")
    parser.add_argument("--output", help="file to write (default: standard output)")
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--alternative", choices=ALTERNATIVES, default="two-sided")
    parser.add_argument("--include-excluded", action="store_true", help="keep participants who failed catch trials")
    parser.add_argument(
        "--max-fail-rate", type=float, default=None, help="catch-trial exclusion threshold (default: the study's, or 0.5)"
    )
    parser.add_argument("--no-mixed", action="store_true", help="skip the mixed-effects model (fast)")
    parser.add_argument("--min-viewport", type=int, help="leave out participants whose window was narrower (px)")
    parser.add_argument("--exclude-one-sided", action="store_true",
                        help="leave out participants who chose one side beyond chance (Holm-adjusted, at --alpha)")
    parser.add_argument("--exclude-outliers", action="store_true",
                        help="leave out participants whom pwcmp's outlier analysis puts above 1.5")
    parser.add_argument("--exclude-colour-vision", action="store_true",
                        help="leave out participants whose colour-vision plates suggest a deficiency or who missed "
                        "the plate everyone can read (studies run with --colour-vision record; decide before looking)")
    parser.add_argument("--systems", nargs="*", default=None, help="order of systems: the first is system_a")
    parser.add_argument("--reference", help="system whose JOD score and Bradley-Terry strength are fixed at 0")
    parser.add_argument("--jod-prior", choices=PRIORS, default="gaussian", help="pwcmp's distance prior (default gaussian)")
    parser.add_argument("--by-image", action="store_true", help="also scale JOD separately for each image")
    parser.add_argument("--metrics", help="CSV of automatic metrics (columns image, system, then one per metric) "
                        "to hold against the votes; a vote export's left_/right_ metric columns are used without it")
    parser.add_argument("--by-device", action="store_true",
                        help="also split each pair's result by device class and by the display's colour gamut")
    parser.add_argument("--bootstrap", type=int, default=500, help="participant-bootstrap resamples (default 500; 0: none)")


def options_from_arguments(values: dict, **defaults: Any) -> ReportOptions:
    """The options of parsed command-line ``values``; ``defaults`` fill what was not given (a study's
    own catch-trial rule, its order of systems, its plan)."""
    given = {
        "alpha": values["alpha"],
        "alternative": values["alternative"],
        "include_excluded": values["include_excluded"],
        "max_fail_rate": values["max_fail_rate"],
        "order": tuple(values["systems"]) if values["systems"] else None,
        "mixed": not values["no_mixed"],
        "n_boot": values["bootstrap"],
        "min_viewport": values["min_viewport"],
        "exclude_one_sided": values["exclude_one_sided"],
        "exclude_outliers": values["exclude_outliers"],
        "exclude_colour_vision": values.get("exclude_colour_vision"),
        "reference": values["reference"],
        "jod_prior": values["jod_prior"],
        "by_image": values["by_image"],
        "by_device": values.get("by_device"),
        "metrics": values.get("metrics"),
    }
    merged = {**defaults, **{k: v for k, v in given.items() if v is not None}}
    names = {f.name for f in dataclasses.fields(ReportOptions)}
    return ReportOptions(**{k: v for k, v in merged.items() if k in names})
