"""Export filters against the lead pages: cell F, event_level=false, preset-aware counts,
and saved mappings whose names clash."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.events.models import RoleName
from tests.factories import grant, login_as, make_account, make_registration
from tests.leads.test_export_api import _bearer, _rows
from tests.leads.test_exporters import T0, Expo, _lead, build_expo

URL = "/api/events/summit/leads/export"


async def _graded_f(db: AsyncSession, expo: Expo) -> set[int]:
    """Frank, graded F (a competitor): an event lead and an Acme lead, both in cell F."""
    frank = await make_registration(
        db, expo.event, email="frank@rival.example", first_name="Frank", consent_marketing_at=T0
    )
    frank.consent_share_at = T0
    event_lead = await _lead(db, expo.event, frank, None, grade="F", cell="F", stage="inquiry")
    acme_lead = await _lead(db, expo.event, frank, expo.acme, grade="F", cell="F", stage="inquiry")
    await db.commit()
    return {event_lead.id, acme_lead.id}


async def test_cell_f_exports_exactly_the_f_leads(
    db: AsyncSession, client: httpx.AsyncClient
) -> None:
    expo = await build_expo(db)
    f_leads = await _graded_f(db, expo)
    headers = await _bearer(db, expo.event, RoleName.organizer)
    rows = _rows(await client.get(f"{URL}?cell=F", headers=headers))
    assert {int(r["lead_id"]) for r in rows} == f_leads
    assert {r["cell"] for r in rows} == {"F"}
    count = await client.get(f"{URL}/count?cell=F", headers=headers)
    assert count.json() == {"count": 2}
    assert (await client.get(f"{URL}/count?cell=F9", headers=headers)).status_code == 422
    organizer = await make_account(db)
    await grant(db, organizer, expo.event, RoleName.organizer)
    await login_as(db, client, organizer)
    page = await client.get("/e/summit/export?cell=F")
    assert page.status_code == 200, page.text
    assert "<strong>2</strong> leads will be exported." in page.text
    assert '<option value="F" selected' in page.text
    # Follow-up email shares the export's filters: Frank's event lead is its audience.
    compose = await client.get("/e/summit/campaigns/new?cell=F")
    assert compose.status_code == 200, compose.text
    assert '<option value="F" selected' in compose.text


async def test_event_level_false_selects_exhibitor_leads_only(
    db: AsyncSession, client: httpx.AsyncClient
) -> None:
    expo = await build_expo(db)
    headers = await _bearer(db, expo.event, RoleName.organizer)
    exhibitor_leads = {expo.ada_acme.id, expo.grace_acme.id, expo.ada_globex.id}
    for value in ("false", "0", "no", "False"):
        rows = _rows(await client.get(f"{URL}?event_level={value}", headers=headers))
        assert {int(r["lead_id"]) for r in rows} == exhibitor_leads, value
        count = await client.get(f"{URL}/count?event_level={value}", headers=headers)
        assert count.json() == {"count": 3}, value
    for value in ("true", "1", "yes"):
        rows = _rows(await client.get(f"{URL}?event_level={value}", headers=headers))
        assert [int(r["lead_id"]) for r in rows] == [expo.ada_event.id], value
    bad = await client.get(f"{URL}?event_level=maybe", headers=headers)
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "leads.invalid_export"
    assert bad.json()["error"]["field"] == "event_level"
    count = await client.get(f"{URL}/count?event_level=maybe", headers=headers)
    assert count.status_code == 422
    organizer = await make_account(db)
    await grant(db, organizer, expo.event, RoleName.organizer)
    await login_as(db, client, organizer)
    page = await client.get("/e/summit/export?event_level=false")
    assert page.status_code == 200
    assert "<strong>3</strong> leads will be exported." in page.text
    bad_page = await client.get("/e/summit/export?event_level=maybe")
    assert bad_page.status_code == 422
    assert "Choose yes or no" in bad_page.text


async def test_lead_list_event_level_false_lists_exhibitor_leads_only(
    db: AsyncSession, client: httpx.AsyncClient
) -> None:
    expo = await build_expo(db)
    expo.ada_acme.contributions = []  # the export fixture's reasons predate activity_ids
    await db.commit()
    headers = await _bearer(db, expo.event, RoleName.organizer)
    url = "/api/events/summit/leads"

    async def ids(value: str) -> set[int]:
        response = await client.get(url, params={"event_level": value}, headers=headers)
        assert response.status_code == 200, response.text
        return {item["id"] for item in response.json()["items"]}

    exhibitor_leads = {expo.ada_acme.id, expo.grace_acme.id, expo.ada_globex.id}
    assert await ids("false") == exhibitor_leads
    assert await ids("0") == exhibitor_leads
    assert await ids("true") == {expo.ada_event.id}
    bad = await client.get(url, params={"event_level": "maybe"}, headers=headers)
    assert bad.status_code == 422
    assert bad.json()["error"]["fields"][0]["field"] == "query.event_level"


async def test_hubspot_count_leaves_out_leads_without_an_email(
    db: AsyncSession, client: httpx.AsyncClient
) -> None:
    expo = await build_expo(db)
    erased = await make_registration(db, expo.event, email=None, first_name="Erased")
    blank = await make_registration(db, expo.event, email="", first_name="Blank")
    await _lead(db, expo.event, erased, None, grade="B", cell="B2", stage="inquiry")
    await _lead(db, expo.event, blank, None, grade="B", cell="B2", stage="inquiry")
    await db.commit()
    headers = await _bearer(db, expo.event, RoleName.organizer)
    for preset, expected in (("full", 6), ("salesforce", 6), ("hubspot", 4)):
        rows = _rows(await client.get(f"{URL}?preset={preset}", headers=headers))
        assert len(rows) == expected, preset
        count = await client.get(f"{URL}/count?preset={preset}", headers=headers)
        assert count.json() == {"count": expected}, preset
    assert (await client.get(f"{URL}/count", headers=headers)).json() == {"count": 6}
    unknown = await client.get(f"{URL}/count?preset=nope", headers=headers)
    assert unknown.status_code == 422
    organizer = await make_account(db)
    await grant(db, organizer, expo.event, RoleName.organizer)
    await login_as(db, client, organizer)
    page = await client.get("/e/summit/export?preset=hubspot")
    assert "<strong>4</strong> leads will be exported." in page.text
    page = await client.get("/e/summit/export?preset=full")
    assert "<strong>6</strong> leads will be exported." in page.text


async def test_mapping_names_are_unique_per_event(
    db: AsyncSession, client: httpx.AsyncClient
) -> None:
    expo = await build_expo(db)
    headers = await _bearer(db, expo.event, RoleName.organizer)
    columns = [{"header": "E-mail", "field": "email"}]
    base = "/api/events/summit/export-mappings"
    for name in ("CRM", "Sheet"):
        saved = await client.put(
            f"{base}/{name}", json={"name": name, "columns": columns}, headers=headers
        )
        assert saved.status_code == 200, saved.text
    renamed = await client.put(
        f"{base}/Sheet", json={"name": "CRM", "columns": columns}, headers=headers
    )
    assert renamed.status_code == 409, renamed.text
    error = renamed.json()["error"]
    assert error["code"] == "leads.mapping_exists"
    assert "CRM" in error["message"]
    assert error["field"] == "name"
    created = await client.put(
        f"{base}/New", json={"name": "Sheet", "columns": columns}, headers=headers
    )
    assert created.status_code == 409, created.text
    assert created.json()["error"]["code"] == "leads.mapping_exists"
    listed = await client.get(base, headers=headers)
    assert [(m["name"], m["columns"]) for m in listed.json()] == [
        ("CRM", columns),
        ("Sheet", columns),
    ]
    # Replacing a mapping under its own name, and renaming to a free name, still work.
    new_columns = [{"header": "Mail", "field": "email"}]
    same = await client.put(
        f"{base}/CRM", json={"name": "CRM", "columns": new_columns}, headers=headers
    )
    assert same.status_code == 200, same.text
    moved = await client.put(
        f"{base}/Sheet", json={"name": "Sheet 2", "columns": columns}, headers=headers
    )
    assert moved.status_code == 200, moved.text
    listed = await client.get(base, headers=headers)
    assert [m["name"] for m in listed.json()] == ["CRM", "Sheet 2"]


def test_export_docstring_names_the_filters_it_takes() -> None:
    from app.leads.export_api import FILTER_KEYS, export_leads

    doc = " ".join((export_leads.__doc__ or "").split())
    assert "same filters as the lead list" not in doc
    for key in FILTER_KEYS:
        assert key in doc, key
