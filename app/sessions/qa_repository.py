"""Queries on session questions, polls and votes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.sessions.models import (
    Poll,
    PollOption,
    PollVote,
    Question,
    QuestionStatus,
    QuestionVote,
    Speaker,
    session_speakers,
)


async def _insert_once(db: AsyncSession, model: Any, unique: list[str], **values: Any) -> bool:
    """INSERT … ON CONFLICT DO NOTHING: True when the row is new (a duplicate never aborts
    the caller's transaction, on SQLite or PostgreSQL)."""
    insert_ = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert_(model).values(**values).on_conflict_do_nothing(index_elements=unique)
    ).returning(model.id)
    return (await db.execute(statement)).scalar_one_or_none() is not None


async def is_speaker_of(db: AsyncSession, session_id: int, account_id: int) -> bool:
    """Whether the account is linked to one of the session's speakers."""
    row = await db.execute(
        select(Speaker.id)
        .join(session_speakers, session_speakers.c.speaker_id == Speaker.id)
        .where(session_speakers.c.session_id == session_id, Speaker.account_id == account_id)
        .limit(1)
    )
    return row.scalar_one_or_none() is not None


async def get_question(db: AsyncSession, session_id: int, question_id: int) -> Question | None:
    return (
        await db.execute(
            select(Question).where(Question.id == question_id, Question.session_id == session_id)
        )
    ).scalar_one_or_none()


async def questions_of(
    db: AsyncSession, session_id: int, *, all_statuses: bool, registration_id: int | None
) -> Sequence[Question]:
    """Approved questions (most votes first), plus the viewer's own pending ones; a
    moderator sees every question."""
    query = select(Question).where(Question.session_id == session_id)
    if not all_statuses:
        visible = Question.status == QuestionStatus.approved
        if registration_id is not None:
            visible = visible | (
                (Question.registration_id == registration_id)
                & (Question.status == QuestionStatus.pending)
            )
        query = query.where(visible)
    query = query.order_by(Question.votes.desc(), Question.created_at, Question.id)
    return (await db.execute(query)).scalars().all()


async def add_question_vote(db: AsyncSession, question_id: int, registration_id: int) -> bool:
    """One upvote per attendee; the question's count moves only when the vote is new."""
    if not await _insert_once(
        db,
        QuestionVote,
        ["question_id", "registration_id"],
        question_id=question_id,
        registration_id=registration_id,
    ):
        return False
    await db.execute(
        update(Question).where(Question.id == question_id).values(votes=Question.votes + 1)
    )
    return True


async def voted_questions(
    db: AsyncSession, session_id: int, registration_id: int
) -> frozenset[int]:
    rows = await db.execute(
        select(QuestionVote.question_id)
        .join(Question, Question.id == QuestionVote.question_id)
        .where(Question.session_id == session_id, QuestionVote.registration_id == registration_id)
    )
    return frozenset(rows.scalars().all())


async def get_poll(db: AsyncSession, session_id: int, poll_id: int) -> Poll | None:
    return (
        await db.execute(select(Poll).where(Poll.id == poll_id, Poll.session_id == session_id))
    ).scalar_one_or_none()


async def polls_of(db: AsyncSession, session_id: int) -> Sequence[Poll]:
    return (
        (await db.execute(select(Poll).where(Poll.session_id == session_id).order_by(Poll.id)))
        .scalars()
        .all()
    )


async def options_of(db: AsyncSession, poll_ids: Sequence[int]) -> Sequence[PollOption]:
    if not poll_ids:
        return []
    return (
        (
            await db.execute(
                select(PollOption)
                .where(PollOption.poll_id.in_(poll_ids))
                .order_by(PollOption.poll_id, PollOption.position, PollOption.id)
            )
        )
        .scalars()
        .all()
    )


async def vote_counts(db: AsyncSession, poll_ids: Sequence[int]) -> dict[int, int]:
    """Votes per option id."""
    if not poll_ids:
        return {}
    rows = await db.execute(
        select(PollVote.option_id, func.count())
        .where(PollVote.poll_id.in_(poll_ids))
        .group_by(PollVote.option_id)
    )
    return {option_id: count for option_id, count in rows.all()}


async def my_votes(
    db: AsyncSession, poll_ids: Sequence[int], registration_id: int
) -> dict[int, int]:
    """Poll id -> the option the attendee chose."""
    if not poll_ids:
        return {}
    rows = await db.execute(
        select(PollVote.poll_id, PollVote.option_id).where(
            PollVote.poll_id.in_(poll_ids), PollVote.registration_id == registration_id
        )
    )
    return {poll_id: option_id for poll_id, option_id in rows.all()}


async def add_poll_vote(
    db: AsyncSession, poll_id: int, option_id: int, registration_id: int
) -> bool:
    return await _insert_once(
        db,
        PollVote,
        ["poll_id", "registration_id"],
        poll_id=poll_id,
        option_id=option_id,
        registration_id=registration_id,
    )
