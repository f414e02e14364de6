"""The session page and its heartbeat endpoint."""

from __future__ import annotations

import datetime as dt

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from app.events.models import EventStatus
from tests.factories import (
    csrf_for,
    login_as,
    make_account,
    make_event,
    make_exhibitor,
    make_registration,
    make_session,
    make_speaker,
)


async def test_live_session_embeds_the_https_stream_in_a_sandboxed_frame(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event = await make_event(db, slug="cloudcon")
    sponsor = await make_exhibitor(db, event, name="Northwind", slug="northwind")
    grace = await make_speaker(db, event, name="Grace Hopper", company="Navy")
    session = await make_session(
        db,
        event,
        [grace],
        title="Debugging the cloud",
        abstract="Why the cloud is someone else's bug.",
        starts_at=utcnow() - dt.timedelta(minutes=5),
        stream_url="https://stream.example.com/live/42",
        sponsor_exhibitor_id=sponsor.id,
    )
    await db.commit()

    html = (await client.get(f"/e/cloudcon/sessions/{session.id}")).text

    assert "Live now" in html
    assert '<iframe class="booth-video" src="https://stream.example.com/live/42"' in html
    assert 'sandbox="allow-scripts allow-same-origin allow-presentation allow-popups"' in html
    assert "Why the cloud is someone else&#39;s bug." in html
    assert "Grace Hopper" in html
    assert '<a href="/e/cloudcon/booths/northwind"><strong>Northwind</strong></a>' in html


async def test_plain_http_stream_is_never_embedded(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event = await make_event(db, slug="cloudcon")
    session = await make_session(
        db,
        event,
        starts_at=utcnow() - dt.timedelta(minutes=5),
        stream_url="http://stream.example.com/live/42",
    )
    await db.commit()

    html = (await client.get(f"/e/cloudcon/sessions/{session.id}")).text

    assert "<iframe" not in html
    assert "stream.example.com" not in html


async def test_upcoming_session_says_when_it_starts_in_event_timezone(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event = await make_event(db, slug="tokyo", timezone="Asia/Tokyo")
    session = await make_session(
        db,
        event,
        starts_at=dt.datetime(2030, 5, 14, 23, 30, tzinfo=dt.UTC),
        stream_url="https://stream.example.com/live/42",
    )
    await db.commit()

    html = (await client.get(f"/e/tokyo/sessions/{session.id}")).text

    assert "Starts at" in html
    assert "Wednesday 15 May, 08:30 JST" in html
    assert "<iframe" not in html


async def test_after_the_event_ends_the_recording_plays_on_demand(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event = await make_event(db, slug="cloudcon", status=EventStatus.ended)
    session = await make_session(
        db,
        event,
        starts_at=utcnow() - dt.timedelta(days=1),
        stream_url="https://stream.example.com/live/42",
        recording_url="https://cdn.example.com/talk.mp4",
    )
    await db.commit()

    html = (await client.get(f"/e/cloudcon/sessions/{session.id}")).text

    assert "On demand" in html
    assert '<video class="booth-video" src="https://cdn.example.com/talk.mp4"' in html
    assert "stream.example.com" not in html


async def test_session_of_another_event_is_not_found(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await make_event(db, slug="cloudcon")
    other = await make_event(db, slug="other")
    session = await make_session(db, other)
    await db.commit()

    response = await client.get(f"/e/cloudcon/sessions/{session.id}")

    assert response.status_code == 404


async def test_attendee_page_mounts_chat_and_watch_counter(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event = await make_event(db, slug="cloudcon")
    account = await make_account(db)
    await make_registration(db, event, account)
    session = await make_session(db, event, starts_at=utcnow() - dt.timedelta(minutes=5))
    await login_as(db, client, account)

    html = (await client.get(f"/e/cloudcon/sessions/{session.id}")).text

    assert f'data-live-session="{session.id}"' in html
    assert f'data-watch-session="{session.id}"' in html
    assert "/static/js/session-watch.js" in html


async def test_heartbeats_count_distinct_seconds_for_the_attendee(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event = await make_event(db, slug="cloudcon")
    account = await make_account(db)
    await make_registration(db, event, account)
    session = await make_session(db, event, starts_at=utcnow() - dt.timedelta(minutes=5))
    await login_as(db, client, account)
    url = f"/e/cloudcon/sessions/{session.id}/attendance/heartbeat"
    headers = {"x-csrf-token": csrf_for(app, client)}

    first = await client.post(url, json={"tab_id": "t1", "kind": "start"}, headers=headers)
    again = await client.post(url, json={"tab_id": "t1"}, headers=headers)

    assert first.status_code == 200
    assert first.json() == {"live": True, "seconds": 0, "added": 0}
    assert again.json()["live"] is True
    assert again.json()["seconds"] <= 2


async def test_heartbeat_needs_csrf_and_a_registration(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event = await make_event(db, slug="cloudcon")
    account = await make_account(db)
    session = await make_session(db, event, starts_at=utcnow() - dt.timedelta(minutes=5))
    await login_as(db, client, account)
    url = f"/e/cloudcon/sessions/{session.id}/attendance/heartbeat"

    without_token = await client.post(
        url, json={"tab_id": "t1"}, headers={"accept": "application/json"}
    )
    unregistered = await client.post(
        url,
        json={"tab_id": "t1"},
        headers={"x-csrf-token": csrf_for(app, client), "accept": "application/json"},
    )

    assert without_token.status_code == 403
    assert unregistered.status_code == 403
    assert unregistered.json()["error"]["code"] == "session.not_registered"


async def test_heartbeat_before_the_start_is_a_clear_conflict(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event = await make_event(db, slug="cloudcon")
    account = await make_account(db)
    await make_registration(db, event, account)
    session = await make_session(db, event)
    await login_as(db, client, account)

    response = await client.post(
        f"/e/cloudcon/sessions/{session.id}/attendance/heartbeat",
        json={"tab_id": "t1"},
        headers={"x-csrf-token": csrf_for(app, client), "accept": "application/json"},
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "session.not_watchable"
