"""Consent at the door: asked once per booth; a declined visitor stays anonymous everywhere."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Account
from app.booths.booth_repository import shares_clause, shares_with
from app.booths.models import BoothConsent, Exhibitor
from app.events.models import Event, Registration, RoleName
from app.leads.models import Activity, Lead
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

QUESTION = "Share my contact details with Acme Robotics?"


async def _setup(db: AsyncSession) -> tuple[Event, Exhibitor, Account, Registration]:
    event = await make_event(db, slug="expo")
    exhibitor = await make_exhibitor(db, event, name="Acme Robotics", slug="acme")
    account = await make_account(db)
    registration = await make_registration(
        db, event, account, first_name="Grace", last_name="Hopper", consent_share_at=None
    )
    return event, exhibitor, account, registration


async def _count(db: AsyncSession, type: str) -> int:
    return (
        await db.execute(select(func.count()).select_from(Activity).where(Activity.type == type))
    ).scalar_one()


async def _answer(
    app: FastAPI, client: httpx.AsyncClient, shared: str, **pending: str
) -> httpx.Response:
    data = {"csrf_token": csrf_for(app, client), "shared": shared, **pending}
    return await client.post("/e/expo/booths/acme/consent", data=data)


async def test_first_info_request_asks_in_plain_words_and_keeps_the_message(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await _setup(db)
    account = (await db.execute(select(Account))).scalars().first()
    assert account is not None
    await login_as(db, client, account)

    response = await client.post(
        "/e/expo/booths/acme/info",
        data={"csrf_token": csrf_for(app, client), "message": "Pricing please"},
    )

    assert response.status_code == 200
    assert QUESTION in response.text
    assert 'name="message" value="Pricing please"' in response.text
    assert 'name="then" value="info"' in response.text
    assert await _count(db, "info.request") == 0


async def test_declined_visitor_is_counted_but_never_identified(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event, exhibitor, account, registration = await _setup(db)
    staff = await make_account(db)
    await grant(db, staff, event, RoleName.staff, exhibitor.id)
    slot = await make_slot(db, exhibitor, staff)
    await login_as(db, client, account)

    declined = await _answer(app, client, "no", then="info", message="Pricing please")
    booked = await client.post(
        "/e/expo/booths/acme/meetings",
        data={"csrf_token": csrf_for(app, client), "slot_id": str(slot.id)},
    )
    page = await client.get("/e/expo/booths/acme")

    assert declined.status_code == 303
    assert declined.headers["location"] == "/e/expo/booths/acme?done=info_anonymous#contact"
    assert booked.status_code == 303  # no second question at the same booth
    assert await _count(db, "info.request") == 1
    assert await _count(db, "meeting.request") == 1
    assert 'data-sharing="declined"' in page.text
    leads = (await db.execute(select(Lead))).scalars().all()
    assert [lead.exhibitor_id for lead in leads] == [None]  # the event-level lead only
    assert not await shares_with(db, registration, exhibitor.id)

    await login_as(db, client, staff)
    meetings = (await client.get("/e/expo/booths/acme/manage/meetings")).text
    analytics = (await client.get("/e/expo/booths/acme/manage/analytics")).text
    api = (await client.get("/api/events/expo/leads")).json()

    for html in (meetings, analytics):
        assert "Grace" not in html
        assert "Hopper" not in html
        assert registration.email is not None
        assert registration.email not in html
    assert "An attendee who chose not to share their details" in meetings
    assert "Pricing please" in meetings  # the question still reaches the booth
    assert re.search(r'data-figure="anonymous">1 visitor ', analytics)
    assert api["items"] == []
    assert api["total"] == 0


async def test_consent_is_asked_once_per_booth(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event, _exhibitor, account, _registration = await _setup(db)
    await make_exhibitor(db, event, name="Other Co", slug="other")
    await login_as(db, client, account)

    await _answer(app, client, "yes", then="info")
    again = await client.post(
        "/e/expo/booths/acme/info", data={"csrf_token": csrf_for(app, client)}
    )
    elsewhere = await client.post(
        "/e/expo/booths/other/info", data={"csrf_token": csrf_for(app, client)}
    )

    assert again.status_code == 303
    assert elsewhere.status_code == 200
    assert "Share my contact details with Other Co?" in elsewhere.text
    answers = (await db.execute(select(BoothConsent))).scalars().all()
    assert [(a.shared) for a in answers] == [True]


async def test_download_asks_first_then_serves(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    _event, exhibitor, account, _ = await _setup(db)
    root = app.state.settings.uploads_dir
    (root / "files").mkdir(parents=True, exist_ok=True)
    (root / "files" / "a.pdf").write_bytes(b"%PDF-1.7 x")
    resource = await make_resource(
        db, exhibitor, file_path="files/a.pdf", content_type="application/pdf"
    )
    await login_as(db, client, account)

    first = await client.get(f"/e/expo/resources/{resource.id}/download")
    form = await client.get(first.headers["location"])
    answered = await _answer(app, client, "no", then="download", resource_id=str(resource.id))
    served = await client.get(answered.headers["location"])

    assert first.status_code == 303
    assert first.headers["location"].startswith("/e/expo/booths/acme/consent?then=download")
    assert QUESTION in form.text
    assert answered.headers["location"] == f"/e/expo/resources/{resource.id}/download"
    assert served.status_code == 200
    assert served.content == b"%PDF-1.7 x"
    assert await _count(db, "resource.download") == 1


async def test_chat_asks_first(app: FastAPI, client: httpx.AsyncClient, db: AsyncSession) -> None:
    _event, _exhibitor, account, _ = await _setup(db)
    await login_as(db, client, account)

    before = await client.get("/e/expo/booths/acme")
    gate = await client.get("/e/expo/booths/acme/chat")
    answered = await _answer(app, client, "yes", then="chat")
    after = await client.get("/e/expo/booths/acme")

    assert 'href="/e/expo/booths/acme/chat"' in before.text
    assert "data-live-booth" not in before.text
    assert gate.headers["location"] == "/e/expo/booths/acme/consent?then=chat"
    assert answered.headers["location"] == "/e/expo/booths/acme#chat"
    assert "data-live-booth" in after.text


async def test_event_wide_consent_skips_the_question(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event = await make_event(db, slug="expo")
    await make_exhibitor(db, event, name="Acme Robotics", slug="acme")
    account = await make_account(db)
    await make_registration(db, event, account)  # consented at registration
    await login_as(db, client, account)

    response = await client.post(
        "/e/expo/booths/acme/info", data={"csrf_token": csrf_for(app, client)}
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/e/expo/booths/acme?done=info#contact"


async def test_booth_answer_overrides_event_wide_consent(db: AsyncSession, app: FastAPI) -> None:
    event, exhibitor, _account, registration = await _setup(db)
    other = await make_exhibitor(db, event, slug="other")
    from app.db import utcnow

    registration.consent_share_at = utcnow()
    db.add(BoothConsent(registration_id=registration.id, exhibitor_id=exhibitor.id, shared=False))
    await db.flush()

    assert not await shares_with(db, registration, exhibitor.id)
    assert await shares_with(db, registration, other.id)
    for exhibitor_id, expected in ((exhibitor.id, False), (other.id, True)):
        sql = select(shares_clause(exhibitor_id)).where(Registration.id == registration.id)
        assert bool((await db.execute(sql)).scalar_one()) is expected


async def test_a_booth_yes_shares_without_event_wide_consent(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    _event, exhibitor, account, registration = await _setup(db)
    await login_as(db, client, account)

    await _answer(app, client, "yes")
    page = await client.get("/e/expo/booths/acme")

    assert await shares_with(db, registration, exhibitor.id)
    assert 'data-sharing="shared"' in page.text
    assert "Stop sharing my details with Acme Robotics" in page.text


async def test_changing_the_answer_later(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    _event, exhibitor, account, registration = await _setup(db)
    await login_as(db, client, account)

    await _answer(app, client, "no")
    changed = await _answer(app, client, "yes")

    assert changed.headers["location"] == "/e/expo/booths/acme?done=shared#contact"
    assert await shares_with(db, registration, exhibitor.id)
    assert (await db.execute(select(func.count()).select_from(BoothConsent))).scalar_one() == 1


async def test_erasing_an_account_blanks_what_it_wrote_to_booths(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    from app.booths.models import InfoRequest, MeetingRequest
    from app.events import privacy

    _event, exhibitor, account, _registration = await _setup(db)
    slot = await make_slot(db, exhibitor)
    await login_as(db, client, account)
    await _answer(app, client, "yes", then="info", message="Call me on +44 20 7946 0000")
    await _answer(app, client, "yes", then="meeting", slot_id=str(slot.id), message="Secret plan")

    await privacy.erase(db, account=account)
    await db.commit()

    info = (await db.execute(select(InfoRequest))).scalar_one()
    meeting = (await db.execute(select(MeetingRequest))).scalar_one()
    assert info.message == ""
    assert meeting.message == ""


async def test_shares_clause_filters_lead_lists_by_each_leads_exhibitor(db: AsyncSession) -> None:
    """The SQL twin works correlated to `Lead.exhibitor_id`, as the lead lists need it."""
    event, exhibitor, _account, registration = await _setup(db)
    other = await make_exhibitor(db, event, slug="other")
    db.add(BoothConsent(registration_id=registration.id, exhibitor_id=exhibitor.id, shared=True))
    db.add(BoothConsent(registration_id=registration.id, exhibitor_id=other.id, shared=False))
    for scope in (exhibitor.id, other.id):
        db.add(
            Lead(
                event_id=event.id,
                registration_id=registration.id,
                exhibitor_id=scope,
                scope=scope,
                state={},
                contributions=[],
            )
        )
    await db.flush()

    visible = (
        await db.execute(
            select(Lead.exhibitor_id)
            .join(Registration, Registration.id == Lead.registration_id)
            .where(shares_clause(Lead.exhibitor_id))
        )
    ).scalars()

    assert list(visible) == [exhibitor.id]
