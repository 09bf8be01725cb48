from __future__ import annotations

from django import forms

from .models import Vote


class ConsentForm(forms.Form):
    consent = forms.BooleanField(required=True)  # its label is the study's (Study.consent_label), in the participant's language
    # Filled in by JavaScript; absent without it.
    viewport_width = forms.IntegerField(min_value=1, max_value=20_000, required=False)
    viewport_height = forms.IntegerField(min_value=1, max_value=20_000, required=False)
    device_pixel_ratio = forms.FloatField(min_value=0.1, max_value=20, required=False)
    screen_width = forms.IntegerField(min_value=1, max_value=50_000, required=False)
    screen_height = forms.IntegerField(min_value=1, max_value=50_000, required=False)
    zoom = forms.FloatField(min_value=0.1, max_value=10, required=False)
    color_gamut = forms.ChoiceField(choices=[("", "")] + [(v, v) for v in ("srgb", "p3", "rec2020")], required=False)
    dynamic_range = forms.ChoiceField(choices=[("", ""), ("standard", "standard"), ("high", "high")], required=False)
    pointer = forms.ChoiceField(choices=[("", "")] + [(v, v) for v in ("fine", "coarse", "none")], required=False)

    # Filled in by conditions.js from the browser; each is optional (no JavaScript, an old browser).
    condition_fields = ("viewport_width", "viewport_height", "device_pixel_ratio", "screen_width", "screen_height",
                        "zoom", "color_gamut", "dynamic_range", "pointer")

    def screen(self):
        """The viewing conditions sent with the consent (:class:`colorstudy.services.Screen`)."""
        from .services import Screen

        data = self.cleaned_data
        return Screen(data["viewport_width"], data["viewport_height"], data["device_pixel_ratio"],
                      data["screen_width"], data["screen_height"], data["zoom"], data["color_gamut"],
                      data["dynamic_range"], data["pointer"])


class VoteForm(forms.Form):
    position = forms.IntegerField(min_value=1, max_value=100_000)
    side = forms.ChoiceField(choices=Vote.Side.choices)
    # Measured in the browser; absent without JavaScript. An hour caps absurd values.
    response_ms = forms.IntegerField(min_value=0, max_value=3_600_000, required=False)
    displayed_ms = forms.IntegerField(min_value=0, max_value=3_600_000, required=False)
    # How the trial was seen, in one field (a form field costs a copy per vote on the hot path):
    # "IMAGE_PX;FOCUS_LOST;RESIZED;VIEWPORT", e.g. "402;0;1;1100x720@1.25" (services.TrialConditions).
    conditions = forms.RegexField(regex=r"^\d{0,5};[01]?;[01]?;(\d{1,5}x\d{1,5}@\d{1,2}(\.\d{1,3})?)?$", max_length=40,
                                  required=False)


class PlateForm(forms.Form):
    position = forms.IntegerField(min_value=1, max_value=100)
    answer = forms.TypedChoiceField(choices=[(str(d), str(d)) for d in range(-1, 10)], coerce=int)
