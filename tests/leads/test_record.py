"""Recording activities: leads created and scored, consent, idempotency, validation, MQL."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from app.leads import repository
from app.leads.errors import InvalidActivity
from app.leads.models import Activity, Lead, LeadTransition
from app.leads.rules import Ruleset
from app.leads.scoring import score
from app.leads.service import fact_of, profile_of, record
from tests.factories import (
    make_event,
    make_exhibitor,
    make_registration,
    make_resource,
    make_session,
)


async def _leads(db: AsyncSession, registration_id: int) -> dict[int | None, Lead]:
    rows = (await db.execute(select(Lead).where(Lead.registration_id == registration_id))).scalars()
    return {lead.exhibitor_id: lead for lead in rows}


async def test_record_scores_event_and_exhibitor_leads(db: AsyncSession) -> None:
    event = await make_event(db)
    acme = await make_exhibitor(db, event, name="Acme")
    reg = await make_registration(db, event)
    pricing = await make_resource(db, acme, title="Pricing sheet", stage="evaluation")
    result = await record(
        db,
        event=event,
        registration=reg,
        type="resource.download",
        resource_id=pricing.id,
        idempotency_key="k1",
    )
    assert result.created
    assert (result.activity.exhibitor_id, result.activity.label) == (acme.id, "Pricing sheet")
    leads = await _leads(db, reg.id)
    assert set(leads) == {None, acme.id}
    lead = leads[acme.id]
    assert (lead.engagement, lead.fit, lead.grade, lead.cell) == (5, 92, "A", "A4")
    assert lead.buying_stage == "evaluation"
    assert lead.rules_version == 0
    assert lead.contributions[-1]["label"] == "+5 downloaded 'Pricing sheet'"
    assert lead.stage == "inquiry"


async def test_non_consenting_attendee_never_gets_an_exhibitor_lead(db: AsyncSession) -> None:
    event = await make_event(db)
    acme = await make_exhibitor(db, event)
    reg = await make_registration(db, event, consent_share_at=None)
    await record(
        db,
        event=event,
        registration=reg,
        type="info.request",
        exhibitor_id=acme.id,
        idempotency_key="k",
    )
    leads = await _leads(db, reg.id)
    assert set(leads) == {None}
    assert leads[None].engagement == 15


async def test_exhibitor_lead_created_after_consent_counts_earlier_interactions(
    db: AsyncSession,
) -> None:
    event = await make_event(db)
    acme = await make_exhibitor(db, event)
    reg = await make_registration(db, event, consent_share_at=None)
    await record(
        db,
        event=event,
        registration=reg,
        type="info.request",
        exhibitor_id=acme.id,
        idempotency_key="a",
    )
    reg.consent_share_at = utcnow()
    await record(
        db,
        event=event,
        registration=reg,
        type="booth.visit",
        exhibitor_id=acme.id,
        idempotency_key="b",
    )
    assert (await _leads(db, reg.id))[acme.id].engagement == pytest.approx(17, abs=1e-3)


async def test_retried_request_records_once(db: AsyncSession) -> None:
    event = await make_event(db)
    acme = await make_exhibitor(db, event)
    reg = await make_registration(db, event)
    first = await record(
        db,
        event=event,
        registration=reg,
        type="info.request",
        exhibitor_id=acme.id,
        idempotency_key="same",
    )
    again = await record(
        db,
        event=event,
        registration=reg,
        type="info.request",
        exhibitor_id=acme.id,
        idempotency_key="same",
    )
    assert (first.created, again.created, again.activity.id) == (True, False, first.activity.id)
    count = (await db.execute(select(func.count()).select_from(Activity))).scalar_one()
    assert count == 1
    assert (await _leads(db, reg.id))[acme.id].engagement == 15


async def test_duplicate_insert_keeps_the_callers_transaction(db: AsyncSession) -> None:
    event = await make_event(db)
    reg = await make_registration(db, event)
    values = {
        "event_id": event.id,
        "registration_id": reg.id,
        "type": "email.open",
        "at": utcnow(),
        "idempotency_key": "dup",
    }
    assert await repository.insert_activity(db, values)
    assert await repository.insert_activity(db, values) is None
    assert not await repository.insert_once(db, Activity(**values))
    # The transaction is still usable and still holds the first row.
    await db.commit()
    count = (await db.execute(select(func.count()).select_from(Activity))).scalar_one()
    assert count == 1


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"type": "booth.fly"}, "type"),
        ({"type": "booth.dwell", "value": -5}, "value"),
        ({"type": "booth.dwell"}, "value"),
        ({"type": "video.progress", "value": 101}, "value"),
        ({"type": "email.open", "value": float("nan")}, "value"),
        ({"type": "call.logged", "meta": {"outcome": "shouted"}}, "meta.outcome"),
        ({"type": "email.open", "at": dt.datetime(2026, 1, 1)}, "at"),
        ({"type": "email.open", "idempotency_key": ""}, "idempotency_key"),
    ],
)
async def test_invalid_activity_is_a_clear_error(
    db: AsyncSession, kwargs: dict[str, object], field: str
) -> None:
    event = await make_event(db)
    reg = await make_registration(db, event)
    kwargs.setdefault("idempotency_key", "k")
    with pytest.raises(InvalidActivity) as info:
        await record(db, event=event, registration=reg, **kwargs)  # type: ignore[arg-type]
    assert info.value.status == 422
    assert info.value.code == "leads.invalid_activity"
    assert info.value.extra["field"] == field


async def test_resource_must_belong_to_the_exhibitor_and_event(db: AsyncSession) -> None:
    event, other_event = await make_event(db), await make_event(db)
    acme, globex = await make_exhibitor(db, event), await make_exhibitor(db, event)
    foreign = await make_exhibitor(db, other_event)
    reg = await make_registration(db, event)
    own = await make_resource(db, acme)
    elsewhere = await make_resource(db, foreign)
    with pytest.raises(InvalidActivity, match="does not belong to that exhibitor"):
        await record(
            db,
            event=event,
            registration=reg,
            type="resource.download",
            resource_id=own.id,
            exhibitor_id=globex.id,
            idempotency_key="a",
        )
    with pytest.raises(InvalidActivity, match="not part of this event"):
        await record(
            db,
            event=event,
            registration=reg,
            type="resource.download",
            resource_id=elsewhere.id,
            idempotency_key="b",
        )
    with pytest.raises(InvalidActivity, match="not part of this event"):
        await record(
            db,
            event=event,
            registration=reg,
            type="booth.visit",
            exhibitor_id=foreign.id,
            idempotency_key="c",
        )
    with pytest.raises(InvalidActivity, match="not part of this event"):
        await record(
            db,
            event=event,
            registration=reg,
            type="resource.download",
            resource_id=999_999,
            idempotency_key="d",
        )


async def test_attendee_of_another_event_is_refused(db: AsyncSession) -> None:
    event, other = await make_event(db), await make_event(db)
    reg = await make_registration(db, other)
    with pytest.raises(InvalidActivity, match="another event"):
        await record(db, event=event, registration=reg, type="email.open", idempotency_key="k")


async def test_hand_raise_fast_tracks_grade_c_to_mql_once(db: AsyncSession) -> None:
    event = await make_event(db)
    acme = await make_exhibitor(db, event)
    reg = await make_registration(
        db, event, job_level="individual", company_type="partner", budget="none"
    )
    visit = await record(
        db,
        event=event,
        registration=reg,
        type="booth.visit",
        exhibitor_id=acme.id,
        idempotency_key="v",
    )
    assert visit.mql_reached == ()
    result = await record(
        db,
        event=event,
        registration=reg,
        type="meeting.request",
        exhibitor_id=acme.id,
        idempotency_key="m",
    )
    lead = (await _leads(db, reg.id))[acme.id]
    assert (lead.grade, lead.stage, lead.buying_stage) == ("C", "mql", "decision")
    assert lead in result.mql_reached
    assert lead.mql_at is not None
    transitions = (
        (await db.execute(select(LeadTransition).where(LeadTransition.lead_id == lead.id)))
        .scalars()
        .all()
    )
    assert [(t.from_stage, t.to_stage, t.reason, t.actor_id) for t in transitions] == [
        ("inquiry", "mql", "auto_hand_raise", None)
    ]


async def test_grade_d_hand_raise_stays_inquiry(db: AsyncSession) -> None:
    event = await make_event(db)
    acme = await make_exhibitor(db, event)
    reg = await make_registration(
        db,
        event,
        job_level="other",
        company_type="other",
        budget="none",
        timeframe="none",
        company_size="1-10",
    )
    await record(
        db,
        event=event,
        registration=reg,
        type="info.request",
        exhibitor_id=acme.id,
        idempotency_key="i",
    )
    assert (await _leads(db, reg.id))[acme.id].stage == "inquiry"


async def test_cell_a2_becomes_mql(db: AsyncSession) -> None:
    event = await make_event(db)
    exhibitors = [await make_exhibitor(db, event) for _ in range(3)]
    reg = await make_registration(db, event, job_level="c_level")
    for n, ex in enumerate(exhibitors):
        await record(
            db,
            event=event,
            registration=reg,
            type="chat.message",
            exhibitor_id=ex.id,
            idempotency_key=f"c{n}",
        )
    session = await make_session(db, event, starts_at=utcnow() - dt.timedelta(minutes=5))
    await record(
        db,
        event=event,
        registration=reg,
        type="session.join",
        session_id=session.id,
        idempotency_key="j",
    )
    await record(
        db,
        event=event,
        registration=reg,
        type="session.watch",
        session_id=session.id,
        value=45 * 60,
        idempotency_key="w",
    )
    for n in range(3):
        await record(
            db,
            event=event,
            registration=reg,
            type="question.ask",
            session_id=session.id,
            idempotency_key=f"q{n}",
        )
    lead = (await _leads(db, reg.id))[None]
    assert lead.engagement == pytest.approx(9 + 5 + 5 + 12, abs=1e-3)
    assert (lead.cell, lead.stage) == ("A3", "inquiry")
    for n in range(3):
        await record(db, event=event, registration=reg, type="email.click", idempotency_key=f"e{n}")
    await record(db, event=event, registration=reg, type="poll.answer", idempotency_key="p")
    await db.refresh(lead)
    assert lead.engagement == pytest.approx(41, abs=1e-3)
    assert (lead.cell, lead.stage) == ("A2", "mql")
    reasons = (
        (await db.execute(select(LeadTransition.reason).where(LeadTransition.lead_id == lead.id)))
        .scalars()
        .all()
    )
    assert reasons == ["auto_cell"]


async def test_out_of_order_arrival_equals_full_recompute(db: AsyncSession) -> None:
    event = await make_event(db)
    acme = await make_exhibitor(db, event)
    reg = await make_registration(db, event)
    now = utcnow()
    for n, days in enumerate([0, 3, 10, 1, 20, 2]):
        resource = await make_resource(db, acme)
        await record(
            db,
            event=event,
            registration=reg,
            type="resource.download",
            resource_id=resource.id,
            at=now - dt.timedelta(days=days),
            idempotency_key=f"d{n}",
        )
    lead = (await _leads(db, reg.id))[acme.id]
    activities = (await db.execute(select(Activity))).scalars().all()
    full = score(
        profile_of(reg), [fact_of(a) for a in activities], Ruleset(), None, lead.updated_at
    )
    assert lead.engagement == pytest.approx(full.engagement, abs=1e-9)
    counted = sorted(
        i for c in lead.contributions if c["rule"] == "download" for i in c["activity_ids"]
    )
    oldest = sorted(a.id for a in activities if a.at <= now - dt.timedelta(days=3))
    assert counted == oldest


async def test_session_watch_percent_and_live_flag_are_derived(db: AsyncSession) -> None:
    event = await make_event(db)
    reg = await make_registration(db, event)
    start = utcnow() - dt.timedelta(minutes=30)
    session = await make_session(db, event, starts_at=start, ends_at=start + dt.timedelta(hours=1))
    result = await record(
        db,
        event=event,
        registration=reg,
        type="session.watch",
        session_id=session.id,
        value=1800,
        idempotency_key="w",
    )
    assert (result.activity.live, result.activity.percent) == (True, 50)
    later = await record(
        db,
        event=event,
        registration=reg,
        type="session.join",
        session_id=session.id,
        at=utcnow() + dt.timedelta(days=1),
        idempotency_key="j",
    )
    assert later.activity.live is False


@pytest.mark.only_backend("postgresql")  # on SQLite the first read holds the write lock
async def test_a_lead_the_caller_loaded_earlier_is_folded_as_it_is_now(
    app: FastAPI, db: AsyncSession
) -> None:
    # A call is logged on a lead page: the caller's transaction reads the lead, then records.
    # If meanwhile another request recorded an activity on that lead, the fold must start
    # from the row as it is now (locked), not from the copy read before.
    event = await make_event(db)
    acme = await make_exhibitor(db, event)
    reg = await make_registration(db, event)
    await record(db, event=event, registration=reg, type="booth.visit", exhibitor_id=acme.id,
                 idempotency_key="first")  # fmt: skip
    await db.commit()
    sm = app.state.sessionmaker
    async with sm() as caller, caller.begin():
        read_before = (
            await caller.execute(
                select(Lead).where(Lead.registration_id == reg.id, Lead.exhibitor_id == acme.id)
            )
        ).scalar_one()
        async with sm() as other, other.begin():
            await record(other, event=event, registration=reg, type="info.request",
                         exhibitor_id=acme.id, idempotency_key="meanwhile")  # fmt: skip
        result = await record(caller, event=event, registration=reg, type="booth.visit",
                              exhibitor_id=acme.id, idempotency_key="last")  # fmt: skip
        assert result.lead_at(acme.id) is read_before
    reg_id, acme_id = reg.id, acme.id
    db.expire_all()
    lead = (await _leads(db, reg_id))[acme_id]
    counted = {c["rule"]: c["activity_ids"] for c in lead.contributions}
    assert len(counted["info_request"]) == 1
    assert lead.stage == "mql"  # the information request, folded by the other, is kept


async def test_an_activity_row_with_a_naive_time_or_an_unknown_column_is_refused(
    db: AsyncSession,
) -> None:
    event = await make_event(db)
    reg = await make_registration(db, event)
    values = {"event_id": event.id, "registration_id": reg.id, "type": "email.open"}
    with pytest.raises(ValueError, match="naive"):
        await repository.insert_activity(
            db, {**values, "at": dt.datetime(2026, 5, 1, 9), "idempotency_key": "naive"}
        )
    with pytest.raises(TypeError, match="colour"):
        await repository.insert_activity(
            db, {**values, "at": utcnow(), "idempotency_key": "odd", "colour": "red"}
        )
    # None stands for the column's default, as before; a local time is stored as UTC.
    local = dt.datetime(2026, 5, 1, 11, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    row = await repository.insert_activity(
        db, {**values, "at": local, "idempotency_key": "ok", "label": None, "meta": None}
    )
    assert row is not None
    assert (row.label, row.meta, row.live, row.at) == ("", {}, False, local)
    assert row.at.tzinfo is dt.UTC
