"""Q&A and polls of a session: who may ask, vote, moderate and run polls, and what is scored.

Named questions record `question.ask` and poll answers `poll.answer` through the lead engine
(a sponsored session's go to its sponsor's lead too); anonymous questions are never scored.
After the event ends both are read-only: questions stay visible, polls are closed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.deps import Membership
from app.db import utcnow
from app.events import privacy
from app.events.models import Event, EventStatus, Registration
from app.leads import service as leads
from app.sessions import qa_repository as repo
from app.sessions.errors import (
    AlreadyVoted,
    NotModerator,
    PollClosed,
    PollNotFound,
    QuestionNotFound,
    ReadOnly,
)
from app.sessions.models import (
    Poll,
    PollOption,
    PollStatus,
    ProgramSession,
    Question,
    QuestionStatus,
)

if "body" not in privacy.PERSONAL_COLUMNS.setdefault(Question.__tablename__, []):
    privacy.PERSONAL_COLUMNS[Question.__tablename__].append("body")

Moderation = Literal["approve", "hide", "answered"]


def sees_analytics(membership: Membership | None, session: ProgramSession) -> bool:
    """Organizers, and staff of the sponsoring exhibitor."""
    if membership is None:
        return False
    if membership.is_organizer:
        return True
    sponsor = session.sponsor_exhibitor_id
    return sponsor is not None and membership.staffs(sponsor)


async def can_run(db: AsyncSession, membership: Membership | None, session: ProgramSession) -> bool:
    """Who runs the session's polls and moderates its Q&A: organizers, the sponsor's staff,
    and the accounts linked to the session's speakers."""
    if membership is None:
        return False
    if sees_analytics(membership, session):
        return True
    return await repo.is_speaker_of(db, session.id, membership.account.id)


def _writable(event: Event) -> None:
    if event.status == EventStatus.ended:
        raise ReadOnly()


async def _record(
    db: AsyncSession,
    event: Event,
    session: ProgramSession,
    registration: Registration,
    type: str,
    key: str,
    now: dt.datetime,
) -> None:
    await leads.record(
        db,
        event=event,
        registration=registration,
        type=type,
        idempotency_key=key,
        at=now,
        session_id=session.id,
        exhibitor_id=session.sponsor_exhibitor_id,
    )


async def ask(
    db: AsyncSession,
    *,
    event: Event,
    session: ProgramSession,
    registration: Registration,
    body: str,
    anonymous: bool = False,
    now: dt.datetime | None = None,
) -> Question:
    _writable(event)
    now = now or utcnow()
    question = Question(
        session_id=session.id,
        registration_id=registration.id,
        anonymous=anonymous,
        body=body.strip(),
        status=QuestionStatus.pending,
        votes=0,
        created_at=now,
    )
    db.add(question)
    await db.flush()
    if not anonymous:
        key = f"question.ask:{question.id}"
        await _record(db, event, session, registration, "question.ask", key, now)
    return question


async def _question(db: AsyncSession, session: ProgramSession, question_id: int) -> Question:
    question = await repo.get_question(db, session.id, question_id)
    if question is None:
        raise QuestionNotFound()
    return question


async def upvote(
    db: AsyncSession,
    *,
    event: Event,
    session: ProgramSession,
    registration: Registration,
    question_id: int,
) -> None:
    _writable(event)
    question = await _question(db, session, question_id)
    if question.status != QuestionStatus.approved:
        raise QuestionNotFound()
    if not await repo.add_question_vote(db, question.id, registration.id):
        raise AlreadyVoted("You have already upvoted this question.")


async def moderate(
    db: AsyncSession,
    *,
    event: Event,
    session: ProgramSession,
    membership: Membership | None,
    question_id: int,
    action: Moderation,
    answer: str = "",
    now: dt.datetime | None = None,
) -> Question:
    if not await can_run(db, membership, session):
        raise NotModerator()
    _writable(event)
    question = await _question(db, session, question_id)
    if action == "approve":
        question.status = QuestionStatus.approved
    elif action == "hide":
        question.status = QuestionStatus.hidden
    else:
        question.status = QuestionStatus.approved
        question.answered_at = now or utcnow()
        if answer.strip():
            question.answer = answer.strip()
    await db.flush()
    return question


async def create_poll(
    db: AsyncSession,
    *,
    session: ProgramSession,
    membership: Membership | None,
    question: str,
    options: list[str],
) -> Poll:
    if not await can_run(db, membership, session):
        raise NotModerator("Only the organizers, the sponsor's staff and the speakers run polls.")
    poll = Poll(session_id=session.id, question=question.strip(), status=PollStatus.draft)
    db.add(poll)
    await db.flush()
    for position, label in enumerate(options):
        db.add(PollOption(poll_id=poll.id, label=label.strip(), position=position))
    await db.flush()
    return poll


async def set_poll_status(
    db: AsyncSession,
    *,
    event: Event,
    session: ProgramSession,
    membership: Membership | None,
    poll_id: int,
    status: Literal["open", "closed"],
    now: dt.datetime | None = None,
) -> Poll:
    if not await can_run(db, membership, session):
        raise NotModerator("Only the organizers, the sponsor's staff and the speakers run polls.")
    poll = await repo.get_poll(db, session.id, poll_id)
    if poll is None:
        raise PollNotFound()
    if status == PollStatus.open:
        _writable(event)
        poll.status, poll.opened_at, poll.closed_at = PollStatus.open, now or utcnow(), None
    else:
        poll.status, poll.closed_at = PollStatus.closed, now or utcnow()
    await db.flush()
    return poll


def is_open(event: Event, poll: Poll) -> bool:
    return poll.status == PollStatus.open and event.status != EventStatus.ended


async def vote(
    db: AsyncSession,
    *,
    event: Event,
    session: ProgramSession,
    registration: Registration,
    poll_id: int,
    option_id: int,
    now: dt.datetime | None = None,
) -> None:
    now = now or utcnow()
    poll = await repo.get_poll(db, session.id, poll_id)
    if poll is None:
        raise PollNotFound()
    if not is_open(event, poll):
        raise PollClosed()
    if option_id not in {o.id for o in await repo.options_of(db, [poll.id])}:
        raise PollNotFound("That option is not part of this poll.")
    if not await repo.add_poll_vote(db, poll.id, option_id, registration.id):
        raise AlreadyVoted("You have already answered this poll.")
    await _record(
        db,
        event,
        session,
        registration,
        "poll.answer",
        f"poll.answer:{poll.id}:{registration.id}",
        now,
    )


@dataclass(frozen=True, slots=True)
class OptionResult:
    id: int
    label: str
    votes: int
    percent: int


@dataclass(frozen=True, slots=True)
class PollResult:
    poll: Poll
    open: bool
    options: list[OptionResult]
    total: int
    my_option: int | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "poll_id": self.poll.id,
            "question": self.poll.question,
            "status": "open" if self.open else self.poll.status,
            "total": self.total,
            "options": [
                {"id": o.id, "label": o.label, "votes": o.votes, "percent": o.percent}
                for o in self.options
            ],
        }


@dataclass(frozen=True, slots=True)
class QaView:
    questions: list[Question]
    voted: frozenset[int]
    polls: list[PollResult] = field(default_factory=list)


async def results(
    db: AsyncSession, event: Event, polls: list[Poll], registration: Registration | None
) -> list[PollResult]:
    ids = [p.id for p in polls]
    options = await repo.options_of(db, ids)
    counts = await repo.vote_counts(db, ids)
    mine = await repo.my_votes(db, ids, registration.id) if registration else {}
    out = []
    for poll in polls:
        own = [o for o in options if o.poll_id == poll.id]
        total = sum(counts.get(o.id, 0) for o in own)
        rows = [
            OptionResult(
                o.id,
                o.label,
                counts.get(o.id, 0),
                round(100 * counts.get(o.id, 0) / total) if total else 0,
            )
            for o in own
        ]
        out.append(PollResult(poll, is_open(event, poll), rows, total, mine.get(poll.id)))
    return out


async def view(
    db: AsyncSession,
    *,
    event: Event,
    session: ProgramSession,
    registration: Registration | None,
    runner: bool,
) -> QaView:
    """What the session page shows of Q&A and polls to this viewer (drafts: runners only)."""
    reg_id = registration.id if registration else None
    questions = list(
        await repo.questions_of(db, session.id, all_statuses=runner, registration_id=reg_id)
    )
    voted = await repo.voted_questions(db, session.id, reg_id) if reg_id else frozenset()
    polls = [
        p for p in await repo.polls_of(db, session.id) if runner or p.status != PollStatus.draft
    ]
    return QaView(questions, voted, await results(db, event, polls, registration))
