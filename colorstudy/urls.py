from __future__ import annotations

from django.contrib import admin
from django.urls import path, register_converter

from . import views


class TokenConverter:
    """Opaque tokens are URL-safe base64: anything else is a 404 before the database sees it."""

    regex = "[A-Za-z0-9_-]{8,32}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(TokenConverter, "token")

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("csp-report/", views.csp_report, name="csp_report"),
    path("study/<slug:slug>/", views.open_link, name="open_link"),
    path("p/<token:token>/", views.participant_page, name="participant"),
    path("p/<token:token>/consent/", views.consent, name="consent"),
    path("p/<token:token>/vote/", views.vote, name="vote"),
    path("p/<token:token>/plate/", views.plate_answer, name="plate"),
    path("p/<token:token>/continue/", views.continue_after_break, name="continue"),
    path("img/<token:token>.png", views.stimulus_image, name="stimulus"),
    path("staff/", views.studies_page, name="studies"),
    path("staff/study/<slug:slug>/", views.status_page, name="status"),
    path("staff/study/<slug:slug>/participants/", views.review_page, name="review"),
    path("admin/", admin.site.urls),
]

handler400 = "colorstudy.views.bad_request"
handler404 = "colorstudy.views.not_found"
handler500 = "colorstudy.views.server_error"
