"""A study's design settings, defined once: :class:`StudySettings`.

Each field says, in its metadata, everything the rest of the project needs to know of it: its
``generate_pairs`` flag and help, its key in a ``study.toml`` file, its label on the staff pages
and the check its value must pass. The command, the TOML reader, the staff page and the services
read them from here; the study stores them (``Study.config``) and reads them back as one object
(``Study.settings``).

Settings that are the study's own columns (title, question, instructions, completion URL, the
catch-trial rate and rule, the seed) live on :class:`colorstudy.models.Study`; the few that only
steer the generation (folders, the engine that colorizes models) are ``generate_pairs``'s.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from .languages import CODES, STUDY_TEXTS

DESIGNS = ("balanced", "adaptive")
COLOUR_VISION = ("off", "record", "exclude")
DEVICES = ("any", "no-phones", "desktop-only")
LANGUAGE_CHOICES = ("auto", *CODES)


class SettingsError(ValueError):
    """A setting out of its range; the message names the setting and what is allowed."""


def _at_least(low: int):
    def check(name: str, value: Any) -> None:
        if value is not None and value < low:
            raise SettingsError(f"{name} must be at least {low}, got {value}")
    return check


def _between(low: int, high: int):
    def check(name: str, value: Any) -> None:
        if value is not None and not low <= value <= high:
            raise SettingsError(f"{name} must be between {low} and {high}, got {value}")
    return check


def _one_of(*choices: str):
    def check(name: str, value: Any) -> None:
        if value not in choices:
            raise SettingsError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return check


def _web_address(name: str, value: Any) -> None:
    if value is not None and not str(value).startswith(("https://", "http://")):
        raise SettingsError(f"{name} must be a web address (https://...), got {value!r}")


def _check_texts(texts: Any) -> None:
    if not isinstance(texts, dict):
        raise SettingsError("texts must be a table of language = {title, question, instructions, consent}")
    for language, words in texts.items():
        if language not in CODES:
            raise SettingsError(f"texts: language must be one of {', '.join(CODES)}, got {language!r}")
        if not isinstance(words, dict):
            raise SettingsError(f"texts.{language} must be a table of {', '.join(STUDY_TEXTS)}")
        for key, value in words.items():
            if key not in STUDY_TEXTS:
                raise SettingsError(f"texts.{language}: key must be one of {', '.join(STUDY_TEXTS)}, got {key!r}")
            if not isinstance(value, str) or not value.strip():
                raise SettingsError(f"texts.{language}.{key} must be non-empty text")


def _design_help() -> str:
    from evaluation.adaptive import CRITERION_WORDS, DEFAULT_CRITERION  # only when the command's help is built

    return ("balanced (every pair of systems equally, lists fixed now; the default) or adaptive (3+ systems: each "
            f"list chosen at consent, from the votes so far, by {CRITERION_WORDS[DEFAULT_CRITERION]}, in batches of "
            "spanning trees as ASAP)")


def setting(default: Any, *, label: str, flag: str | None = None, toml: str | None = None, help: str = "",
            check=None, kind: type | None = None, choices: tuple[str, ...] | None = None):
    """A field of :class:`StudySettings` with what the command, the TOML file and the staff page need."""
    return field(default=default, metadata={"label": label, "flag": flag, "toml": toml, "help": help,
                                            "check": check, "kind": kind, "choices": choices})


@dataclass(frozen=True)
class StudySettings:
    size: int = setting(256, label="Stimulus size (px, longest side)", flag="--size", toml="size", kind=int,
                        help="longest side of every stimulus, in pixels (default 256)", check=_between(16, 4096))
    design: str = setting("balanced", label="Design", flag="--design", toml="design", choices=DESIGNS,
                          check=_one_of(*DESIGNS), help=lambda: _design_help())
    exposure_ms: int | None = setting(None, label="Exposure (ms)", flag="--exposure-ms", toml="exposure.ms", kind=int,
                                      help="show each pair this long, then hide it until the choice",
                                      check=_between(50, 60_000))
    break_every: int | None = setting(None, label="A break every (trials)", flag="--break-every", toml="breaks.every",
                                      kind=int, help="a pause screen every this many trials", check=_at_least(1))
    practice_trials: int = setting(0, label="Practice trials", flag="--practice-trials", toml="practice.trials",
                                   kind=int, check=_at_least(0), help="practice trials first, with feedback, on images "
                                   "kept out of the study (needs --ground-truth)")
    min_viewport_width: int | None = setting(None, label="Narrowest window admitted (px)", flag="--min-viewport-width",
                                             toml="screen.min_width", kind=int, check=_at_least(1),
                                             help="turn away browser windows narrower than this (px)")
    devices: str = setting("any", label="Devices admitted", flag="--devices", toml="screen.devices", choices=DEVICES,
                           check=_one_of(*DEVICES), help="any (the default), no-phones, or desktop-only (a mouse or "
                           "trackpad); who comes on another device is told why and what to use")
    min_image_px: int | None = setting(None, label="Smallest image shown (CSS px at 100% zoom)", flag="--min-image-px",
                                       toml="screen.min_image_px", kind=int, check=_between(32, 4096),
                                       help="each image must be shown at least this wide (CSS pixels at 100%% zoom); "
                                       "a smaller window pauses the trial and says how to enlarge it")
    language: str = setting("auto", label="Participants' language", flag="--language", toml="language",
                            choices=LANGUAGE_CHOICES, check=_one_of(*LANGUAGE_CHOICES),
                            help="auto (the default: the browser's language where the site has it, else English) or "
                            f"one of {', '.join(CODES)} for every participant")
    target_completes: int | None = setting(None, label="Closes after (finished participants)",
                                           flag="--target-completes", toml="quota.target_completes", kind=int,
                                           check=_at_least(1),
                                           help="close the open link after this many finished participants")
    abandon_after_minutes: int | None = setting(None, label="Unfinished lists offered again after (minutes)",
                                                flag="--abandon-after-minutes", toml="quota.abandon_after_minutes",
                                                kind=int, check=_at_least(1), help="offer an unfinished list idle this "
                                                "long to the next newcomer (votes cast stay with the first)")
    turing: bool = setting(False, label="Turing mode (against the real photo)", flag="--turing", toml="turing",
                           kind=bool, help="each trial: one system against the real photo (--ground-truth); report "
                           "fooling rates")
    colour_vision: str = setting("off", label="Colour-vision plates", flag="--colour-vision", toml="colour_vision",
                                 choices=COLOUR_VISION, check=_one_of(*COLOUR_VISION),
                                 help="off (the default), record (plates before the first trial, results kept) or "
                                 "exclude (who fails is thanked and turned away before any trial)")
    screened_out_url: str | None = setting(None, label="Screened out: sent to", flag="--screened-out-url",
                                           toml="screened_out_url", kind=str, check=_web_address,
                                           help="with --colour-vision exclude: where a participant who fails the "
                                           "plates is sent, e.g. Prolific's link with your screened-out code")
    # Recorded when the study is generated, not given as such.
    catch_trials: int = setting(0, label="Catch trials per participant")
    participants: int = setting(0, label="Participant lists")
    seed: int = setting(0, label="Seed")
    systems: dict = field(default_factory=dict)  # name -> folder or model spec, as given
    # The study's own words per language: {"de": {"title": ..., "question": ..., "instructions": ..., "consent": ...}}
    texts: dict = field(default_factory=dict)
    practice_images: tuple[str, ...] = field(default=())  # kept out of the study, shown as practice
    sequential: dict | None = field(default=None)  # evaluation.sequential.SequentialPlan.to_dict(), fixed with the study

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            check = f.metadata.get("check")
            if check is not None:
                check(f.metadata.get("flag") or f.name, getattr(self, f.name))
        _check_texts(self.texts)
        if self.min_image_px and self.min_image_px > self.size:
            raise SettingsError(f"--min-image-px ({self.min_image_px}) cannot exceed the stimuli's --size ({self.size}): "
                                "smaller stimuli would only be enlarged on screen")
        if self.screened_out_url and self.colour_vision != "exclude":
            raise SettingsError("--screened-out-url needs --colour-vision exclude: no one is screened out otherwise")

    @classmethod
    def from_config(cls, config: dict | None) -> StudySettings:
        """The settings a study stored; unknown keys (older studies' extras) are ignored."""
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in (config or {}).items() if k in names and v is not None}
        if "practice_images" in values:
            values["practice_images"] = tuple(values["practice_images"])
        return cls(**values)

    def to_config(self) -> dict:
        data = dataclasses.asdict(self)
        data["practice_images"] = list(self.practice_images)
        return data

    @property
    def screens_colour_vision(self) -> bool:
        """Colour-vision plates come before the first trial (colorstudy.plates)."""
        return self.colour_vision != "off"

    @property
    def adaptive(self) -> bool:
        """Lists chosen at consent from the votes so far (evaluation.adaptive), not at generation."""
        return self.design == "adaptive"

    def rows(self) -> list[tuple[str, str]]:
        """The settings that are set, as (label, value) for people, in definition order."""
        rows = []
        for f in dataclasses.fields(self):
            label, value = f.metadata.get("label"), getattr(self, f.name)
            if label is None or f.name in ("systems", "texts") or (value in (None, "", 0, False) and f.name not in ("seed", "catch_trials")):
                continue
            rows.append((label, "yes" if value is True else str(value)))
        if self.practice_images:
            rows.append(("Practice images (kept out of the study)", str(len(self.practice_images))))
        return rows


def flagged() -> list[dataclasses.Field]:
    """The fields ``generate_pairs`` takes as flags (and a study file as keys)."""
    return [f for f in dataclasses.fields(StudySettings) if f.metadata.get("flag")]


def add_flags(parser) -> None:
    """Add every flagged setting to an argparse parser, with its help and type."""
    for f in flagged():
        meta = f.metadata
        text = meta["help"]() if callable(meta["help"]) else meta["help"]
        if meta["kind"] is bool:
            parser.add_argument(meta["flag"], action="store_true", default=None, help=text)
        elif meta["choices"]:
            parser.add_argument(meta["flag"], choices=meta["choices"], help=text)
        else:
            parser.add_argument(meta["flag"], type=meta["kind"], help=text)


def defaults() -> dict:
    """Option name -> default, for the flagged settings."""
    return {f.name: f.default for f in flagged()}


def toml_keys() -> dict:
    """TOML key (``section.key``) -> option name, for the flagged settings."""
    return {f.metadata["toml"]: f.name for f in flagged() if f.metadata.get("toml")}
