"""HTML pages of the scoring rules (organizers) and the sales feedback report."""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from app.auth.csrf import verify_csrf
from app.auth.deps import Member, Membership, Organizer
from app.booths.models import Exhibitor
from app.db import DbSession
from app.leads import queries_pages
from app.leads.errors import InvalidRules
from app.leads.pages import exhibitor_for, form_fields, render, see_other
from app.leads.report import build_report, duration
from app.leads.schemas import ScoringUpdate
from app.leads.tasks import start_rescore
from app.leads.versions import current_rules, save_rules

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


# Scoring rules ----------------------------------------------------------------------------


async def _scoring_page(
    request: Request,
    db: DbSession,
    member: Membership,
    *,
    text: str | None = None,
    errors: list[tuple[str, str]] | None = None,
    status: int = 200,
) -> HTMLResponse:
    event = member.event
    rules = await current_rules(db, event)
    document = {
        "rules": rules.ruleset.model_dump(mode="json"),
        "overrides": {
            str(k): v.model_dump(mode="json", exclude_defaults=True)
            for k, v in rules.overrides.items()
        },
    }
    history = await queries_pages.rules_history(db, event.id)
    names = await queries_pages.account_names(db, [v.created_by_id for v in history])
    saved = request.query_params.get("saved")
    return render(
        request,
        "scoring.html",
        {
            "event": event,
            "membership": member,
            "nav": "manage",
            "rules": rules,
            "ruleset": rules.ruleset,
            "text": text if text is not None else json.dumps(document, indent=2),
            "errors": errors or [],
            "history": history,
            "latest": history[0] if history else None,
            "names": names,
            "flash": f"Saved as version {saved}; every lead is being rescored." if saved else None,
        },
        status=status,
    )


@router.get("/e/{slug}/manage/scoring", response_class=HTMLResponse)
async def scoring_page(request: Request, member: Organizer, db: DbSession) -> HTMLResponse:
    return await _scoring_page(request, db, member)


@router.post("/e/{slug}/manage/scoring", response_class=HTMLResponse)
async def save_scoring(request: Request, member: Organizer, db: DbSession) -> Response:
    text = (await form_fields(request)).get("rules_json", "")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        problem = f"This is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
        return await _scoring_page(
            request, db, member, text=text, errors=[("rules_json", problem)], status=422
        )
    try:
        body = ScoringUpdate.model_validate(data)
        row = await save_rules(
            db,
            event=member.event,
            ruleset=body.rules,
            overrides=body.overrides,
            actor=member.account,
        )
    except ValidationError as exc:
        errors = [
            (".".join(str(p) for p in e["loc"]) or "rules_json", e["msg"]) for e in exc.errors()
        ]
        return await _scoring_page(request, db, member, text=text, errors=errors, status=422)
    except InvalidRules as exc:
        field = str(exc.extra.get("field") or "rules_json")
        return await _scoring_page(
            request, db, member, text=text, errors=[(field, exc.message)], status=422
        )
    # The job waits until this request's transaction is visible before it reads.
    start_rescore(request.app.state.sessionmaker, version_id=row.id)
    return see_other(f"/e/{member.event.slug}/manage/scoring?saved={row.version}")


# Sales feedback report ---------------------------------------------------------------------


async def _report_page(
    request: Request,
    db: DbSession,
    member: Membership,
    *,
    exhibitor: Exhibitor | None,
    event_level: bool,
) -> HTMLResponse:
    data = await queries_pages.report_data(
        db,
        member.event.id,
        exhibitor_id=exhibitor.id if exhibitor else None,
        event_level=event_level,
    )
    return render(
        request,
        "report.html",
        {
            "event": member.event,
            "membership": member,
            "exhibitor": exhibitor,
            "event_level": event_level,
            "report": build_report(data),
            "duration": duration,
        },
    )


@router.get("/e/{slug}/report", response_class=HTMLResponse)
async def event_report(request: Request, member: Organizer, db: DbSession) -> HTMLResponse:
    """Every exhibitor's leads together, or (?leads=event) the organizers' event-level leads."""
    event_level = request.query_params.get("leads") == "event"
    return await _report_page(request, db, member, exhibitor=None, event_level=event_level)


@router.get("/e/{slug}/exhibitor/{exhibitor_slug}/report", response_class=HTMLResponse)
async def exhibitor_report(
    request: Request, exhibitor_slug: str, member: Member, db: DbSession
) -> HTMLResponse:
    exhibitor = await exhibitor_for(db, member, exhibitor_slug)
    return await _report_page(request, db, member, exhibitor=exhibitor, event_level=False)
