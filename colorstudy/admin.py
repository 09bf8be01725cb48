from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, Q

from .models import Participant, SourceImage, Stimulus, Study, System, Trial, Vote


class SystemInline(admin.TabularInline):
    model = System
    extra = 0
    fields = ("name", "role", "source")


@admin.register(Study)
class StudyAdmin(admin.ModelAdmin):
    list_display = ("slug", "title", "status", "trials_per_participant", "created_at")
    list_filter = ("status",)
    search_fields = ("slug", "title")
    inlines = [SystemInline]
    readonly_fields = ("seed", "trials_per_participant", "config", "created_at")


@admin.register(System)
class SystemAdmin(admin.ModelAdmin):
    list_display = ("name", "study", "role", "source")
    list_filter = ("study", "role")


@admin.register(SourceImage)
class SourceImageAdmin(admin.ModelAdmin):
    list_display = ("name", "study")
    list_filter = ("study",)
    search_fields = ("name",)


@admin.register(Stimulus)
class StimulusAdmin(admin.ModelAdmin):
    list_display = ("token", "system", "image", "width", "height")
    list_filter = ("system__study", "system")
    readonly_fields = ("token", "path", "content_type", "width", "height")


@admin.register(Participant)
class ParticipantAdmin(admin.ModelAdmin):
    list_display = ("slot", "study", "external_id", "progress", "assigned_at", "finished_at", "completion_code")
    list_filter = ("study", ("finished_at", admin.EmptyFieldListFilter))
    search_fields = ("token", "external_id", "completion_code")
    ordering = ("study", "slot")
    readonly_fields = ("token", "slot", "assigned_at", "consented_at", "finished_at", "user_agent", "completion_code")

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(n_trials=Count("trials"), n_votes=Count("trials", filter=Q(trials__vote__isnull=False)))
        )

    @admin.display(description="Progress")
    def progress(self, obj: Participant) -> str:
        return f"{obj.n_votes} / {obj.n_trials}"


@admin.register(Trial)
class TrialAdmin(admin.ModelAdmin):
    list_display = ("participant", "position", "image", "left", "right", "is_catch")
    ordering = ("participant", "position")
    list_filter = ("participant__study", "is_catch")
    raw_id_fields = ("participant", "image", "left", "right")


@admin.register(Vote)
class VoteAdmin(admin.ModelAdmin):
    """Votes are data: read-only, never added, changed or deleted through the admin."""

    list_display = ("trial", "side", "chosen_system", "response_ms", "created_at")
    list_filter = ("trial__participant__study", "chosen_system")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
