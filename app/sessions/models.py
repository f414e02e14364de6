"""ProgramSession (named so it never clashes with the database session) and Speaker."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, ForeignKey, String, Table, Text
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
