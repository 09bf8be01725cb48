"""Building a study from folders of colorizations: stimuli, participants and their trials.

``generate_study`` is what ``manage.py generate_pairs`` (and the demo) call; it writes through
the ORM in one transaction, so a failure leaves the database as it was.
"""
from __future__ import annotations

import logging
import random
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from django.conf import settings
from django.core.validators import slug_re as SLUG
from django.db import transaction
from django.utils.text import slugify

from . import design, stimuli
from .folders import ground_truth_mismatch, unmatched_names
from .models import Participant, SourceImage, Stimulus, Study, System, Vote
from .stimulusmetrics import load_truth, measure, pixels, truth_pixels
from .studysettings import StudySettings
from .triallists import write_lists

logger = logging.getLogger(__name__)


class GenerationError(Exception):
    """An expected failure, with a message meant for the researcher."""


@dataclass(frozen=True)
class SystemSpec:
    name: str
    location: str  # a folder of images, or "model:SPEC" colorized from --images

    @classmethod
    def parse(cls, text: str) -> SystemSpec:
        name, sep, location = text.partition("=")
        name, location = name.strip(), location.strip()
        if not sep or not name or not location:
            raise GenerationError(f"--system must look like NAME=DIR or NAME=model:CHECKPOINT, got {text!r}")
        if name in (design.GROUND_TRUTH, design.FOIL):
            raise GenerationError(f"system name {name!r} is reserved for catch trials")
        return cls(name, location)

    @property
    def model(self) -> str | None:
        return self.location[len("model:") :] if self.location.startswith("model:") else None


@dataclass
class StudyOptions:
    """What ``generate_study`` is asked for: the study's columns, its design settings
    (:class:`colorstudy.studysettings.StudySettings`) and how to build it."""

    slug: str
    systems: list[SystemSpec]
    participants: int
    trials: int
    settings: StudySettings = field(default_factory=StudySettings)
    seed: int = 0
    catch_rate: float = 0.0
    catch_max_fail_rate: float = 0.5
    ground_truth: Path | None = None
    images: Path | None = None  # source photos for systems given as models
    engine: str = "torch"  # how those are colorized: torch, onnxruntime or auto (colorcore.factory)
    title: str = ""
    question: str = "Which of these two images looks more realistic?"
    instructions: str = ""
    completion_url: str = ""
    draft: bool = False
    strict: bool = False  # stop at the first bad image instead of skipping it
    add_participants: bool = False
    replace: bool = False
    # A group-sequential plan: {"looks": 5, "spending": "obf", ...} (the options of sequential_plan)
    sequential: dict | None = None


@dataclass
class GenerationResult:
    study: Study
    created_participants: list[Participant]
    images_used: int
    skipped: list[str]  # one message per skipped image


def check_study_name(name: str) -> None:
    """Refuse a study name that cannot be a segment of the study's link (``/study/<name>/``).

    >>> check_study_name("pilot study")
    Traceback (most recent call last):
    ...
    colorstudy.generation.GenerationError: study name 'pilot study' cannot be part of the study's link: use ASCII letters, digits, hyphens and underscores, at most 50 characters (for example 'pilot-study')
    """
    limit = Study._meta.get_field("slug").max_length
    if not SLUG.fullmatch(name or "") or len(name) > limit:
        suggestion = slugify(name)[:limit]
        raise GenerationError(f"study name {name!r} cannot be part of the study's link: use ASCII letters, digits, "
                              f"hyphens and underscores, at most {limit} characters"
                              + (f" (for example {suggestion!r})" if suggestion else ""))


def generate_study(opts: StudyOptions, progress: Callable[[str], None] = logger.info) -> GenerationResult:
    check_study_name(opts.slug)
    existing = Study.objects.filter(slug=opts.slug).first()
    if existing is not None:
        if opts.add_participants:
            if existing.settings.sequential:
                raise GenerationError(f"study {opts.slug!r} has a sequential plan: its participants are fixed with it")
            return _add_participants(existing, opts)
        has_votes = Vote.objects.filter(trial__participant__study=existing).exists()
        if not opts.replace:
            raise GenerationError(
                f"study {opts.slug!r} already exists; use --add-participants to add trial lists"
                + ("" if has_votes else " or --replace to rebuild it")
            )
        if has_votes:
            raise GenerationError(f"study {opts.slug!r} has votes; it is never rebuilt (use --add-participants)")
    plan = sequential_plan(opts) if opts.sequential else None
    if opts.add_participants and existing is None:
        raise GenerationError(f"--add-participants: there is no study {opts.slug!r}")
    if opts.participants < 1 or opts.trials < 1:
        raise GenerationError("--participants and --trials must be at least 1")
    names = [s.name for s in opts.systems]
    if len(set(names)) != len(names) or len(names) < (1 if opts.settings.turing else 2):
        raise GenerationError(
            f"give {'one or more systems' if opts.settings.turing else 'at least two systems'} with distinct names, got {names}"
        )
    if opts.settings.design == "adaptive" and (opts.settings.turing or len(names) < 3):
        raise GenerationError(f"the adaptive design chooses among the pairs of three or more systems, got {names}"
                              + (" in a Turing study" if opts.settings.turing else ""))
    if opts.settings.turing and not opts.ground_truth:
        raise GenerationError("Turing mode needs the real photos: --ground-truth DIR")

    with tempfile.TemporaryDirectory(prefix="colorstudy-") as scratch:
        folders = {s.name: _system_folder(s, opts, Path(scratch), progress) for s in opts.systems}
        listing = {name: stimuli.list_images(folder) for name, folder in folders.items()}
        for name, files in listing.items():
            if not files:
                raise GenerationError(f"system {name!r}: no images in {folders[name]}")
        truth = stimuli.list_images(opts.ground_truth) if opts.ground_truth else {}
        common = sorted(set.intersection(*(set(v) for v in listing.values()), *([set(truth)] if opts.settings.turing else [])))
        if not common:
            shown = {**listing, **({"the real photos": truth} if opts.settings.turing else {})}
            examples = "; ".join(f"{name}: {', '.join(sorted(files)[:3])}" + (", ..." if len(files) > 3 else "")
                                 for name, files in shown.items())
            raise GenerationError("no image name is common to every system's folder"
                                  + (" and the real photos" if opts.settings.turing else "")
                                  + f" (images are matched by their path inside each folder; for example {examples})")
        n_catch = design.catch_trials_per_participant(opts.trials, opts.catch_rate) if opts.catch_rate else 0
        if n_catch and not truth:
            raise GenerationError("catch trials need --ground-truth DIR with the real photos")
        for note in unmatched_names(listing, common):
            progress(note)
        if truth and (n_catch or opts.settings.practice_trials or opts.settings.turing):
            problem = ground_truth_mismatch(common, truth)
            if problem and not set(common) & set(truth):
                raise GenerationError(problem)
            if problem:
                progress(problem)
        progress(f"{len(common)} images common to {len(names)} systems; encoding stimuli")
        with transaction.atomic():
            if existing is not None:
                existing.delete()
            study = Study.objects.create(
                slug=opts.slug,
                title=opts.title,
                instructions=opts.instructions,
                question=opts.question,
                status=Study.Status.DRAFT if opts.draft else Study.Status.OPEN,
                trials_per_participant=opts.trials,
                seed=opts.seed,
                catch_rate=opts.catch_rate,
                catch_max_fail_rate=opts.catch_max_fail_rate,
                completion_url=opts.completion_url,
                config=replace(
                    opts.settings, catch_trials=n_catch, participants=opts.participants, seed=opts.seed,
                    systems={s.name: s.location for s in opts.systems}, sequential=plan.to_dict() if plan else None,
                    # A sequential study ends at its plan's maximum of completed participants.
                    target_completes=opts.settings.target_completes or (plan.participants if plan else None),
                ).to_config(),
            )
            systems = {
                s.name: System.objects.create(study=study, name=s.name, source=s.location) for s in opts.systems
            }
            if opts.settings.practice_trials and not truth:
                raise GenerationError("practice trials show the real photo: give --ground-truth DIR")
            real = (
                System.objects.create(study=study, name=design.GROUND_TRUTH, role=System.Role.GROUND_TRUTH)
                if n_catch or opts.settings.turing or opts.settings.practice_trials
                else None
            )
            foil = System.objects.create(study=study, name=design.FOIL, role=System.Role.FOIL) if n_catch else None
            used, catch_pool, skipped = _store_stimuli(study, systems, listing, common, truth, real, foil, opts)
            practice = _reserve_practice(used, truth, opts)
            used = [im for im in used if im.name not in practice]
            study.store_settings(replace(study.settings, practice_images=tuple(practice)))
            study.save(update_fields=["config"])
            if opts.trials > len(used):
                raise GenerationError(
                    f"{opts.trials} trials per participant need {opts.trials} distinct images; "
                    f"only {len(used)} usable images are common to every system"
                )
            if opts.settings.design == "adaptive":
                created = _empty_lists(study, 0, opts.participants)
            else:
                created = _create_participants(
                    study, used, names, catch_pool, n_catch, first_slot=0, count=opts.participants, turing=opts.settings.turing
                )
    return GenerationResult(study, created, len(used), skipped)



def _empty_lists(study: Study, first_slot: int, count: int) -> list[Participant]:
    """Participants of an adaptive study: their trials are chosen when they consent."""
    Participant.objects.bulk_create([Participant(study=study, slot=first_slot + i) for i in range(count)])
    return list(study.participants.filter(slot__gte=first_slot).order_by("slot"))


SEQUENTIAL_KEYS = ("looks", "spending", "rho", "alpha", "futility", "effect", "power", "primary", "icc")


def sequential_plan(opts: StudyOptions):
    """The study's group-sequential plan (evaluation.sequential.fixed_plan): its maximum is the
    number of participant lists, its looks count completed participants."""
    from evaluation.sequential import fixed_plan

    spec = dict(opts.sequential)
    unknown = set(spec) - set(SEQUENTIAL_KEYS)
    if unknown:
        raise GenerationError(f"unknown sequential setting {sorted(unknown)[0]!r}; known: {', '.join(SEQUENTIAL_KEYS)}")
    compared = [s for s in opts.systems]
    if opts.settings.turing or len(compared) != 2:
        raise GenerationError("a sequential plan compares exactly two systems (not a Turing study)")
    looks = spec.pop("looks", 5)
    if isinstance(looks, str):
        looks = [int(n) for n in looks.split(",")] if "," in looks else int(looks)
    try:
        return fixed_plan(opts.participants, looks, votes_per_participant=opts.trials, **spec)
    except (TypeError, ValueError) as exc:
        raise GenerationError(f"sequential plan: {exc}") from None


def _system_folder(spec: SystemSpec, opts: StudyOptions, scratch: Path, progress: Callable[[str], None]) -> Path:
    if spec.model is None:
        folder = Path(spec.location)
        if not folder.is_dir():
            raise GenerationError(f"system {spec.name!r}: {folder} is not a folder")
        return folder
    if opts.images is None:
        raise GenerationError(f"system {spec.name!r} is a model: give the photos to colorize with --images DIR")
    from colorcore.errors import ColorcoreError
    from colorcore.infer import colorize_path

    out = scratch / spec.name
    progress(f"colorizing {opts.images} with {spec.model} for system {spec.name!r}")
    try:
        colorize_path(spec.model, opts.images, out, engine=opts.engine)
    except ColorcoreError as exc:
        raise GenerationError(f"system {spec.name!r}: {exc}") from None
    return out


def _store_stimuli(
    study: Study,
    systems: dict[str, System],
    listing: dict[str, dict[str, Path]],
    common: list[str],
    truth: dict[str, Path],
    real_system: System | None,
    foil_system: System | None,
    opts: StudyOptions,
) -> tuple[list[SourceImage], list[str], list[str]]:
    """Encode every system's image of every common name; an image bad in any system is skipped whole.

    The real photo is encoded too when catch trials or Turing mode need it, and its wrong
    recoloring (the foil) for catch trials.
    """
    media = Path(settings.MEDIA_ROOT) / "stimuli"
    media.mkdir(parents=True, exist_ok=True)
    used: list[SourceImage] = []
    catch_pool: list[str] = []
    skipped: list[str] = []
    pending: list[Stimulus] = []
    for name in common:
        try:
            decoded = {sys_name: stimuli.load_rgb(listing[sys_name][name]) for sys_name in systems}
            real = stimuli.load_rgb(truth[name]) if real_system and name in truth else None
        except stimuli.BadImage as exc:
            if opts.strict:
                raise GenerationError(f"{exc} (stopping because of --strict)") from None
            logger.warning("skipping image %s: %s", name, exc)
            skipped.append(str(exc))
            continue
        first = next(iter(decoded.values()))
        size = stimuli.target_size(first.width, first.height, opts.settings.size)
        image = SourceImage.objects.create(study=study, name=name)
        renderings = {systems[n]: im for n, im in decoded.items()}
        if real is not None and real_system is not None:
            renderings[real_system] = real
            if foil_system is not None:
                renderings[foil_system] = stimuli.wrong_recoloring(real)
                catch_pool.append(name)
        encoded = {system: stimuli.encode(im, size) for system, im in renderings.items()}
        # The metrics' ground truth at the stimulus size: the real photo's own stimulus where the study shows it.
        reference = (pixels(encoded[real_system].data) if real_system in encoded
                     else truth_pixels(load_truth(truth.get(name)), size))
        for system, data in encoded.items():
            stim = _write_stimulus(media, system, image, data)
            stim.metrics = measure(pixels(data.data), reference, system)
            pending.append(stim)
        used.append(image)
    Stimulus.objects.bulk_create(pending, batch_size=500)
    return used, catch_pool, skipped


def _reserve_practice(used: list[SourceImage], truth: dict[str, Path], opts: StudyOptions) -> list[str]:
    """Images kept for practice trials only: seeded, among those with a real photo."""
    if not opts.settings.practice_trials:
        return []
    candidates = sorted(im.name for im in used if im.name in truth)
    if len(candidates) - opts.settings.practice_trials < opts.trials:
        raise GenerationError(
            f"{opts.settings.practice_trials} practice images and {opts.trials} trials need {opts.settings.practice_trials + opts.trials} "
            f"images with a real photo; {len(candidates)} are available"
        )
    return sorted(random.Random(opts.seed).sample(candidates, opts.settings.practice_trials))


def _write_stimulus(media: Path, system: System, image: SourceImage, encoded: stimuli.Encoded) -> Stimulus:
    stim = Stimulus(system=system, image=image, content_type=stimuli.CONTENT_TYPE, width=encoded.width, height=encoded.height)
    stim.path = f"stimuli/{stim.token}{stimuli.SUFFIX}"
    (media.parent / stim.path).write_bytes(encoded.data)
    return stim


def _create_participants(
    study: Study,
    images: list[SourceImage],
    system_names: list[str],
    catch_pool: list[str],
    n_catch: int,
    first_slot: int,
    count: int,
    turing: bool = False,
) -> list[Participant]:
    practice = list(study.settings.practice_images)
    lists = design.build_design(
        [im.name for im in images],
        system_names,
        participants=count,
        trials=study.trials_per_participant,
        seed=study.seed,
        catch_images=catch_pool,
        n_catch=n_catch,
        first_slot=first_slot,
        against=design.GROUND_TRUTH if turing else None,
    )
    participants = Participant.objects.bulk_create(
        [Participant(study=study, slot=first_slot + i, trial_count=len(lists[i]) + len(practice)) for i in range(count)],
        batch_size=2000,
    )
    if any(p.pk is None for p in participants):  # backends without RETURNING
        participants = list(study.participants.filter(slot__gte=first_slot).order_by("slot"))
    write_lists(study, [
        (participant, (design.practice_trials(participant.slot, practice, system_names, study.seed) if practice else [])
         + specs)
        for participant, specs in zip(participants, lists, strict=True)
    ])
    return participants


def _add_participants(study: Study, opts: StudyOptions) -> GenerationResult:
    if opts.trials != study.trials_per_participant or opts.seed != study.seed:
        raise GenerationError(
            f"--add-participants must keep the study's design: trials {study.trials_per_participant}, "
            f"seed {study.seed} (got trials {opts.trials}, seed {opts.seed})"
        )
    compared = [s.name for s in study.compared_systems()]
    given = [s.name for s in opts.systems]
    if given and sorted(given) != sorted(compared):
        raise GenerationError(f"--add-participants must name the study's systems {compared}, got {given}")
    practice = set(study.settings.practice_images)
    images = [im for im in study.images.filter(stimuli__system__name=compared[0]).order_by("pk") if im.name not in practice]
    catch_pool = list(
        study.images.filter(stimuli__system__role=System.Role.FOIL).order_by("pk").values_list("name", flat=True)
    )
    n_catch = study.settings.catch_trials
    with transaction.atomic():
        last = study.participants.order_by("-slot").values_list("slot", flat=True).first()
        first_slot = 0 if last is None else last + 1
        if study.settings.adaptive:
            return GenerationResult(study, _empty_lists(study, first_slot, opts.participants), len(images), [])
        created = _create_participants(study, images, compared, catch_pool, n_catch, first_slot, opts.participants,
                                       turing=study.settings.turing)
    return GenerationResult(study, created, len(images), [])
