"""Per-session analytics for organizers: registrants, viewers, watch time and drop-off."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.sessions.models import AgendaEntry, Question, SessionAttendance

BANDS = ((0, 25), (25, 50), (50, 75), (75, 101))


@dataclass(frozen=True, slots=True)
class ModeStats:
    viewers: int
    average_seconds: int
    bands: list[tuple[str, int]]  # "0–25%" -> viewers whose share watched falls there
    per_minute: list[int]  # viewers who watched any second of minute m


def summarize(rows: Sequence[SessionAttendance], live: bool, length: int) -> ModeStats:
    """Pure: counts from the attendance rows of one mode (live minutes follow the session's
    clock; on-demand ones the recording's positions)."""
    watched = [r for r in rows if r.live is live and r.seconds > 0]
    average = round(sum(r.seconds for r in watched) / len(watched)) if watched else 0
    bands = []
    for low, high in BANDS:
        label = f"{low}–{min(high, 100)}%"
        count = sum(1 for r in watched if length and low <= 100 * r.seconds / length < high)
        bands.append((label, count))
    end = max([length] + [b for r in watched for _, b in r.intervals])
    minutes = [0] * ((end + 59) // 60)
    for row in watched:
        seen = {m for a, b in row.intervals for m in range(a // 60, (b - 1) // 60 + 1)}
        for m in seen:
            minutes[m] += 1
    return ModeStats(len(watched), average, bands, minutes)


@dataclass(frozen=True, slots=True)
class SessionStats:
    registrants: int
    live: ModeStats
    on_demand: ModeStats
    questions: int
    answered: int


async def session_stats(db: AsyncSession, session_id: int, length: int) -> SessionStats:
    registrants = (
        await db.execute(
            select(func.count())
            .select_from(AgendaEntry)
            .where(AgendaEntry.session_id == session_id)
        )
    ).scalar_one()
    rows = (
        (
            await db.execute(
                select(SessionAttendance).where(SessionAttendance.session_id == session_id)
            )
        )
        .scalars()
        .all()
    )
    asked, answered = (
        await db.execute(
            select(func.count(), func.count(Question.answered_at)).where(
                Question.session_id == session_id
            )
        )
    ).one()
    return SessionStats(
        registrants=registrants,
        live=summarize(rows, True, length),
        on_demand=summarize(rows, False, length),
        questions=asked,
        answered=answered,
    )
