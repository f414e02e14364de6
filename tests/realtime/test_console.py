"""The exhibitor's live console page."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.events.models import RoleName
from tests.factories import grant, login_as, make_account, make_event, make_exhibitor


async def test_console_is_for_the_exhibitors_staff(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event = await make_event(db, slug="consolecon")
    exhibitor = await make_exhibitor(db, event, name="Initech")
    staff = await make_account(db)
    await grant(db, staff, event, RoleName.staff, exhibitor.id)
    await login_as(db, client, staff)
    page = await client.get("/e/consolecon/console")
    assert page.status_code == 200
    assert f'data-exhibitor="{exhibitor.id}"' in page.text
    assert "Live console · Initech" in page.text
    assert '<script type="module" src="/static/js/console.js"></script>' in page.text


async def test_console_refuses_attendees(client: httpx.AsyncClient, db: AsyncSession) -> None:
    event = await make_event(db, slug="consolecon2")
    await make_exhibitor(db, event)
    attendee = await make_account(db)
    await grant(db, attendee, event, RoleName.attendee)
    await login_as(db, client, attendee)
    page = await client.get("/e/consolecon2/console", headers={"accept": "application/json"})
    assert page.status_code == 403
