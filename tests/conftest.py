"""Test harness: a fresh migrated database per run (SQLite always, PostgreSQL when set).

Every test that touches the database runs once per backend: the `database_url` fixture is
parametrized with "sqlite" and, when EXPOHALL_TEST_DATABASE_URL is set, "postgresql".
Tables are emptied after each test, so tests never see each other's rows.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from app.config import Settings
from app.main import create_app
from app.migrate import upgrade
from app.models import Base

PG_URL = os.environ.get("EXPOHALL_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("EXPOHALL_TEST_REDIS_URL")
BACKENDS = ["sqlite", *(["postgresql"] if PG_URL else [])]
TEST_SECRET = "test-secret-" + "x" * 40


async def _create_pg_database(url: str) -> str:
    """Create a database of our own on the server named by `url`; return its URL."""
    base = make_url(url)
    name = f"expohall_test_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_async_engine(base, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


async def _drop_pg_database(admin_url: str, url: str) -> None:
    name = make_url(url).database
    admin = create_async_engine(make_url(admin_url), isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test marked `only_backend("sqlite")` (or "postgresql") is collected for that
    database only: it is about one database's behaviour, so it neither runs nor shows as
    skipped on the other."""
    kept, dropped = [], []
    for item in items:
        marker = item.get_closest_marker("only_backend")
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("database_url") if callspec is not None else None
        if marker is not None and backend is not None and backend != marker.args[0]:
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A database of this run's own, built by `alembic upgrade head`."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("db") / "expohall.db"
        url = f"sqlite+aiosqlite:///{path}"
        upgrade(url)
        yield url
        return
    assert PG_URL is not None
    url = asyncio.run(_create_pg_database(PG_URL))
    upgrade(url)
    yield url
    asyncio.run(_drop_pg_database(PG_URL, url))


def make_settings(database_url: str, tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "secret_key": TEST_SECRET,
        "database_url": database_url,
        "data_dir": tmp_path / "data",
        "redis_url": None,
        "log_level": "WARNING",
        "allow_private_webhooks": True,
        "worker_in_app": False,
        "_env_file": None,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path)


async def _empty_tables(app: FastAPI) -> None:
    engine = app.state.engine
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(Base.metadata.sorted_tables):
                await conn.execute(table.delete())


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        try:
            yield application
        finally:
            await _empty_tables(application)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def db(app: FastAPI) -> AsyncIterator[AsyncSession]:
    """A session for arranging and checking data; commit what the app must see.

    On SQLite each statement commits on its own, as PostgreSQL's READ COMMITTED reads: a
    test that keeps this session open sees what the app commits meanwhile, and never holds
    the write lock that the app's own (IMMEDIATE) request transactions wait for.
    """
    bind = app.state.engine.execution_options(sqlite_begin="AUTOCOMMIT")
    async with app.state.sessionmaker(bind=bind) as session:
        yield session
