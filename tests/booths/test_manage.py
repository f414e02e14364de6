"""Exhibitor self-service: editing, staff, analytics, and no access to another exhibitor's booth."""

from __future__ import annotations

import datetime as dt
import re

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Account
from app.booths import manage_pages
from app.booths.models import Booth, Exhibitor, MeetingSlot, Resource
from app.events.models import Event, Invitation, Role, RoleName
from app.leads.service import record
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

# Every booth-management route; {r} a resource, {a} a staff account, {s} a slot of the booth.
MANAGE_ROUTES = [
    ("GET", ""),
    ("POST", ""),
    ("POST", "/images/logo"),
    ("POST", "/images/banner"),
    ("GET", "/resources"),
    ("POST", "/resources"),
    ("POST", "/resources/{r}/delete"),
    ("GET", "/staff"),
    ("POST", "/staff/invite"),
    ("POST", "/staff/{a}/remove"),
    ("GET", "/meetings"),
    ("POST", "/meetings"),
    ("POST", "/meetings/{s}/delete"),
    ("GET", "/analytics"),
]
PREFIX = "/e/{slug}/booths/{exhibitor_slug}/manage"


async def _booths(db: AsyncSession) -> tuple[Event, Exhibitor, Account, dict[str, int]]:
    """Acme with a staff member, a resource and a slot; returns ids for the route templates."""
    event = await make_event(db, slug="expo")
    acme = await make_exhibitor(db, event, name="Acme", slug="acme", booth={"tagline": "Old"})
    staff = await make_account(db, display_name="Ann Acme")
    await grant(db, staff, event, RoleName.staff, acme.id)
    resource = await make_resource(db, acme)
    slot = await make_slot(db, acme, staff)
    return event, acme, staff, {"r": resource.id, "a": staff.id, "s": slot.id}


def test_every_manage_route_is_in_the_access_list() -> None:
    declared = {
        (method, route.path.removeprefix(PREFIX))
        for route in manage_pages.router.routes
        if isinstance(route, APIRoute)
        for method in route.methods or ()
    }
    names = {"{r}": "{resource_id}", "{a}": "{account_id}", "{s}": "{slot_id}"}
    tested = set()
    for method, path in MANAGE_ROUTES:
        for short, full in names.items():
            path = path.replace(short, full)
        tested.add((method, re.sub(r"/images/(logo|banner)", "/images/{which}", path)))
    assert all(route[1] == "" or route[1].startswith("/") for route in declared)
    assert tested == declared


async def _state(db: AsyncSession) -> tuple[object, ...]:
    booth = (await db.execute(select(Booth).order_by(Booth.id))).scalars().first()
    assert booth is not None
    return (
        booth.tagline,
        booth.logo_path,
        booth.banner_path,
        (await db.execute(select(func.count()).select_from(Resource))).scalar_one(),
        (await db.execute(select(func.count()).select_from(Role))).scalar_one(),
        (await db.execute(select(func.count()).select_from(MeetingSlot))).scalar_one(),
        (await db.execute(select(func.count()).select_from(Invitation))).scalar_one(),
    )


@pytest.mark.parametrize(("method", "path"), MANAGE_ROUTES)
async def test_staff_of_another_exhibitor_is_denied_every_manage_route(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession, method: str, path: str
) -> None:
    event, _acme, _staff, ids = await _booths(db)
    rival = await make_exhibitor(db, event, name="Rival", slug="rival")
    spy = await make_account(db)
    await grant(db, spy, event, RoleName.staff, rival.id)
    await login_as(db, client, spy)
    before = await _state(db)
    url = "/e/expo/booths/acme/manage" + path.format(**ids)

    if method == "GET":
        response = await client.get(url)
    else:
        response = await client.post(
            url,
            data={
                "csrf_token": csrf_for(app, client),
                "tagline": "Hacked",
                "title": "x",
                "kind": "link",
                "stage": "research",
                "url": "https://evil.example",
                "starts_at": "2031-01-01T10:00",
                "minutes": "30",
            },
            files={"file": ("x.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 16, "image/png")},
        )

    assert response.status_code == 403
    assert "Acme" not in response.text
    assert "Ann Acme" not in response.text
    db.expire_all()
    assert await _state(db) == before


@pytest.mark.parametrize(("method", "path"), [r for r in MANAGE_ROUTES if r[0] == "GET"])
async def test_attendees_and_strangers_cannot_manage(
    client: httpx.AsyncClient, db: AsyncSession, method: str, path: str
) -> None:
    event, _acme, _staff, ids = await _booths(db)
    await db.commit()
    url = "/e/expo/booths/acme/manage" + path.format(**ids)

    anonymous = await client.get(url)
    attendee = await make_account(db)
    await make_registration(db, event, attendee)
    await login_as(db, client, attendee)
    registered = await client.get(url)

    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login")
    assert registered.status_code == 403


@pytest.mark.parametrize("who", ["staff", "organizer"])
async def test_own_staff_and_organizers_can_open_every_manage_page(
    client: httpx.AsyncClient, db: AsyncSession, who: str
) -> None:
    event, _acme, staff, ids = await _booths(db)
    if who == "organizer":
        staff = await make_account(db)
        await grant(db, staff, event, RoleName.organizer)
    await login_as(db, client, staff)

    for method, path in MANAGE_ROUTES:
        if method == "GET":
            response = await client.get("/e/expo/booths/acme/manage" + path.format(**ids))
            assert response.status_code == 200, path
            assert 'href="/e/expo/exhibitor/acme/leads"' in response.text


async def test_staff_of_another_exhibitor_never_see_its_leads(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event, acme, _staff, _ids = await _booths(db)
    rival = await make_exhibitor(db, event, slug="rival")
    spy = await make_account(db)
    await grant(db, spy, event, RoleName.staff, rival.id)
    registration = await make_registration(db, event)
    await record(
        db,
        event=event,
        registration=registration,
        type="info.request",
        exhibitor_id=acme.id,
        idempotency_key="k1",
    )
    await login_as(db, client, spy)

    response = await client.get("/api/events/expo/leads")

    assert response.status_code == 200
    assert response.json()["items"] == []


async def test_edit_booth_saves_every_field(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    _event, _acme, staff, _ids = await _booths(db)
    await login_as(db, client, staff)

    response = await client.post(
        "/e/expo/booths/acme/manage",
        data={
            "csrf_token": csrf_for(app, client),
            "tagline": "Vision for every line",
            "description": "**Fast** inspection",
            "tags": "Vision, Edge AI, vision",
            "territory": "de at, ch",
            "ideal_sizes": ["201-1000", "51-200"],
            "video_url": "https://vimeo.com/123456",
            "accent_color": "#FF8800",
        },
    )

    assert response.status_code == 303
    booth = (await db.execute(select(Booth))).scalar_one()
    await db.refresh(booth)
    assert booth.tagline == "Vision for every line"
    assert booth.tags == ["Vision", "Edge AI"]
    assert booth.territory == ["AT", "CH", "DE"]
    assert booth.ideal_sizes == ["51-200", "201-1000"]
    assert booth.video_url == "https://vimeo.com/123456"
    assert booth.accent_color == "#ff8800"
    page = await client.get("/e/expo/booths/acme")
    assert 'src="https://player.vimeo.com/video/123456"' in page.text


async def test_edit_booth_reports_every_bad_field_and_changes_nothing(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    _event, _acme, staff, _ids = await _booths(db)
    await login_as(db, client, staff)

    response = await client.post(
        "/e/expo/booths/acme/manage",
        data={
            "csrf_token": csrf_for(app, client),
            "tagline": "New",
            "territory": "DE XX",
            "ideal_sizes": ["huge"],
            "video_url": "javascript:alert(1)",
            "accent_color": "red",
        },
    )

    assert response.status_code == 422
    assert "Not ISO country codes: XX" in response.text
    assert "other players cannot be embedded" in response.text
    assert "Use a colour like #3b5bdb." in response.text
    assert "Choose company sizes from the list." in response.text
    assert 'value="New"' in response.text  # what was typed is kept
    booth = (await db.execute(select(Booth))).scalar_one()
    assert booth.tagline == "Old"


async def test_staff_invite_a_colleague_who_accepts(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    _event, acme, staff, _ids = await _booths(db)
    await login_as(db, client, staff)

    response = await client.post(
        "/e/expo/booths/acme/manage/staff/invite", data={"csrf_token": csrf_for(app, client)}
    )
    link = re.search(r'value="http://[^"]+(/invite/[^"]+)"', response.text)
    colleague = await make_account(db)
    await login_as(db, client, colleague)
    assert link is not None
    accepted = await client.post(link.group(1), data={"csrf_token": csrf_for(app, client)})

    assert response.status_code == 201
    assert accepted.status_code == 303
    role = (await db.execute(select(Role).where(Role.account_id == colleague.id))).scalar_one()
    assert (role.role, role.exhibitor_id) == ("staff", acme.id)


async def test_staff_remove_a_colleague(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event, acme, staff, _ids = await _booths(db)
    colleague = await make_account(db)
    await grant(db, colleague, event, RoleName.staff, acme.id)
    await login_as(db, client, staff)

    response = await client.post(
        f"/e/expo/booths/acme/manage/staff/{colleague.id}/remove",
        data={"csrf_token": csrf_for(app, client)},
    )

    assert response.status_code == 303
    remaining = (await db.execute(select(Role.account_id).where(Role.role == "staff"))).all()
    assert [r[0] for r in remaining] == [staff.id]


async def test_delete_resource_removes_its_file(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    _event, acme, staff, _ids = await _booths(db)
    root = app.state.settings.uploads_dir
    (root / "files").mkdir(parents=True)
    (root / "files" / "0123456789abcdef0123456789abcdef.pdf").write_bytes(b"%PDF-1.4")
    resource = await make_resource(db, acme, file_path="files/0123456789abcdef0123456789abcdef.pdf")
    await login_as(db, client, staff)

    response = await client.post(
        f"/e/expo/booths/acme/manage/resources/{resource.id}/delete",
        data={"csrf_token": csrf_for(app, client)},
    )

    assert response.status_code == 303
    assert not (root / "files" / "0123456789abcdef0123456789abcdef.pdf").exists()
    assert (await db.execute(select(Resource).where(Resource.id == resource.id))).first() is None


async def test_analytics_counts_from_the_activity_log(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event, acme, staff, ids = await _booths(db)
    visitors = [await make_registration(db, event, first_name=f"V{n}") for n in range(3)]
    visitors[2].consent_share_at = None
    at = dt.datetime(2030, 1, 15, 9, 10, tzinfo=dt.UTC)  # 10:10 in Berlin
    booth = (await db.execute(select(Booth).where(Booth.exhibitor_id == acme.id))).scalar_one()
    for n, reg in enumerate(visitors):
        for kind, extra in (
            ("booth.visit", {"booth_id": booth.id}),
            ("booth.dwell", {"booth_id": booth.id, "value": 120.0}),
            ("resource.download", {"resource_id": ids["r"]}),
        ):
            await record(
                db,
                event=event,
                registration=reg,
                type=kind,
                at=at + dt.timedelta(minutes=n),
                idempotency_key=f"{kind}:{n}",
                **extra,
            )
    await record(
        db,
        event=event,
        registration=visitors[0],
        type="booth.visit",
        at=at + dt.timedelta(hours=1),
        booth_id=booth.id,
        idempotency_key="second-day",
    )
    await record(
        db,
        event=event,
        registration=visitors[0],
        type="info.request",
        at=at,
        exhibitor_id=acme.id,
        idempotency_key="info",
    )
    await login_as(db, client, staff)

    html = (await client.get("/e/expo/booths/acme/manage/analytics")).text

    def figure(name: str) -> str:
        found = re.search(rf'data-figure="{name}">([^<]+)<', html)
        assert found is not None, name
        return found.group(1)

    assert figure("visits") == "4"
    assert figure("unique_visitors") == "3"
    assert figure("dwell_minutes") == "6.0 min"
    assert figure("downloads") == "3"
    assert figure("hand_raises") == "1"
    assert figure("chats") == "0"
    assert "Tue 15 Jan, 10:00" in html
    assert "Tue 15 Jan, 11:00" in html
    assert "V0 Lovelace" in html
    assert "V1 Lovelace" in html
    assert "V2 Lovelace" not in html
    assert figure("anonymous").startswith("1 visitor ")
