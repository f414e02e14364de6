"""Scored leads written at the driver's level, for `record` and the bulk path: new leads
with multi-row INSERT … RETURNING (in parts), scores with one UPDATE executemany. Values are
the driver's own (timestamps through `Timestamps`, JSON encoded by orjson), so SQLAlchemy
converts nothing row by row; the statements are built once per dialect (and row count)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from operator import itemgetter
from typing import Any, cast

import orjson
from sqlalchemy import Table, bindparam, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from app.db import UTCDateTime, attach_loaded
from app.db_driver import DriverStatement, Timestamps
from app.leads.models import Lead
from app.leads.repository import SCORE_COLUMNS, _connection, _dialect_insert

_LEADS = cast(Table, Lead.__table__)
_LEAD_COLUMNS = tuple(c.key for c in _LEADS.columns if c.key != "id")

_NEW_LEADS: dict[tuple[str, int], DriverStatement] = {}
_TIMESTAMP_COLUMNS = frozenset(c.key for c in _LEADS.columns if isinstance(c.type, UTCDateTime))
_JSON_COLUMNS = frozenset(("state", "contributions"))


def _new_leads_insert(db: AsyncSession, count: int) -> DriverStatement:
    """INSERT … VALUES (…), … ON CONFLICT DO NOTHING RETURNING id, registration_id, scope of
    `count` leads at the driver's level, built once per dialect and count (`_LEAD_COLUMNS`
    of each lead in turn)."""
    key = (db.get_bind().dialect.name, count)
    found = _NEW_LEADS.get(key)
    if found is None:
        names = [[f"{k}_{n}" for k in _LEAD_COLUMNS] for n in range(count)]
        rows: list[dict[str, Any]] = [
            {k: bindparam(name) for k, name in zip(_LEAD_COLUMNS, row, strict=True)}
            for row in names
        ]
        statement = (
            _dialect_insert(db)(_LEADS)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["event_id", "registration_id", "scope"])
            .returning(_LEADS.c.id, _LEADS.c.registration_id, _LEADS.c.scope)
        )
        found = _NEW_LEADS[key] = DriverStatement(statement, [n for row in names for n in row])
    return found


NEW_LEADS_CHUNK = 256
"""The most leads one INSERT takes (256 x 20 parameters: well within SQLite's and asyncpg's
limits of 32,766 and 32,767)."""


def _chunk_sizes(count: int) -> list[int]:
    """`count` as NEW_LEADS_CHUNK-sized parts and powers of two: at most 9 statements per
    dialect are ever built, whatever the batch sizes."""
    sizes = [NEW_LEADS_CHUNK] * (count // NEW_LEADS_CHUNK)
    rest = count % NEW_LEADS_CHUNK
    sizes += [1 << bit for bit in reversed(range(rest.bit_length())) if rest >> bit & 1]
    return sizes


async def _insert_leads(
    db: AsyncSession, rows: list[dict[str, Any]], *, encoded: bool
) -> dict[tuple[int, int], int]:
    """INSERT … ON CONFLICT DO NOTHING of scored leads (`_LEAD_COLUMNS`; state and
    contributions already `encoded`, or not) at the driver's level → id by (registration,
    scope) of those inserted; a lead another transaction created first is left out."""
    to_driver = Timestamps.of(db.get_bind().dialect).to_driver
    connection = await _connection(db)  # flushes what the statement must see
    ids: dict[tuple[int, int], int] = {}
    start = 0
    for size in _chunk_sizes(len(rows)):
        params: list[Any] = []
        for values in rows[start : start + size]:
            for k in _LEAD_COLUMNS:
                value = values[k]
                if k in _TIMESTAMP_COLUMNS:
                    value = to_driver(value)
                elif k in _JSON_COLUMNS and not encoded:
                    value = orjson.dumps(value).decode()
                params.append(value)
        start += size
        for id_, registration_id, scope in await _new_leads_insert(db, size).all(
            connection, *params
        ):
            ids[registration_id, scope] = id_
    return ids


async def insert_new_leads(db: AsyncSession, rows: list[dict[str, Any]]) -> dict[int, Lead]:
    """`insert_leads` of one attendee's new leads (state and contributions as objects) →
    the new Lead, joined to the session as loaded, by scope."""
    if not rows:
        return {}
    ids = await _insert_leads(db, rows, encoded=False)
    created = {}
    for values in rows:
        new_id = ids.get((values["registration_id"], values["scope"]))
        if new_id is None:
            continue
        lead = attach_loaded(db, Lead, {"id": new_id, **{k: values[k] for k in _LEAD_COLUMNS}})
        created[values["scope"]] = lead
    return created


async def update_loaded_leads(db: AsyncSession, pairs: list[tuple[Lead, dict[str, Any]]]) -> None:
    """One executemany at the driver's level (state and contributions encoded by orjson) of
    loaded leads' SCORE_COLUMNS, which the leads take as committed state (nothing left for
    the unit of work to flush)."""
    if not pairs:
        return
    encoded = [
        (
            lead.id,
            {
                **values,
                "state": orjson.dumps(values["state"]).decode(),
                "contributions": orjson.dumps(values["contributions"]).decode(),
            },
        )
        for lead, values in pairs
    ]
    await set_leads(db, encoded)
    for lead, values in pairs:
        for key, value in values.items():
            set_committed_value(lead, key, value)


def _lead_set_row(
    values: dict[str, Any], lead_id: int, to_driver: Callable[[dt.datetime | None], Any]
) -> tuple[Any, ...]:
    """`_LEAD_SET`'s parameters from SCORE_COLUMNS values (JSON already encoded)."""
    return (
        *(to_driver(values[k]) if k in _TIMESTAMP_COLUMNS else values[k] for k in SCORE_COLUMNS),
        lead_id,
    )


async def set_leads(db: AsyncSession, rows: list[tuple[int, dict[str, Any]]]) -> None:
    """Executemany of scored leads: (lead id, SCORE_COLUMNS values with state and
    contributions encoded), written in id order, as `rescore_queries.update_leads`."""
    if rows:
        to_driver = Timestamps.of(db.get_bind().dialect).to_driver
        await _LEAD_SET.many(
            await _connection(db),
            [
                _lead_set_row(values, lead_id, to_driver)
                for lead_id, values in sorted(rows, key=itemgetter(0))
            ],
        )


async def insert_leads(db: AsyncSession, rows: list[dict[str, Any]]) -> dict[tuple[int, int], int]:
    """INSERT … ON CONFLICT DO NOTHING of scored leads (`_LEAD_COLUMNS`, state and
    contributions encoded) → id by (registration, scope) of those inserted."""
    return await _insert_leads(db, rows, encoded=True) if rows else {}


_LEAD_SET = DriverStatement(
    update(_LEADS)
    .where(_LEADS.c.id == bindparam("id"))
    .values({name: bindparam(name) for name in SCORE_COLUMNS}),
    (*SCORE_COLUMNS, "id"),
)
"""The scoring columns of one lead by id, at the driver's level (`_lead_set_row`)."""
