"""A study described as data: the TOML file that ``generate_pairs --config`` reads.

Example::

    slug = "faces"
    title = "Which photo looks real?"
    question = "Which of these two images looks more realistic?"
    instructions = "..."
    participants = 6
    trials = 50
    seed = 1
    size = 256
    completion_url = "https://app.prolific.com/submissions/complete?cc=XXXX"

    [systems]              # name = folder, or "model:CHECKPOINT" with images = "photos/"
    ours = "colorized/ours"
    zhang = "colorized/zhang"

    [catch]
    rate = 0.1
    ground_truth = "photos/"
    max_fail_rate = 0.5

    [exposure]
    ms = 1000              # show each pair for 1 s, then hide it until the choice

    [breaks]
    every = 20             # a pause screen every 20 trials

    [texts.de]             # the study's own words in another language (de, es, zh-hans)
    title = "Welches Foto wirkt echt?"
    question = "Welches der beiden Bilder wirkt realistischer?"

    [sequential]           # stop early when the answer is in (two systems; fixed once votes exist)
    looks = 5              # equally spaced, or a list of completed-participant counts
    spending = "obf"       # "obf" (O'Brien-Fleming-like), "pocock", or "power" with rho = ...
    alpha = 0.05
    futility = true        # non-binding futility bounds, powered for
    effect = 0.58          # ... this share
    primary = "participant"  # or "mixed": the analysis at each look
"""
from __future__ import annotations

import tomllib
from pathlib import Path

from .generation import GenerationError
from .studysettings import toml_keys

# TOML key (section.key) -> generate_pairs option name: the study's own, then its design settings'
# (from their one definition, colorstudy.studysettings).
KEYS = {
    "slug": "study", "title": "title", "question": "question", "instructions": "instructions",
    "participants": "participants", "trials": "trials", "seed": "seed",
    "completion_url": "completion_url", "images": "images", "engine": "engine", "draft": "draft",
    "catch.rate": "catch_rate", "catch.ground_truth": "ground_truth", "catch.max_fail_rate": "catch_max_fail_rate",
    **toml_keys(),
}
PATH_OPTIONS = {"images", "ground_truth"}


def load_study_config(path: Path) -> dict:
    """Option values from a TOML study file; relative folders are taken relative to the file."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GenerationError(f"{path}: no such study file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise GenerationError(f"{path}: not valid TOML ({exc})") from None
    base = Path(path).resolve().parent
    options: dict = {}
    systems = data.pop("systems", {})
    if not isinstance(systems, dict):
        raise GenerationError(f"{path}: [systems] must be a table of name = folder")
    options["system"] = [
        f"{name}={value if str(value).startswith('model:') else base / str(value)}" for name, value in systems.items()
    ]
    texts = data.pop("texts", None)
    if texts is not None:
        options["texts"] = texts  # checked with the other settings (colorstudy.studysettings)
    sequential = data.pop("sequential", None)
    if sequential is not None:
        if not isinstance(sequential, dict):
            raise GenerationError(f"{path}: [sequential] must be a table (looks, spending, alpha, futility, effect, ...)")
        options["sequential"] = sequential
    flat = {}
    for key, value in data.items():
        if isinstance(value, dict):
            flat.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            flat[key] = value
    for key, value in flat.items():
        if key not in KEYS:
            raise GenerationError(f"{path}: unknown setting {key!r}; known: {', '.join(sorted(KEYS))}")
        option = KEYS[key]
        options[option] = base / str(value) if option in PATH_OPTIONS else value
    return options
