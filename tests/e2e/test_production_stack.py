"""The production stack, run for real (`make production-check`): nginx in front of gunicorn,
PostgreSQL, Redis, HTTPS with a self-signed certificate. Through nginx: the blinding crawl, a
participant voting a whole list in Chromium, kill -9 of gunicorn under load, a load run that
fetches every image."""
from __future__ import annotations

import http.client
import io
import json
import re
import threading
import time

import pytest
from PIL import Image
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from harness.simulated import CSRF, Outcome, Session, run_participant
from harness.stack import missing, start_stack

from .conftest import chromium
from .test_participant_browser import wait_for_trial

pytestmark = [pytest.mark.production, pytest.mark.slow]

TRIALS = 8
SECRETS = ("muted", "vivid", "ground_truth", "/tmp/colorstudy-stack")


def _stack(stimuli: str):
    if reason := missing():
        pytest.skip(reason)
    stack = start_stack(participants=120, trials=TRIALS, stimuli=stimuli)
    yield stack
    stack.stop()


@pytest.fixture(scope="module")
def stack():
    yield from _stack("files")


@pytest.fixture(scope="module")
def accel_stack():
    yield from _stack("accel")


LOG_LINE = re.compile(r'"(?P<method>[A-Z]+) (?P<path>\S*)" \d{3} \d+ \S+ upstream (?P<upstream>\S+) ')


def nginx_log(stack) -> list[tuple[str, str]]:
    """(path, upstream) of every request in nginx's access log; upstream "-" where nginx answered alone."""
    lines = (stack.logs / "nginx-access.log").read_text().splitlines()
    parsed = [LOG_LINE.search(line) for line in lines]
    assert all(parsed), [line for line, m in zip(lines, parsed, strict=True) if not m][:3]
    return [(m["path"], m["upstream"]) for m in parsed]


def crawl(stack) -> list[tuple[str, int, dict, bytes]]:
    """One whole session over HTTPS as a browser fetches it: pages, every src/href, the votes."""
    s = Session(stack.https_port, tls=stack.tls())
    seen = []

    def get(url: str, method: str = "GET", body: str | None = None) -> tuple[int, str, dict]:
        status, raw, headers = s.fetch(method, url, body)
        seen.append((url, status, headers, raw))
        return status, raw.decode("utf-8", "replace"), headers

    _, page, _ = get("/study/prod/?PROLIFIC_PID=audit")
    status, _, headers = get("/study/prod/", "POST", f"csrfmiddlewaretoken={CSRF.search(page).group(1)}&consent=on")
    home = headers["Location"]
    for _ in range(40):
        _, page, _ = get(home)
        for url in re.findall(r'(?:src|href)="(/[^"]+)"', page):
            get(url)
        match = re.search(r'name="position" value="(\d+)"', page)
        if not match:
            break
        side = "left" if int(match.group(1)) % 2 else "right"
        get(f"{home}vote/", "POST", f"csrfmiddlewaretoken={CSRF.search(page).group(1)}&position={match.group(1)}&side={side}")
    return seen


@pytest.mark.parametrize("mode", ["files", "accel"])
def test_through_nginx_no_system_name_reaches_the_participant_and_stimuli_carry_no_validator(mode, request):
    stack = request.getfixturevalue("stack" if mode == "files" else "accel_stack")
    seen = crawl(stack)
    images = [(url, headers, raw) for url, status, headers, raw in seen if url.startswith("/img/")]
    # Both images of every trial, and the next trial's, preloaded.
    assert len({url for url, _, _ in images}) >= 2 * TRIALS and all(status < 400 for _, status, _, _ in seen)
    for url, _, headers, raw in seen:
        blob = url + "".join(f"{k}: {v}\n" for k, v in headers.items()) + raw.decode("latin-1")
        for secret in SECRETS:
            assert secret not in blob, f"{secret!r} leaked in {url}"
    header_sets = set()
    for url, headers, raw in images:
        assert headers["Cache-Control"] == "no-store", url
        assert "ETag" not in headers and "Last-Modified" not in headers, url
        im = Image.open(io.BytesIO(raw))
        assert im.format == "PNG" and im.size == (256, 256) and im.mode == "RGB" and set(im.info) <= {"dpi"}
        header_sets.add(tuple(sorted(k for k in headers if k != "Content-Length")))
    assert len(header_sets) == 1  # the same headers for every stimulus, whichever system made it
    # Who answered the stimuli: nginx alone ("files"), or the application's check first ("accel").
    logged = nginx_log(stack)
    stimuli = [upstream for path, upstream in logged if path.startswith("/img/")]
    assert len(stimuli) >= 2 * TRIALS
    assert all((upstream != "-") == (mode == "accel") for upstream in stimuli)
    # The panel id came in the query string of the first page; no log file keeps it.
    assert any(path == "/study/prod/" for path, _ in logged)
    for log in stack.logs.iterdir():
        assert "audit" not in log.read_text(errors="replace"), log.name


def test_plain_http_only_redirects_to_https_and_https_speaks_tls_1_2_or_later(stack):
    plain = http.client.HTTPConnection("127.0.0.1", stack.http_port, timeout=10)
    plain.request("GET", "/study/prod/")
    response = plain.getresponse()
    assert response.status == 301 and response.getheader("Location").startswith("https://127.0.0.1")
    secure = http.client.HTTPSConnection("127.0.0.1", stack.https_port, timeout=10, context=stack.tls())
    secure.request("GET", "/admin/login/", headers={"Host": f"127.0.0.1:{stack.https_port}"})
    response = secure.getresponse()
    assert response.status == 200 and "max-age=" in response.getheader("Strict-Transport-Security")
    assert secure.sock.version() in {"TLSv1.2", "TLSv1.3"}
    assert "Secure" in response.getheader("Set-Cookie", "") or "csrftoken" not in response.getheader("Set-Cookie", "")


def test_a_participant_votes_a_whole_list_in_chromium_through_nginx(stack):
    with chromium("--ignore-certificate-errors") as browser:
        browser.get(f"https://127.0.0.1:{stack.https_port}/study/prod/?PROLIFIC_PID=chromium-pid")
        browser.find_element(By.NAME, "consent").click()
        browser.find_element(By.CSS_SELECTOR, "button.primary").click()
        chosen = {}
        for number in range(1, TRIALS + 1):
            wait_for_trial(browser, number, TRIALS)
            key, side = (Keys.ARROW_LEFT, "left") if number % 2 else (Keys.ARROW_RIGHT, "right")
            browser.find_element(By.TAG_NAME, "body").send_keys(key)
            chosen[number] = side
        code = WebDriverWait(browser, 10, ignored_exceptions=(WebDriverException,)).until(
            ec.presence_of_element_located((By.ID, "completion-code"))).text
        blocked = [e["message"] for e in browser.get_log("browser") if "Content Security Policy" in e["message"]]
    assert not blocked, blocked
    stored = json.loads(stack.shell(
        "import json; from colorstudy.models import Participant, Vote\n"
        "p = Participant.objects.get(external_id='chromium-pid')\n"
        "print(json.dumps({'code': p.completion_code, 'finished': p.finished_at is not None, 'votes': "
        "{v.trial.position: v.side for v in Vote.objects.filter(trial__participant=p).select_related('trial')}}))"))
    assert stored["code"] == code and stored["finished"]
    assert {int(k): v for k, v in stored["votes"].items()} == chosen


def stored_votes(stack, tokens: set[str]) -> list[tuple[str, int, str]]:
    out = stack.shell("from colorstudy.models import Vote\n"
                      "for v in Vote.objects.filter(trial__participant__study__slug='prod').values_list("
                      "'trial__participant__token', 'trial__position', 'side'): print(*v)")
    votes = [(t, int(p), s) for t, p, s in (line.split() for line in out.splitlines() if line.count(" ") == 2)]
    return [v for v in votes if v[0] in tokens]


def participants(stack, n: int, out: Outcome, **kwargs) -> list[threading.Thread]:
    def one() -> None:
        run_participant(stack.https_port, "prod", out, tls=stack.tls(), **kwargs)

    return [threading.Thread(target=one) for _ in range(n)]


def test_kill_9_of_gunicorn_behind_nginx_loses_no_acknowledged_vote_and_duplicates_none(stack):
    out = Outcome()
    threads = participants(stack, 24, out, retry_until=time.monotonic() + 120, in_page=True, images=True)
    for t in threads:
        t.start()
    for at in (10, 80):  # two crashes in the middle of the load; nginx answers 502 meanwhile
        end = time.monotonic() + 60
        while len(out.acknowledged) < at and time.monotonic() < end:
            time.sleep(0.005)
        stack.kill_gunicorn()
        time.sleep(0.3)
        stack.start_gunicorn()
    for t in threads:
        t.join(timeout=150)
    assert out.errors == 0 and out.retries > 0
    tokens = {t for t, _, _ in out.acknowledged}
    stored = stored_votes(stack, tokens)
    assert len(stored) == len({(t, p) for t, p, _ in stored})  # one vote per trial
    assert set(out.acknowledged) <= set(stored)  # nothing acknowledged was lost
    assert len(stored) == len(tokens) * TRIALS == 24 * TRIALS  # every participant finished


def test_a_load_run_with_images_fetched_stores_every_vote_once_and_counts_in_redis(stack):
    import redis

    before = len(nginx_log(stack))
    out = Outcome()
    threads = participants(stack, 40, out, in_page=True, images=True)
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert out.errors == 0 and len(out.acknowledged) == 40 * TRIALS
    stored = stored_votes(stack, {t for t, _, _ in out.acknowledged})
    assert sorted(stored) == sorted(out.acknowledged)  # each acknowledged vote stored, exactly once
    # The rate-limit counters are shared through Redis, not kept in each worker's memory.
    assert redis.Redis.from_url(stack.env["REDIS_URL"]).keys("*rl:vote:*")
    app_requests = sum(upstream != "-" for _, upstream in nginx_log(stack)[before:])
    assert 40 * TRIALS <= app_requests < len(out.latencies) / 2  # nginx answered the images: Python saw the pages and votes only
