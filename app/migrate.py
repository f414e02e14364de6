"""Alembic from code: upgrade, and the startup check that the database is at head."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from app.errors import AppError

ROOT = Path(__file__).resolve().parent.parent


class DatabaseBehind(AppError):
    code = "db.behind"
    status = 503


def alembic_config(url: str) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


async def ensure_at_head(engine: AsyncEngine) -> None:
    """Refuse to serve a database that is behind the code's migrations."""

    def _current(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as conn:
        current = await conn.run_sync(_current)
    head = head_revision()
    if current != head:
        raise DatabaseBehind(
            f"The database is at migration {current or 'none'} but the code needs {head}. "
            "Run `expohall migrate` (or `make run`, which migrates) and start again."
        )
