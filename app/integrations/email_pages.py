"""Follow-up email pages: compose (filters, count, preview, send) and each campaign's status."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from app.auth.csrf import verify_csrf
from app.auth.deps import Member, Membership
from app.booths.models import Exhibitor
from app.db import DbSession, RowId
from app.errors import Invalid
from app.integrations import campaigns
from app.integrations.campaigns import Preview
from app.leads.export_api import CELL_CHOICES, FILTER_KEYS, GRADE_CHOICES
from app.leads.labels import VOCAB
from app.leads.vocab import BUYING_STAGES, LIFECYCLE, TIERS
from app.templating import templates

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)

DEFAULT_SUBJECT = "Thank you for visiting {{ exhibitor_name }} at {{ event_name }}"
DEFAULT_BODY = """Hello {{ first_name }},

thank you for your time at {{ event_name }}.
{% if engaged %}
You joined us for:
{% for item in engaged %}- {{ item }}
{% endfor %}{% endif %}
Best regards,
{{ exhibitor_name }}
"""


async def _compose(
    request: Request,
    db: DbSession,
    member: Membership,
    params: dict[str, str],
    *,
    preview: Preview | None = None,
    error: str | None = None,
    error_field: str | None = None,
) -> HTMLResponse:
    event = member.event
    audience, errors = await campaigns.audience_for(db, member, params)
    exhibitors: list[Exhibitor] = []
    if member.is_organizer:
        query = select(Exhibitor).where(Exhibitor.event_id == event.id)
    else:
        query = select(Exhibitor).where(Exhibitor.id.in_(member.exhibitor_ids))
    exhibitors = list((await db.execute(query.order_by(Exhibitor.name))).scalars())
    found = await campaigns.recipients(db, audience.filter) if not errors else []
    blocked = await campaigns.suppressed_among(db, (r.email or "" for _, r in found))
    suppressed = sum(1 for _, r in found if (r.email or "").lower() in blocked)
    status = 422 if errors or error else 200
    return templates.TemplateResponse(
        request,
        "integrations/email_compose.html",
        {
            "nav": "leads",
            "vocab": VOCAB,
            "event": event,
            "membership": member,
            "audience": audience,
            "exhibitors": exhibitors,
            "values": {k: params.get(k, "") for k in FILTER_KEYS},
            "subject": params.get("subject", DEFAULT_SUBJECT),
            "body": params.get("body", DEFAULT_BODY),
            "errors": errors,
            "error": error,
            "error_field": error_field,
            "total": len(found),
            "suppressed": suppressed,
            "preview": preview,
            "smtp_configured": bool(request.app.state.settings.smtp_host),
            "lifecycle": LIFECYCLE,
            "cells": CELL_CHOICES,
            "grades": GRADE_CHOICES,
            "tiers": TIERS,
            "buying_stages": BUYING_STAGES,
        },
        status_code=status,
    )


@router.get("/e/{slug}/campaigns/new", response_class=HTMLResponse)
async def compose(request: Request, member: Member, db: DbSession) -> HTMLResponse:
    """The compose page; the filters come from the export page's query string."""
    return await _compose(request, db, member, dict(request.query_params))


@router.post("/e/{slug}/campaigns/new", response_class=HTMLResponse)
async def submit(request: Request, member: Member, db: DbSession) -> Response:
    """ "Preview" renders the email for the first recipient; "Send" queues the campaign."""
    form = await request.form()
    params = {k: v.strip() for k, v in form.items() if isinstance(v, str)}
    audience, errors = await campaigns.audience_for(db, member, params)
    if errors:
        return await _compose(request, db, member, params)
    subject, body = params.get("subject", ""), params.get("body", "")
    try:
        if not subject or not body:
            raise Invalid(
                "Write a subject and a message.", field="subject" if not subject else "body"
            )
        if params.get("action") != "send":
            shown = await campaigns.preview(db, audience, subject, body)
            return await _compose(request, db, member, params, preview=shown)
        campaign = await campaigns.create(
            db, audience, subject=subject, body=body, created_by_id=member.account.id
        )
    except Invalid as exc:
        field = exc.extra.get("field")
        return await _compose(
            request, db, member, params, error=exc.message, error_field=str(field or "")
        )
    return RedirectResponse(f"/e/{member.event.slug}/campaigns/{campaign.id}", 303)


@router.get("/e/{slug}/campaigns", response_class=HTMLResponse)
async def campaign_list(request: Request, member: Member, db: DbSession) -> HTMLResponse:
    rows = await campaigns.campaigns_of(db, member)
    counts = await campaigns.counts_of(db, [c.id for c in rows])
    items: list[dict[str, Any]] = [{"campaign": c, "counts": counts[c.id]} for c in rows]
    return templates.TemplateResponse(
        request,
        "integrations/email_campaigns.html",
        {"nav": "leads", "event": member.event, "membership": member, "items": items},
    )


@router.get("/e/{slug}/campaigns/{campaign_id}", response_class=HTMLResponse)
async def campaign_status(
    request: Request, campaign_id: RowId, member: Member, db: DbSession
) -> HTMLResponse:
    campaign = await campaigns.campaign_for(db, member, campaign_id)
    exhibitor = await db.get(Exhibitor, campaign.exhibitor_id) if campaign.exhibitor_id else None
    return templates.TemplateResponse(
        request,
        "integrations/email_status.html",
        {
            "nav": "leads",
            "event": member.event,
            "membership": member,
            "campaign": campaign,
            "exhibitor": exhibitor,
            "counts": await campaigns.counts(db, campaign.id),
            "smtp_configured": bool(request.app.state.settings.smtp_host),
        },
    )
