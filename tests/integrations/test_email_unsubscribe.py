"""Unsubscribing from follow-up email: the page, RFC 8058 one-click, and every later campaign."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db import utcnow
from app.events.models import RoleName
from app.integrations import mailer
from app.integrations.models import EmailMessage, EmailSuppression
from tests.conftest import make_settings
from tests.factories import make_event, make_lead, make_registration
from tests.integrations.smtp_server import SmtpServer
from tests.integrations.test_email_campaigns import (
    activities,
    bearer,
    build_expo,
    campaign,
    lead_of,
)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def settings(database_url: str, tmp_path: Path, smtp: SmtpServer) -> Settings:
    return make_settings(
        database_url, tmp_path, smtp_host="127.0.0.1", smtp_port=smtp.port,
        smtp_starttls=False, base_url="http://testserver",
    )  # fmt: skip


async def _token(db: AsyncSession, address: str) -> str:
    query = select(EmailMessage.token).where(EmailMessage.to_address == address)
    return (await db.execute(query.order_by(EmailMessage.id.desc()).limit(1))).scalar_one()


async def test_unsubscribe_page_suppresses_the_address_for_later_campaigns(
    app: FastAPI, db: AsyncSession, client: httpx.AsyncClient, smtp: SmtpServer
) -> None:
    expo = await build_expo(db)
    organizer = await bearer(db, expo.event, RoleName.organizer)
    await client.post("/api/events/summit/campaigns", json=campaign({}), headers=organizer)
    await mailer.send_due(app.state.sessionmaker, app.state.settings)
    assert len(smtp.to("ada@example.com")) == 1
    token = await _token(db, "ada@example.com")

    page = await client.get(f"/t/u/{token}")
    assert page.status_code == 200
    assert "ada@example.com" in page.text
    assert f'action="/t/u/{token}"' in page.text
    assert await db.get(EmailSuppression, 1) is None  # a GET (a link scanner) changes nothing
    done = await client.post(f"/t/u/{token}", data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200
    assert "You are unsubscribed" in done.text
    again = await client.post(f"/t/u/{token}", data={"List-Unsubscribe": "One-Click"})
    assert again.status_code == 200
    rows = (await db.execute(select(EmailSuppression.address))).scalars().all()
    assert rows == ["ada@example.com"]
    assert len(await activities(db, expo.ada, "unsubscribe")) == 1
    lead = await lead_of(db, expo.ada, None)
    assert any(c["label"] == "-20 unsubscribed" for c in lead.contributions)

    # Her registration no longer consents to marketing email (exports say so too): later
    # campaigns do not even count her.
    await db.refresh(expo.ada)
    assert expo.ada.consent_marketing_at is None
    acme = await bearer(db, expo.event, RoleName.staff, expo.acme)
    later = await client.post("/api/events/summit/campaigns", json=campaign({}), headers=acme)
    assert later.json()["total"] == 1
    assert later.json()["queued"] == 1
    await mailer.send_due(app.state.sessionmaker, app.state.settings)
    assert len(smtp.to("ada@example.com")) == 1  # still only the first one
    assert len(smtp.to("carol@example.com")) == 2  # the event's email and Acme's


async def test_one_click_post_reaches_other_events_and_queued_mail(
    app: FastAPI, db: AsyncSession, client: httpx.AsyncClient, smtp: SmtpServer
) -> None:
    expo = await build_expo(db)
    other = await make_event(db, slug="winter", name="Winter Expo")
    await make_lead(
        db,
        other,
        await make_registration(db, other, email="ADA@example.com", consent_marketing_at=utcnow()),
    )
    await db.commit()
    organizer = await bearer(db, expo.event, RoleName.organizer)
    winter = await bearer(db, other, RoleName.organizer)
    await client.post("/api/events/summit/campaigns", json=campaign({}), headers=organizer)
    await mailer.send_due(app.state.sessionmaker, app.state.settings)
    # queued before the unsubscribe, sent after it: the mailer checks again
    queued = await client.post("/api/events/winter/campaigns", json=campaign({}), headers=winter)
    assert queued.json()["queued"] == 1

    token = await _token(db, "ada@example.com")
    one_click = await client.post(
        f"/t/u/{token}",
        content="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert one_click.status_code == 200
    await mailer.send_due(app.state.sessionmaker, app.state.settings)
    assert [r.recipients for r in smtp.received if "ada" in r.recipients[0].lower()] == [
        ["ada@example.com"]
    ]
    status = await client.get(f"/api/events/winter/campaigns/{queued.json()['id']}", headers=winter)
    assert status.json()["suppressed"] == 1
    assert status.json()["sent"] == 0


async def test_unknown_unsubscribe_token_is_a_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/t/u/not-a-token")).status_code == 404
    assert (await client.post("/t/u/not-a-token")).status_code == 404
    pixel = await client.get("/t/o/not-a-token.gif")
    assert pixel.status_code == 200  # an image still: a mail client shows no broken picture
