"""Exhibitor (a company in one event), its Booth and the Booth's Resources."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
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
