"""JSON API of leads: bulk activities, scoring rules, lead lists and lead work."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import ValidationError

from app.auth.deps import EventDep, Member, Organizer
from app.db import DbSession, RowId
from app.events.models import Registration
from app.leads import lead_queries, repository, sales
from app.leads.batch import record_many
from app.leads.facts import Score
from app.leads.lifecycle import allowed_moves, transition
from app.leads.models import Lead
from app.leads.schemas import (
    ActivityBatch,
    ActivityCreate,
    ActivityRead,
    BatchResult,
    CallCreate,
    CallRead,
    ContributionRead,
    ItemError,
    ItemResult,
    LeadDetail,
    LeadPage,
    LeadRead,
    NoteCreate,
    NoteRead,
    RescoreRead,
    ScoringRead,
    ScoringUpdate,
    TransitionCreate,
    TransitionRead,
)
from app.leads.service import live_score
from app.leads.tasks import start_rescore
from app.leads.versions import current_rules, save_rules

router = APIRouter(prefix="/api", tags=["leads"])


@router.post("/events/{slug}/activities")
async def post_activities(
    body: ActivityBatch, event: EventDep, member: Organizer, db: DbSession
) -> BatchResult:
    """Record up to 1,000 activities from an outside source; each item answered on its own."""
    valid: list[ActivityCreate | None] = []
    results: dict[int, ItemResult] = {}
    for index, raw in enumerate(body.items):
        try:
            valid.append(ActivityCreate.model_validate(raw))
        except ValidationError as exc:
            valid.append(None)
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            results[index] = ItemResult(
                index=index,
                status="error",
                error=ItemError(code="app.validation", message=first["msg"], field=field),
            )
    outcomes = await record_many(db, event=event, items=valid)
    items: list[ItemResult] = []
    for index, outcome in enumerate(outcomes):
        if index in results:
            items.append(results[index])
        elif outcome.error is not None:
            failed = outcome.error
            items.append(
                ItemResult(
                    index=index,
                    status="error",
                    error=ItemError(
                        code=failed.code, message=failed.message, field=failed.extra.get("field")
                    ),
                )
            )
        else:
            items.append(ItemResult(index=index, status=outcome.status, id=outcome.id))
    return BatchResult(
        created=sum(r.status == "created" for r in items),
        duplicates=sum(r.status == "duplicate" for r in items),
        errors=sum(r.status == "error" for r in items),
        items=items,
    )


async def _scoring(db: DbSession, event: EventDep) -> ScoringRead:
    rules = await current_rules(db, event)
    row = await repository.latest_rules(db, event.id)
    rescore = (
        RescoreRead(
            total=row.rescore_total,
            done=row.rescore_done,
            started_at=row.rescore_started_at,
            finished_at=row.rescore_finished_at,
            error=row.rescore_error,
        )
        if row is not None
        else None
    )
    return ScoringRead(
        version=rules.version,
        rules=rules.ruleset,
        overrides=dict(rules.overrides),
        created_at=row.created_at if row else None,
        rescore=rescore,
    )


@router.get("/events/{slug}/scoring")
async def get_scoring(event: EventDep, member: Organizer, db: DbSession) -> ScoringRead:
    return await _scoring(db, event)


@router.put("/events/{slug}/scoring")
async def put_scoring(
    body: ScoringUpdate, event: EventDep, member: Organizer, db: DbSession, request: Request
) -> ScoringRead:
    """Save a new rules version and start rescoring every lead in the background."""
    row = await save_rules(
        db, event=event, ruleset=body.rules, overrides=body.overrides, actor=member.account
    )
    answer = await _scoring(db, event)
    # The job waits until this request's transaction is visible before it reads.
    start_rescore(request.app.state.sessionmaker, version_id=row.id)
    return answer


def _lead_read(lead: Lead, reg: Registration) -> LeadRead:
    return LeadRead(
        id=lead.id,
        registration_id=lead.registration_id,
        exhibitor_id=lead.exhibitor_id,
        first_name=reg.first_name,
        last_name=reg.last_name,
        email=reg.email,
        company=reg.company,
        job_title=reg.job_title,
        fit=lead.fit,
        grade=lead.grade,
        engagement=lead.engagement,
        tier=lead.tier,
        cell=lead.cell,
        buying_stage=lead.buying_stage,
        stage=lead.stage,
        owner_id=lead.owner_id,
        mql_at=lead.mql_at,
        last_activity_at=lead.last_activity_at,
        rules_version=lead.rules_version,
        reasons=[ContributionRead.model_validate(c) for c in lead.contributions],
        updated_at=lead.updated_at,
    )


@router.get("/events/{slug}/leads")
async def list_leads(
    member: Member,
    db: DbSession,
    cell: str | None = None,
    stage: str | None = None,
    min_score: Annotated[float | None, Query(ge=0, le=100)] = None,
    max_score: Annotated[float | None, Query(ge=0, le=100)] = None,
    buying_stage: str | None = None,
    exhibitor_id: int | None = None,
    event_level: bool | None = None,
    last_activity_after: dt.datetime | None = None,
    sort: Literal["engagement", "fit", "last_activity", "cell", "created"] = "engagement",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> LeadPage:
    if last_activity_after is not None and last_activity_after.tzinfo is None:
        last_activity_after = last_activity_after.replace(tzinfo=dt.UTC)
    filters = lead_queries.LeadFilter(
        cell=cell,
        stage=stage,
        min_score=min_score,
        max_score=max_score,
        buying_stage=buying_stage,
        exhibitor_id=exhibitor_id,
        event_level=event_level,
        last_activity_after=last_activity_after,
    )
    rows, total = await sales.leads_for(
        db, member=member, filters=filters, sort=sort, limit=limit, offset=offset
    )
    return LeadPage(
        items=[_lead_read(lead, reg) for lead, reg in rows], total=total, limit=limit, offset=offset
    )


async def _detail(db: DbSession, member: Member, lead: Lead, reg: Registration) -> LeadDetail:
    now: Score = await live_score(db, lead=lead, registration=reg)
    transitions, notes, calls = await lead_queries.lead_history(db, lead.id)
    return LeadDetail(
        **_lead_read(lead, reg).model_dump(),
        engagement_now=now.engagement,
        tier_now=now.tier,
        cell_now=now.cell,
        allowed_moves=allowed_moves(lead.stage, organizer=member.is_organizer),
        timeline=[
            ActivityRead.model_validate(a, from_attributes=True)
            for a in await lead_queries.lead_timeline(db, lead)
        ],
        transitions=[TransitionRead.model_validate(t, from_attributes=True) for t in transitions],
        notes=[NoteRead.model_validate(n, from_attributes=True) for n in notes],
        calls=[CallRead.model_validate(c, from_attributes=True) for c in calls],
    )


@router.get("/events/{slug}/leads/{lead_id}")
async def get_lead(lead_id: RowId, member: Member, db: DbSession) -> LeadDetail:
    lead, reg = await sales.lead_for(db, member=member, lead_id=lead_id)
    return await _detail(db, member, lead, reg)


@router.post("/events/{slug}/leads/{lead_id}/transitions", status_code=201)
async def post_transition(
    lead_id: RowId, body: TransitionCreate, member: Member, db: DbSession
) -> LeadDetail:
    lead, reg = await sales.lead_for(db, member=member, lead_id=lead_id)
    await transition(db, lead=lead, to=body.to, actor=member, reason=body.reason, note=body.note)
    return await _detail(db, member, lead, reg)


@router.post("/events/{slug}/leads/{lead_id}/calls", status_code=201)
async def post_call(lead_id: RowId, body: CallCreate, member: Member, db: DbSession) -> CallRead:
    lead, _reg = await sales.lead_for(db, member=member, lead_id=lead_id)
    call = await sales.log_call(db, lead=lead, actor=member, outcome=body.outcome, note=body.note)
    return CallRead.model_validate(call, from_attributes=True)


@router.post("/events/{slug}/leads/{lead_id}/notes", status_code=201)
async def post_note(lead_id: RowId, body: NoteCreate, member: Member, db: DbSession) -> NoteRead:
    lead, _reg = await sales.lead_for(db, member=member, lead_id=lead_id)
    note = await sales.add_note(db, lead=lead, actor=member, body=body.body)
    return NoteRead.model_validate(note, from_attributes=True)
