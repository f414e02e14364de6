"""Organizer pages: create and edit events, and who may open them."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.events.models import Event, EventStatus, Role, RoleName
from tests.events.forms import event_data, field_error, with_csrf
from tests.factories import grant, login_as, make_account, make_event, make_exhibitor


async def _event(db: AsyncSession, slug: str) -> Event | None:
    await db.rollback()
    db.expire_all()
    return (await db.execute(select(Event).where(Event.slug == slug))).scalar_one_or_none()


async def test_admin_creates_event_and_becomes_organizer(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    admin = await make_account(db, is_admin=True)
    admin_id = admin.id
    await login_as(db, client, admin)
    page = await client.get("/organizer/events/new")
    assert page.status_code == 200
    assert '<option value="Europe/Berlin">' in page.text
    response = await client.post("/organizer/events/new", data=with_csrf(app, client, event_data()))
    assert response.status_code == 303
    assert response.headers["location"] == "/e/spring-expo/manage?created=1"
    event = await _event(db, "spring-expo")
    assert event is not None
    # 09:00 in Berlin (summer time, UTC+2) is 07:00 UTC.
    assert event.starts_at == dt.datetime(2026, 6, 1, 7, 0, tzinfo=dt.UTC)
    assert event.ends_at == dt.datetime(2026, 6, 2, 16, 0, tzinfo=dt.UTC)
    assert (event.timezone, event.status, event.tagline) == (
        "Europe/Berlin",
        "draft",
        "Meet the makers",
    )
    roles = (await db.execute(select(Role).where(Role.event_id == event.id))).scalars().all()
    assert [(r.account_id, r.role) for r in roles] == [(admin_id, RoleName.organizer)]
    manage = await client.get(response.headers["location"])
    assert manage.status_code == 200
    assert "The event was created." in manage.text
    assert 'value="2026-06-01T09:00"' in manage.text


async def test_organizer_of_another_event_may_create_events(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    account = await make_account(db)
    await grant(db, account, await make_event(db), RoleName.organizer)
    await login_as(db, client, account)
    response = await client.post("/organizer/events/new", data=with_csrf(app, client, event_data()))
    assert response.status_code == 303


async def test_plain_account_cannot_create_events(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    account = await make_account(db)
    await grant(db, account, await make_event(db), RoleName.attendee)
    await login_as(db, client, account)
    assert (await client.get("/organizer/events/new")).status_code == 403
    response = await client.post("/organizer/events/new", data=with_csrf(app, client, event_data()))
    assert response.status_code == 403
    assert "Only administrators and event organizers can create events." in response.text
    assert await _event(db, "spring-expo") is None


async def test_anonymous_new_event_redirects_to_login(client: httpx.AsyncClient) -> None:
    response = await client.get("/organizer/events/new")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/organizer/events/new"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "", "This field is required."),
        ("name", "n" * 201, "Use at most 200 characters (you entered 201)."),
        ("slug", "Spring Expo", "Use lowercase letters a–z, digits and single hyphens only"),
        ("slug", "spring--expo", "Use lowercase letters a–z, digits and single hyphens only"),
        ("timezone", "Mars/Olympus", "Choose a time zone from the list, like Europe/Berlin."),
        ("starts_at", "tomorrow", "Enter a date and time."),
        ("ends_at", "2026-06-01T08:00", "The event must end after it starts."),
        ("status", "cancelled", "Choose one of the listed options."),
        ("tagline", "t" * 301, "Use at most 300 characters (you entered 301)."),
    ],
)
async def test_create_event_invalid_field_is_422(
    app: FastAPI,
    client: httpx.AsyncClient,
    db: AsyncSession,
    field: str,
    value: str,
    message: str,
) -> None:
    admin = await make_account(db, is_admin=True)
    await login_as(db, client, admin)
    data = event_data(**{field: value})
    response = await client.post("/organizer/events/new", data=with_csrf(app, client, data))
    assert response.status_code == 422
    assert field_error(response.text, field).startswith(message)
    assert ">Two days of booths and talks.</textarea>" in response.text
    assert await _event(db, data["slug"]) is None


async def test_create_event_taken_slug_is_409(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    admin = await make_account(db, is_admin=True)
    await make_event(db, slug="spring-expo")
    await login_as(db, client, admin)
    response = await client.post("/organizer/events/new", data=with_csrf(app, client, event_data()))
    assert response.status_code == 409
    assert "Another event already uses this address" in field_error(response.text, "slug")


async def test_organizer_edits_event(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    account = await make_account(db)
    event = await make_event(db, slug="expo", status=EventStatus.draft, timezone="UTC")
    await grant(db, account, event, RoleName.organizer)
    await login_as(db, client, account)
    page = await client.get("/e/expo/manage")
    assert page.status_code == 200
    assert 'value="expo"' in page.text
    data = event_data(
        slug="expo-2026", timezone="America/New_York", status="live", name="Expo 2026"
    )
    response = await client.post("/e/expo/manage", data=with_csrf(app, client, data))
    assert response.status_code == 303
    assert response.headers["location"] == "/e/expo-2026/manage?saved=1"
    changed = await _event(db, "expo-2026")
    assert changed is not None
    assert (changed.name, changed.status, changed.timezone) == (
        "Expo 2026",
        "live",
        "America/New_York",
    )
    assert changed.starts_at == dt.datetime(2026, 6, 1, 13, 0, tzinfo=dt.UTC)
    saved = await client.get("/e/expo-2026/manage?saved=1")
    assert "Your changes are saved." in saved.text


async def test_edit_event_illegal_status_change_is_422(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    account = await make_account(db)
    event = await make_event(db, slug="expo", status=EventStatus.live)
    await grant(db, account, event, RoleName.organizer)
    await login_as(db, client, account)
    data = event_data(slug="expo", status="draft")
    response = await client.post("/e/expo/manage", data=with_csrf(app, client, data))
    assert response.status_code == 422
    assert field_error(response.text, "status") == "A live event cannot become draft."


async def test_edit_event_invalid_dates_is_422(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    account = await make_account(db)
    event = await make_event(db, slug="expo")
    await grant(db, account, event, RoleName.organizer)
    await login_as(db, client, account)
    data = event_data(slug="expo", status="live", ends_at="2026-05-01T09:00")
    response = await client.post("/e/expo/manage", data=with_csrf(app, client, data))
    assert response.status_code == 422
    assert field_error(response.text, "ends_at") == "The event must end after it starts."


async def test_edit_event_slug_of_other_event_is_409(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    account = await make_account(db)
    event = await make_event(db, slug="expo")
    await make_event(db, slug="taken")
    await grant(db, account, event, RoleName.organizer)
    await login_as(db, client, account)
    data = event_data(slug="taken", status="live")
    response = await client.post("/e/expo/manage", data=with_csrf(app, client, data))
    assert response.status_code == 409


@pytest.mark.parametrize("role", [None, RoleName.attendee, RoleName.staff])
async def test_non_organizer_cannot_edit_event(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession, role: RoleName | None
) -> None:
    account = await make_account(db)
    event = await make_event(db, slug="expo", name="Original")
    if role is not None:
        exhibitor = await make_exhibitor(db, event)
        await grant(db, account, event, role, exhibitor.id if role == RoleName.staff else None)
    await login_as(db, client, account)
    assert (await client.get("/e/expo/manage")).status_code == 403
    data = event_data(slug="expo", status="live", name="Hijacked")
    response = await client.post("/e/expo/manage", data=with_csrf(app, client, data))
    assert response.status_code == 403
    assert "Only the event" in response.text
    changed = await _event(db, "expo")
    assert changed is not None
    assert changed.name == "Original"


async def test_anonymous_manage_redirects_to_login(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await make_event(db, slug="expo")
    await db.commit()
    response = await client.get("/e/expo/manage")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/e/expo/manage"


async def test_edit_event_without_csrf_is_403(client: httpx.AsyncClient, db: AsyncSession) -> None:
    account = await make_account(db)
    event = await make_event(db, slug="expo", name="Original")
    await grant(db, account, event, RoleName.organizer)
    await login_as(db, client, account)
    data = event_data(slug="expo", status="live", name="Forged")
    response = await client.post("/e/expo/manage", data={**data, "csrf_token": "forged"})
    assert response.status_code == 403
    changed = await _event(db, "expo")
    assert changed is not None
    assert changed.name == "Original"
