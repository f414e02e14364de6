"""Organizers: create booths, set tiers, assign staff, import exhibitors from CSV."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.booths import csv_import
from app.booths.models import Booth, Exhibitor
from app.events.models import Role, RoleName
from tests.factories import csrf_for, grant, login_as, make_account, make_event, make_exhibitor

GOOD_AND_BAD = (
    "name,slug,website,tier,tags,tagline,territory,ideal_sizes\n"
    "Acme Robotics,acme,https://acme.example,gold,Robotics;Vision,Robots for every line,DE;AT,"
    "201-1000;1001-5000\n"
    ",nameless,,silver,,,,\n"
    "Bad Tier,bad-tier,,diamond,,,,\n"
    "Bad Land,bad-land,ftp://x,bronze,,,DE;ZZ,huge\n"
    "Clash,acme,,,,,,\n"
    '"Zürich Vision AG",,,platinum,"Edge AI, Vision",,CH,\n'
)


async def _organizer(client: httpx.AsyncClient, db: AsyncSession) -> None:
    event = await make_event(db, slug="expo")
    organizer = await make_account(db)
    await grant(db, organizer, event, RoleName.organizer)
    await login_as(db, client, organizer)


async def _import(
    app: FastAPI, client: httpx.AsyncClient, content: bytes, name: str = "exhibitors.csv"
) -> httpx.Response:
    return await client.post(
        "/e/expo/manage/booths/import",
        data={"csrf_token": csrf_for(app, client)},
        files={"file": (name, content, "text/csv")},
    )


def _rows(html: str) -> list[tuple[str, str, str]]:
    found = re.findall(
        r'<tr class="import-error"><td>(\d+)</td><td>([^<]+)</td><td>([^<]+)</td></tr>', html
    )
    return [(r, f, m) for r, f, m in found]


def test_parse_reports_each_bad_row_with_its_number_and_field() -> None:
    parsed = csv_import.parse(GOOD_AND_BAD.encode(), taken=set())

    assert [r.slug for r in parsed.rows] == ["acme", "zurich-vision-ag"]
    acme, zurich = parsed.rows
    assert (acme.tier, acme.tags, acme.territory) == ("gold", ["Robotics", "Vision"], ["AT", "DE"])
    assert acme.ideal_sizes == ["201-1000", "1001-5000"]
    assert zurich.tags == ["Edge AI", "Vision"]
    assert zurich.tier == "platinum"
    assert [(e.row, e.field) for e in parsed.errors] == [
        (3, "name"),
        (4, "tier"),
        (5, "website"),
        (5, "territory"),
        (5, "ideal_sizes"),
        (6, "slug"),
    ]


async def test_import_creates_valid_rows_and_lists_invalid_ones(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await _organizer(client, db)

    response = await _import(app, client, GOOD_AND_BAD.encode())

    assert response.status_code == 200
    assert "Imported 2 exhibitors." in response.text
    assert "4 rows could not be imported" in response.text
    rows = _rows(response.text)
    assert ("4", "tier", "“diamond” is not a tier; use platinum, gold, silver or bronze.") in rows
    assert ("6", "slug", "“acme” is already used by another exhibitor.") in rows
    assert ("5", "territory", "Not ISO country codes: ZZ.") in rows
    exhibitors = (
        await db.execute(select(Exhibitor.slug, Booth.tier).join(Booth).order_by(Exhibitor.slug))
    ).all()
    assert [tuple(r) for r in exhibitors] == [("acme", "gold"), ("zurich-vision-ag", "platinum")]


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
async def test_import_reads_utf8_with_or_without_bom(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession, bom: bytes
) -> None:
    await _organizer(client, db)

    response = await _import(app, client, bom + "name;tier\nMünchen Motion;silver\n".encode())

    assert response.status_code == 200
    assert "Imported 1 exhibitor." in response.text
    exhibitor = (await db.execute(select(Exhibitor))).scalar_one()
    assert (exhibitor.name, exhibitor.slug) == ("München Motion", "munchen-motion")


async def test_import_skips_slugs_already_in_the_event(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await _organizer(client, db)
    event_id = (await db.execute(select(Role.event_id))).scalars().first()
    from app.events.models import Event

    event = await db.get(Event, event_id)
    assert event is not None
    await make_exhibitor(db, event, slug="acme")
    await db.commit()

    response = await _import(app, client, b"name,slug\nAcme,acme\n")

    assert response.status_code == 422
    assert _rows(response.text) == [("2", "slug", "“acme” is already used by another exhibitor.")]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 40, "not a CSV file"),
        (b"\xff\xfe\x00n\x00a\x00m\x00e", "not a CSV file"),
        ("name\nCaf\xe9\n".encode("latin-1"), "not UTF-8 text"),
        (b"", "The file is empty."),
        (b"company_name,tier\nAcme,gold\n", "must name the columns"),
        (b'name\n"unterminated\n', "not valid CSV"),
    ],
)
async def test_import_of_a_file_that_is_not_our_csv_is_a_clear_error(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession, content: bytes, message: str
) -> None:
    await _organizer(client, db)

    response = await _import(app, client, content, name="exhibitors.xlsx")

    assert response.status_code == 422
    assert message in response.text
    assert (await db.execute(select(Exhibitor))).first() is None


async def test_import_is_for_organizers_only(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event = await make_event(db, slug="expo")
    exhibitor = await make_exhibitor(db, event, slug="acme")
    staff = await make_account(db)
    await grant(db, staff, event, RoleName.staff, exhibitor.id)
    await login_as(db, client, staff)

    page = await client.get("/e/expo/manage/booths/import")
    posted = await _import(app, client, b"name\nSneaky\n")
    booths = await client.get("/e/expo/manage/booths")

    assert page.status_code == posted.status_code == booths.status_code == 403
    assert (await db.execute(select(Exhibitor.slug))).scalars().all() == ["acme"]


async def test_organizer_creates_a_booth_sets_its_tier_and_assigns_staff(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await _organizer(client, db)
    colleague = await make_account(db, email="sam@acme.example", display_name="Sam Staff")
    await db.commit()
    token = csrf_for(app, client)

    created = await client.post(
        "/e/expo/manage/booths",
        data={"csrf_token": token, "name": "Acme Robotics", "tier": "silver"},
    )
    duplicate = await client.post(
        "/e/expo/manage/booths",
        data={"csrf_token": token, "name": "Acme Robotics", "tier": "silver"},
    )
    tier = await client.post(
        "/e/expo/manage/booths/acme-robotics/tier", data={"csrf_token": token, "tier": "platinum"}
    )
    assigned = await client.post(
        "/e/expo/manage/booths/staff",
        data={"csrf_token": token, "exhibitor": "acme-robotics", "email": "SAM@acme.example"},
    )
    unknown = await client.post(
        "/e/expo/manage/booths/staff",
        data={"csrf_token": token, "exhibitor": "acme-robotics", "email": "nobody@x.example"},
    )
    listing = await client.get("/e/expo/manage/booths")

    assert created.status_code == tier.status_code == assigned.status_code == 303
    assert duplicate.status_code == 422
    assert "Another exhibitor of this event uses this address." in duplicate.text
    assert unknown.status_code == 422
    assert "No account has this email." in unknown.text
    booth = (await db.execute(select(Booth))).scalar_one()
    assert booth.tier == "platinum"
    role = (await db.execute(select(Role).where(Role.account_id == colleague.id))).scalar_one()
    assert role.exhibitor_id == booth.exhibitor_id
    assert "Acme Robotics" in listing.text
    assert "Sam Staff" in listing.text
