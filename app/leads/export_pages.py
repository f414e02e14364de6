"""The export page: filters, the number of rows they select, and download links per format."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from app.auth.csrf import verify_csrf
from app.auth.deps import Member, Membership
from app.booths.models import Exhibitor
from app.db import DbSession
from app.errors import Forbidden, NotFound
from app.leads.export_api import CELL_CHOICES, FILTER_KEYS, GRADE_CHOICES, parse_filters
from app.leads.export_models import ExportMapping
from app.leads.export_presets import PRESETS
from app.leads.export_rows import count_rows, scoped
from app.leads.exporters import EXPORTERS
from app.leads.labels import VOCAB
from app.leads.vocab import BUYING_STAGES, LIFECYCLE, TIERS
from app.templating import templates

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


async def _page(
    request: Request, db: DbSession, member: Membership, exhibitor: Exhibitor | None
) -> HTMLResponse:
    event = member.event
    params = dict(request.query_params)
    if exhibitor is not None:
        params["exhibitor"] = exhibitor.slug
    f, slug, errors = parse_filters(params, event_id=event.id, tz=event.timezone)
    exhibitors: list[Exhibitor] = []
    exhibitor_id = exhibitor.id if exhibitor is not None else None
    if member.is_organizer and exhibitor is None:
        exhibitors = list(
            (
                await db.execute(
                    select(Exhibitor).where(Exhibitor.event_id == event.id).order_by(Exhibitor.name)
                )
            ).scalars()
        )
        chosen = [e.id for e in exhibitors if e.slug == slug]
        if slug is not None and not chosen:
            errors["exhibitor"] = "Choose an exhibitor from the list."
        exhibitor_id = chosen[0] if chosen else None
    presets = {k: p.label for k, p in PRESETS.items()}
    if member.is_organizer:
        mappings = await db.execute(
            select(ExportMapping.name).where(ExportMapping.event_id == event.id)
        )
        presets.update({f"mapping:{name}": f"Saved: {name}" for name in mappings.scalars()})
    chosen_preset = params.get("preset", "full")
    if chosen_preset not in presets:
        chosen_preset = "full"
    # The rows the chosen preset will write (HubSpot's leave out leads without an email).
    where = PRESETS[chosen_preset].where if chosen_preset in PRESETS else ()
    total = await count_rows(db, scoped(member, f, exhibitor_id), *where)
    query = {k: params[k] for k in FILTER_KEYS if params.get(k) and k not in errors}
    downloads = [
        (
            cls.label,
            f"/api/events/{event.slug}/leads/export?"
            + urlencode({**query, "format": key, "preset": chosen_preset}),
        )
        for key, cls in EXPORTERS.items()
    ]
    excel = urlencode({**query, "format": "csv", "preset": chosen_preset, "bom": "1"})
    downloads.append(("CSV for Excel", f"/api/events/{event.slug}/leads/export?{excel}"))
    return templates.TemplateResponse(
        request,
        "leads/export.html",
        {
            "nav": "leads",
            "vocab": VOCAB,
            "event": event,
            "membership": member,
            "exhibitor": exhibitor,
            "exhibitors": exhibitors,
            "values": {k: params.get(k, "") for k in FILTER_KEYS},
            "errors": errors,
            "total": total,
            "presets": presets,
            "preset": chosen_preset,
            "downloads": downloads if not errors else [],
            "lifecycle": LIFECYCLE,
            "cells": CELL_CHOICES,
            "grades": GRADE_CHOICES,
            "tiers": TIERS,
            "buying_stages": BUYING_STAGES,
        },
        status_code=422 if errors else 200,
    )


@router.get("/e/{slug}/export", response_class=HTMLResponse)
async def event_export(request: Request, member: Member, db: DbSession) -> Response:
    """Organizers: every lead. Staff are sent to their exhibitor's export."""
    if not member.is_organizer:
        first = (
            await db.execute(
                select(Exhibitor.slug)
                .where(Exhibitor.id.in_(member.exhibitor_ids))
                .order_by(Exhibitor.name)
            )
        ).scalar()
        if first is None:
            raise Forbidden("Only the event's organizers and exhibitor staff can export leads.")
        return RedirectResponse(f"/e/{member.event.slug}/exhibitor/{first}/export", 303)
    return await _page(request, db, member, None)


@router.get("/e/{slug}/exhibitor/{exhibitor_slug}/export", response_class=HTMLResponse)
async def exhibitor_export(
    request: Request, exhibitor_slug: str, member: Member, db: DbSession
) -> HTMLResponse:
    exhibitor = (
        await db.execute(
            select(Exhibitor).where(
                Exhibitor.event_id == member.event.id, Exhibitor.slug == exhibitor_slug
            )
        )
    ).scalar_one_or_none()
    if exhibitor is None:
        raise NotFound("There is no such exhibitor at this event.")
    if not (member.is_organizer or member.staffs(exhibitor.id)):
        raise Forbidden("Only this exhibitor's staff and the event's organizers can export it.")
    return await _page(request, db, member, exhibitor)
