"""Exhibitor (a company in one event), its Booth, the Booth's Resources, meetings and consents."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class Tier(StrEnum):
    platinum = "platinum"
    gold = "gold"
    silver = "silver"
    bronze = "bronze"


class BuyingStage(StrEnum):
    research = "research"
    evaluation = "evaluation"
    decision = "decision"


class ResourceKind(StrEnum):
    document = "document"
    video = "video"
    link = "link"


class Exhibitor(Base):
    __tablename__ = "exhibitors"
    __table_args__ = (UniqueConstraint("event_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    slug: Mapped[str] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(200))
    website: Mapped[str] = mapped_column(String(300), default="")
    # Email domains of competitors: their visitors are graded F for this exhibitor.
    competitor_domains: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Booth(Base):
    __tablename__ = "booths"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    exhibitor_id: Mapped[int] = mapped_column(
        ForeignKey("exhibitors.id", ondelete="CASCADE"), unique=True
    )
    tagline: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    tier: Mapped[str] = mapped_column(String(16), default=Tier.bronze)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    territory: Mapped[list[str]] = mapped_column(JSON, default=list)  # ISO codes; empty = worldwide
    ideal_sizes: Mapped[list[str]] = mapped_column(JSON, default=list)
    logo_path: Mapped[str | None] = mapped_column(String(300))
    banner_path: Mapped[str | None] = mapped_column(String(300))
    video_url: Mapped[str] = mapped_column(String(500), default="")
    accent_color: Mapped[str] = mapped_column(String(7), default="#3b5bdb")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Resource(Base):
    __tablename__ = "resources"

    id: Mapped[int] = mapped_column(primary_key=True)
    booth_id: Mapped[int] = mapped_column(ForeignKey("booths.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    stage: Mapped[str] = mapped_column(String(16), default=BuyingStage.research)
    url: Mapped[str] = mapped_column(String(500), default="")
    file_path: Mapped[str | None] = mapped_column(String(300))
    content_type: Mapped[str | None] = mapped_column(String(100))
    size_bytes: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class MeetingStatus(StrEnum):
    requested = "requested"
    confirmed = "confirmed"
    cancelled = "cancelled"


ACTIVE_MEETING_STATUSES = frozenset({MeetingStatus.requested, MeetingStatus.confirmed})


class MeetingSlot(Base):
    """A time a staff member of an exhibitor offers for one meeting."""

    __tablename__ = "meeting_slots"
    __table_args__ = (Index("ix_meeting_slots_exhibitor_starts", "exhibitor_id", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    exhibitor_id: Mapped[int] = mapped_column(ForeignKey("exhibitors.id", ondelete="CASCADE"))
    staff_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class MeetingRequest(Base):
    """An attendee's booking of a slot. `active_slot_id` equals `slot_id` while the booking
    holds the slot and is NULL once cancelled: its unique constraint makes a double booking
    impossible even when two requests race (NULLs never clash, on SQLite and PostgreSQL)."""

    __tablename__ = "meeting_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    slot_id: Mapped[int] = mapped_column(
        ForeignKey("meeting_slots.id", ondelete="CASCADE"), index=True
    )
    active_slot_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("registrations.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default=MeetingStatus.requested)
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class BoothConsent(Base):
    """An attendee's answer, for one exhibitor, to "share my contact details with them?"."""

    __tablename__ = "booth_consents"
    __table_args__ = (UniqueConstraint("registration_id", "exhibitor_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id", ondelete="CASCADE"))
    exhibitor_id: Mapped[int] = mapped_column(
        ForeignKey("exhibitors.id", ondelete="CASCADE"), index=True
    )
    shared: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class InfoRequest(Base):
    """ "Request more information": the attendee's virtual business card, once a day a booth."""

    __tablename__ = "info_requests"
    __table_args__ = (UniqueConstraint("exhibitor_id", "registration_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    exhibitor_id: Mapped[int] = mapped_column(
        ForeignKey("exhibitors.id", ondelete="CASCADE"), index=True
    )
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("registrations.id", ondelete="CASCADE"), index=True
    )
    day: Mapped[str] = mapped_column(String(10))  # the event's local date, YYYY-MM-DD
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
