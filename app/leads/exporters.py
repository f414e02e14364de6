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
from itertools import compress
from operator import is_not
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


# Batches are handled column by column: whether a column of 1,000 cells holds only numbers,
# or a text that starts like a formula or needs quotes, is one pass in C (a set of types, a
# regular expression over the texts joined) instead of a Python test for each of the
# 100,000 x 39 cells of an export.
_SEP = "\x1f"  # joins a column's texts; a text holding it at worst raises a false alarm
# A text that starts like a formula (a character of _DANGEROUS_FIRST after a separator).
_FLAGGED = re.compile(_SEP + "[" + re.escape("".join(sorted(_DANGEROUS_FIRST))) + "]")
_QUOTED = re.compile('[,"\r\n]')  # what csv.writer (QUOTE_MINIMAL, "\r\n") puts in quotes
_PLAIN = frozenset({int, float, bool, type(None)})  # never neutralised nor converted
_KEPT = _PLAIN | {dt.datetime}  # ... nor, without dates, converted
_TEXT = frozenset({str, type(None)})
_NONE_BLANK: dict[Cell, Cell] = {None: ""}
_NONE_TEXT_BLANK = {"None": ""}  # str(None), in a column without texts


def _safe_cell(value: Cell, *, dates: bool) -> Cell:
    if type(value) is str:
        return neutralise(value)
    if dates and isinstance(value, dt.datetime):
        return iso(value)
    return value


def _neutralised(texts: Sequence[Cell], joined: str) -> Sequence[Cell]:
    """A column of texts (and None) neutralised, given its texts joined by _SEP: the column
    itself when no text starts like a formula."""
    if _FLAGGED.search(_SEP + joined) is None:
        return texts
    # Phone numbers start with "+" and each costs a regular expression: once per text.
    safe: dict[Cell, Cell] = {v: neutralise(v) for v in set(texts) if type(v) is str}
    return list(map(safe.get, texts, texts))


def _safe_column(column: Sequence[Cell], *, dates: bool) -> Sequence[Cell]:
    types = set(map(type, column))
    if types <= (_PLAIN if dates else _KEPT):
        return column
    if types <= _TEXT:
        return _neutralised(column, _SEP.join(filter(None, column)))  # type: ignore[arg-type]
    return [_safe_cell(v, dates=dates) for v in column]


def _safe_batch(batch: Sequence[Sequence[Cell]], *, dates: bool) -> Sequence[Sequence[Cell]]:
    """`batch` with every string neutralised and, with `dates`, datetimes as `iso` text; only
    the rows that change are copied."""
    if not batch or len(set(map(len, batch))) != 1:  # ragged rows: one row at a time
        return [[_safe_cell(v, dates=dates) for v in row] for row in batch]
    out = list(batch)
    copied: set[int] = set()
    for i, column in enumerate(zip(*batch, strict=True)):
        safe = _safe_column(column, dates=dates)
        if safe is column:
            continue
        for k in compress(range(len(out)), map(is_not, safe, column)):
            if k not in copied:
                out[k] = list(out[k])
                copied.add(k)
            out[k][i] = safe[k]  # type: ignore[index]
    return out


def _csv_text(batch: Sequence[Sequence[Cell]]) -> str | None:
    """`batch` neutralised as `csv.writer` writes it, built a column at a time; None when
    only `csv.writer` knows how (ragged or one-cell rows, a cell neither text nor number,
    a NUL character)."""
    if not batch or len(set(map(len, batch))) != 1 or len(batch[0]) < 2:
        return None
    columns: list[Sequence[Cell]] = []
    for column in zip(*batch, strict=True):
        types = set(map(type, column))
        texts: Sequence[Cell]
        if types <= _PLAIN:  # str() of a float is its repr(), as csv.writer writes it
            strs = list(map(str, column))
            if type(None) in types:
                strs = list(map(_NONE_TEXT_BLANK.get, strs, strs))
            texts = strs
        elif types <= _TEXT:
            joined = _SEP.join(filter(None, column))
            if "\x00" in joined:
                return None
            texts = _neutralised(column, joined)
            if type(None) in types:
                texts = list(map(_NONE_BLANK.get, texts, texts))
            if _QUOTED.search(joined) is not None:
                quoted = {v: _quoted(v) for v in set(texts)}  # type: ignore[arg-type]
                texts = list(map(quoted.__getitem__, texts))
        else:
            return None
        columns.append(texts)
    return "\r\n".join(map(",".join, zip(*columns, strict=True))) + "\r\n"


def _quoted(text: str) -> str:
    if _QUOTED.search(text) is None:
        return text
    return '"' + text.replace('"', '""') + '"'


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
            text = _csv_text(batch)
            if text is None:
                buffer.seek(0)
                buffer.truncate()
                writer.writerows(_safe_batch(batch, dates=True))
                text = buffer.getvalue()
            yield text.encode()


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
                sheet.write(rows.xml(_safe_batch(batch, dates=False)).encode())
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
