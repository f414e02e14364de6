"""The follow-up email pages: compose with filters, count and preview; send; the status page."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.events.models import RoleName
from app.integrations.models import EmailCampaign, EmailMessage
from tests.factories import csrf_for, grant, login_as, make_account, make_staff
from tests.integrations.test_email_campaigns import BODY, build_expo


async def test_organizer_previews_and_sends_from_the_compose_page(
    app: FastAPI, db: AsyncSession, client: httpx.AsyncClient
) -> None:
    expo = await build_expo(db)
    organizer = await make_account(db)
    await grant(db, organizer, expo.event, RoleName.organizer)
    await login_as(db, client, organizer)

    export = await client.get("/e/summit/export?buying_stage=evaluation")
    assert 'href="/e/summit/campaigns/new?buying_stage=evaluation"' in export.text

    page = await client.get("/e/summit/campaigns/new?buying_stage=evaluation")
    assert page.status_code == 200
    assert "SMTP is not configured" in page.text
    assert "<strong>1</strong> recipient." in page.text  # Ada downloaded the pricing guide

    form = {
        "csrf_token": csrf_for(app, client),
        "buying_stage": "evaluation",
        "subject": "Hi {{ first_name }}",
        "body": BODY,
        "action": "preview",
    }
    preview = await client.post("/e/summit/campaigns/new", data=form)
    assert preview.status_code == 200, preview.text
    assert "ada@example.com" in preview.text
    assert "Hi Ada," in preview.text
    assert (await db.execute(select(EmailCampaign))).first() is None

    bad = await client.post("/e/summit/campaigns/new", data={**form, "body": "{{ oops"})
    assert bad.status_code == 422
    assert "template error on line 1" in bad.text

    sent = await client.post("/e/summit/campaigns/new", data={**form, "action": "send"})
    assert sent.status_code == 303
    status = await client.get(sent.headers["location"])
    assert status.status_code == 200
    assert "<dt>Recipients</dt><dd>1</dd>" in status.text
    assert "<dt>Waiting to send</dt><dd>1</dd>" in status.text
    listing = await client.get("/e/summit/campaigns")
    assert "Hi {{ first_name }}" in listing.text
    # recipients, sent, opened, clicked
    assert "<td>1</td><td>0</td><td>0</td><td>0</td>" in listing.text


async def test_compose_page_needs_a_csrf_token(db: AsyncSession, client: httpx.AsyncClient) -> None:
    expo = await build_expo(db)
    organizer = await make_account(db)
    await grant(db, organizer, expo.event, RoleName.organizer)
    await login_as(db, client, organizer)
    form = {"subject": "Hi", "body": "Hello", "action": "send"}
    response = await client.post("/e/summit/campaigns/new", data=form)
    assert response.status_code == 403
    assert (await db.execute(select(EmailMessage))).first() is None


async def test_staff_compose_for_their_exhibitor_only(
    app: FastAPI, db: AsyncSession, client: httpx.AsyncClient
) -> None:
    expo = await build_expo(db)
    staff = await make_staff(db, expo.event, expo.acme)
    await login_as(db, client, staff)
    export = await client.get("/e/summit/exhibitor/acme/export")
    assert 'href="/e/summit/campaigns/new?exhibitor=acme"' in export.text
    page = await client.get("/e/summit/campaigns/new")
    assert page.status_code == 200
    assert "Follow-up email from Acme" in page.text
    assert "<strong>2</strong> recipients" in page.text
    assert "Globex" not in page.text
    other = await client.get("/e/summit/campaigns/new?exhibitor=globex")
    assert other.status_code == 403


async def test_attendees_cannot_open_the_compose_page(
    db: AsyncSession, client: httpx.AsyncClient
) -> None:
    expo = await build_expo(db)
    attendee = await make_account(db)
    await grant(db, attendee, expo.event, RoleName.attendee)
    await login_as(db, client, attendee)
    assert (await client.get("/e/summit/campaigns/new")).status_code == 403
    assert (await client.get("/e/summit/campaigns")).status_code == 403
