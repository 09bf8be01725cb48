from __future__ import annotations

from django.apps import AppConfig


class ColorstudyConfig(AppConfig):
    name = "colorstudy"
    verbose_name = "Colorization studies"
    default_auto_field = "django.db.models.BigAutoField"
