"""GET /api/events/{slug}/leads/export: streamed files, access rules, counts and saved mappings."""

from __future__ import annotations

import csv
import io

import httpx
import openpyxl
from sqlalchemy.ext.asyncio import AsyncSession

from app.booths.models import BoothConsent
from app.events.models import Event, RoleName
from tests.factories import grant, login_as, make_account, make_api_token
from tests.leads.test_exporters import T0, build_expo, full_row_of_ada_at_acme


async def _bearer(
    db: AsyncSession, event: Event, role: RoleName, exhibitor_id: int | None = None
) -> dict[str, str]:
    account = await make_account(db)
    await grant(db, account, event, role, exhibitor_id)
    token = await make_api_token(db, account)
    await db.commit()
    return {"Authorization": f"Bearer {token}"}


def _rows(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    return list(csv.DictReader(io.StringIO(response.content.decode())))


async def test_organizer_exports_every_lead_as_an_attachment(
    db: AsyncSession, client: httpx.AsyncClient
) -> None:
    expo = await build_expo(db)
    headers = await _bearer(db, expo.event, RoleName.organizer)
    response = await client.get("/api/events/summit/leads/export?format=csv", headers=headers)
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="summit-leads-full-')
    assert disposition.endswith('.csv"')
    rows = _rows(response)
    assert [(r["exhibitor"], r["first_name"]) for r in rows] == [
        ("Acme", "Ada"),
        ("", "Ada"),
        ("Acme", "Grace"),
        ("Globex", "Ada"),
    ]
    assert rows[0] == full_row_of_ada_at_acme(expo)


async def test_staff_export_holds_only_their_exhibitors_consenting_leads(
    db: AsyncSession, client: httpx.AsyncClient
) -> None:
    expo = await build_expo(db)
    headers = await _bearer(db, expo.event, RoleName.staff, expo.acme.id)
    rows = _rows(await client.get("/api/events/summit/leads/export", headers=headers))
    assert [r["lead_id"] for r in rows] == [str(expo.ada_acme.id)]
    assert {r["exhibitor"] for r in rows} == {"Acme"}
    assert "grace@example.com" not in {r["email"] for r in rows}
    count = await client.get("/api/events/summit/leads/export/count", headers=headers)
    assert count.json() == {"count": 1}


async def test_staff_export_leaves_out_an_attendee_who_declined_at_that_booth(
    db: AsyncSession, client: httpx.AsyncClient
) -> None:
    expo = await build_expo(db)
    db.add(BoothConsent(registration_id=expo.ada.id, exhibitor_id=expo.globex.id, shared=False))
    headers = await _bearer(db, expo.event, RoleName.staff, expo.globex.id)
    for fmt in ("csv", "jsonl"):
        response = await client.get(
            f"/api/events/summit/leads/export?format={fmt}", headers=headers
        )
        assert response.status_code == 200
        assert response.content.decode().splitlines()[1:] == []


async def test_staff_cannot_export_another_exhibitor(
    db: AsyncSession, client: httpx.AsyncClient
) -> None:
    expo = await build_expo(db)
    headers = await _bearer(db, expo.event, RoleName.staff, expo.acme.id)
    response = await client.get("/api/events/summit/leads/export?exhibitor=globex", headers=headers)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "leads.forbidden"
    attendee = await _bearer(db, expo.event, RoleName.attendee)
    assert (
        await client.get("/api/events/summit/leads/export", headers=attendee)
    ).status_code == 403


async def test_filters_and_bad_values(db: AsyncSession, client: httpx.AsyncClient) -> None:
    expo = await build_expo(db)
    headers = await _bearer(db, expo.event, RoleName.organizer)
    url = "/api/events/summit/leads/export"
    cases = {
        "grade=A": 2,
        "grade=A&tier=2": 1,
        "exhibitor=acme": 2,
        "exhibitor=acme&stage=mql": 1,
        "event_level=1": 1,
        "cell=B3": 1,
        "buying_stage=evaluation": 1,
        "min_score=45&max_score=46": 1,
        "active_from=2026-06-01&active_to=2026-06-01": 1,
        "active_from=2026-06-02": 0,
    }
    for query, expected in cases.items():
        count = await client.get(f"{url}/count?{query}", headers=headers)
        assert count.json() == {"count": expected}, query
        assert len(_rows(await client.get(f"{url}?{query}", headers=headers))) == expected
    bad = await client.get(f"{url}?grade=Z", headers=headers)
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "leads.invalid_export"
    assert (await client.get(f"{url}?format=pdf", headers=headers)).status_code == 422
    assert (await client.get(f"{url}?preset=nope", headers=headers)).status_code == 422
    assert (await client.get(f"{url}?exhibitor=nobody", headers=headers)).status_code == 404


async def test_browser_session_cookie_downloads_xlsx(
    db: AsyncSession, client: httpx.AsyncClient
) -> None:
    expo = await build_expo(db)
    account = await make_account(db)
    await grant(db, account, expo.event, RoleName.staff, expo.acme.id)
    await login_as(db, client, account)
    response = await client.get("/api/events/summit/leads/export?format=xlsx&preset=salesforce")
    assert response.status_code == 200
    assert response.content[:2] == b"PK"
    assert response.headers["content-disposition"].endswith('.xlsx"')
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    rows = [r[:4] for r in sheet.iter_rows(values_only=True)]
    assert rows == [
        ("FirstName", "LastName", "Email", "Company"),
        ("Ada", "Lovelace", "ada@example.com", "Analytical Engines Ltd"),
    ]


async def test_saved_mapping_exports_its_columns(
    db: AsyncSession, client: httpx.AsyncClient
) -> None:
    expo = await build_expo(db)
    headers = await _bearer(db, expo.event, RoleName.organizer)
    body = {
        "name": "Our CRM",
        "columns": [
            {"header": "E-mail", "field": "email"},
            {"header": "Score", "field": "engagement"},
            {"header": "MQL since", "field": "mql_at"},
        ],
    }
    saved = await client.put(
        "/api/events/summit/export-mappings/Our CRM", json=body, headers=headers
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["preset"] == "mapping:Our CRM"
    rows = _rows(
        await client.get(
            "/api/events/summit/leads/export?preset=mapping:Our CRM&exhibitor=acme&stage=mql",
            headers=headers,
        )
    )
    assert rows == [{"E-mail": "ada@example.com", "Score": "45.5", "MQL since": T0.strftime(
        "%Y-%m-%dT%H:%M:%SZ")}]  # fmt: skip
    listed = await client.get("/api/events/summit/export-mappings", headers=headers)
    assert [m["name"] for m in listed.json()] == ["Our CRM"]
    body["columns"] = [{"header": "x", "field": "password"}]
    refused = await client.put(
        "/api/events/summit/export-mappings/Our CRM", json=body, headers=headers
    )
    assert refused.status_code == 422
    staff = await _bearer(db, expo.event, RoleName.staff, expo.acme.id)
    assert (
        await client.put("/api/events/summit/export-mappings/x", json=body, headers=staff)
    ).status_code == 403


async def test_export_page_counts_rows_before_download(
    db: AsyncSession, client: httpx.AsyncClient
) -> None:
    expo = await build_expo(db)
    organizer = await make_account(db)
    await grant(db, organizer, expo.event, RoleName.organizer)
    await login_as(db, client, organizer)
    page = await client.get("/e/summit/export")
    assert page.status_code == 200
    assert "<strong>4</strong> leads will be exported." in page.text
    assert 'href="/api/events/summit/leads/export?format=xlsx&amp;preset=full"' in page.text
    page = await client.get("/e/summit/export?exhibitor=acme&grade=A&preset=salesforce")
    assert "<strong>1</strong> lead will be exported." in page.text
    assert (
        'href="/api/events/summit/leads/export?exhibitor=acme&amp;grade=A&amp;format=csv'
        '&amp;preset=salesforce&amp;bom=1"' in page.text
    )
    bad = await client.get("/e/summit/export?grade=Z")
    assert bad.status_code == 422
    assert "Choose a grade" in bad.text
    assert "/leads/export?" not in bad.text


async def test_staff_export_page_is_their_exhibitors(
    db: AsyncSession, client: httpx.AsyncClient
) -> None:
    expo = await build_expo(db)
    staff = await make_account(db)
    await grant(db, staff, expo.event, RoleName.staff, expo.acme.id)
    await login_as(db, client, staff)
    moved = await client.get("/e/summit/export")
    assert moved.status_code == 303
    assert moved.headers["location"] == "/e/summit/exhibitor/acme/export"
    page = await client.get("/e/summit/exhibitor/acme/export")
    assert "<strong>1</strong> lead will be exported." in page.text
    assert 'name="exhibitor"' not in page.text
    assert (await client.get("/e/summit/exhibitor/globex/export")).status_code == 403
