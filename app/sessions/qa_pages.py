"""Q&A and poll actions of the session page (plain form posts that redirect back), the poll
results as JSON for live refresh, and the session's analytics page."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.csrf import verify_csrf
from app.db import DbSession, RowId
from app.errors import Invalid, Unauthenticated
from app.events.lobby import Visit, VisitDep
from app.events.models import Registration
from app.sessions import analytics, attendance, qa
from app.sessions import qa_repository as repo
from app.sessions.errors import NotModerator, NotRegistered, PollNotFound
from app.sessions.session_pages import load_registration, load_session
from app.templating import templates

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)

BASE = "/e/{slug}/sessions/{session_id}"


def _back(visit: Visit, session_id: int, anchor: str) -> RedirectResponse:
    return RedirectResponse(f"/e/{visit.event.slug}/sessions/{session_id}#{anchor}", 303)


async def _attendee(db: AsyncSession, visit: Visit) -> Registration:
    if visit.account is None:
        raise Unauthenticated()
    registration = await load_registration(db, visit)
    if registration is None:
        raise NotRegistered()
    return registration


@router.post(BASE + "/questions")
async def ask(
    visit: VisitDep,
    db: DbSession,
    session_id: int,
    body: Annotated[str, Form(min_length=3, max_length=1000)],
    anonymous: Annotated[bool, Form()] = False,
) -> RedirectResponse:
    session = await load_session(db, visit, session_id)
    registration = await _attendee(db, visit)
    if not body.strip():
        raise Invalid("Write a question first.")
    await qa.ask(
        db,
        event=visit.event,
        session=session,
        registration=registration,
        body=body,
        anonymous=anonymous,
    )
    return _back(visit, session_id, "qa")


@router.post(BASE + "/questions/{question_id}/upvote")
async def upvote(
    visit: VisitDep, db: DbSession, session_id: int, question_id: RowId
) -> RedirectResponse:
    session = await load_session(db, visit, session_id)
    registration = await _attendee(db, visit)
    await qa.upvote(
        db,
        event=visit.event,
        session=session,
        registration=registration,
        question_id=question_id,
    )
    return _back(visit, session_id, "qa")


@router.post(BASE + "/questions/{question_id}/moderate")
async def moderate(
    visit: VisitDep,
    db: DbSession,
    session_id: int,
    question_id: RowId,
    action: Annotated[Literal["approve", "hide", "answered"], Form()],
    answer: Annotated[str, Form(max_length=4000)] = "",
) -> RedirectResponse:
    session = await load_session(db, visit, session_id)
    if visit.account is None:
        raise Unauthenticated()
    await qa.moderate(
        db,
        event=visit.event,
        session=session,
        membership=visit.membership,
        question_id=question_id,
        action=action,
        answer=answer,
    )
    return _back(visit, session_id, "qa")


@router.post(BASE + "/polls")
async def create_poll(
    visit: VisitDep,
    db: DbSession,
    session_id: int,
    question: Annotated[str, Form(min_length=3, max_length=300)],
    options: Annotated[str, Form(max_length=4000)],
) -> RedirectResponse:
    """`options`: one per line, 2 to 10 of them."""
    session = await load_session(db, visit, session_id)
    if visit.account is None:
        raise Unauthenticated()
    labels = [line.strip()[:200] for line in options.splitlines() if line.strip()]
    if not 2 <= len(labels) <= 10:
        raise Invalid("A poll needs 2 to 10 options, one per line.", field="options")
    await qa.create_poll(
        db, session=session, membership=visit.membership, question=question, options=labels
    )
    return _back(visit, session_id, "polls")


@router.post(BASE + "/polls/{poll_id}/status")
async def poll_status(
    visit: VisitDep,
    db: DbSession,
    session_id: int,
    poll_id: RowId,
    status: Annotated[Literal["open", "closed"], Form()],
) -> RedirectResponse:
    session = await load_session(db, visit, session_id)
    if visit.account is None:
        raise Unauthenticated()
    await qa.set_poll_status(
        db,
        event=visit.event,
        session=session,
        membership=visit.membership,
        poll_id=poll_id,
        status=status,
    )
    return _back(visit, session_id, "polls")


@router.post(BASE + "/polls/{poll_id}/vote")
async def vote(
    visit: VisitDep,
    db: DbSession,
    session_id: int,
    poll_id: RowId,
    option_id: Annotated[int, Form()],
) -> RedirectResponse:
    session = await load_session(db, visit, session_id)
    registration = await _attendee(db, visit)
    await qa.vote(
        db,
        event=visit.event,
        session=session,
        registration=registration,
        poll_id=poll_id,
        option_id=option_id,
    )
    return _back(visit, session_id, "polls")


@router.get(BASE + "/polls/{poll_id}/results")
async def poll_results(
    visit: VisitDep, db: DbSession, session_id: int, poll_id: RowId
) -> JSONResponse:
    """Live results: votes per option (drafts are visible to the organizers only)."""
    session = await load_session(db, visit, session_id)
    poll = await repo.get_poll(db, session.id, poll_id)
    if poll is None or (
        poll.status == "draft" and not await qa.can_run(db, visit.membership, session)
    ):
        raise PollNotFound()
    (result,) = await qa.results(db, visit.event, [poll], None)
    return JSONResponse(result.to_json())


@router.get(BASE + "/analytics", response_class=HTMLResponse)
async def analytics_page(
    request: Request, visit: VisitDep, db: DbSession, session_id: int
) -> HTMLResponse:
    """Organizers' (and the sponsor's staff's) view of one session's audience."""
    session = await load_session(db, visit, session_id)
    if visit.account is None:
        raise Unauthenticated()
    if not qa.sees_analytics(visit.membership, session):
        raise NotModerator("Only the organizers and the sponsor's staff see these numbers.")
    stats = await analytics.session_stats(db, session.id, attendance.length_of(session))
    polls = await qa.results(db, visit.event, list(await repo.polls_of(db, session.id)), None)
    return templates.TemplateResponse(
        request,
        "sessions/analytics.html",
        {**visit.context("agenda"), "s": session, "stats": stats, "polls": polls},
    )
