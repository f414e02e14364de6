"""Lead exporters: a registry of file formats that stream rows as bytes (CSV, XLSX, JSON Lines)."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import datetime as dt
import io
import os
import re
import tempfile
from abc import ABC, abstractmethod
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from pathlib import Path
from typing import ClassVar, TypeVar

import orjson

from app.leads import export_xlsx
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
    text_dates: ClassVar[bool] = False
    """Whether rows may hold timestamps already as `iso` text (the database formats them)."""

    def __init__(self, *, bom: bool = False) -> None:
        self.bom = bom  # CSV: Excel on Windows reads UTF-8 only after a byte order mark

    def stream(
        self, header: Sequence[str], rows: AsyncIterable[Sequence[Cell]]
    ) -> AsyncIterator[bytes]:
        """The file's bytes, chunk by chunk."""
        return self.stream_batches(header, _batches(rows))

    @abstractmethod
    def stream_batches(
        self, header: Sequence[str], batches: AsyncIterable[Sequence[Sequence[Cell]]]
    ) -> AsyncIterator[bytes]:
        """The file's bytes, a chunk per batch of rows."""


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


def _safe_row(row: Sequence[Cell]) -> Sequence[Cell]:
    """`row` with every string neutralised and datetimes as `iso` text; the row itself when
    nothing changes (the common case: this runs for every row of 100,000)."""
    for v in row:
        t = type(v)
        if t is str:
            if v and v[0] in _DANGEROUS_FIRST and neutralise(v) is not v:  # type: ignore[index,arg-type]
                break
        elif t is dt.datetime:
            break
    else:
        return row
    return [
        neutralise(v) if type(v) is str else iso(v) if isinstance(v, dt.datetime) else v
        for v in row
    ]


@register
class CSVExporter(Exporter):
    identifier = "csv"
    label = "CSV (UTF-8)"
    extension = "csv"
    content_type = "text/csv; charset=utf-8"
    text_dates = True

    async def stream_batches(
        self, header: Sequence[str], batches: AsyncIterable[Sequence[Sequence[Cell]]]
    ) -> AsyncIterator[bytes]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow([neutralise(h) for h in header])
        yield ("\ufeff" if self.bom else "").encode() + buffer.getvalue().encode()
        async for batch in batches:
            buffer.seek(0)
            buffer.truncate()
            writer.writerows(map(_safe_row, batch))
            yield buffer.getvalue().encode()


@register
class XLSXExporter(Exporter):
    identifier = "xlsx"
    label = "Excel workbook (XLSX)"
    extension = "xlsx"
    content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

    async def stream_batches(
        self, header: Sequence[str], batches: AsyncIterable[Sequence[Sequence[Cell]]]
    ) -> AsyncIterator[bytes]:
        # Strings are neutralised here and written as inline strings: never a formula.
        sink = export_xlsx.Sink()
        zf = export_xlsx.archive(sink)
        rows = export_xlsx.SheetRows()
        with zf.open(export_xlsx.SHEET, "w") as sheet:

            def write(batch: Sequence[Sequence[Cell]]) -> bytes:
                sheet.write(rows.xml([_safe_text(r) for r in batch]).encode())
                return sink.take()

            sheet.write(export_xlsx.SHEET_START.encode())
            yield await asyncio.to_thread(write, [header])
            async for batch in batches:
                # Building XML and deflating hold the GIL only in parts: in a thread, so
                # the event loop stays responsive.
                yield await asyncio.to_thread(write, batch)
            sheet.write(export_xlsx.SHEET_END.encode())
        zf.close()
        yield sink.take()


def _safe_text(row: Sequence[Cell]) -> Sequence[Cell]:
    for v in row:
        if type(v) is str and v and v[0] in _DANGEROUS_FIRST and neutralise(v) is not v:
            return [neutralise(v) if type(v) is str else v for v in row]
    return row


def _json_default(value: object) -> str:
    if isinstance(value, dt.datetime):
        return iso(value)
    raise TypeError


@register
class JSONLinesExporter(Exporter):
    identifier = "jsonl"
    label = "JSON Lines"
    extension = "jsonl"
    content_type = "application/x-ndjson"
    text_dates = True

    async def stream_batches(
        self, header: Sequence[str], batches: AsyncIterable[Sequence[Sequence[Cell]]]
    ) -> AsyncIterator[bytes]:
        dumps = orjson.dumps
        option = orjson.OPT_APPEND_NEWLINE | orjson.OPT_PASSTHROUGH_DATETIME
        async for batch in batches:
            yield b"".join(
                [
                    dumps(dict(zip(header, row, strict=True)), default=_json_default, option=option)
                    for row in batch
                ]
            )


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
