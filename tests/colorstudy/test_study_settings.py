"""A study's design settings have one definition (colorstudy.studysettings): the command's flags, the
study file's keys, the checks and the staff page's labels all come from it."""
from __future__ import annotations

import ast
import dataclasses
import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client

from colorstudy.studyconfig import KEYS, load_study_config
from colorstudy.studysettings import SettingsError, StudySettings, flagged

from .helpers import make_study

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def test_every_flagged_setting_is_a_flag_of_generate_pairs_and_a_key_of_the_study_file(capsys):
    with pytest.raises(SystemExit):
        call_command("generate_pairs", "--help")
    help_text = " ".join(capsys.readouterr().out.split())
    for f in flagged():
        assert f.metadata["flag"] in help_text
        assert KEYS[f.metadata["toml"]] == f.name


def test_a_setting_from_the_study_file_reaches_the_study_and_the_staff_page(system_folders, tmp_path,
                                                                          django_user_model):
    study_file = tmp_path / "study.toml"
    study_file.write_text(f'slug = "filed"\nparticipants = 2\ntrials = 4\n[systems]\nmuted = "{system_folders["muted"]}"\n'
                          f'vivid = "{system_folders["vivid"]}"\n[breaks]\nevery = 2\n[screen]\nmin_width = 640\n')
    assert load_study_config(study_file)["break_every"] == 2
    call_command("generate_pairs", "--config", str(study_file), stdout=io.StringIO())
    from colorstudy.models import Study

    study = Study.objects.get(slug="filed")
    assert (study.settings.break_every, study.settings.min_viewport_width) == (2, 640)
    staff = Client()
    staff.force_login(django_user_model.objects.create_superuser("r", password="x-long-password-1"))
    page = staff.get("/staff/study/filed/").content.decode()
    for f in dataclasses.fields(StudySettings):
        if f.name in ("break_every", "min_viewport_width"):
            assert f"<th>{f.metadata['label']}</th><td>{getattr(study.settings, f.name)}</td>" in page


@pytest.mark.parametrize("name, value, message", [
    ("exposure_ms", 10, "--exposure-ms must be between 50 and 60000, got 10"),
    ("break_every", 0, "--break-every must be at least 1, got 0"),
    ("design", "greedy", "--design must be one of balanced, adaptive, got 'greedy'"),
])
def test_a_setting_out_of_range_is_refused_naming_its_flag(name, value, message):
    with pytest.raises(SettingsError, match=message):
        StudySettings(**{name: value})


def test_the_study_reads_its_settings_back_as_one_object(system_folders):
    study = make_study(system_folders, break_every=3, exposure_ms=800)
    again = type(study).objects.get(pk=study.pk)
    assert again.settings == study.settings and again.settings.break_every == 3 and again.settings.exposure_ms == 800


def test_no_module_reads_the_stored_configuration_but_the_one_that_defines_it():
    for path in (ROOT / "colorstudy").rglob("*.py"):
        if "migrations" in path.parts or path.name in ("studysettings.py", "models.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr == "config" and isinstance(node.value, ast.Name | ast.Attribute):
                owner = node.value.id if isinstance(node.value, ast.Name) else node.value.attr
                assert owner not in ("study", "existing"), f"{path}:{node.lineno} reads study.config"
