"""Every participant-facing word in German, Spanish and Simplified Chinese, chosen from the browser
or fixed by the study; the study's own words per language."""
from __future__ import annotations

import html
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.test import Client

from colorstudy.languages import CODES
from colorstudy.models import Participant

from .helpers import make_study, vote

pytestmark = pytest.mark.django_db

LOCALE = Path(__file__).resolve().parents[2] / "colorstudy" / "locale"
SHIPPED = [code for code in CODES if code != "en"]


def catalogue(code: str) -> Path:
    folder = code.split("-")[0] + ("_" + code.split("-")[1].capitalize() if "-" in code else "")
    return LOCALE / folder / "LC_MESSAGES" / "django.po"


def entries(po: Path) -> list[tuple[str, list[str]]]:
    """(msgid, its msgstr forms) of a .po file, the header left out, fuzzy entries with no forms."""
    out, msgid, forms, key, fuzzy = [], None, [], None, False

    def close():
        if msgid:
            out.append((msgid, [] if fuzzy else forms))

    for line in po.read_text(encoding="utf-8").splitlines() + [""]:
        if not line.strip():
            close()
            msgid, forms, key, fuzzy = None, [], None, False
        elif line.startswith("#,") and "fuzzy" in line:
            fuzzy = True
        elif line.startswith(("msgid ", "msgid_plural ")):
            key = "id" if line.startswith("msgid ") else "plural"
            if key == "id":
                msgid = eval(line.split(" ", 1)[1])  # noqa: S307 - a quoted string of our own catalogue
        elif line.startswith("msgstr"):
            key = "str"
            forms.append(eval(line.split(" ", 1)[1]))  # noqa: S307
        elif line.startswith('"'):
            if key == "id":
                msgid += eval(line)  # noqa: S307
            elif key == "str":
                forms[-1] += eval(line)  # noqa: S307
    return out


@pytest.mark.parametrize("code", SHIPPED)
def test_every_message_of_the_catalogue_is_translated(code):
    found = entries(catalogue(code))
    assert len(found) > 60
    assert [msgid for msgid, forms in found if not forms or not all(forms)] == []


@pytest.mark.parametrize("code", SHIPPED)
def test_the_compiled_catalogue_is_the_one_its_source_gives(code, tmp_path):
    if shutil.which("msgfmt") is None:
        pytest.skip("needs GNU gettext's msgfmt (Debian's gettext)")
    po = catalogue(code)
    subprocess.run(["msgfmt", "--check", "-o", str(tmp_path / "django.mo"), str(po)], check=True)
    assert (tmp_path / "django.mo").read_bytes() == po.with_suffix(".mo").read_bytes(), (
        "run: cd colorstudy && ../manage.py compilemessages")


def texts(page: bytes) -> set[str]:
    """The words a participant reads on a page: text between tags, alt texts and labels."""
    body = page.decode()
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    attributes = re.findall(r'(?:alt|aria-label|title|data-format)="([^"]*)"', body)
    visible = re.split(r"<[^>]+>", body)
    return {html.unescape(t).strip() for t in visible + attributes if re.search(r"[A-Za-z]{3}", html.unescape(t))}


def walk(system_folders, language: str) -> dict[str, set[str]]:
    """Every page a participant of a study sees, read in ``language`` (Accept-Language)."""
    study = make_study(system_folders, slug=f"study-{language.lower()}", participants=1, trials=3, break_every=2,
                       colour_vision="record")
    client = Client(headers={"accept-language": language})
    pages = {"consent": client.get(f"/study/{study.slug}/")}
    client.post(f"/study/{study.slug}/?PROLIFIC_PID={language}", {"consent": "on"})
    participant = Participant.objects.get(external_id=language)
    pages["plate"] = client.get(f"/p/{participant.token}/")
    for plate in participant.plates.order_by("position"):
        client.post(f"/p/{participant.token}/plate/", {"position": plate.position, "answer": plate.digit})
    pages["trial"] = client.get(f"/p/{participant.token}/")
    vote(client, participant, 1, "left")
    vote(client, participant, 2, "left")
    pages["break"] = client.get(f"/p/{participant.token}/")
    client.post(f"/p/{participant.token}/continue/")
    pages["refused"] = client.post(f"/p/{participant.token}/vote/", {"position": 1, "side": "right"})
    vote(client, participant, 3, "left")
    pages["complete"] = client.get(f"/p/{participant.token}/")
    pages["not found"] = client.get("/study/no-such-study/")
    pages["full"] = Client(headers={"accept-language": language}).get(f"/study/{study.slug}/")
    for name, page in pages.items():
        assert page.status_code in (200, 404, 409), (name, page.status_code)
    return {name: texts(page.content) for name, page in pages.items()}


@pytest.mark.parametrize("code", SHIPPED)
def test_no_participant_page_leaves_a_string_untranslated(system_folders, code):
    english, translated = walk(system_folders, "en"), walk(system_folders, code)
    assert set(english) == set(translated)
    assert all(len(words) >= 2 for words in english.values()), english  # every page has words to compare
    for page in english:
        # What reads the same in both is untranslated; the site's name for Prolific and key names stay.
        same = {t for t in english[page] & translated[page] if not re.fullmatch(r"[\W\d]*(Prolific|Ctrl|Cmd)?[\W\d]*", t)}
        assert same == set(), (page, same)


def test_the_browser_language_chooses_and_html_lang_says_it(system_folders):
    study = make_study(system_folders, participants=1, trials=2)
    for accept, lang, words in (("de-DE,de;q=0.9,en;q=0.5", "de", "Welches der beiden Bilder"),
                                ("zh-CN,zh;q=0.9", "zh-hans", "这两张图像中哪一张看起来更真实"),
                                ("es-MX", "es", "¿Cuál de estas dos imágenes"),
                                ("fr-FR", "en", "Which of these two images")):
        page = Client(headers={"accept-language": accept}).get(f"/study/{study.slug}/")
        assert f'<html lang="{lang}">' in page.content.decode() and words in page.content.decode(), accept


def test_a_study_that_fixes_its_language_speaks_it_whatever_the_browser(system_folders):
    study = make_study(system_folders, participants=1, trials=2, language="es")
    page = Client(headers={"accept-language": "de"}).get(f"/study/{study.slug}/")
    assert '<html lang="es">' in page.content.decode() and "Empezar" in page.content.decode()


def test_the_studys_own_words_come_per_language_from_its_file(system_folders, tmp_path):
    from django.core.management import call_command

    config = tmp_path / "study.toml"
    config.write_text(f'''slug = "worded"
title = "Which photo is real?"
question = "Which photo is the real one?"
participants = 1
trials = 2
[systems]
muted = "{system_folders['muted']}"
vivid = "{system_folders['vivid']}"
[texts.de]
title = "Welches Foto ist echt?"
question = "Welches Foto ist das echte?"
consent = "Ich mache mit."
''', encoding="utf-8")
    call_command("generate_pairs", "--config", str(config), stdout=__import__("io").StringIO())
    german = Client(headers={"accept-language": "de"}).get("/study/worded/").content.decode()
    english = Client(headers={"accept-language": "en"}).get("/study/worded/").content.decode()
    assert "Welches Foto ist echt?" in german and "Welches Foto ist das echte?" in german and "Ich mache mit." in german
    assert "Which photo is the real one?" in english and "I have read the information above" in english
    # Spanish was not given: the study's own English words, the site's Spanish around them.
    spanish = Client(headers={"accept-language": "es"}).get("/study/worded/").content.decode()
    assert "Which photo is the real one?" in spanish and "Empezar" in spanish


def test_texts_for_a_language_the_site_does_not_ship_are_refused_in_one_line(system_folders, tmp_path):
    from django.core.management import CommandError, call_command

    config = tmp_path / "study.toml"
    config.write_text(f'''slug = "bad"
participants = 1
trials = 2
[systems]
muted = "{system_folders['muted']}"
vivid = "{system_folders['vivid']}"
[texts.fr]
title = "Quelle photo est réelle ?"
''', encoding="utf-8")
    with pytest.raises(CommandError, match="texts: language must be one of en, de, es, zh-hans, got 'fr'"):
        call_command("generate_pairs", "--config", str(config), stdout=__import__("io").StringIO())
