"""Login rate limit: per account and per client address, counted in the database."""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.deps import SESSION_COOKIE
from app.auth.models import LoginFailure
from app.auth.service import RATE_WINDOW
from app.db import utcnow
from tests.factories import PASSWORD, csrf_for, make_account


@asynccontextmanager
async def _browser(app: FastAPI, address: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def _attempt(app: FastAPI, address: str, email: str, password: str) -> httpx.Response:
    async with _browser(app, address) as client:
        data = {"email": email, "password": password, "csrf_token": csrf_for(app, client)}
        return await client.post("/login", data=data)


async def test_eleventh_attempt_on_an_account_is_refused_even_with_right_password(
    app: FastAPI, db: AsyncSession
) -> None:
    account = await make_account(db)
    await db.commit()
    email = account.email or ""
    started = time.monotonic()
    for n in range(10):
        # A different address each time: the account's own counter must trip.
        response = await _attempt(app, f"10.0.0.{n + 1}", email, "wrong password!")
        assert response.status_code == 422

    response = await _attempt(app, "10.0.1.1", email, PASSWORD)

    assert response.status_code == 429
    retry_after = int(response.headers["retry-after"])
    # Until the first failure leaves the one-minute window: a minute less the time elapsed.
    window = RATE_WINDOW.total_seconds()
    assert window - math.ceil(time.monotonic() - started) <= retry_after <= window
    assert f"Too many login attempts. Try again in {retry_after} seconds." in response.text
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")


async def test_attempts_from_one_address_are_limited_across_accounts(
    app: FastAPI, db: AsyncSession
) -> None:
    account = await make_account(db)
    await db.commit()
    for n in range(10):
        response = await _attempt(app, "192.0.2.7", f"guess{n}@example.com", "wrong password!")
        assert response.status_code == 422

    refused = await _attempt(app, "192.0.2.7", account.email or "", PASSWORD)
    assert refused.status_code == 429
    assert refused.headers["retry-after"]

    elsewhere = await _attempt(app, "192.0.2.8", account.email or "", PASSWORD)
    assert elsewhere.status_code == 303


async def test_failures_older_than_a_minute_no_longer_count(app: FastAPI, db: AsyncSession) -> None:
    account = await make_account(db)
    await db.commit()
    for n in range(10):
        await _attempt(app, f"10.0.2.{n + 1}", account.email or "", "wrong password!")
    await db.execute(update(LoginFailure).values(at=utcnow() - dt.timedelta(seconds=61)))
    await db.commit()

    response = await _attempt(app, "10.0.3.1", account.email or "", PASSWORD)

    assert response.status_code == 303
    remaining = await db.scalar(select(func.count()).select_from(LoginFailure))
    assert remaining == 0  # pruned


async def test_rate_limit_is_json_for_api_clients(app: FastAPI, db: AsyncSession) -> None:
    for _ in range(10):
        await _attempt(app, "198.51.100.1", "someone@example.com", "wrong password!")
    async with _browser(app, "198.51.100.1") as client:
        data = {
            "email": "someone@example.com",
            "password": "wrong password!",
            "csrf_token": csrf_for(app, client),
        }
        response = await client.post("/login", data=data, headers={"accept": "application/json"})

    assert response.status_code == 429
    body = response.json()["error"]
    assert body["code"] == "auth.rate_limited"
    assert body["retry_after"] == int(response.headers["retry-after"])


async def test_failures_do_not_store_email_addresses(app: FastAPI, db: AsyncSession) -> None:
    await _attempt(app, "203.0.113.5", "secret.person@example.com", "wrong password!")
    keys = (await db.scalars(select(LoginFailure.key))).all()
    assert len(keys) == 2
    assert not any("secret.person" in key or "203.0.113.5" in key for key in keys)
