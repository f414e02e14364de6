"""Lead exporters: a registry of file formats that stream rows as bytes (CSV, XLSX, JSON Lines)."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import datetime as dt
import io
import json
import os
import re
import tempfile
from abc import ABC, abstractmethod
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from pathlib import Path
from typing import ClassVar, TypeVar

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from app.leads.export_rows import Cell

_DANGEROUS_FIRST = frozenset("=+-@\t\r\x00")
# Only digits, spaces, + - ( ) . and at least 7 digits: a phone number, which a spreadsheet
# may read as a number or as arithmetic but never as a function call, a reference or DDE.
_PHONE = re.compile(r"^\+?(?:[\s().-]*\d){7}[\d\s().-]*$")


def neutralise(value: str) -> str:
    """Make a cell inert in spreadsheets: a leading =, +, -, @, tab, CR or NUL gets a quote."""
    if not value or value[0] not in _DANGEROUS_FIRST or _PHONE.match(value):
        return value
    return "'" + value


def iso(value: dt.datetime) -> str:
    """2026-06-01T12:00:00Z (every importer we target reads it)."""
    if value.tzinfo is not dt.UTC:
        value = value.astimezone(dt.UTC)
    return value.isoformat(timespec="seconds")[:-6] + "Z"


class Exporter(ABC):
    """A file format; `stream` turns a header and rows into the file's bytes, chunk by chunk."""

    identifier: ClassVar[str]
    label: ClassVar[str]
    extension: ClassVar[str]
    content_type: ClassVar[str]

    def __init__(self, *, bom: bool = False) -> None:
        self.bom = bom  # CSV: Excel on Windows reads UTF-8 only after a byte order mark

    @abstractmethod
    def stream(
        self, header: Sequence[str], rows: AsyncIterable[Sequence[Cell]]
    ) -> AsyncIterator[bytes]:
        """The file's bytes, chunk by chunk."""


EXPORTERS: dict[str, type[Exporter]] = {}
_E = TypeVar("_E", bound=type[Exporter])


def register(cls: _E) -> _E:
    EXPORTERS[cls.identifier] = cls
    return cls


async def _batches(
    rows: AsyncIterable[Sequence[Cell]], size: int = 1000
) -> AsyncIterator[list[Sequence[Cell]]]:
    batch: list[Sequence[Cell]] = []
    async for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _csv_row(row: Sequence[Cell]) -> list[Cell]:
    # Inlined (this runs for every cell of 100,000 rows); the csv module writes None as "".
    return [
        (v if not v or v[0] not in _DANGEROUS_FIRST else neutralise(v))
        if type(v) is str
        else iso(v)
        if type(v) is dt.datetime
        else v
        for v in row
    ]


@register
class CSVExporter(Exporter):
    identifier = "csv"
    label = "CSV (UTF-8)"
    extension = "csv"
    content_type = "text/csv; charset=utf-8"

    async def stream(
        self, header: Sequence[str], rows: AsyncIterable[Sequence[Cell]]
    ) -> AsyncIterator[bytes]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow([neutralise(h) for h in header])
        yield ("\ufeff" if self.bom else "").encode() + buffer.getvalue().encode()
        async for batch in _batches(rows):
            buffer.seek(0)
            buffer.truncate()
            writer.writerows(map(_csv_row, batch))
            yield buffer.getvalue().encode()


def _xlsx_cell(value: Cell) -> str | int | float | dt.datetime | None:
    if isinstance(value, str):
        # A string that does not start with "=" is never a formula to openpyxl or Excel.
        return str(ILLEGAL_CHARACTERS_RE.sub("", neutralise(value)))
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


@register
class XLSXExporter(Exporter):
    identifier = "xlsx"
    label = "Excel workbook (XLSX)"
    extension = "xlsx"
    content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

    async def stream(
        self, header: Sequence[str], rows: AsyncIterable[Sequence[Cell]]
    ) -> AsyncIterator[bytes]:
        # write_only keeps rows in a temporary file, not in memory; the zip is built at save,
        # so the bytes start only then. openpyxl is synchronous: it runs in a thread.
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("Leads")
        sheet.append([_xlsx_cell(h) for h in header])

        def append(batch: list[Sequence[Cell]]) -> None:
            for row in batch:
                sheet.append([_xlsx_cell(v) for v in row])

        async for batch in _batches(rows):
            await asyncio.to_thread(append, batch)
        with tempfile.TemporaryFile() as out:
            await asyncio.to_thread(workbook.save, out)
            out.seek(0)
            while chunk := await asyncio.to_thread(out.read, 256 * 1024):
                yield chunk


def _json_cell(value: Cell) -> str | int | float | None:
    return iso(value) if isinstance(value, dt.datetime) else value


@register
class JSONLinesExporter(Exporter):
    identifier = "jsonl"
    label = "JSON Lines"
    extension = "jsonl"
    content_type = "application/x-ndjson"

    async def stream(
        self, header: Sequence[str], rows: AsyncIterable[Sequence[Cell]]
    ) -> AsyncIterator[bytes]:
        async for batch in _batches(rows):
            lines = (
                json.dumps(
                    {h: _json_cell(v) for h, v in zip(header, row, strict=True)},
                    ensure_ascii=False,
                )
                for row in batch
            )
            yield ("\n".join(lines) + "\n").encode()


def exporter_for(identifier: str, *, bom: bool = False) -> Exporter | None:
    cls = EXPORTERS.get(identifier)
    if cls is None:
        return None
    return cls(bom=bom)


async def write_atomically(path: Path, chunks: AsyncIterable[bytes]) -> int:
    """Write to a hidden temporary file beside `path` and rename it only once complete, so an
    export that fails or is interrupted never leaves a file that looks finished."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            async for chunk in chunks:
                out.write(chunk)
                size += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise
    return size
