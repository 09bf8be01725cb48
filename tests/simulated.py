"""Simulated participants over real HTTP, for the load benchmark and the crash test.

A participant is a keep-alive connection with its cookies that goes through the real flow:
open link -> consent -> GET trial -> POST vote -> ... -> completion page. With ``in_page`` it
votes as the trial page's script does: each vote asks for JSON and its answer is the next trial
(one request per vote); pages that are not trials are fetched where the answer points. With ``retry_until``
set, every request that fails at the connection level (server killed, restarting) is sent again
until it gets an answer, as a browser's user would reload.
"""
from __future__ import annotations

import http.client
import json
import re
import ssl
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
IMAGE = re.compile(r'<img src="(/img/[^"]+)"')
POSITION = re.compile(r'name="position" value="(\d+)"')


class Session:
    """One participant's browser: a keep-alive connection (HTTPS with ``tls``) and its cookies."""

    def __init__(self, port: int, retry_until: float | None = None, tls: ssl.SSLContext | None = None) -> None:
        self.port = port
        self.retry_until = retry_until
        self.tls = tls
        self.origin = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
        self.conn = self._connect()
        self.cookies: dict[str, str] = {}
        self.latencies: list[float] = []
        self.retries = 0

    def _connect(self) -> http.client.HTTPConnection:
        if self.tls is not None:
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=30, context=self.tls)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def _once(self, method: str, path: str, body: str | None, accept: str) -> tuple[int, str, dict]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()), "Host": f"127.0.0.1:{self.port}",
                   "Accept": accept}
        if body is not None:  # a browser's form post names its origin (Django's CSRF check over HTTPS needs it)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = self.origin
        start = time.perf_counter()
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        raw = response.read()
        # Images are counted, not decoded: only their size matters to the participant's script.
        data = f"<{len(raw)} bytes>" if response.getheader("Content-Type", "").startswith("image/") else raw.decode("utf-8", "replace")
        self.latencies.append(time.perf_counter() - start)
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";")[0]
        return response.status, data, dict(response.getheaders())

    def request(self, method: str, path: str, body: str | None = None, accept: str = "text/html") -> tuple[int, str, dict]:
        while True:
            try:
                status, data, headers = self._once(method, path, body, accept)
                if status in (502, 503) and self.retry_until:  # a proxy would say the server is down
                    raise ConnectionError(status)
                return status, data, headers
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = self._connect()
                if self.retry_until is None or time.monotonic() > self.retry_until:
                    raise
                self.retries += 1
                time.sleep(0.05)


@dataclass
class Outcome:
    acknowledged: list[tuple[str, int, str]] = field(default_factory=list)  # (token, position, side)
    errors: int = 0
    images: int = 0  # stimuli fetched
    latencies: list[float] = field(default_factory=list)
    retries: int = 0


def fetch_images(s: Session, urls: list[str], out: Outcome) -> None:
    """What the browser does with a trial: fetch both images (an error unless both are PNGs)."""
    for url in urls:
        status, _, headers = s.request("GET", url, accept="image/png,image/*")
        if status != 200 or headers.get("Content-Type") != "image/png":
            out.errors += 1
        else:
            out.images += 1


def run_participant(port: int, slug: str, out: Outcome, retry_until: float | None = None, in_page: bool = False,
                    images: bool = False, tls: ssl.SSLContext | None = None) -> None:
    """One whole session; acknowledged votes (302 answers, or 200 with JSON) are appended to ``out``.
    With ``images`` the two images of every trial are fetched as a browser would."""
    s = Session(port, retry_until, tls)
    try:
        status, page, _ = s.request("GET", f"/study/{slug}/")
        if status != 200 or not CSRF.search(page):
            out.errors += 1
            return
        token = CSRF.search(page).group(1)
        status, _, headers = s.request("POST", f"/study/{slug}/", f"csrfmiddlewaretoken={token}&consent=on")
        if status != 302:
            out.errors += 1
            return
        home = urlsplit(headers["Location"]).path
        participant = home.strip("/").split("/")[-1]
        position = None  # known from the last JSON answer; otherwise read from the page
        while True:
            if position is None:
                status, page, _ = s.request("GET", home)
                if status != 200:
                    out.errors += 1
                    return
                match = POSITION.search(page)
                if not match:
                    return  # the completion page
                position = int(match.group(1))
                csrf = CSRF.search(page).group(1)
                if images:
                    fetch_images(s, IMAGE.findall(page), out)
            side = "left" if position % 2 else "right"
            body = f"csrfmiddlewaretoken={csrf}&position={position}&side={side}&response_ms=900"
            if in_page:
                status, answer, _ = s.request("POST", f"{home}vote/", body, accept="application/json")
                ok = status == 200
                trial = json.loads(answer).get("trial") if ok else None
                if trial and images:
                    fetch_images(s, [trial["left"]["src"], trial["right"]["src"]], out)
            else:
                status, _, _ = s.request("POST", f"{home}vote/", body)
                ok, trial = status == 302, None
            if ok:
                out.acknowledged.append((participant, position, side))
            else:
                out.errors += 1
            position = trial["position"] if trial else None
    finally:
        out.latencies.extend(s.latencies)
        out.retries += s.retries
