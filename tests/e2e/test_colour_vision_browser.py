"""Colour-vision plates in Chromium: one participant reads them and votes, another is turned away."""
from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from colorstudy.models import Participant, Vote

from ..colorstudy.helpers import make_study
from .conftest import chromium
from .test_participant_browser import consent, wait_for_trial

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def consented(browser, pid: str) -> Participant:
    """The participant once their consent is stored and the first plate is on the page."""
    WebDriverWait(browser, 30).until(ec.presence_of_element_located((By.CSS_SELECTOR, "form.plate")))
    return Participant.objects.get(external_id=pid)


def answer_plates(browser, participant: Participant, reads_them: bool) -> int:
    """Answer every plate by clicking its button; the number of plates seen."""
    seen = 0
    while True:
        WebDriverWait(browser, 30).until(ec.presence_of_element_located((By.TAG_NAME, "h1")))
        if "Which number do you see" not in browser.find_element(By.TAG_NAME, "h1").text:
            return seen
        position = int(browser.find_element(By.NAME, "position").get_attribute("value"))
        WebDriverWait(browser, 10).until(lambda b: b.execute_script(
            "const i = document.querySelector('form.plate img'); return i.complete && i.naturalWidth === 360"))
        plate = participant.plates.get(position=position)
        value = plate.digit if reads_them or plate.kind == "demo" else -1
        form = browser.find_element(By.TAG_NAME, "form")
        browser.find_element(By.CSS_SELECTOR, f'button[name="answer"][value="{value}"]').click()
        WebDriverWait(browser, 30).until(ec.staleness_of(form))
        seen += 1


def test_one_participant_reads_the_plates_and_votes_another_fails_and_is_turned_away(live_server, system_folders):
    study = make_study(system_folders, participants=2, trials=3, colour_vision="exclude",
                       screened_out_url="https://app.prolific.com/submissions/complete?cc=SCREENED")
    with chromium() as browser:
        consent(browser, f"{live_server.url}/study/{study.slug}/?PROLIFIC_PID=reads")
        reader = consented(browser, "reads")
        assert answer_plates(browser, reader, reads_them=True) == 7
        for number in range(1, 4):
            wait_for_trial(browser, number, 3)
            browser.find_element(By.CSS_SELECTOR, '[data-side="left"]').click()
        WebDriverWait(browser, 10).until(ec.presence_of_element_located((By.ID, "completion-code")))
    with chromium() as browser:
        consent(browser, f"{live_server.url}/study/{study.slug}/?PROLIFIC_PID=misses")
        misser = consented(browser, "misses")
        assert answer_plates(browser, misser, reads_them=False) == 7
        assert "not the right study for you" in browser.find_element(By.TAG_NAME, "main").text
        link = browser.find_element(By.LINK_TEXT, "continue here").get_attribute("href")
        assert link.endswith("cc=SCREENED")
    reader.refresh_from_db()
    misser.refresh_from_db()
    assert (reader.colour_vision, reader.plates_right, reader.finished_at is not None) == ("normal", 7, True)
    assert Vote.objects.filter(trial__participant=reader).count() == 3
    assert misser.colour_vision == "protan+deutan+tritan" and misser.screened_out_at is not None
    assert not Vote.objects.filter(trial__participant=misser).exists()
    assert study.participants.filter(assigned_at__isnull=True, trials__isnull=False).distinct().count() == 1
