"""What webhooks never carry or reach: an erased attendee's contact, a private address."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Account
from app.config import Settings
from app.db import utcnow
from app.events.models import RoleName
from app.events.privacy import erase
from app.integrations import webhook_delivery
from app.integrations.models import WebhookAttempt, WebhookDelivery
from app.integrations.worker import prune, run_once
from app.leads.models import Lead, LeadEvent
from app.leads.service import record
from tests.conftest import make_settings
from tests.factories import make_event, make_exhibitor, make_registration
from tests.integrations.test_webhooks_delivery import add_endpoint, bearer
from tests.integrations.webhook_receiver import Receiver, running


async def test_nothing_about_an_erased_attendee_is_sent(
    app: FastAPI, db: AsyncSession, client: httpx.AsyncClient, settings: Settings
) -> None:
    event = await make_event(db, slug="summit")
    acme = await make_exhibitor(db, event, slug="acme")
    reg = await make_registration(db, event)
    organizer = await bearer(db, event, RoleName.organizer)
    await record(db, event=event, registration=reg, type="booth.visit", exhibitor_id=acme.id,
                 idempotency_key="v")  # fmt: skip
    await db.commit()
    await run_once(app.state.sessionmaker, settings)  # no endpoint yet: nothing queued
    account = await db.get(Account, reg.account_id)
    assert account is not None
    await erase(db, account=account)
    await db.commit()
    with running(Receiver()) as receiver:
        await add_endpoint(client, organizer, receiver, ["lead.updated"])
        # The lead engine may still emit events of erased attendees' leads (scores change).
        for lead in (
            await db.execute(select(Lead).where(Lead.registration_id == reg.id))
        ).scalars():
            db.add(LeadEvent(lead_id=lead.id, type="lead.updated", change={}, at=utcnow()))
        await db.commit()
        await run_once(app.state.sessionmaker, settings)
    assert receiver.verified == []
    assert (await db.execute(select(WebhookDelivery))).first() is None
    undispatched = select(LeadEvent).where(LeadEvent.dispatched_at.is_(None))
    assert (await db.execute(undispatched)).first() is None


async def test_send_time_check_refuses_a_private_address(
    app: FastAPI, db: AsyncSession, client: httpx.AsyncClient, tmp_path: Path, database_url: str
) -> None:
    event = await make_event(db, slug="summit")
    organizer = await bearer(db, event, RoleName.organizer)
    with running(Receiver()) as receiver:
        created = await add_endpoint(client, organizer, receiver, ["lead.updated"])
        await client.post(f"/api/events/summit/webhooks/{created['id']}/ping", headers=organizer)
        strict = make_settings(database_url, tmp_path, allow_private_webhooks=False)
        assert await webhook_delivery.send_due(app.state.sessionmaker, strict) == 1
    assert receiver.received == []
    delivery = (await db.execute(select(WebhookDelivery))).scalar_one()
    attempt = (await db.execute(select(WebhookAttempt))).scalar_one()
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert attempt.status_code is None
    assert attempt.error == "The URL must start with https://."


async def test_deleting_an_account_strips_its_stored_deliveries(
    app: FastAPI, db: AsyncSession, client: httpx.AsyncClient, settings: Settings
) -> None:
    event = await make_event(db, slug="summit")
    reg = await make_registration(db, event, email="ada@example.com")
    organizer = await bearer(db, event, RoleName.organizer)
    with running(Receiver()) as receiver:
        await add_endpoint(client, organizer, receiver, ["lead.updated", "lead.stage_changed"])
        await record(db, event=event, registration=reg, type="booth.visit",
                     idempotency_key="v1")  # fmt: skip
        await db.commit()
        await run_once(app.state.sessionmaker, settings)  # sent
        await record(db, event=event, registration=reg, type="info.request",
                     idempotency_key="v2")  # fmt: skip
        await db.commit()
        # A hand-raise makes an MQL (a stage change); queued, not sent yet.
        await webhook_delivery.dispatch_events(app.state.sessionmaker, settings)
    bodies = (await db.execute(select(WebhookDelivery.body))).scalars().all()
    assert len(bodies) == 2
    assert all("ada@example.com" in body for body in bodies)

    # Weeks later the lead events are pruned; the deliveries still say whose they are.
    assert await prune(app.state.sessionmaker, now=utcnow() + dt.timedelta(days=30)) > 0
    account = await db.get(Account, reg.account_id)
    assert account is not None
    await erase(db, account=account)
    await db.commit()
    query = select(WebhookDelivery).order_by(WebhookDelivery.id)
    rows = (await db.execute(query.execution_options(populate_existing=True))).scalars()
    assert [(d.status, d.body, d.lead_event_id) for d in rows] == [
        ("sent", "", None),
        ("failed", "", None),
    ]


async def test_a_delivery_of_an_attendee_erased_meanwhile_is_never_sent(
    app: FastAPI, db: AsyncSession, client: httpx.AsyncClient, settings: Settings
) -> None:
    event = await make_event(db, slug="summit")
    reg = await make_registration(db, event, email="ada@example.com")
    organizer = await bearer(db, event, RoleName.organizer)
    with running(Receiver()) as receiver:
        await add_endpoint(client, organizer, receiver, ["lead.updated"])
        await record(db, event=event, registration=reg, type="booth.visit",
                     idempotency_key="v1")  # fmt: skip
        await db.commit()
        await webhook_delivery.dispatch_events(app.state.sessionmaker, settings)
        # The erasure commits after the body was written (a race on PostgreSQL).
        reg.erased_at = utcnow()
        await db.commit()
        await run_once(app.state.sessionmaker, settings)
    assert receiver.verified == []
    delivery = (
        await db.execute(select(WebhookDelivery).execution_options(populate_existing=True))
    ).scalar_one()
    assert (delivery.status, delivery.last_error) == (
        "failed",
        "The attendee deleted their account.",
    )
