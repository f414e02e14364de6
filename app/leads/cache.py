"""A per-process cache of an event's booths, resources, exhibitors and sessions for `record`.

Recording an activity checks that its ids belong to the event and derives label, stage and
live from them; reading four rows per activity dominated the hot path. The rows change
rarely, so each process keeps them per event, keyed by (event id, event created_at) because
SQLite may reuse the ids of deleted events. Any ORM write to those tables in this process
clears the cache; writes from other processes are picked up after `TTL_SECONDS`; an id the
cache does not know reloads the event once before it is called unknown.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session

from app.booths.models import Booth, Exhibitor, Resource
from app.leads.rules import ExhibitorOverride
from app.leads.versions import CurrentRules, effective_override
from app.sessions.models import ProgramSession

TTL_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class BoothInfo:
    id: int
    exhibitor_id: int
    territory: list[str]
    ideal_sizes: list[str]


@dataclass(frozen=True, slots=True)
class ResourceInfo:
    id: int
    booth_id: int
    title: str
    stage: str | None


@dataclass(frozen=True, slots=True)
class ExhibitorInfo:
    id: int
    name: str
    competitor_domains: list[str]
    booth: BoothInfo | None


@dataclass(frozen=True, slots=True)
class SessionInfo:
    id: int
    title: str
    starts_at: dt.datetime
    ends_at: dt.datetime


@dataclass(slots=True)
class EventContext:
    booths: dict[int, BoothInfo]
    resources: dict[int, ResourceInfo]
    exhibitors: dict[int, ExhibitorInfo]
    sessions: dict[int, SessionInfo]
    loaded_at: float
    generation: int
    overrides: dict[tuple[int, int | None, int, int | None], ExhibitorOverride] = field(
        default_factory=dict
    )

    def override(
        self, rules: CurrentRules, exhibitor_id: int, booth: BoothInfo | None
    ) -> ExhibitorOverride:
        """The exhibitor's effective override under `rules` (with the settings of `booth`),
        built once per rules version."""
        key = (exhibitor_id, booth.id if booth else None, rules.version, rules.row_id)
        found = self.overrides.get(key)
        if found is None:
            exhibitor = self.exhibitors.get(exhibitor_id)
            found = self.overrides[key] = effective_override(
                rules,
                exhibitor_id,
                territory=booth.territory if booth else None,
                ideal_sizes=booth.ideal_sizes if booth else None,
                competitor_domains=exhibitor.competitor_domains if exhibitor else None,
            )
        return found


_contexts: dict[tuple[int, dt.datetime], EventContext] = {}
_generation = 0
_WATCHED: tuple[type[Any], ...] = (Booth, Resource, Exhibitor, ProgramSession)


def invalidate() -> None:
    """Forget every cached event (called on any ORM write to the watched tables)."""
    global _generation
    _generation += 1
    _contexts.clear()


async def _load(db: AsyncSession, event_id: int) -> EventContext:
    booths = {
        r.id: BoothInfo(r.id, r.exhibitor_id, list(r.territory or []), list(r.ideal_sizes or []))
        for r in await db.execute(
            select(Booth.id, Booth.exhibitor_id, Booth.territory, Booth.ideal_sizes).where(
                Booth.event_id == event_id
            )
        )
    }
    by_exhibitor = {b.exhibitor_id: b for b in sorted(booths.values(), key=lambda b: -b.id)}
    exhibitors = {
        r.id: ExhibitorInfo(r.id, r.name, list(r.competitor_domains or []), by_exhibitor.get(r.id))
        for r in await db.execute(
            select(Exhibitor.id, Exhibitor.name, Exhibitor.competitor_domains).where(
                Exhibitor.event_id == event_id
            )
        )
    }
    resources = {
        r.id: ResourceInfo(r.id, r.booth_id, r.title, r.stage)
        for r in await db.execute(
            select(Resource.id, Resource.booth_id, Resource.title, Resource.stage)
            .join(Booth, Booth.id == Resource.booth_id)
            .where(Booth.event_id == event_id)
        )
    }
    sessions = {
        r.id: SessionInfo(r.id, r.title, r.starts_at, r.ends_at)
        for r in await db.execute(
            select(
                ProgramSession.id,
                ProgramSession.title,
                ProgramSession.starts_at,
                ProgramSession.ends_at,
            ).where(ProgramSession.event_id == event_id)
        )
    }
    return EventContext(booths, resources, exhibitors, sessions, time.monotonic(), _generation)


async def event_context(
    db: AsyncSession, event_id: int, created_at: dt.datetime, *, reload: bool = False
) -> EventContext:
    key = (event_id, created_at)
    ctx = _contexts.get(key)
    if (
        ctx is None
        or reload
        or ctx.generation != _generation
        or time.monotonic() - ctx.loaded_at > TTL_SECONDS
    ):
        if len(_contexts) > 64:
            _contexts.clear()
        ctx = _contexts[key] = await _load(db, event_id)
    return ctx


def _watched_write(_mapper: Any, _connection: Any, _target: Any) -> None:
    invalidate()


def _orm_execute(state: ORMExecuteState) -> None:
    if (state.is_update or state.is_delete or state.is_insert) and state.bind_mapper is not None:
        if state.bind_mapper.class_ in _WATCHED:
            invalidate()


for _cls in _WATCHED:
    for _name in ("after_insert", "after_update", "after_delete"):
        sa_event.listen(_cls, _name, _watched_write)
sa_event.listen(Session, "do_orm_execute", _orm_execute)
