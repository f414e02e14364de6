"""Column presets of lead exports: our full format, Salesforce and HubSpot, saved mappings."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.errors import Invalid
from app.events.models import Registration
from app.leads.export_models import ExportMapping
from app.leads.export_rows import FIELDS, Cell, ExportFilter, Row, stream_batches
from app.leads.exporters import Exporter

NOT_PROVIDED = "[not provided]"

FULL_FIELDS = FIELDS


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    value: Callable[[Row], Cell]


_AT = {name: i for i, name in enumerate(FIELDS)}


def _field(name: str) -> Callable[[Row], Cell]:
    index = _AT[name]
    return lambda row: row[index]


def _text(row: Row, name: str) -> str:
    return str(row[_AT[name]] or "")


def _filled(name: str) -> Callable[[Row], Cell]:
    """Salesforce rejects a lead without LastName or Company: never leave them empty."""
    return lambda row: _text(row, name).strip() or NOT_PROVIDED


@dataclass(frozen=True, slots=True)
class Preset:
    identifier: str
    label: str
    columns: tuple[Column, ...]
    keep: Callable[[Row], bool] = field(default=lambda row: True)
    # `keep` in SQL, for the row count before download: both must select the same rows.
    where: tuple[ColumnElement[bool], ...] = ()

    @property
    def header(self) -> list[str]:
        return [c.header for c in self.columns]

    async def rows(self, source: AsyncIterable[Row]) -> AsyncIterator[Sequence[Cell]]:
        if self.identifier == "full":  # the rows are already in this order
            async for row in source:
                yield row
            return
        getters = [c.value for c in self.columns]
        async for row in source:
            if self.keep(row):
                yield [get(row) for get in getters]

    async def batches(
        self, source: AsyncIterable[Sequence[Row]]
    ) -> AsyncIterator[Sequence[Sequence[Cell]]]:
        """`rows`, a batch at a time."""
        if self.identifier == "full":
            async for batch in source:
                yield batch
            return
        getters = [c.value for c in self.columns]
        keep = self.keep
        async for batch in source:
            yield [[get(row) for get in getters] for row in batch if keep(row)]


FULL = Preset("full", "Expohall (every column)", tuple(Column(f, _field(f)) for f in FULL_FIELDS))

RATING = {"A": "Hot", "B": "Warm"}  # C, D and F: Cold
SALESFORCE_STATUS = {
    "inquiry": "Open - Not Contacted",
    "mql": "Open - Not Contacted",
    "sal": "Working - Contacted",
    "sql": "Working - Contacted",
    "opportunity": "Working - Contacted",
    "won": "Closed - Converted",
    "lost": "Closed - Not Converted",
    "rejected": "Closed - Not Converted",
}


def _description(row: Row) -> Cell:
    parts = [f"Expohall cell {_text(row, 'cell')}, fit {_text(row, 'fit')}"]
    parts.append(f"engagement {_text(row, 'engagement')}")
    if reasons := _text(row, "top_reasons"):
        parts.append(f"reasons: {reasons}")
    return ", ".join(parts)


SALESFORCE = Preset(
    "salesforce",
    "Salesforce Lead import",
    (
        Column("FirstName", _field("first_name")),
        Column("LastName", _filled("last_name")),
        Column("Email", _field("email")),
        Column("Company", _filled("company")),
        Column("Title", _field("job_title")),
        Column("Phone", _field("phone")),
        Column("Country", _field("country")),
        Column("Industry", _field("industry")),
        Column("LeadSource", lambda row: "Trade Show"),
        Column("Rating", lambda row: RATING.get(_text(row, "grade"), "Cold")),
        Column(
            "Status",
            lambda row: SALESFORCE_STATUS.get(_text(row, "stage"), "Open - Not Contacted"),
        ),
        Column("Description", _description),
    ),
)

# HubSpot's internal values of the lifecycle stage property.
HUBSPOT_STAGE = {
    "inquiry": "lead",
    "mql": "marketingqualifiedlead",
    "sal": "marketingqualifiedlead",
    "sql": "salesqualifiedlead",
    "opportunity": "opportunity",
    "won": "customer",
    "lost": "other",
    "rejected": "other",
}

HUBSPOT = Preset(
    "hubspot",
    "HubSpot contact import",
    (
        Column("Email", _field("email")),
        Column("First Name", _field("first_name")),
        Column("Last Name", _field("last_name")),
        Column("Company Name", _field("company")),
        Column("Job Title", _field("job_title")),
        Column("Phone Number", _field("phone")),
        Column("Country/Region", _field("country")),
        Column("Lifecycle Stage", lambda row: HUBSPOT_STAGE.get(_text(row, "stage"), "lead")),
    ),
    # Email is HubSpot's key: a contact without one (an erased attendee) cannot be imported.
    keep=lambda row: bool(_text(row, "email")),
    where=(Registration.email.is_not(None), Registration.email != ""),
)

PRESETS: dict[str, Preset] = {p.identifier: p for p in (FULL, SALESFORCE, HUBSPOT)}


def mapping_preset(name: str, columns: Sequence[Mapping[str, str]]) -> Preset:
    """An organizer's saved mapping: [{"header": "Score", "field": "engagement"}, ...]."""
    return Preset(
        f"mapping:{name}",
        name,
        tuple(Column(c["header"], _field(c["field"])) for c in columns),
    )


def invalid_columns(columns: Sequence[Mapping[str, str]]) -> list[str]:
    """Problems of a mapping, in words; empty when it can be saved."""
    problems = []
    if not columns:
        problems.append("Choose at least one column.")
    for index, column in enumerate(columns, start=1):
        if column.get("field") not in FULL_FIELDS:
            problems.append(f"Column {index}: unknown field {column.get('field')!r}.")
        if not str(column.get("header", "")).strip():
            problems.append(f"Column {index}: the header is empty.")
    return problems


class InvalidExport(Invalid):
    code = "leads.invalid_export"


async def preset_named(db: AsyncSession, event_id: int, identifier: str) -> Preset:
    """A built-in preset, or "mapping:NAME" for the event's saved mapping NAME."""
    if identifier.startswith("mapping:"):
        name = identifier.removeprefix("mapping:")
        row = (
            await db.execute(
                select(ExportMapping).where(
                    ExportMapping.event_id == event_id, ExportMapping.name == name
                )
            )
        ).scalar_one_or_none()
        if row is not None:
            return mapping_preset(row.name, row.columns)
    elif identifier in PRESETS:
        return PRESETS[identifier]
    raise InvalidExport(f"Unknown preset {identifier!r}.", field="preset")


def export_stream(
    engine: AsyncEngine, f: ExportFilter, preset: Preset, exporter: Exporter
) -> AsyncIterator[bytes]:
    """The export file's bytes (HTTP and CLI alike): rows, then the preset's columns, then
    the format; timestamps come as text when the format writes them as text."""
    rows = stream_batches(engine, f, text_dates=exporter.text_dates)
    return exporter.stream_batches(preset.header, preset.batches(rows))
