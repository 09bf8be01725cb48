"""Trial lists: seeded, balanced, blinded (colorstudy.design, no ORM)."""
from __future__ import annotations

import itertools
from collections import Counter

import pytest

from colorstudy.design import DesignError, build_design, catch_trials_per_participant

IMAGES = [f"img{i:02d}" for i in range(20)]


def test_each_participant_sees_distinct_images_and_the_requested_number_of_trials():
    lists = build_design(IMAGES, ["a", "b"], participants=7, trials=12, seed=3)
    assert len(lists) == 7
    for trials in lists:
        assert len(trials) == 12
        assert len({t.image for t in trials}) == 12


def test_left_counts_per_pair_differ_by_at_most_one_within_every_participant():
    systems = ["a", "b", "c"]
    for trials in build_design(IMAGES, systems, participants=25, trials=13, seed=5):
        for pair in itertools.combinations(systems, 2):
            left = Counter(t.left for t in trials if {t.left, t.right} == set(pair))
            assert abs(left[pair[0]] - left[pair[1]]) <= 1


def test_images_are_used_evenly_across_participants():
    lists = build_design(IMAGES, ["a", "b"], participants=9, trials=7, seed=1)
    uses = Counter(t.image for trials in lists for t in trials)
    assert set(uses) == set(IMAGES)
    assert max(uses.values()) - min(uses.values()) <= 1


def test_system_pairs_are_balanced_and_each_image_meets_several_pairs():
    systems = ["a", "b", "c", "d"]
    lists = build_design(IMAGES, systems, participants=30, trials=10, seed=2)
    pairs = Counter(frozenset((t.left, t.right)) for trials in lists for t in trials)
    assert len(pairs) == 6
    assert max(pairs.values()) - min(pairs.values()) <= 1
    pairs_of_image = {img: {frozenset((t.left, t.right)) for trials in lists for t in trials if t.image == img} for img in IMAGES}
    assert all(len(p) > 1 for p in pairs_of_image.values())


def test_the_same_seed_gives_the_same_lists_and_another_seed_does_not():
    a = build_design(IMAGES, ["a", "b"], participants=3, trials=5, seed=9)
    assert a == build_design(IMAGES, ["a", "b"], participants=3, trials=5, seed=9)
    assert a != build_design(IMAGES, ["a", "b"], participants=3, trials=5, seed=10)


def test_adding_participants_later_gives_the_lists_a_single_run_would_have_given():
    whole = build_design(IMAGES, ["a", "b"], participants=6, trials=5, seed=4)
    later = build_design(IMAGES, ["a", "b"], participants=2, trials=5, seed=4, first_slot=4)
    assert whole[4:] == later


def test_catch_trials_pair_ground_truth_with_the_foil_and_balance_sides():
    n = catch_trials_per_participant(18, 0.1)
    assert n == 2
    lists = build_design(IMAGES, ["a", "b"], participants=5, trials=18, seed=0, catch_images=IMAGES, n_catch=4)
    for trials in lists:
        catches = [t for t in trials if t.is_catch]
        assert len(catches) == 4 and len(trials) == 22
        assert all({t.left, t.right} == {"ground_truth", "foil"} for t in catches)
        assert sum(t.left == "ground_truth" for t in catches) == 2


def test_it_refuses_more_trials_than_common_images_with_a_message_naming_both():
    with pytest.raises(DesignError, match="30 trials .* only 20"):
        build_design(IMAGES, ["a", "b"], participants=1, trials=30, seed=0)


def test_it_refuses_a_single_system():
    with pytest.raises(DesignError, match="two distinct systems"):
        build_design(IMAGES, ["a", "a"], participants=1, trials=3, seed=0)
