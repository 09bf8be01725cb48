"""Blinding audit: crawl whole participant sessions as a browser would and look for anything that
could tell the systems apart."""
from __future__ import annotations

import io
import re

import pytest
from django.test import Client
from PIL import Image

from colorstudy.models import Stimulus, System

from .helpers import make_study

pytestmark = pytest.mark.django_db


def crawl(client: Client, start_url: str) -> list[tuple[str, object]]:
    """Every response of a whole session: pages, images, redirects; votes alternate sides."""
    seen = []
    response = client.get(start_url)
    seen.append((start_url, response))
    response = client.post(start_url, {"consent": "on"})
    seen.append((start_url, response))
    home = response["Location"]
    for _ in range(100):
        page = client.get(home)
        seen.append((home, page))
        html = page.content.decode()
        for url in re.findall(r'(?:src|href)="([^"]+)"', html):
            if url.startswith("/"):
                seen.append((url, client.get(url)))
        match = re.search(r'name="position" value="(\d+)"', html)
        if not match:
            break
        vote = client.post(f"{home}vote/", {"position": match.group(1), "side": "left" if int(match.group(1)) % 2 else "right"})
        seen.append((f"{home}vote/", vote))
    return seen


def test_no_system_name_or_id_reaches_the_participant(system_folders):
    study = make_study(system_folders, slug="blind", participants=2, trials=8, catch_rate=0.2,
                       ground_truth=system_folders["truth"])
    responses = crawl(Client(), f"/study/{study.slug}/?PROLIFIC_PID=audit")
    secrets = {s.name for s in System.objects.filter(study=study)} | {"muted", "vivid", "ground_truth", "foil"}
    folder_parts = {str(p) for p in system_folders.values()}
    for url, response in responses:
        body = b"".join(response.streaming_content) if response.streaming else response.content
        blob = url + "".join(f"{k}: {v}\n" for k, v in response.items()) + body.decode("latin-1")
        for secret in secrets | folder_parts:
            assert secret not in blob, f"{secret!r} leaked in {url}"
        if url.startswith("/img/"):  # static CSS/JS may be cached; stimuli never carry validators
            assert "Last-Modified" not in response and "ETag" not in response


def test_both_images_of_every_trial_have_the_same_format_size_and_no_metadata(system_folders):
    study = make_study(system_folders, slug="blind2", participants=1, trials=8)
    client = Client()
    headers = {}
    for url, response in crawl(client, f"/study/{study.slug}/"):
        if url.startswith("/img/"):
            im = Image.open(io.BytesIO(response.content))
            assert im.format == "PNG" and im.size == (256, 256) and im.mode == "RGB"
            assert set(im.info) <= {"dpi"} or not im.info
            headers.setdefault(tuple(sorted(k for k, _ in response.items())), []).append(url)
            assert response["Cache-Control"] == "no-store"
    assert len(headers) == 1  # the same header set for every image, whichever system made it
    tokens = Stimulus.objects.filter(system__study=study).values_list("token", flat=True)
    assert all(len(t) >= 22 for t in tokens)
