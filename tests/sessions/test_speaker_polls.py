"""Speakers linked to an account run their own sessions' polls and Q&A; nobody else's."""

from __future__ import annotations

import datetime as dt

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from app.events.models import Event, RoleName
from app.sessions.models import Poll, PollOption, PollStatus, PollVote, ProgramSession, Question
from tests.factories import (
    csrf_for,
    grant,
    login_as,
    make_account,
    make_event,
    make_registration,
    make_session,
    make_speaker,
)

JSON = {"accept": "application/json"}


async def _post(
    app: FastAPI, client: httpx.AsyncClient, url: str, data: dict[str, str | int]
) -> httpx.Response:
    return await client.post(url, data={**data, "csrf_token": csrf_for(app, client)}, headers=JSON)


async def _live_session(db: AsyncSession, event: Event, **speaker: object) -> ProgramSession:
    return await make_session(
        db,
        event,
        [await make_speaker(db, event, **speaker)],
        starts_at=utcnow() - dt.timedelta(minutes=5),
    )


async def test_linked_speaker_creates_opens_and_closes_a_poll(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event = await make_event(db, slug="speakcon")
    speaker = await make_account(db)
    session = await _live_session(db, event, account_id=speaker.id)
    attendee = await make_account(db)
    registration = await make_registration(db, event, attendee)
    await db.commit()
    base = f"/e/speakcon/sessions/{session.id}"

    await login_as(db, client, speaker)
    page = (await client.get(base)).text
    created = await _post(
        app, client, base + "/polls", {"question": "Which cloud?", "options": "AWS\nGCP"}
    )
    poll = (await db.execute(select(Poll))).scalar_one()
    opened = await _post(app, client, f"{base}/polls/{poll.id}/status", {"status": "open"})
    option = (
        (await db.execute(select(PollOption).where(PollOption.poll_id == poll.id)))
        .scalars()
        .first()
    )
    assert option is not None

    await login_as(db, client, attendee)
    voted = await _post(app, client, f"{base}/polls/{poll.id}/vote", {"option_id": option.id})
    await login_as(db, client, speaker)
    closed = await _post(app, client, f"{base}/polls/{poll.id}/status", {"status": "closed"})
    await login_as(db, client, attendee)
    late = await _post(app, client, f"{base}/polls/{poll.id}/vote", {"option_id": option.id})

    assert "New poll" in page  # the template shows the speaker the controls
    assert (created.status_code, opened.status_code, closed.status_code) == (303, 303, 303)
    assert voted.status_code == 303
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "session.poll_closed"
    await db.refresh(poll)
    assert poll.status == PollStatus.closed
    votes = (await db.execute(select(PollVote))).scalars().all()
    assert [(v.poll_id, v.registration_id) for v in votes] == [(poll.id, registration.id)]
    assert "New poll" not in (await client.get(base)).text


async def test_linked_speaker_moderates_their_sessions_questions(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event = await make_event(db, slug="speakcon")
    speaker = await make_account(db)
    session = await _live_session(db, event, account_id=speaker.id)
    asker = await make_registration(db, event)
    question = Question(session_id=session.id, registration_id=asker.id, body="Roadmap?")
    db.add(question)
    await db.commit()
    await login_as(db, client, speaker)

    url = f"/e/speakcon/sessions/{session.id}/questions/{question.id}/moderate"
    approved = await _post(app, client, url, {"action": "approve"})

    assert approved.status_code == 303
    await db.refresh(question)
    assert question.status == "approved"


async def test_speaker_of_another_session_and_plain_attendee_get_403(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event = await make_event(db, slug="speakcon")
    other_speaker = await make_account(db)
    await _live_session(db, event, account_id=other_speaker.id)
    session = await _live_session(db, event)  # its speaker has no account
    poll = Poll(session_id=session.id, question="Which cloud?", status=PollStatus.draft)
    db.add(poll)
    attendee = await make_account(db)
    await make_registration(db, event, attendee)
    await make_registration(db, event, other_speaker)
    await db.commit()
    base = f"/e/speakcon/sessions/{session.id}"

    for account in (other_speaker, attendee):
        await login_as(db, client, account)
        create = await _post(
            app, client, base + "/polls", {"question": "Hijack?", "options": "Yes\nNo"}
        )
        status = await _post(app, client, f"{base}/polls/{poll.id}/status", {"status": "open"})
        draft = await client.get(f"{base}/polls/{poll.id}/results", headers=JSON)
        page = (await client.get(base)).text

        assert (create.status_code, status.status_code) == (403, 403)
        assert create.json()["error"]["code"] == "session.not_moderator"
        assert draft.status_code == 404
        assert "New poll" not in page
    await db.refresh(poll)
    assert poll.status == PollStatus.draft
    assert len((await db.execute(select(Poll))).scalars().all()) == 1


async def test_organizer_links_a_speaker_by_email_and_unknown_email_is_a_field_error(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event = await make_event(db, slug="speakcon")
    organizer = await make_account(db)
    await grant(db, organizer, event, RoleName.organizer)
    person = await make_account(db, email="grace@example.com")
    speaker = await make_speaker(db, event, name="Grace Hopper")
    await db.commit()
    await login_as(db, client, organizer)
    url = f"/e/speakcon/manage/speakers?edit={speaker.id}"
    token = csrf_for(app, client)
    form = {"name": "Grace Hopper", "title": "", "company": "", "bio": "", "csrf_token": token}

    unknown = await client.post(url, data={**form, "account_email": "nobody@example.com"})
    await db.refresh(speaker)
    unlinked_after_error = speaker.account_id
    linked = await client.post(url, data={**form, "account_email": " Grace@Example.com "})
    await db.refresh(speaker)
    linked_to = speaker.account_id
    edit_page = (await client.get(url)).text
    cleared = await client.post(url, data={**form, "account_email": ""})
    await db.refresh(speaker)

    assert unknown.status_code == 422
    assert "There is no account with this email address." in unknown.text
    assert 'value="nobody@example.com"' in unknown.text
    assert unlinked_after_error is None
    assert linked.status_code == 303
    assert linked_to == person.id
    assert 'value="grace@example.com"' in edit_page
    assert cleared.status_code == 303
    assert speaker.account_id is None
