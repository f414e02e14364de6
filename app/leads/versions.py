"""Versioned rulesets: the current rules of an event, saving a new version, overrides."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Account
from app.booths.models import Exhibitor
from app.events.models import Event
from app.leads import repository
from app.leads.errors import InvalidRules
from app.leads.models import RulesVersion
from app.leads.rules import ExhibitorOverride, Ruleset


@dataclass(frozen=True, slots=True)
class CurrentRules:
    """The ruleset in force; version 0 (no row) means the DESIGN.md defaults."""

    version: int
    ruleset: Ruleset
    overrides: Mapping[int, ExhibitorOverride] = field(default_factory=dict)
    row_id: int | None = None


_DEFAULTS = CurrentRules(0, Ruleset())
# Parsed rulesets by row identity (created_at too: SQLite may reuse ids of deleted rows).
_parsed: dict[tuple[int, int, dt.datetime], CurrentRules] = {}


def parse_overrides(data: Mapping[str, Any]) -> dict[int, ExhibitorOverride]:
    return {int(k): ExhibitorOverride.model_validate(v) for k, v in data.items()}


async def current_rules(db: AsyncSession, event: Event) -> CurrentRules:
    row = await repository.latest_rules(db, event.id)
    if row is None:
        return _DEFAULTS
    key = (row.id, row.version, row.created_at)
    cached = _parsed.get(key)
    if cached is None:
        if len(_parsed) > 256:
            _parsed.clear()
        cached = CurrentRules(
            row.version,
            Ruleset.model_validate(row.rules),
            parse_overrides(row.overrides),
            row.id,
        )
        _parsed[key] = cached
    return cached


async def save_rules(
    db: AsyncSession,
    *,
    event: Event,
    ruleset: Ruleset,
    overrides: Mapping[int, ExhibitorOverride],
    actor: Account | None,
) -> RulesVersion:
    """Store a new version (the previous ones stay, so any score can be reproduced)."""
    if overrides:
        known = set(
            (
                await db.execute(
                    select(Exhibitor.id).where(
                        Exhibitor.event_id == event.id, Exhibitor.id.in_(list(overrides))
                    )
                )
            ).scalars()
        )
        for exhibitor_id in overrides:
            if exhibitor_id not in known:
                raise InvalidRules(
                    f"Exhibitor {exhibitor_id} is not part of this event.",
                    field=f"overrides.{exhibitor_id}",
                )
    latest = await repository.latest_rules(db, event.id)
    row = RulesVersion(
        event_id=event.id,
        version=(latest.version if latest else 0) + 1,
        rules=ruleset.model_dump(mode="json"),
        overrides={
            str(k): v.model_dump(mode="json", exclude_defaults=True) for k, v in overrides.items()
        },
        created_by_id=actor.id if actor else None,
    )
    db.add(row)
    await db.flush()
    return row


def effective_override(
    rules: CurrentRules,
    exhibitor_id: int,
    *,
    territory: list[str] | None,
    ideal_sizes: list[str] | None,
    competitor_domains: list[str] | None,
) -> ExhibitorOverride:
    """The exhibitor's booth settings, with the ruleset's override for it on top."""
    own = rules.overrides.get(exhibitor_id)
    return ExhibitorOverride.model_construct(
        territory=[
            c.upper()
            for c in (own.territory if own and own.territory is not None else territory or [])
        ],
        ideal_company_sizes=(
            own.ideal_company_sizes
            if own and own.ideal_company_sizes is not None
            else list(ideal_sizes or [])
        ),
        competitor_domains=sorted(
            {d.lower() for d in competitor_domains or []}
            | set(own.competitor_domains if own else [])
        ),
        resource_points=dict(own.resource_points) if own else {},
    )


async def override_for(
    db: AsyncSession, rules: CurrentRules, exhibitor_id: int
) -> ExhibitorOverride:
    exhibitor = await db.get(Exhibitor, exhibitor_id)
    booth = await repository.booth_of(db, exhibitor_id)
    return effective_override(
        rules,
        exhibitor_id,
        territory=booth.territory if booth else None,
        ideal_sizes=booth.ideal_sizes if booth else None,
        competitor_domains=exhibitor.competitor_domains if exhibitor else None,
    )
