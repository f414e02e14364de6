"""Lead exports over HTTP: the streamed file, its row count, and saved column mappings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.deps import Member, Membership, Organizer
from app.db import DbSession, utcnow
from app.errors import NotFound
from app.leads.errors import MappingExists
from app.leads.export_models import ExportMapping
from app.leads.export_presets import (
    InvalidExport,
    Preset,
    export_stream,
    invalid_columns,
    preset_named,
)
from app.leads.export_rows import (
    ExportFilter,
    count_rows,
    exhibitor_by_slug,
    scoped,
)
from app.leads.exporters import EXPORTERS, Exporter, exporter_for
from app.leads.vocab import BUYING_STAGES, CELLS, LIFECYCLE

router = APIRouter(prefix="/api", tags=["leads"])

FILTER_KEYS = (
    "exhibitor",
    "event_level",
    "stage",
    "cell",
    "grade",
    "tier",
    "buying_stage",
    "min_score",
    "max_score",
    "active_from",
    "active_to",
)
GRADE_CHOICES = ("A", "B", "C", "D", "F")
CELL_CHOICES = (*sorted(CELLS), "F")  # grade F leads have the cell "F", whatever their tier
YES, NO = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def parse_filters(
    params: Mapping[str, str], *, event_id: int, tz: str
) -> tuple[ExportFilter, str | None, dict[str, str]]:
    """Query parameters to a filter, the exhibitor slug and each bad field's message."""
    v = {k: params.get(k, "").strip()[:80] for k in FILTER_KEYS}
    v["event_level"] = v["event_level"].lower()
    errors: dict[str, str] = {}

    def choice(key: str, allowed: object, message: str) -> str | None:
        if v[key] and v[key] not in allowed:  # type: ignore[operator]
            errors[key] = message
            return None
        return v[key] or None

    stage = choice("stage", LIFECYCLE, "Choose a lifecycle stage from the list.")
    cell = choice("cell", CELL_CHOICES, "Choose a cell from A1 to D4, or F.")
    grade = choice("grade", GRADE_CHOICES, "Choose a grade: A, B, C, D or F.")
    tier = choice("tier", ("1", "2", "3", "4"), "Choose a tier from 1 to 4.")
    buying = choice("buying_stage", BUYING_STAGES, "Choose research, evaluation or decision.")
    scores: dict[str, float | None] = {"min_score": None, "max_score": None}
    for key in scores:
        if v[key]:
            try:
                scores[key] = float(v[key])
            except ValueError:
                scores[key] = -1.0
            if not 0 <= (scores[key] or 0) <= 100:
                errors[key] = "Enter a score from 0 to 100."
                scores[key] = None
    days: dict[str, dt.datetime | None] = {"active_from": None, "active_to": None}
    for key in days:
        if v[key]:
            try:
                day = dt.date.fromisoformat(v[key])
            except ValueError:
                errors[key] = "Enter a date as YYYY-MM-DD."
                continue
            if key == "active_to":  # the whole day, in the event's time zone
                day += dt.timedelta(days=1)
            days[key] = dt.datetime.combine(day, dt.time(), tzinfo=ZoneInfo(tz)).astimezone(dt.UTC)
    level = choice("event_level", (*YES, *NO), "Choose yes or no (true or false).")
    f = ExportFilter(
        event_id=event_id,
        event_level=None if level is None else level in YES,
        stage=stage,
        cell=cell,
        grade=grade,
        tier=int(tier) if tier else None,
        buying_stage=buying,
        min_score=scores["min_score"],
        max_score=scores["max_score"],
        active_from=days["active_from"],
        active_to=days["active_to"],
    )
    return f, v["exhibitor"] or None, errors


async def resolve(
    db: AsyncSession, member: Membership, params: Mapping[str, str]
) -> tuple[ExportFilter, dict[str, str]]:
    """The filter of a request, narrowed to what `member` may export."""
    event = member.event
    f, slug, errors = parse_filters(params, event_id=event.id, tz=event.timezone)
    exhibitor_id = None
    if slug is not None:
        exhibitor_id = await exhibitor_by_slug(db, event.id, slug)
        if exhibitor_id is None:
            raise NotFound("There is no such exhibitor at this event.")
    return scoped(member, f, exhibitor_id), errors


def filename(member: Membership, preset: Preset, exporter: Exporter) -> str:
    day = utcnow().date().isoformat()
    name = preset.identifier.replace(":", "-").replace("/", "-").replace('"', "")
    return f"{member.event.slug}-leads-{name}-{day}.{exporter.extension}"


@router.get("/events/{slug}/leads/export")
async def export_leads(
    request: Request, member: Member, db: DbSession, format: str = "csv", preset: str = "full"
) -> StreamingResponse:
    """The leads as a file, streamed. Not the lead list's filters but the export's own (all
    optional, shared with the count and the export page): exhibitor (a slug), event_level
    (true: event leads only, false: exhibitor leads only), stage, cell (A1 to D4, or F),
    grade (A to D, or F), tier (1 to 4), buying_stage, min_score and max_score (engagement,
    0 to 100), active_from and active_to (days of the last activity, YYYY-MM-DD in the
    event's time zone, both included). Staff get only their exhibitors' leads of attendees
    who share their details, whatever event_level says. `preset`: full, salesforce, hubspot
    (leaves out leads without an email) or mapping:NAME; `format`: csv, xlsx or jsonl, and
    `bom=1` for a CSV that Excel opens as UTF-8."""
    exporter = exporter_for(format, bom=request.query_params.get("bom") in ("1", "true"))
    if exporter is None:
        raise InvalidExport(f"Use format {', '.join(EXPORTERS)}.", field="format")
    f, errors = await resolve(db, member, request.query_params)
    if errors:
        field, message = next(iter(errors.items()))
        raise InvalidExport(message, field=field)
    chosen = await preset_named(db, member.event.id, preset)
    name = filename(member, chosen, exporter)
    return StreamingResponse(
        export_stream(request.app.state.engine, f, chosen, exporter),
        media_type=exporter.content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


class ExportCount(BaseModel):
    count: int


@router.get("/events/{slug}/leads/export/count")
async def export_count(
    request: Request, member: Member, db: DbSession, preset: str = "full"
) -> ExportCount:
    """The number of rows the export with these filters and `preset` holds."""
    f, errors = await resolve(db, member, request.query_params)
    if errors:
        field, message = next(iter(errors.items()))
        raise InvalidExport(message, field=field)
    chosen = await preset_named(db, member.event.id, preset)
    return ExportCount(count=await count_rows(db, f, *chosen.where))


class MappingColumn(BaseModel):
    header: str = Field(min_length=1, max_length=100)
    field: str


class MappingWrite(BaseModel):
    name: str = Field(min_length=1, max_length=80, pattern=r"^[\w .-]+$")
    columns: list[MappingColumn] = Field(min_length=1, max_length=100)


class MappingRead(MappingWrite):
    id: int
    preset: str


@router.get("/events/{slug}/export-mappings")
async def list_mappings(member: Organizer, db: DbSession) -> list[MappingRead]:
    rows = await db.execute(
        select(ExportMapping)
        .where(ExportMapping.event_id == member.event.id)
        .order_by(ExportMapping.name)
    )
    return [_read(m) for m in rows.scalars()]


def _read(m: ExportMapping) -> MappingRead:
    return MappingRead(
        id=m.id,
        name=m.name,
        columns=[MappingColumn(**c) for c in m.columns],
        preset=f"mapping:{m.name}",
    )


@router.put("/events/{slug}/export-mappings/{name}")
async def save_mapping(
    name: str, body: MappingWrite, member: Organizer, db: DbSession
) -> MappingRead:
    """Create or replace the mapping `name` (the body's name wins when renaming)."""
    columns = [c.model_dump() for c in body.columns]
    problems = invalid_columns(columns)
    if problems:
        raise InvalidExport(" ".join(problems), field="columns")
    row = (
        await db.execute(
            select(ExportMapping).where(
                ExportMapping.event_id == member.event.id, ExportMapping.name == name
            )
        )
    ).scalar_one_or_none()
    try:
        async with db.begin_nested():  # a savepoint: a name already taken is a 409, not a 500
            if row is None:
                row = ExportMapping(event_id=member.event.id, created_by_id=member.account.id)
                db.add(row)
            row.name = body.name
            row.columns = columns
    except IntegrityError:  # unique (event, name): the only constraint a write can break
        raise MappingExists(
            f"This event already has a mapping named {body.name!r}: choose another name.",
            field="name",
        ) from None
    return _read(row)
