"""Staff and organizer invitations: creating the link, opening it, accepting it."""

from __future__ import annotations

import datetime as dt
import re

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.security import digest
from app.db import utcnow
from app.events.models import Invitation, Role, RoleName
from tests.events.forms import field_error, with_csrf
from tests.factories import (
    grant,
    login_as,
    make_account,
    make_event,
    make_exhibitor,
    make_invitation,
)


async def _roles(db: AsyncSession, account_id: int) -> list[tuple[str, int | None]]:
    await db.rollback()
    db.expire_all()
    rows = await db.execute(
        select(Role.role, Role.exhibitor_id).where(Role.account_id == account_id).order_by(Role.id)
    )
    return [(r.role, r.exhibitor_id) for r in rows]


async def test_organizer_creates_staff_invitation_link_shown_once(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    organizer = await make_account(db)
    event = await make_event(db, slug="expo")
    exhibitor = await make_exhibitor(db, event, name="Acme Rockets")
    exhibitor_id = exhibitor.id
    await grant(db, organizer, event, RoleName.organizer)
    await login_as(db, client, organizer)
    page = await client.get("/e/expo/manage/invites")
    assert page.status_code == 200
    assert f'<option value="{exhibitor_id}">Acme Rockets</option>' in page.text
    data = {"role": "staff", "exhibitor_id": str(exhibitor_id), "email": "Staff@Example.com"}
    response = await client.post("/e/expo/manage/invites", data=with_csrf(app, client, data))
    assert response.status_code == 201
    match = re.search(r'value="http://127\.0\.0\.1:8000/invite/([\w-]+)"', response.text)
    assert match is not None
    token = match.group(1)
    await db.rollback()
    db.expire_all()
    [invitation] = (await db.execute(select(Invitation))).scalars().all()
    assert invitation.token_hash == digest(token)
    assert (invitation.role, invitation.exhibitor_id, invitation.email) == (
        "staff",
        exhibitor_id,
        "staff@example.com",
    )
    assert invitation.expires_at - invitation.created_at == dt.timedelta(days=14)
    listing = await client.get("/e/expo/manage/invites")
    assert token not in listing.text
    assert "staff@example.com" in listing.text


async def test_staff_invitation_needs_exhibitor_of_this_event(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    organizer = await make_account(db)
    event = await make_event(db, slug="expo")
    foreign = await make_exhibitor(db, await make_event(db))
    await grant(db, organizer, event, RoleName.organizer)
    await login_as(db, client, organizer)
    missing = await client.post(
        "/e/expo/manage/invites", data=with_csrf(app, client, {"role": "staff"})
    )
    assert missing.status_code == 422
    assert field_error(missing.text, "exhibitor_id") == "Choose the exhibitor the staff works for."
    data = {"role": "staff", "exhibitor_id": str(foreign.id)}
    other = await client.post("/e/expo/manage/invites", data=with_csrf(app, client, data))
    assert other.status_code == 422
    bad_role = await client.post(
        "/e/expo/manage/invites", data=with_csrf(app, client, {"role": "admin"})
    )
    assert bad_role.status_code == 422
    assert field_error(bad_role.text, "role") == "Choose one of the listed options."
    await db.rollback()
    db.expire_all()
    assert (await db.execute(select(Invitation))).scalars().all() == []


@pytest.mark.parametrize("role", [None, RoleName.attendee, RoleName.staff])
async def test_non_organizer_cannot_invite(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession, role: RoleName | None
) -> None:
    account = await make_account(db)
    event = await make_event(db, slug="expo")
    exhibitor = await make_exhibitor(db, event)
    if role is not None:
        await grant(db, account, event, role, exhibitor.id if role == RoleName.staff else None)
    await login_as(db, client, account)
    assert (await client.get("/e/expo/manage/invites")).status_code == 403
    data = {"role": "staff", "exhibitor_id": str(exhibitor.id)}
    response = await client.post("/e/expo/manage/invites", data=with_csrf(app, client, data))
    assert response.status_code == 403


async def test_invite_page_anonymous_redirects_to_login(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    _, token = await make_invitation(db, await make_event(db), role=RoleName.organizer)
    await db.commit()
    response = await client.get(f"/invite/{token}")
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next=/invite/{token}"


async def test_accepting_staff_invitation_grants_role(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event = await make_event(db, slug="expo")
    exhibitor = await make_exhibitor(db, event, name="Acme Rockets")
    exhibitor_id = exhibitor.id
    _, token = await make_invitation(db, event, exhibitor=exhibitor)
    staff = await make_account(db)
    staff_id = staff.id
    await login_as(db, client, staff)
    page = await client.get(f"/invite/{token}")
    assert page.status_code == 200
    assert "Acme Rockets" in page.text
    assert "booth staff" in page.text
    response = await client.post(f"/invite/{token}", data=with_csrf(app, client, {}))
    assert response.status_code == 303
    assert response.headers["location"] == "/e/expo"
    assert await _roles(db, staff_id) == [("staff", exhibitor_id)]
    [invitation] = (await db.execute(select(Invitation))).scalars().all()
    assert invitation.accepted_by_id == staff_id
    assert invitation.accepted_at is not None
    # Accepting again is harmless.
    again = await client.post(f"/invite/{token}", data=with_csrf(app, client, {}))
    assert again.status_code == 303
    assert await _roles(db, staff_id) == [("staff", exhibitor_id)]


async def test_accepting_organizer_invitation_opens_manage_page(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event = await make_event(db, slug="expo")
    _, token = await make_invitation(db, event, role=RoleName.organizer)
    account = await make_account(db)
    account_id = account.id
    await login_as(db, client, account)
    response = await client.post(f"/invite/{token}", data=with_csrf(app, client, {}))
    assert response.status_code == 303
    assert response.headers["location"] == "/e/expo/manage"
    assert await _roles(db, account_id) == [("organizer", None)]
    assert (await client.get("/e/expo/manage")).status_code == 200


async def test_used_invitation_is_410_for_someone_else(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event = await make_event(db)
    first = await make_account(db)
    invitation, token = await make_invitation(db, event, role=RoleName.organizer)
    invitation.accepted_at = utcnow()
    invitation.accepted_by_id = first.id
    second = await make_account(db)
    second_id = second.id
    await login_as(db, client, second)
    page = await client.get(f"/invite/{token}")
    assert page.status_code == 410
    assert "already been used" in page.text
    response = await client.post(f"/invite/{token}", data=with_csrf(app, client, {}))
    assert response.status_code == 410
    assert await _roles(db, second_id) == []


async def test_expired_invitation_is_410(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event = await make_event(db)
    _, token = await make_invitation(
        db, event, role=RoleName.organizer, expires_at=utcnow() - dt.timedelta(minutes=1)
    )
    account = await make_account(db)
    account_id = account.id
    await login_as(db, client, account)
    page = await client.get(f"/invite/{token}")
    assert page.status_code == 410
    assert "This invitation has expired." in page.text
    response = await client.post(f"/invite/{token}", data=with_csrf(app, client, {}))
    assert response.status_code == 410
    assert await _roles(db, account_id) == []


async def test_unknown_invitation_is_404(client: httpx.AsyncClient, db: AsyncSession) -> None:
    await login_as(db, client, await make_account(db))
    response = await client.get("/invite/not-a-real-token")
    assert response.status_code == 404
    assert "This invitation link is not valid." in response.text


async def test_invitation_for_other_email_is_403(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event = await make_event(db)
    _, token = await make_invitation(
        db, event, role=RoleName.organizer, email="invited@example.com"
    )
    account = await make_account(db, email="someone@example.com")
    account_id = account.id
    await login_as(db, client, account)
    response = await client.post(f"/invite/{token}", data=with_csrf(app, client, {}))
    assert response.status_code == 403
    assert await _roles(db, account_id) == []


async def test_staff_of_one_exhibitor_cannot_join_another(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event = await make_event(db)
    first = await make_exhibitor(db, event)
    second = await make_exhibitor(db, event)
    account = await make_account(db)
    await grant(db, account, event, RoleName.staff, first.id)
    _, token = await make_invitation(db, event, exhibitor=second)
    await login_as(db, client, account)
    response = await client.post(f"/invite/{token}", data=with_csrf(app, client, {}))
    assert response.status_code == 409
    assert "already staff of another exhibitor" in response.text


async def test_accept_invitation_without_csrf_is_403(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    _, token = await make_invitation(db, await make_event(db), role=RoleName.organizer)
    account = await make_account(db)
    account_id = account.id
    await login_as(db, client, account)
    response = await client.post(f"/invite/{token}", data={})
    assert response.status_code == 403
    assert await _roles(db, account_id) == []
