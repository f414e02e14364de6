"""Queries on program sessions, their speakers and attendance."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.booths.models import Exhibitor
from app.db import utcnow
from app.sessions.models import (
    AgendaEntry,
    AgendaFeed,
    ProgramSession,
    SessionAttendance,
    Speaker,
    session_speakers,
)


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


async def get_session(db: AsyncSession, event_id: int, session_id: int) -> ProgramSession | None:
    return (
        await db.execute(
            select(ProgramSession).where(
                ProgramSession.id == session_id, ProgramSession.event_id == event_id
            )
        )
    ).scalar_one_or_none()


async def attendance_for_update(
    db: AsyncSession, session_id: int, registration_id: int, live: bool
) -> SessionAttendance:
    """The attendee's attendance row for that mode, created if missing, locked (on
    PostgreSQL) so that two tabs' heartbeats update it one after the other."""
    insert_ = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    await db.execute(
        insert_(SessionAttendance)
        .values(
            session_id=session_id,
            registration_id=registration_id,
            live=live,
            seconds=0,
            intervals=[],
            tabs={},
            joined_at=utcnow(),
            last_seen_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["session_id", "registration_id", "live"])
    )
    row = (
        await db.execute(
            select(SessionAttendance)
            .where(
                SessionAttendance.session_id == session_id,
                SessionAttendance.registration_id == registration_id,
                SessionAttendance.live.is_(live),
            )
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    return row


async def attendances_of(db: AsyncSession, session_id: int) -> Sequence[SessionAttendance]:
    return (
        (
            await db.execute(
                select(SessionAttendance)
                .where(SessionAttendance.session_id == session_id)
                .order_by(SessionAttendance.id)
            )
        )
        .scalars()
        .all()
    )


async def agenda_ids(db: AsyncSession, registration_id: int) -> frozenset[int]:
    rows = await db.execute(
        select(AgendaEntry.session_id).where(AgendaEntry.registration_id == registration_id)
    )
    return frozenset(rows.scalars().all())


async def add_to_agenda(db: AsyncSession, registration_id: int, session_id: int) -> None:
    insert_ = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    await db.execute(
        insert_(AgendaEntry)
        .values(registration_id=registration_id, session_id=session_id, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["registration_id", "session_id"])
    )


async def remove_from_agenda(db: AsyncSession, registration_id: int, session_id: int) -> None:
    await db.execute(
        delete(AgendaEntry).where(
            AgendaEntry.registration_id == registration_id, AgendaEntry.session_id == session_id
        )
    )


async def my_sessions(db: AsyncSession, registration_id: int) -> Sequence[ProgramSession]:
    return (
        (
            await db.execute(
                select(ProgramSession)
                .join(AgendaEntry, AgendaEntry.session_id == ProgramSession.id)
                .where(AgendaEntry.registration_id == registration_id)
                .order_by(ProgramSession.starts_at, ProgramSession.id)
            )
        )
        .scalars()
        .all()
    )


async def feed_of(db: AsyncSession, registration_id: int) -> AgendaFeed | None:
    return (
        await db.execute(select(AgendaFeed).where(AgendaFeed.registration_id == registration_id))
    ).scalar_one_or_none()


async def feed_by_token(db: AsyncSession, token: str) -> AgendaFeed | None:
    return (
        await db.execute(select(AgendaFeed).where(AgendaFeed.token == token))
    ).scalar_one_or_none()


async def speakers_of_event(db: AsyncSession, event_id: int) -> Sequence[Speaker]:
    return (
        (
            await db.execute(
                select(Speaker)
                .where(Speaker.event_id == event_id)
                .order_by(Speaker.name, Speaker.id)
            )
        )
        .scalars()
        .all()
    )
