"""Queries on exhibitors and their booths."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.booths.models import Booth, Exhibitor, Tier

TIER_ORDER = tuple(Tier)


@dataclass(frozen=True, slots=True)
class BoothCard:
    """One exhibitor with its booth, as listed in the hall."""

    exhibitor: Exhibitor
    booth: Booth

    def matches(self, q: str) -> bool:
        """True when `q` (case-insensitive) appears in the name, the tagline or a tag."""
        needle = q.casefold()
        haystack = [self.exhibitor.name, self.booth.tagline, *self.booth.tags]
        return any(needle in text.casefold() for text in haystack)

    def tagged(self, tag: str) -> bool:
        wanted = tag.casefold()
        return any(t.casefold() == wanted for t in self.booth.tags)


def tier_rank(tier: str) -> int:
    try:
        return TIER_ORDER.index(Tier(tier))
    except ValueError:
        return len(TIER_ORDER)


async def list_booths(
    db: AsyncSession, event_id: int, *, q: str = "", tag: str = ""
) -> list[BoothCard]:
    """The event's booths by tier (platinum first), then name, narrowed by `q` and `tag`.

    The text filters run in Python: tags are a JSON list, and an event holds at most a few
    hundred booths, so one indexed query plus a scan is portable across SQLite and PostgreSQL
    and matches non-ASCII text the same way on both.
    """
    rows = await db.execute(
        select(Exhibitor, Booth)
        .join(Booth, Booth.exhibitor_id == Exhibitor.id)
        .where(Exhibitor.event_id == event_id)
        .order_by(Exhibitor.name, Exhibitor.id)
    )
    cards = [BoothCard(row.Exhibitor, row.Booth) for row in rows.all()]
    if q.strip():
        cards = [c for c in cards if c.matches(q.strip())]
    if tag.strip():
        cards = [c for c in cards if c.tagged(tag.strip())]
    return sorted(cards, key=lambda c: tier_rank(c.booth.tier))


async def list_tags(db: AsyncSession, event_id: int) -> list[str]:
    """Every tag used by the event's booths, sorted case-insensitively, without duplicates."""
    rows = await db.execute(select(Booth.tags).where(Booth.event_id == event_id))
    seen: dict[str, str] = {}
    for tags in rows.scalars():
        for tag in tags or []:
            seen.setdefault(tag.casefold(), tag)
    return sorted(seen.values(), key=str.casefold)
