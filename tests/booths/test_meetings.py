"""Meeting booking: one winner per slot even under races, event-timezone times, .ics export."""

from __future__ import annotations

import asyncio
import datetime as dt
import re

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Account
from app.booths.models import Exhibitor, MeetingRequest, MeetingSlot
from app.events.models import Event, RoleName
from app.leads.models import Activity
from tests.factories import (
    csrf_for,
    grant,
    login_as,
    make_account,
    make_event,
    make_exhibitor,
    make_registration,
    make_slot,
)

# 09:00 UTC on a winter day: 10:00 in Berlin, 04:00 in New York.
WINTER_NINE_UTC = dt.datetime(2030, 1, 15, 9, 0, tzinfo=dt.UTC)


async def _setup(
    db: AsyncSession, timezone: str = "Europe/Berlin"
) -> tuple[Event, Exhibitor, MeetingSlot]:
    event = await make_event(db, slug="expo", timezone=timezone)
    exhibitor = await make_exhibitor(db, event, name="Acme Robotics", slug="acme")
    staff = await make_account(db, display_name="Sam Staff")
    await grant(db, staff, event, RoleName.staff, exhibitor.id)
    slot = await make_slot(db, exhibitor, staff, starts_at=WINTER_NINE_UTC)
    return event, exhibitor, slot


async def _attendee(db: AsyncSession, event: Event) -> Account:
    account = await make_account(db)
    await make_registration(db, event, account)
    return account


async def _book(
    app: FastAPI, client: httpx.AsyncClient, slot_id: int, message: str = ""
) -> httpx.Response:
    return await client.post(
        "/e/expo/booths/acme/meetings",
        data={
            "csrf_token": csrf_for(app, client),
            "slot_id": str(slot_id),
            "meeting_message": message,
        },
    )


def _plain(response: httpx.Response) -> str:
    """The page's text without tags, as a reader sees it."""
    return re.sub(r"<[^>]+>", "", response.text)


async def _bookings(db: AsyncSession) -> list[MeetingRequest]:
    return list((await db.execute(select(MeetingRequest))).scalars().all())


async def _meeting_activities(db: AsyncSession) -> int:
    query = select(func.count()).where(Activity.type == "meeting.request")
    return (await db.execute(query)).scalar_one()


async def test_booking_shows_a_confirmation_in_the_event_timezone_with_an_ics(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event, _exhibitor, slot = await _setup(db)
    await login_as(db, client, await _attendee(db, event))

    booth = await client.get("/e/expo/booths/acme")
    response = await _book(app, client, slot.id, "Line 3 retrofit")
    page = await client.get(response.headers["location"])
    ics = await client.get(response.headers["location"] + "/invite.ics")

    assert "10:00–10:30\nCET with Sam Staff" in _plain(booth)
    assert response.status_code == 303
    assert page.status_code == 200
    assert "is booked" in page.text
    assert "10:00–10:30" in _plain(page)
    assert "Europe/Berlin" in page.text
    assert ics.status_code == 200
    assert ics.headers["content-type"].startswith("text/calendar")
    assert ics.headers["content-disposition"].startswith("attachment;")
    assert "DTSTART:20300115T090000Z" in ics.text
    assert "DTEND:20300115T093000Z" in ics.text
    assert "SUMMARY:Meeting with Acme Robotics" in ics.text
    [booking] = await _bookings(db)
    assert booking.message == "Line 3 retrofit"
    assert await _meeting_activities(db) == 1


async def test_times_follow_the_events_timezone(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event, _exhibitor, _slot = await _setup(db, timezone="America/New_York")
    await login_as(db, client, await _attendee(db, event))

    booth = await client.get("/e/expo/booths/acme")

    assert "04:00–04:30" in _plain(booth)
    assert "Choose a time (America/New_York)" in booth.text


async def test_double_click_books_once(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event, _exhibitor, slot = await _setup(db)
    await login_as(db, client, await _attendee(db, event))

    first = await _book(app, client, slot.id)
    second = await _book(app, client, slot.id)

    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert len(await _bookings(db)) == 1
    assert await _meeting_activities(db) == 1


async def test_two_concurrent_bookings_of_one_slot_exactly_one_wins(
    app: FastAPI, db: AsyncSession
) -> None:
    event, _exhibitor, slot = await _setup(db)
    people = [await _attendee(db, event) for _ in range(2)]
    clients = [
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
        for _ in people
    ]
    try:
        for person, client in zip(people, clients, strict=True):
            await login_as(db, client, person)
        responses = await asyncio.gather(*(_book(app, c, slot.id) for c in clients))
    finally:
        for client in clients:
            await client.aclose()

    assert sorted(r.status_code for r in responses) == [303, 409]
    loser = next(r for r in responses if r.status_code == 409)
    assert "just booked by someone else" in loser.text
    assert len(await _bookings(db)) == 1
    assert await _meeting_activities(db) == 1


async def test_a_booked_slot_is_no_longer_offered(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event, _exhibitor, slot = await _setup(db)
    await login_as(db, client, await _attendee(db, event))
    await _book(app, client, slot.id)

    await login_as(db, client, await _attendee(db, event))
    page = await client.get("/e/expo/booths/acme")
    late = await _book(app, client, slot.id)

    assert f'value="{slot.id}"' not in page.text
    assert "No meeting times are open right now." in page.text
    assert late.status_code == 409


async def test_cancel_frees_the_slot(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event, _exhibitor, slot = await _setup(db)
    await login_as(db, client, await _attendee(db, event))
    booked = await _book(app, client, slot.id)

    cancelled = await client.post(
        booked.headers["location"] + "/cancel", data={"csrf_token": csrf_for(app, client)}
    )
    await login_as(db, client, await _attendee(db, event))
    rebooked = await _book(app, client, slot.id)

    assert cancelled.headers["location"] == "/e/expo/booths/acme?done=cancelled#meet"
    assert rebooked.status_code == 303
    statuses = sorted(b.status for b in await _bookings(db))
    assert statuses == ["cancelled", "confirmed"]


async def test_past_or_foreign_slots_cannot_be_booked(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event, _exhibitor, _slot = await _setup(db)
    other = await make_exhibitor(db, event, slug="other")
    foreign = await make_slot(db, other)
    past = await make_slot(db, _exhibitor, starts_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    await login_as(db, client, await _attendee(db, event))

    for slot in (foreign, past):
        response = await _book(app, client, slot.id)
        assert response.status_code == 422
        assert "Choose one of the times offered." in response.text
    assert await _bookings(db) == []


async def test_a_meeting_is_private_to_its_attendee_and_the_booth(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event, exhibitor, slot = await _setup(db)
    await login_as(db, client, await _attendee(db, event))
    url = (await _book(app, client, slot.id)).headers["location"]

    await login_as(db, client, await _attendee(db, event))
    stranger = await client.get(url)
    stranger_ics = await client.get(url + "/invite.ics")
    rival = await make_account(db)
    await grant(db, rival, event, RoleName.staff, (await make_exhibitor(db, event)).id)
    await login_as(db, client, rival)
    rival_view = await client.get(url)
    staff = await make_account(db)
    await grant(db, staff, event, RoleName.staff, exhibitor.id)
    await login_as(db, client, staff)
    staff_view = await client.get(url)

    assert stranger.status_code == stranger_ics.status_code == rival_view.status_code == 404
    assert staff_view.status_code == 200


async def test_staff_publish_a_slot_in_the_events_timezone(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event, exhibitor, _slot = await _setup(db)
    staff = await make_account(db)
    await grant(db, staff, event, RoleName.staff, exhibitor.id)
    await login_as(db, client, staff)

    response = await client.post(
        "/e/expo/booths/acme/manage/meetings",
        data={
            "csrf_token": csrf_for(app, client),
            "starts_at": "2030-07-01T14:00",
            "minutes": "45",
            "staff_id": str(staff.id),
        },
    )
    clash = await client.post(
        "/e/expo/booths/acme/manage/meetings",
        data={
            "csrf_token": csrf_for(app, client),
            "starts_at": "2030-07-01T14:30",
            "minutes": "30",
            "staff_id": str(staff.id),
        },
    )

    assert response.status_code == 303
    slot = (
        await db.execute(select(MeetingSlot).where(MeetingSlot.staff_account_id == staff.id))
    ).scalar_one()
    assert slot.starts_at == dt.datetime(2030, 7, 1, 12, 0, tzinfo=dt.UTC)  # CEST is UTC+2
    assert slot.ends_at - slot.starts_at == dt.timedelta(minutes=45)
    assert clash.status_code == 422
    assert "You already offer a slot at that time." in clash.text
