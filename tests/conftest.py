from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.synthetic import make_system_folders

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
TEST_PHOTOS = FIXTURES / "lfw-test-sample"
TRAIN_PHOTOS = FIXTURES / "lfw-train-sample"
# The project's read-only real data (LFW, the tone-mapping study, pwcmp) sits beside the checkout;
# COLORSTUDY_SHARED points elsewhere. Tests that need it are skipped, with the reason, without it.
SHARED = Path(os.environ.get("COLORSTUDY_SHARED", ROOT.parent / "shared"))
LFW = SHARED / "data" / "lfw-deepfunneled"


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path_factory):
    """Stimuli written by a test go to a temporary folder, never into the developer's var/."""
    settings.MEDIA_ROOT = tmp_path_factory.mktemp("media")


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Each test starts with empty rate-limit counters: every test client and the live server's
    browser come from 127.0.0.1, and a whole suite within one minute would otherwise hit the
    30 consents per minute of the open link (a browser test failed that way)."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def system_folders(tmp_path) -> dict[str, Path]:
    return make_system_folders(tmp_path / "systems", n_images=12)
