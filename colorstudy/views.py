"""Thin views: parse the request, call a service, answer with a page or a redirect."""
from __future__ import annotations

import functools
import json
import logging
from pathlib import Path

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import get_script_prefix, reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from evaluation import csvsafe

from . import hotpath, services
from .deployment import ACCEL_PREFIX
from .forms import ConsentForm, PlateForm, VoteForm
from .models import Participant, Plate, Stimulus, Study
from .ratelimit import rate_limited

logger = logging.getLogger(__name__)


def _session_key(study: Study) -> str:
    return f"participant:{study.slug}"


def _speak(request: HttpRequest, study: Study | None) -> None:
    """Answer in the language the study fixes, if it fixes one (otherwise LocaleMiddleware's choice
    from the browser's Accept-Language stands)."""
    if study is not None and study.settings.language != "auto":
        translation.activate(study.settings.language)
        request.LANGUAGE_CODE = study.settings.language


def _message(request: HttpRequest, status: int, title: str, text: str, study: Study | None = None) -> HttpResponse:
    return render(request, "colorstudy/message.html", {"title": title, "text": text, "study": study}, status=status)


def _form_errors(form) -> str:
    """A form's errors in one line: each field and what is wrong with it."""
    return ", ".join(f"{name}: {' '.join(errs)}" for name, errs in form.errors.items())


def _not_open(request: HttpRequest, study: Study) -> HttpResponse:
    return _message(request, 403, _("This study is not open"), _("Please check the link you were given."), study)


def _full(request: HttpRequest, study: Study) -> HttpResponse:
    return _message(request, 200, _("This study is full"), _("Thank you for your interest: enough people have taken "
                    "part already, so no new places are open."), study)


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "colorstudy/home.html")


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


@csrf_exempt
@require_POST
def csp_report(request: HttpRequest) -> HttpResponse:
    """A browser's report of what the Content-Security-Policy blocked: logged, answered 204."""
    if limited := rate_limited(request, "csp", settings.RATE_LIMIT_VOTE):
        return limited
    try:
        body = json.loads(request.body[:16_384] or b"{}")
        report = body.get("csp-report", body) if isinstance(body, dict) else {}
    except ValueError:
        return HttpResponse(status=400)
    logger.warning("CSP violation: %s blocked %s on %s", str(report.get("violated-directive", "?"))[:100],
                   str(report.get("blocked-uri", "?"))[:200], str(report.get("document-uri", "?"))[:200])
    return HttpResponse(status=204)


@never_cache
@require_http_methods(["GET", "POST"])
def open_link(request: HttpRequest, slug: str) -> HttpResponse:
    """The study's public link: information and consent, then the next free trial list."""
    study = get_object_or_404(Study, slug=slug)
    _speak(request, study)
    if study.status != Study.Status.OPEN:
        return _not_open(request, study)
    # Prolific's parameters stay in the query string, which the consent form posts back to.
    external = services.ExternalIds.from_query(request.GET)
    known = services.find_participant(study, external)
    if known is None and (token := request.session.get(_session_key(study))):
        known = Participant.objects.filter(study=study, token=token).first()
    if known is not None:
        return redirect("participant", token=known.token)
    if request.method == "GET" and services.closed_to_newcomers(study):
        return _full(request, study)
    form = ConsentForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if limited := rate_limited(request, "start", settings.RATE_LIMIT_START):
            return limited
        if form.is_valid():
            if services.quota_reached(study):
                return _full(request, study)
            screen = form.screen()
            if refusal := screen.refusal(study):
                return _message(request, 200, _("Your screen does not suit this study"), refusal, study)
            participant = services.assign_participant(study, external, request.headers.get("User-Agent", ""), screen)
            if participant is None:
                return _full(request, study)
            request.session[_session_key(study)] = participant.token
            return redirect("participant", token=participant.token)
    return render(
        request,
        "colorstudy/consent.html",
        {"study": study, "form": form, "action": request.get_full_path()},
        status=400 if form.errors else 200,
    )


def _visible(participant: Participant | None) -> Participant:
    """The participant, or a 404 where there is none or its study is a draft."""
    if participant is None or participant.study.status == Study.Status.DRAFT:
        raise Http404("no such participant")
    return participant


def _participant(token: str) -> Participant:
    return _visible(hotpath.participant(token))


@never_cache
@require_GET
def participant_page(request: HttpRequest, token: str) -> HttpResponse:
    """Wherever the participant is: consent, the current trial, or the completion page."""
    participant = _participant(token)
    study = participant.study
    _speak(request, study)
    if participant.consented_at is None:
        if study.status != Study.Status.OPEN:
            return _not_open(request, study)
        if services.quota_reached(study):
            return _full(request, study)
        return render(
            request,
            "colorstudy/consent.html",
            {"study": study, "form": ConsentForm(), "action": f"/p/{participant.token}/consent/"},
        )
    if participant.abandoned_at is not None:
        return _message(request, 200, _("This session has ended"),
                        _("It was not finished in time, and its place was offered to someone else. Thank you for "
                          "the answers you gave: they are kept."), study)
    if participant.screened_out_at is not None:
        return _screened_out(request, participant)
    if (plate := services.pending_plate(participant)) is not None:
        return render(request, "colorstudy/plate.html", {"study": study, "participant": participant, "plate": plate,
                                                         "total": participant.plates.count()})
    if feedback := services.practice_feedback(participant, request.GET.get("feedback", "")):
        return render(request, "colorstudy/feedback.html", {"study": study, "participant": participant, **feedback})
    step = services.next_step(participant)
    if step.kind == "complete":
        services.finish(participant)
        return render(request, "colorstudy/complete.html", {"study": study, "participant": participant})
    if step.kind == "break":
        return render(request, "colorstudy/break.html", {"study": study, "participant": participant,
                                                          "done": step.done, "total": step.total})
    return render(request, "colorstudy/trial.html", {"study": study, "participant": participant, "step": step})


@require_POST
def consent(request: HttpRequest, token: str) -> HttpResponse:
    participant = _participant(token)
    _speak(request, participant.study)
    if participant.study.status != Study.Status.OPEN:
        return _not_open(request, participant.study)
    if participant.consented_at is None and services.quota_reached(participant.study):
        return _full(request, participant.study)
    form = ConsentForm(request.POST)
    if not form.is_valid():
        return render(
            request,
            "colorstudy/consent.html",
            {"study": participant.study, "form": form, "action": request.path},
            status=400,
        )
    screen = form.screen()
    if refusal := screen.refusal(participant.study):
        return _message(request, 200, _("Your screen does not suit this study"), refusal, participant.study)
    services.give_consent(participant, request.headers.get("User-Agent", ""), screen)
    request.session[_session_key(participant.study)] = participant.token
    return redirect("participant", token=participant.token)


def _screened_out(request: HttpRequest, participant: Participant) -> HttpResponse:
    return render(request, "colorstudy/screened_out.html",
                  {"study": participant.study, "return_url": participant.study.settings.screened_out_url})


@require_POST
def plate_answer(request: HttpRequest, token: str) -> HttpResponse:
    """Store the answer to the current colour-vision plate, then show what comes next."""
    participant = _participant(token)
    _speak(request, participant.study)
    if limited := rate_limited(request, "vote", settings.RATE_LIMIT_VOTE):
        return limited
    form = PlateForm(request.POST)
    if not form.is_valid():
        return _message(request, 400, _("Your answer could not be read"), _form_errors(form), participant.study)
    if participant.consented_at is None or participant.study.status != Study.Status.OPEN:
        return _message(request, 403, _("This answer was not accepted"), _("The study is not open to you now."),
                        participant.study)
    try:
        services.answer_plate(participant, form.cleaned_data["position"], form.cleaned_data["answer"])
    except services.PlateRefused as refused:
        return _message(request, 409, _("This answer was not accepted"), str(refused), participant.study)
    return redirect("participant", token=participant.token)


# A refused vote in HTTP: malformed, not allowed yet (consent, plates), no such trial, or in conflict with the state.
REFUSAL_STATUS = {"malformed": 400, "no-consent": 403, "not-screened": 403, "no-trial": 404, "not-current": 409, "answered": 409}


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _refusal(request: HttpRequest, status: int, title: str, text: str, study: Study) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"error": f"{title}: {text}"}, status=status)
    return _message(request, status, title, text, study)


@functools.cache
def _stimulus_url(script_prefix: str) -> tuple[str, str]:
    """The stimulus URL around its token, reversed once per script prefix instead of twice in
    every vote's answer (``reverse`` was a twelfth of a vote's CPU under cProfile)."""
    sentinel = "0" * 32
    before, _, after = reverse("stimulus", args=[sentinel]).rpartition(sentinel)
    return before, after


def _src(stimulus: services.ShownStimulus) -> str:
    before, after = _stimulus_url(get_script_prefix())
    return f"{before}{stimulus.token}{after}"


def _shown(stimulus: services.ShownStimulus) -> dict:
    return {"src": _src(stimulus), "width": stimulus.width, "height": stimulus.height}


def _feedback_url(participant: Participant, position: int) -> str | None:
    """Practice trials come first and each is followed by its feedback page; None for the others."""
    if position > participant.study.settings.practice_trials:
        return None
    return f"{reverse('participant', args=[participant.token])}?feedback={position}"


def _after_vote_json(participant: Participant, position: int, step: services.NextStep) -> JsonResponse:
    """The in-page answer to a vote: the next trial itself, or where the browser must go instead.

    One request per vote instead of POST, redirect and GET; the pages that are not a trial
    (practice feedback, the pause, completion) stay server-rendered pages.
    """
    if feedback := _feedback_url(participant, position):
        return JsonResponse({"location": feedback})
    if step.kind != "trial":
        return JsonResponse({"location": reverse("participant", args=[participant.token])})
    trial = step.trial
    return JsonResponse({"trial": {
        "position": trial.position, "number": step.done + 1, "total": step.total, "percent": step.percent,
        "left": _shown(trial.left), "right": _shown(trial.right),
        "upcoming": [_src(step.upcoming.left), _src(step.upcoming.right)] if step.upcoming else [],
    }})


@require_POST
def vote(request: HttpRequest, token: str) -> HttpResponse:
    """Store one vote. A plain form POST is answered with a redirect to the next page; the trial
    page's script asks for JSON and gets the next trial in the same answer."""
    # The participant and its next trials in one round trip; read before the checks, used after them.
    found, upcoming = services.participant_and_next_trials(token)
    participant = _visible(found)
    study = participant.study
    _speak(request, study)
    if limited := rate_limited(request, "vote", settings.RATE_LIMIT_VOTE):
        return limited
    form = VoteForm(request.POST)
    if not form.is_valid():
        return _refusal(request, 400, _("Your answer could not be read"), _form_errors(form), study)
    if study.status != Study.Status.OPEN:
        return _refusal(request, 403, _("This study is closed"), _("Votes are no longer accepted."), study)
    position, in_page = form.cleaned_data["position"], _wants_json(request)
    answer = (participant, position, form.cleaned_data["side"], form.cleaned_data["response_ms"],
              form.cleaned_data["displayed_ms"])
    conditions = services.TrialConditions.parse(form.cleaned_data["conditions"])
    try:
        if in_page:
            return _after_vote_json(participant, position,
                                    services.vote_and_next(*answer, upcoming=upcoming, conditions=conditions))
        services.record_vote(*answer, upcoming=upcoming, conditions=conditions)
    except services.VoteRefused as refused:
        return _refusal(request, REFUSAL_STATUS[refused.reason], _("This answer was not accepted"), refused.message,
                        study)
    if feedback := _feedback_url(participant, position):
        return redirect(feedback)
    return redirect("participant", token=participant.token)


@require_POST
def continue_after_break(request: HttpRequest, token: str) -> HttpResponse:
    participant = _participant(token)
    services.take_break(participant)
    return redirect("participant", token=participant.token)


@require_GET
def stimulus_image(request: HttpRequest, token: str) -> HttpResponse:
    """A stimulus by its opaque token: no name, date or validator that could tell systems apart."""
    stim = Stimulus.objects.only("path", "content_type").filter(token=token).first()
    if stim is None:  # a colour-vision plate: the same pipeline, the same headers
        stim = get_object_or_404(Plate.objects.only("path"), token=token)
        stim.content_type = "image/png"
    if settings.X_ACCEL_REDIRECT:  # nginx sends the file from its internal location (colorstudy.deployment)
        response = HttpResponse(content_type=stim.content_type)
        response["X-Accel-Redirect"] = ACCEL_PREFIX + stim.path  # nginx adds the stimulus headers there
        return response
    try:
        data = (Path(settings.MEDIA_ROOT) / stim.path).read_bytes()
    except OSError:
        logger.error("stimulus file missing: %s", stim.path)
        raise Http404("image missing") from None
    response = HttpResponse(data, content_type=stim.content_type)
    response["Cache-Control"] = "no-store"
    return response


@staff_member_required
def studies_page(request: HttpRequest) -> HttpResponse:
    """Every study, newest first, with its state and counts, linking to its status page."""
    return render(request, "colorstudy/studies.html", {"rows": services.study_list()})


@staff_member_required
def status_page(request: HttpRequest, slug: str) -> HttpResponse:
    study = get_object_or_404(Study, slug=slug)
    status = services.study_status(study)
    total = sum(n for _, n in status.tallies)
    bars = [(name, n, round(100 * n / total, 1) if total else 0.0) for name, n in status.tallies]
    open_url = request.build_absolute_uri(f"/study/{study.slug}/")
    context = {"study": study, "status": status, "bars": bars, "open_url": open_url, "design": design_rows(study),
               "sequential": None, "state": services.state_label(study)}
    if study.settings.sequential:
        from .sequential import status as sequential_status

        context["sequential"] = sequential_status(study)
    return render(request, "colorstudy/status.html", context)


@staff_member_required
def review_page(request: HttpRequest, slug: str) -> HttpResponse:
    """Each participant's checks, for approving or rejecting panel submissions; ?format=csv downloads them."""
    from .export import review_frame

    study = get_object_or_404(Study, slug=slug)
    table = review_frame(study)
    if request.GET.get("format") == "csv":
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{study.slug}-participants.csv"'
        if table is not None:
            csvsafe.to_csv(table, response)
        return response
    rows = [] if table is None else [dict(r, checks=_checks(r)) for r in table.to_dict("records")]
    return render(request, "colorstudy/review.html", {"study": study, "rows": rows})


def design_rows(study: Study) -> list[tuple[str, str]]:
    """The study's design as label and value, for people: systems by name (their folders stay on the server)."""
    rows = [("Systems compared", ", ".join(s.name for s in study.compared_systems())),
            ("Trials per participant", str(study.trials_per_participant)), ("Question", study.question),
            *study.settings.rows()]
    if study.settings.adaptive:
        chosen = study.participants.filter(scheduled_votes__isnull=False)
        latest = chosen.order_by("-scheduled_after_vote").values_list("scheduled_votes", flat=True).first()
        rows.append(("Lists chosen so far (adaptive)", f"{chosen.count()}" + (f", the latest from {latest} votes"
                                                                             if latest is not None else "")))
    return rows


def _checks(row: dict) -> str:
    """The failed checks of one participant in words, or 'ok'."""
    failed = [text for key, text in (("fails_catch", "fails the catch rule"), ("one_sided", "one side beyond chance"),
                                     ("outlier", "answers unlike the others")) if row.get(key)]
    vision = row.get("colour_vision")
    if isinstance(vision, str) and vision not in ("", "normal"):
        failed.append(f"colour plates: {vision}")
    return "; ".join(failed) or "ok"


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _message(request, 400, _("Bad request"), _("The request could not be understood."))


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _message(request, 404, _("Not found"), _("Please check the link you were given."))


def server_error(request: HttpRequest) -> HttpResponse:
    return render(request, "colorstudy/message.html", {"title": _("Something went wrong"), "text": _("Please try again.")},
                  status=500)
