"""JSON API of events: who sees, creates and changes which event."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.events.models import Event, EventStatus, Role, RoleName
from tests.factories import (
    csrf_for,
    grant,
    login_as,
    make_account,
    make_api_token,
    make_event,
    make_exhibitor,
)

NEW_EVENT = {
    "name": "Autumn Expo",
    "slug": "autumn-expo",
    "timezone": "Asia/Tokyo",
    "starts_at": "2026-10-01T10:00",
    "ends_at": "2026-10-01T18:00",
}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_list_events_shows_public_events_only(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await make_event(db, slug="live", status=EventStatus.live)
    await make_event(db, slug="ended", status=EventStatus.ended)
    await make_event(db, slug="draft", status=EventStatus.draft)
    await db.commit()
    response = await client.get("/api/events")
    assert response.status_code == 200
    assert sorted(e["slug"] for e in response.json()) == ["ended", "live"]
    [first, *_] = response.json()
    assert set(first) == {
        "id",
        "slug",
        "name",
        "tagline",
        "description",
        "starts_at",
        "ends_at",
        "timezone",
        "status",
    }


async def test_list_events_organizer_also_sees_own_drafts(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    account = await make_account(db)
    mine = await make_event(db, slug="my-draft", status=EventStatus.draft)
    await make_event(db, slug="other-draft", status=EventStatus.draft)
    await make_event(db, slug="live")
    await grant(db, account, mine, RoleName.organizer)
    token = await make_api_token(db, account)
    await db.commit()
    response = await client.get("/api/events", headers=_bearer(token))
    assert sorted(e["slug"] for e in response.json()) == ["live", "my-draft"]


async def test_list_events_admin_sees_every_draft(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    admin = await make_account(db, is_admin=True)
    await make_event(db, slug="draft", status=EventStatus.draft)
    await login_as(db, client, admin)
    response = await client.get("/api/events")
    assert [e["slug"] for e in response.json()] == ["draft"]


async def test_get_event_returns_utc_times(client: httpx.AsyncClient, db: AsyncSession) -> None:
    await make_event(db, slug="expo", name="Expo")
    await db.commit()
    response = await client.get("/api/events/expo")
    assert response.status_code == 200
    body = response.json()
    assert (body["slug"], body["name"], body["status"]) == ("expo", "Expo", "live")
    assert body["starts_at"].endswith("Z")


async def test_get_draft_event_is_404_except_for_organizers(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    account = await make_account(db)
    event = await make_event(db, slug="draft", status=EventStatus.draft)
    await grant(db, account, event, RoleName.organizer)
    token = await make_api_token(db, account)
    await db.commit()
    anonymous = await client.get("/api/events/draft")
    assert anonymous.status_code == 404
    assert anonymous.json()["error"]["code"] == "event.not_found"
    assert (await client.get("/api/events/draft", headers=_bearer(token))).status_code == 200
    assert (await client.get("/api/events/missing")).status_code == 404


async def test_create_event_with_token_converts_local_times(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    admin = await make_account(db, is_admin=True)
    admin_id = admin.id
    token = await make_api_token(db, admin)
    await db.commit()
    response = await client.post("/api/events", json=NEW_EVENT, headers=_bearer(token))
    assert response.status_code == 201
    body = response.json()
    assert body["starts_at"] == "2026-10-01T01:00:00Z"
    assert body["ends_at"] == "2026-10-01T09:00:00Z"
    assert body["status"] == "draft"
    await db.rollback()
    db.expire_all()
    roles = (await db.execute(select(Role.account_id, Role.role))).all()
    assert [tuple(r) for r in roles] == [(admin_id, "organizer")]


async def test_create_event_accepts_aware_times(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    token = await make_api_token(db, await make_account(db, is_admin=True))
    await db.commit()
    data = {**NEW_EVENT, "starts_at": "2026-10-01T10:00:00+00:00", "ends_at": "2026-10-02T10:00Z"}
    response = await client.post("/api/events", json=data, headers=_bearer(token))
    assert response.status_code == 201
    assert response.json()["starts_at"] == "2026-10-01T10:00:00Z"


async def test_create_event_with_cookie_needs_csrf_header(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    admin = await make_account(db, is_admin=True)
    await login_as(db, client, admin)
    refused = await client.post("/api/events", json=NEW_EVENT)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "auth.csrf"
    headers = {"X-CSRF-Token": csrf_for(app, client)}
    response = await client.post("/api/events", json=NEW_EVENT, headers=headers)
    assert response.status_code == 201


async def test_create_event_anonymous_is_401(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/events", json=NEW_EVENT)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "auth.required"


async def test_create_event_bad_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/events", json=NEW_EVENT, headers=_bearer("nope"))
    assert response.status_code == 401


async def test_create_event_plain_account_is_403(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    account = await make_account(db)
    await grant(db, account, await make_event(db), RoleName.attendee)
    token = await make_api_token(db, account)
    await db.commit()
    response = await client.post("/api/events", json=NEW_EVENT, headers=_bearer(token))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "event.create_denied"


async def test_create_event_invalid_fields_are_named(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    token = await make_api_token(db, await make_account(db, is_admin=True))
    await db.commit()
    data = {
        **NEW_EVENT,
        "slug": "Bad Slug",
        "timezone": "Nowhere/City",
        "ends_at": "2026-09-01T10:00",
        "status": "paused",
        "name": "",
        "colour": "red",
    }
    response = await client.post("/api/events", json=data, headers=_bearer(token))
    assert response.status_code == 422
    fields = {f["field"] for f in response.json()["error"]["fields"]}
    assert fields == {"slug", "timezone", "ends_at", "status", "name", "colour"}
    data = {**NEW_EVENT, "ends_at": "2026-09-01T10:00"}
    response = await client.post("/api/events", json=data, headers=_bearer(token))
    assert response.status_code == 422
    [error] = response.json()["error"]["fields"]
    assert error["field"] == "ends_at"
    assert "must end after it starts" in error["message"]


async def test_create_event_taken_slug_is_409(client: httpx.AsyncClient, db: AsyncSession) -> None:
    token = await make_api_token(db, await make_account(db, is_admin=True))
    await make_event(db, slug="autumn-expo")
    await db.commit()
    response = await client.post("/api/events", json=NEW_EVENT, headers=_bearer(token))
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "event.slug_taken"
    assert error["fields"][0]["field"] == "slug"


async def test_update_event_by_organizer(client: httpx.AsyncClient, db: AsyncSession) -> None:
    account = await make_account(db)
    event = await make_event(db, slug="expo", timezone="UTC", status=EventStatus.draft)
    await grant(db, account, event, RoleName.organizer)
    token = await make_api_token(db, account)
    await db.commit()
    changes = {"name": "Renamed", "status": "live", "starts_at": "2026-06-01T09:00"}
    response = await client.patch("/api/events/expo", json=changes, headers=_bearer(token))
    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["status"], body["starts_at"]) == (
        "Renamed",
        "live",
        "2026-06-01T09:00:00Z",
    )
    assert body["tagline"] == ""


async def test_update_event_naive_times_use_new_timezone(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    account = await make_account(db)
    event = await make_event(db, slug="expo", timezone="UTC")
    await grant(db, account, event, RoleName.organizer)
    token = await make_api_token(db, account)
    await db.commit()
    changes = {
        "timezone": "America/Sao_Paulo",
        "starts_at": "2030-01-10T09:00",
        "ends_at": "2030-01-10T17:00",
    }
    response = await client.patch("/api/events/expo", json=changes, headers=_bearer(token))
    assert response.status_code == 200
    assert response.json()["starts_at"] == "2030-01-10T12:00:00Z"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"status": "draft"}, "status"),
        ({"ends_at": "2000-01-01T00:00"}, "ends_at"),
        ({"name": None}, "name"),
        ({"slug": "UPPER"}, "slug"),
    ],
)
async def test_update_event_invalid_is_422(
    client: httpx.AsyncClient, db: AsyncSession, changes: dict[str, object], field: str
) -> None:
    account = await make_account(db)
    event = await make_event(db, slug="expo")
    await grant(db, account, event, RoleName.organizer)
    token = await make_api_token(db, account)
    await db.commit()
    response = await client.patch("/api/events/expo", json=changes, headers=_bearer(token))
    assert response.status_code == 422
    assert [f["field"] for f in response.json()["error"]["fields"]] == [field]


@pytest.mark.parametrize("role", [None, RoleName.attendee, RoleName.staff])
async def test_update_event_non_organizer_is_403(
    client: httpx.AsyncClient, db: AsyncSession, role: RoleName | None
) -> None:
    account = await make_account(db)
    event = await make_event(db, slug="expo", name="Original")
    if role is not None:
        exhibitor = await make_exhibitor(db, event)
        await grant(db, account, event, role, exhibitor.id if role == RoleName.staff else None)
    token = await make_api_token(db, account)
    await db.commit()
    response = await client.patch(
        "/api/events/expo", json={"name": "Hijacked"}, headers=_bearer(token)
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "auth.forbidden"
    await db.rollback()
    db.expire_all()
    name = (await db.execute(select(Event.name).where(Event.slug == "expo"))).scalar_one()
    assert name == "Original"


async def test_update_event_anonymous_is_401_and_unknown_is_404(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await make_event(db, slug="expo")
    token = await make_api_token(db, await make_account(db, is_admin=True))
    await db.commit()
    assert (await client.patch("/api/events/expo", json={"name": "x"})).status_code == 401
    missing = await client.patch("/api/events/nope", json={"name": "x"}, headers=_bearer(token))
    assert missing.status_code == 404
