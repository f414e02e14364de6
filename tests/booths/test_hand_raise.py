"""Staff hear of a hand-raise (info or meeting request) live, once, and only after commit."""

from __future__ import annotations

import httpx
import orjson
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.booths.models import Exhibitor, InfoRequest
from app.events.models import Event, RoleName
from app.leads.models import Lead
from app.realtime import channels
from app.realtime.feed import realtime_of
from tests.factories import (
    csrf_for,
    grant,
    login_as,
    make_account,
    make_event,
    make_exhibitor,
    make_registration,
    make_resource,
    make_slot,
)

Inbox = list[tuple[str, dict[str, object]]]


async def _setup(db: AsyncSession) -> tuple[Event, Exhibitor]:
    event = await make_event(db, slug="expo")
    exhibitor = await make_exhibitor(db, event, name="Acme Robotics", slug="acme")
    return event, exhibitor


async def _listen(app: FastAPI, db: AsyncSession, exhibitor_id: int) -> Inbox:
    """Collect the staff channel's pushes; each also notes whether the request had committed."""
    inbox: Inbox = []

    def listener(_channel: str, payload: str) -> None:
        event, _id, body = orjson.loads(str(payload))
        inbox.append((event, body))

    await realtime_of(app).hub.subscribe(channels.staff(exhibitor_id), listener)
    return inbox


async def _visitor(
    db: AsyncSession, client: httpx.AsyncClient, event: Event, **values: object
) -> int:
    account = await make_account(db)
    registration = await make_registration(db, event, account, **values)
    await login_as(db, client, account)
    return registration.id


async def test_info_request_alerts_staff_once_with_the_visitor_card(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event, exhibitor = await _setup(db)
    rival = await make_exhibitor(db, event, slug="rival")
    inbox = await _listen(app, db, exhibitor.id)
    rival_inbox = await _listen(app, db, rival.id)
    registration_id = await _visitor(db, client, event, first_name="Grace", last_name="Hopper")
    form = {"csrf_token": csrf_for(app, client), "message": "Pricing please"}

    first = await client.post("/e/expo/booths/acme/info", data=form)
    again = await client.post("/e/expo/booths/acme/info", data=form)

    assert first.status_code == again.status_code == 303
    raised = [body for name, body in inbox if name == "staff.hand_raise"]
    assert raised == [
        {
            "kind": "info",
            "what": "requested information",
            "booth_id": raised[0]["booth_id"],
            "registration_id": registration_id,
            "name": "Grace Hopper",
            "company": "Analytical Engines Ltd",
            "job_title": "Head of Engineering",
        }
    ]
    assert rival_inbox == []
    rows = (await db.execute(select(func.count()).select_from(InfoRequest))).scalar_one()
    assert rows == 1


async def test_hand_raise_that_makes_an_mql_also_pushes_staff_mql(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event, exhibitor = await _setup(db)
    staff = await make_account(db)
    await grant(db, staff, event, RoleName.staff, exhibitor.id)
    slot = await make_slot(db, exhibitor, staff)
    inbox = await _listen(app, db, exhibitor.id)
    await _visitor(db, client, event, first_name="Grace", last_name="Hopper")

    response = await client.post(
        "/e/expo/booths/acme/meetings",
        data={"csrf_token": csrf_for(app, client), "slot_id": str(slot.id)},
    )

    assert response.status_code == 303
    names = [name for name, _ in inbox]
    assert names == ["staff.hand_raise", "staff.mql"]
    assert inbox[0][1]["what"] == "booked a meeting"
    assert inbox[1][1]["name"] == "Grace Hopper"
    assert inbox[1][1]["stage"] == "mql"


async def test_hand_raise_of_a_visitor_who_declined_is_anonymous(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event, exhibitor = await _setup(db)
    inbox = await _listen(app, db, exhibitor.id)
    await _visitor(db, client, event, first_name="Grace", last_name="Hopper", consent_share_at=None)
    csrf = csrf_for(app, client)

    response = await client.post(
        "/e/expo/booths/acme/consent",
        data={"csrf_token": csrf, "shared": "no", "then": "info", "message": "Call me"},
    )

    assert response.status_code == 303
    assert inbox
    assert inbox[0][0] == "staff.hand_raise"
    for _name, body in inbox:
        assert body["anonymous"] is True
        text = orjson.dumps(body).decode()
        assert "Grace" not in text
        assert "Hopper" not in text
        assert "Analytical" not in text
        assert "registration_id" not in body
        assert body.get("lead_id") is None


async def test_refused_info_request_alerts_nobody(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event, exhibitor = await _setup(db)
    inbox = await _listen(app, db, exhibitor.id)
    await _visitor(db, client, event)

    response = await client.post(
        "/e/expo/booths/acme/info",
        data={"csrf_token": csrf_for(app, client), "message": "x" * 2001},
    )

    assert response.status_code == 422
    assert inbox == []


async def test_staff_see_a_download_with_the_lead_it_left_and_nothing_from_a_refusal(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event, exhibitor = await _setup(db)
    link = await make_resource(
        db,
        exhibitor,
        kind="link",
        title="Edge Box datasheet",
        url="https://example.com/edge-box.pdf",
    )
    inbox = await _listen(app, db, exhibitor.id)
    registration_id = await _visitor(db, client, event, first_name="Grace", last_name="Hopper")

    first = await client.get(f"/e/expo/resources/{link.id}/open")
    again = await client.get(f"/e/expo/resources/{link.id}/open")  # counts once a day

    assert first.status_code == again.status_code == 303
    pushes = [body for name, body in inbox if name == "staff.activity"]
    assert len(pushes) == 1
    body = pushes[0]
    assert (body["registration_id"], body["name"]) == (registration_id, "Grace Hopper")
    activity = body["activity"]
    assert isinstance(activity, dict)
    assert (activity["type"], activity["what"], activity["label"]) == (
        "resource.download",
        "downloaded a resource",
        "Edge Box datasheet",
    )
    lead = body["lead"]
    assert isinstance(lead, dict)
    stored = (
        await db.execute(
            select(Lead.id, Lead.engagement, Lead.cell).where(
                Lead.registration_id == registration_id, Lead.exhibitor_id == exhibitor.id
            )
        )
    ).one()
    assert (lead["lead_id"], lead["engagement"], lead["cell"]) == (
        stored.id,
        round(stored.engagement),
        stored.cell,
    )

    # A visitor who keeps their details from this exhibitor: their download is not news.
    await _visitor(db, client, event, consent_share_at=None)
    await client.post(
        "/e/expo/booths/acme/consent",
        data={"csrf_token": csrf_for(app, client), "shared": "no"},
    )
    await client.get(f"/e/expo/resources/{link.id}/open")
    assert len([name for name, _ in inbox if name == "staff.activity"]) == 1
