"""Webhook endpoints over HTTP: /api/events/{slug}/webhooks (organizers: the whole event;
exhibitor staff: their exhibitor's), with the delivery log, resend and test pings."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from app.auth.deps import BoothStaff
from app.db import DbSession, RowId
from app.integrations import webhooks
from app.integrations.models import WebhookAttempt, WebhookDelivery
from app.leads.outbox import EVENT_TYPES

router = APIRouter(prefix="/api/events/{slug}/webhooks", tags=["webhooks"])


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=2000)
    event_types: list[str] = Field(default_factory=lambda: list(EVENT_TYPES), max_length=10)
    description: str = Field(default="", max_length=200)
    exhibitor: str | None = Field(default=None, max_length=80, description="Exhibitor slug.")


class WebhookUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, max_length=2000)
    event_types: list[str] | None = Field(default=None, max_length=10)
    description: str | None = Field(default=None, max_length=200)
    active: bool | None = None


class ExhibitorRef(BaseModel):
    id: int
    slug: str
    name: str


class WebhookRead(BaseModel):
    id: int
    url: str
    description: str
    event_types: list[str]
    exhibitor: ExhibitorRef | None
    active: bool
    disabled_at: dt.datetime | None
    disabled_reason: str | None
    consecutive_failures: int
    created_at: dt.datetime


class WebhookSecret(BaseModel):
    secret: str


class WebhookCreated(WebhookRead):
    secret: str


class AttemptRead(BaseModel):
    at: dt.datetime
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryRead(BaseModel):
    id: str
    event_type: str
    status: str
    attempts: int
    created_at: dt.datetime
    next_attempt_at: dt.datetime | None
    sent_at: dt.datetime | None
    last_status_code: int | None
    last_error: str | None
    body: str
    log: list[AttemptRead]


def _read(listed: webhooks.Listed) -> WebhookRead:
    e, x = listed.endpoint, listed.exhibitor
    return WebhookRead(
        id=e.id,
        url=e.url,
        description=e.description,
        event_types=list(e.event_types),
        exhibitor=None if x is None else ExhibitorRef(id=x.id, slug=x.slug, name=x.name),
        active=e.active,
        disabled_at=e.disabled_at,
        disabled_reason=e.disabled_reason,
        consecutive_failures=e.consecutive_failures,
        created_at=e.created_at,
    )


def delivery_read(d: WebhookDelivery, attempts: list[WebhookAttempt]) -> DeliveryRead:
    return DeliveryRead(
        id=d.uuid,
        event_type=d.event_type,
        status=d.status,
        attempts=d.attempts,
        created_at=d.created_at,
        next_attempt_at=d.next_attempt_at if d.status == "pending" else None,
        sent_at=d.sent_at,
        last_status_code=d.last_status_code,
        last_error=d.last_error,
        body=d.body,
        log=[AttemptRead(at=a.at, status_code=a.status_code, error=a.error,
                         duration_ms=a.duration_ms) for a in attempts],
    )  # fmt: skip


def _allow_private(request: Request) -> bool:
    return bool(request.app.state.settings.allow_private_webhooks)


@router.get("")
async def list_webhooks(
    member: BoothStaff, db: DbSession, exhibitor: str | None = None
) -> list[WebhookRead]:
    exhibitor_id = None
    if exhibitor:
        exhibitor_id = (await webhooks.exhibitor_named(db, member, exhibitor)).id
    return [_read(x) for x in await webhooks.list_endpoints(db, member, exhibitor_id=exhibitor_id)]


@router.post("", status_code=201)
async def create_webhook(
    body: WebhookCreate, request: Request, member: BoothStaff, db: DbSession
) -> WebhookCreated:
    """A new endpoint; the answer holds its signing secret, shown this once."""
    listed = await webhooks.create(
        db,
        member=member,
        url=body.url,
        event_types=body.event_types,
        description=body.description,
        exhibitor_slug=body.exhibitor,
        allow_private=_allow_private(request),
    )
    return WebhookCreated(**_read(listed).model_dump(), secret=listed.endpoint.secret)


@router.get("/{endpoint_id}")
async def get_webhook(endpoint_id: RowId, member: BoothStaff, db: DbSession) -> WebhookRead:
    return _read(await webhooks.get(db, member, endpoint_id))


@router.patch("/{endpoint_id}")
async def update_webhook(
    endpoint_id: RowId, body: WebhookUpdate, request: Request, member: BoothStaff, db: DbSession
) -> WebhookRead:
    """Change the URL, types or description; `active: true` re-enables a disabled endpoint."""
    listed = await webhooks.get(db, member, endpoint_id)
    await webhooks.update_endpoint(
        db,
        listed.endpoint,
        url=body.url,
        event_types=body.event_types,
        description=body.description,
        active=body.active,
        allow_private=_allow_private(request),
    )
    return _read(listed)


@router.delete("/{endpoint_id}", status_code=204)
async def delete_webhook(endpoint_id: RowId, member: BoothStaff, db: DbSession) -> Response:
    listed = await webhooks.get(db, member, endpoint_id)
    await webhooks.delete_endpoint(db, listed.endpoint)
    return Response(status_code=204)


@router.post("/{endpoint_id}/rotate-secret")
async def rotate_secret(endpoint_id: RowId, member: BoothStaff, db: DbSession) -> WebhookSecret:
    listed = await webhooks.get(db, member, endpoint_id)
    return WebhookSecret(secret=await webhooks.rotate_secret(db, listed.endpoint))


@router.get("/{endpoint_id}/deliveries")
async def list_deliveries(
    endpoint_id: RowId, member: BoothStaff, db: DbSession
) -> list[DeliveryRead]:
    """The delivery log: the newest 50 deliveries with every attempt."""
    listed = await webhooks.get(db, member, endpoint_id)
    return [delivery_read(d, a) for d, a in await webhooks.deliveries(db, listed.endpoint)]


@router.post("/{endpoint_id}/deliveries/{delivery_id}/resend", status_code=202)
async def resend_delivery(
    endpoint_id: RowId, delivery_id: str, member: BoothStaff, db: DbSession
) -> DeliveryRead:
    """Queue the delivery again (same id and body); the worker sends it within seconds."""
    listed = await webhooks.get(db, member, endpoint_id)
    return delivery_read(await webhooks.resend(db, listed.endpoint, delivery_id), [])


@router.post("/{endpoint_id}/ping", status_code=202)
async def ping_webhook(endpoint_id: RowId, member: BoothStaff, db: DbSession) -> DeliveryRead:
    """Queue a signed `webhook.ping` delivery to check the receiver."""
    listed = await webhooks.get(db, member, endpoint_id)
    return delivery_read(await webhooks.ping(db, member, listed.endpoint), [])
