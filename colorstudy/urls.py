from __future__ import annotations

from django.contrib import admin
from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("study/<slug:slug>/", views.open_link, name="open_link"),
    path("p/<str:token>/", views.participant_page, name="participant"),
    path("p/<str:token>/consent/", views.consent, name="consent"),
    path("p/<str:token>/vote/", views.vote, name="vote"),
    path("img/<str:token>.png", views.stimulus_image, name="stimulus"),
    path("staff/study/<slug:slug>/", views.status_page, name="status"),
    path("admin/", admin.site.urls),
]

handler400 = "colorstudy.views.bad_request"
handler404 = "colorstudy.views.not_found"
handler500 = "colorstudy.views.server_error"
