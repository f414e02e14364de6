"""Webhook endpoints: URL checks (HTTPS, no private addresses), access, create/update/delete,
secret rotation, the delivery log, resend and test pings.

Organizers manage every endpoint of their event; exhibitor staff only their exhibitor's.
Services flush, never commit: the request owns the transaction.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import socket
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.deps import Membership
from app.booths.models import Exhibitor
from app.db import utcnow
from app.errors import Conflict, Forbidden, Invalid, NotFound
from app.integrations import signing
from app.integrations.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from app.integrations.payload import RETRY_WINDOW, encode, envelope
from app.leads.outbox import EVENT_TYPES

PING = "webhook.ping"
DNS_TIMEOUT_SECONDS = 5.0
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class InvalidWebhook(Invalid):
    code = "webhook.invalid"


class WebhookNotFound(NotFound):
    code = "webhook.not_found"

    @classmethod
    def default_message(cls) -> str:
        return "There is no such webhook endpoint at this event."


class WebhookForbidden(Forbidden):
    code = "webhook.forbidden"


class DeliveryInFlight(Conflict):
    code = "webhook.delivery_in_flight"

    @classmethod
    def default_message(cls) -> str:
        return "This delivery is being sent right now; resend it once this attempt is logged."


class WebhookDisabled(Conflict):
    code = "webhook.disabled"

    @classmethod
    def default_message(cls) -> str:
        return "This endpoint is disabled. Enable it again before sending to it."


# IPv6 ranges that carry (or translate to) an IPv4 address, or are deprecated site-local:
# `is_global` says yes to some of them, but they can reach private IPv4 networks.
_EMBEDDING = tuple(
    ipaddress.ip_network(n)
    for n in ("64:ff9b::/96", "64:ff9b:1::/48", "2002::/16", "2001::/32", "::/96", "fec0::/10")
)


def _public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        elif any(address in network for network in _EMBEDDING):
            return False
    return address.is_global and not address.is_multicast


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to (an IP literal resolves to itself)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    lookup = asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    try:
        infos = await asyncio.wait_for(lookup, DNS_TIMEOUT_SECONDS)
    except TimeoutError:
        raise OSError(f"looking up {host} took too long") from None
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


async def public_addresses(host: str, port: int) -> list[IPAddress]:
    """The addresses to connect to; raises InvalidWebhook when one is not public."""
    try:
        found = await resolve(host, port)
    except (OSError, UnicodeError, ValueError):
        raise InvalidWebhook(f"The host {host} could not be resolved.", field="url") from None
    for address in found:
        if not _public(address):
            # Not the address itself: the answer would map internal host names for anyone.
            raise InvalidWebhook(
                f"The host {host} resolves to a private, loopback, link-local or reserved "
                "address; webhooks go to public addresses only.",
                field="url",
            )
    return found


async def check_url(url: str, *, allow_private: bool) -> str:
    """`url` when it may receive webhooks: HTTPS (HTTP too when private addresses are allowed,
    for development), no user name or password, a host resolving to public addresses only."""
    url = url.strip()
    if not url or len(url) > 2000:
        raise InvalidWebhook("Enter the endpoint's URL (at most 2000 characters).", field="url")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidWebhook("That URL is not valid.", field="url") from None
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme.lower() not in schemes:
        raise InvalidWebhook("The URL must start with https://.", field="url")
    if parts.username is not None or parts.password is not None:
        raise InvalidWebhook("The URL must not hold a user name or password.", field="url")
    if not parts.hostname:
        raise InvalidWebhook("The URL must name a host.", field="url")
    if not allow_private:
        await public_addresses(parts.hostname, port or 443)
    return url


def check_types(types: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(t.strip() for t in types if t.strip()))
    unknown = [t for t in chosen if t not in EVENT_TYPES]
    if unknown:
        raise InvalidWebhook(
            f"Unknown event type {unknown[0]!r}; choose from {', '.join(EVENT_TYPES)}.",
            field="event_types",
        )
    if not chosen:
        raise InvalidWebhook("Choose at least one event type.", field="event_types")
    return chosen


def visible(member: Membership) -> ColumnElement[bool]:
    """The endpoints `member` may see and manage."""
    clause = WebhookEndpoint.event_id == member.event.id
    if member.is_organizer:
        return clause
    return clause & WebhookEndpoint.exhibitor_id.in_(member.exhibitor_ids)


@dataclass(frozen=True, slots=True)
class Listed:
    endpoint: WebhookEndpoint
    exhibitor: Exhibitor | None


async def exhibitor_named(db: AsyncSession, member: Membership, slug: str) -> Exhibitor:
    exhibitor = (
        await db.execute(
            select(Exhibitor).where(Exhibitor.event_id == member.event.id, Exhibitor.slug == slug)
        )
    ).scalar_one_or_none()
    if exhibitor is None:
        raise NotFound("There is no such exhibitor at this event.")
    if not (member.is_organizer or member.staffs(exhibitor.id)):
        raise WebhookForbidden(
            "Only this exhibitor's staff and the organizers manage its webhooks."
        )
    return exhibitor


async def list_endpoints(
    db: AsyncSession, member: Membership, *, exhibitor_id: int | None = None, level: bool = False
) -> list[Listed]:
    """The visible endpoints; `exhibitor_id` narrows to one exhibitor, `level` to the event's."""
    query = (
        select(WebhookEndpoint, Exhibitor)
        .outerjoin(Exhibitor, Exhibitor.id == WebhookEndpoint.exhibitor_id)
        .where(visible(member))
        .order_by(WebhookEndpoint.id)
    )
    if exhibitor_id is not None:
        query = query.where(WebhookEndpoint.exhibitor_id == exhibitor_id)
    elif level:
        query = query.where(WebhookEndpoint.exhibitor_id.is_(None))
    return [Listed(e, x) for e, x in (await db.execute(query)).all()]


async def get(db: AsyncSession, member: Membership, endpoint_id: int) -> Listed:
    row = (
        await db.execute(
            select(WebhookEndpoint, Exhibitor)
            .outerjoin(Exhibitor, Exhibitor.id == WebhookEndpoint.exhibitor_id)
            .where(visible(member), WebhookEndpoint.id == endpoint_id)
        )
    ).one_or_none()
    if row is None:
        raise WebhookNotFound()
    return Listed(row[0], row[1])


async def create(
    db: AsyncSession,
    *,
    member: Membership,
    url: str,
    event_types: Sequence[str],
    description: str = "",
    exhibitor_slug: str | None = None,
    allow_private: bool,
) -> Listed:
    """A new active endpoint; its secret is on the returned row (shown once)."""
    exhibitor = None
    if exhibitor_slug:
        exhibitor = await exhibitor_named(db, member, exhibitor_slug)
    elif not member.is_organizer:
        if len(member.exhibitor_ids) != 1:
            raise InvalidWebhook("Choose the exhibitor this endpoint is for.", field="exhibitor")
        exhibitor = await db.get(Exhibitor, next(iter(member.exhibitor_ids)))
    types = check_types(event_types)
    checked = await check_url(url, allow_private=allow_private)
    endpoint = WebhookEndpoint(
        event_id=member.event.id,
        exhibitor_id=exhibitor.id if exhibitor is not None else None,
        url=checked,
        description=description.strip()[:200],
        secret=signing.new_secret(),
        event_types=types,
        active=True,
        consecutive_failures=0,
        created_by_id=member.account.id,
        created_at=utcnow(),
    )
    db.add(endpoint)
    await db.flush()
    return Listed(endpoint, exhibitor)


async def update_endpoint(
    db: AsyncSession,
    endpoint: WebhookEndpoint,
    *,
    url: str | None = None,
    event_types: Sequence[str] | None = None,
    description: str | None = None,
    active: bool | None = None,
    allow_private: bool,
) -> WebhookEndpoint:
    """Change what is given; `active=True` re-enables (the failure count starts again),
    `active=False` disables and stops its pending deliveries."""
    # Check everything before changing anything: a refused update leaves the row as it was.
    types = check_types(event_types) if event_types is not None else None
    checked = await check_url(url, allow_private=allow_private) if url is not None else None
    if checked is not None:
        endpoint.url = checked
    if types is not None:
        endpoint.event_types = types
    if description is not None:
        endpoint.description = description.strip()[:200]
    if active is True and not endpoint.active:
        endpoint.active = True
        endpoint.disabled_at = endpoint.disabled_reason = None
        endpoint.consecutive_failures = 0
        endpoint.failing_since = None
    elif active is False and endpoint.active:
        await disable(db, endpoint.id, "Disabled by a user.", now=utcnow())
        await db.refresh(endpoint)
    await db.flush()
    return endpoint


async def disable(db: AsyncSession, endpoint_id: int, reason: str, *, now: dt.datetime) -> bool:
    """Turn an active endpoint off and fail its pending deliveries (they can be resent later);
    False when it was already off."""
    done = await db.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.active.is_(True))
        .values(active=False, disabled_at=now, disabled_reason=reason[:200])
        .returning(WebhookEndpoint.id)
        .execution_options(synchronize_session=False)
    )
    if done.scalar() is None:
        return False
    await db.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.status == "pending")
        .values(status="failed", last_error="The endpoint was disabled.")
        .execution_options(synchronize_session=False)
    )
    return True


async def delete_endpoint(db: AsyncSession, endpoint: WebhookEndpoint) -> None:
    """Delete it with its deliveries and their log."""
    await db.execute(delete(WebhookEndpoint).where(WebhookEndpoint.id == endpoint.id))


async def rotate_secret(db: AsyncSession, endpoint: WebhookEndpoint) -> str:
    """A new secret, effective for every later attempt (pending deliveries included)."""
    endpoint.secret = signing.new_secret()
    await db.flush()
    return endpoint.secret


async def deliveries(
    db: AsyncSession, endpoint: WebhookEndpoint, *, limit: int = 50
) -> list[tuple[WebhookDelivery, list[WebhookAttempt]]]:
    """The newest deliveries with their attempts, newest first."""
    rows = list(
        (
            await db.execute(
                select(WebhookDelivery)
                .where(WebhookDelivery.endpoint_id == endpoint.id)
                .order_by(WebhookDelivery.id.desc())
                .limit(limit)
            )
        ).scalars()
    )
    attempts: dict[int, list[WebhookAttempt]] = {d.id: [] for d in rows}
    if rows:
        found = await db.execute(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_(attempts))
            .order_by(WebhookAttempt.id)
        )
        for attempt in found.scalars():
            attempts[attempt.delivery_id].append(attempt)
    return [(d, attempts[d.id]) for d in rows]


async def resend(
    db: AsyncSession, endpoint: WebhookEndpoint, delivery_uuid: str
) -> WebhookDelivery:
    """Queue a delivery again, same id and body (receivers deduplicate on the id), with a
    fresh retry window."""
    if not endpoint.active:
        raise WebhookDisabled()
    delivery = (
        await db.execute(
            select(WebhookDelivery).where(
                WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.uuid == delivery_uuid
            )
        )
    ).scalar_one_or_none()
    if delivery is None:
        raise NotFound("There is no such delivery for this endpoint.")
    now = utcnow()
    if delivery.status == "pending" and delivery.locked_until and delivery.locked_until > now:
        raise DeliveryInFlight()
    delivery.status = "pending"
    delivery.attempts = 0
    delivery.next_attempt_at = now
    delivery.give_up_at = now + RETRY_WINDOW
    delivery.locked_until = delivery.lock_token = None
    await db.flush()
    return delivery


async def ping(db: AsyncSession, member: Membership, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Queue a `webhook.ping` delivery, signed and logged like any other."""
    if not endpoint.active:
        raise WebhookDisabled()
    now = utcnow()
    delivery_id = str(uuid.uuid4())
    event = member.event
    body = envelope(delivery_id, PING, now, event, {"endpoint_id": endpoint.id})
    delivery = WebhookDelivery(
        uuid=delivery_id,
        endpoint_id=endpoint.id,
        lead_event_id=None,
        event_type=PING,
        body=encode(body),
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        give_up_at=now + RETRY_WINDOW,
    )
    db.add(delivery)
    await db.flush()
    return delivery
