"""Seeded construction of participant trial lists. Pure Python: no ORM, no I/O.

Balance that the lists guarantee:

- each participant sees ``trials`` distinct source images, in shuffled order;
- across participants, every image is used the same number of times, give or take one
  (images are dealt from one seeded permutation, round-robin);
- with more than two systems, every pair of systems gets the same number of trials, give or
  take one, and each image rotates through the pairs;
- within a participant, for every pair of systems, the number of times each system is on the
  left differs by at most one (the blinded left/right assignment);
- the list of participant ``slot`` depends only on ``(seed, slot)`` and the inputs, so adding
  participants later gives the lists a bigger first run would have given.
"""
from __future__ import annotations

import itertools
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

GROUND_TRUTH = "ground_truth"
FOIL = "foil"


@dataclass(frozen=True, slots=True)
class TrialSpec:
    image: str
    left: str  # system name
    right: str
    is_catch: bool = False
    is_practice: bool = False


class DesignError(ValueError):
    """The requested design cannot be built from these inputs."""


def catch_trials_per_participant(trials: int, catch_rate: float) -> int:
    """Number of catch trials added to ``trials`` regular ones: ``catch_rate`` is their share of all trials."""
    if not 0 <= catch_rate < 1:
        raise DesignError(f"catch rate must be in [0, 1), got {catch_rate}")
    return round(trials * catch_rate / (1 - catch_rate))


def _balanced_sides(rng: random.Random, count: int) -> list[bool]:
    """``count`` booleans (True: first system on the left) with halves equal, the odd one random."""
    sides = [True] * (count // 2) + [False] * (count // 2)
    if count % 2:
        sides.append(rng.random() < 0.5)
    rng.shuffle(sides)
    return sides


def _dealing_order(
    images: Sequence[str], systems: Sequence[str], seed: int, against: str | None = None
) -> tuple[list[str], list[tuple[str, str]]]:
    base = random.Random(seed)
    permutation = list(images)
    base.shuffle(permutation)
    # Turing mode: every system against the real photo; otherwise every pair of systems.
    pairs = [(against, s) for s in systems] if against else list(itertools.combinations(systems, 2))
    base.shuffle(pairs)
    return permutation, pairs


def _one_list(
    slot: int,
    permutation: list[str],
    pairs: list[tuple[str, str]],
    trials: int,
    seed: int,
    catch_images: list[str],
    n_catch: int,
) -> list[TrialSpec]:
    rng = random.Random(f"{seed}:{slot}")
    m, p = len(permutation), len(pairs)
    start = slot * trials
    # Pairs are dealt round-robin (balanced to one trial). When the number of images shares a
    # factor with the number of pairs, image r would always meet the same pairs; shifting the
    # image stream by one after each common cycle (lcm) rotates every image through all pairs.
    cycle = math.lcm(m, p) if trials < m else 0

    def image_at(i: int) -> str:
        return permutation[(i + (i // cycle if cycle else 0)) % m]

    chosen = [(image_at(start + j), pairs[(start + j) % p]) for j in range(trials)]

    by_pair: dict[tuple[str, str], list[str]] = {}
    for image, pair in chosen:
        by_pair.setdefault(pair, []).append(image)
    specs = []
    for pair in sorted(by_pair):
        for image, first_left in zip(by_pair[pair], _balanced_sides(rng, len(by_pair[pair])), strict=True):
            a, b = pair if first_left else pair[::-1]
            specs.append(TrialSpec(image, a, b))
    if n_catch:
        for image, truth_left in zip(
            rng.sample(catch_images, n_catch), _balanced_sides(rng, n_catch), strict=True
        ):
            a, b = (GROUND_TRUTH, FOIL) if truth_left else (FOIL, GROUND_TRUTH)
            specs.append(TrialSpec(image, a, b, is_catch=True))
    rng.shuffle(specs)
    return specs


def practice_trials(slot: int, images: Sequence[str], systems: Sequence[str], seed: int) -> list[TrialSpec]:
    """Practice trials, shown first: each of ``images`` once, the real photo against one system
    (round-robin from the slot), with the real photo's side balanced."""
    rng = random.Random(f"{seed}:practice:{slot}")
    order = list(images)
    rng.shuffle(order)
    sides = _balanced_sides(rng, len(order))
    specs = []
    for i, (image, real_left) in enumerate(zip(order, sides, strict=True)):
        system = systems[(slot + i) % len(systems)]
        a, b = (GROUND_TRUTH, system) if real_left else (system, GROUND_TRUTH)
        specs.append(TrialSpec(image, a, b, is_practice=True))
    return specs


def build_design(
    images: Sequence[str],
    systems: Sequence[str],
    participants: int,
    trials: int,
    seed: int,
    catch_images: Sequence[str] = (),
    n_catch: int = 0,
    first_slot: int = 0,
    against: str | None = None,
) -> list[list[TrialSpec]]:
    """Trial lists for slots ``first_slot .. first_slot + participants - 1``.

    With ``against`` (Turing mode), each trial pairs that system (the real photos) with one of
    ``systems`` instead of pairing the systems with each other.

    Examples
    --------
    >>> lists = build_design(["a.png", "b.png", "c.png"], ["ours", "zhang"], participants=2, trials=3, seed=1)
    >>> [len(x) for x in lists]
    [3, 3]
    >>> sorted(t.image for t in lists[0])
    ['a.png', 'b.png', 'c.png']
    """
    if participants < 1:
        raise DesignError(f"participants must be at least 1, got {participants}")
    _check(images, systems, trials, catch_images, n_catch, against)
    permutation, pairs = _dealing_order(images, systems, seed, against)
    catch_pool = list(catch_images)
    return [
        _one_list(slot, permutation, pairs, trials, seed, catch_pool, n_catch)
        for slot in range(first_slot, first_slot + participants)
    ]


def _check(
    images: Sequence[str], systems: Sequence[str], trials: int, catch_images: Sequence[str], n_catch: int,
    against: str | None = None,
) -> None:
    if against and (not systems or against in systems):
        raise DesignError(f"Turing mode needs at least one system besides {against!r}, got {list(systems)}")
    if not against and len(set(systems)) < 2:
        raise DesignError(f"at least two distinct systems are needed, got {list(systems)}")
    if trials < 1:
        raise DesignError(f"trials must be at least 1, got {trials}")
    if trials > len(images):
        raise DesignError(
            f"{trials} trials per participant need {trials} distinct images, but only {len(images)} are common "
            "to every system"
        )
    if n_catch > len(catch_images):
        raise DesignError(f"{n_catch} catch trials need as many ground-truth images, found {len(catch_images)}")


def adaptive_list(
    images: Sequence[str],
    pairs: Sequence[tuple[str, str]],
    slot: int,
    seed: int,
    catch_images: Sequence[str] = (),
    n_catch: int = 0,
) -> list[TrialSpec]:
    """One participant's list for the pairs an adaptive scheduler chose (one per trial).

    Everything else is as in the fixed designs: distinct images dealt from the study's seeded
    permutation, rotating through the pairs from one participant to the next (by ``slot``), each
    pair's sides balanced within the list, catch trials added, the order shuffled.

    >>> specs = adaptive_list(["a", "b", "c", "d"], [("x", "y"), ("y", "z"), ("x", "y")], slot=0, seed=3)
    >>> sorted((t.left, t.right) in {("x", "y"), ("y", "x")} for t in specs)
    [False, True, True]
    >>> len({t.image for t in specs})
    3
    """
    systems = sorted({s for pair in pairs for s in pair})
    _check(images, systems, len(pairs), catch_images, n_catch)
    permutation, _ = _dealing_order(images, systems, seed)
    return _one_list(slot, permutation, list(pairs), len(pairs), seed, list(catch_images), n_catch)
