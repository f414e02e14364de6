"""Presence counts, staff identities with consent, and dwell counted once across tabs."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.booths.models import Booth
from app.events.models import RoleName
from app.leads.models import Activity, Lead
from app.realtime import presence
from app.realtime.presence_store import MemoryPresence, PresenceStore, RedisPresence, Visit
from tests.factories import (
    grant,
    make_account,
    make_event,
    make_exhibitor,
    make_registration,
    session_token,
)
from tests.realtime.wsclient import client

REDIS_URL = os.environ.get("EXPOHALL_TEST_REDIS_URL")
STORES = ["memory", *(["redis"] if REDIS_URL else [])]


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=STORES)
async def store(request: pytest.FixtureRequest) -> AsyncIterator[PresenceStore]:
    if request.param == "memory":
        yield MemoryPresence()
        return
    assert REDIS_URL is not None
    client_ = aioredis.Redis.from_url(REDIS_URL)
    prefix = f"test:{secrets.token_hex(4)}:"
    try:
        yield RedisPresence(client_, prefix)
    finally:
        keys = [k async for k in client_.scan_iter(match=prefix + "*")]
        if keys:
            await client_.delete(*keys)
        await client_.aclose()


async def test_two_overlapping_tabs_make_one_visit_of_their_union(store: PresenceStore) -> None:
    first = await store.enter("booth:1", "tab-a", 7, 100.0)
    second = await store.enter("booth:1", "tab-b", 7, 130.0)
    assert (first.entered, first.count) == (True, 1)
    assert (second.entered, second.count) == (False, 1)
    left_a = await store.leave("booth:1", "tab-a", 150.0)
    assert left_a is not None
    assert left_a.visit is None
    left_b = await store.leave("booth:1", "tab-b", 190.0)
    assert left_b is not None
    assert left_b.visit is not None
    assert (left_b.visit.started, left_b.visit.ended, left_b.visit.seconds) == (100.0, 190.0, 90)
    assert left_b.count == 0
    assert await store.leave("booth:1", "tab-b", 200.0) is None


async def test_counts_are_distinct_visitors(store: PresenceStore) -> None:
    await store.enter("booth:1", "a1", 1, 10.0)
    await store.enter("booth:1", "a2", 1, 10.0)
    await store.enter("booth:1", "b1", 2, 10.0)
    await store.enter("booth:2", "c1", 3, 10.0)
    assert await store.count("booth:1") == 2
    assert await store.visitors("booth:1") == [1, 2]
    assert await store.count("booth:3") == 0


async def test_silent_tabs_time_out_at_their_last_heartbeat(store: PresenceStore) -> None:
    await store.enter("booth:1", "a", 1, 100.0)
    await store.enter("booth:1", "b", 2, 100.0)
    await store.enter("booth:1", "a", 1, 140.0)  # heartbeat
    changes = await store.expire(cutoff=120.0)
    assert [(c.visitor, c.visit and c.visit.seconds) for c in changes] == [(2, 0)]
    assert await store.count("booth:1") == 1
    changes = await store.expire(cutoff=200.0)
    assert [(c.visitor, c.visit and c.visit.seconds) for c in changes] == [(1, 40)]
    assert await store.count("booth:1") == 0


async def _dwell_values(db: AsyncSession, registration_id: int) -> list[float]:
    rows = await db.execute(
        select(Activity.value).where(
            Activity.registration_id == registration_id, Activity.type == "booth.dwell"
        )
    )
    return [v for (v,) in rows.all() if v is not None]


async def _booth(db: AsyncSession) -> tuple[int, int, int]:
    event = await make_event(db)
    exhibitor = await make_exhibitor(db, event)
    booth_id = (
        await db.execute(select(Booth.id).where(Booth.exhibitor_id == exhibitor.id))
    ).scalar_one()
    return event.id, exhibitor.id, booth_id


async def test_staff_see_consenting_visitors_arrive_and_leave_with_dwell(
    app: FastAPI, ws_url: str, db: AsyncSession
) -> None:
    clock = Clock()
    app.state.realtime.clock = clock
    event_id, exhibitor_id, booth_id = await _booth(db)
    from app.events.models import Event

    event = await db.get(Event, event_id)
    assert event is not None
    ada = await make_registration(db, event, first_name="Ada", last_name="Lovelace")
    shy = await make_registration(db, event, consent_share_at=None)
    staff = await make_account(db)
    await grant(db, staff, event, RoleName.staff, exhibitor_id)
    tokens = {}
    for name, account_id in (("ada", ada.account_id), ("shy", shy.account_id)):
        from app.auth.models import Account

        account = await db.get(Account, account_id)
        assert account is not None
        tokens[name] = await session_token(db, account)
    staff_token = await session_token(db, staff)
    place = f"booth:{booth_id}"
    async with (
        client(ws_url, staff_token) as console,
        client(ws_url, tokens["ada"]) as tab1,
        client(ws_url, tokens["ada"]) as tab2,
        client(ws_url, tokens["shy"]) as shy_tab,
    ):
        await console.call("realtime.subscribe", {"channel": f"staff:{exhibitor_id}"})
        await console.call("realtime.subscribe", {"channel": place})
        assert await tab1.call("presence.enter", {"place": place}) == {"place": place, "count": 1}
        entered = (await console.push("staff.visitor_entered"))[2]
        assert entered["visitor"]["name"] == "Ada Lovelace"
        assert (await console.push("presence.count"))[2] == {"place": place, "count": 1}
        clock.now += 30
        await tab2.call("presence.enter", {"place": place})  # second tab: no new arrival
        await console.no_push("staff.visitor_entered")
        await shy_tab.call("presence.enter", {"place": place})
        shy_entered = (await console.push("staff.visitor_entered"))[2]
        assert shy_entered["visitor"] is None  # no consent: counted, not named
        listing = await console.call("presence.list", {"place": place})
        assert listing["count"] == 2
        assert [v["name"] for v in listing["visitors"]] == ["Ada Lovelace"]
        public = await tab1.call("presence.list", {"place": place})
        assert public == {"place": place, "count": 2}
        clock.now += 30
        await tab1.call("presence.leave", {"place": place})
        await console.no_push("staff.visitor_left")
        clock.now += 45
        await tab2.ws.close()  # the last tab closes: the visit ends
        left = (await console.push("staff.visitor_left"))[2]
        # Published after commit, so the dwell is there; the shy visitor is still inside.
        assert await _dwell_values(db, ada.id) == [105.0]
        assert await _dwell_values(db, shy.id) == []
    assert left["seconds"] == 105
    assert left["visitor"]["name"] == "Ada Lovelace"
    lead = left["visitor"]["lead"]
    assert lead["grade"] in {"A", "B", "C", "D"}
    assert lead["cell"] == f"{lead['grade']}{lead['tier']}"
    assert (lead["stage"], lead["mql"]) == ("inquiry", False)
    # The card's recent activities at this exhibitor: the visit just recorded.
    assert [a["type"] for a in lead["last_activities"]] == ["booth.dwell"]
    # The card shows the lead as the dwell record left it (as stored), not as it was before.
    stored = (
        await db.execute(
            select(Lead)
            .where(Lead.registration_id == ada.id, Lead.exhibitor_id == exhibitor_id)
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    assert stored.engagement > 0
    assert (lead["lead_id"], lead["grade"], lead["tier"], lead["engagement"]) == (
        stored.id,
        stored.grade,
        stored.tier,
        round(stored.engagement),
    )


async def test_dwell_is_recorded_once_per_visit(app: FastAPI, db: AsyncSession) -> None:
    """The visit's key is its start: two workers finishing the same visit record it once."""
    event_id, _exhibitor_id, booth_id = await _booth(db)
    from app.events.models import Event

    event = await db.get(Event, event_id)
    assert event is not None
    reg = await make_registration(db, event)
    await db.commit()
    visit = Visit(f"booth:{booth_id}", reg.account_id or 0, 100.0, 160.4)
    assert presence.dwell_key(booth_id, reg.id, visit) == f"booth.dwell:{booth_id}:{reg.id}:100000"
    for _worker in range(2):
        async with app.state.sessionmaker() as session, session.begin():
            assert await presence.record_dwell(session, visit, []) == 60
    assert await _dwell_values(db, reg.id) == [60.0]


async def test_timeouts_end_visits_and_tell_staff(
    app: FastAPI, ws_url: str, db: AsyncSession
) -> None:
    clock = Clock()
    rt = app.state.realtime
    rt.clock = clock
    event_id, exhibitor_id, booth_id = await _booth(db)
    from app.events.models import Event

    event = await db.get(Event, event_id)
    assert event is not None
    reg = await make_registration(db, event)
    staff = await make_account(db)
    await grant(db, staff, event, RoleName.staff, exhibitor_id)
    from app.auth.models import Account

    visitor = await db.get(Account, reg.account_id)
    assert visitor is not None
    visitor_token = await session_token(db, visitor)
    staff_token = await session_token(db, staff)
    async with client(ws_url, staff_token) as console, client(ws_url, visitor_token) as tab:
        await console.call("realtime.subscribe", {"channel": f"staff:{exhibitor_id}"})
        await tab.call("presence.enter", {"place": f"booth:{booth_id}"})
        await console.push("staff.visitor_entered")
        clock.now += 20
        await tab.call("presence.heartbeat", {"place": f"booth:{booth_id}"})
        clock.now += 100  # silent for longer than the timeout
        assert await presence.sweep(rt) == 1
        left = (await console.push("staff.visitor_left"))[2]
        assert await _dwell_values(db, reg.id) == [20.0]
    assert left["seconds"] == 20


async def test_a_lead_card_shows_the_three_latest_activities_at_that_exhibitor(
    db: AsyncSession,
) -> None:
    event_id, exhibitor_id, _booth_id = await _booth(db)
    from app.events.models import Event
    from app.leads import service as leads_service
    from app.realtime import leads_bridge

    event = await db.get(Event, event_id)
    assert event is not None
    other = await make_exhibitor(db, event)
    ada = await make_registration(db, event)
    start = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)
    steps = [
        (exhibitor_id, 0),
        (exhibitor_id, 1),
        (other.id, 2),
        (exhibitor_id, 3),
        (exhibitor_id, 4),
    ]
    for n, (exhibitor, minute) in enumerate(steps):
        await leads_service.record(
            db,
            event=event,
            registration=ada,
            type="booth.visit",
            idempotency_key=f"card-{n}",
            exhibitor_id=exhibitor,
            at=start + dt.timedelta(minutes=minute),
        )
    await db.commit()
    shares, lead = await leads_bridge.shared_lead(db, exhibitor_id=exhibitor_id, registration=ada)
    assert shares
    card = await leads_bridge.lead_card(
        db, exhibitor_id=exhibitor_id, registration_id=ada.id, lead=lead
    )
    assert card is not None
    assert [a["at"] for a in card["last_activities"]] == [  # type: ignore[attr-defined]
        start + dt.timedelta(minutes=m) for m in (4, 3, 1)
    ]
    assert card["stage"] == "inquiry"
    assert isinstance(card["lead_id"], int)
    stranger = await make_registration(db, event)
    assert await leads_bridge.shared_lead(db, exhibitor_id=exhibitor_id, registration=stranger) == (
        True,
        None,
    )


async def test_a_visitor_who_said_no_at_the_booth_is_counted_but_never_named_there(
    app: FastAPI, ws_url: str, db: AsyncSession
) -> None:
    """The answer at an exhibitor's booth wins over the event-wide consent, both ways."""
    from app.auth.models import Account
    from app.booths.models import BoothConsent
    from app.events.models import Event

    event_id, exhibitor_id, booth_id = await _booth(db)
    event = await db.get(Event, event_id)
    assert event is not None
    refused = await make_registration(db, event, first_name="Rita")  # shares event-wide
    agreed = await make_registration(db, event, first_name="Omar", consent_share_at=None)
    db.add_all(
        [
            BoothConsent(registration_id=refused.id, exhibitor_id=exhibitor_id, shared=False),
            BoothConsent(registration_id=agreed.id, exhibitor_id=exhibitor_id, shared=True),
        ]
    )
    staff = await make_account(db)
    await grant(db, staff, event, RoleName.staff, exhibitor_id)
    tokens = []
    for reg in (refused, agreed):
        account = await db.get(Account, reg.account_id)
        assert account is not None
        tokens.append(await session_token(db, account))
    staff_token = await session_token(db, staff)
    place = f"booth:{booth_id}"
    async with (
        client(ws_url, staff_token) as console,
        client(ws_url, tokens[0]) as rita,
        client(ws_url, tokens[1]) as omar,
    ):
        await console.call("realtime.subscribe", {"channel": f"staff:{exhibitor_id}"})
        await rita.call("presence.enter", {"place": place})
        assert (await console.push("staff.visitor_entered"))[2]["visitor"] is None
        await omar.call("presence.enter", {"place": place})
        assert (await console.push("staff.visitor_entered"))[2]["visitor"]["name"].startswith(
            "Omar"
        )
        listing = await console.call("presence.list", {"place": place})
        assert listing["count"] == 2
        assert [v["registration_id"] for v in listing["visitors"]] == [agreed.id]
        await rita.ws.close()
        assert (await console.push("staff.visitor_left"))[2]["visitor"] is None
