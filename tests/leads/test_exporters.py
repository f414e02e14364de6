"""Lead exporters read back by real parsers: csv, openpyxl and json; presets; formula safety."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
import zipfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import openpyxl
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from app.booths.models import Exhibitor
from app.events.models import Event, Registration
from app.leads.export_presets import FULL, FULL_FIELDS, HUBSPOT, PRESETS, SALESFORCE, Preset
from app.leads.export_rows import Cell, ExportFilter, reasons_text, stream_batches, stream_rows
from app.leads.exporters import EXPORTERS, CSVExporter, exporter_for, iso, neutralise
from app.leads.models import Activity, Lead, LeadTransition
from tests.factories import (
    make_account,
    make_event,
    make_exhibitor,
    make_registration,
    make_session,
)

T0 = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


@dataclass
class Expo:
    event: Event
    acme: Exhibitor
    globex: Exhibitor
    ada: Registration
    grace: Registration  # did not consent to share her details
    ada_acme: Lead
    ada_event: Lead
    grace_acme: Lead
    ada_globex: Lead


async def _lead(
    db: AsyncSession, event: Event, reg: Registration, exhibitor: Exhibitor | None, **values: Any
) -> Lead:
    lead = Lead(
        event_id=event.id,
        registration_id=reg.id,
        exhibitor_id=exhibitor.id if exhibitor else None,
        scope=exhibitor.id if exhibitor else 0,
        **values,
    )
    db.add(lead)
    await db.flush()
    return lead


async def build_expo(db: AsyncSession) -> Expo:
    """Ada (consenting) is a lead of Acme, Globex and the event; Grace (no consent) of Acme."""
    event = await make_event(db, slug="summit", timezone="UTC")
    acme = await make_exhibitor(db, event, name="Acme", slug="acme")
    globex = await make_exhibitor(db, event, name="Globex", slug="globex")
    owner = await make_account(db, email="owner@acme.example")
    ada = await make_registration(
        db, event, email="ada@example.com", phone="+44 20 7946 0958", consent_marketing_at=T0
    )
    ada.consent_share_at = T0
    grace = await make_registration(
        db, event, email="grace@example.com", first_name="Grace", last_name="Hopper",
        consent_share_at=None,
    )  # fmt: skip
    reasons = [
        {"rule": "visit", "points": 2.0, "label": "visited the booth", "dimension": "engagement"},
        {"rule": "info", "points": 15.0, "label": "requested info", "dimension": "engagement"},
        {"rule": "dl", "points": 5.0, "label": "downloaded 'Pricing'", "dimension": "engagement"},
        {"rule": "x", "points": 0.0, "label": "nothing", "dimension": "engagement"},
        {"rule": "level", "points": 25.0, "label": "is a director", "dimension": "fit"},
    ]
    ada_acme = await _lead(
        db, event, ada, acme, fit=80.0, grade="A", engagement=45.46, tier=2, cell="A2",
        buying_stage="evaluation", stage="mql", owner_id=owner.id, mql_at=T0,
        last_activity_at=T0 + dt.timedelta(hours=1), rules_version=3, contributions=reasons,
    )  # fmt: skip
    ada_event = await _lead(db, event, ada, None, fit=80.0, grade="A", engagement=60.0, tier=1,
                            cell="A1", stage="inquiry")  # fmt: skip
    grace_acme = await _lead(db, event, grace, acme, grade="C", cell="C4", stage="inquiry")
    ada_globex = await _lead(db, event, ada, globex, grade="B", cell="B3", stage="sql")
    db.add(LeadTransition(lead_id=ada_acme.id, from_stage="inquiry", to_stage="mql", at=T0))
    talk, keynote = await make_session(db, event), await make_session(db, event)
    n = 0

    def act(type_: str, exhibitor: Exhibitor | None, **values: Any) -> None:
        nonlocal n
        n += 1
        db.add(Activity(event_id=event.id, registration_id=ada.id, type=type_, at=T0,
                        exhibitor_id=exhibitor.id if exhibitor else None,
                        idempotency_key=f"k{n}", **values))  # fmt: skip

    for _ in range(2):
        act("booth.visit", acme)
    act("booth.dwell", acme, value=180.0)
    act("booth.dwell", acme, value=120.0)
    act("resource.download", acme)
    act("session.join", acme, session_id=talk.id)
    act("session.join", acme, session_id=talk.id)
    act("session.join", acme, session_id=keynote.id)
    act("session.watch", acme, value=600.0, session_id=talk.id)
    act("question.ask", acme)
    act("poll.answer", acme)
    act("poll.answer", acme)
    act("chat.message", acme)
    act("info.request", acme)
    act("meeting.request", acme)
    act("booth.visit", globex)  # counts for Globex and the event lead, never for Acme
    act("email.click", None)
    await db.commit()
    return Expo(event, acme, globex, ada, grace, ada_acme, ada_event, grace_acme, ada_globex)


def full_row_of_ada_at_acme(expo: Expo) -> dict[str, str]:
    """Ada's Acme lead as the CSV holds it."""
    return {
        "lead_id": str(expo.ada_acme.id),
        "exhibitor": "Acme",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@example.com",
        "company": "Analytical Engines Ltd",
        "job_title": "Head of Engineering",
        "phone": "+44 20 7946 0958",
        "job_level": "director",
        "company_type": "end_user",
        "company_size": "201-1000",
        "industry": "software",
        "country": "GB",
        "budget": "approved",
        "timeframe": "3_6m",
        "consent_share_at": "2026-06-01T12:00:00Z",
        "consent_marketing_at": "2026-06-01T12:00:00Z",
        "fit": "80.0",
        "grade": "A",
        "engagement": "45.5",
        "tier": "2",
        "cell": "A2",
        "buying_stage": "evaluation",
        "stage": "mql",
        "mql_at": "2026-06-01T12:00:00Z",
        "last_transition_at": "2026-06-01T12:00:00Z",
        "owner": "owner@acme.example",
        "top_reasons": "is a director (+25); requested info (+15); downloaded 'Pricing' (+5)",
        "visits": "2",
        "dwell_minutes": "5.0",
        "downloads": "1",
        "sessions": "2",
        "watch_minutes": "10.0",
        "questions": "1",
        "polls": "2",
        "chats": "1",
        "hand_raises": "2",
        "last_activity_at": "2026-06-01T13:00:00Z",
        "rules_version": "3",
    }


async def export_bytes(
    app: FastAPI, f: ExportFilter, fmt: str, preset: Preset = FULL, *, chunk: int = 1000
) -> bytes:
    exporter = exporter_for(fmt)
    assert exporter is not None
    rows = stream_rows(app.state.engine, f, chunk=chunk)
    return b"".join([c async for c in exporter.stream(preset.header, preset.rows(rows))])


def read_csv(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def read_xlsx(data: bytes) -> list[list[Any]]:
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    return [list(r) for r in sheet.iter_rows(values_only=True)]


def test_registry_declares_each_format() -> None:
    assert {k: (c.extension, c.content_type) for k, c in EXPORTERS.items()} == {
        "csv": ("csv", "text/csv; charset=utf-8"),
        "xlsx": ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        "jsonl": ("jsonl", "application/x-ndjson"),
    }
    assert set(PRESETS) == {"full", "salesforce", "hubspot"}


async def test_csv_full_row_has_profile_scores_reasons_and_activity_counts(
    app: FastAPI, db: AsyncSession
) -> None:
    expo = await build_expo(db)
    f = ExportFilter(event_id=expo.event.id, exhibitor_ids=frozenset({expo.acme.id}))
    rows = read_csv(await export_bytes(app, f, "csv"))
    assert list(rows[0]) == list(FULL_FIELDS)
    assert rows[0] == full_row_of_ada_at_acme(expo)
    assert [r["first_name"] for r in rows] == ["Ada", "Grace"]
    assert rows[1]["consent_share_at"] == ""


async def test_event_lead_counts_every_exhibitors_activities(
    app: FastAPI, db: AsyncSession
) -> None:
    expo = await build_expo(db)
    rows = read_csv(await export_bytes(app, ExportFilter(expo.event.id, event_level=True), "csv"))
    assert [(r["lead_id"], r["exhibitor"], r["visits"], r["hand_raises"]) for r in rows] == [
        (str(expo.ada_event.id), "", "3", "2")
    ]


async def test_xlsx_read_back_by_openpyxl_matches_csv(app: FastAPI, db: AsyncSession) -> None:
    expo = await build_expo(db)
    f = ExportFilter(event_id=expo.event.id, exhibitor_ids=frozenset({expo.acme.id}))
    header, ada, grace = read_xlsx(await export_bytes(app, f, "xlsx"))
    assert header == list(FULL_FIELDS)
    got = dict(zip(header, ada, strict=True))
    assert got["phone"] == "+44 20 7946 0958"
    assert got["fit"] == 80.0
    assert got["visits"] == 2
    assert got["mql_at"] == dt.datetime(2026, 6, 1, 12, 0)
    assert got["top_reasons"] == full_row_of_ada_at_acme(expo)["top_reasons"]
    assert grace[2:4] == ["Grace", "Hopper"]
    assert grace[header.index("consent_share_at")] is None


async def test_jsonl_lines_are_objects_with_typed_values(app: FastAPI, db: AsyncSession) -> None:
    expo = await build_expo(db)
    f = ExportFilter(event_id=expo.event.id, exhibitor_ids=frozenset({expo.acme.id}))
    lines = (await export_bytes(app, f, "jsonl")).decode().splitlines()
    first = json.loads(lines[0])
    expected: dict[str, Any] = dict(full_row_of_ada_at_acme(expo))
    for key in ("lead_id", "tier", "visits", "downloads", "sessions", "questions", "polls",
                "chats", "hand_raises", "rules_version"):  # fmt: skip
        expected[key] = int(expected[key])
    for key in ("fit", "engagement", "dwell_minutes", "watch_minutes"):
        expected[key] = float(expected[key])
    assert first == expected
    assert len(lines) == 2


async def test_rows_stream_in_chunks_in_id_order(app: FastAPI, db: AsyncSession) -> None:
    expo = await build_expo(db)
    ids = [
        int(r["lead_id"])
        for r in read_csv(await export_bytes(app, ExportFilter(expo.event.id), "csv", chunk=1))
    ]
    assert ids == sorted(
        [expo.ada_acme.id, expo.ada_event.id, expo.grace_acme.id, expo.ada_globex.id]
    )


async def test_salesforce_preset_fills_last_name_and_company_and_rates_by_grade(
    app: FastAPI, db: AsyncSession
) -> None:
    expo = await build_expo(db)
    expo.grace.last_name = None
    expo.grace.company = "  "
    await db.commit()
    rows = read_csv(await export_bytes(app, ExportFilter(expo.event.id), "csv", SALESFORCE))
    assert list(rows[0])[:11] == [
        "FirstName", "LastName", "Email", "Company", "Title", "Phone", "Country", "Industry",
        "LeadSource", "Rating", "Status",
    ]  # fmt: skip
    picked = [(r["LastName"], r["Company"], r["Rating"], r["Status"]) for r in rows]
    assert picked == [
        ("Lovelace", "Analytical Engines Ltd", "Hot", "Open - Not Contacted"),
        ("Lovelace", "Analytical Engines Ltd", "Hot", "Open - Not Contacted"),
        ("[not provided]", "[not provided]", "Cold", "Open - Not Contacted"),
        ("Lovelace", "Analytical Engines Ltd", "Warm", "Working - Contacted"),
    ]
    assert {r["LeadSource"] for r in rows} == {"Trade Show"}


async def test_hubspot_preset_keys_on_email_with_lifecycle_values_hubspot_accepts(
    app: FastAPI, db: AsyncSession
) -> None:
    expo = await build_expo(db)
    expo.grace.email = None
    await db.commit()
    rows = read_csv(await export_bytes(app, ExportFilter(expo.event.id), "csv", HUBSPOT))
    assert [(r["Email"], r["Lifecycle Stage"]) for r in rows] == [
        ("ada@example.com", "marketingqualifiedlead"),
        ("ada@example.com", "lead"),
        ("ada@example.com", "salesqualifiedlead"),
    ]
    assert next(iter(rows[0])) == "Email"


async def test_csv_bom_only_when_asked() -> None:
    async def one() -> AsyncIterator[Sequence[Cell]]:
        yield ["é"]

    plain = b"".join([c async for c in CSVExporter().stream(["h"], one())])
    excel = b"".join([c async for c in CSVExporter(bom=True).stream(["h"], one())])
    assert plain == "h\r\né\r\n".encode()
    assert excel == b"\xef\xbb\xbf" + plain


DANGEROUS = [
    ("=1+2", "'=1+2"),
    ("+SUM(A1:A2)", "'+SUM(A1:A2)"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=cmd", "'\t=cmd"),
    ("\r=cmd", "'\r=cmd"),
    ("\x00=cmd", "'\x00=cmd"),
    ('=HYPERLINK("http://evil.example","x")', '\'=HYPERLINK("http://evil.example","x")'),
    ("+44 20 7946 0958", "+44 20 7946 0958"),
    ("+1 (555) 010-9999", "+1 (555) 010-9999"),
    ("Ada = Lovelace", "Ada = Lovelace"),
]


@pytest.mark.parametrize(("value", "expected"), DANGEROUS)
def test_neutralise_table(value: str, expected: str) -> None:
    assert neutralise(value) == expected


async def _one_cell(fmt: str, value: str) -> bytes:
    async def rows() -> AsyncIterator[Sequence[Cell]]:
        yield [value, 7]

    exporter = exporter_for(fmt)
    assert exporter is not None
    return b"".join([c async for c in exporter.stream(["name", "n"], rows())])


@pytest.mark.parametrize(("value", "expected"), DANGEROUS)
async def test_export_csv_neutralises_formulas(value: str, expected: str) -> None:
    rows = list(csv.reader(io.StringIO((await _one_cell("csv", value)).decode(), newline="")))
    assert rows == [["name", "n"], [expected, "7"]]


@pytest.mark.parametrize(("value", "expected"), DANGEROUS)
async def test_export_xlsx_neutralises_formulas(value: str, expected: str) -> None:
    sheet = openpyxl.load_workbook(io.BytesIO(await _one_cell("xlsx", value))).active
    assert sheet is not None
    cell = sheet["A2"]
    # NUL cannot be stored in a workbook at all (it is dropped, the quote stays), and XML
    # reads a carriage return as a line feed.
    assert cell.value == expected.replace("\x00", "").replace("\r", "\n")
    assert cell.data_type == "s"
    assert sheet["B2"].value == 7


async def test_timestamps_formatted_by_the_database_match_iso(
    app: FastAPI, db: AsyncSession
) -> None:
    expo = await build_expo(db)
    expo.ada.consent_share_at = dt.datetime(2026, 6, 1, 23, 59, 59, 999999, tzinfo=dt.UTC)
    expo.ada_acme.last_activity_at = dt.datetime(1999, 12, 31, 0, 0, 1, 5, tzinfo=dt.UTC)
    await db.commit()
    f = ExportFilter(expo.event.id)
    as_datetimes = [r async for r in stream_rows(app.state.engine, f)]
    as_text = [r async for r in stream_rows(app.state.engine, f, text_dates=True)]
    assert as_text == [
        tuple(iso(v) if isinstance(v, dt.datetime) else v for v in row) for row in as_datetimes
    ]
    assert as_text[0][FULL_FIELDS.index("consent_share_at")] == "2026-06-01T23:59:59Z"
    assert as_text[0][FULL_FIELDS.index("last_activity_at")] == "1999-12-31T00:00:01Z"


async def test_export_stopped_early_returns_its_connection(app: FastAPI, db: AsyncSession) -> None:
    expo = await build_expo(db)
    batches = stream_batches(app.state.engine, ExportFilter(expo.event.id), chunk=1)
    first = await anext(batches)  # the second chunk is being read meanwhile
    await batches.aclose()
    assert [row[0] for row in first] == [expo.ada_acme.id]
    assert app.state.engine.pool.checkedout() == 0


def test_reasons_keep_their_order_when_equally_strong() -> None:
    contributions = [
        {"label": "a", "points": 5.0},
        {"label": "b", "points": -5.0},
        {"label": "zero", "points": 0.0},
        {"label": "c", "points": 5},
        {"label": "d", "points": 12.5},
    ]
    assert reasons_text(contributions) == "d (+12.5); a (+5); b (-5)"


async def _rows_of(*rows: Sequence[Cell]) -> AsyncIterator[Sequence[Cell]]:
    for row in rows:
        yield row


async def test_csv_is_what_the_csv_module_writes_of_the_neutralised_cells() -> None:
    rng = random.Random(7)
    pieces = ["", "a", ",", '"', "\r", "\n", " ", "=", "+", "-", "@", "\t", "\x00", "\x1f", "é"]

    def text() -> str:
        return "".join(rng.choice(pieces) for _ in range(rng.randint(0, 4)))

    floats = [None, 1.5, -0.0, 0.1 + 0.2, 1e22, float("inf")]
    rows: list[list[Cell]] = [
        [
            text(),
            text() or None,
            rng.randint(-5, 5),
            rng.choice(floats),
            rng.choice([1, 2.5, None]),
            "+44 20 7946 0958" if n % 2 else "=1+2",
            # Datetimes in the last batch only: the other batches hold only texts and numbers.
            T0 + dt.timedelta(seconds=n) if n >= 2000 and n % 3 else None,
        ]
        for n in range(3000)
    ]
    header = ["text", "maybe", "int", "float", "number", "phone", "at"]
    got = b"".join([c async for c in CSVExporter().stream(header, _rows_of(*rows))])
    expected = io.StringIO()
    writer = csv.writer(expected, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(
            [
                neutralise(v) if isinstance(v, str) else iso(v) if isinstance(v, dt.datetime) else v
                for v in row
            ]
        )
    assert got.decode() == expected.getvalue()


async def test_xlsx_user_text_stays_text() -> None:
    texts = ["00123", "1e5", "TRUE", "2026-06-01", "  padded  ", "a < b & c > d", "x\x07y"]
    exporter = exporter_for("xlsx")
    assert exporter is not None
    data = b"".join([c async for c in exporter.stream(texts, _rows_of(texts, ["", None, 3.5]))])
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    header, row, other = [list(r) for r in sheet.iter_rows()]
    assert [c.value for c in row] == [*texts[:-1], "xy"]  # a control character is dropped
    assert {c.data_type for c in header + row} == {"s"}
    assert [c.value for c in other[:3]] == [None, None, 3.5]


async def test_xlsx_streams_before_the_last_row_and_breaks_if_interrupted() -> None:
    done = False

    async def rows() -> AsyncIterator[Sequence[Cell]]:
        nonlocal done
        for n in range(2500):
            yield [n, f"lead {n}"]
        done = True
        raise ConnectionError("database went away")

    exporter = exporter_for("xlsx")
    assert exporter is not None
    chunks: list[bytes] = []

    async def download() -> None:
        async for chunk in exporter.stream(["n", "name"], rows()):
            assert not done
            chunks.append(chunk)

    with pytest.raises(ConnectionError):
        await download()
    assert len(chunks) == 3  # the header, then each batch of 1,000 rows as it comes
    with pytest.raises(zipfile.BadZipFile):  # never a workbook that looks complete
        zipfile.ZipFile(io.BytesIO(b"".join(chunks)))
