"""Errors of events, invitations and registrations (codes `event.*`, `invitation.*`, ...)."""

from __future__ import annotations

from typing import ClassVar

from app.errors import AppError, Conflict, Forbidden, Invalid, NotFound


class EventNotFound(NotFound):
    code = "event.not_found"

    @classmethod
    def default_message(cls) -> str:
        return "There is no event at this address."


class CannotCreateEvents(Forbidden):
    code = "event.create_denied"

    @classmethod
    def default_message(cls) -> str:
        return "Only administrators and event organizers can create events."


class NotOrganizer(Forbidden):
    code = "event.organizer_only"

    @classmethod
    def default_message(cls) -> str:
        return "Only the event's organizers can do this."


class FieldsInvalid(Invalid):
    """Input that breaks a rule about one or more named fields; `fields` maps name -> message."""

    code = "event.invalid"

    def __init__(self, fields: dict[str, str], message: str | None = None) -> None:
        self.fields = fields
        super().__init__(
            message or "Some fields are not valid.",
            fields=[{"field": name, "message": text} for name, text in fields.items()],
        )


class SlugTaken(Conflict):
    code = "event.slug_taken"

    def __init__(self) -> None:
        self.fields = {"slug": "Another event already uses this address. Choose another one."}
        super().__init__(
            "Another event already uses this address.",
            fields=[{"field": "slug", "message": self.fields["slug"]}],
        )


class IllegalStatusChange(FieldsInvalid):
    code = "event.illegal_status"


class RegistrationInvalid(FieldsInvalid):
    code = "registration.invalid"


class InvitationNotFound(NotFound):
    code = "invitation.not_found"

    @classmethod
    def default_message(cls) -> str:
        return "This invitation link is not valid. Check that you copied the whole link."


class InvitationGone(AppError):
    code: ClassVar[str] = "invitation.gone"
    status: ClassVar[int] = 410


class InvitationExpired(InvitationGone):
    code = "invitation.expired"

    @classmethod
    def default_message(cls) -> str:
        return "This invitation has expired. Ask the organizer for a new link."


class InvitationUsed(InvitationGone):
    code = "invitation.used"

    @classmethod
    def default_message(cls) -> str:
        return "This invitation has already been used. Ask the organizer for a new link."


class InvitationWrongAccount(Forbidden):
    code = "invitation.wrong_account"

    @classmethod
    def default_message(cls) -> str:
        return "This invitation was sent to another email address. Log in with that account."


class AlreadyStaff(Conflict):
    code = "invitation.already_staff"

    @classmethod
    def default_message(cls) -> str:
        return "You are already staff of another exhibitor in this event."
