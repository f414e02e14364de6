"""The worker loop and the `expohall worker` command."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from app.cli import cli
from app.config import Settings
from app.events.models import RoleName
from app.integrations import webhook_delivery
from app.integrations.models import WebhookDelivery
from app.integrations.worker import run_forever
from app.leads.models import LeadEvent
from app.leads.service import record
from tests.factories import make_event, make_exhibitor, make_registration
from tests.integrations.test_webhooks_delivery import add_endpoint, bearer
from tests.integrations.webhook_receiver import Receiver, running


async def test_worker_loop_sends_pings_until_stopped(
    app: FastAPI, db: AsyncSession, client: httpx.AsyncClient, settings: Settings
) -> None:
    event = await make_event(db, slug="summit")
    organizer = await bearer(db, event, RoleName.organizer)
    fast = settings.model_copy(update={"worker_poll_seconds": 0.05})
    stop = asyncio.Event()
    with running(Receiver()) as receiver:
        created = await add_endpoint(client, organizer, receiver, ["lead.updated"])
        worker = asyncio.create_task(run_forever(app.state.sessionmaker, fast, stop))
        ping = await client.post(
            f"/api/events/summit/webhooks/{created['id']}/ping", headers=organizer
        )
        assert await asyncio.to_thread(receiver.arrived.wait, 10)
        stop.set()
        await asyncio.wait_for(worker, 5)
    assert [(r.verified, r.json["id"]) for r in receiver.received] == [(True, ping.json()["id"])]


def test_worker_command_is_listed() -> None:
    result = CliRunner().invoke(cli, ["worker", "--help"])
    assert result.exit_code == 0
    assert "Run the background worker" in result.output


async def test_dispatching_an_event_again_adds_no_second_delivery(
    app: FastAPI, db: AsyncSession, client: httpx.AsyncClient, settings: Settings
) -> None:
    event = await make_event(db, slug="summit")
    acme = await make_exhibitor(db, event, slug="acme")
    reg = await make_registration(db, event)
    organizer = await bearer(db, event, RoleName.organizer)
    with running(Receiver()) as receiver:
        await add_endpoint(client, organizer, receiver, ["lead.updated"])
    await record(db, event=event, registration=reg, type="booth.visit", exhibitor_id=acme.id,
                 idempotency_key="v")  # fmt: skip
    await db.commit()
    sm = app.state.sessionmaker
    assert await webhook_delivery.dispatch_events(sm, settings) == 2
    await db.execute(update(LeadEvent).values(dispatched_at=None))  # as if never marked
    await db.commit()
    assert await webhook_delivery.dispatch_events(sm, settings) == 2
    assert await webhook_delivery.dispatch_events(sm, settings) == 0
    count = await db.scalar(select(func.count()).select_from(WebhookDelivery))
    assert count == 2
