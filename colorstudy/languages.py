"""The languages a participant's pages are shipped in: one list for the settings, the study
settings and the tests (translations in colorstudy/locale/<code>/LC_MESSAGES/django.po)."""
from __future__ import annotations

LANGUAGES = (("en", "English"), ("de", "Deutsch"), ("es", "Español"), ("zh-hans", "简体中文"))
CODES = tuple(code for code, _ in LANGUAGES)
# What a study may give in its own words per language (study.toml's [texts.<code>]).
STUDY_TEXTS = ("title", "question", "instructions", "consent")
