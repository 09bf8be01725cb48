"""Chromium reports its viewing conditions, and a window too small for the study pauses the trial."""
from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from colorstudy.models import Participant, Vote

from ..colorstudy.helpers import make_study
from .test_participant_browser import consent, wait_for_trial

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_conditions_are_recorded_and_a_narrowed_window_pauses_the_choice_until_widened(live_server, browser,
                                                                                      system_folders):
    study = make_study(system_folders, participants=1, trials=3, min_image_px=240)
    consent(browser, f"{live_server.url}/study/{study.slug}/?PROLIFIC_PID=cond")
    wait_for_trial(browser, 1, 3)
    participant = Participant.objects.get(external_id="cond")
    assert participant.device_class == "desktop" and participant.device_pixel_ratio == 1.0
    assert participant.zoom == 1 and participant.color_gamut == "srgb" and participant.screen_width > 0
    assert participant.dynamic_range == "standard"

    wait_for_trial(browser, 1, 3)
    browser.find_element(By.CSS_SELECTOR, '[data-side="left"]').click()
    wait_for_trial(browser, 2, 3)
    browser.set_window_size(1000, 420)  # a low window: the images shrink below 240 px
    warning = browser.find_element(By.ID, "too-small")
    WebDriverWait(browser, 10).until(lambda b: warning.is_displayed())
    assert "reset the zoom" in warning.text
    browser.find_element(By.CSS_SELECTOR, '[data-side="right"]').click()
    assert Vote.objects.filter(trial__participant=participant).count() == 1  # the choice waited
    browser.set_window_size(1200, 900)
    WebDriverWait(browser, 10).until(lambda b: not warning.is_displayed())
    browser.find_element(By.CSS_SELECTOR, '[data-side="right"]').click()
    wait_for_trial(browser, 3, 3)
    first, second = Vote.objects.filter(trial__participant=participant).order_by("trial__position")
    assert first.image_px >= 240 and first.resized is False and first.viewport == ""
    assert second.side == "right" and second.resized is True and second.image_px >= 240
