"""The webhook pages: organizer and exhibitor lists, adding with errors, the endpoint page."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.events.models import RoleName
from app.integrations.models import WebhookEndpoint
from tests.factories import csrf_for, grant, login_as, make_account, make_event, make_exhibitor


async def test_organizer_adds_an_endpoint_and_sees_its_secret_once(
    app: FastAPI, db: AsyncSession, client: httpx.AsyncClient
) -> None:
    event = await make_event(db, slug="summit")
    await make_exhibitor(db, event, name="Acme", slug="acme")
    organizer = await make_account(db)
    await grant(db, organizer, event, RoleName.organizer)
    await login_as(db, client, organizer)
    page = await client.get("/e/summit/webhooks")
    assert page.status_code == 200
    assert "No endpoints yet" in page.text
    assert '<option value="acme">Acme</option>' in page.text
    token = csrf_for(app, client)
    form = {"csrf_token": token, "url": "http://127.0.0.1:9/in", "exhibitor": "acme",
            "event_types": ["lead.mql_reached", "lead.stage_changed"]}  # fmt: skip
    created = await client.post("/e/summit/webhooks", data=form)
    assert created.status_code == 201
    secret = re.search(r'<code id="webhook-secret">(whsec_[\w-]+)</code>', created.text)
    assert secret is not None
    endpoint = (await db.execute(select(WebhookEndpoint))).scalar_one()
    assert (endpoint.secret, endpoint.exhibitor_id is not None) == (secret.group(1), True)
    assert endpoint.event_types == ["lead.mql_reached", "lead.stage_changed"]
    detail = await client.get(f"/e/summit/webhooks/{endpoint.id}")
    assert detail.status_code == 200
    assert "whsec_" not in detail.text
    assert "Leads of Acme" in detail.text
    listed = await client.get("/e/summit/webhooks")
    assert "http://127.0.0.1:9/in" in listed.text
    ping = await client.post(f"/e/summit/webhooks/{endpoint.id}/ping", data={"csrf_token": token})
    assert ping.status_code == 303
    assert "webhook.ping" in (await client.get(f"/e/summit/webhooks/{endpoint.id}")).text
    off = await client.post(f"/e/summit/webhooks/{endpoint.id}/disable", data={"csrf_token": token})
    assert off.status_code == 303
    assert "Disabled: Disabled by a user." in (await client.get(ping.headers["location"])).text
    gone = await client.post(f"/e/summit/webhooks/{endpoint.id}/delete", data={"csrf_token": token})
    assert gone.headers["location"] == "/e/summit/exhibitor/acme/webhooks"


async def test_bad_form_shows_the_error_and_forms_need_csrf(
    app: FastAPI, db: AsyncSession, client: httpx.AsyncClient
) -> None:
    event = await make_event(db, slug="summit")
    organizer = await make_account(db)
    await grant(db, organizer, event, RoleName.organizer)
    await login_as(db, client, organizer)
    token = csrf_for(app, client)
    form = {"csrf_token": token, "url": "ftp://x", "event_types": ["lead.updated"]}
    bad = await client.post("/e/summit/webhooks", data=form)
    assert bad.status_code == 422
    assert "The URL must start with https://." in bad.text
    bad = await client.post(
        "/e/summit/webhooks",
        data={"csrf_token": token, "url": "https://127.0.0.1/x", "event_types": []},
    )
    assert bad.status_code == 422
    assert "Choose at least one event type." in bad.text
    assert 'value="https://127.0.0.1/x"' in bad.text
    forged = await client.post("/e/summit/webhooks", data={"url": "https://127.0.0.1/x"})
    assert forged.status_code == 403
    assert (await db.execute(select(WebhookEndpoint))).first() is None


async def test_staff_are_sent_to_their_exhibitors_webhooks_only(
    app: FastAPI, db: AsyncSession, client: httpx.AsyncClient
) -> None:
    event = await make_event(db, slug="summit")
    acme = await make_exhibitor(db, event, name="Acme", slug="acme")
    await make_exhibitor(db, event, name="Globex", slug="globex")
    staff = await make_account(db)
    await grant(db, staff, event, RoleName.staff, acme.id)
    await login_as(db, client, staff)
    moved = await client.get("/e/summit/webhooks")
    assert (moved.status_code, moved.headers["location"]) == (
        303, "/e/summit/exhibitor/acme/webhooks"
    )  # fmt: skip
    page = await client.get("/e/summit/exhibitor/acme/webhooks")
    assert page.status_code == 200
    assert "Webhooks of Acme" in page.text
    assert (await client.get("/e/summit/exhibitor/globex/webhooks")).status_code == 403
    token = csrf_for(app, client)
    form = {"csrf_token": token, "url": "https://127.0.0.1/x", "event_types": ["lead.updated"]}
    assert (await client.post("/e/summit/webhooks", data=form)).status_code == 403
    assert (await client.post("/e/summit/exhibitor/globex/webhooks", data=form)).status_code == 403
    created = await client.post("/e/summit/exhibitor/acme/webhooks", data=form)
    assert created.status_code == 201
    endpoint = (await db.execute(select(WebhookEndpoint))).scalar_one()
    assert endpoint.exhibitor_id == acme.id
