"""Simulated participants over real HTTP, for the load benchmark and the crash test.

A participant is a keep-alive connection with its cookies that goes through the real flow:
open link -> consent -> GET trial -> POST vote -> ... -> completion page. With ``in_page`` it
votes as the trial page's script does: each vote asks for JSON and its answer is the next trial
(one request per vote); pages that are not trials are fetched where the answer points. With ``retry_until``
set, every request that fails at the connection level (server killed, restarting) is sent again
until it gets an answer, as a browser's user would reload.
"""
from __future__ import annotations

import json
import re
import socket
import ssl
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
IMAGE = re.compile(r'<img src="(/img/[^"]+)"')
POSITION = re.compile(r'name="position" value="(\d+)"')


class Session:
    """One participant's browser: a keep-alive connection (HTTPS with ``tls``) and its cookies.

    HTTP/1.1 is spoken on the socket itself rather than through http.client, whose header parsing
    (the email package) cost the load generator as much CPU as nginx spends per vote; the load
    benchmark's client shares the machine with the site it measures."""

    def __init__(self, port: int, retry_until: float | None = None, tls: ssl.SSLContext | None = None) -> None:
        self.port = port
        self.retry_until = retry_until
        self.tls = tls
        self.origin = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
        self.conn: socket.socket | None = None  # connected at the first request, inside its retries
        self.cookies: dict[str, str] = {}
        self.latencies: list[float] = []
        self.kinds: list[str] = []  # "vote", "image" or "page", for each latency
        self.retries = 0

    def _connect(self) -> None:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls is not None:
            sock = self.tls.wrap_socket(sock, server_hostname="127.0.0.1")
        self.conn, self.reader = sock, sock.makefile("rb")

    def close(self) -> None:
        if self.conn is not None:
            self.reader.close()
            self.conn.close()
            self.conn = None

    def _body(self, status: int, fields: dict[str, str]) -> bytes:
        if status in (204, 304) or 100 <= status < 200:
            return b""
        if "content-length" in fields:
            length = int(fields["content-length"])
            raw = self.reader.read(length)
            if len(raw) != length:
                raise ConnectionError(f"the answer ended after {len(raw)} of {length} bytes")
            return raw
        if "transfer-encoding" in fields:  # nginx and Django send every answer of the flow with its length
            raise ValueError(f"a {fields['transfer-encoding']} answer, which this client does not read")
        fields["connection"] = "close"  # the answer ends with the connection
        return self.reader.read()

    def _once(self, method: str, path: str, body: str | None, accept: str) -> tuple[int, bytes, dict]:
        if self.conn is None:
            self._connect()
        head = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}", f"Accept: {accept}"]
        if self.cookies:
            head.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        data = (body or "").encode()
        if body is not None:  # a browser's form post names its origin (Django's CSRF check over HTTPS needs it)
            head += ["Content-Type: application/x-www-form-urlencoded", f"Origin: {self.origin}",
                     f"Content-Length: {len(data)}"]
        start = time.perf_counter()
        self.conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + data)
        status_line = self.reader.readline()
        if not status_line.startswith(b"HTTP/1."):
            raise ConnectionError(f"no HTTP answer: {status_line[:40]!r}")
        status = int(status_line.split()[1])
        headers: dict[str, str] = {}
        fields: dict[str, str] = {}  # the same, by lower-case name
        while (line := self.reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            value = value.strip()
            if name.lower() == "set-cookie":
                cookie, _, rest = value.partition("=")
                self.cookies[cookie] = rest.split(";")[0]
            headers[name] = value
            fields[name.lower()] = value
        raw = self._body(status, fields)
        self.latencies.append(time.perf_counter() - start)
        self.kinds.append("image" if path.startswith("/img/") else "vote" if path.endswith("/vote/") else "page")
        if fields.get("connection", "").lower() == "close":
            self.close()
        return status, raw, headers

    def fetch(self, method: str, path: str, body: str | None = None, accept: str = "text/html") -> tuple[int, bytes, dict]:
        """(status, the answer's bytes, headers); with ``retry_until``, failed connections are retried."""
        while True:
            try:
                status, raw, headers = self._once(method, path, body, accept)
                if status in (502, 503) and self.retry_until:  # a proxy would say the server is down
                    raise ConnectionError(status)
                return status, raw, headers
            except OSError:  # socket and TLS errors, and an answer cut short
                self.close()
                if self.retry_until is None or time.monotonic() > self.retry_until:
                    raise
                self.retries += 1
                time.sleep(0.05)

    def request(self, method: str, path: str, body: str | None = None, accept: str = "text/html") -> tuple[int, str, dict]:
        """As :meth:`fetch`, the answer as text. Images are counted, not decoded: only their size
        matters to the participant's script."""
        status, raw, headers = self.fetch(method, path, body, accept)
        if headers.get("Content-Type", "").startswith("image/"):
            return status, f"<{len(raw)} bytes>", headers
        return status, raw.decode("utf-8", "replace"), headers


@dataclass
class Outcome:
    acknowledged: list[tuple[str, int, str]] = field(default_factory=list)  # (token, position, side)
    errors: int = 0
    images: int = 0  # stimuli fetched
    latencies: list[float] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)  # of each latency: "vote", "image" or "page"
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
        s.close()
        out.latencies.extend(s.latencies)
        out.kinds.extend(s.kinds)
        out.retries += s.retries
