"""HTML pages of leads: lead lists, the lead page and its forms (calls, notes, moves)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.auth.csrf import FIELD as CSRF_FIELD
from app.auth.csrf import verify_csrf
from app.auth.deps import Member, Membership
from app.booths.models import Exhibitor
from app.db import DbSession, RowId
from app.errors import Forbidden, NotFound
from app.events import vocab as profile_vocab
from app.leads import lead_queries, queries_pages, sales
from app.leads.errors import IllegalTransition, InvalidActivity, ReasonRequired
from app.leads.labels import SORT_LABELS, VOCAB
from app.leads.lead_queries import SORTS, LeadFilter
from app.leads.lifecycle import allowed_moves, transition
from app.leads.service import live_score
from app.leads.versions import current_rules
from app.leads.vocab import (
    BUYING_STAGES,
    CALL_OUTCOMES,
    CELLS,
    GRADES,
    LIFECYCLE,
    REJECTION_REASONS,
    TIERS,
)
from app.templating import templates

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)

PAGE_SIZE = 50


def render(
    request: Request, name: str, context: Mapping[str, Any], status: int = 200
) -> HTMLResponse:
    full = {"nav": "leads", "vocab": VOCAB, "countries": profile_vocab.countries(), **context}
    return templates.TemplateResponse(request, f"leads/{name}", full, status_code=status)


async def form_fields(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str) and k != CSRF_FIELD}


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


async def exhibitor_for(db: DbSession, member: Membership, exhibitor_slug: str) -> Exhibitor:
    """The exhibitor named in the address, if the member is its staff or an organizer."""
    exhibitor = await queries_pages.exhibitor_by_slug(db, member.event.id, exhibitor_slug)
    if exhibitor is None:
        raise NotFound("There is no such exhibitor at this event.")
    if not (member.is_organizer or member.staffs(exhibitor.id)):
        raise Forbidden("Only this exhibitor's staff and the event's organizers can see its leads.")
    return exhibitor


# Lead lists ------------------------------------------------------------------------------


def _parse_filters(
    params: Mapping[str, str], tz: str
) -> tuple[LeadFilter, dict[str, str], dict[str, str], str, int]:
    """Query parameters to a LeadFilter; a bad value is reported beside its field, not a 500."""
    values = {k: params.get(k, "").strip()[:40] for k in _FILTER_KEYS}
    errors: dict[str, str] = {}
    cell = values["cell"].upper() or None
    if cell is not None and cell not in CELLS and cell != "F":
        errors["cell"] = "Choose a cell from A1 to D4, or F."
        cell = None
    stage = values["stage"] or None
    if stage is not None and stage not in LIFECYCLE:
        errors["stage"] = "Choose a lifecycle stage from the list."
        stage = None
    buying = values["buying_stage"] or None
    if buying is not None and buying not in BUYING_STAGES:
        errors["buying_stage"] = "Choose research, evaluation or decision."
        buying = None
    scores: dict[str, float | None] = {}
    for key in ("min_score", "max_score"):
        scores[key] = None
        if values[key]:
            try:
                number = float(values[key])
            except ValueError:
                number = -1.0
            if not 0 <= number <= 100:
                errors[key] = "Enter a score from 0 to 100."
            else:
                scores[key] = number
    since = None
    if values["since"]:
        try:
            day = dt.date.fromisoformat(values["since"])
            since = dt.datetime.combine(day, dt.time(), tzinfo=ZoneInfo(tz)).astimezone(dt.UTC)
        except ValueError:
            errors["since"] = "Enter a date as YYYY-MM-DD."
    sort = values["sort"] if values["sort"] in SORTS else "engagement"
    values["sort"] = sort
    try:
        page = max(1, int(values["page"] or 1))
    except ValueError:
        page = 1
    filters = LeadFilter(
        cell=cell,
        stage=stage,
        buying_stage=buying,
        min_score=scores["min_score"],
        max_score=scores["max_score"],
        last_activity_after=since,
    )
    return filters, values, errors, sort, page


_FILTER_KEYS = ("cell", "stage", "buying_stage", "min_score", "max_score", "since", "sort", "page")


async def _list_page(
    request: Request,
    db: DbSession,
    member: Membership,
    *,
    base: LeadFilter,
    exhibitor: Exhibitor | None,
    path: str,
) -> HTMLResponse:
    event = member.event
    parsed, values, errors, sort, page = _parse_filters(request.query_params, event.timezone)
    filters = LeadFilter(
        exhibitor_id=base.exhibitor_id,
        event_level=base.event_level,
        cell=parsed.cell,
        stage=parsed.stage,
        buying_stage=parsed.buying_stage,
        min_score=parsed.min_score,
        max_score=parsed.max_score,
        last_activity_after=parsed.last_activity_after,
    )
    rows, total = await sales.leads_for(
        db,
        member=member,
        filters=filters,
        sort=sort,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    pages = max(1, -(-total // PAGE_SIZE))

    def url(**changes: object) -> str:
        merged = {**values, **{k: str(v) for k, v in changes.items()}}
        if merged.get("sort") == "engagement":
            merged.pop("sort")
        if merged.get("page") in ("1", ""):
            merged.pop("page")
        query = urlencode({k: v for k, v in merged.items() if v})
        return f"{path}?{query}" if query else path

    filtered = any(values[k] for k in _FILTER_KEYS if k not in ("sort", "page"))
    return render(
        request,
        "list.html",
        {
            "event": event,
            "membership": member,
            "exhibitor": exhibitor,
            "rows": rows,
            "total": total,
            "page": page,
            "pages": pages,
            "first": (page - 1) * PAGE_SIZE + 1 if rows else 0,
            "last": (page - 1) * PAGE_SIZE + len(rows),
            "values": values,
            "errors": errors,
            "filtered": filtered,
            "url": url,
            "path": path,
            "sorts": SORT_LABELS,
            "cells": [f"{g}{t}" for g in GRADES for t in TIERS] + ["F"],
            "lifecycle": LIFECYCLE,
            "buying_stages": BUYING_STAGES,
        },
        status=422 if errors else 200,
    )


@router.get("/e/{slug}/leads", response_class=HTMLResponse)
async def event_leads(request: Request, member: Member, db: DbSession) -> Response:
    """Organizers: the event-level leads. Staff are sent to their exhibitor's list."""
    if not member.is_organizer:
        exhibitors = await queries_pages.exhibitors_by_id(db, member.exhibitor_ids)
        if exhibitors:
            return see_other(f"/e/{member.event.slug}/exhibitor/{exhibitors[0].slug}/leads")
        raise Forbidden("Only the event's organizers and exhibitor staff can see leads.")
    return await _list_page(
        request,
        db,
        member,
        base=LeadFilter(event_level=True),
        exhibitor=None,
        path=f"/e/{member.event.slug}/leads",
    )


@router.get("/e/{slug}/exhibitor/{exhibitor_slug}/leads", response_class=HTMLResponse)
async def exhibitor_leads(
    request: Request, exhibitor_slug: str, member: Member, db: DbSession
) -> HTMLResponse:
    exhibitor = await exhibitor_for(db, member, exhibitor_slug)
    return await _list_page(
        request,
        db,
        member,
        base=LeadFilter(exhibitor_id=exhibitor.id),
        exhibitor=exhibitor,
        path=f"/e/{member.event.slug}/exhibitor/{exhibitor.slug}/leads",
    )


# The lead page and its forms ----------------------------------------------------------------

_DONE = {
    "moved": "The lead's stage is updated.",
    "call": "The call is logged.",
    "note": "The note is added.",
}


async def _lead_page(
    request: Request,
    db: DbSession,
    member: Membership,
    lead_id: int,
    *,
    status: int = 200,
    error: str | None = None,
    errors: Mapping[str, str] | None = None,
    values: Mapping[str, str] | None = None,
    form: str | None = None,
) -> HTMLResponse:
    lead, registration = await sales.lead_for(db, member=member, lead_id=lead_id)
    now = await live_score(db, lead=lead, registration=registration)
    rules = await current_rules(db, member.event)
    transitions, notes, calls = await lead_queries.lead_history(db, lead.id)
    names = await queries_pages.account_names(
        db,
        [t.actor_id for t in transitions]
        + [n.author_id for n in notes]
        + [c.author_id for c in calls],
    )
    exhibitor = await db.get(Exhibitor, lead.exhibitor_id) if lead.exhibitor_id else None
    reasons = list(lead.contributions)
    return render(
        request,
        "lead.html",
        {
            "event": member.event,
            "membership": member,
            "lead": lead,
            "reg": registration,
            "exhibitor": exhibitor,
            "now": now,
            "current_version": rules.version,
            "fit_reasons": [r for r in reasons if r.get("dimension") == "fit"],
            "engagement_reasons": [r for r in reasons if r.get("dimension") != "fit"],
            "timeline": await lead_queries.lead_timeline(db, lead),
            "transitions": transitions,
            "notes": notes,
            "calls": calls,
            "names": names,
            "moves": allowed_moves(lead.stage, organizer=member.is_organizer),
            "rejection_reasons": REJECTION_REASONS,
            "call_outcomes": CALL_OUTCOMES,
            "grades": GRADES,
            "tiers": TIERS,
            "error": error,
            "errors": errors or {},
            "values": values or {},
            "form": form,
            "flash": _DONE.get(request.query_params.get("done", "")),
            "list_url": (
                f"/e/{member.event.slug}/exhibitor/{exhibitor.slug}/leads"
                if exhibitor
                else f"/e/{member.event.slug}/leads"
            ),
        },
        status=status,
    )


@router.get("/e/{slug}/leads/{lead_id}", response_class=HTMLResponse)
async def lead_page(
    request: Request, lead_id: RowId, member: Member, db: DbSession
) -> HTMLResponse:
    return await _lead_page(request, db, member, lead_id)


def _lead_url(member: Membership, lead_id: int, done: str) -> str:
    return f"/e/{member.event.slug}/leads/{lead_id}?done={done}#work"


@router.post("/e/{slug}/leads/{lead_id}/move", response_class=HTMLResponse)
async def move_lead(request: Request, lead_id: RowId, member: Member, db: DbSession) -> Response:
    values = await form_fields(request)
    lead, _ = await sales.lead_for(db, member=member, lead_id=lead_id)
    to = values.get("to", "")
    if not to:
        return await _lead_page(
            request,
            db,
            member,
            lead_id,
            status=422,
            errors={"to": "Choose where to move the lead."},
            values=values,
            form="move",
        )
    try:
        await transition(
            db,
            lead=lead,
            to=to,
            actor=member,
            reason=values.get("reason") or None,
            note=values.get("note", "").strip()[:2000] or None,
        )
    except IllegalTransition as exc:
        return await _lead_page(
            request, db, member, lead_id, status=409, error=exc.message, values=values, form="move"
        )
    except ReasonRequired as exc:
        return await _lead_page(
            request,
            db,
            member,
            lead_id,
            status=422,
            errors={"reason": exc.message},
            values=values,
            form="move",
        )
    return see_other(_lead_url(member, lead_id, "moved"))


@router.post("/e/{slug}/leads/{lead_id}/calls", response_class=HTMLResponse)
async def log_call(request: Request, lead_id: RowId, member: Member, db: DbSession) -> Response:
    values = await form_fields(request)
    lead, _ = await sales.lead_for(db, member=member, lead_id=lead_id)
    try:
        await sales.log_call(
            db,
            lead=lead,
            actor=member,
            outcome=values.get("outcome", ""),
            note=values.get("note", "").strip()[:5000],
        )
    except InvalidActivity:
        return await _lead_page(
            request,
            db,
            member,
            lead_id,
            status=422,
            errors={"outcome": "Choose what happened on the call."},
            values=values,
            form="call",
        )
    return see_other(_lead_url(member, lead_id, "call"))


@router.post("/e/{slug}/leads/{lead_id}/notes", response_class=HTMLResponse)
async def add_note(request: Request, lead_id: RowId, member: Member, db: DbSession) -> Response:
    values = await form_fields(request)
    lead, _ = await sales.lead_for(db, member=member, lead_id=lead_id)
    body = values.get("body", "")
    if len(body) > 5000:
        errors = {"body": "A note can be at most 5,000 characters."}
        return await _lead_page(
            request, db, member, lead_id, status=422, errors=errors, values=values, form="note"
        )
    try:
        await sales.add_note(db, lead=lead, actor=member, body=body)
    except InvalidActivity as exc:
        return await _lead_page(
            request,
            db,
            member,
            lead_id,
            status=422,
            errors={"body": exc.message},
            values=values,
            form="note",
        )
    return see_other(_lead_url(member, lead_id, "note"))
