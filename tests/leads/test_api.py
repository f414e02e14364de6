"""The leads JSON API: bulk activities, scoring rules, lead lists, access and lead work."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Account
from app.events.models import Event, Registration, RoleName
from app.leads import rescore
from app.leads.models import Activity
from app.leads.service import record
from app.leads.tasks import wait_for_jobs
from tests.factories import (
    grant,
    make_account,
    make_api_token,
    make_booth_visitor,
    make_event,
    make_exhibitor,
    make_registration,
)


async def _bearer(
    db: AsyncSession, event: Event, role: RoleName, exhibitor_id: int | None = None
) -> dict[str, str]:
    account = await make_account(db)
    await grant(db, account, event, role, exhibitor_id)
    return {"Authorization": f"Bearer {await make_api_token(db, account)}"}


async def test_batch_answers_each_item_and_one_bad_item_fails_alone(
    db: AsyncSession, client: httpx.AsyncClient
) -> None:
    event = await make_event(db)
    acme = await make_exhibitor(db, event)
    await make_registration(db, event, email="buyer@example.com")
    headers = await _bearer(db, event, RoleName.organizer)
    await db.commit()
    items = [
        {"email": "buyer@example.com", "type": "email.click", "idempotency_key": "mail-1"},
        {"email": "nobody@example.com", "type": "email.click", "idempotency_key": "mail-2"},
        {
            "email": "buyer@example.com",
            "type": "booth.dwell",
            "value": -3,
            "exhibitor_id": acme.id,
            "idempotency_key": "d",
        },
        {"email": "buyer@example.com", "type": "email.click", "idempotency_key": "mail-1"},
        {"email": "buyer@example.com", "idempotency_key": "no-type"},
        {
            "email": "Buyer@Example.com",
            "type": "info.request",
            "exhibitor_id": acme.id,
            "idempotency_key": "i",
            "at": "2026-01-01T10:00:00+01:00",
        },
    ]
    response = await client.post(
        f"/api/events/{event.slug}/activities", json={"items": items}, headers=headers
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["created"], body["duplicates"], body["errors"]) == (2, 1, 3)
    answers = [(i["index"], i["status"], i["error"] and i["error"]["code"]) for i in body["items"]]
    assert answers == [
        (0, "created", None),
        (1, "error", "leads.unknown_attendee"),
        (2, "error", "leads.invalid_activity"),
        (3, "duplicate", None),
        (4, "error", "app.validation"),
        (5, "created", None),
    ]
    assert body["items"][3]["id"] == body["items"][0]["id"]
    assert body["items"][2]["error"]["field"] == "value"
    assert body["items"][4]["error"]["field"] == "type"
    again = await client.post(
        f"/api/events/{event.slug}/activities", json={"items": items[:1]}, headers=headers
    )
    assert again.json()["items"][0]["status"] == "duplicate"
    assert (await db.execute(select(func.count()).select_from(Activity))).scalar_one() == 2


async def test_batch_emails_are_checked_as_addresses_only_when_nobody_has_them(
    db: AsyncSession, client: httpx.AsyncClient
) -> None:
    event = await make_event(db)
    await make_registration(db, event, email="jos\u00e9@example.com")
    headers = await _bearer(db, event, RoleName.organizer)
    await db.commit()
    items = [
        {"email": "not-an-email", "type": "email.open", "idempotency_key": "a"},
        # The same address with its accent as two code points: normalized, it is José's.
        {"email": "jose\u0301@example.com", "type": "email.open", "idempotency_key": "b"},
        {"email": "nobody@example.com", "type": "email.open", "idempotency_key": "c"},
        {"email": "", "type": "email.open", "idempotency_key": "d"},
    ]
    response = await client.post(
        f"/api/events/{event.slug}/activities", json={"items": items}, headers=headers
    )
    answers = [
        (i["status"], i["error"] and (i["error"]["code"], i["error"]["field"]))
        for i in response.json()["items"]
    ]
    assert answers == [
        ("error", ("app.validation", "email")),
        ("created", None),
        ("error", ("leads.unknown_attendee", None)),
        ("error", ("app.validation", "email")),
    ]
    assert "not a valid email address" in response.json()["items"][0]["error"]["message"]


async def test_batch_is_for_organizers_and_at_most_1000(
    db: AsyncSession, client: httpx.AsyncClient
) -> None:
    event = await make_event(db)
    acme = await make_exhibitor(db, event)
    staff = await _bearer(db, event, RoleName.staff, acme.id)
    organizer = await _bearer(db, event, RoleName.organizer)
    await db.commit()
    item = {"email": "a@example.com", "type": "email.open", "idempotency_key": "k"}
    url = f"/api/events/{event.slug}/activities"
    assert (await client.post(url, json={"items": [item]}, headers=staff)).status_code == 403
    too_many = await client.post(url, json={"items": [item] * 1001}, headers=organizer)
    assert too_many.status_code == 422
    assert too_many.json()["error"]["fields"][0]["field"] == "items"


def _with_helpers(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rescore job as on a large event: helper processes read, score and write."""
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("helper processes need a second CPU")
    monkeypatch.setattr(rescore, "PROCESS_THRESHOLD", 0)


@pytest.mark.parametrize("helpers", [False, True], ids=["here", "helper-processes"])
async def test_scoring_put_validates_versions_and_rescores(
    db: AsyncSession, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, helpers: bool
) -> None:
    pools: list[int] = []
    if helpers:
        _with_helpers(monkeypatch)

        class Recorded(ProcessPoolExecutor):
            def __init__(self, processes: int, **options: Any) -> None:
                pools.append(processes)
                super().__init__(processes, **options)

        monkeypatch.setattr(rescore, "ProcessPoolExecutor", Recorded)
    event, acme, _ = await make_booth_visitor(db)
    headers = await _bearer(db, event, RoleName.organizer)
    await db.commit()
    url = f"/api/events/{event.slug}/scoring"
    current = (await client.get(url, headers=headers)).json()
    assert (current["version"], current["rescore"]) == (0, None)
    assert current["rules"]["groups"] == {
        "booth": 35,
        "sessions": 30,
        "conversation": 25,
        "email": 10,
    }

    bad = current["rules"] | {"tiers": {"t1": 10, "t2": 40, "t3": 20}}
    response = await client.put(url, json={"rules": bad}, headers=headers)
    assert response.status_code == 422
    assert [f["field"] for f in response.json()["error"]["fields"]] == ["rules.tiers"]
    extra = current["rules"] | {"colour": "blue"}
    response = await client.put(url, json={"rules": extra}, headers=headers)
    assert [f["field"] for f in response.json()["error"]["fields"]] == ["rules.colour"]
    unknown = {str(acme.id + 1000): {"territory": ["DE"]}}
    response = await client.put(
        url, json={"rules": current["rules"], "overrides": unknown}, headers=headers
    )
    assert (response.status_code, response.json()["error"]["code"]) == (422, "leads.invalid_rules")

    rules = current["rules"]
    rules["engagement"]["visit"]["points"] = 7
    response = await client.put(
        url,
        json={"rules": rules, "overrides": {str(acme.id): {"territory": ["DE"]}}},
        headers=headers,
    )
    assert response.status_code == 200
    assert response.json()["version"] == 1
    await wait_for_jobs()
    after = (await client.get(url, headers=headers)).json()
    assert after["overrides"] == {
        str(acme.id): {
            "territory": ["DE"],
            "ideal_company_sizes": None,
            "competitor_domains": [],
            "resource_points": {},
        }
    }
    assert (after["rescore"]["total"], after["rescore"]["done"], after["rescore"]["error"]) == (
        2,
        2,
        None,
    )
    assert after["rescore"]["finished_at"] is not None
    leads = (
        await client.get(
            f"/api/events/{event.slug}/leads", params={"sort": "cell"}, headers=headers
        )
    ).json()
    assert [
        (i["exhibitor_id"], i["rules_version"], round(i["engagement"]), i["grade"])
        for i in leads["items"]
    ] == [
        (None, 1, 7, "A"),
        (acme.id, 1, 7, "C"),
    ]
    assert pools == ([rescore.HELPERS] if helpers else [])


async def test_lead_access_organizers_all_staff_own_consenting_attendees_none(
    db: AsyncSession, client: httpx.AsyncClient
) -> None:
    event = await make_event(db)
    acme, globex = await make_exhibitor(db, event), await make_exhibitor(db, event)
    consenting = await make_registration(db, event)
    withdrawn = await make_registration(db, event)
    private = await make_registration(db, event, consent_share_at=None)
    for n, reg in enumerate((consenting, withdrawn, private)):
        for ex in (acme, globex):
            await record(
                db,
                event=event,
                registration=reg,
                type="booth.visit",
                exhibitor_id=ex.id,
                idempotency_key=f"{n}-{ex.id}",
            )
    withdrawn.consent_share_at = None
    organizer = await _bearer(db, event, RoleName.organizer)
    staff = await _bearer(db, event, RoleName.staff, acme.id)
    attendee_account = (
        await db.execute(select(Registration.account_id).where(Registration.id == private.id))
    ).scalar_one()
    assert attendee_account is not None
    token = await make_api_token(db, await db.get_one(Account, attendee_account))
    attendee = {"Authorization": f"Bearer {token}"}
    await db.commit()
    url = f"/api/events/{event.slug}/leads"

    everything = (await client.get(url, headers=organizer)).json()
    assert everything["total"] == 3 + 4  # three event-level leads, two consenting x two exhibitors
    event_level = (await client.get(url, params={"event_level": True}, headers=organizer)).json()
    assert {i["exhibitor_id"] for i in event_level["items"]} == {None}
    mine = (await client.get(url, headers=staff)).json()
    assert [(i["registration_id"], i["exhibitor_id"]) for i in mine["items"]] == [
        (consenting.id, acme.id)
    ]
    assert (await client.get(url, headers=attendee)).status_code == 403

    globex_lead = next(i for i in everything["items"] if i["exhibitor_id"] == globex.id)
    assert (await client.get(f"{url}/{globex_lead['id']}", headers=staff)).status_code == 404
    assert (await client.get(f"{url}/{globex_lead['id']}", headers=attendee)).status_code == 403
    detail = (await client.get(f"{url}/{mine['items'][0]['id']}", headers=staff)).json()
    assert [a["type"] for a in detail["timeline"]] == ["booth.visit"]
    assert detail["reasons"][0]["dimension"] == "fit"
    assert detail["allowed_moves"] == ["mql"]


async def test_lead_filters_sorting_and_pagination(
    db: AsyncSession, client: httpx.AsyncClient
) -> None:
    event = await make_event(db)
    acme = await make_exhibitor(db, event)
    regs = [await make_registration(db, event) for _ in range(3)]
    for n, reg in enumerate(regs):
        for k in range(n + 1):
            await record(
                db, event=event, registration=reg, type="question.ask", idempotency_key=f"{n}-{k}"
            )
    await record(
        db,
        event=event,
        registration=regs[0],
        type="meeting.request",
        exhibitor_id=acme.id,
        idempotency_key="m",
    )
    headers = await _bearer(db, event, RoleName.organizer)
    await db.commit()
    url = f"/api/events/{event.slug}/leads"

    async def ids(**params: str | int | float | bool) -> list[tuple[int, int | None]]:
        body = (await client.get(url, params=params, headers=headers)).json()
        return [(i["registration_id"], i["exhibitor_id"]) for i in body["items"]]

    r0, r1, r2 = (r.id for r in regs)
    # r0 asked once (+4) and requested a meeting (+15), r1 asked twice, r2 three times.
    assert await ids(event_level=True, sort="engagement") == [(r0, None), (r2, None), (r1, None)]
    assert await ids(event_level=True, limit=1, offset=1) == [(r2, None)]
    assert await ids(stage="mql") == [(r0, None), (r0, acme.id)]
    assert await ids(buying_stage="decision", exhibitor_id=acme.id) == [(r0, acme.id)]
    assert await ids(min_score=10, event_level=True) == [(r0, None), (r2, None)]
    assert await ids(max_score=9, event_level=True) == [(r1, None)]
    assert await ids(cell="A4", exhibitor_id=acme.id) == [(r0, acme.id)]
    assert len(await ids(cell="A4")) == 4
    assert await ids(last_activity_after="2999-01-01T00:00:00Z") == []
    page = (await client.get(url, params={"limit": 2}, headers=headers)).json()
    assert (page["total"], len(page["items"]), page["limit"], page["offset"]) == (4, 2, 2, 0)


async def test_transitions_calls_and_notes_over_the_api(
    db: AsyncSession, client: httpx.AsyncClient
) -> None:
    event = await make_event(db)
    acme = await make_exhibitor(db, event)
    reg = await make_registration(db, event)
    result = await record(
        db,
        event=event,
        registration=reg,
        type="meeting.request",
        exhibitor_id=acme.id,
        idempotency_key="m",
    )
    lead_id = result.leads[1].id
    staff = await _bearer(db, event, RoleName.staff, acme.id)
    await db.commit()
    url = f"/api/events/{event.slug}/leads/{lead_id}"

    illegal = await client.post(f"{url}/transitions", json={"to": "won"}, headers=staff)
    assert illegal.status_code == 409
    assert illegal.json()["error"] == {
        "code": "leads.illegal_transition",
        "message": (
            "A lead in stage mql cannot move to won. Allowed moves: sal, rejected, recycled."
        ),
        "allowed": ["sal", "rejected", "recycled"],
    }
    no_reason = await client.post(f"{url}/transitions", json={"to": "rejected"}, headers=staff)
    assert (no_reason.status_code, no_reason.json()["error"]["code"]) == (
        422,
        "leads.reason_required",
    )
    accepted = await client.post(
        f"{url}/transitions", json={"to": "sal", "note": "call Tuesday"}, headers=staff
    )
    assert accepted.status_code == 201
    assert accepted.json()["stage"] == "sal"
    assert [
        (t["from_stage"], t["to_stage"], t["note"]) for t in accepted.json()["transitions"]
    ] == [
        ("inquiry", "mql", ""),
        ("mql", "sal", "call Tuesday"),
    ]
    call = await client.post(
        f"{url}/calls", json={"outcome": "voicemail", "note": "left a message"}, headers=staff
    )
    assert call.status_code == 201
    bad_call = await client.post(f"{url}/calls", json={"outcome": "shouted"}, headers=staff)
    assert bad_call.status_code == 422
    note = await client.post(f"{url}/notes", json={"body": "Wants a demo in May"}, headers=staff)
    assert note.status_code == 201
    detail = (await client.get(url, headers=staff)).json()
    assert [c["outcome"] for c in detail["calls"]] == ["voicemail"]
    assert [n["body"] for n in detail["notes"]] == ["Wants a demo in May"]
    assert [a["type"] for a in detail["timeline"]] == ["call.logged", "meeting.request"]
    assert detail["calls"][0]["activity_id"] == detail["timeline"][0]["id"]


@pytest.mark.only_backend("sqlite")  # PostgreSQL's timestamp column cannot hold a bad value
async def test_a_failing_helper_batch_fails_the_rescore_visibly(
    db: AsyncSession,
    client: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A batch that fails in a helper process (here a lead whose stored recycle time cannot be
    read) ends the job with its error on the scoring page's progress, not a silent stop, and
    leaves no helper process behind."""
    _with_helpers(monkeypatch)
    event, acme, _ = await make_booth_visitor(db)
    await db.execute(
        text("UPDATE leads SET reset_at = 'not a time' WHERE exhibitor_id = :id"),
        {"id": acme.id},
    )
    headers = await _bearer(db, event, RoleName.organizer)
    await db.commit()
    url = f"/api/events/{event.slug}/scoring"
    rules = (await client.get(url, headers=headers)).json()["rules"]
    rules["engagement"]["visit"]["points"] = 7
    response = await client.put(url, json={"rules": rules}, headers=headers)
    assert response.status_code == 200
    await wait_for_jobs()
    progress = (await client.get(url, headers=headers)).json()["rescore"]
    assert "not a time" in progress["error"]
    assert progress["finished_at"] is None
    assert multiprocessing.active_children() == []
