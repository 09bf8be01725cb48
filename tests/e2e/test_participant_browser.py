"""A real participant in headless Chromium: consent, mouse and keyboard votes, reload, completion."""
from __future__ import annotations

import pytest
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from colorstudy.models import Participant, Vote

from ..colorstudy.helpers import make_study

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def wait_for_trial(browser, number: int, total: int) -> None:
    WebDriverWait(browser, 10).until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, ".count"), f"{number} of {total}"))
    # The response clock starts when both images have loaded.
    WebDriverWait(browser, 10).until(
        lambda b: b.execute_script("return Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
    )


def test_a_participant_votes_every_trial_with_mouse_and_keys_and_reaches_the_code(live_server, browser, system_folders, tmp_path):
    study = make_study(system_folders, participants=2, trials=6)
    browser.get(f"{live_server.url}/study/{study.slug}/?PROLIFIC_PID=browser-pid")
    browser.find_element(By.NAME, "consent").click()
    browser.find_element(By.CSS_SELECTOR, "button.primary").click()

    chosen = {}
    for number in range(1, 7):
        wait_for_trial(browser, number, 6)
        if number == 1:  # a mark on this document: it survives only if the next trials come in place
            browser.execute_script("window.sameDocument = true;")
        if number == 3:
            assert browser.execute_script("return window.sameDocument === true"), "a vote reloaded the page"
        if number == 2:
            browser.save_screenshot(str(tmp_path / "trial.png"))
            left = browser.find_element(By.CSS_SELECTOR, '[data-side="left"] img').rect
            right = browser.find_element(By.CSS_SELECTOR, '[data-side="right"] img').rect
            assert (left["width"], left["height"]) == (right["width"], right["height"])
            assert left["y"] == right["y"] and left["x"] < right["x"]  # side by side on a wide screen
        if number == 4:
            browser.refresh()  # half-way: reload resumes the same trial
            wait_for_trial(browser, 4, 6)
            assert browser.execute_script("return window.sameDocument === undefined")
        if number % 3 == 0:
            browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_LEFT)
            chosen[number] = "left"
        elif number % 3 == 1:
            browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_RIGHT)
            chosen[number] = "right"
        else:
            browser.find_element(By.CSS_SELECTOR, '[data-side="left"]').click()
            chosen[number] = "left"

    code = WebDriverWait(browser, 10, ignored_exceptions=(WebDriverException,)).until(
        ec.presence_of_element_located((By.ID, "completion-code"))).text
    participant = Participant.objects.get(external_id="browser-pid")
    assert code == participant.completion_code and participant.finished_at is not None
    assert participant.device_class == "desktop" and 1000 <= participant.viewport_width <= 1200
    votes = {v.trial.position: v for v in Vote.objects.filter(trial__participant=participant).select_related("trial")}
    assert {pos: v.side for pos, v in votes.items()} == chosen
    assert all(v.response_ms is not None and 0 <= v.response_ms < 60_000 for v in votes.values())
    assert (tmp_path / "trial.png").stat().st_size > 10_000


def test_on_a_narrow_screen_the_two_images_are_stacked(live_server, browser, system_folders):
    study = make_study(system_folders, participants=1, trials=2)
    browser.set_window_size(400, 900)
    browser.get(f"{live_server.url}/study/{study.slug}/")
    browser.find_element(By.NAME, "consent").click()
    browser.find_element(By.CSS_SELECTOR, "button.primary").click()
    wait_for_trial(browser, 1, 2)
    left = browser.find_element(By.CSS_SELECTOR, '[data-side="left"] img').rect
    right = browser.find_element(By.CSS_SELECTOR, '[data-side="right"] img').rect
    assert right["y"] > left["y"] + left["height"] - 1
    assert left["width"] == right["width"]


def test_when_an_in_page_vote_is_refused_the_plain_post_shows_the_servers_message(live_server, browser, system_folders):
    from colorstudy.models import Study

    study = make_study(system_folders, participants=1, trials=3)
    browser.get(f"{live_server.url}/study/{study.slug}/")
    browser.find_element(By.NAME, "consent").click()
    browser.find_element(By.CSS_SELECTOR, "button.primary").click()
    wait_for_trial(browser, 1, 3)
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_LEFT)
    wait_for_trial(browser, 2, 3)
    Study.objects.filter(pk=study.pk).update(status=Study.Status.CLOSED)
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_RIGHT)
    # The page navigates under the wait: a node read mid-navigation may belong to the old document.
    WebDriverWait(browser, 10, ignored_exceptions=(WebDriverException,)).until(
        lambda b: "This study is closed" in b.execute_script("return document.body ? document.body.innerText : ''"))
    assert Vote.objects.filter(trial__participant__study=study).count() == 1
