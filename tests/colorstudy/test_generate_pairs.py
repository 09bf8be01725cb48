from __future__ import annotations

import io
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from PIL import Image

from colorstudy.models import Participant, Stimulus, Study, Trial, Vote
from colorstudy.services import ExternalIds, assign_participant, record_vote

from .helpers import make_study

pytestmark = pytest.mark.django_db


def test_it_builds_participants_with_balanced_blinded_trials(system_folders):
    study = make_study(system_folders, participants=5, trials=8)
    assert study.status == Study.Status.OPEN
    assert study.participants.count() == 5
    for participant in study.participants.all():
        trials = list(participant.trials.select_related("left__system", "right__system").order_by("position"))
        assert [t.position for t in trials] == list(range(1, 9))
        assert len({t.image_id for t in trials}) == 8
        lefts = Counter(t.left.system.name for t in trials)
        assert abs(lefts["muted"] - lefts["vivid"]) <= 1
        assert all(t.left.image_id == t.right.image_id == t.image_id for t in trials)


def test_every_stimulus_is_a_metadata_free_png_of_the_same_size_for_both_systems(system_folders, tmp_path):
    # One system writes a bigger JPEG with EXIF: the pipeline must still make both identical in form.
    src = next(system_folders["vivid"].rglob("*.png"))
    big = Image.open(src).resize((500, 500))
    exif = Image.Exif()
    exif[0x0131] = "vivid-colorizer v1"  # Software tag
    big.save(src.with_suffix(".jpg"), exif=exif)
    src.unlink()
    study = make_study(system_folders)
    sizes = set()
    for stim in Stimulus.objects.filter(system__study=study):
        path = Path(settings.MEDIA_ROOT) / stim.path
        assert path.name == f"{stim.token}.png"
        with Image.open(path) as im:
            assert im.format == "PNG" and im.mode == "RGB"
            assert not im.info.get("exif") and not im.getexif() and "icc_profile" not in im.info
            sizes.add(im.size)
        assert b"vivid" not in path.read_bytes()
    assert sizes == {(256, 256)}


def test_the_same_arguments_give_the_same_assignment(system_folders):
    def layout(slug):
        study = make_study(system_folders, slug=slug)
        return [
            (t.participant.slot, t.position, t.image.name, t.left.system.name, t.right.system.name)
            for t in Trial.objects.filter(participant__study=study)
            .select_related("participant", "image", "left__system", "right__system")
            .order_by("participant__slot", "position")
        ]

    assert layout("first") == layout("second")


def test_running_it_again_refuses_and_keeps_the_votes(system_folders):
    study = make_study(system_folders, participants=2, trials=4)
    participant = assign_participant(study, ExternalIds())
    record_vote(participant, 1, "left", 500)
    for extra in ({}, {"replace": True}):
        with pytest.raises(CommandError, match="already exists|has votes"):
            make_study(system_folders, participants=2, trials=4, **extra)
    assert Vote.objects.filter(trial__participant__study=study).count() == 1


def test_add_participants_keeps_votes_and_continues_the_design(system_folders):
    study = make_study(system_folders, participants=2, trials=4)
    participant = assign_participant(study, ExternalIds())
    record_vote(participant, 1, "right", 300)
    make_study(system_folders, participants=3, trials=4, add_participants=True)
    assert sorted(study.participants.values_list("slot", flat=True)) == [0, 1, 2, 3, 4]
    assert Vote.objects.get(trial__participant=participant).side == "right"
    whole = make_study(system_folders, slug="whole", participants=5, trials=4)
    def names(s):
        return [
            (t.participant.slot, t.image.name, t.left.system.name)
            for t in Trial.objects.filter(participant__study=s).select_related("participant", "image", "left__system").order_by("participant__slot", "position")
        ]
    assert names(study) == names(whole)


def test_replace_rebuilds_a_study_without_votes(system_folders):
    make_study(system_folders, participants=2, trials=4)
    study = make_study(system_folders, participants=3, trials=5, replace=True)
    assert study.participants.count() == 3 and study.trials_per_participant == 5


def test_catch_trials_use_the_real_photo_and_a_wrong_recoloring(system_folders):
    study = make_study(system_folders, participants=3, trials=9, catch_rate=0.25, ground_truth=system_folders["truth"])
    assert study.config["catch_trials"] == 3
    for participant in study.participants.all():
        catches = participant.trials.filter(is_catch=True).select_related("left__system", "right__system")
        assert catches.count() == 3
        for t in catches:
            assert {t.left.system.role, t.right.system.role} == {"ground_truth", "foil"}


def test_a_corrupt_image_is_skipped_with_its_name_and_the_rest_goes_on(system_folders):
    bad = sorted(system_folders["muted"].rglob("*.png"))[0]
    bad.write_bytes(b"\x89PNG\r\n\x1a\n this is not really a png")
    err = io.StringIO()
    call_command(
        "generate_pairs", "--study", "s", "--system", f"muted={system_folders['muted']}",
        "--system", f"vivid={system_folders['vivid']}", "--participants", "2", "--trials", "5",
        stdout=io.StringIO(), stderr=err,
    )
    assert bad.name in err.getvalue()
    study = Study.objects.get(slug="s")
    assert study.images.count() == len(list(system_folders["vivid"].rglob("*.png"))) - 1


def test_strict_stops_at_a_corrupt_image_and_stores_nothing(system_folders):
    bad = sorted(system_folders["muted"].rglob("*.png"))[0]
    bad.write_bytes(b"garbage")
    with pytest.raises(CommandError, match=bad.name):
        make_study(system_folders, strict=True)
    assert not Study.objects.exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--system", "onlyone=/nonexistent"], "two systems|not a folder"),
        (["--system", "a=/nonexistent", "--system", "b=/nonexistent"], "/nonexistent is not a folder"),
        (["--system", "broken"], "NAME=DIR"),
    ],
)
def test_bad_arguments_get_a_one_line_error(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("generate_pairs", "--study", "x", "--participants", "1", "--trials", "1", *args)


@pytest.mark.parametrize("name", ["pilot study", "Étude/1", "a" * 51, ""])
def test_a_study_name_that_cannot_be_a_link_segment_is_refused_in_one_line(system_folders, name):
    with pytest.raises(CommandError) as refused:
        make_study(system_folders, slug=name)
    message = str(refused.value)
    assert f"study name {name!r} cannot be part of the study's link" in message and "\n" not in message
    assert "letters, digits, hyphens and underscores" in message
    assert not Study.objects.exists()


def test_folders_without_a_common_image_name_are_refused_with_names_from_each(system_folders, tmp_path):
    import shutil

    renamed = tmp_path / "renamed"
    renamed.mkdir()
    for path in sorted(system_folders["vivid"].iterdir()):
        copy = shutil.copytree if path.is_dir() else shutil.copy
        copy(path, renamed / f"colorized_{path.name}")
    with pytest.raises(CommandError) as refused:
        call_command("generate_pairs", "--study", "x", "--participants", "1", "--trials", "1",
                     "--system", f"muted={system_folders['muted']}", "--system", f"vivid={renamed}", stdout=io.StringIO())
    message = str(refused.value)
    first = sorted(p.name for p in system_folders["muted"].iterdir())[0]
    assert message.startswith("no image name is common to every system's folder")
    assert f"muted: {first}" in message and f"vivid: colorized_{first}" in message and "\n" not in message


def test_the_help_names_the_adaptive_designs_default_criterion(capsys):
    from evaluation.adaptive import CRITERION_WORDS, DEFAULT_CRITERION

    with pytest.raises(SystemExit):
        call_command("generate_pairs", "--help")
    assert CRITERION_WORDS[DEFAULT_CRITERION] in " ".join(capsys.readouterr().out.split())


def test_too_many_trials_for_the_common_images_is_refused(system_folders):
    with pytest.raises(CommandError, match="only 12 usable images"):
        make_study(system_folders, trials=20)
    assert not Participant.objects.exists()


def test_export_votes_writes_one_tidy_row_per_vote(system_folders, tmp_path):
    study = make_study(system_folders, participants=2, trials=3)
    p = assign_participant(study, ExternalIds(participant="PID1"))
    for pos in (1, 2):
        record_vote(p, pos, "left", 400 + pos)
    out = tmp_path / "votes.csv"
    call_command("export_votes", "--study", study.slug, "--output", str(out), stderr=io.StringIO())
    import pandas as pd

    frame = pd.read_csv(out)
    assert len(frame) == 2
    assert list(frame.columns)[:3] == ["participant", "external_id", "position"]
    assert set(frame.external_id) == {"PID1"}
    assert (frame.chosen_system == frame.left_system).all()
    assert p.token not in out.read_text()


def test_a_system_given_as_a_model_is_colorized_on_the_fly(system_folders):
    from colorstudy.models import System

    from ..conftest import FIXTURES, TEST_PHOTOS

    call_command(
        "generate_pairs", "--study", "models", "--system", f"ours=model:{FIXTURES / 'models' / 'cross-entropy-w025.pt'}",
        "--system", f"muted={system_folders['muted']}", "--images", str(TEST_PHOTOS), "--participants", "2",
        "--trials", "4", stdout=io.StringIO(),
    )
    study = Study.objects.get(slug="models")
    ours = System.objects.get(study=study, name="ours")
    assert ours.stimuli.count() == study.images.count() == 12
    with Image.open(Path(settings.MEDIA_ROOT) / ours.stimuli.first().path) as im:
        assert im.size == (256, 256) and im.mode == "RGB"


def test_a_model_system_without_images_is_refused(system_folders):
    with pytest.raises(CommandError, match="give the photos to colorize with --images"):
        call_command("generate_pairs", "--study", "m", "--system", "ours=model:x.pt", "--system",
                     f"muted={system_folders['muted']}", "--participants", "1", "--trials", "1")


def test_images_missing_from_one_system_are_counted_and_named(system_folders):
    dropped = sorted(system_folders["vivid"].rglob("*.png"))[:3]
    for path in dropped:
        path.unlink()
    out = io.StringIO()
    call_command(
        "generate_pairs", "--study", "s", "--system", f"muted={system_folders['muted']}",
        "--system", f"vivid={system_folders['vivid']}", "--participants", "1", "--trials", "5", stdout=out,
    )
    note = next(line for line in out.getvalue().splitlines() if line.startswith("system 'muted'"))
    assert "3 of 12 images left out" in note and dropped[0].stem in note
    assert "system 'vivid'" not in out.getvalue()  # vivid lost nothing: its images are all in the study


def test_real_photos_in_another_folder_layout_are_refused_with_the_layout_named(system_folders, tmp_path):
    flat = tmp_path / "flat-truth"
    flat.mkdir()
    for photo in system_folders["truth"].rglob("*.jpg"):
        photo.rename(flat / photo.name)  # Person/Person_0001.jpg -> Person_0001.jpg
    with pytest.raises(CommandError, match=r"12 of 12 study images have no real photo .*same files are there under other "
                                           r"folders .*give both the same layout"):
        make_study(system_folders, catch_rate=0.25, ground_truth=flat)
    assert not Study.objects.exists()


def test_a_command_before_migrate_says_so_in_one_line(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "COLORSTUDY_DATA": str(tmp_path / "fresh")}
    env.pop("DATABASE_URL", None)
    for args in (["report", "--study", "x"], ["generate_pairs", "--study", "x", "--participants", "1", "--trials", "1"],
                 ["export_votes", "--study", "x"]):
        proc = subprocess.run([sys.executable, "manage.py", *args], cwd=settings.BASE_DIR, env=env,
                              capture_output=True, text=True, timeout=120)
        (line,) = proc.stderr.strip().splitlines()
        assert proc.returncode == 1
        assert line.startswith(f"CommandError: the database ({tmp_path / 'fresh' / 'colorstudy.sqlite3'}) is not set up")
        assert line.endswith("run `python manage.py migrate` first")


def test_a_model_system_is_colorized_with_the_engine_asked_for(system_folders, tmp_path):
    import shutil

    from colorcore.factory import ENGINE_CHOICES
    from colorstudy.management.commands.generate_pairs import ENGINES
    from colorstudy.models import System

    from ..conftest import FIXTURES, TEST_PHOTOS

    assert ENGINES == ENGINE_CHOICES  # the command's copy of colorcore's choices
    model = tmp_path / "ce.pt"
    shutil.copy(FIXTURES / "models" / "cross-entropy-w025.pt", model)
    call_command(
        "generate_pairs", "--study", "auto", "--system", f"ours=model:{model}", "--engine", "auto",
        "--system", f"muted={system_folders['muted']}", "--images", str(TEST_PHOTOS), "--participants", "2",
        "--trials", "4", stdout=io.StringIO(),
    )
    assert System.objects.get(study__slug="auto", name="ours").stimuli.count() == 12
    assert (tmp_path / "ce.pt.engines.json").exists()  # engine auto measured the model on the photos
    with pytest.raises(CommandError, match="invalid choice: 'openvino'"):
        call_command("generate_pairs", "--study", "x", "--engine", "openvino", "--participants", "1", "--trials", "1")
