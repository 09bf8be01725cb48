"""Exposure-limited trials and pause screens in headless Chromium."""
from __future__ import annotations

import time

import pytest
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from colorstudy.models import Vote

from ..colorstudy.helpers import make_study
from .test_participant_browser import wait_for_trial

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_pair_disappears_after_the_exposure_and_the_displayed_time_is_stored(live_server, browser, system_folders):
    study = make_study(system_folders, participants=1, trials=3, exposure_ms=400, break_every=2)
    browser.get(f"{live_server.url}/study/{study.slug}/")
    browser.find_element(By.NAME, "consent").click()
    browser.find_element(By.CSS_SELECTOR, "button.primary").click()
    for number in (1, 2, 3):
        if number == 3:  # the pause screen after two trials
            WebDriverWait(browser, 10, ignored_exceptions=(WebDriverException,)).until(lambda b: b.find_elements(By.ID, "continue"))
            browser.find_element(By.ID, "continue").click()
        wait_for_trial(browser, number, 3)
        image = browser.find_element(By.CSS_SELECTOR, '[data-side="left"] img')
        # (Visible first: the stored displayed_ms below says for how long.)
        WebDriverWait(browser, 5).until(
            lambda b, img=image: b.execute_script("return getComputedStyle(arguments[0]).visibility", img) == "hidden"
        )
        time.sleep(0.1)
        browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_LEFT)
    WebDriverWait(browser, 10, ignored_exceptions=(WebDriverException,)).until(lambda b: b.find_elements(By.ID, "completion-code"))
    votes = list(Vote.objects.order_by("trial__position"))
    assert len(votes) == 3
    for v in votes:
        assert 350 <= v.displayed_ms <= 1500 and v.response_ms >= v.displayed_ms


def test_a_turing_study_with_practice_feedback_in_the_browser(live_server, browser, system_folders):
    from colorstudy.models import Trial

    study = make_study(system_folders, participants=1, trials=3, turing=True, practice_trials=2,
                       ground_truth=system_folders["truth"], question="Which photo is real?")
    browser.get(f"{live_server.url}/study/{study.slug}/")
    browser.find_element(By.NAME, "consent").click()
    browser.find_element(By.CSS_SELECTOR, "button.primary").click()
    for number in range(1, 6):
        wait_for_trial(browser, number, 5)
        assert "Which photo is real?" in browser.page_source
        trial = Trial.objects.select_related("left__system").get(participant__study=study, position=number)
        real = "left" if trial.left.system.name == "ground_truth" else "right"
        browser.find_element(By.CSS_SELECTOR, f'[data-side="{real}"]').click()
        if number <= 2:  # practice: feedback, then continue
            feedback = WebDriverWait(browser, 10, ignored_exceptions=(WebDriverException,)).until(lambda b: b.find_elements(By.ID, "feedback"))[0]
            assert f"it was the {real} one" in feedback.text
            browser.find_element(By.ID, "next").click()
    WebDriverWait(browser, 10, ignored_exceptions=(WebDriverException,)).until(lambda b: b.find_elements(By.ID, "completion-code"))
    assert Vote.objects.filter(trial__is_practice=True).count() == 2
    assert Vote.objects.filter(trial__is_practice=False, chosen_system__name="ground_truth").count() == 3
