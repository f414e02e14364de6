"""Rules versions and rescoring every lead of an event from the activity log."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.leads.errors import InvalidRules
from app.leads.models import Activity, Lead, LeadEvent, LeadTransition
from app.leads.rescore import RescoreProgress, rescore_event
from app.leads.rules import ExhibitorOverride, Ruleset
from app.leads.scoring import score
from app.leads.service import fact_of, profile_of, record
from app.leads.state import TOP_REASONS, is_full
from app.leads.versions import current_rules, override_for, save_rules
from tests.factories import make_account, make_event, make_exhibitor, make_registration


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
    assert len(batches) == (4 if batch_size == 1 else 1)
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


async def test_recording_after_a_rules_change_rebuilds_the_lead_once(db: AsyncSession) -> None:
    event = await make_event(db)
    acme = await make_exhibitor(db, event)
    reg = await make_registration(db, event)
    await record(
        db,
        event=event,
        registration=reg,
        type="booth.visit",
        exhibitor_id=acme.id,
        idempotency_key="a",
    )
    rules = Ruleset().model_dump()
    rules["engagement"]["visit"]["points"] = 10
    await save_rules(
        db, event=event, ruleset=Ruleset.model_validate(rules), overrides={}, actor=None
    )
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
