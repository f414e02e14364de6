"""Errors of the lead engine, each with a dotted code."""

from __future__ import annotations

from app.errors import Conflict, Forbidden, Invalid, NotFound


class InvalidActivity(Invalid):
    code = "leads.invalid_activity"


class InvalidRules(Invalid):
    code = "leads.invalid_rules"


class ReasonRequired(Invalid):
    code = "leads.reason_required"


class IllegalTransition(Conflict):
    code = "leads.illegal_transition"


class MappingExists(Conflict):
    code = "leads.mapping_exists"


class LeadNotFound(NotFound):
    code = "leads.not_found"

    @classmethod
    def default_message(cls) -> str:
        return "There is no such lead."


class LeadForbidden(Forbidden):
    code = "leads.forbidden"

    @classmethod
    def default_message(cls) -> str:
        return "Only the event's organizers and the exhibitor's staff can see this lead."


class NotAnEmail(Invalid):
    """A batch item's email that no attendee has and that is no email address either: the
    answer a schema check would give (the check runs only for emails without an attendee)."""

    code = "app.validation"


class UnknownAttendee(Invalid):
    code = "leads.unknown_attendee"

    @classmethod
    def default_message(cls) -> str:
        return "No attendee of this event has that email."
