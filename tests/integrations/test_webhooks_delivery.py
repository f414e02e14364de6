"""Lead events reach a local receiver signed; retries, disabling, resend and concurrency."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Account
from app.booths.models import Exhibitor
from app.config import Settings
from app.db import utcnow
from app.events.models import Event, RoleName
from app.integrations import webhook_delivery
from app.integrations.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from app.integrations.worker import run_once
from app.leads.models import Lead
from app.leads.service import record
from tests.factories import (
    grant,
    make_account,
    make_api_token,
    make_event,
    make_exhibitor,
    make_registration,
)
from tests.integrations.webhook_receiver import Receiver, running


async def bearer(
    db: AsyncSession, event: Event, role: RoleName, exhibitor: Exhibitor | None = None
) -> dict[str, str]:
    account: Account = await make_account(db)
    await grant(db, account, event, role, exhibitor.id if exhibitor else None)
    token = await make_api_token(db, account)
    await db.commit()
    return {"Authorization": f"Bearer {token}"}


async def add_endpoint(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    receiver: Receiver,
    types: list[str],
    exhibitor: str | None = None,
    slug: str = "summit",
) -> dict[str, Any]:
    """Register `receiver` through the API and give it the secret that comes back."""
    body: dict[str, Any] = {"url": receiver.url, "event_types": types}
    if exhibitor is not None:
        body["exhibitor"] = exhibitor
    response = await client.post(f"/api/events/{slug}/webhooks", json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    receiver.secret = created["secret"]
    return created


class Clock:
    """The time the worker runs at and the receiver checks signatures against."""

    def __init__(self) -> None:
        # After what the test queues first, however slow the setup on a busy machine.
        self.now = utcnow() + dt.timedelta(seconds=60)

    def __call__(self) -> float:
        return self.now.timestamp()

    def step(self, **delta: float) -> dt.datetime:
        self.now += dt.timedelta(**delta)
        return self.now


async def _delivery(db: AsyncSession, uuid: str) -> WebhookDelivery:
    db.expire_all()
    return (
        await db.execute(select(WebhookDelivery).where(WebhookDelivery.uuid == uuid))
    ).scalar_one()


async def _endpoint(db: AsyncSession, endpoint_id: int) -> WebhookEndpoint:
    db.expire_all()
    endpoint = await db.get(WebhookEndpoint, endpoint_id)
    assert endpoint is not None
    return endpoint


async def test_local_receiver_gets_signed_mql_events(
    app: FastAPI, db: AsyncSession, client: httpx.AsyncClient, settings: Settings
) -> None:
    event = await make_event(db, slug="summit", name="Summit")
    acme = await make_exhibitor(db, event, name="Acme", slug="acme")
    reg = await make_registration(
        db, event, job_level="individual", company_type="partner", budget="none"
    )
    organizer = await bearer(db, event, RoleName.organizer)
    with running(Receiver()) as receiver:
        await add_endpoint(client, organizer, receiver, ["lead.mql_reached", "lead.stage_changed"])
        for kind in ("booth.visit", "meeting.request"):
            await record(db, event=event, registration=reg, type=kind, exhibitor_id=acme.id,
                         idempotency_key=kind)  # fmt: skip
        await db.commit()
        await run_once(app.state.sessionmaker, settings)
    lead = (await db.execute(select(Lead).where(Lead.exhibitor_id == acme.id))).scalar_one()
    assert receiver.received
    assert all(r.verified for r in receiver.received)
    by_type = {
        r.json["type"]: r for r in receiver.received if r.json["data"]["lead"]["id"] == lead.id
    }
    assert set(by_type) == {"lead.mql_reached", "lead.stage_changed"}
    mql = by_type["lead.mql_reached"]
    body = mql.json
    assert mql.headers["expohall-event"] == "lead.mql_reached"
    assert mql.headers["expohall-delivery"] == body["id"]
    assert mql.headers["content-type"] == "application/json"
    assert mql.headers["user-agent"].startswith("Expohall-Webhooks/")
    assert body["event"] == {"id": event.id, "slug": "summit", "name": "Summit"}
    assert body["data"]["change"] == {
        "from": "inquiry", "to": "mql", "reason": "auto_hand_raise", "actor_id": None
    }  # fmt: skip
    snapshot = body["data"]["lead"]
    assert snapshot["exhibitor"] == {"id": acme.id, "name": "Acme"}
    assert (snapshot["scope"], snapshot["stage"], snapshot["grade"]) == ("exhibitor", "mql", "C")
    assert snapshot["url"] == f"{settings.base_url}/e/summit/leads/{lead.id}"
    assert snapshot["contact"] == {
        "first_name": "Ada", "last_name": "Lovelace", "email": reg.email,
        "company": "Analytical Engines Ltd", "job_title": "Head of Engineering", "country": "GB",
    }  # fmt: skip
    assert snapshot["mql_at"].endswith("Z")


async def test_staff_accepting_a_lead_sends_stage_changed(
    app: FastAPI, db: AsyncSession, client: httpx.AsyncClient, settings: Settings
) -> None:
    event = await make_event(db, slug="summit")
    acme = await make_exhibitor(db, event, name="Acme", slug="acme")
    reg = await make_registration(
        db, event, job_level="individual", company_type="partner", budget="none"
    )
    await record(db, event=event, registration=reg, type="meeting.request",
                 exhibitor_id=acme.id, idempotency_key="m")  # fmt: skip
    await db.commit()
    await run_once(app.state.sessionmaker, settings)  # nobody listens yet: nothing queued
    staff = await bearer(db, event, RoleName.staff, acme)
    lead = (await db.execute(select(Lead).where(Lead.exhibitor_id == acme.id))).scalar_one()
    with running(Receiver()) as receiver:
        await add_endpoint(client, staff, receiver, ["lead.stage_changed"])
        moved = await client.post(
            f"/api/events/summit/leads/{lead.id}/transitions", json={"to": "sal"}, headers=staff
        )
        assert moved.status_code == 201, moved.text
        await run_once(app.state.sessionmaker, settings)
    assert [(r.verified, r.json["type"], r.json["data"]["change"]["to"]) for r in
            receiver.received] == [(True, "lead.stage_changed", "sal")]  # fmt: skip
    assert receiver.received[0].json["data"]["lead"]["stage"] == "sal"


async def test_exhibitor_endpoints_get_only_their_consenting_leads(
    app: FastAPI, db: AsyncSession, client: httpx.AsyncClient, settings: Settings
) -> None:
    event = await make_event(db, slug="summit")
    acme = await make_exhibitor(db, event, name="Acme", slug="acme")
    globex = await make_exhibitor(db, event, name="Globex", slug="globex")
    ada = await make_registration(db, event, first_name="Ada")
    grace = await make_registration(db, event, first_name="Grace")
    organizer = await bearer(db, event, RoleName.organizer)
    acme_staff = await bearer(db, event, RoleName.staff, acme)
    with running(Receiver()) as to_org, running(Receiver()) as to_acme:
        with running(Receiver()) as to_globex:
            await add_endpoint(client, organizer, to_org, ["lead.updated"])
            await add_endpoint(client, acme_staff, to_acme, ["lead.updated"])
            await add_endpoint(client, organizer, to_globex, ["lead.updated"], exhibitor="globex")
            for reg, exhibitor in ((ada, acme), (ada, globex), (grace, globex)):
                key = f"{reg.id}-{exhibitor.id}"
                await record(db, event=event, registration=reg, type="booth.visit",
                             exhibitor_id=exhibitor.id, idempotency_key=key)  # fmt: skip
            # Grace then withdraws her consent: Globex hears nothing more of her lead.
            grace.consent_share_at = None
            await db.commit()
            await run_once(app.state.sessionmaker, settings)

    def seen(receiver: Receiver) -> Counter[tuple[str | None, str]]:
        assert all(r.verified for r in receiver.received)
        return Counter(
            ((lead["exhibitor"] or {}).get("name"), lead["contact"]["first_name"])
            for lead in (r.json["data"]["lead"] for r in receiver.received)
        )

    assert seen(to_acme) == {("Acme", "Ada"): 1}
    assert seen(to_globex) == {("Globex", "Ada"): 1}
    assert seen(to_org) == {
        ("Acme", "Ada"): 1, ("Globex", "Ada"): 1, (None, "Ada"): 1, ("Globex", "Grace"): 1,
        (None, "Grace"): 1,
    }  # fmt: skip


async def test_failed_attempts_retry_with_growing_backoff_then_succeed(
    app: FastAPI, db: AsyncSession, client: httpx.AsyncClient, settings: Settings
) -> None:
    event = await make_event(db, slug="summit")
    organizer = await bearer(db, event, RoleName.organizer)
    clock = Clock()
    with running(Receiver(statuses=[500, 503, 500], clock=clock)) as receiver:
        created = await add_endpoint(client, organizer, receiver, ["lead.updated"])
        ping = await client.post(f"/api/events/summit/webhooks/{created['id']}/ping",
                                 headers=organizer)  # fmt: skip
        assert ping.status_code == 202
        uuid = ping.json()["id"]
        sm = app.state.sessionmaker
        await run_once(sm, settings, now=clock.now)
        first = await _delivery(db, uuid)
        assert (first.status, first.attempts, first.last_status_code) == ("pending", 1, 500)
        assert first.next_attempt_at == clock.now + dt.timedelta(seconds=30)
        assert await run_once(sm, settings, now=clock.step(seconds=20)) == 0
        await run_once(sm, settings, now=clock.step(seconds=15))
        second = await _delivery(db, uuid)
        assert second.attempts == 2
        wait = second.next_attempt_at - clock.now
        assert dt.timedelta(seconds=30) <= wait <= dt.timedelta(seconds=60)
        await run_once(sm, settings, now=clock.step(minutes=1))
        third = await _delivery(db, uuid)
        assert dt.timedelta(seconds=30) <= third.next_attempt_at - clock.now
        assert third.next_attempt_at - clock.now <= dt.timedelta(minutes=2)
        assert (await _endpoint(db, created["id"])).consecutive_failures == 3
        await run_once(sm, settings, now=clock.step(minutes=2))
    done = await _delivery(db, uuid)
    assert (done.status, done.attempts, done.sent_at) == ("sent", 4, clock.now)
    assert [r.json["id"] for r in receiver.verified] == [uuid] * 4
    assert receiver.received[0].json["type"] == "webhook.ping"
    codes = select(WebhookAttempt.status_code).where(WebhookAttempt.delivery_id == done.id)
    log = (await db.execute(codes.order_by(WebhookAttempt.id))).scalars().all()
    assert log == [500, 503, 500, 200]
    endpoint = await _endpoint(db, created["id"])
    assert (endpoint.active, endpoint.consecutive_failures, endpoint.failing_since) == (
        True, 0, None
    )  # fmt: skip


def test_backoff_doubles_from_30_seconds_up_to_6_hours_with_jitter() -> None:
    for attempts in range(1, 30):
        ceiling = min(dt.timedelta(hours=6), dt.timedelta(seconds=30) * 2 ** (attempts - 1))
        for _ in range(20):
            assert dt.timedelta(seconds=30) <= webhook_delivery.backoff(attempts) <= ceiling
    assert len({webhook_delivery.backoff(12) for _ in range(20)}) > 1


async def test_gone_disables_the_endpoint_and_resend_after_enabling_delivers(
    app: FastAPI, db: AsyncSession, client: httpx.AsyncClient, settings: Settings
) -> None:
    event = await make_event(db, slug="summit")
    organizer = await bearer(db, event, RoleName.organizer)
    base = "/api/events/summit/webhooks"
    with running(Receiver(statuses=[410])) as receiver:
        created = await add_endpoint(client, organizer, receiver, ["lead.updated"])
        url = f"{base}/{created['id']}"
        first = (await client.post(f"{url}/ping", headers=organizer)).json()["id"]
        await run_once(app.state.sessionmaker, settings)
        endpoint = (await client.get(url, headers=organizer)).json()
        assert (endpoint["active"], endpoint["disabled_reason"]) == (
            False, "The endpoint answered 410 Gone."
        )  # fmt: skip
        refused = await client.post(f"{url}/ping", headers=organizer)
        assert refused.status_code == 409
        assert refused.json()["error"]["code"] == "webhook.disabled"
        enabled = await client.patch(url, json={"active": True}, headers=organizer)
        assert enabled.json()["active"] is True
        resent = await client.post(f"{url}/deliveries/{first}/resend", headers=organizer)
        assert resent.status_code == 202
        assert resent.json()["status"] == "pending"
        await run_once(app.state.sessionmaker, settings)
    assert [(r.verified, r.json["id"]) for r in receiver.received] == [(True, first)] * 2
    log = (await client.get(f"{url}/deliveries", headers=organizer)).json()
    assert [(d["id"], d["status"], d["attempts"]) for d in log] == [(first, "sent", 1)]
    assert [a["status_code"] for a in log[0]["log"]] == [410, 200]


async def test_repeated_failures_disable_the_endpoint_after_a_day(
    app: FastAPI, db: AsyncSession, client: httpx.AsyncClient, settings: Settings
) -> None:
    event = await make_event(db, slug="summit")
    organizer = await bearer(db, event, RoleName.organizer)
    clock = Clock()
    with running(Receiver(default_status=500, clock=clock)) as receiver:
        created = await add_endpoint(client, organizer, receiver, ["lead.updated"])
        url = f"/api/events/summit/webhooks/{created['id']}"
        uuid = (await client.post(f"{url}/ping", headers=organizer)).json()["id"]
        disabled_at = None
        for step in range(1, 15):
            await run_once(app.state.sessionmaker, settings, now=clock.now)
            endpoint = await _endpoint(db, created["id"])
            if not endpoint.active:
                disabled_at = step
                break
            clock.step(hours=7)
    # Ten failures in a row, the first more than 24 hours before the last.
    assert disabled_at == 10
    assert len(receiver.received) == 10
    assert endpoint.disabled_reason is not None
    assert endpoint.disabled_reason.startswith("10 attempts in a row failed since")
    delivery = await _delivery(db, uuid)
    assert (delivery.status, delivery.last_error) == ("failed", "The endpoint was disabled.")
    assert await run_once(app.state.sessionmaker, settings, now=clock.step(days=1)) == 0


async def test_delivery_gives_up_three_days_after_creation(
    app: FastAPI, db: AsyncSession, client: httpx.AsyncClient, settings: Settings
) -> None:
    event = await make_event(db, slug="summit")
    organizer = await bearer(db, event, RoleName.organizer)
    clock = Clock()
    with running(Receiver(default_status=500, clock=clock)) as receiver:
        created = await add_endpoint(client, organizer, receiver, ["lead.updated"])
        url = f"/api/events/summit/webhooks/{created['id']}"
        uuid = (await client.post(f"{url}/ping", headers=organizer)).json()["id"]
        born = clock.now - dt.timedelta(days=3) + dt.timedelta(minutes=1)
        await db.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.uuid == uuid)
            # Due at the test clock's now, however long the setup took on a busy machine.
            .values(created_at=born, give_up_at=born + dt.timedelta(days=3), next_attempt_at=born)
        )
        await db.commit()
        await run_once(app.state.sessionmaker, settings, now=clock.now)
        first = await _delivery(db, uuid)
        assert (first.status, first.attempts) == ("pending", 1)  # retry in 30 s, still in time
        await run_once(app.state.sessionmaker, settings, now=clock.step(seconds=40))
        assert await run_once(app.state.sessionmaker, settings, now=clock.step(hours=1)) == 0
    delivery = await _delivery(db, uuid)
    assert (delivery.status, delivery.attempts) == ("failed", 2)
    assert delivery.last_error == "Gave up after 2 attempts."
    assert len(receiver.verified) == 2
    assert (await _endpoint(db, created["id"])).active is True


async def test_concurrent_workers_send_each_delivery_exactly_once(
    app: FastAPI, db: AsyncSession, client: httpx.AsyncClient, settings: Settings
) -> None:
    event = await make_event(db, slug="summit")
    acme = await make_exhibitor(db, event, slug="acme")
    organizer = await bearer(db, event, RoleName.organizer)
    sm = app.state.sessionmaker
    with running(Receiver()) as receiver:
        created = await add_endpoint(client, organizer, receiver, ["lead.updated"])
        for n in range(6):
            reg = await make_registration(db, event)
            await record(db, event=event, registration=reg, type="booth.visit",
                         exhibitor_id=acme.id, idempotency_key=f"v{n}")  # fmt: skip
        await db.commit()
        await asyncio.gather(run_once(sm, settings), run_once(sm, settings))
        pings = [
            (await client.post(f"/api/events/summit/webhooks/{created['id']}/ping",
                               headers=organizer)).json()["id"]
            for _ in range(12)
        ]  # fmt: skip

        async def drain() -> None:
            while await webhook_delivery.send_due(sm, settings, limit=2):
                pass

        await asyncio.gather(*(drain() for _ in range(4)))
    counts = Counter(r.json["id"] for r in receiver.received)
    assert len(counts) == 12 + 12  # an event lead and an Acme lead per attendee, and the pings
    assert set(counts.values()) == {1}
    assert set(pings) <= set(counts)
    statuses = (await db.execute(select(WebhookDelivery.status))).scalars().all()
    assert Counter(statuses) == {"sent": 24}
