"""Webhook pages: organizers at /e/{slug}/webhooks, exhibitor staff at
/e/{slug}/exhibitor/{exhibitor_slug}/webhooks, and one page per endpoint with its log."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from app.auth.csrf import verify_csrf
from app.auth.deps import BoothStaff, Membership
from app.booths.models import Exhibitor
from app.db import DbSession, RowId
from app.errors import Forbidden
from app.integrations import webhooks
from app.leads.outbox import EVENT_TYPES
from app.templating import templates

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


def _allow_private(request: Request) -> bool:
    return bool(request.app.state.settings.allow_private_webhooks)


def _base(member: Membership, exhibitor: Exhibitor | None) -> str:
    path = f"/e/{member.event.slug}"
    return path + (f"/exhibitor/{exhibitor.slug}" if exhibitor else "") + "/webhooks"


async def _list(
    request: Request,
    db: DbSession,
    member: Membership,
    exhibitor: Exhibitor | None,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
) -> HTMLResponse:
    exhibitors: list[Exhibitor] = []
    if exhibitor is None:
        exhibitors = list(
            (
                await db.execute(
                    select(Exhibitor)
                    .where(Exhibitor.event_id == member.event.id)
                    .order_by(Exhibitor.name)
                )
            ).scalars()
        )
    listed = await webhooks.list_endpoints(
        db, member, exhibitor_id=exhibitor.id if exhibitor else None
    )
    return templates.TemplateResponse(
        request,
        "integrations/webhooks.html",
        {
            "nav": "leads" if exhibitor else "manage",
            "event": member.event,
            "membership": member,
            "exhibitor": exhibitor,
            "exhibitors": exhibitors,
            "endpoints": listed,
            "types": EVENT_TYPES,
            "path": _base(member, exhibitor),
            "values": values or {"event_types": list(EVENT_TYPES)},
            "errors": errors or {},
        },
        status_code=422 if errors else 200,
    )


async def _detail(
    request: Request,
    db: DbSession,
    member: Membership,
    listed: webhooks.Listed,
    *,
    secret: str | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    log = await webhooks.deliveries(db, listed.endpoint)
    return templates.TemplateResponse(
        request,
        "integrations/webhooks_detail.html",
        {
            "nav": "leads" if listed.exhibitor else "manage",
            "event": member.event,
            "membership": member,
            "exhibitor": listed.exhibitor,
            "endpoint": listed.endpoint,
            "deliveries": log,
            "types": EVENT_TYPES,
            "back": _base(member, listed.exhibitor),
            "path": f"/e/{member.event.slug}/webhooks/{listed.endpoint.id}",
            "secret": secret,
            "errors": errors or {},
        },
        status_code=422 if errors else status_code,
    )


async def _exhibitor(db: DbSession, member: Membership, slug: str) -> Exhibitor:
    return await webhooks.exhibitor_named(db, member, slug)


async def _create(
    request: Request, db: DbSession, member: Membership, exhibitor: Exhibitor | None
) -> HTMLResponse:
    form = await request.form()
    url, description = str(form.get("url") or ""), str(form.get("description") or "")
    types = [str(t) for t in form.getlist("event_types")]
    chosen = exhibitor.slug if exhibitor else str(form.get("exhibitor") or "") or None
    values = {"url": url, "description": description, "event_types": types, "exhibitor": chosen}
    try:
        listed = await webhooks.create(
            db,
            member=member,
            url=url,
            event_types=types,
            description=description,
            exhibitor_slug=chosen,
            allow_private=_allow_private(request),
        )
    except webhooks.InvalidWebhook as exc:
        field = str(exc.extra.get("field", "url"))
        return await _list(request, db, member, exhibitor, values=values,
                           errors={field: exc.message})  # fmt: skip
    return await _detail(request, db, member, listed, secret=listed.endpoint.secret,
                         status_code=201)  # fmt: skip


@router.get("/e/{slug}/webhooks", response_class=HTMLResponse)
async def event_webhooks(request: Request, member: BoothStaff, db: DbSession) -> Response:
    """Organizers: every endpoint of the event. Staff go to their exhibitor's."""
    if not member.is_organizer:
        first = (
            await db.execute(
                select(Exhibitor.slug)
                .where(Exhibitor.id.in_(member.exhibitor_ids))
                .order_by(Exhibitor.name)
            )
        ).scalar()
        if first is None:  # pragma: no cover - BoothStaff guarantees an exhibitor
            raise Forbidden()
        return RedirectResponse(f"/e/{member.event.slug}/exhibitor/{first}/webhooks", 303)
    return await _list(request, db, member, None)


@router.post("/e/{slug}/webhooks", response_class=HTMLResponse)
async def create_event_webhook(request: Request, member: BoothStaff, db: DbSession) -> Response:
    if not member.is_organizer:
        raise webhooks.WebhookForbidden("Only the event's organizers add event-wide endpoints.")
    return await _create(request, db, member, None)


@router.get("/e/{slug}/exhibitor/{exhibitor_slug}/webhooks", response_class=HTMLResponse)
async def exhibitor_webhooks(
    request: Request, exhibitor_slug: str, member: BoothStaff, db: DbSession
) -> HTMLResponse:
    exhibitor = await _exhibitor(db, member, exhibitor_slug)
    return await _list(request, db, member, exhibitor)


@router.post("/e/{slug}/exhibitor/{exhibitor_slug}/webhooks", response_class=HTMLResponse)
async def create_exhibitor_webhook(
    request: Request, exhibitor_slug: str, member: BoothStaff, db: DbSession
) -> HTMLResponse:
    exhibitor = await _exhibitor(db, member, exhibitor_slug)
    return await _create(request, db, member, exhibitor)


@router.get("/e/{slug}/webhooks/{endpoint_id}", response_class=HTMLResponse)
async def webhook_page(
    request: Request, endpoint_id: RowId, member: BoothStaff, db: DbSession
) -> HTMLResponse:
    return await _detail(request, db, member, await webhooks.get(db, member, endpoint_id))


@router.post("/e/{slug}/webhooks/{endpoint_id}", response_class=HTMLResponse)
async def update_webhook(
    request: Request, endpoint_id: RowId, member: BoothStaff, db: DbSession
) -> HTMLResponse:
    listed = await webhooks.get(db, member, endpoint_id)
    form = await request.form()
    try:
        await webhooks.update_endpoint(
            db,
            listed.endpoint,
            url=str(form.get("url") or ""),
            event_types=[str(t) for t in form.getlist("event_types")],
            description=str(form.get("description") or ""),
            allow_private=_allow_private(request),
        )
    except webhooks.InvalidWebhook as exc:
        field = str(exc.extra.get("field", "url"))
        return await _detail(request, db, member, listed, errors={field: exc.message})
    return await _detail(request, db, member, listed)


@router.post("/e/{slug}/webhooks/{endpoint_id}/{action}", response_class=HTMLResponse)
async def webhook_action(
    request: Request, endpoint_id: RowId, action: str, member: BoothStaff, db: DbSession
) -> Response:
    """enable, disable, ping, rotate (shows the new secret) or delete."""
    listed = await webhooks.get(db, member, endpoint_id)
    endpoint = listed.endpoint
    here = f"/e/{member.event.slug}/webhooks/{endpoint.id}"
    allow = _allow_private(request)
    if action == "rotate":
        secret = await webhooks.rotate_secret(db, endpoint)
        return await _detail(request, db, member, listed, secret=secret)
    if action == "delete":
        await webhooks.delete_endpoint(db, endpoint)
        return RedirectResponse(_base(member, listed.exhibitor), 303)
    if action in ("enable", "disable"):
        await webhooks.update_endpoint(db, endpoint, active=action == "enable", allow_private=allow)
    elif action == "ping":
        await webhooks.ping(db, member, endpoint)
    else:
        return RedirectResponse(here, 303)
    return RedirectResponse(here, 303)


@router.post("/e/{slug}/webhooks/{endpoint_id}/deliveries/{delivery_id}/resend")
async def resend_delivery(
    endpoint_id: RowId, delivery_id: str, member: BoothStaff, db: DbSession
) -> RedirectResponse:
    listed = await webhooks.get(db, member, endpoint_id)
    await webhooks.resend(db, listed.endpoint, delivery_id)
    return RedirectResponse(f"/e/{member.event.slug}/webhooks/{endpoint_id}", 303)
