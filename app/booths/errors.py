"""The booths domain's errors: dotted codes, 4xx statuses, messages for people."""

from __future__ import annotations

from app.errors import Conflict, Forbidden, Invalid, NotFound


class BoothNotFound(NotFound):
    code = "booth.not_found"

    @classmethod
    def default_message(cls) -> str:
        return "There is no booth at this address."


class BoothForbidden(Forbidden):
    code = "booth.forbidden"

    @classmethod
    def default_message(cls) -> str:
        return "Only this exhibitor's staff and the event's organizers can do this."


class NotRegistered(Forbidden):
    code = "booth.register_first"

    @classmethod
    def default_message(cls) -> str:
        return "Register for this event to use the booths."


class SlotTaken(Conflict):
    code = "booth.slot_taken"

    @classmethod
    def default_message(cls) -> str:
        return "That time was just booked by someone else. Please choose another one."


class MeetingNotFound(NotFound):
    code = "booth.meeting_not_found"

    @classmethod
    def default_message(cls) -> str:
        return "We could not find that meeting."


class BoothFieldsInvalid(Invalid):
    """Input that breaks a rule about named fields; `fields` maps name -> message."""

    code = "booth.invalid"

    def __init__(self, fields: dict[str, str], message: str | None = None) -> None:
        self.fields: dict[str, str] = fields
        super().__init__(
            message or "Some fields are not valid.",
            fields=[{"field": name, "message": text} for name, text in fields.items()],
        )
