"""Follow-up email end to end: a campaign for filtered leads, sent to a real SMTP server, its
pixel and links followed back into activities that raise the lead's score."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Account
from app.booths.models import Exhibitor, Resource
from app.config import Settings
from app.db import utcnow
from app.events.models import Event, Registration, RoleName
from app.events.privacy import erase
from app.integrations import mailer
from app.integrations.models import EmailMessage
from app.leads import service as leads_service
from app.leads.models import Activity, Lead
from app.sessions.models import ProgramSession
from tests.conftest import make_settings
from tests.factories import (
    grant,
    make_account,
    make_api_token,
    make_event,
    make_exhibitor,
    make_registration,
    make_resource,
    make_session,
)
from tests.integrations.smtp_server import SmtpServer

BODY = """Hi {{ first_name }},

thanks for visiting {{ exhibitor_name }} at {{ event_name }}.
{% for item in engaged %}- {{ item }}
{% endfor %}
Our prices: https://acme.example/pricing?plan=pro&ref=summit.
"""


@dataclass
class Expo:
    event: Event
    acme: Exhibitor
    globex: Exhibitor
    pricing: Resource
    keynote: ProgramSession
    ada: Registration  # consenting; downloaded Acme's pricing guide, joined its keynote
    grace: Registration  # does not share her details: no Acme lead
    bob: Registration  # consenting, visited Globex only
    carol: Registration  # consenting, visited Acme only


async def build_expo(db: AsyncSession) -> Expo:
    event = await make_event(db, slug="summit", name="Summit 2026", timezone="UTC")
    acme = await make_exhibitor(db, event, name="Acme", slug="acme")
    globex = await make_exhibitor(db, event, name="Globex", slug="globex")
    pricing = await make_resource(db, acme, title="Pricing guide", stage="evaluation")
    keynote = await make_session(
        db, event, title="Engines keynote", starts_at=utcnow() - dt.timedelta(hours=1)
    )
    mail: dict[str, Any] = {"consent_marketing_at": utcnow()}
    ada = await make_registration(db, event, email="ada@example.com", **mail)
    grace = await make_registration(
        db, event, email="grace@example.com", first_name="Grace", last_name="Hopper",
        consent_share_at=None, **mail,
    )  # fmt: skip
    bob = await make_registration(
        db, event, email="bob@example.com", first_name="Bob", last_name="Babbage", **mail
    )
    carol = await make_registration(
        db, event, email="carol@example.com", first_name="Carol", last_name="Shaw", **mail
    )
    await db.commit()
    steps: list[tuple[Registration, str, dict[str, Any]]] = [
        (ada, "resource.download", {"resource_id": pricing.id}),
        (ada, "session.join", {"session_id": keynote.id, "exhibitor_id": acme.id}),
        (grace, "booth.visit", {"exhibitor_id": acme.id}),
        (bob, "booth.visit", {"exhibitor_id": globex.id}),
        (carol, "booth.visit", {"exhibitor_id": acme.id}),
    ]
    for n, (reg, type_, extra) in enumerate(steps):
        await leads_service.record(
            db, event=event, registration=reg, type=type_, idempotency_key=f"setup-{n}", **extra
        )
    await db.commit()
    return Expo(event, acme, globex, pricing, keynote, ada, grace, bob, carol)


async def bearer(
    db: AsyncSession, event: Event, role: RoleName, exhibitor: Exhibitor | None = None
) -> dict[str, str]:
    account = await make_account(db)
    await grant(db, account, event, role, exhibitor.id if exhibitor else None)
    token = await make_api_token(db, account)
    await db.commit()
    return {"Authorization": f"Bearer {token}"}


async def lead_of(db: AsyncSession, reg: Registration, exhibitor: Exhibitor | None) -> Lead:
    query = select(Lead).where(
        Lead.registration_id == reg.id,
        Lead.exhibitor_id == exhibitor.id if exhibitor else Lead.exhibitor_id.is_(None),
    )
    return (await db.execute(query.execution_options(populate_existing=True))).scalar_one()


async def activities(db: AsyncSession, reg: Registration, type_: str) -> list[Activity]:
    query = select(Activity).where(Activity.registration_id == reg.id, Activity.type == type_)
    return list((await db.execute(query)).scalars())


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def campaign(filters: dict[str, Any], body: str = BODY) -> dict[str, Any]:
    return {"subject": "Hello {{ first_name }}, from {{ exhibitor_name }}", "body": body,
            "filters": filters}  # fmt: skip


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def settings(database_url: str, tmp_path: Path, smtp: SmtpServer) -> Settings:
    return make_settings(
        database_url, tmp_path, smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_starttls=False,
        base_url="http://testserver", mail_from="Acme at Summit <fu@summit.example>",
    )  # fmt: skip


async def test_email_open_and_click_raise_the_lead_score(
    app: FastAPI, db: AsyncSession, client: httpx.AsyncClient, smtp: SmtpServer
) -> None:
    expo = await build_expo(db)
    headers = await bearer(db, expo.event, RoleName.staff, expo.acme)
    created = await client.post(
        "/api/events/summit/campaigns", json=campaign({"buying_stage": "evaluation"}),
        headers=headers,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    assert created.json()["total"] == 1
    assert created.json()["exhibitor"] == "acme"

    assert await mailer.send_due(app.state.sessionmaker, app.state.settings) == 1
    assert [r.recipients for r in smtp.received] == [["ada@example.com"]]
    message = smtp.received[0].message
    assert smtp.received[0].sender == "fu@summit.example"
    assert message["Subject"] == "Hello Ada, from Acme"
    assert message["To"] == "ada@example.com"
    assert message["Message-ID"].endswith("@summit.example>")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    token = (await db.execute(select(EmailMessage.token))).scalar_one()
    assert message["List-Unsubscribe"] == f"<http://testserver/t/u/{token}>"
    assert message.get_content_type() == "multipart/alternative"
    text_part = message.get_body(("plain",))
    html_part = message.get_body(("html",))
    assert text_part is not None
    assert html_part is not None
    text, html = text_part.get_content().replace("\r\n", "\n"), html_part.get_content()
    assert text.startswith("Hi Ada,\n\nthanks for visiting Acme at Summit 2026.\n")
    assert "- Pricing guide\n- Engines keynote\n" in text
    assert "https://acme.example/pricing" not in text.replace("u=https", "")  # tracked
    assert f"http://testserver/t/u/{token}" in text
    assert f'<img src="http://testserver/t/o/{token}.gif"' in html
    assert "&gt;" not in text
    assert "Pricing guide" in html

    click_url = next(w for w in text.split() if w.startswith("http://testserver/t/c/"))
    lead = await lead_of(db, expo.ada, expo.acme)
    before = lead.engagement

    pixel = await client.get(f"/t/o/{token}.gif")
    assert pixel.status_code == 200
    assert pixel.headers["content-type"] == "image/gif"
    assert "no-store" in pixel.headers["cache-control"]
    assert (await client.get(f"/t/o/{token}.gif")).status_code == 200  # counted once
    followed = await client.get(path_of(click_url))
    assert followed.status_code == 303
    assert followed.headers["location"] == "https://acme.example/pricing?plan=pro&ref=summit"
    await client.get(path_of(click_url))  # the same link again: one click

    opens = await activities(db, expo.ada, "email.open")
    clicks = await activities(db, expo.ada, "email.click")
    assert [(a.exhibitor_id, a.meta["campaign_id"]) for a in opens] == [
        (expo.acme.id, created.json()["id"])
    ]
    assert [a.meta["url"] for a in clicks] == ["https://acme.example/pricing?plan=pro&ref=summit"]
    lead = await lead_of(db, expo.ada, expo.acme)
    assert lead.engagement > before
    assert any("email" in c["label"] and c["points"] > 0 for c in lead.contributions)
    read = await client.get(f"/api/events/summit/campaigns/{created.json()['id']}", headers=headers)
    assert {k: read.json()[k] for k in ("total", "sent", "opened", "clicked", "failed")} == {
        "total": 1, "sent": 1, "opened": 1, "clicked": 1, "failed": 0,
    }  # fmt: skip


async def test_tampered_or_swapped_click_links_are_refused(
    app: FastAPI, db: AsyncSession, client: httpx.AsyncClient, smtp: SmtpServer
) -> None:
    expo = await build_expo(db)
    headers = await bearer(db, expo.event, RoleName.organizer)
    body = "See https://summit.example/agenda and https://summit.example/slides"
    created = await client.post(
        "/api/events/summit/campaigns",
        json=campaign({"grade": "A"}, body=body),
        headers=headers,
    )
    assert created.status_code == 201, created.text
    await mailer.send_due(app.state.sessionmaker, app.state.settings)
    text = smtp.to("ada@example.com")[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    agenda, slides = (w for w in text.split() if w.startswith("http://testserver/t/c/"))
    agenda_sig = dict(p.split("=", 1) for p in urlsplit(agenda).query.split("&"))["s"]
    slides_u = dict(p.split("=", 1) for p in urlsplit(slides).query.split("&"))["u"]
    token = urlsplit(agenda).path.rsplit("/", 1)[1]

    tampered = await client.get(path_of(agenda)[:-1] + ("0" if agenda[-1] != "0" else "1"))
    assert tampered.status_code == 400
    assert "This link is not valid" in tampered.text
    swapped = await client.get(f"/t/c/{token}?u={slides_u}&s={agenda_sig}")
    assert swapped.status_code == 400
    foreign = await client.get(f"/t/c/{token}?u=https%3A%2F%2Fevil.example%2F&s={agenda_sig}")
    assert foreign.status_code == 400
    assert "location" not in foreign.headers
    unknown = await client.get(f"/t/c/nope{token}?u={slides_u}&s={agenda_sig}")
    assert unknown.status_code == 404
    assert await activities(db, expo.ada, "email.click") == []
    assert await activities(db, expo.ada, "email.open") == []


async def test_javascript_targets_are_refused_even_when_signed(
    app: FastAPI, db: AsyncSession, client: httpx.AsyncClient
) -> None:
    from app.integrations.email_render import Links

    expo = await build_expo(db)
    headers = await bearer(db, expo.event, RoleName.organizer)
    await client.post("/api/events/summit/campaigns", json=campaign({}), headers=headers)
    token = (await db.execute(select(EmailMessage.token).limit(1))).scalar_one()
    links = Links("http://testserver", app.state.settings.secret, token)
    response = await client.get(path_of(links.click("javascript:alert(1)")))
    assert response.status_code == 400
    assert (await client.get(path_of(links.click("https://ok.example/")))).status_code == 303


async def test_exhibitor_campaign_reaches_only_its_consenting_leads(
    db: AsyncSession, client: httpx.AsyncClient
) -> None:
    expo = await build_expo(db)
    headers = await bearer(db, expo.event, RoleName.staff, expo.acme)
    preview = await client.post(
        "/api/events/summit/campaigns/preview", json=campaign({}), headers=headers
    )
    assert preview.status_code == 200, preview.text
    assert preview.json()["count"] == 2  # Ada and Carol: never Grace (no consent) nor Bob
    assert preview.json()["to"] == "ada@example.com"
    assert preview.json()["subject"] == "Hello Ada, from Acme"
    assert "- Pricing guide\n- Engines keynote" in preview.json()["text"]
    export = await client.get("/api/events/summit/leads/export/count", headers=headers)
    assert export.json()["count"] == 2  # the same leads an export of these filters holds
    created = await client.post("/api/events/summit/campaigns", json=campaign({}), headers=headers)
    assert created.status_code == 201
    rows = (await db.execute(select(EmailMessage.to_address, EmailMessage.status))).all()
    assert sorted(rows) == [("ada@example.com", "queued"), ("carol@example.com", "queued")]


async def test_organizer_campaign_reaches_each_attendee_once(
    db: AsyncSession, client: httpx.AsyncClient
) -> None:
    expo = await build_expo(db)
    expo.bob.erased_at = utcnow()
    expo.carol.consent_marketing_at = None  # she never agreed to marketing email
    await db.commit()
    headers = await bearer(db, expo.event, RoleName.organizer)
    created = await client.post("/api/events/summit/campaigns", json=campaign({}), headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["exhibitor"] is None
    addresses = (await db.execute(select(EmailMessage.to_address))).scalars().all()
    assert sorted(addresses) == ["ada@example.com", "grace@example.com"]

    # Deleting an account blanks the address its messages were written to.
    ada = await db.get(Account, expo.ada.account_id)
    assert ada is not None
    await erase(db, account=ada)
    await db.commit()
    addresses = (await db.execute(select(EmailMessage.to_address))).scalars().all()
    assert sorted(addresses) == ["", "grace@example.com"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("Hi {{ first_name", "template error on line 1"),
        ("Hi {{ nickname }}", "unknown variable 'nickname'"),
        ("Hi {{ 1 / 0 }}", "ZeroDivisionError"),
        ("Hi {{ first_name.__class__.__mro__ }}", "could not be rendered"),
        ("{% for x in engaged %}{{ x.secret }}{% endfor %}", "could not be rendered"),
    ],
)
async def test_template_errors_are_a_422_naming_the_problem(
    db: AsyncSession, client: httpx.AsyncClient, body: str, message: str
) -> None:
    expo = await build_expo(db)
    headers = await bearer(db, expo.event, RoleName.organizer)
    for path in ("/api/events/summit/campaigns", "/api/events/summit/campaigns/preview"):
        response = await client.post(path, json=campaign({}, body=body), headers=headers)
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "email.invalid_template"
        assert message in response.json()["error"]["message"]
        assert response.json()["error"]["field"] == "body"
    assert (await db.execute(select(func.count()).select_from(EmailMessage))).scalar_one() == 0


async def test_bad_filters_are_a_422(db: AsyncSession, client: httpx.AsyncClient) -> None:
    expo = await build_expo(db)
    headers = await bearer(db, expo.event, RoleName.organizer)
    response = await client.post(
        "/api/events/summit/campaigns", json=campaign({"tier": 9}), headers=headers
    )
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "filters.tier"


async def test_attendees_and_other_exhibitors_cannot_email_or_read_campaigns(
    db: AsyncSession, client: httpx.AsyncClient
) -> None:
    expo = await build_expo(db)
    acme = await bearer(db, expo.event, RoleName.staff, expo.acme)
    globex = await bearer(db, expo.event, RoleName.staff, expo.globex)
    attendee = await bearer(db, expo.event, RoleName.attendee)
    created = await client.post("/api/events/summit/campaigns", json=campaign({}), headers=acme)
    url = f"/api/events/summit/campaigns/{created.json()['id']}"
    assert (await client.get(url, headers=acme)).status_code == 200
    assert (await client.get(url, headers=globex)).status_code == 404
    assert (await client.get(url, headers=attendee)).status_code == 404
    as_acme = campaign({"exhibitor": "acme"})
    response = await client.post("/api/events/summit/campaigns", json=as_acme, headers=globex)
    assert response.status_code == 403
    for path in ("/api/events/summit/campaigns", "/api/events/summit/campaigns/preview"):
        assert (await client.post(path, json=campaign({}), headers=attendee)).status_code == 403
    assert (await client.get("/api/events/summit/campaigns", headers=attendee)).status_code == 403
    listed = await client.get("/api/events/summit/campaigns", headers=globex)
    assert listed.json() == []
    assert (await client.post("/api/events/summit/campaigns", json=campaign({}))).status_code == 401
