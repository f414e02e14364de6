"""The sales feedback report: exact funnel, acceptance rates, first touch and rejection reasons."""

from __future__ import annotations

import datetime as dt
import re

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Account
from app.booths.models import Exhibitor
from app.events.models import Event, RoleName
from app.leads.models import Call, LeadNote
from tests.factories import (
    grant,
    login_as,
    make_account,
    make_event,
    make_exhibitor,
    make_lead,
    make_registration,
    make_staff,
)

T0 = dt.datetime(2026, 5, 4, 9, 0, tzinfo=dt.UTC)
H = dt.timedelta(hours=1)
M = dt.timedelta(minutes=1)
Move = tuple[str, str, str | None, Account | None, dt.datetime]


async def _dataset(db: AsyncSession, event: Event, acme: Exhibitor, staff: Account) -> None:
    """Ten leads of Acme, one story each (see the expected figures in the tests)."""
    auto: Move = ("inquiry", "mql", "auto_cell", None, T0)

    async def lead(cell: str, engagement: float, stage: str, *moves: Move) -> int:
        reg = await make_registration(db, event)
        row = await make_lead(
            db,
            event,
            reg,
            acme,
            cell=cell,
            engagement=engagement,
            stage=stage,
            mql_at=T0 if moves else None,
            moves=list(moves),
        )
        return row.id

    await lead("C4", 5, "inquiry")  # L1
    await lead("D4", 0, "inquiry")  # L2
    await lead("A1", 70, "mql", auto)  # L3: waiting, untouched
    await lead("A1", 65, "sal", auto, ("mql", "sal", None, staff, T0 + 2 * H))  # L4
    l5 = await lead("B2", 45, "rejected", auto, ("mql", "rejected", "no_budget", staff, T0 + H))
    db.add(Call(lead_id=l5, author_id=staff.id, outcome="connected", at=T0 + 30 * M))
    await lead("B1", 62, "rejected", auto, ("mql", "rejected", "no_budget", staff, T0 + H))
    await lead(  # L7: accepted, rejected later at SAL
        "A2",
        50,
        "rejected",
        auto,
        ("mql", "sal", None, staff, T0 + 4 * H),
        ("sal", "rejected", "no_fit", staff, T0 + 5 * H),
    )
    l8 = await lead(
        "A1",
        85,
        "won",
        auto,
        ("mql", "sal", None, staff, T0 + 6 * H),
        ("sal", "sql", None, staff, T0 + 7 * H),
        ("sql", "opportunity", None, staff, T0 + 8 * H),
        ("opportunity", "won", None, staff, T0 + 9 * H),
    )
    db.add(LeadNote(lead_id=l8, author_id=staff.id, body="Keen", at=T0 + 10 * M))
    await lead(
        "A2",
        55,
        "lost",
        auto,
        ("mql", "sal", None, staff, T0 + 3 * H),
        ("sal", "sql", None, staff, T0 + 4 * H),
        ("sql", "opportunity", None, staff, T0 + 5 * H),
        ("opportunity", "lost", None, staff, T0 + 6 * H),
    )
    # L10: recycled straight from MQL a day later (engagement reset, so B4 now).
    await lead("B4", 0, "inquiry", auto, ("mql", "inquiry", "recycled", staff, T0 + 24 * H))
    await db.flush()


def _cells(page: str, attr: str, key: str) -> list[str]:
    row = re.search(rf'<tr {attr}="{re.escape(key)}">(.*?)</tr>', page, re.S)
    assert row is not None, key
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row[1])]


async def _setup(db: AsyncSession) -> tuple[Event, Exhibitor, Account, Account]:
    event = await make_event(db)
    acme = await make_exhibitor(db, event, slug="acme")
    staff = await make_staff(db, event, acme)
    organizer = await make_account(db)
    await grant(db, organizer, event, RoleName.organizer)
    await _dataset(db, event, acme, staff)
    return event, acme, staff, organizer


async def test_exhibitor_report_figures_are_exact(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event, _acme, staff, _ = await _setup(db)
    await db.commit()
    await login_as(db, client, staff)
    response = await client.get(f"/e/{event.slug}/exhibitor/acme/report")
    assert response.status_code == 200
    page = response.text
    funnel = {
        stage: _cells(page, "data-stage", stage)
        for stage in ("inquiry", "mql", "sal", "sql", "opportunity", "won")
    }
    assert funnel == {
        "inquiry": ["10", "–", "–"],
        "mql": ["8", "80%", "80%"],
        "sal": ["4", "50%", "40%"],
        "sql": ["2", "50%", "20%"],
        "opportunity": ["2", "100%", "20%"],
        "won": ["1", "50%", "10%"],
    }
    cell_table = page.split('id="acceptance-cell"')[1].split("</table>")[0]
    # accepted, declined, waiting, rate
    assert _cells(cell_table, "data-key", "A1") == ["2", "0", "1", "100%"]
    assert _cells(cell_table, "data-key", "A2") == ["2", "0", "0", "100%"]
    assert _cells(cell_table, "data-key", "B1") == ["0", "1", "0", "0%"]
    assert _cells(cell_table, "data-key", "B2") == ["0", "1", "0", "0%"]
    assert _cells(cell_table, "data-key", "B4") == ["0", "1", "0", "0%"]
    assert _cells(cell_table, "data-key", "all") == ["4", "3", "1", "57%"]
    assert 'data-key="C4"' not in cell_table  # never an MQL
    band_table = page.split('id="acceptance-band"')[1].split("</table>")[0]
    assert _cells(band_table, "data-key", "0–19") == ["0", "1", "0", "0%"]
    assert _cells(band_table, "data-key", "40–59") == ["2", "1", "0", "67%"]
    assert _cells(band_table, "data-key", "60–79") == ["1", "1", "1", "50%"]
    assert _cells(band_table, "data-key", "80–100") == ["1", "0", "0", "100%"]
    assert 'data-key="20–39"' not in band_table
    # First touches after MQL: 10 min, 30 min, 1 h, 2 h, 3 h, 4 h, 24 h → median 2 h.
    assert '<strong id="median-first-touch">2 h</strong> median, over 7 touched MQLs' in page
    assert "1 MQL not touched yet" in page
    assert _cells(page, "data-key", "no_budget") == ["2", "67%"]
    assert _cells(page, "data-key", "no_fit") == ["1", "33%"]
    assert page.index('data-key="no_budget"') < page.index('data-key="no_fit"')


async def test_event_report_covers_every_exhibitor_but_not_event_leads(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event, _acme, _staff, organizer = await _setup(db)
    globex = await make_exhibitor(db, event, slug="globex")
    reg = await make_registration(db, event)
    await make_lead(db, event, reg, globex, cell="A1", stage="mql", mql_at=T0)
    await make_lead(db, event, reg, None, cell="A1", stage="mql", mql_at=T0)
    await db.commit()
    await login_as(db, client, organizer)
    page = (await client.get(f"/e/{event.slug}/report")).text
    assert _cells(page, "data-stage", "inquiry") == ["11", "–", "–"]
    assert _cells(page, "data-stage", "mql") == ["9", "82%", "82%"]
    event_level = (await client.get(f"/e/{event.slug}/report?leads=event")).text
    assert _cells(event_level, "data-stage", "inquiry") == ["1", "–", "–"]
    assert _cells(event_level, "data-stage", "mql") == ["1", "100%", "100%"]


async def test_report_access(client: httpx.AsyncClient, db: AsyncSession) -> None:
    event, acme, staff, _ = await _setup(db)
    other = await make_exhibitor(db, event, slug="globex")
    other_staff = await make_staff(db, event, other)
    await db.commit()
    await login_as(db, client, other_staff)
    assert (await client.get(f"/e/{event.slug}/exhibitor/acme/report")).status_code == 403
    assert (await client.get(f"/e/{event.slug}/report")).status_code == 403
    empty = await client.get(f"/e/{event.slug}/exhibitor/globex/report")
    assert empty.status_code == 200
    assert "No leads yet" in empty.text
    await login_as(db, client, staff)
    assert acme.slug == "acme"
    assert (await client.get(f"/e/{event.slug}/report")).status_code == 403
