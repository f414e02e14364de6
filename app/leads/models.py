"""Activity (append-only log), RulesVersion, Lead and its transitions, notes and calls."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow

EVENT_SCOPE = 0
"""`Lead.scope` of the event-level lead; exhibitor leads use the exhibitor id. A plain integer
(never NULL) so one unique constraint works alike on SQLite and PostgreSQL."""


class Activity(Base):
    """Something an attendee did; never updated. Label, stage, live and percent are derived
    when recorded so that rescoring reads one table."""

    __tablename__ = "activities"
    __table_args__ = (
        UniqueConstraint("event_id", "idempotency_key"),
        Index("ix_activities_event_registration", "event_id", "registration_id", "id"),
        Index("ix_activities_exhibitor_registration", "exhibitor_id", "registration_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(32))
    at: Mapped[dt.datetime]
    value: Mapped[float | None] = mapped_column(Float)
    exhibitor_id: Mapped[int | None] = mapped_column(
        ForeignKey("exhibitors.id", ondelete="SET NULL")
    )
    booth_id: Mapped[int | None] = mapped_column(ForeignKey("booths.id", ondelete="SET NULL"))
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("program_sessions.id", ondelete="SET NULL")
    )
    resource_id: Mapped[int | None] = mapped_column(ForeignKey("resources.id", ondelete="SET NULL"))
    label: Mapped[str] = mapped_column(String(200), default="")
    stage: Mapped[str | None] = mapped_column(String(16))
    live: Mapped[bool] = mapped_column(Boolean, default=False)
    percent: Mapped[float | None] = mapped_column(Float)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    idempotency_key: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class RulesVersion(Base):
    """One saved ruleset of an event, with the progress of the rescore it started."""

    __tablename__ = "rules_versions"
    __table_args__ = (UniqueConstraint("event_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    rules: Mapped[dict[str, Any]] = mapped_column(JSON)
    overrides: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    rescore_total: Mapped[int | None] = mapped_column(Integer)
    rescore_done: Mapped[int] = mapped_column(Integer, default=0)
    rescore_started_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    rescore_finished_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    rescore_error: Mapped[str | None] = mapped_column(String(500))


class Lead(Base):
    """An attendee as a prospect of one exhibitor (or of the event, scope 0)."""

    __tablename__ = "leads"
    __table_args__ = (
        UniqueConstraint("event_id", "registration_id", "scope"),
        Index("ix_leads_event_exhibitor_cell", "event_id", "exhibitor_id", "cell"),
        Index("ix_leads_event_stage", "event_id", "stage"),
        # The rescore's batches: an event's leads by ranges of ids (migration 0002).
        Index("ix_leads_event_id", "event_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("registrations.id", ondelete="CASCADE"), index=True
    )
    exhibitor_id: Mapped[int | None] = mapped_column(
        ForeignKey("exhibitors.id", ondelete="CASCADE")
    )
    scope: Mapped[int] = mapped_column(Integer)
    fit: Mapped[float] = mapped_column(Float, default=0.0)
    grade: Mapped[str] = mapped_column(String(1), default="D")
    engagement: Mapped[float] = mapped_column(Float, default=0.0)
    tier: Mapped[int] = mapped_column(Integer, default=4)
    cell: Mapped[str] = mapped_column(String(2), default="D4")
    buying_stage: Mapped[str | None] = mapped_column(String(16))
    stage: Mapped[str] = mapped_column(String(16), default="inquiry")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    mql_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_activity_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    rules_version: Mapped[int] = mapped_column(Integer, default=0)
    reset_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    contributions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LeadTransition(Base):
    __tablename__ = "lead_transitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    from_stage: Mapped[str] = mapped_column(String(16))
    to_stage: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(40))
    note: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LeadNote(Base):
    __tablename__ = "lead_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Call(Base):
    __tablename__ = "lead_calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    outcome: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    activity_id: Mapped[int | None] = mapped_column(
        ForeignKey("activities.id", ondelete="SET NULL")
    )
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LeadEvent(Base):
    """The transactional outbox of lead changes (`lead.mql_reached`, `lead.stage_changed`,
    `lead.updated`): written with the change, turned into webhook deliveries by the worker."""

    __tablename__ = "lead_events"
    __table_args__ = (Index("ix_lead_events_pending", "dispatched_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(40))
    change: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    dispatched_at: Mapped[dt.datetime | None] = mapped_column(default=None)
