"""Errors of the sessions domain (codes `session.*`)."""

from __future__ import annotations

from app.errors import Conflict, Forbidden, NotFound


class SessionNotFound(NotFound):
    code = "session.not_found"

    @classmethod
    def default_message(cls) -> str:
        return "There is no such session at this event."


class NotRegistered(Forbidden):
    code = "session.not_registered"

    @classmethod
    def default_message(cls) -> str:
        return "Register for the event to watch its sessions."


class NotWatchable(Conflict):
    code = "session.not_watchable"

    @classmethod
    def default_message(cls) -> str:
        return "This session is not playing: it has not started, or has no recording yet."


class QuestionNotFound(NotFound):
    code = "session.question_not_found"

    @classmethod
    def default_message(cls) -> str:
        return "There is no such question in this session."


class PollNotFound(NotFound):
    code = "session.poll_not_found"

    @classmethod
    def default_message(cls) -> str:
        return "There is no such poll in this session."


class AlreadyVoted(Conflict):
    code = "session.already_voted"

    @classmethod
    def default_message(cls) -> str:
        return "You have already voted."


class PollClosed(Conflict):
    code = "session.poll_closed"

    @classmethod
    def default_message(cls) -> str:
        return "This poll is not open."


class ReadOnly(Conflict):
    code = "session.read_only"

    @classmethod
    def default_message(cls) -> str:
        return "The event has ended: Q&A and polls are read-only now."


class NotModerator(Forbidden):
    code = "session.not_moderator"

    @classmethod
    def default_message(cls) -> str:
        return "Only the organizers and the sponsor's staff moderate this session."
