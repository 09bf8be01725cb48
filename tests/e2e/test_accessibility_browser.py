"""The participant's pages pass axe-core in Chromium, and the whole flow works by keyboard alone."""
from __future__ import annotations

from pathlib import Path

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from colorstudy.models import Participant

from ..colorstudy.helpers import make_study
from .test_participant_browser import wait_for_trial

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).resolve().parents[2] / ".venv" / "axe" / "node_modules" / "axe-core" / "axe.min.js"


def serious_violations(browser) -> list[str]:
    """axe-core's serious and critical violations on the current page, one line each."""
    if not AXE.exists():
        pytest.skip("needs axe-core: make axe (npm install axe-core into .venv/axe)")
    browser.execute_script(AXE.read_text(encoding="utf-8"))
    results = browser.execute_async_script("const done = arguments[arguments.length - 1];"
                                           "axe.run(document).then(r => done(r.violations));")
    return [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in results if v["impact"] in ("serious", "critical")]


def keys(browser, *sequence) -> None:
    ActionChains(browser).send_keys(*sequence).perform()


def tab_to(browser, selector: str, limit: int = 40) -> None:
    """Press Tab until the element matching ``selector`` has the focus."""
    target = browser.find_element(By.CSS_SELECTOR, selector)
    for _ in range(limit):
        if browser.switch_to.active_element == target:
            return
        keys(browser, Keys.TAB)
    raise AssertionError(f"Tab never reached {selector}")


def test_every_participant_page_passes_axe_and_the_flow_needs_only_the_keyboard(live_server, browser, system_folders):
    study = make_study(system_folders, participants=1, trials=4, break_every=2, colour_vision="record",
                       min_image_px=64)
    checked: dict[str, list[str]] = {}
    browser.get(f"{live_server.url}/study/{study.slug}/?PROLIFIC_PID=keys")
    checked["consent"] = serious_violations(browser)
    tab_to(browser, 'input[name="consent"]')
    keys(browser, Keys.SPACE)
    tab_to(browser, "button.primary")
    keys(browser, Keys.ENTER)
    WebDriverWait(browser, 30).until(ec.presence_of_element_located((By.CSS_SELECTOR, "form.plate")))
    participant = Participant.objects.get(external_id="keys")
    for _ in range(7):
        WebDriverWait(browser, 30).until(ec.presence_of_element_located((By.CSS_SELECTOR, "form.plate")))
        if "plate" not in checked:
            checked["plate"] = serious_violations(browser)
        position = int(browser.find_element(By.NAME, "position").get_attribute("value"))
        digit = participant.plates.get(position=position).digit
        form = browser.find_element(By.TAG_NAME, "form")
        tab_to(browser, f'button[name="answer"][value="{digit}"]')
        keys(browser, Keys.ENTER)
        WebDriverWait(browser, 30).until(ec.staleness_of(form))
    for number in (1, 2, 3, 4):
        if number == 3:
            WebDriverWait(browser, 30).until(ec.presence_of_element_located((By.ID, "continue")))
            checked["break"] = serious_violations(browser)
            form = browser.find_element(By.TAG_NAME, "form")
            tab_to(browser, "#continue")
            keys(browser, Keys.ENTER)
            WebDriverWait(browser, 10).until(ec.staleness_of(form))
        wait_for_trial(browser, number, 4)
        if number == 1:
            checked["trial"] = serious_violations(browser)
        keys(browser, Keys.ARROW_LEFT if number % 2 else Keys.ARROW_RIGHT)
    WebDriverWait(browser, 10).until(ec.presence_of_element_located((By.ID, "completion-code")))
    checked["completion"] = serious_violations(browser)
    browser.get(f"{live_server.url}/study/no-such-study/")
    checked["error"] = serious_violations(browser)
    assert set(checked) == {"consent", "plate", "break", "trial", "completion", "error"}
    assert checked == {page: [] for page in checked}
    # The check can fail: an image without a text alternative is one of axe's critical violations.
    browser.execute_script("document.querySelector('main').appendChild(document.createElement('img')).src = '/x.png'")
    assert any(line.startswith("image-alt (critical)") for line in serious_violations(browser))
    participant.refresh_from_db()
    assert participant.finished_at is not None and participant.colour_vision == "normal"
