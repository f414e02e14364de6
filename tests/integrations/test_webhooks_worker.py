"""The worker loop and the `expohall worker` command."""

from __future__ import annotations

import asyncio
import datetime as dt

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


async def test_events_that_arrive_while_the_worker_lingers_go_out_in_one_round(
    app: FastAPI, db: AsyncSession, settings: Settings
) -> None:
    event = await make_event(db, slug="summit")
    acme = await make_exhibitor(db, event, slug="acme")
    regs = [await make_registration(db, event) for _ in range(4)]
    await db.commit()
    lingering = settings.model_copy(
        update={"worker_poll_seconds": 0.05, "worker_linger_seconds": 2.0}
    )
    sm = app.state.sessionmaker

    async def visit(n: int) -> None:
        async with sm() as session, session.begin():
            await record(session, event=event, registration=regs[n], type="booth.visit",
                         exhibitor_id=acme.id, idempotency_key=f"v{n}")  # fmt: skip

    async def dispatched() -> list[tuple[int, dt.datetime]]:
        rows = await db.execute(select(LeadEvent.lead_id, LeadEvent.dispatched_at))
        return [(lead_id, at) for lead_id, at in rows if at is not None]

    async def until_dispatched(count: int) -> None:
        async with asyncio.timeout(10):
            while len(await dispatched()) < count:  # noqa: ASYNC110 (the worker signals nothing)
                await asyncio.sleep(0.02)

    stop = asyncio.Event()
    worker = asyncio.create_task(run_forever(sm, lingering, stop))
    try:
        await visit(0)
        await until_dispatched(2)
        # The worker has just handled a round: three more attendees act, 0.2 s apart, each
        # in a transaction of their own (a worker polling every 0.05 s would take each alone;
        # this one waits 2 s, time enough on a loaded machine).
        for n in (1, 2, 3):
            await asyncio.sleep(0.2)
            await visit(n)
        await until_dispatched(8)
    finally:
        stop.set()
        await asyncio.wait_for(worker, 5)
    rounds = sorted({at for _, at in await dispatched()})
    assert len(rounds) == 2  # the first visit's two events, then the other six together
