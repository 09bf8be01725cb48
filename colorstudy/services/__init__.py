"""The rules of a running study, which know nothing of HTTP: admission (consent, lists, quotas),
voting (the hot path), status (the researcher's view). The views call them and say the outcome in HTTP."""
from .admission import (
    ExternalIds,
    Screen,
    assign_participant,
    clean_text,
    closed_to_newcomers,
    find_participant,
    give_consent,
    quota_reached,
)
from .screening import PlateRefused, answer_plate, pending_plate
from .status import StudyRow, StudyStatus, catch_excluded, state_label, study_list, study_status
from .voting import (
    REFUSALS,
    NextStep,
    ShownStimulus,
    ShownTrial,
    TrialConditions,
    VoteOutcome,
    VoteRefused,
    break_due,
    current_trial,
    finish,
    next_step,
    next_trials,
    participant_and_next_trials,
    practice_feedback,
    record_vote,
    take_break,
    total_trials,
    trials_of,
    vote_and_next,
)

__all__ = [
    "REFUSALS", "ExternalIds", "NextStep", "PlateRefused", "answer_plate", "pending_plate", "Screen", "ShownStimulus", "ShownTrial", "StudyRow", "StudyStatus", "TrialConditions",
    "VoteOutcome", "VoteRefused", "assign_participant", "break_due", "catch_excluded", "clean_text",
    "closed_to_newcomers", "current_trial", "find_participant", "finish", "give_consent", "next_step", "next_trials",
    "participant_and_next_trials", "practice_feedback", "quota_reached", "record_vote", "state_label", "study_list",
    "study_status", "take_break", "total_trials", "trials_of", "vote_and_next",
]
