"""Queries on program sessions and their speakers."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.booths.models import Exhibitor
from app.sessions.models import ProgramSession, Speaker, session_speakers


@dataclass(frozen=True, slots=True)
class AgendaItem:
    """A session as the agenda shows it: with its speakers and its sponsor's name."""

    session: ProgramSession
    speakers: list[Speaker] = field(default_factory=list)
    sponsor_name: str | None = None


async def list_agenda(db: AsyncSession, event_id: int) -> list[AgendaItem]:
    """The event's sessions in start order, each with speakers (by name) and sponsor."""
    rows = await db.execute(
        select(ProgramSession, Exhibitor.name)
        .outerjoin(Exhibitor, Exhibitor.id == ProgramSession.sponsor_exhibitor_id)
        .where(ProgramSession.event_id == event_id)
        .order_by(ProgramSession.starts_at, ProgramSession.track, ProgramSession.id)
    )
    pairs = [(row[0], row[1]) for row in rows.all()]
    speakers = await speakers_of(db, [s.id for s, _ in pairs])
    return [AgendaItem(s, speakers.get(s.id, []), sponsor) for s, sponsor in pairs]


async def speakers_of(db: AsyncSession, session_ids: Sequence[int]) -> dict[int, list[Speaker]]:
    """Speakers of each session id, by name; one query for all of them."""
    if not session_ids:
        return {}
    rows = await db.execute(
        select(session_speakers.c.session_id, Speaker)
        .join(Speaker, Speaker.id == session_speakers.c.speaker_id)
        .where(session_speakers.c.session_id.in_(session_ids))
        .order_by(Speaker.name, Speaker.id)
    )
    result: dict[int, list[Speaker]] = defaultdict(list)
    for row in rows.all():
        result[row.session_id].append(row.Speaker)
    return dict(result)
