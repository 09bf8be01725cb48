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


def consent(browser, url: str) -> None:
    """Open a study's link and consent."""
    browser.get(url)
    browser.find_element(By.NAME, "consent").click()
    browser.find_element(By.CSS_SELECTOR, "button.primary").click()


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
    blocked = [e["message"] for e in browser.get_log("browser") if "Content Security Policy" in e["message"]]
    assert not blocked, blocked  # the policy blocks nothing the pages need


def test_on_a_narrow_screen_the_two_images_are_stacked(live_server, browser, system_folders):
    study = make_study(system_folders, participants=1, trials=2)
    browser.set_window_size(400, 900)
    consent(browser, f"{live_server.url}/study/{study.slug}/")
    wait_for_trial(browser, 1, 2)
    left = browser.find_element(By.CSS_SELECTOR, '[data-side="left"] img').rect
    right = browser.find_element(By.CSS_SELECTOR, '[data-side="right"] img').rect
    assert right["y"] > left["y"] + left["height"] - 1
    assert left["width"] == right["width"]


def test_when_an_in_page_vote_is_refused_the_plain_post_shows_the_servers_message(live_server, browser, system_folders):
    from colorstudy.models import Study

    study = make_study(system_folders, participants=1, trials=3)
    consent(browser, f"{live_server.url}/study/{study.slug}/")
    wait_for_trial(browser, 1, 3)
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_LEFT)
    wait_for_trial(browser, 2, 3)
    Study.objects.filter(pk=study.pk).update(status=Study.Status.CLOSED)
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_RIGHT)
    # The page navigates under the wait: a node read mid-navigation may belong to the old document.
    WebDriverWait(browser, 10, ignored_exceptions=(WebDriverException,)).until(
        lambda b: "This study is closed" in b.execute_script("return document.body ? document.body.innerText : ''"))
    assert Vote.objects.filter(trial__participant__study=study).count() == 1


def _borders(browser) -> tuple[str, str]:
    return tuple(browser.execute_script(
        "return [...document.querySelectorAll('.choice')].map(b => getComputedStyle(b).borderTopColor)"))


def test_no_side_looks_different_at_the_onset_of_a_pair_until_the_pointer_moves(live_server, browser, system_folders):
    from selenium.webdriver.common.action_chains import ActionChains

    study = make_study(system_folders, participants=1, trials=4)
    consent(browser, f"{live_server.url}/study/{study.slug}/")
    wait_for_trial(browser, 1, 4)
    left = browser.find_element(By.CSS_SELECTOR, '[data-side="left"]')
    ActionChains(browser).move_to_element(left).pause(0.2).move_by_offset(3, 3).pause(0.2).perform()
    hovered = _borders(browser)
    assert hovered[0] != hovered[1]  # hover works once the pointer moves over a side
    ActionChains(browser).click().perform()  # the pointer stays over the left image
    wait_for_trial(browser, 2, 4)
    browser.execute_script("return new Promise(r => setTimeout(r, 300))")
    onset = _borders(browser)
    assert onset[0] == onset[1], f"the next pair appeared with one side marked: {onset}"
    ActionChains(browser).move_by_offset(4, 0).pause(0.2).perform()
    moved = _borders(browser)
    assert moved[0] != moved[1] and moved[0] == hovered[0]  # after a move the hover is back


@pytest.mark.parametrize("width, height", [(390, 844), (360, 640)])
def test_on_a_phone_both_images_are_whole_on_screen_without_scrolling(live_server, browser, system_folders, width, height,
                                                                        tmp_path):
    study = make_study(system_folders, participants=1, trials=2)
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                            {"width": width, "height": height, "deviceScaleFactor": 2, "mobile": True})
    consent(browser, f"{live_server.url}/study/{study.slug}/")
    wait_for_trial(browser, 1, 2)
    browser.save_screenshot(str(tmp_path / f"phone-{width}x{height}.png"))
    boxes = browser.execute_script("""
        const inner = [window.innerWidth, window.innerHeight];
        const rects = [...document.querySelectorAll('.choice img')].map(i => {
            const r = i.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; });
        const hint = document.querySelector('.hint').getBoundingClientRect();
        return {inner, rects, hint: hint.bottom, scroll: document.documentElement.scrollHeight};""")
    inner_w, inner_h = boxes["inner"]
    (l_left, l_top, l_right, l_bottom), (r_left, r_top, r_right, r_bottom) = boxes["rects"]
    for x0, y0, x1, y1 in boxes["rects"]:
        assert x0 >= 0 and y0 >= 0 and x1 <= inner_w + 0.5 and y1 <= inner_h + 0.5, boxes
    assert r_top >= l_bottom  # stacked: the larger layout at this width
    assert (l_right - l_left, l_bottom - l_top) == pytest.approx((r_right - r_left, r_bottom - r_top), abs=0.5)
    assert min(l_bottom - l_top, l_right - l_left) > 0.3 * min(inner_w, inner_h / 2)  # not shrunk to nothing
    assert boxes["hint"] <= inner_h + 0.5 and boxes["scroll"] <= inner_h + 1


def test_a_blocked_inline_script_is_reported_to_the_site(live_server, browser, system_folders, caplog):
    import time

    study = make_study(system_folders, participants=1, trials=2)
    with caplog.at_level("WARNING", logger="colorstudy.views"):
        browser.get(f"{live_server.url}/study/{study.slug}/")
        # What an injected script would be: the policy blocks it, and the browser reports it.
        browser.execute_script("var s = document.createElement('script'); s.textContent = 'window.injected = 1';"
                               "document.body.appendChild(s);")
        assert browser.execute_script("return window.injected === undefined")
        deadline = time.monotonic() + 15
        while "CSP violation" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.2)
    assert "CSP violation: script-src" in caplog.text
