"""Row ids in URLs beyond the id columns' range are a clear 422, never a driver error (500)."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.events.models import RoleName
from tests.factories import grant, login_as, make_account, make_api_token, make_event

HUGE = "99999999999999999999"


@pytest.mark.parametrize(
    "path",
    [
        f"/api/events/summit/webhooks/{HUGE}",
        f"/api/events/summit/campaigns/{HUGE}",
        f"/api/events/summit/leads/{HUGE}",
    ],
)
async def test_api_ids_out_of_range(db: AsyncSession, client: httpx.AsyncClient, path: str) -> None:
    event = await make_event(db, slug="summit")
    organizer = await make_account(db)
    await grant(db, organizer, event, RoleName.organizer)
    token = await make_api_token(db, organizer)
    await db.commit()
    response = await client.get(path, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 422, response.text
    assert "less than or equal to 2147483647" in response.text


async def test_page_ids_out_of_range(db: AsyncSession, client: httpx.AsyncClient) -> None:
    event = await make_event(db, slug="summit")
    organizer = await make_account(db)
    await grant(db, organizer, event, RoleName.organizer)
    await login_as(db, client, organizer)
    for path in (f"/e/summit/leads/{HUGE}", f"/e/summit/webhooks/{HUGE}", "/e/summit/leads/0"):
        response = await client.get(path)
        assert response.status_code == 422, (path, response.status_code)
