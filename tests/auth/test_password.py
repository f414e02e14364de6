"""Changing the password: needs the current one, logs out the account's other browsers."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Account
from app.auth.security import verify_password
from tests.factories import PASSWORD, csrf_for, login_as, make_account

NEW_PASSWORD = "a much better passphrase"


async def _change(
    app: FastAPI, client: httpx.AsyncClient, current: str, new: str = NEW_PASSWORD
) -> httpx.Response:
    data = {"current_password": current, "new_password": new, "csrf_token": csrf_for(app, client)}
    return await client.post("/account/password", data=data)


async def _password_hash(db: AsyncSession, account_id: int) -> str | None:
    db.expire_all()
    return await db.scalar(select(Account.password_hash).where(Account.id == account_id))


async def test_change_password_keeps_this_session_and_ends_the_others(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    account = await make_account(db)
    someone_else = await make_account(db)
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as other_browser,
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as unrelated,
    ):
        await login_as(db, client, account)
        await login_as(db, other_browser, account)
        await login_as(db, unrelated, someone_else)

        response = await _change(app, client, PASSWORD)

        assert response.status_code == 303
        assert response.headers["location"] == "/account?done=password"
        assert (await client.get("/api/me")).status_code == 200
        assert (await other_browser.get("/api/me")).status_code == 401
        assert (await unrelated.get("/api/me")).status_code == 200
    assert verify_password(await _password_hash(db, account.id), NEW_PASSWORD)
    page = await client.get("/account?done=password")
    assert "Your password has been changed." in page.text


async def test_change_password_with_wrong_current_password_is_refused(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    account = await make_account(db)
    await login_as(db, client, account)
    account_id = account.id

    response = await _change(app, client, "not my password")

    assert response.status_code == 422
    assert '<p class="error" id="e-current_password" role="alert">' in response.text
    assert "Your current password is not correct." in response.text
    assert verify_password(await _password_hash(db, account_id), PASSWORD)


async def test_change_password_rejects_short_new_password(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    account = await make_account(db)
    await login_as(db, client, account)

    response = await _change(app, client, PASSWORD, new="tiny")

    assert response.status_code == 422
    assert '<p class="error" id="e-new_password" role="alert">Use at least 10 characters.' in (
        response.text
    )


async def test_password_page_needs_login(client: httpx.AsyncClient) -> None:
    response = await client.get("/account/password")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/account/password"
