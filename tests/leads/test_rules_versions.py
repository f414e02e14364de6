"""Rules versions and rescoring every lead of an event from the activity log."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import sqlite3
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import db_sqlite
from app.booths.models import Exhibitor
from app.db import utcnow
from app.events.models import Event, Registration
from app.leads import rescore, rescore_queries
from app.leads.errors import InvalidRules
from app.leads.models import Activity, Lead, LeadEvent, LeadTransition
from app.leads.rescore import RescoreProgress, rescore_event
from app.leads.rules import ExhibitorOverride, Ruleset
from app.leads.scoring import score
from app.leads.service import fact_of, profile_of, record
from app.leads.state import TOP_REASONS, is_full
from app.leads.versions import current_rules, override_for, save_rules
from tests.factories import (
    make_account,
    make_booth_visitor,
    make_event,
    make_exhibitor,
    make_registration,
    make_resource,
)


async def test_each_save_is_a_new_version(db: AsyncSession) -> None:
    event = await make_event(db)
    acme = await make_exhibitor(db, event)
    actor = await make_account(db)
    assert (await current_rules(db, event)).version == 0
    first = await save_rules(db, event=event, ruleset=Ruleset(), overrides={}, actor=actor)
    changed = Ruleset.model_validate({"half_life_days": 7})
    second = await save_rules(
        db,
        event=event,
        ruleset=changed,
        overrides={acme.id: ExhibitorOverride(territory=["DE"])},
        actor=actor,
    )
    assert (first.version, second.version, second.created_by_id) == (1, 2, actor.id)
    current = await current_rules(db, event)
    assert (current.version, current.ruleset.half_life_days) == (2, 7)
    assert current.overrides[acme.id].territory == ["DE"]


async def test_override_for_an_unknown_exhibitor_is_refused(db: AsyncSession) -> None:
    event, other = await make_event(db), await make_event(db)
    foreign = await make_exhibitor(db, other)
    with pytest.raises(InvalidRules) as info:
        await save_rules(
            db,
            event=event,
            ruleset=Ruleset(),
            overrides={foreign.id: ExhibitorOverride()},
            actor=None,
        )
    assert info.value.extra["field"] == f"overrides.{foreign.id}"


@pytest.mark.parametrize("batch_size", [1, 1000])
async def test_rescore_applies_the_new_rules_to_every_lead(
    db: AsyncSession, batch_size: int
) -> None:
    event = await make_event(db)
    acme = await make_exhibitor(db, event)
    regs = [await make_registration(db, event, country=c) for c in ("GB", "DE", "FR")]
    for n, reg in enumerate(regs):
        await record(
            db,
            event=event,
            registration=reg,
            type="booth.visit",
            exhibitor_id=acme.id,
            idempotency_key=f"v{n}",
        )
    quiet = await make_registration(db, event)  # no activity, no lead
    del quiet
    rules = Ruleset().model_dump()
    rules["engagement"]["visit"]["points"] = 45  # over the cap: exactly 40 despite decay
    rules["groups"]["booth"] = 40
    await save_rules(
        db,
        event=event,
        ruleset=Ruleset.model_validate(rules),
        overrides={acme.id: ExhibitorOverride(territory=["DE"])},
        actor=None,
    )
    batches: list[int] = []
    seen = (await db.execute(select(func.max(LeadEvent.id)))).scalar_one()

    async def after(progress: RescoreProgress) -> None:
        batches.append(progress.done)

    progress = await rescore_event(db, event=event, batch_size=batch_size, after_batch=after)
    assert (progress.version, progress.total, progress.done, progress.activities) == (1, 6, 6, 3)
    assert batches[-1] == 6
    assert len(batches) == (6 if batch_size == 1 else 1)  # one lead at a time, or all
    acme_id = acme.id
    db.expire_all()
    leads = (
        (await db.execute(select(Lead).order_by(Lead.registration_id, Lead.scope))).scalars().all()
    )
    summary = [
        (lead.exhibitor_id, lead.rules_version, round(lead.engagement, 6), lead.cell, lead.stage)
        for lead in leads
    ]
    assert summary == [
        (None, 1, 40.0, "A2", "mql"),
        (acme_id, 1, 40.0, "C2", "inquiry"),  # GB is outside the territory: grade capped at C
        (None, 1, 40.0, "A2", "mql"),
        (acme_id, 1, 40.0, "A2", "mql"),
        (None, 1, 40.0, "A2", "mql"),
        (acme_id, 1, 40.0, "C2", "inquiry"),
    ]
    assert progress.promoted == 4
    reasons = (await db.execute(select(LeadTransition.reason, LeadTransition.note))).all()
    assert sorted(reasons) == [("auto_cell", "rules v1")] * 4
    # Webhooks hear of it: every lead's cell moved, four became MQLs.
    events = (await db.execute(select(LeadEvent).where(LeadEvent.id > seen))).scalars().all()
    moved = {e.lead_id: e.change["after"]["cell"] for e in events if e.type == "lead.updated"}
    assert moved == {lead.id: lead.cell for lead in leads}
    assert sum(e.type == "lead.mql_reached" for e in events) == 4


async def _visit_then_new_rules(
    db: AsyncSession, visit_points: float, mql_cells: list[str] | None = None
) -> tuple[Event, Exhibitor, Registration]:
    """One attendee's booth visit scored under the defaults, then rules where a visit is
    worth `visit_points` (and `mql_cells`, if given, are MQLs) saved as version 1."""
    event, acme, reg = await make_booth_visitor(db)
    rules = Ruleset().model_dump()
    rules["engagement"]["visit"]["points"] = visit_points
    if mql_cells is not None:
        rules["mql_cells"] = mql_cells
    await save_rules(
        db, event=event, ruleset=Ruleset.model_validate(rules), overrides={}, actor=None
    )
    return event, acme, reg


async def test_recording_after_a_rules_change_rebuilds_the_lead_once(db: AsyncSession) -> None:
    event, acme, reg = await _visit_then_new_rules(db, 10)
    result = await record(
        db,
        event=event,
        registration=reg,
        type="booth.visit",
        exhibitor_id=acme.id,
        idempotency_key="b",
    )
    lead = result.leads[1]
    # Both visits are on the same booth-day: the rebuilt state counts the first one, at 10.
    assert lead.rules_version == 1
    assert lead.engagement == pytest.approx(10, abs=1e-3)  # decayed by the seconds in between


async def test_activity_after_a_rescore_rebuilds_the_stub_state_to_the_full_recompute(
    db: AsyncSession,
) -> None:
    event = await make_event(db)
    acme = await make_exhibitor(db, event)
    reg = await make_registration(db, event)
    for n in range(3):
        await record(
            db,
            event=event,
            registration=reg,
            type="booth.dwell",
            value=120.0 * (n + 1),
            exhibitor_id=acme.id,
            idempotency_key=f"d{n}",
        )
    rules = Ruleset().model_dump()
    rules["half_life_days"] = 10
    await save_rules(
        db, event=event, ruleset=Ruleset.model_validate(rules), overrides={}, actor=None
    )
    await rescore_event(db, event=event)
    acme_id = acme.id
    for lead in [o for o in db.identity_map.values() if isinstance(o, Lead)]:
        db.expire(lead)  # as a new request would read them
    stored = (await db.execute(select(Lead.state).where(Lead.exhibitor_id.is_(None)))).scalar_one()
    assert not is_full(stored)  # the rescore writes only the recycle instant
    result = await record(
        db,
        event=event,
        registration=reg,
        type="resource.download",
        exhibitor_id=acme_id,
        idempotency_key="r",
    )
    current = await current_rules(db, event)
    logged = (await db.execute(select(Activity).order_by(Activity.id))).scalars().all()
    for lead in result.leads:
        assert is_full(lead.state)
        full = score(
            profile_of(reg),
            [fact_of(a) for a in logged],
            current.ruleset,
            None
            if lead.exhibitor_id is None
            else await override_for(db, current, lead.exhibitor_id),
            lead.updated_at,
            top=TOP_REASONS,
        )
        assert lead.engagement == pytest.approx(full.engagement)
        assert lead.cell == full.cell


@pytest.mark.parametrize("processes", [0, 2], ids=["here", "helper-processes"])
async def test_rescore_stores_what_a_full_recompute_gives_for_every_lead(
    db: AsyncSession, processes: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rescore reads and writes driver values, splices pre-encoded fit reasons and, on
    large events, scores in a helper process: every stored column must still be what
    `score()` gives from the log, a recycled lead counting only what came after its
    recycle. Its writes go in chunks (two leads each here): none may be left out."""
    monkeypatch.setattr(rescore, "WRITE_CHUNK", 2)
    event = await make_event(db)
    acme, globex = await make_exhibitor(db, event), await make_exhibitor(db, event)
    sheet = await make_resource(db, acme, title="Pricing sheet", stage="decision")
    regs = [
        await make_registration(db, event, job_level="c_level", budget="approved", country="DE"),
        await make_registration(db, event, job_level="manager", country="GB", timeframe="lt_3m"),
        await make_registration(db, event, job_level="student", company_type="other"),
    ]
    now = dt.datetime(2026, 11, 20, 12, 0, 0, 123456, tzinfo=dt.UTC)
    steps: list[tuple[str, dict[str, Any]]] = [
        ("booth.visit", {"exhibitor_id": acme.id}),
        ("booth.dwell", {"exhibitor_id": acme.id, "value": 430.0}),
        ("resource.download", {"resource_id": sheet.id}),
        ("booth.visit", {"exhibitor_id": globex.id}),
        ("email.click", {"exhibitor_id": globex.id}),
        ("info.request", {"exhibitor_id": acme.id}),
        ("unsubscribe", {}),
    ]
    for n, reg in enumerate(regs):
        for k, (kind, values) in enumerate(steps[n:] + steps[:n]):
            at = now - dt.timedelta(days=3 * k + n, seconds=k)  # whole seconds and not
            await record(
                db,
                event=event,
                registration=reg,
                type=kind,
                at=at,
                idempotency_key=f"{n}-{k}",
                **values,
            )
    recycled_at = now - dt.timedelta(days=7)
    await db.execute(
        update(Lead)
        .where(Lead.registration_id == regs[1].id, Lead.exhibitor_id == acme.id)
        .values(reset_at=recycled_at)
    )
    rules = Ruleset().model_dump()
    rules["half_life_days"] = 10
    rules["engagement"]["info_request"]["points"] = 20
    rules["mql_cells"] = [f"{g}{t}" for g in "ABCD" for t in "1234"]  # every lead but F
    inquiries = set((await db.execute(select(Lead.id).where(Lead.stage == "inquiry"))).scalars())
    await save_rules(
        db,
        event=event,
        ruleset=Ruleset.model_validate(rules),
        overrides={acme.id: ExhibitorOverride(territory=["DE"], resource_points={sheet.id: 4})},
        actor=None,
    )
    batches: list[int] = []

    async def after(progress: RescoreProgress) -> None:
        batches.append(progress.done)

    progress = await rescore_event(
        db, event=event, now=now, processes=processes, batch_size=1, after_batch=after
    )
    assert batches == list(range(1, 10))  # in order, one lead at a time
    for stale in [o for o in db.identity_map.values() if isinstance(o, Lead)]:
        db.expire(stale)  # as a new request would read them
    leads = (await db.execute(select(Lead).order_by(Lead.id))).scalars().all()
    promoted = {lead.id for lead in leads if lead.id in inquiries and lead.grade != "F"}
    assert promoted
    assert all(lead.stage == "mql" for lead in leads if lead.id in promoted)
    assert (progress.activities, progress.promoted) == (21, len(promoted))
    transitions = (await db.execute(select(LeadTransition.lead_id))).scalars().all()
    assert promoted <= set(transitions)
    assert progress.done == len(leads) == 9
    current = await current_rules(db, event)
    logged = (await db.execute(select(Activity))).scalars().all()
    by_id = {reg.id: reg for reg in regs}
    for lead in leads:
        facts = [
            fact_of(a)
            for a in logged
            if a.registration_id == lead.registration_id
            and (lead.exhibitor_id is None or a.exhibitor_id == lead.exhibitor_id)
            and (lead.reset_at is None or a.at >= lead.reset_at)
        ]
        override = (
            None
            if lead.exhibitor_id is None
            else await override_for(db, current, lead.exhibitor_id)
        )
        full = score(
            profile_of(by_id[lead.registration_id]),
            facts,
            current.ruleset,
            override,
            now,
            top=TOP_REASONS,
        )
        assert lead.rules_version == current.version
        assert (lead.fit, lead.grade, lead.engagement, lead.tier, lead.cell) == (
            full.fit,
            full.grade,
            full.engagement,
            full.tier,
            full.cell,
        )
        assert lead.buying_stage == full.buying_stage
        assert lead.last_activity_at == full.last_activity_at
        assert lead.contributions == [c.to_json() for c in full.contributions]
        assert lead.updated_at == now
    recycled = next(lead for lead in leads if lead.reset_at is not None)
    assert recycled.reset_at == recycled_at
    assert recycled.last_activity_at is not None
    assert recycled.last_activity_at >= recycled_at
    assert any(lead.grade == "F" for lead in leads)  # the student: gated
    assert {lead.cell for lead in leads} != {"F"}


@pytest.mark.parametrize("via", ["here", "helper"])
async def test_rescore_leaves_a_lead_changed_after_it_was_read(db: AsyncSession, via: str) -> None:
    """An activity recorded while the rescore runs is folded by the recorder; the rescore's
    write for that lead, computed from an older read, must not overwrite it. In this process
    and in a helper's (which reads and writes in transactions of its own)."""
    every_cell = [f"{g}{t}" for g in "ABCD" for t in "1234"]  # both leads become MQLs
    event, _, reg = await _visit_then_new_rules(db, 9, every_cell)
    seen = (await db.execute(select(func.max(LeadEvent.id)))).scalar_one()
    later = utcnow() + dt.timedelta(minutes=5)
    touched: list[int] = []

    async def touch(progress: RescoreProgress) -> None:
        del progress

    real_all = rescore_queries.LEADS_WITH_PROFILES.all

    async def read_then_change(source: Any, *values: Any) -> Any:
        rows = await real_all(source, *values)
        # Between the read and the write, the recorder updates the event lead.
        await db.execute(
            update(Lead)
            .where(Lead.registration_id == reg.id, Lead.exhibitor_id.is_(None))
            .values(updated_at=later, engagement=33.0)
        )
        if via == "helper":
            await db.commit()  # another transaction than the helper's, as a recorder's
        touched.append(len(rows))
        return rows

    rescore_queries.LEADS_WITH_PROFILES.all = read_then_change  # type: ignore[method-assign]
    try:
        if via == "here":
            progress = await rescore_event(db, event=event, after_batch=touch)
            done, promoted = progress.done, progress.promoted
        else:
            # A helper's batch, run on this loop (a helper process runs the same on its own).
            await db.commit()
            rules = await current_rules(db, event)
            url = db.get_bind().engine.url.render_as_string(hide_password=False)
            overrides = await rescore._overrides(db, event, rules)
            helper = rescore._Helper(url, rules, overrides, utcnow())
            ids = (await db.execute(select(Lead.id).where(Lead.registration_id == reg.id))).all()
            try:
                done, promoted, _, _ = await helper._batch(event.id, (min(ids)[0], max(ids)[0]))
            finally:
                await helper.engine.dispose()
                helper.loop.close()
    finally:
        del rescore_queries.LEADS_WITH_PROFILES.all
    assert touched == [2]
    assert done == 2
    for stale in [o for o in db.identity_map.values() if isinstance(o, Lead)]:
        db.expire(stale)
    event_lead, acme_lead = (await db.execute(select(Lead).order_by(Lead.scope))).scalars().all()
    assert (event_lead.engagement, event_lead.updated_at, event_lead.rules_version) == (
        33.0,
        later,
        0,
    )
    assert acme_lead.rules_version == 1
    assert acme_lead.engagement == pytest.approx(9, abs=1e-3)
    # Only the lead the rescore wrote is promoted, and only its change is told of: the
    # skipped one's recorder has the say on it.
    assert (event_lead.stage, acme_lead.stage) == ("inquiry", "mql")
    moved = (await db.execute(select(LeadTransition.lead_id, LeadTransition.to_stage))).all()
    assert [tuple(m) for m in moved] == [(acme_lead.id, "mql")]
    told = (
        await db.execute(select(LeadEvent.lead_id, LeadEvent.type).where(LeadEvent.id > seen))
    ).all()
    assert {lead_id for lead_id, _ in told} == {acme_lead.id}
    assert promoted == 1


async def test_a_helper_write_that_meets_a_lock_is_tried_again(
    db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A helper's write that cannot get its lock in time (an attendee's action holding the lead
    on PostgreSQL, another writer on SQLite) is tried again, and the rescore goes on."""
    monkeypatch.setattr(db_sqlite, "BUSY_SECONDS", 0.2)
    monkeypatch.setattr(rescore, "HELPER_LOCK_WAIT_MS", 200)
    conflicts: list[str] = []
    met = asyncio.Event()
    real_conflict = rescore._lock_conflict

    def seen(error: Any) -> bool:
        conflicts.append(str(error.orig))
        met.set()
        return real_conflict(error)

    monkeypatch.setattr(rescore, "_lock_conflict", seen)
    event, _, reg = await _visit_then_new_rules(db, 9)
    await db.commit()
    rules = await current_rules(db, event)
    url = db.get_bind().engine.url.render_as_string(hide_password=False)
    overrides = await rescore._overrides(db, event, rules)
    ids = sorted(
        (await db.execute(select(Lead.id).where(Lead.registration_id == reg.id))).scalars()
    )
    # Another transaction holds what the helper's write needs until the helper's write has
    # met it (10 s at most): on PostgreSQL the event lead's row (as an attendee's action
    # would), on SQLite the database's write lock (as another process's writer would).
    if db.get_bind().dialect.name == "postgresql":
        await db.execute(select(Lead.id).where(Lead.id == ids[0]).with_for_update())

        async def release() -> None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(met.wait(), 10)
            await db.commit()

    else:
        other = sqlite3.connect(db.get_bind().engine.url.database or "", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")

        async def release() -> None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(met.wait(), 10)
            other.rollback()
            other.close()

    helper = rescore._Helper(url, rules, overrides, utcnow())
    try:
        written, _ = await asyncio.gather(helper._batch(event.id, (ids[0], ids[-1])), release())
    finally:
        await helper.engine.dispose()
        helper.loop.close()
    assert conflicts  # the first try did meet the lock
    assert (written.leads, written.retries) == (2, len(conflicts))
    versions = (
        (await db.execute(select(Lead.rules_version).where(Lead.id.in_(ids)).order_by(Lead.id)))
        .scalars()
        .all()
    )
    assert versions == [1, 1]
