"""ProgramSession (named so it never clashes with the database session), speakers,
attendance, Q&A and polls."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow

session_speakers = Table(
    "session_speakers",
    Base.metadata,
    Column("session_id", ForeignKey("program_sessions.id", ondelete="CASCADE"), primary_key=True),
    Column("speaker_id", ForeignKey("speakers.id", ondelete="CASCADE"), primary_key=True),
)


class Speaker(Base):
    __tablename__ = "speakers"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(200), default="")
    company: Mapped[str] = mapped_column(String(200), default="")
    bio: Mapped[str] = mapped_column(Text, default="")
    # The speaker's own account, if linked: it may then run polls and moderate Q&A in the
    # speaker's sessions.
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), index=True, default=None
    )


class ProgramSession(Base):
    __tablename__ = "program_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    abstract: Mapped[str] = mapped_column(Text, default="")
    track: Mapped[str] = mapped_column(String(80), default="")
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime]
    stream_url: Mapped[str] = mapped_column(String(500), default="")
    recording_url: Mapped[str] = mapped_column(String(500), default="")
    sponsor_exhibitor_id: Mapped[int | None] = mapped_column(
        ForeignKey("exhibitors.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SessionAttendance(Base):
    """One attendee's watching of one session in one mode (live or on demand).

    `intervals` is the merged union of watched seconds as [start, end) pairs (seconds from
    the session's start when live, player positions on demand), so overlapping tabs and
    reconnects count each second once; `tabs` keeps each open tab's last heartbeat.
    """

    __tablename__ = "session_attendances"
    __table_args__ = (UniqueConstraint("session_id", "registration_id", "live"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("program_sessions.id", ondelete="CASCADE"), index=True
    )
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("registrations.id", ondelete="CASCADE"), index=True
    )
    live: Mapped[bool] = mapped_column(Boolean)
    seconds: Mapped[int] = mapped_column(Integer, default=0)
    intervals: Mapped[list[list[int]]] = mapped_column(JSON, default=list)
    tabs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    joined_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class QuestionStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    hidden = "hidden"


class Question(Base):
    """A question to a session's speakers; others see it once a moderator approves it.

    The asker is kept even when `anonymous` (for moderation and data export), but an
    anonymous question is never shown with a name and never scored.
    """

    __tablename__ = "session_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("program_sessions.id", ondelete="CASCADE"), index=True
    )
    registration_id: Mapped[int | None] = mapped_column(
        ForeignKey("registrations.id", ondelete="SET NULL"), index=True
    )
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=QuestionStatus.pending)
    votes: Mapped[int] = mapped_column(Integer, default=0)
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class QuestionVote(Base):
    __tablename__ = "session_question_votes"
    __table_args__ = (UniqueConstraint("question_id", "registration_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("session_questions.id", ondelete="CASCADE"))
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("registrations.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PollStatus(StrEnum):
    draft = "draft"
    open = "open"
    closed = "closed"


class Poll(Base):
    """A poll in a session: draft → open → closed (and reopened if the organizer wishes)."""

    __tablename__ = "session_polls"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("program_sessions.id", ondelete="CASCADE"), index=True
    )
    question: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16), default=PollStatus.draft)
    opened_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    closed_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PollOption(Base):
    __tablename__ = "session_poll_options"

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(
        ForeignKey("session_polls.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)


class PollVote(Base):
    """One attendee's answer to one poll; the unique constraint is the one-vote rule."""

    __tablename__ = "session_poll_votes"
    __table_args__ = (UniqueConstraint("poll_id", "registration_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("session_polls.id", ondelete="CASCADE"))
    option_id: Mapped[int] = mapped_column(
        ForeignKey("session_poll_options.id", ondelete="CASCADE"), index=True
    )
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("registrations.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AgendaEntry(Base):
    """A session in an attendee's personal agenda ("my agenda")."""

    __tablename__ = "my_agenda"
    __table_args__ = (UniqueConstraint("registration_id", "session_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("registrations.id", ondelete="CASCADE"), index=True
    )
    session_id: Mapped[int] = mapped_column(
        ForeignKey("program_sessions.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AgendaFeed(Base):
    """The secret that lets a calendar app subscribe to one attendee's agenda without a login."""

    __tablename__ = "agenda_feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("registrations.id", ondelete="CASCADE"), unique=True
    )
    token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
