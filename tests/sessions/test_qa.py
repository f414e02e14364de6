"""Q&A and polls: permissions, one vote per attendee, scoring, read-only after the event."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Account
from app.db import utcnow
from app.events.models import Event, EventStatus, Registration, RoleName
from app.leads.models import Activity, Lead
from app.sessions.models import Poll, PollOption, PollStatus, ProgramSession, Question
from tests.factories import (
    csrf_for,
    grant,
    login_as,
    make_account,
    make_event,
    make_exhibitor,
    make_registration,
    make_session,
)

JSON = {"accept": "application/json"}


async def _setup(db: AsyncSession) -> tuple[Event, ProgramSession, int]:
    event = await make_event(db, slug="cloudcon")
    sponsor = await make_exhibitor(db, event, name="Northwind")
    session = await make_session(
        db,
        event,
        title="Pricing deep-dive",
        starts_at=utcnow() - dt.timedelta(minutes=5),
        sponsor_exhibitor_id=sponsor.id,
    )
    await db.commit()
    return event, session, sponsor.id


async def _attendee(db: AsyncSession, event: Event) -> tuple[Account, Registration]:
    account = await make_account(db)
    return account, await make_registration(db, event, account)


async def _post(
    app: FastAPI, client: httpx.AsyncClient, url: str, data: dict[str, str | int]
) -> httpx.Response:
    return await client.post(url, data={**data, "csrf_token": csrf_for(app, client)}, headers=JSON)


async def _poll(db: AsyncSession, session: ProgramSession, status: str) -> tuple[Poll, list[int]]:
    poll = Poll(session_id=session.id, question="Which cloud?", status=status)
    db.add(poll)
    await db.flush()
    options = [PollOption(poll_id=poll.id, label=label, position=i) for i, label in enumerate("AB")]
    db.add_all(options)
    await db.commit()
    return poll, [o.id for o in options]


async def _types(db: AsyncSession, reg: Registration) -> list[str]:
    rows = await db.execute(
        select(Activity.type).where(Activity.registration_id == reg.id).order_by(Activity.id)
    )
    return list(rows.scalars().all())


async def test_named_question_scores_and_anonymous_one_does_not(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event, session, sponsor_id = await _setup(db)
    account, reg = await _attendee(db, event)
    await login_as(db, client, account)
    base = f"/e/cloudcon/sessions/{session.id}"

    named = await _post(app, client, base + "/questions", {"body": "Is it usage based?"})
    anonymous = await _post(
        app, client, base + "/questions", {"body": "What does it cost?", "anonymous": "yes"}
    )

    assert (named.status_code, anonymous.status_code) == (303, 303)
    assert await _types(db, reg) == ["question.ask"]
    lead = (await db.execute(select(Lead).where(Lead.exhibitor_id == sponsor_id))).scalar_one()
    assert lead.engagement == pytest.approx(4, abs=1e-3)
    page = (await client.get(base)).text
    assert "Is it usage based?" in page  # the asker sees their own pending question
    assert "Awaiting moderation" in page


async def test_pending_questions_are_hidden_from_others_until_approved(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event, session, _ = await _setup(db)
    _, asker = await _attendee(db, event)
    db.add(Question(session_id=session.id, registration_id=asker.id, body="Secret plans?"))
    other, _ = await _attendee(db, event)
    await login_as(db, client, other)
    base = f"/e/cloudcon/sessions/{session.id}"

    assert "Secret plans?" not in (await client.get(base)).text
    organizer = await make_account(db)
    await grant(db, organizer, event, RoleName.organizer)
    await login_as(db, client, organizer)
    question = (await db.execute(select(Question))).scalar_one()
    approved = await _post(
        app, client, f"{base}/questions/{question.id}/moderate", {"action": "approve"}
    )
    await login_as(db, client, other)

    assert approved.status_code == 303
    assert "Secret plans?" in (await client.get(base)).text


async def test_attendee_cannot_moderate_but_sponsor_staff_can(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event, session, sponsor_id = await _setup(db)
    _, asker = await _attendee(db, event)
    question = Question(session_id=session.id, registration_id=asker.id, body="Roadmap?")
    db.add(question)
    attendee, _ = await _attendee(db, event)
    staff = await make_account(db)
    await grant(db, staff, event, RoleName.staff, exhibitor_id=sponsor_id)
    await db.commit()
    url = f"/e/cloudcon/sessions/{session.id}/questions/{question.id}/moderate"

    await login_as(db, client, attendee)
    denied = await _post(app, client, url, {"action": "approve"})
    await login_as(db, client, staff)
    answered = await _post(app, client, url, {"action": "answered", "answer": "Q3."})

    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "session.not_moderator"
    assert answered.status_code == 303
    await db.refresh(question)
    assert (question.status, question.answer, question.answered_at is not None) == (
        "approved",
        "Q3.",
        True,
    )


async def test_upvote_counts_once_per_attendee(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event, session, _ = await _setup(db)
    _, asker = await _attendee(db, event)
    question = Question(
        session_id=session.id, registration_id=asker.id, body="Roadmap?", status="approved"
    )
    db.add(question)
    voter, _ = await _attendee(db, event)
    await login_as(db, client, voter)
    url = f"/e/cloudcon/sessions/{session.id}/questions/{question.id}/upvote"

    first = await _post(app, client, url, {})
    second = await _post(app, client, url, {})

    assert first.status_code == 303
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "session.already_voted"
    await db.refresh(question)
    assert question.votes == 1


async def test_one_vote_per_attendee_and_live_results(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event, session, sponsor_id = await _setup(db)
    poll, (a, b) = await _poll(db, session, PollStatus.open)
    account, reg = await _attendee(db, event)
    await login_as(db, client, account)
    base = f"/e/cloudcon/sessions/{session.id}/polls/{poll.id}"

    first = await _post(app, client, base + "/vote", {"option_id": b})
    second = await _post(app, client, base + "/vote", {"option_id": a})
    results = (await client.get(base + "/results")).json()

    assert first.status_code == 303
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "session.already_voted"
    assert results["total"] == 1
    assert [(o["label"], o["votes"], o["percent"]) for o in results["options"]] == [
        ("A", 0, 0),
        ("B", 1, 100),
    ]
    assert await _types(db, reg) == ["poll.answer"]
    lead = (await db.execute(select(Lead).where(Lead.exhibitor_id == sponsor_id))).scalar_one()
    assert lead.engagement == pytest.approx(1, abs=1e-3)
    page = (await client.get(f"/e/cloudcon/sessions/{session.id}")).text
    assert "100% (1)" in page


async def test_only_organizers_open_and_close_polls(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event, session, _ = await _setup(db)
    poll, _ = await _poll(db, session, PollStatus.draft)
    attendee, _ = await _attendee(db, event)
    organizer = await make_account(db)
    await grant(db, organizer, event, RoleName.organizer)
    await db.commit()
    url = f"/e/cloudcon/sessions/{session.id}/polls/{poll.id}/status"

    await login_as(db, client, attendee)
    denied = await _post(app, client, url, {"status": "open"})
    await login_as(db, client, organizer)
    opened = await _post(app, client, url, {"status": "open"})

    assert denied.status_code == 403
    assert opened.status_code == 303
    await db.refresh(poll)
    assert poll.status == "open"


async def test_organizer_creates_a_poll_with_options(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event, session, _ = await _setup(db)
    organizer = await make_account(db)
    await grant(db, organizer, event, RoleName.organizer)
    await login_as(db, client, organizer)
    url = f"/e/cloudcon/sessions/{session.id}/polls"

    too_few = await _post(app, client, url, {"question": "Which?", "options": "Only one"})
    created = await _post(app, client, url, {"question": "Which?", "options": "AWS\nGCP\n\nAzure"})

    assert too_few.status_code == 422
    assert created.status_code == 303
    labels = (await db.execute(select(PollOption.label).order_by(PollOption.position))).scalars()
    assert list(labels) == ["AWS", "GCP", "Azure"]


async def test_after_the_event_ends_qa_is_read_only_and_polls_closed(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event, session, _ = await _setup(db)
    poll, (a, _) = await _poll(db, session, PollStatus.open)
    account, _ = await _attendee(db, event)
    event.status = EventStatus.ended
    await db.commit()
    await login_as(db, client, account)
    base = f"/e/cloudcon/sessions/{session.id}"

    asked = await _post(app, client, base + "/questions", {"body": "Still there?"})
    voted = await _post(app, client, f"{base}/polls/{poll.id}/vote", {"option_id": a})
    page = (await client.get(base)).text

    assert asked.status_code == 409
    assert asked.json()["error"]["code"] == "session.read_only"
    assert voted.status_code == 409
    assert voted.json()["error"]["code"] == "session.poll_closed"
    assert "questions are read-only" in page
    assert 'name="option_id"' not in page
    assert "Closed" in page
