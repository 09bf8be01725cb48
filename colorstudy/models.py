"""The study's data. Constraints make the wrong states impossible, not merely unlikely."""
from __future__ import annotations

import functools
import secrets

from django.db import models
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext, gettext_lazy, gettext_noop

from .studysettings import StudySettings


def new_token() -> str:
    """An opaque URL-safe token with 128 random bits (22 characters)."""
    return secrets.token_urlsafe(16)


def new_completion_code() -> str:
    return secrets.token_hex(5).upper()


class Study(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=200, blank=True)
    instructions = models.TextField(blank=True)
    question = models.CharField(max_length=300, default="Which of these two images looks more realistic?")  # DEFAULT_QUESTION
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    trials_per_participant = models.PositiveIntegerField()
    seed = models.BigIntegerField(default=0)
    catch_rate = models.FloatField(default=0.0)
    # A participant who fails more than this share of catch trials is excluded from the report.
    catch_max_fail_rate = models.FloatField(default=0.5)
    completion_url = models.URLField(blank=True, help_text="Where a finished participant is sent, e.g. Prolific's.")
    config = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "studies"
        constraints = [
            models.CheckConstraint(condition=Q(catch_rate__gte=0) & Q(catch_rate__lt=1), name="study_catch_rate_range"),
            models.CheckConstraint(condition=Q(trials_per_participant__gte=1), name="study_trials_positive"),
        ]

    def __str__(self) -> str:
        return self.slug

    DEFAULT_TITLE = gettext_lazy("Image comparison")
    DEFAULT_QUESTION = gettext_noop("Which of these two images looks more realistic?")
    DEFAULT_CONSENT = gettext_noop("I have read the information above and agree to take part.")

    def _own_words(self, key: str) -> str | None:
        """The study's own text for ``key`` in the active language (study.toml's [texts.<code>]), if given."""
        return self.settings.texts.get(translation.get_language() or "en", {}).get(key)

    @property
    def participant_title(self) -> str:
        """What participants see as the page's title, in their language: never the study's internal
        name (its slug, which studies generated before titles were optional stored as their title)."""
        own = self._own_words("title")
        if own:
            return own
        return self.title if self.title and self.title != self.slug else str(self.DEFAULT_TITLE)

    @property
    def shown_question(self) -> str:
        """The question in the participant's language: the study's own words, or the default's translation."""
        own = self._own_words("question")
        if own:
            return own
        return gettext(self.DEFAULT_QUESTION) if self.question == self.DEFAULT_QUESTION else self.question

    @property
    def shown_instructions(self) -> str:
        return self._own_words("instructions") or self.instructions

    @property
    def consent_label(self) -> str:
        return self._own_words("consent") or gettext(self.DEFAULT_CONSENT)

    @property
    def staff_title(self) -> str:
        return self.title or self.slug

    @functools.cached_property
    def settings(self) -> StudySettings:
        """The design settings stored with the study (colorstudy.studysettings), read back as one object."""
        return StudySettings.from_config(self.config)

    def refresh_from_db(self, *args, **kwargs) -> None:
        super().refresh_from_db(*args, **kwargs)
        self.__dict__.pop("settings", None)

    def store_settings(self, settings: StudySettings) -> None:
        """Keep ``settings`` as the study's (saved by the caller)."""
        self.config = settings.to_config()
        self.__dict__.pop("settings", None)

    def compared_systems(self) -> list[System]:
        """The compared systems in the order they were given (the first is a pair's ``a``)."""
        return list(self.systems.filter(role=System.Role.COMPARED).order_by("pk"))


class System(models.Model):
    """A colorization method compared in a study. Its name never reaches a participant."""

    class Role(models.TextChoices):
        COMPARED = "compared", "Compared"
        GROUND_TRUTH = "ground_truth", "Ground truth (catch trials)"
        FOIL = "foil", "Wrong recoloring (catch trials)"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="systems")
    name = models.CharField(max_length=100)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.COMPARED)
    source = models.CharField(max_length=500, blank=True, help_text="Folder or model the stimuli came from.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["study", "name"], name="system_unique_name")]

    def __str__(self) -> str:
        return f"{self.study.slug}:{self.name}"


class SourceImage(models.Model):
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="images")
    name = models.CharField(max_length=500, help_text="Relative path shared by every system's folder.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["study", "name"], name="image_unique_name")]

    def __str__(self) -> str:
        return self.name


class Stimulus(models.Model):
    """One system's rendering of one source image, stored normalized under an opaque token."""

    system = models.ForeignKey(System, on_delete=models.CASCADE, related_name="stimuli")
    image = models.ForeignKey(SourceImage, on_delete=models.CASCADE, related_name="stimuli")
    token = models.CharField(max_length=32, unique=True, default=new_token)
    path = models.CharField(max_length=300, help_text="File under MEDIA_ROOT, named by the token.")
    content_type = models.CharField(max_length=40)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    metrics = models.JSONField(default=dict, blank=True,
                               help_text="Automatic metrics of the stimulus as shown (colorstudy.stimulusmetrics).")

    class Meta:
        verbose_name_plural = "stimuli"
        constraints = [models.UniqueConstraint(fields=["system", "image"], name="stimulus_unique_system_image")]

    def __str__(self) -> str:
        return f"{self.system.name}/{self.image.name}"


class Participant(models.Model):
    """One pre-generated list of trials; an open link hands it to the next newcomer."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="participants")
    slot = models.PositiveIntegerField(help_text="Index of the trial list within the study.")
    token = models.CharField(max_length=32, unique=True, default=new_token)
    external_id = models.CharField(max_length=100, blank=True, help_text="PROLIFIC_PID or another panel's id.")
    # Adaptive design: the list was chosen at consent from the votes up to this vote id (0: none yet),
    # this many of them; re-running the scheduler on those votes gives the same list.
    scheduled_after_vote = models.BigIntegerField(null=True, blank=True)
    scheduled_votes = models.PositiveIntegerField(null=True, blank=True)
    external_study_id = models.CharField(max_length=100, blank=True)
    external_session_id = models.CharField(max_length=100, blank=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    consented_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    completion_code = models.CharField(max_length=20, default=new_completion_code)
    breaks_taken = models.PositiveIntegerField(default=0, help_text="Pause screens the participant has passed.")
    trial_count = models.PositiveIntegerField(default=0, help_text="Trials in this participant's list.")
    abandoned_at = models.DateTimeField(null=True, blank=True, help_text="When the unanswered trials went to a newcomer.")
    replaces = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The abandoned participant whose remaining trials this one took over.",
    )
    viewport_width = models.PositiveIntegerField(null=True, blank=True, help_text="CSS pixels, at consent.")
    viewport_height = models.PositiveIntegerField(null=True, blank=True)
    device_class = models.CharField(max_length=10, blank=True, help_text="phone, tablet or desktop (from the viewport).")
    # The viewing conditions at consent (colorstudy/static/colorstudy/conditions.js measures them).
    device_pixel_ratio = models.FloatField(null=True, blank=True)
    screen_width = models.PositiveIntegerField(null=True, blank=True, help_text="CSS pixels.")
    screen_height = models.PositiveIntegerField(null=True, blank=True)
    zoom = models.FloatField(null=True, blank=True, help_text="Page zoom as far as the browser tells (1: 100%).")
    color_gamut = models.CharField(max_length=10, blank=True, help_text="srgb, p3 or rec2020 (CSS color-gamut).")
    dynamic_range = models.CharField(max_length=10, blank=True, help_text="standard or high (CSS dynamic-range).")
    pointer = models.CharField(max_length=10, blank=True, help_text="fine, coarse or none (CSS pointer).")
    # Colour-vision plates (colorstudy.plates), in studies that show them.
    screened_at = models.DateTimeField(null=True, blank=True, help_text="When the last plate was answered.")
    plates_shown = models.PositiveSmallIntegerField(default=0)
    plates_right = models.PositiveSmallIntegerField(default=0)
    colour_vision = models.CharField(max_length=40, blank=True,
                                     help_text="normal, the deficiencies suspected (protan+deutan), or demo missed.")
    screened_out_at = models.DateTimeField(null=True, blank=True,
                                           help_text="Turned away by the plates; the trial list went to a newcomer.")

    class Meta:
        # No default ordering: it would join the study into every query on the hot path.
        constraints = [
            models.UniqueConstraint(fields=["study", "slot"], name="participant_unique_slot"),
            models.UniqueConstraint(
                fields=["study", "external_id"], condition=~Q(external_id=""), name="participant_unique_external_id"
            ),
        ]
        indexes = [models.Index(fields=["study", "assigned_at", "slot"], name="participant_free_slots")]

    def __str__(self) -> str:
        return f"{self.study.slug}#{self.slot}"


class Plate(models.Model):
    """One colour-vision plate shown to a participant, generated for them (colorstudy.plates)."""

    class Kind(models.TextChoices):
        DEMO = "demo", "Demonstration (readable by everyone)"
        PROTAN = "protan", "Protan"
        DEUTAN = "deutan", "Deutan"
        TRITAN = "tritan", "Tritan"

    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="plates")
    position = models.PositiveSmallIntegerField(help_text="1-based order.")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    digit = models.PositiveSmallIntegerField(help_text="The figure.")
    token = models.CharField(max_length=32, unique=True, default=new_token)
    path = models.CharField(max_length=300, help_text="File under MEDIA_ROOT, named by the token.")
    answer = models.SmallIntegerField(null=True, blank=True, help_text="The digit answered; -1: no number seen.")
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["participant", "position"], name="plate_unique_position"),
            models.CheckConstraint(condition=Q(digit__lte=9), name="plate_digit_range"),
            models.CheckConstraint(condition=Q(answer__gte=-1) & Q(answer__lte=9), name="plate_answer_range"),
        ]

    def __str__(self) -> str:
        return f"{self.participant} plate {self.position}"


class Trial(models.Model):
    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="trials")
    position = models.PositiveIntegerField(help_text="1-based order in the participant's list.")
    image = models.ForeignKey(SourceImage, on_delete=models.RESTRICT, related_name="+")
    left = models.ForeignKey(Stimulus, on_delete=models.RESTRICT, related_name="+")
    right = models.ForeignKey(Stimulus, on_delete=models.RESTRICT, related_name="+")
    is_catch = models.BooleanField(default=False)
    is_practice = models.BooleanField(default=False, help_text="Shown first, with feedback; never counted.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["participant", "position"], name="trial_unique_position"),
            models.CheckConstraint(condition=~Q(left=models.F("right")), name="trial_two_different_stimuli"),
        ]

    def __str__(self) -> str:
        return f"{self.participant} trial {self.position}"


class Vote(models.Model):
    class Side(models.TextChoices):
        LEFT = "left", "Left"
        RIGHT = "right", "Right"

    # OneToOne: the database itself refuses a second vote on a trial.
    trial = models.OneToOneField(Trial, on_delete=models.PROTECT, related_name="vote")
    side = models.CharField(max_length=5, choices=Side.choices)
    chosen_system = models.ForeignKey(System, on_delete=models.RESTRICT, related_name="+")
    response_ms = models.PositiveIntegerField(null=True, blank=True, help_text="Measured in the browser.")
    displayed_ms = models.PositiveIntegerField(
        null=True, blank=True, help_text="How long the pair was visible (exposure-limited studies), measured in the browser."
    )
    # The viewing conditions during the trial, measured in the browser (null without JavaScript).
    image_px = models.PositiveIntegerField(null=True, blank=True,
                                           help_text="Width each image was shown at, in CSS pixels at 100% zoom.")
    focus_lost = models.BooleanField(null=True, blank=True, help_text="The window lost focus during the trial.")
    resized = models.BooleanField(null=True, blank=True, help_text="The window was resized during the trial.")
    viewport = models.CharField(max_length=30, blank=True,
                                help_text="WIDTHxHEIGHT@RATIO during the trial, where it differs from the consent's.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(side__in=["left", "right"]), name="vote_side_valid")]

    def __str__(self) -> str:
        return f"{self.trial}: {self.side}"


class Look(models.Model):
    """One interim (or the final) analysis of a sequential study, taken when the plan's number of
    participants have finished. The unique constraint makes two finishing participants at the same
    moment record it once."""

    class Decision(models.TextChoices):
        CONTINUE = "continue", "Continue"
        EFFICACY = "efficacy", "Stop: a preference"
        FUTILITY = "futility", "Stop: futility"
        NO_PREFERENCE = "no preference", "Last look: no preference shown"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="looks")
    number = models.PositiveIntegerField(help_text="1 for the first look.")
    participants = models.PositiveIntegerField(help_text="Completed participants analysed: the first ones to finish.")
    z = models.FloatField(null=True)
    share = models.FloatField(null=True, help_text="Mean share of votes for the first compared system.")
    std_error = models.FloatField(null=True)
    decision = models.CharField(max_length=20, choices=Decision.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["study", "number"]
        constraints = [models.UniqueConstraint(fields=["study", "number"], name="look_once_per_number")]

    def __str__(self) -> str:
        return f"{self.study.slug} look {self.number}: {self.decision}"

    @property
    def stops(self) -> bool:
        return self.decision != self.Decision.CONTINUE
