"""Statements run at the driver's level, for the loops that move hundreds of thousands of rows.

SQLAlchemy converts every bound value and every result value in Python, row by row: for the
rescore of a million activities that was about a fifth of its time. A `DriverStatement` is a
Core statement compiled once per dialect and run with `exec_driver_sql`: the caller passes
the driver's own values and gets the driver's values back, with no processing in between.

The one type whose driver value differs between our databases is the timestamp (text on
SQLite, an aware datetime from asyncpg); `Timestamps` converts it both ways, with
SQLAlchemy's own processors except for the SQLite read, which `datetime.fromisoformat`
parses (about 6x faster; `tests/test_db_driver.py` checks both agree).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement

from app.db import UTCDateTime

Source = AsyncSession | AsyncConnection


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    order: Callable[[Sequence[Any]], Any] | None  # the caller's order → the driver's
    named: tuple[str, ...] | None  # for a dialect with named parameters


class DriverStatement:
    """A Core statement whose bound parameters are given, in `params` order, as tuples."""

    def __init__(self, statement: ClauseElement, params: Sequence[str]) -> None:
        self.statement, self.params = statement, tuple(params)
        self._compiled: dict[tuple[str, str, str], _Compiled] = {}

    def compiled(self, dialect: Dialect) -> _Compiled:
        key = _key(dialect)
        found = self._compiled.get(key)
        if found is None:
            compiled = cast(SQLCompiler, self.statement.compile(dialect=dialect))
            if compiled.positional:
                names = tuple(compiled.positiontup or ())
                if sorted(names) != sorted(self.params):
                    raise ValueError(f"statement takes {names}, not {self.params}")
                order = None
                if names != self.params:
                    picker = itemgetter(*(self.params.index(n) for n in names))
                    order = (lambda row: (picker(row),)) if len(names) == 1 else picker
                found = _Compiled(compiled.string, order, None)
            else:
                found = _Compiled(compiled.string, None, self.params)
            self._compiled[key] = found
        return found

    def _driver_params(self, compiled: _Compiled, row: Sequence[Any]) -> Any:
        if compiled.named is not None:
            return dict(zip(compiled.named, row, strict=True))
        return tuple(row) if compiled.order is None else tuple(compiled.order(row))

    async def all(self, source: Source, *values: Any) -> Sequence[Sequence[Any]]:
        """Every row, as the driver returns its values."""
        conn = await _connection(source)
        compiled = self.compiled(conn.dialect)
        result = await conn.exec_driver_sql(compiled.sql, self._driver_params(compiled, values))
        return result.all()

    async def many(self, source: Source, rows: Sequence[Sequence[Any]]) -> None:
        """One executemany of `rows`."""
        if not rows:
            return
        conn = await _connection(source)
        compiled = self.compiled(conn.dialect)
        if compiled.named is None and compiled.order is None:
            params: list[Any] = rows if isinstance(rows, list) else list(rows)
        else:
            params = [self._driver_params(compiled, row) for row in rows]
        await conn.exec_driver_sql(compiled.sql, params)


def _key(dialect: Dialect) -> tuple[str, str, str]:
    # Two drivers of one database may differ in parameter style and in driver values.
    return (dialect.name, dialect.driver, dialect.paramstyle)


async def _connection(source: Source) -> AsyncConnection:
    return await source.connection() if isinstance(source, AsyncSession) else source


class Timestamps:
    """UTC timestamps to and from one dialect's driver values."""

    _known: dict[tuple[str, str, str], Timestamps] = {}

    @classmethod
    def of(cls, dialect: Dialect) -> Timestamps:
        found = cls._known.get(_key(dialect))
        if found is None:
            found = cls._known[_key(dialect)] = cls(dialect)
        return found

    def __init__(self, dialect: Dialect) -> None:
        # The dialect's own variant: on SQLite its bind processor writes the text SQLAlchemy
        # stores (always with microseconds), which equality in SQL relies on.
        kind = UTCDateTime().dialect_impl(dialect)
        bind = kind.bind_processor(dialect)
        result = kind.result_processor(dialect, None)
        self.to_driver: Callable[[dt.datetime | None], Any] = bind or _same
        if dialect.name == "sqlite":
            self.from_driver: Callable[[Any], dt.datetime | None] = _from_sqlite
        else:
            self.from_driver = result or _same


def _same(value: Any) -> Any:
    return value


def _from_sqlite(value: str | None) -> dt.datetime | None:
    # With the offset in the text the parse gives the UTC singleton at once: 6x faster than
    # parsing a naive value and replacing its tzinfo.
    return None if value is None else dt.datetime.fromisoformat(value + "+00:00")
