"""The mailer against a real SMTP server that is down, refuses for now, or refuses for good."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db import utcnow
from app.events.models import RoleName
from app.integrations import mailer, worker
from app.integrations.models import EmailMessage
from tests.conftest import make_settings
from tests.integrations.smtp_server import SmtpServer
from tests.integrations.test_email_campaigns import bearer, build_expo, campaign


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """Not started: each test decides when the relay is up."""
    server = SmtpServer()
    yield server
    server.stop()


@pytest.fixture
def settings(database_url: str, tmp_path: Path, smtp: SmtpServer) -> Settings:
    return make_settings(
        database_url, tmp_path, smtp_host="127.0.0.1", smtp_port=smtp.port,
        smtp_starttls=False, base_url="http://testserver",
    )  # fmt: skip


async def _statuses(db: AsyncSession) -> dict[str, tuple[str, int, str | None]]:
    rows = await db.execute(
        select(
            EmailMessage.to_address,
            EmailMessage.status,
            EmailMessage.attempts,
            EmailMessage.last_error,
        ).execution_options(populate_existing=True)
    )
    return {to: (status, attempts, error) for to, status, attempts, error in rows.all()}


async def _queue(db: AsyncSession, client: httpx.AsyncClient) -> None:
    expo = await build_expo(db)
    headers = await bearer(db, expo.event, RoleName.staff, expo.acme)
    created = await client.post("/api/events/summit/campaigns", json=campaign({}), headers=headers)
    assert created.status_code == 201, created.text


async def test_mail_stays_queued_while_the_relay_is_down_and_goes_out_when_it_is_up(
    app: FastAPI, db: AsyncSession, client: httpx.AsyncClient, smtp: SmtpServer
) -> None:
    await _queue(db, client)
    assert await mailer.send_due(app.state.sessionmaker, app.state.settings) == 2
    statuses = await _statuses(db)
    assert {k: v[:2] for k, v in statuses.items()} == {
        "ada@example.com": ("queued", 1),
        "carol@example.com": ("queued", 1),
    }
    assert all("Connect" in (v[2] or "") for v in statuses.values())
    # not due again before the back-off has passed
    assert await mailer.send_due(app.state.sessionmaker, app.state.settings) == 0

    smtp.start()
    later = utcnow() + dt.timedelta(minutes=5)
    assert await worker.run_once(app.state.sessionmaker, app.state.settings, now=later) >= 2
    assert sorted(r.recipients[0] for r in smtp.received) == [
        "ada@example.com",
        "carol@example.com",
    ]
    assert {v[0] for v in (await _statuses(db)).values()} == {"sent"}
    assert await mailer.send_due(app.state.sessionmaker, app.state.settings, now=later) == 0


async def test_a_permanent_refusal_fails_the_message_and_a_temporary_one_retries(
    app: FastAPI, db: AsyncSession, client: httpx.AsyncClient, smtp: SmtpServer
) -> None:
    smtp.refuse("ada@example.com", "550 5.1.1 No such mailbox")
    smtp.refuse("carol@example.com", "451 4.3.0 Try again later")
    smtp.start()
    await _queue(db, client)
    await mailer.send_due(app.state.sessionmaker, app.state.settings)
    statuses = await _statuses(db)
    assert statuses["ada@example.com"] == ("failed", 0, "550 5.1.1 No such mailbox")
    assert statuses["carol@example.com"][:2] == ("queued", 1)
    assert "451" in (statuses["carol@example.com"][2] or "")

    smtp.handler.refuse.clear()
    later = utcnow() + dt.timedelta(minutes=5)
    await mailer.send_due(app.state.sessionmaker, app.state.settings, now=later)
    assert [r.recipients for r in smtp.received] == [["carol@example.com"]]
    assert (await _statuses(db))["carol@example.com"][0] == "sent"


async def test_two_workers_never_send_one_message_twice(
    app: FastAPI, db: AsyncSession, client: httpx.AsyncClient, smtp: SmtpServer
) -> None:
    smtp.start()
    await _queue(db, client)
    sessionmaker, settings = app.state.sessionmaker, app.state.settings
    await asyncio.gather(*(mailer.send_due(sessionmaker, settings) for _ in range(3)))
    assert sorted(r.recipients[0] for r in smtp.received) == [
        "ada@example.com",
        "carol@example.com",
    ]


async def test_without_smtp_settings_mail_stays_queued(
    app: FastAPI, db: AsyncSession, client: httpx.AsyncClient, database_url: str, tmp_path: Path
) -> None:
    await _queue(db, client)
    unconfigured = make_settings(database_url, tmp_path, smtp_host=None)
    assert await mailer.send_due(app.state.sessionmaker, unconfigured) == 0
    assert {v[0] for v in (await _statuses(db)).values()} == {"queued"}


def test_backoff_grows_and_is_capped() -> None:
    assert [mailer.backoff(n).total_seconds() for n in (1, 2, 3)] == [30, 60, 120]
    assert mailer.backoff(40) == dt.timedelta(hours=1)
