"""The JSON body of a webhook delivery (docs/webhooks.md describes every field)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson

from app.booths.models import Exhibitor
from app.events.models import Event, Registration
from app.leads.models import Lead

RETRY_WINDOW = dt.timedelta(days=3)


def envelope(
    delivery_id: str, type: str, created_at: dt.datetime, event: Event, data: dict[str, Any]
) -> dict[str, Any]:
    return {
        "id": delivery_id,
        "type": type,
        "created_at": created_at,
        "event": {"id": event.id, "slug": event.slug, "name": event.name},
        "data": data,
    }


def encode(body: dict[str, Any]) -> str:
    """Compact JSON, timestamps as ISO 8601 in UTC with a Z: the exact text that is signed."""
    return orjson.dumps(body, option=orjson.OPT_UTC_Z).decode()


def lead_snapshot(
    lead: Lead,
    event: Event,
    registration: Registration,
    exhibitor: Exhibitor | None,
    *,
    base_url: str,
) -> dict[str, Any]:
    """The lead as the webhook body shows it; no contact for an erased attendee."""
    contact = None
    if registration.erased_at is None:
        contact = {
            "first_name": registration.first_name,
            "last_name": registration.last_name,
            "email": registration.email,
            "company": registration.company,
            "job_title": registration.job_title,
            "country": registration.country,
        }
    return {
        "id": lead.id,
        "scope": "event" if exhibitor is None else "exhibitor",
        "exhibitor": None if exhibitor is None else {"id": exhibitor.id, "name": exhibitor.name},
        "stage": lead.stage,
        "grade": lead.grade,
        "tier": lead.tier,
        "cell": lead.cell,
        "fit": lead.fit,
        "engagement": lead.engagement,
        "buying_stage": lead.buying_stage,
        "mql_at": lead.mql_at,
        "last_activity_at": lead.last_activity_at,
        "url": f"{base_url.rstrip('/')}/e/{event.slug}/leads/{lead.id}",
        "contact": contact,
    }
