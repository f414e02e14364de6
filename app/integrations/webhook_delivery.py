"""Lead events → webhook deliveries (`dispatch_events`), and sending them (`send_due`).

Both run in the worker, after the lead change committed. Dispatch turns each undispatched
`lead_events` row into one delivery per subscribed endpoint, with the exact body that every
attempt will sign and send. Sending leases due deliveries (`claim`), POSTs them outside any
transaction and finishes each row only while it still holds the lease, so several worker
processes never send one delivery twice at once. docs/webhooks.md is the receiver's side.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import structlog
from sqlalchemy import exists, func, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import __version__
from app.booths.booth_repository import shares_clause
from app.booths.models import Exhibitor
from app.config import Settings
from app.db import utcnow
from app.errors import Invalid
from app.events.models import Event, Registration
from app.integrations import signing, webhooks
from app.integrations.claim import claim
from app.integrations.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from app.integrations.payload import RETRY_WINDOW, encode, envelope, lead_snapshot
from app.leads.models import Lead, LeadEvent

log = structlog.get_logger()

DISPATCH_BATCH = 300
CLEAR_BATCH = 1_000
"""Events nobody listens to that one statement marks as done, on SQLite. There the statement
runs on the event loop's thread: unbounded, the lead events of a rescore (half a million for
a million activities) were marked in rounds that held the loop for up to 77-136 ms on
200,000 activities; a thousand at a time, 10 ms at most (2,000: 13 ms, with a p99 twice as
high). It is not below DISPATCH_BATCH, which tells the worker to go on at once.
On PostgreSQL the statement waits for the server, not on the loop, and stays unbounded: in
rounds of a thousand each round's index scan steps over the rows the earlier rounds marked
(dead until vacuumed), so 200,000 events took 201 rounds and 9.1 s (23 ms the first, 80 ms
the last) against 0.7 s in one statement."""
SEND_BATCH = 50
CONCURRENCY = 10
BACKOFF_BASE = dt.timedelta(seconds=30)
BACKOFF_CAP = dt.timedelta(hours=6)
DISABLE_AFTER_FAILURES = 10
DISABLE_AFTER_FAILING_FOR = dt.timedelta(hours=24)
USER_AGENT = f"Expohall-Webhooks/{__version__}"


def _wants(endpoint: WebhookEndpoint, type: str, lead: Lead, shares: bool) -> bool:
    if type not in endpoint.event_types:
        return False
    if endpoint.exhibitor_id is None:
        return True  # organizers: every lead of the event
    return endpoint.exhibitor_id == lead.exhibitor_id and shares


async def dispatch_events(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    now: dt.datetime | None = None,
    limit: int = DISPATCH_BATCH,
    clear_limit: int = CLEAR_BATCH,
) -> int:
    """Fan the oldest undispatched lead events out to their endpoints, in one transaction;
    returns how many events were dispatched. With no active endpoint anywhere, they are
    marked as done instead (on SQLite the oldest `clear_limit`)."""
    now = now or utcnow()
    query = (
        select(
            LeadEvent,
            Lead,
            Event,
            Registration,
            Exhibitor,
            shares_clause(Lead.exhibitor_id).label("shares"),
        )
        .join(Lead, Lead.id == LeadEvent.lead_id)
        .join(Event, Event.id == Lead.event_id)
        .join(Registration, Registration.id == Lead.registration_id)
        .outerjoin(Exhibitor, Exhibitor.id == Lead.exhibitor_id)
        .where(LeadEvent.dispatched_at.is_(None))
        .order_by(LeadEvent.id)
        .limit(limit)
    )
    async with sessionmaker() as db, db.begin():
        if not (
            await db.execute(select(exists().where(WebhookEndpoint.active.is_(True))))
        ).scalar():
            # Nobody listens anywhere: the events are done with, in one statement.
            clear = update(LeadEvent).where(LeadEvent.dispatched_at.is_(None))
            if db.get_bind().dialect.name == "sqlite":
                # On the event loop's thread (CLEAR_BATCH): the oldest, a bounded number.
                oldest = (
                    select(LeadEvent.id)
                    .where(LeadEvent.dispatched_at.is_(None))
                    .order_by(LeadEvent.id)
                    .limit(clear_limit)
                )
                clear = clear.where(LeadEvent.id.in_(oldest.scalar_subquery()))
            done = await db.execute(
                clear.values(dispatched_at=now).execution_options(synchronize_session=False)
            )
            return int(getattr(done, "rowcount", 0) or 0)
        dialect = db.get_bind().dialect.name
        if dialect == "postgresql":
            query = query.with_for_update(of=LeadEvent, skip_locked=True)
        rows = (await db.execute(query)).all()
        if not rows:
            return 0
        event_ids = {row[2].id for row in rows}
        endpoints = (
            (
                await db.execute(
                    select(WebhookEndpoint).where(
                        WebhookEndpoint.event_id.in_(event_ids), WebhookEndpoint.active.is_(True)
                    )
                )
            )
            .scalars()
            .all()
        )
        values: list[dict[str, Any]] = []
        for lead_event, lead, event, registration, exhibitor, shares in rows:
            if registration.erased_at is not None:
                continue  # the attendee deleted their account: nothing more about them leaves
            targets = [
                e
                for e in endpoints
                if e.event_id == event.id and _wants(e, lead_event.type, lead, bool(shares))
            ]
            if not targets:
                continue
            data = {
                "lead": lead_snapshot(
                    lead, event, registration, exhibitor, base_url=settings.base_url
                ),
                "change": lead_event.change,
            }
            for endpoint in targets:
                delivery_id = str(uuid.uuid4())
                body = envelope(delivery_id, lead_event.type, lead_event.at, event, data)
                values.append(
                    {
                        "uuid": delivery_id,
                        "endpoint_id": endpoint.id,
                        "lead_event_id": lead_event.id,
                        "registration_id": lead.registration_id,
                        "event_type": lead_event.type,
                        "body": encode(body),
                        "status": "pending",
                        "attempts": 0,
                        "next_attempt_at": now,
                        "created_at": now,
                        "give_up_at": now + RETRY_WINDOW,
                    }
                )
        if values:
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            await db.execute(
                insert(WebhookDelivery).on_conflict_do_nothing(
                    index_elements=["endpoint_id", "lead_event_id"]
                ),
                values,
            )
        await db.execute(
            update(LeadEvent)
            .where(LeadEvent.id.in_([row[0].id for row in rows]))
            .values(dispatched_at=now)
            .execution_options(synchronize_session=False)
        )
    log.info("webhook.dispatched", events=len(rows), deliveries=len(values))
    return len(rows)


@dataclass(frozen=True, slots=True)
class Outcome:
    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def backoff(attempts: int) -> dt.timedelta:
    """The wait after the `attempts`-th failure: full jitter under 30 s × 2^(n-1), capped at
    6 hours, and never under 30 s."""
    ceiling: dt.timedelta = min(BACKOFF_CAP, BACKOFF_BASE * (1 << min(attempts - 1, 20)))
    return max(BACKOFF_BASE, ceiling * random.random())  # noqa: S311 - jitter, not a secret


async def _target(url: str, settings: Settings) -> tuple[str, dict[str, str], dict[str, Any]]:
    """The URL to connect to, extra headers and request extensions. Unless private addresses
    are allowed, the host is resolved now and the connection pinned to a checked address, so
    a DNS answer that changed since the endpoint was saved cannot point us inside."""
    if settings.allow_private_webhooks:
        return url, {}, {}
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme != "https":
        raise webhooks.InvalidWebhook("The URL must start with https://.")
    addresses = await webhooks.public_addresses(host, parts.port or 443)
    address = str(addresses[0])
    literal = f"[{address}]" if ":" in address else address
    netloc = literal + (f":{parts.port}" if parts.port else "")
    pinned = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    host_header = parts.netloc.rsplit("@", 1)[-1]
    return pinned, {"Host": host_header}, {"sni_hostname": host}


async def post(
    client: httpx.AsyncClient,
    settings: Settings,
    *,
    url: str,
    secret: str,
    delivery_id: str,
    event_type: str,
    body: str,
    now: dt.datetime,
) -> Outcome:
    """One signed attempt; never raises for a network or address problem."""
    content = body.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Expohall-Delivery": delivery_id,
        "Expohall-Event": event_type,
        signing.HEADER: signing.signature_header(secret, int(now.timestamp()), content),
    }
    started = time.monotonic()
    deadline = 2 * settings.webhook_timeout_seconds  # httpx's timeout is per read or write
    try:
        async with asyncio.timeout(deadline):
            target, extra, extensions = await _target(url, settings)
            request = client.build_request(
                "POST", target, content=content, headers={**headers, **extra}, extensions=extensions
            )
            response = await client.send(request, stream=True)
            await response.aclose()  # the status is all we keep; never read a large body
        status, error = response.status_code, None
    except TimeoutError:
        status, error = None, f"No complete answer within {deadline:g} s."
    except Invalid as exc:
        status, error = None, exc.message
    except httpx.HTTPError as exc:
        status, error = None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    except OSError as exc:
        status, error = None, f"{type(exc).__name__}: {exc}"
    duration = int((time.monotonic() - started) * 1000)
    return Outcome(status, error[:500] if error else None, duration)


async def send_due(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    now: dt.datetime | None = None,
    limit: int = SEND_BATCH,
) -> int:
    """Send the deliveries that are due; returns how many were leased."""
    now = now or utcnow()
    rounds = -(-limit // CONCURRENCY)
    lease = 60 + 2 * rounds * settings.webhook_timeout_seconds
    token, ids = await claim(
        sessionmaker, WebhookDelivery, status="pending", limit=limit, lease_seconds=lease, now=now
    )
    if not ids:
        return 0
    async with sessionmaker() as db, db.begin():
        rows = (
            await db.execute(
                select(WebhookDelivery, WebhookEndpoint, Registration.erased_at)
                .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
                .outerjoin(Registration, Registration.id == WebhookDelivery.registration_id)
                .where(WebhookDelivery.id.in_(ids), WebhookDelivery.lock_token == token)
                .order_by(WebhookDelivery.id)
            )
        ).all()
    live = [(d, e) for d, e, erased in rows if e.active and erased is None]
    erased_ids = [d.id for d, e, erased in rows if erased is not None]
    if erased_ids:  # erased since the body was written (a race with the erasure): never sent
        await _finish_off(
            sessionmaker, token, erased_ids, reason="The attendee deleted their account."
        )
    disabled = [d.id for d, e, erased in rows if not e.active and erased is None]
    if disabled:
        await _finish_off(sessionmaker, token, disabled, reason="The endpoint was disabled.")
    gate = asyncio.Semaphore(CONCURRENCY)
    timeout = httpx.Timeout(settings.webhook_timeout_seconds)
    async with httpx.AsyncClient(
        timeout=timeout, follow_redirects=False, trust_env=False
    ) as client:

        async def attempt(delivery: WebhookDelivery, endpoint: WebhookEndpoint) -> None:
            async with gate:
                outcome = await post(
                    client,
                    settings,
                    url=endpoint.url,
                    secret=endpoint.secret,
                    delivery_id=delivery.uuid,
                    event_type=delivery.event_type,
                    body=delivery.body,
                    now=now,
                )
            await _finish(sessionmaker, token, delivery, endpoint.id, outcome, now)

        await asyncio.gather(*(attempt(d, e) for d, e in live))
    return len(ids)


async def _finish_off(
    sessionmaker: async_sessionmaker[AsyncSession],
    token: str,
    ids: Sequence[int],
    *,
    reason: str,
) -> None:
    async with sessionmaker() as db, db.begin():
        await db.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(ids), WebhookDelivery.lock_token == token)
            .values(
                status="failed",
                last_error=reason,
                locked_until=None,
                lock_token=None,
            )
        )


async def _finish(
    sessionmaker: async_sessionmaker[AsyncSession],
    token: str,
    delivery: WebhookDelivery,
    endpoint_id: int,
    outcome: Outcome,
    now: dt.datetime,
) -> None:
    """Log the attempt and settle the delivery (only while the lease is ours) and endpoint."""
    attempts = delivery.attempts + 1
    values: dict[str, Any] = {
        "attempts": attempts,
        "last_status_code": outcome.status_code,
        "last_error": outcome.error,
        "locked_until": None,
        "lock_token": None,
    }
    give_up_at = delivery.give_up_at or delivery.created_at + RETRY_WINDOW
    retry_at = now + backoff(attempts)
    if outcome.ok:
        values.update(status="sent", sent_at=now, last_error=None)
    elif outcome.status_code == 410:
        values.update(status="failed", last_error="The endpoint answered 410 Gone.")
    elif retry_at > give_up_at:
        values.update(status="failed", last_error=f"Gave up after {attempts} attempts.")
    else:
        values.update(next_attempt_at=retry_at)
    async with sessionmaker() as db, db.begin():
        db.add(
            WebhookAttempt(
                delivery_id=delivery.id,
                at=now,
                status_code=outcome.status_code,
                error=outcome.error,
                duration_ms=outcome.duration_ms,
            )
        )
        settled = await db.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery.id, WebhookDelivery.lock_token == token)
            .values(**values)
            .returning(WebhookDelivery.id)
            .execution_options(synchronize_session=False)
        )
        if settled.scalar() is None:
            log.warning("webhook.lease_lost", delivery=delivery.uuid)
        await _settle_endpoint(db, endpoint_id, outcome, now)
    log.info(
        "webhook.attempt",
        delivery=delivery.uuid,
        status_code=outcome.status_code,
        error=outcome.error,
        result=values.get("status", "retry"),
    )


async def _settle_endpoint(
    db: AsyncSession, endpoint_id: int, outcome: Outcome, now: dt.datetime
) -> None:
    if outcome.ok:
        await db.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint_id)
            .values(consecutive_failures=0, failing_since=None)
        )
        return
    if outcome.status_code == 410:
        if await webhooks.disable(db, endpoint_id, "The endpoint answered 410 Gone.", now=now):
            log.warning("webhook.endpoint_disabled", endpoint=endpoint_id, reason="gone")
        return
    counted = await db.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id)
        .values(
            consecutive_failures=WebhookEndpoint.consecutive_failures + 1,
            failing_since=func.coalesce(
                WebhookEndpoint.failing_since, literal(now, WebhookEndpoint.failing_since.type)
            ),
        )
        .returning(WebhookEndpoint.consecutive_failures, WebhookEndpoint.failing_since)
        .execution_options(synchronize_session=False)
    )
    row = counted.one_or_none()
    if row is None or row[0] < DISABLE_AFTER_FAILURES:
        return
    failing_since: dt.datetime | None = row[1]
    if failing_since is not None and failing_since <= now - DISABLE_AFTER_FAILING_FOR:
        reason = f"{row[0]} attempts in a row failed since {failing_since:%Y-%m-%d %H:%M} UTC."
        if await webhooks.disable(db, endpoint_id, reason, now=now):
            log.warning("webhook.endpoint_disabled", endpoint=endpoint_id, reason="failures")
