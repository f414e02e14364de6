"""Chat errors (`chat.*` codes)."""

from __future__ import annotations

from app.errors import AppError


class ChatDenied(AppError):
    code = "chat.denied"
    status = 403

    @classmethod
    def default_message(cls) -> str:
        return "You cannot read this conversation."


class RoomNotFound(AppError):
    code = "chat.not_found"
    status = 404

    @classmethod
    def default_message(cls) -> str:
        return "There is no such conversation."


class MessageNotFound(AppError):
    code = "chat.message_not_found"
    status = 404

    @classmethod
    def default_message(cls) -> str:
        return "That message does not exist."


class Muted(AppError):
    code = "chat.muted"
    status = 403

    @classmethod
    def default_message(cls) -> str:
        return "A moderator has muted you in this conversation."


class NotModerator(AppError):
    code = "chat.not_moderator"
    status = 403

    @classmethod
    def default_message(cls) -> str:
        return "Only the booth's staff and the organizers can moderate this conversation."


class MessageInvalid(AppError):
    code = "chat.invalid"
    status = 422

    @classmethod
    def default_message(cls) -> str:
        return "Messages hold 1 to 4,000 characters."


class MessageDeleted(AppError):
    code = "chat.deleted"
    status = 409

    @classmethod
    def default_message(cls) -> str:
        return "That message was deleted."
