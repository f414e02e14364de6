"""The organizers' session form: create and edit, field errors, speakers by name."""

from __future__ import annotations

import datetime as dt

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.events.models import Event, RoleName
from app.sessions.models import ProgramSession, Speaker
from tests.factories import csrf_for, grant, login_as, make_account, make_event, make_exhibitor

FORM = {
    "title": "Keynote",
    "abstract": "",
    "track": "Main",
    "starts_at": "2030-05-14T09:00",
    "ends_at": "2030-05-14T10:00",
    "speakers": "Grace Hopper; Alan Turing",
    "stream_url": "https://stream.example.com/1",
    "recording_url": "",
    "sponsor": "northwind",
}


async def _organizer(client: httpx.AsyncClient, db: AsyncSession) -> Event:
    event = await make_event(db, slug="tokyo", timezone="Asia/Tokyo")
    await make_exhibitor(db, event, slug="northwind", name="Northwind")
    organizer = await make_account(db)
    await grant(db, organizer, event, RoleName.organizer)
    await login_as(db, client, organizer)
    return event


async def test_organizer_creates_then_edits_a_session(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await _organizer(client, db)
    token = {"csrf_token": csrf_for(app, client)}

    created = await client.post("/e/tokyo/manage/sessions/new", data={**FORM, **token})
    session = (await db.execute(select(ProgramSession))).scalar_one()
    form = (await client.get(f"/e/tokyo/manage/sessions/{session.id}/edit")).text
    edited = await client.post(
        f"/e/tokyo/manage/sessions/{session.id}/edit",
        data={**FORM, "title": "Opening keynote", "speakers": "Grace Hopper", **token},
    )

    assert created.status_code == 303
    assert created.headers["location"] == f"/e/tokyo/sessions/{session.id}"
    assert session.starts_at == dt.datetime(2030, 5, 14, 0, 0, tzinfo=dt.UTC)
    assert 'value="2030-05-14T09:00"' in form
    assert 'value="Alan Turing; Grace Hopper"' in form
    assert edited.status_code == 303
    await db.refresh(session)
    assert session.title == "Opening keynote"
    page = (await client.get(f"/e/tokyo/sessions/{session.id}")).text
    assert "Grace Hopper" in page
    assert "Alan Turing" not in page
    names = (await db.execute(select(Speaker.name).order_by(Speaker.name))).scalars().all()
    assert names == ["Alan Turing", "Grace Hopper"]


async def test_invalid_session_form_shows_field_errors_and_keeps_values(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await _organizer(client, db)

    response = await client.post(
        "/e/tokyo/manage/sessions/new",
        data={
            **FORM,
            "ends_at": "2030-05-14T08:00",
            "stream_url": "http://insecure.example.com",
            "csrf_token": csrf_for(app, client),
        },
    )

    assert response.status_code == 422
    assert "The end must be after the start." in response.text
    assert "Only https:// addresses can be embedded." in response.text
    assert 'value="Keynote"' in response.text
    assert (await db.execute(select(ProgramSession))).first() is None


async def test_attendee_cannot_open_the_session_form(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await make_event(db, slug="tokyo")
    await login_as(db, client, await make_account(db))

    assert (await client.get("/e/tokyo/manage/sessions/new")).status_code == 403


async def test_organizer_adds_and_edits_a_speaker(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await _organizer(client, db)
    token = csrf_for(app, client)

    created = await client.post(
        "/e/tokyo/manage/speakers",
        data={"name": "Grace Hopper", "company": "Navy", "csrf_token": token},
    )
    speaker = (await db.execute(select(Speaker))).scalar_one()
    edited = await client.post(
        f"/e/tokyo/manage/speakers?edit={speaker.id}",
        data={"name": "Grace Hopper", "title": "Rear Admiral", "bio": "COBOL", "csrf_token": token},
    )
    empty = await client.post("/e/tokyo/manage/speakers", data={"name": "", "csrf_token": token})

    assert (created.status_code, edited.status_code, empty.status_code) == (303, 303, 422)
    await db.refresh(speaker)
    assert (speaker.title, speaker.company, speaker.bio) == ("Rear Admiral", "", "COBOL")
    assert "Enter the speaker&#39;s name." in empty.text
