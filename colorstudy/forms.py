from __future__ import annotations

from django import forms

from .models import Vote


class ConsentForm(forms.Form):
    consent = forms.BooleanField(required=True, label="I have read the information above and agree to take part.")
    # Filled in by JavaScript; absent without it.
    viewport_width = forms.IntegerField(min_value=1, max_value=20_000, required=False)
    viewport_height = forms.IntegerField(min_value=1, max_value=20_000, required=False)


class VoteForm(forms.Form):
    position = forms.IntegerField(min_value=1, max_value=100_000)
    side = forms.ChoiceField(choices=Vote.Side.choices)
    # Measured in the browser; absent without JavaScript. An hour caps absurd values.
    response_ms = forms.IntegerField(min_value=0, max_value=3_600_000, required=False)
    displayed_ms = forms.IntegerField(min_value=0, max_value=3_600_000, required=False)


class PlateForm(forms.Form):
    position = forms.IntegerField(min_value=1, max_value=100)
    answer = forms.TypedChoiceField(choices=[(str(d), str(d)) for d in range(-1, 10)], coerce=int)
