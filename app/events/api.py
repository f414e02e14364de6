"""JSON API of events: list, read, create and update."""

from __future__ import annotations

from fastapi import APIRouter

from app.auth.deps import CurrentAccount, MaybeAccount, Organizer
from app.db import DbSession
from app.events.schemas import EventCreate, EventRead, EventUpdate
from app.events.service import event as event_service

router = APIRouter(prefix="/api", tags=["events"])


@router.get("/events")
async def list_events(db: DbSession, account: MaybeAccount) -> list[EventRead]:
    """Live and ended events; organizers also see their drafts."""
    events = await event_service.visible(db, account=account)
    return [EventRead.model_validate(e) for e in events]


@router.get("/events/{slug}")
async def get_event(slug: str, db: DbSession, account: MaybeAccount) -> EventRead:
    event = await event_service.get_visible(db, slug=slug, account=account)
    return EventRead.model_validate(event)


@router.post("/events", status_code=201)
async def create_event(data: EventCreate, db: DbSession, account: CurrentAccount) -> EventRead:
    """Create an event (admins and organizers); naive times are read in `timezone`."""
    event = await event_service.create(db, account=account, data=data)
    return EventRead.model_validate(event)


@router.patch("/events/{slug}")
async def update_event(data: EventUpdate, db: DbSession, membership: Organizer) -> EventRead:
    """Change an event (its organizers); only the given fields change."""
    event = await event_service.update(db, membership=membership, data=data)
    return EventRead.model_validate(event)
